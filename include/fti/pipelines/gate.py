"""The training pipeline's gate: a registered challenger becomes ``champion`` only if it is better.

The candidate's own and its baselines' errors come from its MLflow run (:mod:`fti.pipelines.training`
logged them); the champion is scored on the candidate's test window under the promotion lock.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from fti.analysis.baselines import baseline_names
from fti.contracts import GateVerdict, Lineage
from fti.registry import mlflow_registry as registry
from fti.training.evaluation import evaluation_rows, score_on_window

if TYPE_CHECKING:
    from fti.resources import Resources
    from fti.specs import DatasetSpec

log = logging.getLogger(__name__)


def promote(resources: Resources, spec: DatasetSpec, version: str) -> GateVerdict:
    """Pass registered ``version`` through the gate; it becomes ``champion`` only if it is better.

    The candidate's own and its baselines' errors come from its run; the champion is scored on the
    candidate's test window under the promotion lock (:func:`fti.registry.promotion.promote_if_better`).
    """
    from fti.registry.gate import ChampionScore, GateDecision, decide
    from fti.registry.promotion import promote_if_better, promotion_lock

    settings = resources.settings
    client = resources.registry
    model_name = resources.model_name(spec)
    found = client.get_model_version(model_name, version)
    candidate = registry.ModelRef(model_name, str(found.version), str(found.run_id))
    lineage = Lineage.from_tags(dict(found.tags))
    metrics = client.get_run(candidate.run_id).data.metrics
    metric = spec.model.metric
    baselines = {
        name: metrics[f"{name}_{metric}"] for name in baseline_names(spec) if f"{name}_{metric}" in metrics
    }
    rows = evaluation_rows(resources, spec, lineage)

    def score(champion: registry.ModelRef) -> ChampionScore:
        return score_on_window(resources, spec, rows, champion)

    def gate(champion: ChampionScore | None) -> GateDecision:
        return decide(
            metrics[f"test_{metric}"],
            lineage.as_of,
            lineage.snapshot_checksum,
            baselines,
            champion,
            tolerance=settings.promotion_tolerance,
            baseline_margin=settings.baseline_margin,
            metric=metric,
            bias_pct=metrics.get("test_bias_pct"),
            max_abs_bias_pct=spec.model.max_abs_bias_pct,
        )

    lock = partial(promotion_lock, settings.catalog_url or "", model_name)
    result = promote_if_better(client, candidate, score, gate, lock)
    verdict = GateVerdict(
        model=model_name,
        version=candidate.version,
        promoted=result.decision.promote,
        rule=result.decision.rule,
        reasons=result.decision.reasons,
        previous_champion=result.previous.version if result.previous else None,
        champion=result.champion.version if result.champion else None,
    )
    (log.info if verdict.promoted else log.warning)("%s", verdict.summary)
    return verdict
