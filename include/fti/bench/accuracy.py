"""Rolling-origin backtest of forecast accuracy per data set (``fti bench accuracy``).

For each data set, in a scratch system (store, catalog and MLflow under a temporary folder), a child:

1. commits the feature partitions in :data:`ORIGINS` stages, as the feature pipeline would have
   over time: everything up to the first origin, then one test window's worth of partitions per
   stage (the production cadence of a weekly retraining for daily data, for example); the commit
   time after each stage is that origin's ``as_of``;
2. trains once per origin with ``train_and_register`` unchanged, on the store's point-in-time
   snapshot at that ``as_of``: what was committed later cannot leak in, and each origin's test
   window (the last ``test_periods`` of its snapshot) is the next stage's newest periods. The
   registered model's refit on every row is skipped: the evaluation is the held-out fit's either way.

Figures, averaged over the origins: ``<dataset>.<metric>_<who>`` for the metrics of
:data:`METRICS` and ``<who>`` the model or a baseline (``zero``, ``seasonal_naive``, ...), the
P10-P90 coverage (``coverage_p10_p90``) and the model's bias as a share of actual demand
(``bias_pct``), with ``gain_vs_best_baseline`` (1 - model / best baseline on the primary metric).
"""

from __future__ import annotations

import math
import sys
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fti.bench.child import Figures, child_main, quiet_logs, run_child
from fti.bench.results import Line
from fti.bench.training import DATASETS, store_sales_size, window

if TYPE_CHECKING:
    from fti.resources import Resources
    from fti.specs import DatasetSpec

ORIGINS = 4
METRICS = ("wape", "mape", "mase", "bias_pct")
AREA = "accuracy"
LEGACY: dict[str, str] = {}
DROP: tuple[str, ...] = ()


def stages(partitions: Sequence[date], step: int, origins: int, first: int | None) -> list[list[date]]:
    """The partitions committed before each origin: the first stage ends ``(origins - 1) * step``
    partitions before the last; each later stage adds ``step``. ``first`` (if given) is how many
    partitions the first stage keeps at most (the newest ones).

    Raises:
        ValueError: too few partitions for ``origins`` stages.
    """
    later = (origins - 1) * step
    if origins < 1 or step < 1 or len(partitions) <= later:
        raise ValueError(
            f"{len(partitions)} partitions cannot give {origins} origins {step} partition(s) apart"
        )
    head = list(partitions[: len(partitions) - later])
    out = [head[-first:] if first else head]
    for k in range(origins - 1):
        start = len(head) + k * step
        out.append(list(partitions[start : start + step]))
    return out


def averaged(per_origin: Sequence[Mapping[str, float | None]], names: Sequence[str]) -> dict[str, float]:
    """Mean over origins of each figure in ``names``, leaving out origins where it is undefined."""
    out = {}
    for name in names:
        values = [float(v) for m in per_origin if (v := m.get(name)) is not None and not math.isnan(float(v))]
        if values:
            out[name] = sum(values) / len(values)
    return out


def summary(spec: DatasetSpec, per_origin: Sequence[Mapping[str, float | None]]) -> Figures:
    """The flat figures of one data set from its origins' run metrics (``test_wape``, ``zero_wape``...)."""
    from fti.analysis.baselines import baseline_names

    who = {"model": "test", **{name: name for name in baseline_names(spec)}}
    keys = {f"{metric}_{w}": f"{prefix}_{metric}" for w, prefix in who.items() for metric in METRICS}
    levels = spec.model.quantiles
    if levels:
        from fti.training.intervals import level_names

        names = level_names(levels)
        keys["coverage_" + f"{names[0]}_{names[-1]}"] = f"test_coverage_{names[0]}_{names[-1]}"
    keys["bias_pct"] = "test_bias_pct"
    means = averaged(per_origin, list(keys.values()))
    figures: Figures = {key: means[metric] for key, metric in keys.items() if metric in means}
    primary = spec.model.metric
    best = min((figures[k] for w in who if w != "model" and (k := f"{primary}_{w}") in figures), default=None)
    model = figures.get(f"{primary}_model")
    if best and model is not None:
        figures["gain_vs_best_baseline"] = 1 - float(model) / float(best)
    figures["origins"] = len(per_origin)
    return figures


def lines(figures: Figures) -> list[Line]:
    """The table of ``fti bench accuracy``: per data set, each metric of the model and every baseline."""
    out = []
    for name in DATASETS:
        mine = sorted(k for k in figures if k.startswith(f"{name}."))
        for metric in METRICS:
            fmt = "+.1%" if metric == "bias_pct" else ".4f"
            found = [k for k in mine if k.split(".")[1].startswith(f"{metric}_")]
            out += [Line(k, fmt, f"{metric}, mean over the origins") for k in found]
        out += [
            Line(f"{name}.coverage_p10_p90", ".1%", "share of actuals inside the P10-P90 (nominal 80%)"),
            Line(f"{name}.bias_pct", "+.1%", "model bias, share of actual demand"),
            Line(f"{name}.gain_vs_best_baseline", "+.1%", "1 - model / best baseline, primary metric"),
            Line(f"{name}.origins", "d", "backtest origins"),
        ]
    return out


def run(datasets: tuple[str, ...] = DATASETS, objective: str | None = None) -> Figures:
    """Backtest each data set in a scratch system; figures keyed ``<dataset>.<figure>``.

    ``objective`` (one of :data:`fti.training.model.OBJECTIVES`) replaces the specs' own, to choose a
    spec's default by measurement; everything else is the shipped spec's.
    """
    from fti.bench.scratch import land, load, scratch_settings

    figures: Figures = {}
    for name in datasets:
        with tempfile.TemporaryDirectory(prefix=f"fti-bench-accuracy-{name}-") as tmp:
            settings = scratch_settings(Path(tmp))
            land(settings, load(settings, name), store_sales_size() if name == "store_sales" else None)
            measured = run_child("fti.bench.accuracy", tmp, name, *([objective] if objective else []))
        figures |= {f"{name}.{k}": v for k, v in measured.items()}
    return figures


def _commit_stages(resources: Resources, spec: DatasetSpec, name: str) -> list[datetime]:
    """Commit the partitions stage by stage; the commit time after each stage."""
    from fti.pipelines.feature import build_and_commit, pending_partitions, validate_raw

    step = spec.calendar.partitions_for_periods(spec.test_periods)
    times = []
    for k, batch in enumerate(stages(pending_partitions(resources, spec), step, ORIGINS, window(name))):
        run_id = f"bench-accuracy-{k}"
        build_and_commit(resources, spec, validate_raw(resources, spec, batch, run_id), run_id)
        times.append(datetime.now(UTC).replace(tzinfo=None))
    return times


def _backtest(var_dir: Path, name: str, objective: str | None = None) -> Figures:
    """Inside the child: commit in stages, then train at each origin's ``as_of`` (with ``objective``
    instead of the spec's, when given)."""
    import fti.pipelines.training as training
    from fti.bench.scratch import load, scratch_resources
    from fti.contracts import TrainingRequest

    resources = scratch_resources(var_dir)
    spec = load(resources.settings, name)
    changes: dict[str, object] = {"refit": False, **({"objective": objective} if objective else {})}
    held_out = spec.model_copy(update={"model": spec.model.model_copy(update=changes)})
    per_origin, periods = [], window(name) or spec.model.training_window
    for as_of in _commit_stages(resources, spec, name):
        request = TrainingRequest(dataset=name, as_of=as_of, window=periods)
        per_origin.append(training.train_and_register(resources, held_out, request, code="bench").metrics)
    return summary(spec, per_origin)


if __name__ == "__main__":
    quiet_logs()
    child_main(_backtest(Path(sys.argv[1]), sys.argv[2], *sys.argv[3:4]))
