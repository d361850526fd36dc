"""Load airflow_settings.yaml (Astro's format) into the Airflow metadata database.

Converts the file into the JSON that `airflow connections|variables|pools import` read, so
the entries go through Airflow's own, supported import path. Idempotent: existing entries
are overwritten.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml


def connections(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Astro connection entries as `airflow connections import` JSON."""
    out = {}
    for e in entries:
        out[e["conn_id"]] = {
            "conn_type": e["conn_type"],
            "host": e.get("conn_host"),
            "port": e.get("conn_port"),
            "login": e.get("conn_login"),
            "password": e.get("conn_password"),
            "schema": e.get("conn_schema"),
            "extra": json.dumps(e.get("conn_extra") or {}),
        }
    return out


def pools(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Astro pool entries as `airflow pools import` JSON."""
    return {
        e["pool_name"]: {
            "slots": int(e["pool_slot"]),
            "description": e.get("pool_description", ""),
            "include_deferred": False,
        }
        for e in entries
    }


def variables(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Astro variable entries as `airflow variables import` JSON."""
    return {e["variable_name"]: e["variable_value"] for e in entries}


def main(path: str) -> None:
    settings = (yaml.safe_load(Path(path).read_text()) or {}).get("airflow", {})
    kinds = [
        ("connections", connections(settings.get("connections") or []), ["--overwrite"]),
        ("variables", variables(settings.get("variables") or []), ["--action-on-existing-key", "overwrite"]),
        ("pools", pools(settings.get("pools") or []), []),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for kind, payload, flags in kinds:
            if not payload:
                continue
            file = Path(tmp) / f"{kind}.json"
            file.write_text(json.dumps(payload))
            subprocess.run(["airflow", kind, "import", *flags, str(file)], check=True)
            print(f"loaded {len(payload)} {kind}: {', '.join(payload)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "airflow_settings.yaml")
