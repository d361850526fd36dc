"""The prediction cache as compose runs it: ``deploy/redis-cache``'s ACL users and memory settings.

The ACL file is rendered from ``users.acl.template`` the way ``entrypoint.sh`` renders it (comments
and blank lines dropped, each ``@..._SHA256@`` the SHA-256 of a password). Redis older than 7.2 has
no ``CLIENT SETINFO``, and rejects an ACL file that names it, so that rule is dropped there.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import subprocess
from pathlib import Path

from tests.harness.airflow import PROJECT_ROOT
from tests.harness.services import LOOPBACK, HarnessError, RedisServer

DEPLOY_DIR = PROJECT_ROOT / "deploy" / "redis-cache"
ACL_TEMPLATE = DEPLOY_DIR / "users.acl.template"
MEMORY_CONF = DEPLOY_DIR / "memory.conf"
PASSWORD_VARIABLES = {
    "WRITER": "FTI_REDIS_WRITER_PASSWORD",
    "READER": "FTI_REDIS_READER_PASSWORD",
    "OPERATOR": "FTI_REDIS_OPERATOR_PASSWORD",
}
SETINFO_SINCE = (7, 2)


def redis_version() -> tuple[int, int, int]:
    """The version of the ``redis-server`` on PATH."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise HarnessError("redis-server is not on PATH; install it with scripts/install-system-deps.sh")
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    found = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out)
    if found is None:
        raise HarnessError(f"cannot read the version of redis-server from {out!r}")
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


def render_acl(template: str, passwords: dict[str, str], version: tuple[int, int, int]) -> str:
    """The ACL file of ``template``: ``passwords`` by placeholder name (WRITER, READER, OPERATOR)."""
    lines = [line for line in template.splitlines() if line.strip() and not line.startswith("#")]
    text = "\n".join(lines) + "\n"
    for name, password in passwords.items():
        text = text.replace(f"@{name}_SHA256@", hashlib.sha256(password.encode()).hexdigest())
    if (left := re.search(r"@[A-Z]+_SHA256@", text)) is not None:
        raise HarnessError(f"no password given for {left.group()} of the ACL template")
    if version[:2] < SETINFO_SINCE:
        text = text.replace(" +client|setinfo", "")
    return text


def write_acl(path: Path, passwords: dict[str, str]) -> Path:
    """Render :data:`ACL_TEMPLATE` for the local redis-server into ``path`` (see :func:`render_acl`)."""
    path.write_text(render_acl(ACL_TEMPLATE.read_text(), passwords, redis_version()))
    return path


def memory_config(path: Path = MEMORY_CONF) -> dict[str, str]:
    """The settings of ``memory.conf`` as redis-server command-line options."""
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split(None, 1) for line in lines)


class CacheRedisServer(RedisServer):
    """A throwaway prediction cache: the default user is off, clients log in as an ACL user.

    ``config`` adds (or overrides) settings after ``memory.conf``'s and the ACL file, e.g.
    ``{"busy-reply-threshold": "100"}``.
    """

    name = "redis-cache"

    def __init__(self, acl_file: Path, port: int | None = None, config: dict[str, str] | None = None) -> None:
        super().__init__(port, config={**memory_config(), "aclfile": str(acl_file), **(config or {})})

    def user_url(self, user: str, password: str) -> str:
        """``redis://user:password@127.0.0.1:port/0``."""
        return f"redis://{user}:{password}@{LOOPBACK}:{self.port}/0"

    def _answers_ping(self) -> bool:
        # With the default user off, an anonymous PING is refused: that refusal means "up".
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False
