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


def run(cache_dir: Path) -> dict[str, float | int]:
    """Measure the full-history feature build + commit; returns the figures."""
    from fti.data.online_retail import fetch, split_daily
    from fti.settings import Settings

    with tempfile.TemporaryDirectory(prefix="fti-bench-") as tmp:
        raw_dir = Settings(var_dir=Path(tmp)).raw_dir
        assert raw_dir
        split_daily(fetch(cache_dir), raw_dir)
        proc = subprocess.run(
            [sys.executable, "-m", "fti.bench.features", tmp],
            capture_output=True,
            text=True,
            check=True,
        )
    figures: dict[str, float | int] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def _child(scratch: Path) -> dict[str, float | int]:
    """Inside the child: time read + compute + commit of every landed day."""
    from fti.pipelines.feature import ingest, pending_days
    from fti.settings import Settings

    settings = Settings(var_dir=scratch)
    start = time.perf_counter()
    days = pending_days(settings)
    refs = ingest(settings, days)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "full_history_s": elapsed,
        "full_history_peak_mb": peak_mb,
        "full_history_days": len(refs),
        "full_history_rows": sum(int(str(r["row_count"])) for r in refs),
    }


if __name__ == "__main__":
    print(json.dumps(_child(Path(sys.argv[1]))))
