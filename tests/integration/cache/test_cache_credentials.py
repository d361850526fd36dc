"""Redis credentials with reserved characters, against the session's real Redis and an ACL user.

The password ``p@ss:w/rd%#x`` has every character that means something in a URL. Built through
:func:`fti.cache.connect.redis_url` it connects; written into a URL unencoded it is refused by name
without being shown; a wrong one is "refuses", not "not reachable".
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from fti.cache.connect import CacheRefused, MalformedRedisUrl, connect, redis_url
from fti.ui import sources
from fti.ui.views import Unavailable
from tests.harness.services import LOOPBACK, RedisServer

pytestmark = pytest.mark.integration

USER, PASSWORD = "fti_odd", "p@ss:w/rd%#x"


@pytest.fixture
def odd_user(redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[int]:
    """An ACL user ``fti_odd`` whose password is :data:`PASSWORD`; yields the server's port."""
    redis_client.acl_setuser(USER, enabled=True, passwords=[f"+{PASSWORD}"], commands=["+ping", "+acl"])
    yield redis_server.port
    redis_client.acl_deluser(USER)


def test_a_password_with_reserved_characters_connects_through_the_url_builder(odd_user: int) -> None:
    url = redis_url(LOOPBACK, odd_user, 0, USER, PASSWORD)

    client = connect(url)
    try:
        assert client.acl_whoami() == USER
    finally:
        client.close()
    assert PASSWORD not in url  # percent-encoded: p%40ss%3Aw%2Frd%25%23x


def test_an_unencoded_password_is_refused_by_name_and_not_shown(odd_user: int) -> None:
    url = f"redis://{USER}:{PASSWORD}@{LOOPBACK}:{odd_user}/0"  # '/' and '#' end the host part early

    with pytest.raises(MalformedRedisUrl) as caught:
        connect(url)

    message = str(caught.value)
    assert f"redis://{USER}:***@{LOOPBACK}:{odd_user}/0" in message and "percent-encode" in message
    assert "w/rd" not in message and "p@ss" not in message


def test_a_wrong_password_is_refused_not_unreachable_and_not_shown(odd_user: int) -> None:
    url = redis_url(LOOPBACK, odd_user, 0, USER, "Wr0ng-Secret")

    with pytest.raises(CacheRefused) as caught:
        connect(url)

    message = str(caught.value)
    assert message.startswith(f"Redis at {LOOPBACK}:{odd_user}/0 answers but refuses user 'fti_odd'")
    assert "Wr0ng-Secret" not in message


def test_the_control_room_says_redis_refuses_the_credentials(odd_user: int) -> None:
    shown = sources.live(lambda: redis_url(LOOPBACK, odd_user, 0, USER, "Wr0ng-Secret"), "fti:sandbox:x")

    assert isinstance(shown, Unavailable)
    assert shown.reason.startswith(f"Redis refuses: Redis at {LOOPBACK}:{odd_user}/0 answers but refuses")


def test_the_cli_names_an_unencoded_password_url_and_never_prints_the_password(odd_user: int) -> None:
    url = f"redis://{USER}:{PASSWORD}@{LOOPBACK}:{odd_user}/0"
    command = [sys.executable, "-c", "from fti.cli import app; app()", "predictions", "live"]

    args = [*command, "-d", "online_retail", "--redis-url", url]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, env=cli_env())

    assert proc.returncode == 2, proc.stderr
    assert f"the Redis URL redis://{USER}:***@{LOOPBACK}:{odd_user}/0 does not parse" in proc.stderr
    assert "w/rd" not in proc.stdout + proc.stderr


def cli_env() -> dict[str, str]:
    """This checkout's ``fti`` on the path first, its specs, no FTI_ setting of the calling shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FTI_")}
    include = str(Path(__file__).resolve().parents[3] / "include")
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [include, env.get("PYTHONPATH")]))}
