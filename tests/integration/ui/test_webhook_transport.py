"""The failure webhook's HTTP call against hostile local servers (fti.notify.post_json, no Airflow).

A redirect must not carry the alert and its Authorization header to another address; a server
that trickles its answer must not hold the callback longer than the call's timeout; credentials
in the webhook URL go as basic auth and never into an error.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fti.httpcall import DeadlineExceeded, RedirectRefused
from fti.notify import post_json

pytestmark = pytest.mark.integration

ALERT = {"text": "[fti] Airflow task failed: d.t"}


class Recorder:
    """A local HTTP server recording (method, path, headers) of each request; ``answer`` is its reply."""

    def __init__(self, answer: tuple[int, dict[str, str]] = (200, {})) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.requests.append((self.command, self.path, dict(self.headers)))
                status, headers = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook", auth: str = "") -> str:
        return f"http://{auth}127.0.0.1:{self.server.server_port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


@pytest.mark.parametrize("code", [302, 307])
def test_a_redirect_to_another_port_is_refused_and_nothing_reaches_it(elsewhere: Recorder, code: int) -> None:
    redirecting = Recorder((code, {"Location": elsewhere.url("/stolen")}))
    try:
        with pytest.raises(RedirectRefused, match=f"HTTP {code} .*redirects are not followed"):
            post_json(redirecting.url(), ALERT, {"Authorization": "Bearer s3cr3t"}, timeout_s=5)
    finally:
        redirecting.close()

    assert [r[0] for r in redirecting.requests] == ["POST"]
    assert elsewhere.requests == []  # neither the alert nor its Authorization header went there


def test_credentials_in_the_webhook_url_go_as_basic_auth(elsewhere: Recorder) -> None:
    status = post_json(elsewhere.url(auth="hook:S3cr%40t@"), ALERT, {}, timeout_s=5)

    ((method, path, headers),) = elsewhere.requests
    assert (status, method, path) == (200, "POST", "/hook")
    assert base64.b64decode(headers["Authorization"].removeprefix("Basic ")) == b"hook:S3cr@t"


def test_an_unreachable_webhook_with_credentials_does_not_show_the_password() -> None:
    url = "http://hook:S3cret@fti-webhook.invalid/hook"  # .invalid never resolves (RFC 2606)

    with pytest.raises(OSError) as caught:  # urllib took "S3cret@fti-webhook.invalid" for a port
        post_json(url, ALERT, {}, timeout_s=5)

    assert "S3cret" not in str(caught.value)


@pytest.fixture
def trickling_port() -> Iterator[int]:
    """A server that reads the request, then sends a valid answer one byte every 0.4 s (about 20 s)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Slow: yes\r\n\r\n":
                if stop.wait(0.4):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return  # the client gave up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    thread.join(5)


def test_a_trickling_server_makes_the_call_give_up_at_the_timeout_not_timeout_per_read(
    trickling_port: int,
) -> None:
    started = time.monotonic()

    with pytest.raises(DeadlineExceeded, match="did not complete within 1.5 s"):
        post_json(f"http://127.0.0.1:{trickling_port}/hook", ALERT, {}, timeout_s=1.5)

    assert time.monotonic() - started < 2.5  # each byte came within the timeout: per read, it never fires
