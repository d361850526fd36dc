"""The failure alert's message and webhook URL, built from a task context (pure parts of fti.notify)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fti.notify import exception_summary, failure_message, webhook_url


def task_instance(**fields: object) -> SimpleNamespace:
    """The attributes of Airflow's RuntimeTaskInstance that the message reads."""
    values = {
        "dag_id": "feature_pipeline",
        "task_id": "plan_days",
        "run_id": "manual__2024-03-10T04:00:00+00:00",
        "try_number": 3,
        "map_index": -1,
        "log_url": "http://localhost:8080/dags/feature_pipeline/runs/r/tasks/plan_days?try_number=3",
    }
    return SimpleNamespace(**{**values, **fields})


def test_message_names_dag_task_run_try_error_and_log() -> None:
    error = FileNotFoundError("no raw files in /var/raw; run `fti data load` first\nmore detail")
    message = failure_message({"ti": task_instance(), "exception": error})

    assert message["text"].splitlines() == [
        "[fti] Airflow task failed: feature_pipeline.plan_days",
        "run: manual__2024-03-10T04:00:00+00:00 · try 3",
        "error: FileNotFoundError: no raw files in /var/raw; run `fti data load` first",
        "log: http://localhost:8080/dags/feature_pipeline/runs/r/tasks/plan_days?try_number=3",
    ]
    assert message["dag_id"] == "feature_pipeline" and message["task_id"] == "plan_days"
    assert message["try_number"] == 3
    assert message["exception"] == "FileNotFoundError: no raw files in /var/raw; run `fti data load` first"


def test_message_of_a_mapped_task_names_its_index_and_survives_a_missing_log_url() -> None:
    message = failure_message(
        {
            "task_instance": task_instance(task_id="predict_chunk", map_index=4, log_url=None),
            "exception": None,
        }
    )

    assert message["text"].startswith("[fti] Airflow task failed: feature_pipeline.predict_chunk[4]")
    assert message["exception"] == "unknown error"
    assert message["log_url"] is None and "log:" not in message["text"]


@pytest.mark.parametrize(
    ("error", "summary"),
    [
        (ValueError("bad\nvalue"), "ValueError: bad"),
        (KeyError(), "KeyError"),
        (RuntimeError("\n\nsecond line only"), "RuntimeError: second line only"),
        ("Task killed externally", "Task killed externally"),
        (ValueError("x" * 400), "ValueError: " + "x" * 287 + "…"),
    ],
)
def test_exception_summary_is_type_and_first_line(error: BaseException | str, summary: str) -> None:
    assert exception_summary(error) == summary


@pytest.mark.parametrize(
    ("host", "schema", "port", "url"),
    [
        ("https://hooks.slack.com/services/T/B/X", None, None, "https://hooks.slack.com/services/T/B/X"),
        ("hooks.example", "http", 8080, "http://hooks.example:8080"),
        ("hooks.example", "", None, "https://hooks.example"),
    ],
)
def test_webhook_url_is_the_host_when_it_is_a_url(
    host: str, schema: str | None, port: int | None, url: str
) -> None:
    assert webhook_url(host, schema, port) == url


def test_webhook_url_without_host_says_where_the_url_belongs() -> None:
    with pytest.raises(ValueError, match="fti_alerts connection has no host"):
        webhook_url(None)


def test_a_password_in_a_url_of_the_error_is_masked_in_text_and_fields() -> None:
    error = RuntimeError("API request to http://admin:TopSecret@mlflow:5000/api/2.0/runs failed")

    message = failure_message({"ti": task_instance(), "exception": error})

    shown = "RuntimeError: API request to http://admin:***@mlflow:5000/api/2.0/runs failed"
    assert message["exception"] == shown
    assert "TopSecret" not in message["text"]
