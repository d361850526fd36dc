"""Tests of the JSON form and file names of the documents the store keeps (validation results)."""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import pytest

from fti.store.documents import dumps, safe_name, to_plain


def test_airflow_run_ids_become_file_names_without_separators_or_colons() -> None:
    assert safe_name("manual__2011-12-09T00:00:00+00:00") == "manual__2011-12-09T00_00_00_00_00"
    assert safe_name("../../etc/passwd") == "etc_passwd"
    with pytest.raises(ValueError, match="no character"):
        safe_name("///")


def test_numpy_values_dates_and_non_finite_numbers_become_plain_json() -> None:
    value = {
        "count": np.int64(3),
        "share": np.float32(0.5),
        "values": np.array([1, 2]),
        "day": date(2024, 3, 1),
        "at": datetime(2024, 3, 1, 4, 5),
        "mean": float("nan"),
        "kinds": ("a", "b"),
        7: None,
    }

    assert to_plain(value) == {
        "count": 3,
        "share": 0.5,
        "values": [1, 2],
        "day": "2024-03-01",
        "at": "2024-03-01T04:05:00",
        "mean": None,
        "kinds": ["a", "b"],
        "7": None,
    }
    assert json.loads(dumps(value)) == to_plain(value)


def test_a_value_without_json_form_is_refused_with_its_path() -> None:
    with pytest.raises(TypeError, match=r"document\.results\[1\] is a object"):
        to_plain({"results": [1, object()]})
