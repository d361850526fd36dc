"""A catalog created by the first release is brought up to date in place, on both backends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from fti.store import FeatureStore, catalog

pytestmark = pytest.mark.integration

FEATURES = "demand_features"
DAY = date(2024, 3, 1)
OLD_ROWS = pd.DataFrame({"entity": ["France|22720"], "date": [DAY], "demand": [2.0]})


def first_release_metadata() -> sa.MetaData:
    """The catalog's tables as the first release created them: no validation link, no statistics."""
    metadata = sa.MetaData()
    versions = sa.Table(
        "feature_set_versions",
        metadata,
        sa.Column("feature_set", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("schema_hash", sa.String(64), nullable=False),
        sa.Column("schema_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.UniqueConstraint("feature_set", "schema_hash", name="uq_feature_set_schema"),
    )
    sa.Table(
        "partitions",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("feature_set", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("run_id", sa.String(250)),
        sa.ForeignKeyConstraint(["feature_set", "version"], [versions.c.feature_set, versions.c.version]),
        sa.Index("ix_partitions_lookup", "feature_set", "version", "day", "committed_at"),
    )
    return metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def old_catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a first-release catalog holding one version and one committed partition."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    table = pa.Table.from_pandas(OLD_ROWS, preserve_index=False)
    folder = tmp_path / "store" / FEATURES / "v1" / f"date={DAY}"
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "part-old.parquet")
    schema_json = json.dumps([[f.name, str(f.type)] for f in table.schema], separators=(",", ":"))
    schema_hash = hashlib.sha256(schema_json.encode()).hexdigest()  # as the store names a schema
    metadata = first_release_metadata()
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    when = datetime(2024, 3, 2)
    with engine.begin() as conn:
        conn.execute(
            metadata.tables["feature_set_versions"]
            .insert()
            .values(
                feature_set=FEATURES,
                version=1,
                schema_hash=schema_hash,
                schema_json=schema_json,
                created_at=when,
            )
        )
        conn.execute(
            metadata.tables["partitions"]
            .insert()
            .values(
                feature_set=FEATURES,
                version=1,
                day=DAY,
                uri=str(folder / "part-old.parquet"),
                row_count=1,
                checksum=hashlib.sha256((folder / "part-old.parquet").read_bytes()).hexdigest(),
                committed_at=when,
                run_id="old-run",
            )
        )
    engine.dispose()
    yield url


def columns_and_tables(url: str) -> tuple[set[str], set[str]]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {c["name"] for c in inspector.get_columns("partitions")}, set(inspector.get_table_names())
    finally:
        engine.dispose()


def test_opening_an_old_catalog_adds_the_validation_and_size_columns_and_the_new_tables(
    old_catalog: str,
) -> None:
    assert {"validation_id", "size_bytes"}.isdisjoint(columns_and_tables(old_catalog)[0])

    catalog.create_engine(old_catalog).dispose()
    catalog.create_engine(old_catalog).dispose()  # a second time: nothing left to add, no error

    columns, tables = columns_and_tables(old_catalog)
    assert {"validation_id", "size_bytes"} <= columns
    assert {"partition_statistics", "validation_results"} <= tables


def test_old_partitions_stay_readable_and_new_commits_record_statistics_and_links(
    old_catalog: str, tmp_path: Path
) -> None:
    store = FeatureStore(str(tmp_path / "store"), old_catalog)
    try:
        validation_id = store.record_validation(FEATURES, "new-run", DAY, DAY, True, {"failed": 0}, {})
        later = DAY + timedelta(days=1)
        store.write(
            FEATURES, later, OLD_ROWS.assign(date=[later]), run_id="new-run", validation_id=validation_id
        )

        back = store.read(FEATURES, DAY, later)
        stats = store.statistics(FEATURES, DAY, later)
        listed = store.partitions(FEATURES)
    finally:
        store.engine.dispose()

    assert list(back["date"]) == [DAY, later]
    assert set(stats["day"]) == {later}  # the old partition was committed without statistics
    assert [(p.run_id, p.validation_id) for p in listed] == [("old-run", None), ("new-run", validation_id)]
