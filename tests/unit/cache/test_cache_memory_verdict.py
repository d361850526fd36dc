"""The verdict on a run's memory before it is written (fti.cache.memory), without a server."""

from __future__ import annotations

import pytest

from fti.cache.memory import HEADROOM, check_capacity, expected_bytes

MIB = 2**20


def test_noeviction_with_room_for_the_run_and_its_headroom_is_accepted() -> None:
    verdict = check_capacity("noeviction", 100 * MIB, 40 * MIB, expected=50 * MIB)

    assert verdict.accepted and not verdict.warn


def test_noeviction_without_the_headroom_is_refused_with_the_sizes() -> None:
    expected = 50 * MIB  # fits in the 60 MiB free, but not with 20% headroom (60 MiB needed, a byte more)

    verdict = check_capacity("noeviction", 100 * MIB, 40 * MIB + 1, expected)

    assert HEADROOM == 1.2 and not verdict.accepted
    assert "needs 60.0 MiB (50.0 MiB expected x 1.2)" in verdict.message
    assert "60.0 MiB free (40.0 MiB used of maxmemory 100.0 MiB)" in verdict.message


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_an_allkeys_policy_is_refused_however_much_is_free(policy: str) -> None:
    verdict = check_capacity(policy, 100 * MIB, 0, expected=1)

    assert not verdict.accepted
    assert f"maxmemory-policy is {policy}, expected noeviction" in verdict.message
    assert "live pointer" in verdict.message
    assert "CONFIG SET maxmemory-policy noeviction" in verdict.message


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
def test_a_volatile_policy_is_refused_because_the_run_being_written_has_a_ttl(policy: str) -> None:
    verdict = check_capacity(policy, 100 * MIB, 0, expected=1)

    assert not verdict.accepted
    assert "the run being written" in verdict.message and "noeviction" in verdict.message


@pytest.mark.parametrize("policy", ["noeviction", "allkeys-lru"])
def test_no_maxmemory_is_accepted_with_a_warning(policy: str) -> None:
    verdict = check_capacity(policy, 0, 10**12, expected=10**12)

    assert verdict.accepted and verdict.warn
    assert "maxmemory is 0" in verdict.message


def test_the_expected_size_grows_with_ids_values_and_a_hashtable_bucket() -> None:
    short, long_ids = ["a" * 10] * 100, ["a" * 70] * 100

    point = expected_bytes(short, horizon=7, values_per_period=1)
    quantiles = expected_bytes(short, horizon=7, values_per_period=4)  # 112-byte rows: hashtable

    assert point == 100 * (10 + 28 + 26)
    assert quantiles == 100 * (10 + 112 + 80)
    assert expected_bytes(long_ids, horizon=7, values_per_period=1) == 100 * (70 + 28 + 80)
    assert expected_bytes([], horizon=7, values_per_period=1) == 0
