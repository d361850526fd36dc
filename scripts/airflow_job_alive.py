"""Healthcheck of an Airflow job process (dag-processor, triggerer): exit 0 if it heartbeats.

What `airflow jobs check --job-type T --hostname H` answers, without importing Airflow: that CLI
costs 6-9 s of CPU on 2 busy cores, close to a 10 s healthcheck timeout; this imports psycopg2 only
and asks PostgreSQL one question. Alive means what Airflow's ``Job.is_alive`` means: a job of that
type on this host in state ``running`` whose latest heartbeat is younger than ``--max-age`` seconds
(Airflow's ``[triggerer] triggerer_health_check_threshold`` and ``[dag_processor]
health_check_threshold``, 30 s by default).

    python scripts/airflow_job_alive.py TriggererJob [--hostname H] [--max-age 30]

The database is ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` (PostgreSQL); the host name defaults to
the one Airflow records for its jobs (:func:`airflow_hostname`), so no ``$HOSTNAME`` is assumed.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys

import psycopg2

#: Seconds since the newest heartbeat of a running job of that type on that host (NULL: none).
AGE_SQL = """
SELECT EXTRACT(EPOCH FROM (now() - max(latest_heartbeat)))
FROM job
WHERE job_type = %s AND hostname = %s AND state = 'running'
"""


def airflow_hostname() -> str:
    """The host name Airflow's default ``hostname_callable`` (``airflow.utils.net.getfqdn``) gives:
    the canonical name ``getaddrinfo`` reports for ``gethostname()`` (not ``socket.getfqdn``'s
    reverse lookup, which may differ)."""
    name = socket.gethostname()
    try:
        found = socket.getaddrinfo(name, None, 0, socket.SOCK_DGRAM, 0, socket.AI_CANONNAME)
    except OSError:
        return name
    return next((addr[3] for addr in found if addr[3]), name)


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg2://...`` as the ``postgresql://...`` URI libpq reads."""
    url = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", sqlalchemy_url)
    if not url.startswith("postgresql://"):
        raise SystemExit(f"not a PostgreSQL database URL: {sqlalchemy_url.split('://', 1)[0]}://...")
    return url


def heartbeat_age(url: str, job_type: str, hostname: str, timeout_s: int) -> float | None:
    """Seconds since the job's newest heartbeat, or None when no such job is running."""
    with psycopg2.connect(libpq_url(url), connect_timeout=timeout_s) as conn, conn.cursor() as cur:
        cur.execute(AGE_SQL, (job_type, hostname))
        row = cur.fetchone()
    conn.close()
    return None if row is None or row[0] is None else float(row[0])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("job_type", help="DagProcessorJob, TriggererJob or SchedulerJob")
    parser.add_argument("--hostname", default=airflow_hostname())
    parser.add_argument("--max-age", type=float, default=30.0, help="seconds (default: 30)")
    parser.add_argument("--connect-timeout", type=int, default=5, help="seconds (default: 5)")
    args = parser.parse_args(argv)
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    age = heartbeat_age(url, args.job_type, args.hostname, args.connect_timeout)
    where = f"{args.job_type} on {args.hostname}"
    if age is None:
        print(f"no running {where}")
        return 1
    if age >= args.max_age:
        print(f"{where}: last heartbeat {age:.0f} s ago (limit {args.max_age:.0f} s)")
        return 1
    print(f"{where}: alive, last heartbeat {age:.1f} s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
