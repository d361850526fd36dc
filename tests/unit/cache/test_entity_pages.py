"""Paging the live run's entities without a server: the cursor, the page bound, the CLI-worded 422s."""

from __future__ import annotations

import pytest

from fti.cache.client import LiveRun
from fti.cache.entities import MAX_BUCKETS_PER_PAGE, Cursor, Pager, StaleCursor
from fti.serving.pages import docs_html, validation_detail

META = {"grain": "day", "week_start": "0", "first_period": "2024-03-02", "horizon": "7"}


def live(n_buckets: int, run: str = "run-a") -> LiveRun:
    return LiveRun.from_meta(run, {**META, "n_buckets": str(n_buckets)})


def drive(pager: Pager, buckets: dict[int, list[str]]) -> list[int]:
    """Feed ``pager`` the buckets it asks for; the buckets read."""
    read: list[int] = []
    while wanted := pager.wanted():
        read += wanted
        pager.feed([buckets[b] for b in wanted])
    return read


def test_pages_list_every_entity_once_in_bucket_order_sorted_within_a_bucket() -> None:
    buckets = {b: [f"e{b}-{i}" for i in (3, 1, 2)] for b in range(5)}
    listed, cursor = [], Cursor("run-a")
    while True:
        pager = Pager(live(5), cursor, limit=4)
        drive(pager, buckets)
        page = pager.page()
        listed += page.entities
        if page.next_cursor is None:
            break
        cursor = Cursor.decode(page.next_cursor)

    assert listed == [f"e{b}-{i}" for b in range(5) for i in (1, 2, 3)]


def test_a_rare_prefix_reads_a_bounded_number_of_buckets_and_hands_a_cursor_on() -> None:
    n = MAX_BUCKETS_PER_PAGE * 2 + 1
    buckets = {b: [f"France|{b}"] if b == n - 1 else [f"EIRE|{b}"] for b in range(n)}
    pages, found = 0, []
    cursor = Cursor("run-a")
    while True:
        pager = Pager(live(n), cursor, prefix="France", limit=10)
        read = drive(pager, buckets)
        assert len(read) <= MAX_BUCKETS_PER_PAGE
        pages, found, page = pages + 1, found + pager.page().entities, pager.page()
        if page.next_cursor is None:
            break
        cursor = Cursor.decode(page.next_cursor)

    assert (pages, found) == (3, [f"France|{n - 1}"])


def test_a_cursor_of_another_run_is_stale_and_a_forged_one_is_refused() -> None:
    token = Cursor("run-old", 3, 1).encode()

    assert Cursor.decode(token) == Cursor("run-old", 3, 1)
    with pytest.raises(StaleCursor, match="run run-a is live now"):
        Pager(live(5), Cursor.decode(token))
    with pytest.raises(ValueError, match="is not a cursor of this service"):
        Cursor.decode("not-a-cursor")


def test_validation_errors_read_like_the_clis_usage_errors() -> None:
    errors = [
        {
            "type": "int_parsing",
            "loc": ("query", "limit"),
            "msg": "Input should be a valid integer",
            "input": "x",
        },
        {
            "type": "less_than_equal",
            "loc": ("query", "limit"),
            "msg": "...",
            "input": "5000",
            "ctx": {"le": 1000},
        },
        {
            "type": "value_error",
            "loc": ("path", "period"),
            "msg": "'2011-13-01' is not a day period",
            "input": "",
        },
    ]

    assert validation_detail(errors).split("; ") == [
        "Invalid value for limit: 'x' is not a valid integer.",
        "Invalid value for limit: 5000 is not in the range x<=1000.",
        "Invalid value for period: '2011-13-01' is not a day period",
    ]


def test_the_docs_page_lists_operations_and_loads_no_script() -> None:
    openapi = {
        "info": {"title": "fti <predictions>"},
        "paths": {"/{dataset}/entities": {"get": {"description": "A page.", "parameters": [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000, "default": 50}}
        ], "responses": {"200": {}, "422": {}}}}},
    }  # fmt: skip

    page = docs_html(openapi)

    assert "GET /{dataset}/entities" in page and "integer, maximum 1000, default 50" in page
    assert "fti &lt;predictions&gt;" in page and "<script" not in page
