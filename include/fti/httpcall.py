"""One outgoing HTTP request with a deadline for the whole call, no redirects, and no credentials shown.

urllib's ``timeout`` bounds each socket operation, not the call: a server that trickles one byte
a second holds ``urlopen`` for as long as it likes. Here a watchdog shuts the request's socket
down when ``timeout_s`` has passed since the call began, whatever it was doing (connecting,
sending, reading). Redirects are refused rather than followed: urllib would repeat the request's
headers (a webhook's ``Authorization``) to whatever host the ``Location`` names. User info of the
URL is sent as basic auth (:func:`fti.credentials.split_credentials`) and every message names the
URL through :func:`fti.credentials.redact_url`.

Importing this module imports only the standard library (DAG files import :mod:`fti.notify`).
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from fti.credentials import redact_url, split_credentials


class DeadlineExceeded(TimeoutError):
    """The server did not complete its answer within the call's deadline."""


class RedirectRefused(OSError):
    """The server answered with a redirect, which is not followed."""


def request(
    url: str,
    timeout_s: float,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> int:
    """Send one request and return the answer's HTTP status once its headers are in.

    Raises:
        urllib.error.HTTPError: the server answered 4xx or 5xx.
        RedirectRefused: it answered 3xx (the message names where it pointed).
        DeadlineExceeded: the answer was not in within ``timeout_s`` seconds of the call.
        OSError: the server could not be reached (``urllib.error.URLError``).
    """
    target, auth = split_credentials(url)
    req = urllib.request.Request(target, data=body, headers={**auth, **(headers or {})}, method=method)
    watch = _Watchdog()
    opener = urllib.request.build_opener(_NoRedirect(), _HTTPHandler(watch), _HTTPSHandler(watch))
    timer = threading.Timer(timeout_s, watch.expire)
    timer.daemon = True
    timer.start()
    try:
        with opener.open(req, timeout=timeout_s) as response:
            return int(response.status)
    except Exception as exc:
        if watch.expired:
            raise DeadlineExceeded(
                f"{method} {redact_url(url)} did not complete within {timeout_s:g} s "
                f"(the deadline of the whole call)"
            ) from exc
        raise
    finally:
        timer.cancel()


class _Watchdog:
    """The connections of one call; :meth:`expire` shuts their sockets down (the deadline passed)."""

    def __init__(self) -> None:
        self.connections: list[http.client.HTTPConnection] = []
        self.expired = False

    def track(self, connection_class: type[http.client.HTTPConnection]) -> Callable[..., Any]:
        def make(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            connection = connection_class(host, **kwargs)
            self.connections.append(connection)
            return connection

        return make

    def expire(self) -> None:
        self.expired = True
        for connection in self.connections:
            if connection.sock is not None:
                try:
                    connection.sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv/send at once
                except OSError:
                    pass  # already closed


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watch: _Watchdog) -> None:
        super().__init__()
        self._watch = watch

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._watch.track(http.client.HTTPConnection), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watch: _Watchdog) -> None:
        super().__init__()
        self._watch = watch

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._watch.track(http.client.HTTPSConnection), req)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> None:
        raise RedirectRefused(
            f"{req.get_method()} {redact_url(req.full_url)} answered HTTP {code} {msg}, a redirect to "
            f"{redact_url(newurl)}; redirects are not followed (they would carry the request's headers "
            f"to another address): configure the final URL"
        )
