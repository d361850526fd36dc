"""A scheduled feature run whose partition has not landed skips, on the real Online Retail landing
folder; one whose partition has landed runs (fti.pipelines.feature.waiting_for_data)."""

from __future__ import annotations

from datetime import date

import pytest

from fti.pipelines.feature import plan_partitions, waiting_for_data
from fti.resources import Resources
from fti.specs import DatasetSpec
from tests.integration.pipelines.conftest import store_state

pytestmark = pytest.mark.integration


def test_a_scheduled_run_of_a_day_not_landed_skips_naming_its_file_and_the_newest_landed_day(
    resources: Resources, retail: DatasetSpec
) -> None:
    before = store_state(resources, retail)
    days = plan_partitions(resources, retail, None, "scheduled", date(2026, 11, 30))

    reason = waiting_for_data(resources, retail, "scheduled", None, days)

    assert days == [date(2026, 11, 30)]
    assert reason is not None, "a scheduled run of a day without data must skip"
    assert "(2026-11-30.csv)" in reason and "newest landed partition: 2011-11-30" in reason, reason
    assert store_state(resources, retail) == before


def test_a_scheduled_run_of_a_landed_day_and_any_manual_run_do_not_skip(
    resources: Resources, retail: DatasetSpec
) -> None:
    landed = plan_partitions(resources, retail, None, "scheduled", date(2011, 11, 30))

    assert waiting_for_data(resources, retail, "scheduled", None, landed) is None
    assert waiting_for_data(resources, retail, "manual", None, [date(2026, 11, 30)]) is None
    assert waiting_for_data(resources, retail, "scheduled", "2026-11-30", [date(2026, 11, 30)]) is None
