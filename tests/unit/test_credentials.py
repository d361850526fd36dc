"""Credentials kept out of messages and off the wire (fti.credentials), and secret files kept private."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from fti.credentials import private_file, redact_text, redact_url, split_credentials


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://admin:TopSecret@mlflow:5000/", "http://admin:***@mlflow:5000/"),
        ("redis://fti_reader:p%40ss%3Aw%2Frd%25%23@h:6379/0", "redis://fti_reader:***@h:6379/0"),
        ("postgresql+psycopg://u:pw@db/catalog?sslmode=require", "postgresql+psycopg://u:***@db/catalog?sslmode=require"),
        ("redis://u:p@ss@host:6379/0", "redis://u:***@host:6379/0"),  # an unencoded @ in the password
        ("redis://u:pa/ss@host:6379/0", "redis://u:***@host:6379/0"),  # an unencoded / in the password
        ("redis://u:p@ss:w/rd%#x@127.0.0.1:6379/0", "redis://u:***@127.0.0.1:6379/0"),  # every one of them
        ("redis://:onlypassword@host:6379/0", "redis://:***@host:6379/0"),
    ],
    ids=["basic", "percent-encoded", "sqlalchemy", "raw-at", "raw-slash", "raw-all", "no-user"],
)
def test_redact_url_masks_the_password_and_keeps_user_host_and_path(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5000/health", "https://host:8443/users/a@b", "sqlite:////var/x.db", "not a url"],
)
def test_redact_url_leaves_a_url_without_password_as_it_is(url: str) -> None:
    assert redact_url(url) == url


def test_redact_text_masks_every_url_of_a_message() -> None:
    text = "GET http://admin:TopSecret@h:5000/health failed; retry 'redis://w:s3cr%2Ft@r:6379/0'."

    assert redact_text(text) == "GET http://admin:***@h:5000/health failed; retry 'redis://w:***@r:6379/0'."


def test_split_credentials_moves_decoded_user_info_into_a_basic_auth_header() -> None:
    url, headers = split_credentials("http://ad%40min:Top%3ASecret@127.0.0.1:5000/health")

    assert url == "http://127.0.0.1:5000/health"
    assert base64.b64decode(headers["Authorization"].removeprefix("Basic ")) == b"ad@min:Top:Secret"
    assert split_credentials("http://127.0.0.1:5000/health") == ("http://127.0.0.1:5000/health", {})


def test_split_credentials_takes_an_unencoded_password_whole() -> None:
    url, headers = split_credentials("http://hook:p@ss/w#rd@127.0.0.1:8080/hook")

    assert url == "http://127.0.0.1:8080/hook"
    assert base64.b64decode(headers["Authorization"].removeprefix("Basic ")) == b"hook:p@ss/w#rd"


def test_private_file_creates_the_file_with_mode_0600(tmp_path: Path) -> None:
    path = private_file(tmp_path / "airflow" / "simple_auth_manager_passwords.json.generated")

    assert path.read_text() == ""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_private_file_closes_an_existing_world_readable_file_and_keeps_its_content(tmp_path: Path) -> None:
    path = tmp_path / "passwords.json"
    path.write_text('{"admin": "generated"}\n')
    path.chmod(0o644)

    private_file(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == '{"admin": "generated"}\n'
