"""Moving ``champion`` safely: promotion through the gate, rollback, and copies between environments.

MLflow has no compare-and-set on aliases, so every move of ``champion`` happens under one lock per
registered model, and the champion is read, scored and replaced inside it. Two training runs that
finish at once therefore promote one after the other, and the second is compared with the first's
model, not with the champion both started from: the alias never ends on the worse model.

The lock lives where every worker of a deployment can reach it: a PostgreSQL advisory lock when the
lock URL is PostgreSQL (the compose stack's catalog), an ``flock`` on a file next to the database
when it is SQLite (the embedded default, one machine).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fti.contracts import GATE_REASON_TAG, GATE_RULE_TAG, GATE_TAG
from fti.registry.gate import ChampionScore, GateDecision
from fti.registry.mlflow_registry import CHAMPION, ModelNotFound, ModelRef, resolve_alias, set_alias

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

POLL_S = 0.2


class PromotionLockTimeout(TimeoutError):
    """Another promotion held the model's lock for longer than the timeout."""


class NotApproved(ValueError):
    """A version that did not pass the gate was to be copied to another environment or rolled back to."""


@dataclass(frozen=True)
class PromotionResult:
    """What happened to ``champion``: the decision, and the versions before and after."""

    decision: GateDecision
    previous: ModelRef | None
    champion: ModelRef | None


@contextmanager
def promotion_lock(lock_url: str, model_name: str, timeout_s: float = 600.0) -> Iterator[None]:
    """Hold the lock of ``model_name``'s aliases while the block runs.

    Args:
        lock_url: SQLAlchemy URL of a database every writer shares (the feature-store catalog).
        model_name: Registered model whose aliases are protected.
        timeout_s: How long to wait for another holder before giving up.

    Raises:
        PromotionLockTimeout: the lock stayed taken for ``timeout_s``.
        ValueError: the URL is neither SQLite on a file nor PostgreSQL.
    """
    if lock_url.startswith("postgresql"):
        with _advisory_lock(lock_url, model_name, timeout_s):
            yield
    elif lock_url.startswith("sqlite:///") and lock_url != "sqlite:///:memory:":
        database = Path(lock_url.removeprefix("sqlite:///"))
        with _file_lock(database.with_name(f"{database.name}.{model_name}.lock"), timeout_s):
            yield
    else:
        raise ValueError(f"cannot lock through {lock_url!r}: use PostgreSQL or SQLite on a file")


@contextmanager
def _file_lock(path: Path, timeout_s: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PromotionLockTimeout(f"{path} stayed locked for {timeout_s:.0f} s") from None
                time.sleep(POLL_S)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(url: str, model_name: str, timeout_s: float) -> Iterator[None]:
    import sqlalchemy as sa

    digest = hashlib.sha256(f"fti-promotion:{model_name}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            deadline = time.monotonic() + timeout_s
            while not conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar():
                conn.rollback()
                if time.monotonic() > deadline:
                    raise PromotionLockTimeout(
                        f"promotion lock of {model_name!r} stayed taken for {timeout_s:.0f} s"
                    )
                time.sleep(POLL_S)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                conn.commit()
    finally:
        engine.dispose()


def current_champion(client: MlflowClient, model_name: str) -> ModelRef | None:
    """The version ``champion`` points at, or None when the model has none (or does not exist yet)."""
    try:
        return resolve_alias(client, model_name, CHAMPION)
    except ModelNotFound:
        return None


def promote_if_better(
    client: MlflowClient,
    candidate: ModelRef,
    score_champion: Callable[[ModelRef], ChampionScore],
    decide: Callable[[ChampionScore | None], GateDecision],
    lock: Callable[[], AbstractContextManager[None]],
) -> PromotionResult:
    """Under the lock: read the champion, score it on the candidate's window, decide, and move the alias.

    Args:
        client: Registry client.
        candidate: The newly registered version.
        score_champion: Scores a champion version on the candidate's test window (loads that model).
        decide: The gate, given the champion's score (None: no champion).
        lock: Makes the model's promotion lock (:func:`promotion_lock` with its arguments bound).

    Returns:
        The decision and the champion before and after. The candidate's version carries the gate's
        verdict as tags (:data:`GATE_TAG`, :data:`GATE_REASON_TAG`) either way.
    """
    with lock():
        previous = current_champion(client, candidate.name)
        if previous is not None and previous.version == candidate.version:
            decision = GateDecision(
                True, [f"v{candidate.version} is already the champion"], "already-champion"
            )
            return PromotionResult(decision, previous, previous)
        decision = decide(score_champion(previous) if previous is not None else None)
        if decision.promote:
            set_alias(client, candidate, CHAMPION)
        name, version = candidate.name, candidate.version
        client.set_model_version_tag(name, version, GATE_TAG, _verdict(decision))
        client.set_model_version_tag(name, version, GATE_REASON_TAG, decision.summary[:4000])
        client.set_model_version_tag(name, version, GATE_RULE_TAG, decision.rule)
    return PromotionResult(decision, previous, candidate if decision.promote else previous)


def rollback(
    client: MlflowClient,
    model_name: str,
    version: str,
    lock: Callable[[], AbstractContextManager[None]],
    force: bool = False,
) -> tuple[ModelRef | None, ModelRef]:
    """Point ``champion`` at an earlier ``version`` in one step; returns (previous, new) champion.

    A version whose gate failed becomes champion only with ``force`` (tagged ``forced_rollback``).

    Raises:
        ModelNotFound: the model has no such version.
        NotApproved: the version failed the gate and ``force`` is not set.
    """
    target = _version(client, model_name, version)
    tags = client.get_model_version(model_name, target.version).tags
    if tags.get("gate") == "failed" and not force:
        why = tags.get("gate_reason", "no reason recorded")
        raise NotApproved(
            f"{model_name} v{version} failed the gate ({why}); use --force to make it champion anyway"
        )
    with lock():
        previous = current_champion(client, model_name)
        set_alias(client, target, CHAMPION)
        if previous is not None and previous.version != target.version:
            client.set_model_version_tag(model_name, target.version, "rolled_back_from", previous.version)
        if tags.get("gate") == "failed":
            client.set_model_version_tag(model_name, target.version, "forced_rollback", "true")
    log.info("%s champion: v%s -> v%s (rollback)", model_name, previous and previous.version, target.version)
    return previous, target


def copy_to_environment(
    client: MlflowClient,
    source_name: str,
    version: str,
    target_name: str,
    make_champion: bool,
    lock: Callable[[], AbstractContextManager[None]],
) -> ModelRef:
    """Copy an approved version of ``source_name`` (e.g. staging) to ``target_name`` (e.g. production).

    The copy is a new version of ``target_name`` pointing at the same artifacts, with the source's
    tags and a ``copied_from`` tag; with ``make_champion`` it becomes the target's champion.

    Raises:
        ModelNotFound: the source has no such version.
        NotApproved: the version did not pass the gate in its environment.
    """
    source = _version(client, source_name, version)
    tags = client.get_model_version(source_name, version).tags
    if tags.get(GATE_TAG) != "passed":
        raise NotApproved(
            f"{source_name} v{version} did not pass the gate (tag {GATE_TAG}={tags.get(GATE_TAG)!r}); "
            "only a version that passed it in its environment is copied onwards"
        )
    copied = client.copy_model_version(f"models:/{source_name}/{version}", target_name)
    target = ModelRef(target_name, str(copied.version), source.run_id)
    for key, value in {**tags, "copied_from": f"{source_name}/{version}"}.items():
        client.set_model_version_tag(target_name, target.version, key, value)
    if make_champion:
        with lock():
            set_alias(client, target, CHAMPION)
    return target


def _version(client: MlflowClient, model_name: str, version: str) -> ModelRef:
    from mlflow.exceptions import MlflowException

    try:
        found = client.get_model_version(model_name, str(version))
    except MlflowException as exc:
        raise ModelNotFound(f"model {model_name!r} has no version {version!r}") from exc
    return ModelRef(model_name, str(found.version), str(found.run_id))


def _verdict(decision: GateDecision) -> str:
    return "passed" if decision.promote else "failed"
