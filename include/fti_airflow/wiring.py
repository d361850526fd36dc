"""What every generated DAG shares: its data sets, default arguments, fail-fast tasks, the Redis connection.

DAG files call :func:`dataset_specs` while they are parsed (every few seconds): it reads the specs
folder (``FTI_SPECS_DIR``, default ``<checkout>/specs``) with the shallow checks only. Each task then
loads its data set's spec again, in full (:func:`task_spec`), so an edit made since the parse is
judged before anything is read or written.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fti.notify import on_task_failure

if TYPE_CHECKING:
    from fti.resources import Resources
    from fti.specs import DatasetSpec, SpecError

REDIS_CONN_ID = "fti_redis"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Discovered:
    """The specs folder as DAG files see it: the valid specs, and each broken file with its error."""

    specs: list[DatasetSpec]
    broken: list[tuple[Path, SpecError]]


def specs_dir() -> Path:
    """``FTI_SPECS_DIR``, or the checkout's ``specs/`` folder."""
    from fti.settings import PROJECT_ROOT

    return Path(os.environ.get("FTI_SPECS_DIR") or PROJECT_ROOT / "specs")


def dataset_specs() -> Discovered:
    """Every spec of the specs folder, shallow-checked (no big imports: DAG files parse in milliseconds)."""
    from fti.specs import SpecError, load_spec, spec_files

    specs, broken = [], []
    for path in spec_files(specs_dir()):
        try:
            specs.append(load_spec(path, shallow=True))
        except SpecError as exc:
            broken.append((path, exc))
    return Discovered(specs, broken)


def default_args(retries: int, retry_delay: timedelta) -> dict[str, Any]:
    """Owner, retries and the failure webhook of every task.

    A task's returned XCom is not echoed into its log: each task logs its own verdict line, and the echoed
    dict (a gate verdict with its reasons, a drift summary) printed the verdict twice or buried it.
    """
    return {
        "owner": "fti",
        "retries": retries,
        "retry_delay": retry_delay,
        "on_failure_callback": on_task_failure,
        "show_return_value_in_logs": False,
    }


def fail_fast(function: F) -> F:
    """Run a task body; an error no retry can fix (:func:`fti.errors.is_permanent`) fails it at once."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        from airflow.sdk.exceptions import AirflowFailException

        from fti.errors import is_permanent
        from fti.logs import quiet_third_party

        quiet_third_party()
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            if is_permanent(exc):
                raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
            raise

    return run  # type: ignore[return-value]


def skip_if(reason: str | None) -> None:
    """End the task as skipped (its downstream tasks too, no retry) when ``reason`` is given.

    The step that decided has logged the reason in full; the skip repeats only its start.
    """
    if reason:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(reason.split(":")[0])


def task_spec(dataset: str) -> DatasetSpec:
    """The data set's spec, loaded in full now (a task judges the spec as it is when it runs)."""
    from fti.specs import load_dataset

    return load_dataset(specs_dir(), dataset)


def task_resources(with_redis: bool = False) -> Resources:
    """The process's clients; with Redis from the Airflow Connection :data:`REDIS_CONN_ID`."""
    from fti.resources import Resources
    from fti.settings import get_settings

    return Resources(get_settings(), redis_url() if with_redis else None)


def redis_url() -> str:
    """A ``redis://`` URL from the ``fti_redis`` Connection (database: the URI path or the ``db``
    extra, which must agree: :func:`fti.cache.connection.connection_database`)."""
    from airflow.sdk import Connection

    from fti.cache.connection import connection_url

    conn = Connection.get(REDIS_CONN_ID)
    return connection_url(conn.host, conn.port, conn.schema, conn.extra_dejson, conn.login, conn.password)


def spec_doc(spec: DatasetSpec, pipeline: str) -> str:
    """The data set's lines of a generated DAG's docs."""
    cal = spec.calendar
    return (
        f"**Data set `{spec.name}`** ({spec.source_path}): {spec.description.strip()}\n\n"
        f"Grain: {cal.describe()}, time zone {spec.time.timezone}; entity: "
        f"{' x '.join(spec.entity.names)}; target: `{spec.target.name}` ({spec.target.aggregation}); "
        f"forecast: {spec.forecast.horizon} periods after a gap of {spec.forecast.gap}. "
        f"Schedule of `{pipeline}`: `{spec.crons[pipeline]}` ({spec.time.timezone})."
    )


def broken_spec_dag(pipeline: str, path: Path, error: SpecError) -> Any:
    """A paused, unscheduled placeholder DAG for a spec that does not load: its docs, its description
    and its one task (which loads the spec again, so it passes once the file is fixed) say why."""
    import pendulum
    from airflow.sdk import DAG, task

    problems = "\n".join(f"* {p}" for p in error.problems)
    with DAG(
        dag_id=f"{pipeline}__{path.stem}",
        schedule=None,
        start_date=pendulum.datetime(2010, 1, 1, tz="UTC"),
        catchup=False,
        is_paused_upon_creation=True,
        tags=["fti", "spec-error"],
        default_args=default_args(retries=0, retry_delay=timedelta(minutes=1)),
        doc_md=f"### Broken data-set spec `{path.name}`\n\nNo {pipeline} runs until it is fixed:\n\n"
        f"{problems}\n",
        description=f"BROKEN SPEC: {error}"[:1000],
    ) as placeholder:

        @task(task_id="spec_error")
        def spec_error() -> None:
            """Load the spec again: it fails naming every problem (or passes once fixed)."""
            fail_fast(task_spec)(path.stem)

        spec_error()
    return placeholder
