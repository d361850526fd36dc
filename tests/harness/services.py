"""Throwaway ``redis-server``, PostgreSQL and S3-compatible servers on free loopback ports, for tests.

Each server lives in a temporary directory of its own. A server still running at interpreter exit
is stopped and its directory removed (``atexit``); on Linux each server is also told to die with
the thread that started it, so even a SIGKILLed test run leaves no process behind, and the next
run removes the directories such a run left.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import psycopg2
from psycopg2 import sql

LOOPBACK = "127.0.0.1"
DEBIAN_POSTGRES_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = "install it with scripts/install-system-deps.sh"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_OWNER_FILE = "owner.pid"
_INITDB_OPTIONS = (
    "--auth=trust",
    "--username=postgres",
    "--encoding=UTF8",
    "--no-locale",
    "--no-sync",
    "--no-instructions",
)
# A throwaway cluster trades crash safety for speed.
_FAST_AND_UNSAFE = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class HarnessError(RuntimeError):
    """A throwaway server could not be found, started or used."""


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a server log, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log was written)"
    return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"


def _claim_tmp_dir(prefix: str) -> Path:
    """A new temporary directory, marked with our pid; first removes orphans of earlier crashed runs."""
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            owner = int((path / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not a harness directory, or one still being created
        if not _is_alive(owner):
            shutil.rmtree(path, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=prefix))
    (path / _OWNER_FILE).write_text(str(os.getpid()))
    return path


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A ``preexec_fn`` making Linux send ``sig`` to the child once the starting thread is gone."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(sig))

    return preexec


class _Server:
    """Process bookkeeping shared by the servers: spawn, wait until ready, signal, clean up."""

    name = "server"

    def __init__(self, port: int | None, startup_timeout: float) -> None:
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.tmp_dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def is_running(self) -> bool:
        """Whether the server process is alive (it may still be starting up)."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the server and wait until it answers; clean up and raise HarnessError if it does not."""
        if self.is_running:
            raise HarnessError(f"{self.name} on port {self.port} is already running")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server gracefully, wait for it to exit and remove its temporary directory."""
        raise NotImplementedError

    def _start(self) -> None:
        raise NotImplementedError

    def pause(self) -> None:
        """SIGSTOP the server: it keeps its connections open and answers nothing, as a hung one."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused server."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGCONT)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn(self, args: list[str], log: Path, on_orphan: signal.Signals, **popen: Any) -> None:
        """Start ``args`` in its own process group (Ctrl-C reaches only pytest) with output in ``log``."""
        with log.open("ab") as log_file:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.tmp_dir,
                process_group=0,
                preexec_fn=_die_with_parent(on_orphan),
                **popen,
            )
        _LIVE.add(self)

    def _wait_until(self, ready: Callable[[], bool], log: Path) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while not ready():
            assert self._proc is not None
            if (code := self._proc.poll()) is not None:
                raise HarnessError(
                    f"{self.name} exited with code {code} while starting on port {self.port}; "
                    f"last lines of its log:\n{log_tail(log)}"
                )
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"{self.name} did not answer on port {self.port} within {self.startup_timeout} s; "
                    f"last lines of its log:\n{log_tail(log)}"
                )
            time.sleep(0.02)

    def _signal_and_wait(self, sig: signal.Signals, timeout: float) -> None:
        """Send ``sig`` and wait for the exit; SIGKILL if it takes longer than ``timeout`` seconds."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _remove_tmp_dir(self) -> None:
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None
        _LIVE.discard(self)


_LIVE: set[_Server] = set()


@atexit.register
def _stop_leftovers() -> None:
    """Stop servers whose owner forgot to, e.g. after a crash in a session fixture."""
    for server in list(_LIVE):
        try:
            server.stop()
        except Exception as exc:  # at exit: report and go on with the other servers
            print(f"harness: could not stop {server.name} on port {server.port}: {exc}", file=sys.stderr)


class RedisServer(_Server):
    """A ``redis-server`` without persistence on a free loopback port.

    ``kill()`` simulates a crash (SIGKILL, temporary directory kept) and ``start()`` brings the
    server back on the same port, so clients can be tested against a Redis that goes down.
    ``config`` adds settings to its command line, e.g. ``{"maxmemory": "8mb"}``.
    """

    name = "redis-server"

    def __init__(
        self, port: int | None = None, startup_timeout: float = 10.0, config: dict[str, str] | None = None
    ) -> None:
        super().__init__(port, startup_timeout)
        self.config = dict(config or {})

    @property
    def url(self) -> str:
        """``redis://`` URL of database 0."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    def _start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise HarnessError(f"redis-server is not on PATH ({os.environ.get('PATH', '')}); {INSTALL_HINT}")
        if self.tmp_dir is None:
            self.tmp_dir = _claim_tmp_dir("fti-redis-")
        log = self.tmp_dir / "redis.log"
        args = [binary, "--bind", LOOPBACK, "--port", str(self.port), "--dir", str(self.tmp_dir)]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        args += [arg for name, value in self.config.items() for arg in (f"--{name}", value)]
        self._spawn(args, log, on_orphan=signal.SIGTERM)
        self._wait_until(self._answers_ping, log)

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; ``start()`` brings it back on the same port."""
        self._signal_and_wait(signal.SIGKILL, timeout=10)

    def stop(self) -> None:
        """Stop the server (SIGTERM), wait for it to exit and remove its temporary directory."""
        self._signal_and_wait(signal.SIGTERM, timeout=10)
        self._remove_tmp_dir()


class S3Server(_Server):
    """An S3-compatible object store on a free loopback port: moto's server, standing in for MinIO.

    Clients reach it through the standard AWS settings (:meth:`client_env`): any key pair is
    accepted, and buckets live in memory until ``stop()``.
    """

    name = "moto_server"
    ACCESS_KEY, SECRET_KEY = "fti-test-access", "fti-test-secret"

    def __init__(self, port: int | None = None, startup_timeout: float = 60.0) -> None:
        super().__init__(port, startup_timeout)

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the endpoint URL an S3 client is pointed at."""
        return f"http://{LOOPBACK}:{self.port}"

    def client_env(self) -> dict[str, str]:
        """The environment that points pyarrow, boto3 and MLflow at this server."""
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": self.SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def _start(self) -> None:
        binary = Path(sys.executable).with_name("moto_server")
        if not binary.is_file():
            raise HarnessError(f"{binary} is missing: moto[server] comes with requirements.txt (make venv)")
        self.tmp_dir = _claim_tmp_dir("fti-s3-")
        log = self.tmp_dir / "moto.log"
        self._spawn([str(binary), "-H", LOOPBACK, "-p", str(self.port)], log, on_orphan=signal.SIGTERM)
        self._wait_until(self._answers, log)

    def _answers(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1) as conn:
                conn.sendall(b"GET /moto-api/ HTTP/1.0\r\n\r\n")
                return conn.recv(16).startswith(b"HTTP/1.")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM), wait for it to exit and remove its temporary directory."""
        self._signal_and_wait(signal.SIGTERM, timeout=10)
        self._remove_tmp_dir()


def find_postgres_bindir() -> Path:
    """The folder holding ``initdb`` and ``postgres``: ``pg_config --bindir``, else the newest Debian one."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    debian = DEBIAN_POSTGRES_ROOT.glob("*/bin")
    candidates += sorted(
        debian, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True
    )
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    searched = ", ".join(map(str, candidates)) or f"pg_config --bindir and {DEBIAN_POSTGRES_ROOT}/*/bin"
    raise HarnessError(
        f"PostgreSQL server binaries initdb and postgres not found (searched {searched}); {INSTALL_HINT}"
    )


def _postgres_os_user() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as: ``postgres`` when we are root (it refuses root), else us."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise HarnessError(
            "running as root, which initdb and postgres refuse, and there is no 'postgres' user to run "
            f"them as; create one (useradd --system postgres) or {INSTALL_HINT}"
        ) from None


class PostgresServer(_Server):
    """A throwaway PostgreSQL cluster (trust auth, superuser ``postgres``, fsync off) on a free port."""

    name = "postgres"

    def __init__(self, port: int | None = None, startup_timeout: float = 60.0) -> None:
        super().__init__(port, startup_timeout)

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg2://postgres@{LOOPBACK}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` and return its SQLAlchemy URL."""
        if not _DATABASE_NAME.fullmatch(name):
            raise HarnessError(f"database name {name!r} must match {_DATABASE_NAME.pattern}")
        with self._admin_cursor() as cursor:
            create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if cursor.connection.server_version >= 150000:
                # Copying template1's files is 5x faster than the WAL-logged copy PostgreSQL 15 defaults to.
                create += sql.SQL(" STRATEGY FILE_COPY")
            cursor.execute(create)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, closing any connection still open to it."""
        with self._admin_cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        """Fast shutdown (SIGINT), wait for the exit and remove the cluster's temporary directory."""
        self._signal_and_wait(signal.SIGINT, timeout=30)
        self._remove_tmp_dir()

    def _start(self) -> None:
        bindir = find_postgres_bindir()
        os_user = _postgres_os_user()
        as_user: dict[str, Any] = {"env": {**os.environ, "LC_ALL": "C"}}
        self.tmp_dir = _claim_tmp_dir("fti-pg-")
        _LIVE.add(self)
        if os_user is not None:
            os.chown(self.tmp_dir, os_user.pw_uid, os_user.pw_gid)
            as_user |= {"user": os_user.pw_name, "group": os_user.pw_gid, "extra_groups": []}
        data, log = self.tmp_dir / "data", self.tmp_dir / "postgres.log"
        self._initdb(bindir, data, log, as_user)
        args = [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port)]
        args += ["-c", f"listen_addresses={LOOPBACK}", "-c", f"unix_socket_directories={self.tmp_dir}"]
        args += [arg for setting in _FAST_AND_UNSAFE for arg in ("-c", setting)]
        # The parent is gone, so nobody is left to be polite to: immediate shutdown.
        self._spawn(args, log, on_orphan=signal.SIGQUIT, **as_user)
        self._wait_until(self._accepts_connections, log)

    def _initdb(self, bindir: Path, data: Path, log: Path, as_user: dict[str, Any]) -> None:
        args = [str(bindir / "initdb"), f"--pgdata={data}", *_INITDB_OPTIONS]
        with log.open("ab") as log_file:
            result = subprocess.run(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.tmp_dir,
                timeout=self.startup_timeout,
                **as_user,
            )
        if result.returncode != 0:
            who = f" (run as user {as_user['user']!r})" if "user" in as_user else ""
            raise HarnessError(
                f"initdb{who} failed with code {result.returncode}; last lines of its log:\n{log_tail(log)}"
            )

    def _accepts_connections(self) -> bool:
        try:
            psycopg2.connect(self._dsn(), connect_timeout=2).close()
        except psycopg2.OperationalError:
            return False
        return True

    def _dsn(self) -> str:
        return f"host={LOOPBACK} port={self.port} user=postgres dbname=postgres"

    @contextmanager
    def _admin_cursor(self) -> Iterator[Any]:
        if not self.is_running:
            raise HarnessError(f"postgres on port {self.port} is not running; call start() first")
        conn = psycopg2.connect(self._dsn())
        try:
            conn.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
            with conn.cursor() as cursor:
                yield cursor
        finally:
            conn.close()
