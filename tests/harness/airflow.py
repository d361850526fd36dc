"""Run the project's DAGs for real with `airflow dags test`, in an isolated Airflow home."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AirflowProject:
    """An Airflow home of its own (SQLite metadata DB) pointing at the project's dags/ and plugins/.

    Args:
        home: folder for Airflow's state and the project's local state (``FTI_VAR_DIR``).
        extra_env: more environment, e.g. ``AIRFLOW_CONN_FTI_REDIS`` for a throwaway Redis.
    """

    home: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        venv_bin = PROJECT_ROOT / ".venv" / "bin"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FTI_"))}
        env.update(
            {
                "PATH": f"{venv_bin}:{env.get('PATH', '')}",
                "AIRFLOW_HOME": str(self.home / "airflow"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow' / 'airflow.db'}",
                "FTI_VAR_DIR": str(self.home / "var"),
            }
        )
        env.update(self.extra_env)
        return env

    def airflow(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """Run an `airflow` CLI command; raise with its output when it fails."""
        proc = subprocess.run(
            ["airflow", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=PROJECT_ROOT,
        )
        if proc.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed ({proc.returncode}):\n{_tail(proc)}")
        return proc

    def migrate(self) -> None:
        """Create the metadata database."""
        (self.home / "airflow").mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate")

    def test_dag(self, dag_id: str, logical_date: str | None = None, conf: dict | None = None) -> str:
        """Run one DAG in-process with `airflow dags test`; fail unless every task succeeded."""
        args = ["dags", "test", dag_id]
        if logical_date:
            args.append(logical_date)
        if conf:
            args += ["--conf", json.dumps(conf)]
        proc = self.airflow(*args)
        output = proc.stdout + proc.stderr
        if "state=success" not in output.replace("state=DagRunState.SUCCESS", "state=success"):
            raise AssertionError(f"DAG {dag_id} did not end in success:\n{_tail(proc)}")
        return output


def _tail(proc: subprocess.CompletedProcess[str], lines: int = 80) -> str:
    return "\n".join((proc.stdout + "\n" + proc.stderr).splitlines()[-lines:])
