"""The HTTP load benchmark's bookkeeping: server CPU read from /proc, and a table line per figure."""

from __future__ import annotations

import os
import time

from fti.bench.http import _LEVEL, BASELINE_CONCURRENCY, CONCURRENCY, cpu_s, lines


def test_cpu_seconds_of_a_process_grow_with_the_work_it_does() -> None:
    before = cpu_s(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass

    assert cpu_s(os.getpid()) - before >= 0.1


def test_every_figure_of_every_level_has_its_line_in_the_table() -> None:
    keys = {line.key for line in lines({})}
    levels = [("async", c) for c in CONCURRENCY] + [("sync_1_process", c) for c in BASELINE_CONCURRENCY]

    for design, c in levels:
        assert f"{design}.c{c}.requests_per_s" in keys
        assert {f"{design}.c{c}.{name}" for name, _, _ in _LEVEL} <= keys
    assert {"async_vs_sync_c8", "async_c128_vs_best", "load_1m", "workers"} <= keys
