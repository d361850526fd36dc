"""The champion a batch-inference run predicts with: pinned once, or why a scheduled run skips without one.

:func:`resolve_champion` reads the ``champion`` alias ONCE; every later step of the run
(:mod:`fti.pipelines.inference`) gets the pinned version and its training lineage, so a promotion
during the run changes nothing of it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fti.contracts import Lineage, PinnedModel
from fti.inference.inputs import InferenceSchemaMismatch
from fti.registry import mlflow_registry as registry
from fti.store.base import utcnow

if TYPE_CHECKING:
    from fti.resources import Resources
    from fti.specs import DatasetSpec

log = logging.getLogger(__name__)


def resolve_champion(resources: Resources, spec: DatasetSpec) -> PinnedModel:
    """The champion now, with its training lineage; pinned for the whole run.

    Raises:
        ModelNotFound: there is no champion yet (train and promote one first).
        InferenceSchemaMismatch: the champion has no complete lineage (registered by other means).
    """
    client = resources.registry
    ref = registry.resolve_alias(client, resources.model_name(spec), registry.CHAMPION)
    tags = dict(client.get_model_version(ref.name, ref.version).tags)
    missing = Lineage.missing_tags(tags)
    if missing:
        raise InferenceSchemaMismatch(f"champion {ref.name} v{ref.version} lacks lineage tags {missing}")
    pinned = PinnedModel(
        name=ref.name,
        version=ref.version,
        run_id=ref.run_id,
        read_as_of=utcnow(),
        lineage=Lineage.from_tags(tags),
    )
    log.info(
        "champion pinned: %s v%s (run %s), store read as of %s",
        ref.name,
        ref.version,
        ref.run_id,
        pinned.read_as_of.isoformat(),
    )
    return pinned


def no_champion(resources: Resources, spec: DatasetSpec, run_type: str) -> str | None:
    """Why a scheduled run skips: there is no champion yet (None: it runs); see
    :func:`fti.pipelines.scheduled.inference_skip`."""
    from fti.pipelines.scheduled import inference_skip, skips_when_idle

    if not skips_when_idle(run_type):
        return None
    try:
        champion: str | None = registry.resolve_alias(
            resources.registry, resources.model_name(spec), registry.CHAMPION
        ).version
    except registry.ModelNotFound:
        champion = None
    reason = inference_skip(spec.name, run_type, champion)
    if reason:
        log.info("%s", reason)
    return reason
