"""The prediction-cache server of the harness: compose's memory settings, the ACL file, extra settings."""

from __future__ import annotations

from pathlib import Path

from tests.harness.redis_cache import CacheRedisServer, memory_config


def test_extra_settings_come_after_the_memory_conf_and_the_acl_file() -> None:
    server = CacheRedisServer(Path("users.acl"), config={"busy-reply-threshold": "100", "maxmemory": "8mb"})

    assert server.config == {
        **memory_config(),
        "aclfile": "users.acl",
        "busy-reply-threshold": "100",
        "maxmemory": "8mb",
    }
    assert server.config["maxmemory-policy"] == "noeviction"


def test_without_extra_settings_the_cache_runs_as_compose_runs_it() -> None:
    assert CacheRedisServer(Path("users.acl")).config == {**memory_config(), "aclfile": "users.acl"}
