"""Files as signals between a test and a process it started: "I got here" and "go on"."""

from __future__ import annotations

import time
from multiprocessing.process import BaseProcess
from pathlib import Path


class SignalTimeout(AssertionError):
    """A signal file did not appear in time, or the process that was to create it exited first."""


def wait_for_file(path: Path, timeout_s: float, process: BaseProcess | None = None) -> None:
    """Return once ``path`` exists.

    Raises:
        SignalTimeout: it did not appear within ``timeout_s``, or ``process`` exited before creating it.
    """
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if process is not None and not process.is_alive():
            raise SignalTimeout(f"the process exited (code {process.exitcode}) before creating {path.name}")
        if time.monotonic() > deadline:
            raise SignalTimeout(f"{path.name} did not appear within {timeout_s:.0f} s")
        time.sleep(0.05)
