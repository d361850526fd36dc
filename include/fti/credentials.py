"""Keeping credentials secret: out of messages (``redact_url``, ``redact_text``), out of URLs sent on
the wire (``split_credentials``) and out of other users' reach (``private_file``).

Any URL that may reach a log line, an exception, a webhook or the control room goes through
:func:`redact_url` (or :func:`redact_text` for free text): ``scheme://user:***@host...``.
Importing this module imports only the standard library (DAG files import :mod:`fti.notify`).
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from urllib.parse import unquote

MASK = "***"
#: A URL in free text: a scheme, ``://``, then everything up to the next white space.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_AUTHORITY_END = re.compile(r"[/?#]")
#: A host (name, IPv4 or [IPv6]) with an optional port, then the end of the authority.
_HOST_THEN_END = re.compile(r"[\w.\-\[\]:]+(?:[/?#]|$)")


def redact_url(url: str) -> str:
    """``url`` with the password of its user info replaced by ``***`` (``user:***@host``).

    A password whose ``/ ? # @`` were not percent-encoded (``redis://u:p@ss/x@host``) is masked
    whole too: the host is taken to follow the last ``@`` that is followed by a host name.
    """
    scheme, sep, rest = url.partition("://")
    at = _host_at(rest) if sep else -1
    if at < 0:
        return url
    user, colon, _ = rest[:at].partition(":")
    return f"{scheme}://{user}:{MASK}@{rest[at + 1 :]}" if colon else url


def _host_at(rest: str) -> int:
    """Index in ``rest`` (a URL after ``://``) of the ``@`` its host follows; -1 without user info.

    The authority normally ends at the first ``/ ? #``; an unencoded one in a password ends it early,
    which shows as an authority ``user:pa`` with a non-numeric "port" (``host:8080`` is no password).
    """
    authority = _AUTHORITY_END.split(rest, maxsplit=1)[0]
    if "@" not in authority and (":" not in authority or authority.rsplit(":", 1)[1].isdigit()):
        return -1
    for at in reversed([i for i, char in enumerate(rest) if char == "@"]):
        if _HOST_THEN_END.match(rest, at + 1):
            return at
    return authority.rfind("@")


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url` (exception messages, log lines)."""
    return _URL_IN_TEXT.sub(lambda found: redact_url(found.group(0)), text)


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its user info, and the ``Authorization: Basic`` header that carries it instead.

    urllib and http.client do not understand ``http://user:password@host`` (they take the user info
    for part of the host name); HTTP clients send it as basic authentication. The user name and
    password are percent-decoded first. No user info: the URL unchanged and no header.
    """
    scheme, sep, rest = url.partition("://")
    at = _host_at(rest) if sep else -1
    if at < 0:
        return url, {}
    user, _, password = rest[:at].partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    return f"{scheme}://{rest[at + 1 :]}", {"Authorization": f"Basic {token}"}


def private_file(path: Path) -> Path:
    """Make ``path`` readable and writable by its owner only (mode 0600), creating it empty if missing.

    For files that hold secrets (Airflow's generated admin password): created before the program
    that fills them, with the mode already set, so they are never readable by others, not even
    between their creation and a later ``chmod``. An existing file keeps its content.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is ignored for a file that already exists
    finally:
        os.close(fd)
    return path
