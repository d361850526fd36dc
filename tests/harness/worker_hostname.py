"""``[core] hostname_callable`` for processes sharing one host: the name in ``FTI_HOSTNAME``.

In compose each worker is a container with a host name of its own, which Airflow records on the task
instances it runs. Native processes share this host, so each is told its name instead.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    """``FTI_HOSTNAME``, else the host's name."""
    return os.environ.get("FTI_HOSTNAME") or socket.getfqdn()
