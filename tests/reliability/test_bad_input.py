"""Bad input, end to end: a source holding every bad-row kind of the quality rules (docs/metrics.md) and
worse (NULLs in every column, unmasked cards, extreme values, unicode, quotes, newlines, SQL-like and
very long text, duplicates), then a source whose shape is wrong (a table missing, empty or doubled, a
column added, dropped or retyped). Each kind has one defined outcome: kept, repaired, a recorded
duplicate, quarantined with its reason, or a one-line error naming the table and column; and the books
balance."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from bi_lake.layout import Lake
from bi_lake.manifests import Watermarks, load_manifests
from bi_lake.runs import RunReport
from bi_lake.settings import Settings
from bi_source import schema
from bi_source.config import SeedConfig
from bi_source.generator import seed
from bi_transform.silver.job import open_store
from bi_transform.silver.store import QUARANTINE_PREFIX
from tests.conftest import gold_contents, silver_contents, sqlite_url
from tests.running import bi, run_pipeline

pytestmark = [pytest.mark.spark, pytest.mark.e2e, pytest.mark.filterwarnings("ignore::ResourceWarning")]

BASE = SeedConfig(start=dt.date(2023, 3, 1), days=10, restaurants=2, orders_per_day=40.0, seed=3)
PLACED = dt.datetime(2023, 3, 5, 12, 30)
RESTAURANT = "Café «Ünïcode» 🍕 O'Neil's \"Corner\""
CARD = "4111-1111-1111-1234"
CARD_DIGITS = re.sub(r"\D", "", CARD)
LONG_NAME = "Very long item name " * 500


def line(case: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "app_name": "OrderUp iOS", "restaurant_id": RESTAURANT, "creation_time_utc": PLACED,
        "order_id": f"bad-order-{case:02d}", "user_id": f"bad-customer-{case:02d}", "printed_card_number": None,
        "is_loyalty": False, "currency": "USD", "lineitem_id": f"bad-line-{case:02d}", "item_category": "Entree",
        "item_name": "Steak Frites", "item_price": Decimal("12.50"), "item_quantity": 1,
    }  # fmt: skip
    return row | changes


def option(case: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "order_id": f"bad-order-{case:02d}", "lineitem_id": f"bad-line-{case:02d}", "option_group_name": "Size",
        "option_name": "Large", "option_price": Decimal("1.25"), "option_quantity": 1,
    }  # fmt: skip
    return row | changes


@dataclass(frozen=True)
class Case:
    kind: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    options: list[dict[str, Any]] = field(default_factory=list)
    # The reasons its rows are quarantined with; none: its line is kept (and its options, once each).
    reasons: tuple[str, ...] = ()
    # For a kept line: what Silver must hold for it (its fct_order_line row).
    holds: Callable[[dict[str, Any]], bool] | None = None


CASES = [
    # The quarantine rules (docs/metrics.md, *Quality rules*), and NULL in every column the source
    # declares NOT NULL.
    Case("missing order_id", [line(1, order_id=None)], reasons=("missing_key",)),
    Case("missing lineitem_id", [line(2, lineitem_id=None)], reasons=("missing_key",)),
    Case("missing restaurant_id", [line(3, restaurant_id=None)], reasons=("missing_key",)),
    Case("blank restaurant_id", [line(4, restaurant_id="   ")], reasons=("missing_key",)),
    Case("missing creation_time_utc", [line(5, creation_time_utc=None)], reasons=("missing_key",)),
    Case("NULL item_price", [line(6, item_price=None)], reasons=("missing_value",)),
    Case("NULL is_loyalty", [line(7, is_loyalty=None)], reasons=("missing_value",)),
    Case("NULL app_name", [line(8, app_name=None)], reasons=("missing_value",)),
    Case("NULL item_quantity", [line(9, item_quantity=None)], reasons=("invalid_quantity",)),
    Case("zero quantity", [line(10, item_quantity=0)], reasons=("invalid_quantity",)),
    Case("negative quantity", [line(11, item_quantity=-3)], reasons=("invalid_quantity",)),
    Case("negative price", [line(12, item_price=Decimal("-0.01"))], reasons=("negative_price",)),
    Case(
        "future timestamp",
        [line(13, creation_time_utc=dt.datetime(2099, 1, 1))],
        reasons=("future_timestamp",),
    ),
    Case("other currency", [line(14, currency="EUR")], reasons=("unsupported_currency",)),
    Case("NULL currency", [line(15, currency=None)], reasons=("unsupported_currency",)),
    Case("test app", [line(16, app_name="OrderUp - development")], reasons=("test_data",)),
    Case(
        "unmasked card on a quarantined line",
        [line(17, item_quantity=0, is_loyalty=True, printed_card_number=CARD)],
        reasons=("invalid_quantity",),
    ),
    Case("orphan option", options=[option(18)], reasons=("orphan_option",)),
    Case(
        "option of a quarantined line",
        [line(19, item_quantity=0)],
        [option(19)],
        reasons=("invalid_quantity", "orphan_option"),
    ),
    Case("NULL option_price", [line(20)], [option(20, option_price=None)], reasons=("missing_value",)),
    Case("NULL option_quantity", [line(21)], [option(21, option_quantity=None)], reasons=("missing_value",)),
    # Kept as they are: NULL where NULL means something, and text no code may choke on.
    Case("NULL user_id (guest)", [line(22, user_id=None)], holds=lambda r: r["user_id"] is None),
    Case("loyalty line without a card", [line(23, is_loyalty=True)], holds=lambda r: r["is_loyalty"]),
    Case(
        "NULL option names",
        [line(24)],
        [option(24, option_group_name=None, option_name=None)],
        holds=lambda r: r["option_amount"] == Decimal("1.25"),
    ),
    Case("lower-case currency", [line(25, currency="usd")]),
    Case(
        "unicode and emoji",
        [line(26, item_name="Crème brûlée 🍮 größe")],
        holds=lambda r: r["item_name_source"] == "Crème brûlée 🍮 größe",
    ),
    Case(
        "quotes and backslashes",
        [line(27, item_name='Chef\'s "Special" \\ plate')],
        holds=lambda r: r["item_name_source"] == 'Chef\'s "Special" \\ plate',
    ),
    Case(
        "newlines and tabs",
        [line(28, item_name="Two\nlines\tand a tab")],
        holds=lambda r: r["item_name_source"] == "Two\nlines\tand a tab",
    ),
    Case(
        "SQL-like text",
        [line(29, item_name="x'); DROP TABLE order_items; --", user_id="u' OR '1'='1")],
        holds=lambda r: r["user_id"] == "u' OR '1'='1",
    ),
    Case(
        "very long text",
        [line(30, item_name=LONG_NAME)],
        holds=lambda r: r["item_name_source"] == LONG_NAME.strip(),
    ),
    Case(
        "highest price",
        [line(31, item_price=Decimal("99999999.99"))],
        holds=lambda r: r["line_net"] == Decimal("99999999.99"),
    ),
    Case(
        "quantity in the millions",
        [line(32, item_quantity=5_000_000, item_price=Decimal("99999999.99"))],
        [option(32, option_price=Decimal("99999999.99"), option_quantity=1_000_000)],
        holds=lambda r: r["line_net"] == Decimal("99999999.99") * 1_000_001,
    ),
    Case(
        "a discount",
        [line(33)],
        [option(33, option_group_name="Promo", option_name="$2 off", option_price=Decimal("-2.00"))],
        holds=lambda r: r["line_discount"] == Decimal("2.00") and r["line_net"] == Decimal("10.50"),
    ),
    # Repaired and kept.
    Case(
        "unmasked card",
        [line(34, is_loyalty=True, printed_card_number=CARD)],
        holds=lambda r: r["printed_card_number"] == "************1234",
    ),
    Case(
        "NULL item_category", [line(35, item_category=None)], holds=lambda r: r["item_category"] == "Unknown"
    ),
    Case(
        "URL as item_category",
        [line(36, item_category="https://admin.example.com/menu?id=3")],
        holds=lambda r: r["item_category"] == "Unknown",
    ),
    Case("NULL item_name", [line(37, item_name=None)], holds=lambda r: r["item_name_source"] == "Unknown"),
    Case(
        "item_name in another case, padded",
        [line(38, item_name="  STEAK frites ")],
        holds=lambda r: r["item_key"] == "steak frites",
    ),
    # Duplicates.
    Case("a line three times", [line(39)] * 3, holds=lambda r: r["item_price"] == Decimal("12.50")),
    Case(
        "an option four times",
        [line(40)],
        [option(40)] * 4,
        holds=lambda r: r["option_amount"] == Decimal("1.25"),
    ),
]

LINE_DUPLICATES, OPTION_DUPLICATES = 2, 3


def _relaxed_tables(engine: sa.Engine) -> None:
    """The source tables without NOT NULL: real exports carry NULLs where the schema says none."""
    metadata = sa.MetaData()
    for table in schema.TABLES:
        copy = table.to_metadata(metadata)
        for column in copy.columns:
            column.nullable = True
    metadata.create_all(engine)


@pytest.fixture(scope="module")
def bad_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad-input") / "source.db"
    engine = sa.create_engine(sqlite_url(path))
    _relaxed_tables(engine)
    seed(engine, BASE)
    with engine.begin() as connection:
        connection.execute(schema.order_items.insert(), [row for case in CASES for row in case.lines])
        connection.execute(
            schema.order_item_options.insert(), [row for case in CASES for row in case.options]
        )
    engine.dispose()
    return path


def _copy(source: Path, folder: Path) -> Settings:
    folder.mkdir()
    shutil.copy(source, folder / "source.db")
    return Settings(source_url=sqlite_url(folder / "source.db"), lake=str(folder / "lake"))


def _run(settings: Settings) -> RunReport:
    report = run_pipeline(settings)
    assert report.status == "succeeded", report.error
    return report


@dataclass(frozen=True)
class BadLake:
    settings: Settings
    report: RunReport
    lines: dict[str, dict[str, Any]]
    line_rows: list[dict[str, Any]]
    options: dict[str, list[dict[str, Any]]]
    quarantined: list[dict[str, Any]]


def _rows(files: list[str]) -> list[dict[str, Any]]:
    relation = duckdb.read_parquet(files, hive_partitioning=False, union_by_name=True)
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


@pytest.fixture(scope="module")
def bad_lake(bad_source: Path, tmp_path_factory: pytest.TempPathFactory, spark: object) -> BadLake:
    settings = _copy(bad_source, tmp_path_factory.mktemp("bad-lake") / "run")
    report = _run(settings)
    store = open_store(settings)
    state = store.state()

    def table(name: str) -> list[dict[str, Any]]:
        return _rows(store.files(state, name))

    line_rows = table("fct_order_line")
    options: dict[str, list[dict[str, Any]]] = {}
    for row in table("fct_order_option"):
        options.setdefault(row["lineitem_id"], []).append(row)
    quarantine = Path(settings.lake) / "silver" / QUARANTINE_PREFIX
    return BadLake(
        settings=settings,
        report=report,
        lines={row["lineitem_id"]: row for row in line_rows},
        line_rows=line_rows,
        options=options,
        quarantined=_rows([str(f) for f in quarantine.glob("*/run_id=*/*.parquet")]),
    )


def _quarantine_of(bad_lake: BadLake, case: Case) -> list[dict[str, Any]]:
    ids = {(row.get("order_id"), row.get("lineitem_id")) for row in case.lines + case.options}
    found = []
    for row in bad_lake.quarantined:
        for order_id, lineitem_id in ids:
            if (order_id is not None and row["order_id"] == order_id) or (
                lineitem_id is not None and row["lineitem_id"] == lineitem_id
            ):
                found.append(row)
                break
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.kind.replace(" ", "-") for c in CASES])
def test_each_kind_has_its_defined_outcome(bad_lake: BadLake, case: Case) -> None:
    quarantined = _quarantine_of(bad_lake, case)
    assert {row["_reason"] for row in quarantined} == set(case.reasons), quarantined
    line_ids = {r["lineitem_id"] for r in case.lines}
    kept = [row for row in bad_lake.line_rows if row["lineitem_id"] in line_ids]
    if not case.lines or any(row["_source_table"] == "order_items" for row in quarantined):
        assert not kept, kept
        return
    assert len(kept) == 1, kept
    if case.holds is not None:
        assert case.holds(kept[0]), kept[0]
    if case.options and not case.reasons:
        assert len(bad_lake.options[kept[0]["lineitem_id"]]) == 1


def test_duplicates_and_repairs_are_counted_and_every_row_accounted_for(
    bad_lake: BadLake, bad_source: Path
) -> None:
    silver = next(job for job in bad_lake.report.jobs if job.job == "silver")
    counts = {table.table: table for table in silver.tables}
    engine = sa.create_engine(sqlite_url(bad_source))
    with engine.connect() as connection:
        for table in ("order_items", "order_item_options"):
            in_source = connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            entry = counts[table]
            assert entry.rows_in == in_source
            assert entry.rows_in == entry.rows_out + entry.duplicates + entry.quarantined, entry
    engine.dispose()
    reconciliation = silver.details["reconciliation"]
    expected_reasons = {reason for case in CASES for reason in case.reasons}
    seen = set(reconciliation["order_items"]["quarantined_by_reason"]) | set(
        reconciliation["order_item_options"]["quarantined_by_reason"]
    )
    assert expected_reasons <= seen
    assert counts["order_items"].duplicates >= LINE_DUPLICATES
    assert counts["order_item_options"].duplicates >= OPTION_DUPLICATES
    assert {"card_masked", "category_unknown", "item_name_missing", "item_name_variant"} <= set(
        reconciliation["order_items"]["repairs"]
    )


def _strings(path: Path) -> list[str]:
    table = pq.read_table(path)
    return [value for column in table.columns if str(column.type) in ("string", "large_string")
            for value in column.to_pylist() if value is not None]  # fmt: skip


def test_no_full_card_number_reaches_silver_or_gold(bad_lake: BadLake) -> None:
    lake = Path(bad_lake.settings.lake)
    scanned = 0
    for layer in ("silver", "gold"):
        for path in (lake / layer).rglob("*.parquet"):
            for value in _strings(path):
                scanned += 1
                assert CARD_DIGITS not in re.sub(r"\D", "", value), (path, value)
    assert scanned > 1000
    # Bronze keeps the source's rows as they were: the repair happens at the Silver boundary.
    assert any(CARD in value for path in (lake / "bronze").rglob("*.parquet") for value in _strings(path))


def test_extreme_and_unusual_values_reach_gold_exact_to_the_cent(bad_lake: BadLake) -> None:
    kept = [r for r in bad_lake.lines.values() if r["restaurant_id"] == RESTAURANT]
    expected_net = sum((r["line_net"] for r in kept), Decimal(0))
    expected_items = sum(r["item_quantity"] for r in kept)
    answer = bi(
        "query", "net_sales,items_sold,orders", "--where", f"restaurant_id={RESTAURANT}", "--format", "json",
        cwd=Path(bad_lake.settings.lake).parent, env={"BI_LAKE": bad_lake.settings.lake},
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    [row] = json.loads(answer.stdout, parse_float=Decimal)
    assert Decimal(str(row["net_sales"])) == expected_net > Decimal("99999999.99") * 1_000_000
    assert row["items_sold"] == expected_items > 5_000_000
    assert row["orders"] == len({r["order_id"] for r in kept})


# --- the source's shape ---------------------------------------------------------------------------


def _bi(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"BI_SOURCE_URL": settings.source_url, "BI_LAKE": settings.lake}
    return bi(*args, cwd=Path(settings.lake).parent, env=env)


@pytest.fixture
def small_lake(small_source_file: Path, tmp_path: Path) -> Settings:
    """A copy of the small source, already ingested once."""
    settings = _copy(small_source_file, tmp_path / "shape")
    assert _bi(settings, "run", "--only", "ingest").returncode == 0
    return settings


SHAPE_CHANGES = {
    "a missing table": (["DROP TABLE date_dim"], ["source table date_dim does not exist"]),
    "a dropped column": (
        ["ALTER TABLE order_items DROP COLUMN printed_card_number"],
        ["order_items: column 'printed_card_number' was dropped from the source"],
    ),
    "a retyped column": (
        [
            "ALTER TABLE date_dim RENAME COLUMN week TO week_old",
            "ALTER TABLE date_dim ADD COLUMN week VARCHAR(8)",
            "UPDATE date_dim SET week = CAST(week_old AS TEXT)",
            "ALTER TABLE date_dim DROP COLUMN week_old",
        ],
        ["date_dim: column 'week' changed type (int32 -> string)"],
    ),
}


@pytest.mark.parametrize("change", SHAPE_CHANGES, ids=[c.replace(" ", "-") for c in SHAPE_CHANGES])
def test_a_source_of_the_wrong_shape_is_one_line_naming_table_and_column(
    small_lake: Settings, change: str
) -> None:
    statements, fragments = SHAPE_CHANGES[change]
    bronze = Lake.from_settings(small_lake).bronze
    watermarks = Watermarks.load(bronze).tables
    manifests = len(load_manifests(bronze))
    engine = sa.create_engine(small_lake.source_url)
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    engine.dispose()
    result = _bi(small_lake, "run")
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("bi: error: ") and all(f in last for f in fragments), result.stderr
    # Nothing half-done: no new Bronze run, the watermarks where they were.
    assert len(load_manifests(bronze)) == manifests
    assert Watermarks.load(bronze).tables == watermarks


def test_an_added_column_is_kept_in_bronze_and_reported(small_lake: Settings) -> None:
    engine = sa.create_engine(small_lake.source_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE order_items ADD COLUMN promo_code VARCHAR(20)")
        connection.exec_driver_sql("UPDATE order_items SET promo_code = 'SPRING' WHERE rowid % 50 = 0")
    engine.dispose()
    result = _bi(small_lake, "run", "--only", "ingest")
    assert result.returncode == 0, result.stderr
    [latest, *_] = sorted(
        load_manifests(Lake.from_settings(small_lake).bronze), key=lambda m: m.run_id, reverse=True
    )
    entry = next(t for t in latest.tables if t.table == "order_items")
    assert entry.schema_drift.added == ["promo_code"]
    bronze = Lake.from_settings(small_lake).bronze
    promo_codes = {
        value
        for f in entry.files
        for value in pq.read_table(bronze.uri_of(f.key)).column("promo_code").to_pylist()
    }
    assert promo_codes == {"SPRING", None}


def test_empty_and_doubled_tables(small_source_file: Path, tmp_path: Path) -> None:
    """A source whose option and calendar tables are empty runs through, and the same source with every
    row of every table twice gives the same Silver and Gold, every second copy a recorded duplicate."""
    once = _copy(small_source_file, tmp_path / "once")
    engine = sa.create_engine(once.source_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM order_item_options")
        connection.exec_driver_sql("DELETE FROM date_dim")
        lines = connection.exec_driver_sql("SELECT count(*) FROM order_items").scalar_one()
        keyless = connection.exec_driver_sql(
            "SELECT count(*) FROM order_items WHERE trim(coalesce(order_id, '')) = ''"
            " OR trim(coalesce(lineitem_id, '')) = ''"
        ).scalar_one()
    engine.dispose()
    twice = _copy(Path(once.source_url.removeprefix("sqlite:///")), tmp_path / "twice")
    engine = sa.create_engine(twice.source_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO order_items SELECT * FROM order_items")
    engine.dispose()

    first, second = _run(once), _run(twice)
    assert silver_contents(once) == silver_contents(twice)
    assert gold_contents(once) == gold_contents(twice)
    silver_once = next(
        t for j in first.jobs if j.job == "silver" for t in j.tables if t.table == "order_items"
    )
    silver_twice = next(
        t for j in second.jobs if j.job == "silver" for t in j.tables if t.table == "order_items"
    )
    assert silver_twice.rows_in == 2 * lines == 2 * silver_once.rows_in
    assert silver_twice.rows_out == silver_once.rows_out
    # Every second copy is a duplicate, but for lines without a key: those cannot be matched to each
    # other, so each copy is quarantined on its own (missing_key).
    assert silver_twice.duplicates + silver_twice.quarantined == lines + silver_once.quarantined
    assert silver_twice.quarantined - silver_once.quarantined == keyless
    # The calendar came from the generated holidays, as for order dates the source calendar misses.
    assert silver_contents(once, ("dim_date",))["dim_date"]
