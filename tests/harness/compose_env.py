"""The environment docker-compose.yaml gives its services, adapted to native processes on loopback.

One source of truth: the keys and values come from the compose file itself (``x-airflow-common``
and a service's own ``environment``), with its ``${NAME:?...}`` / ``${NAME:-default}`` references
filled from ``secrets``, each ``service:port`` of a URL pointed at the loopback port standing in
for that service, and the ``/data`` volume mapped to a local folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.harness.airflow import PROJECT_ROOT
from tests.harness.services import LOOPBACK, HarnessError

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yaml"
DATA_VOLUME = "/data"
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::(?P<op>[?-])(?P<arg>[^}]*))?\}")
# host:port right after the `@` or `//` of a URL: a compose service reached over the network.
_SERVICE_ADDRESS = re.compile(r"(?<=[@/])(?P<host>[a-z][a-z0-9-]*):(?P<port>\d+)(?=[/]|$)")


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The parsed compose file (YAML anchors and merge keys resolved)."""
    return dict(yaml.safe_load(path.read_text()))


def airflow_common_env(compose: dict[str, Any]) -> dict[str, str]:
    """The raw ``environment`` of ``x-airflow-common``, as written in the file."""
    return {k: str(v) for k, v in compose["x-airflow-common"]["environment"].items()}


def service_env(compose: dict[str, Any], service: str) -> dict[str, str]:
    """The raw ``environment`` of one service."""
    return {k: str(v) for k, v in compose["services"][service].get("environment", {}).items()}


def interpolate(value: str, secrets: dict[str, str]) -> str:
    """Fill ``${NAME:?msg}`` (required) and ``${NAME:-default}`` from ``secrets``, as compose does."""

    def fill(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name in secrets:
            return secrets[name]
        if op == "-":
            return str(arg)
        raise HarnessError(f"compose needs {name} ({arg or 'no default'}); give it in secrets")

    return _REFERENCE.sub(fill, value)


def to_loopback(value: str, ports: dict[str, int], data_dir: Path) -> str:
    """Point each ``service:port`` at ``127.0.0.1:ports[service]`` and ``/data`` at ``data_dir``."""

    def address(match: re.Match[str]) -> str:
        host = match["host"]
        if host not in ports:
            raise HarnessError(f"{value!r} reaches service {host!r}, which has no loopback port here")
        return f"{LOOPBACK}:{ports[host]}"

    value = _SERVICE_ADDRESS.sub(address, value)
    if value == DATA_VOLUME or value.startswith(DATA_VOLUME + "/"):
        return str(data_dir) + value[len(DATA_VOLUME) :]
    return value


def adapt(
    raw: dict[str, str], secrets: dict[str, str], ports: dict[str, int], data_dir: Path
) -> dict[str, str]:
    """A compose ``environment`` ready for a native process on this host."""
    return {key: to_loopback(interpolate(value, secrets), ports, data_dir) for key, value in raw.items()}
