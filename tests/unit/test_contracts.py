"""Contracts between steps: the gate verdict reads as one line an operator understands at a glance."""

from __future__ import annotations

import pytest

from fti.contracts import GateVerdict


def _verdict(version: str, promoted: bool, before: str | None, after: str | None) -> GateVerdict:
    return GateVerdict(
        model="demand",
        version=version,
        promoted=promoted,
        rule="beats-champion",
        reasons=["WAPE 0.906 vs best baseline 1.000 (zero)", "bias +3.0% within ±5.0%"],
        previous_champion=before,
        champion=after,
    )


@pytest.mark.parametrize(
    ("version", "promoted", "before", "after", "expected_head"),
    [
        ("2", True, "1", "2", "PROMOTED v2 (was v1)"),
        ("1", True, None, "1", "PROMOTED v1 (first champion)"),
        ("2", True, "2", "2", "PROMOTED v2 (already champion)"),
        ("3", False, "2", "2", "REFUSED v3 (champion stays v2)"),
        ("1", False, None, None, "REFUSED v1 (no champion yet)"),
    ],
    ids=[
        "promoted-over-champion",
        "first-champion",
        "rerun-of-the-champion",
        "refused-champion-stays",
        "refused-no-champion",
    ],
)
def test_gate_verdict_summary_names_the_decision_both_versions_and_the_reasons(
    version: str, promoted: bool, before: str | None, after: str | None, expected_head: str
) -> None:
    summary = _verdict(version, promoted, before, after).summary

    assert summary == f"{expected_head}: WAPE 0.906 vs best baseline 1.000 (zero); bias +3.0% within ±5.0%"
    assert "None" not in summary


def test_gate_verdict_survives_the_xcom_round_trip_with_the_same_summary() -> None:
    verdict = _verdict("3", False, "2", "2")

    assert GateVerdict.from_xcom(verdict.to_xcom()).summary == verdict.summary
