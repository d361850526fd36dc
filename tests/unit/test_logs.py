"""Task logs: a long step says when it starts and how long it took."""

from __future__ import annotations

import logging

import pytest

from fti.logs import step


def test_a_step_logs_its_start_with_the_detail_and_its_end_with_the_seconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("fti.test_step")
    with caplog.at_level(logging.INFO, logger="fti.test_step"), step(log, "analysis", "on 7 test rows"):
        log.info("inside")

    assert [r.getMessage() for r in caplog.records][:2] == ["analysis: on 7 test rows", "inside"]
    assert caplog.records[2].getMessage().startswith("analysis: done in ")
    assert caplog.records[2].getMessage().endswith(" s")


def test_a_failing_step_does_not_claim_it_is_done(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("fti.test_step")
    with caplog.at_level(logging.INFO, logger="fti.test_step"), pytest.raises(ValueError):
        with step(log, "refit"):
            raise ValueError("boom")

    assert [r.getMessage() for r in caplog.records] == ["refit: started"]
