"""What one pipeline step hands the next: small frozen records, the only place their key names are spelled.

Each contract serialises to an Airflow XCom (:meth:`Contract.to_xcom`, plain JSON) and back
(:meth:`Contract.from_xcom`); :class:`Lineage` also to MLflow tags and back, so the tag names of a
registered model are exactly its field names. XCom carries references and counts, never data.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

GATE_TAG = "gate"
"""Model-version tag the gate sets: ``passed`` or ``failed``; only ``passed`` versions are copied onwards."""
GATE_REASON_TAG = "gate_reason"
GATE_RULE_TAG = "gate_rule"
MODEL_DIGESTS_TAG = "model_sha256"
"""Model-version tag set at registration: :class:`ModelDigests` of every file of the logged model."""
MAX_TAG_CHARS = 5000
"""The longest value MLflow accepts for a tag."""


class Contract(BaseModel):
    """Base of every contract: frozen, no unknown keys, JSON in and out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_xcom(self) -> dict[str, Any]:
        """Plain JSON-compatible data for an XCom."""
        return self.model_dump(mode="json")

    @classmethod
    def from_xcom(cls, data: dict[str, Any] | Self) -> Self:
        """The contract an upstream task returned (Airflow hands tasks the deserialised XCom)."""
        return data if isinstance(data, cls) else cls.model_validate(data)


# ----- feature pipeline -----------------------------------------------------------------------------
class RawCheck(Contract):
    """What ``validate_raw`` checked and where it left the rows it checked."""

    dataset: str
    partitions: list[date]
    """The partitions this run commits."""
    read_first: date | None = None
    """First partition read (the look-back starts here)."""
    validation_id: str | None = None
    evaluated: int = 0
    failed: int = 0
    rows: int = 0
    future_rows: int = 0
    staging_uri: str | None = None
    """Parquet file of the validated, typed rows: ``build_and_commit`` computes from exactly these."""


class CommitSummary(Contract):
    """What a feature-pipeline run committed."""

    dataset: str
    partitions: int
    committed: int
    unchanged: int
    rows: int
    first: date | None
    last: date | None
    versions: list[int]
    future_committed: int = 0


class LoopCheck(Contract):
    """What scoring the landed actuals found: the runs scored, the decay verdict, a retraining request."""

    dataset: str
    scored: list[str]
    """Published runs re-scored because actuals of their target periods were committed."""
    decay: str | None = None
    """The decay verdict (ok / warn / fail / unknown); None when nothing was scored or no champion exists."""
    ratio: float | None = None
    reason: str | None = None
    request_id: int | None = None
    """The retraining request this verdict made (None: none needed, one pending, or too recent)."""


# ----- training -------------------------------------------------------------------------------------
class TrainingRequest(Contract):
    """What to train on: a DAG run's parameters, resolved."""

    dataset: str
    as_of: datetime
    """Snapshot time: the store is read as it was committed then (naive UTC)."""
    window: int = Field(ge=1)
    """Feature periods in the snapshot."""
    feature_set_version: int | None = None
    """None: the newest version committed at ``as_of``."""
    tune: bool = False


class Lineage(Contract):
    """Where a model came from; set as tags on its MLflow run and model version (field = tag name)."""

    environment: str
    dataset: str
    spec_sha256: str
    feature_set: str
    feature_set_version: int
    future_feature_set_version: int | None = None
    as_of: datetime
    window: int
    snapshot_start: date
    snapshot_end: date
    snapshot_rows: int
    snapshot_checksum: str
    train_rows: int
    validation_rows: int
    test_rows: int
    test_start: str
    test_end: str
    horizon: int
    gap: int
    validation_id: str
    validation_ids: int
    code_version: str
    tuned: bool
    quantiles: str = ""
    """The quantile levels the model forecasts besides the point, comma-separated (``0.1,0.5,0.9``)."""
    refit: bool = False
    """The registered model was refitted on every labelled row (``fit_rows``) after its evaluation on
    the held-out windows; its test metrics are the held-out fit's."""
    fit_rows: int | None = None

    @property
    def levels(self) -> tuple[float, ...]:
        """The quantile levels, as numbers (empty: point forecasts only)."""
        return tuple(float(x) for x in self.quantiles.split(",") if x)

    def to_tags(self) -> dict[str, str]:
        """Every field as a string tag (MLflow tags are strings)."""
        data = self.model_dump(mode="json")
        return {
            k: ("" if v is None else str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in data.items()
        }

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> Self:
        """The lineage recorded as tags; raises ``pydantic.ValidationError`` naming missing tags.
        An empty tag is a field left at its default (None, or no quantiles)."""
        fields = {k: tags[k] for k in cls.model_fields if tags.get(k, "") != ""}
        return cls.model_validate(fields)

    @classmethod
    def missing_tags(cls, tags: dict[str, str]) -> list[str]:
        """Required tag names that ``tags`` lacks."""
        return [k for k, f in cls.model_fields.items() if f.is_required() and k not in tags]


class ModelDigests(Contract):
    """SHA-256 of every file of a logged model, keyed by its path inside the model folder."""

    files: dict[str, Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]]

    def under(self, folder: str) -> ModelDigests:
        """The digests of the files inside ``folder``, keyed by their paths relative to it."""
        prefix = f"{folder.rstrip('/')}/"
        return ModelDigests(
            files={k.removeprefix(prefix): v for k, v in self.files.items() if k.startswith(prefix)}
        )

    def to_tag(self) -> str:
        """Compact JSON for :data:`MODEL_DIGESTS_TAG`; raises ``ValueError`` past MLflow's tag limit."""
        value = json.dumps(self.files, sort_keys=True, separators=(",", ":"))
        if len(value) > MAX_TAG_CHARS:
            raise ValueError(
                f"digests of {len(self.files)} files take {len(value)} characters; an MLflow tag holds "
                f"at most {MAX_TAG_CHARS}"
            )
        return value

    @classmethod
    def from_tag(cls, value: str) -> Self:
        """The digests a :data:`MODEL_DIGESTS_TAG` holds; raises ``ValueError`` when it is malformed."""
        return cls.model_validate({"files": json.loads(value)})


class TrainedModel(Contract):
    """A registered challenger: its version, headline metrics, links and lineage."""

    name: str
    version: str
    run_id: str
    metrics: dict[str, float | None]
    links: dict[str, str]
    tuning: dict[str, Any] = Field(default_factory=dict)
    lineage: Lineage


class GateVerdict(Contract):
    """The registry gate's decision on one version, and the champion before and after."""

    model: str
    version: str
    promoted: bool
    rule: str
    """Which rule decided, e.g. ``beats-champion``, ``fresher-within-tolerance``, ``baseline``."""
    reasons: list[str]
    previous_champion: str | None
    champion: str | None

    @property
    def summary(self) -> str:
        """One line an operator reads at a glance: the decision, both versions, and why.

        E.g. ``PROMOTED v2 (was v1): ...``, ``PROMOTED v1 (first champion): ...``,
        ``REFUSED v3 (champion stays v2): ...``, ``REFUSED v1 (no champion yet): ...``.
        """
        if self.promoted:
            before = (
                "first champion"
                if not self.previous_champion
                else "already champion"
                if self.previous_champion == self.version
                else f"was v{self.previous_champion}"
            )
            verdict = f"PROMOTED v{self.version} ({before})"
        else:
            after = f"champion stays v{self.champion}" if self.champion else "no champion yet"
            verdict = f"REFUSED v{self.version} ({after})"
        return f"{verdict}: " + "; ".join(self.reasons)


# ----- inference ------------------------------------------------------------------------------------
class PinnedModel(Contract):
    """The champion, pinned once for a whole inference run (the alias may move meanwhile)."""

    name: str
    version: str
    run_id: str
    read_as_of: datetime
    """The store is read as it was at this time in every task (a retry reads the same rows)."""
    lineage: Lineage

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


DriftStatus = Literal["ok", "warn", "fail"]


class DriftSummary(Contract):
    """The drift check's outcome in a few numbers."""

    status: DriftStatus
    scored: int
    warned: int
    failed: int
    max_feature: str | None
    max_distance: float


class CheckedInputs(Contract):
    """Tonight's inputs after the schema, known-future and drift checks."""

    feature_partition: date
    origin: str
    """The feature period predicted from (text, see ``Calendar.format``)."""
    first_period: str
    """The first forecast period."""
    entities: int
    drift: DriftSummary


class StagedFile(Contract):
    """A file one task staged for another: where it is and what the reader must find there."""

    uri: str
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    """SHA-256 of the file's bytes, taken when it was written."""
    size_bytes: int
    rows: int


class ChunkPlan(Contract):
    """One mapped ``predict_chunk`` task's share of a run: its own staged files, nothing of the others'."""

    run: str
    inputs: StagedFile
    """The chunk's origin rows, in bucket order (rows ``start`` .. ``stop - 1`` of the run)."""
    planned: StagedFile | None = None
    """Their known-future rows (``horizon`` per entity, same order); None without known-future covariates."""
    first_period: str
    horizon: int
    n_buckets: int
    values_per_period: int = 1
    expected_predictions: int
    chunks_total: int
    chunk_id: str
    start: int
    stop: int

    @property
    def label(self) -> str:
        return f"chunk {self.chunk_id} (rows {self.start}..{self.stop - 1})"


class Published(Contract):
    """A run that went live."""

    run: str
    model_version: str
    entities: int
    predictions: int
    first_period: str
    drift_status: DriftStatus
