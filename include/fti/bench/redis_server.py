"""A throwaway ``redis-server`` for benchmarks: no persistence, a free loopback port, a temp folder.

The tests have a richer harness (tests/harness/services.py); the package must not import tests, so
this is the small part a benchmark needs.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass(frozen=True)
class RunningRedis:
    """Where the throwaway server listens."""

    port: int

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(extra_args: Sequence[str] = (), startup_timeout_s: float = 10.0) -> Iterator[RunningRedis]:
    """Start ``redis-server`` (killed with us, even if we are SIGKILLed), yield it, stop it.

    Raises:
        RuntimeError: redis-server is not installed or does not answer within ``startup_timeout_s``.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not on PATH; install it with scripts/install-system-deps.sh")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="fti-bench-redis-") as tmp:
        args = [binary, "--bind", LOOPBACK, "--port", str(port), "--dir", tmp]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no", *extra_args]
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent(),
        )
        try:
            _wait_for_pong(proc, port, startup_timeout_s)
            yield RunningRedis(port)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for_pong(proc: subprocess.Popen[bytes], port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode} while starting on {port}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not answer on port {port} within {timeout_s} s")
        time.sleep(0.02)


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, have the kernel SIGTERM the server when the process that started it dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    return lambda: libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
