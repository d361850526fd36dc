"""Running a measurement in a child process of its own, and reading that process's peak memory.

A benchmark's parent prepares inputs (untimed), then runs ``python -m <module> <args>``; the child
does the measured work and prints its figures as JSON on its last line of stdout. A process of its
own makes the peak memory that of the measured work alone.

Peak memory is ``VmHWM`` of ``/proc/self/status`` (the high-water resident set), NOT
``ru_maxrss``: Linux carries ``ru_maxrss`` across ``exec``, so a child started by a 1 GB parent
reports about 1 GB even when it never uses it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

Figures = dict[str, float | int]

STATUS = Path("/proc/self/status")
_KIB = re.compile(r"^(VmHWM|VmRSS):\s+(\d+)\s+kB$", re.MULTILINE)


class BenchmarkFailed(RuntimeError):
    """A benchmark's child process exited with an error, or printed no figures."""


def memory_mb(status_text: str | None = None) -> dict[str, float]:
    """``VmHWM`` (peak) and ``VmRSS`` (now) of this process in MiB, from ``/proc/self/status`` text.

    Raises:
        BenchmarkFailed: the text has no ``VmHWM`` line (not Linux, or no procfs).
    """
    text = STATUS.read_text() if status_text is None else status_text
    found = {name: int(kib) / 1024 for name, kib in _KIB.findall(text)}
    if "VmHWM" not in found:
        raise BenchmarkFailed("no VmHWM in /proc/self/status: peak memory needs Linux's procfs")
    return found


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (``VmHWM``), in MiB."""
    return memory_mb()["VmHWM"]


def last_json_line(stdout: str) -> Figures:
    """The figures a child printed: the JSON object on the last non-empty line of ``stdout``.

    Raises:
        BenchmarkFailed: there is no such line, or it is not a JSON object.
    """
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        figures = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        figures = None
    if not isinstance(figures, dict):
        raise BenchmarkFailed(f"the child printed no JSON figures on its last line: {stdout[-500:]!r}")
    return figures


def run_child(module: str, *args: str, env: Mapping[str, str] | None = None) -> Figures:
    """Run ``python -m <module> <args>`` (stderr: its logs) and return the figures it printed.

    Raises:
        BenchmarkFailed: the child exited non-zero (the message ends with its stderr's tail).
    """
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        raise BenchmarkFailed(
            f"benchmark {module} {' '.join(args)} exited {proc.returncode}: {proc.stderr[-3000:]}"
        )
    return last_json_line(proc.stdout)


def child_main(figures: Figures) -> None:
    """Print a child's figures as the JSON last line its parent reads."""
    print(json.dumps(figures), flush=True)


def quiet_logs() -> None:
    """Pipeline logs at INFO on stderr, without the chatter of the libraries underneath."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("great_expectations", "mlflow", "alembic", "urllib3", "git", "py4j"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def load_1m() -> float:
    """The machine's 1-minute load average: other jobs share the cores, so figures carry it."""
    return os.getloadavg()[0]


class Stopwatch:
    """Seconds since it was started (``time.perf_counter``)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started
