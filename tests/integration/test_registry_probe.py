"""The MLflow reachability probe against a real local HTTP server that wants basic auth.

A tracking URI may carry credentials (``http://admin:TopSecret@host:5000``). The probe sends them
as basic auth, tells a server that answers but refuses (401/403) from one that does not answer (a
closed port), and never prints the password: not in the error, not in the control room.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fti.registry import mlflow_registry as registry
from fti.settings import Settings
from fti.ui import sources
from fti.ui.views import Unavailable
from tests.harness.services import free_port

pytestmark = pytest.mark.integration

USER, PASSWORD = "admin", "TopSecret"


@pytest.fixture(scope="module")
def guarded_port() -> Iterator[int]:
    """A server whose ``/health`` answers 200 to ``admin:TopSecret`` in basic auth and 401 to anyone else."""
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            allowed = self.headers.get("Authorization") == expected
            self.send_response(200 if allowed else 401)
            if not allowed:
                self.send_header("WWW-Authenticate", 'Basic realm="mlflow"')
            self.end_headers()
            self.wfile.write(b"OK" if allowed else b"unauthorized")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def test_credentials_of_the_uri_are_sent_as_basic_auth(guarded_port: int) -> None:
    registry.check_available(f"http://{USER}:{PASSWORD}@127.0.0.1:{guarded_port}", timeout_s=5)


@pytest.mark.parametrize("auth", ["admin:WrongSecret@", ""], ids=["wrong-password", "no-credentials"])
def test_a_server_answering_401_is_up_but_refuses_and_the_password_is_not_shown(
    guarded_port: int, auth: str
) -> None:
    with pytest.raises(registry.RegistryRefused) as caught:
        registry.check_available(f"http://{auth}127.0.0.1:{guarded_port}", timeout_s=5)

    message = str(caught.value)
    assert f"127.0.0.1:{guarded_port} answers but refuses" in message and "HTTP 401" in message
    assert "WrongSecret" not in message


def test_a_closed_port_is_down_and_the_password_is_not_shown() -> None:
    uri = f"http://{USER}:{PASSWORD}@127.0.0.1:{free_port()}"

    with pytest.raises(registry.RegistryUnavailable) as caught:
        registry.check_available(uri, timeout_s=5)

    assert not isinstance(caught.value, registry.RegistryRefused)
    assert f"MLflow tracking server http://{USER}:***@127.0.0.1:" in str(caught.value)
    assert "did not answer" in str(caught.value) and PASSWORD not in str(caught.value)


def test_the_control_room_says_the_registry_refuses_without_showing_the_password(
    guarded_port: int, tmp_path: Path
) -> None:
    settings = Settings(var_dir=tmp_path, mlflow_tracking_uri=f"http://{USER}:Wrong@127.0.0.1:{guarded_port}")

    shown = sources.champion(settings, "online_retail")

    assert isinstance(shown, Unavailable)
    assert shown.reason.startswith(f"MLflow refuses: MLflow tracking server http://{USER}:***@127.0.0.1:")
    assert ":Wrong@" not in shown.reason


@pytest.fixture
def failing_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A tracking URI with a password whose server is healthy but answers 502 to every API call."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 502)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # MLflow would retry for minutes
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{USER}:{PASSWORD}@127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_registry_failing_to_answer_is_unavailable_not_a_missing_model_and_hides_the_password(
    failing_registry: str,
) -> None:
    client = registry.configure(failing_registry)

    with pytest.raises(registry.RegistryUnavailable) as caught:
        registry.resolve_alias(client, "fti-online_retail-sandbox", registry.CHAMPION)

    assert f"API request to http://{USER}:***@127.0.0.1:" in str(caught.value)
    assert PASSWORD not in str(caught.value) and caught.value.__cause__ is None
