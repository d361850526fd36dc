"""The control room's net under its sources masks passwords of URLs in what it shows and logs."""

from __future__ import annotations

import logging

import pytest

from fti.ui.sources import degrades
from fti.ui.views import Unavailable


@degrades("the MLflow registry")
def failing_source() -> str | Unavailable:
    raise RuntimeError("API request to http://admin:TopSecret@mlflow:5000/api/2.0/runs/get failed")


def test_an_unexpected_error_is_shown_and_logged_with_the_password_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="fti.ui.sources"):
        shown = failing_source()

    assert isinstance(shown, Unavailable)
    assert shown.reason == (
        "the MLflow registry could not be read: RuntimeError: "
        "API request to http://admin:***@mlflow:5000/api/2.0/runs/get failed"
    )
    assert "http://admin:***@mlflow:5000" in caplog.text and "TopSecret" not in caplog.text
    assert "Traceback (most recent call last)" in caplog.text  # the trace is kept, masked
