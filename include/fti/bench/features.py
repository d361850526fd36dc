"""Benchmark of the feature pipeline on the full Online Retail II history.

Run as ``fti bench features`` (or ``make bench``): lands the cached data set into a scratch
folder, then, in a child process whose peak memory is its own, times reading the raw files,
computing the features of every day and committing them to a scratch store.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class BenchmarkFailed(RuntimeError):
    """The child process of a benchmark exited with an error."""


def run_child(module: str, *args: str) -> dict[str, float | int]:
    """Run ``python -m <module> <args>`` and return the JSON figures it prints on its last line.

    A process of its own makes ``ru_maxrss`` the peak memory of the measured work alone.

    Raises:
        BenchmarkFailed: the child exited non-zero; the message ends with its stderr.
    """
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchmarkFailed(f"benchmark {module} exited {proc.returncode}: {proc.stderr[-3000:]}")
    figures: dict[str, float | int] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(cache_dir: Path) -> dict[str, float | int]:
    """Measure the full-history feature build + commit; returns the figures."""
    from fti.data.online_retail import fetch, split_daily
    from fti.settings import Settings

    with tempfile.TemporaryDirectory(prefix="fti-bench-") as tmp:
        raw_dir = Settings(var_dir=Path(tmp)).raw_dir
        assert raw_dir
        split_daily(fetch(cache_dir), raw_dir)
        return run_child("fti.bench.features", tmp)


def _child(scratch: Path) -> dict[str, float | int]:
    """Inside the child: the feature DAG's two steps over every landed day, each timed.

    ``validate_raw`` (read + Great Expectations raw suite) then ``ingest`` (read, features, feature
    suite, statistics, commit). ``validation_share`` is the raw validation's share of the total;
    the feature suite runs inside ``ingest`` and is not split out.
    """
    import great_expectations  # noqa: F401 - a one-off import cost (~4 s), not per-run work

    from fti.pipelines.feature import ingest, pending_days, validate_raw
    from fti.settings import Settings

    settings = Settings(var_dir=scratch)
    start = time.perf_counter()
    days = pending_days(settings)
    validate_raw(settings, days, run_id="bench")
    validated = time.perf_counter()
    refs = ingest(settings, days)
    elapsed = time.perf_counter() - start
    return {
        "full_history_s": elapsed,
        "validation_share": (validated - start) / elapsed,
        "full_history_peak_mb": peak_rss_mb(),
        "full_history_days": len(refs),
        "full_history_rows": sum(int(str(r["row_count"])) for r in refs),
    }


if __name__ == "__main__":
    print(json.dumps(_child(Path(sys.argv[1]))))
