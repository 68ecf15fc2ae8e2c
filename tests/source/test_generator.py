"""The synthetic source reproduces the real data's properties (the rates `bi_source.generator` declares)
and is deterministic."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bi_source import generator
from bi_source.catalogue import CATEGORIES, MENU, TEST_APP
from bi_source.config import SeedConfig
from bi_source.generator import SourceNotEmpty, add_days, seed
from tests.conftest import SMALL, sqlite_url


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _query(path: Path, sql: str) -> list[Any]:
    engine = sa.create_engine(sqlite_url(path))
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(sql).all()
    engine.dispose()
    return list(rows)


def _one(path: Path, sql: str) -> Any:
    return _query(path, sql)[0][0]


def test_same_seed_gives_the_same_database_byte_for_byte(tmp_path: Path, small_source_file: Path) -> None:
    again = tmp_path / "again.db"
    seed(sa.create_engine(sqlite_url(again)), SMALL)
    assert _sha256(again) == _sha256(small_source_file)


def _rows_digest(path: Path, written_before: dict[str, int] | None = None) -> str:
    """A digest of every table's rows in the order they were written; with `written_before` (rows per
    table), of the rows written after those."""
    digest = hashlib.sha256()
    for table in ("order_items", "order_item_options", "date_dim", "restaurants"):
        after = (written_before or {}).get(table, 0)
        for row in _query(path, f"SELECT * FROM {table} WHERE rowid > {after} ORDER BY rowid"):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


# Tests, the exactness suite and the documentation quote figures of the generated data, so how the
# generator works may change, never what a seed gives: these digests are of the rows the generator made
# when it still held a whole batch in memory, before it wrote a day at a time.
SMALL_ROWS = "f74b9f0f81cddfedf3818e6002a7334a48cf9b4721892e42ec441c32184f10e9"
SMALL_PLUS_THREE_DAYS_ROWS = "e86acd049823f64b670bc14dbaebfe2b882eb3d66d118b76d4fe78fd21625893"


def test_a_seed_gives_the_rows_it_always_gave(small_source_file: Path) -> None:
    assert _rows_digest(small_source_file) == SMALL_ROWS


def test_add_days_gives_the_rows_it_always_gave(source: Path) -> None:
    tables = ("order_items", "order_item_options", "date_dim", "restaurants")
    written_before = {table: _one(source, f"SELECT count(*) FROM {table}") for table in tables}
    engine = sa.create_engine(sqlite_url(source))
    add_days(engine, 3, seed_value=1)
    engine.dispose()
    assert _rows_digest(source, written_before) == SMALL_PLUS_THREE_DAYS_ROWS


def _seeding_peak_bytes(path: Path, config: SeedConfig) -> int:
    """The most memory Python held at once while seeding `config` (numpy's arrays included)."""
    engine = sa.create_engine(sqlite_url(path))
    tracemalloc.start()
    try:
        seed(engine, config)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        engine.dispose()


def test_seeding_memory_does_not_grow_with_the_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a bounded number of orders: eight times the days, at the same daily volume, take about
    the same memory (holding the whole batch took 2.6 times as much)."""
    monkeypatch.setattr(generator, "_CHUNK_ORDERS", 200)  # two days a chunk, so a short test has many
    config = SeedConfig(restaurants=2, orders_per_day=80.0, seed=3)
    _seeding_peak_bytes(tmp_path / "warm.db", dataclasses.replace(config, days=2))  # imports and caches
    few = _seeding_peak_bytes(tmp_path / "few.db", dataclasses.replace(config, days=3))
    many = _seeding_peak_bytes(tmp_path / "many.db", dataclasses.replace(config, days=24))
    assert many < 1.25 * few


def test_another_seed_gives_other_data(tmp_path: Path, small_source_file: Path) -> None:
    other = tmp_path / "other.db"
    seed(sa.create_engine(sqlite_url(other)), SeedConfig(**{**SMALL.__dict__, "seed": SMALL.seed + 1}))
    assert _sha256(other) != _sha256(small_source_file)


def test_seeding_a_source_that_holds_data_is_refused(source_engine: sa.Engine) -> None:
    with pytest.raises(SourceNotEmpty, match="--add-days"):
        seed(source_engine, SMALL)


def test_every_restaurant_is_named_once_with_a_city_and_an_opening_date(small_source_file: Path) -> None:
    rows = _query(small_source_file, "SELECT restaurant_id, name, city, region, opened_on FROM restaurants")
    ordering = {r[0] for r in _query(small_source_file, "SELECT DISTINCT restaurant_id FROM order_items")}
    assert {row[0] for row in rows} == ordering and len(rows) == SMALL.restaurants
    assert len({row[1] for row in rows}) == len(rows)
    assert all(row[1] and row[2] and row[3] and row[4] < SMALL.start.isoformat() for row in rows)
    assert not any(row[1].startswith("Restaurant ") for row in rows)
    assert generator.restaurant_rows(sorted(ordering), SMALL.start) == generator.restaurant_rows(
        sorted(ordering, reverse=True), SMALL.start
    )


# --- the default data set: size and every listed property, at the listed rates ---------------------


def test_default_size_is_a_year_of_about_130k_orders_and_200k_lines(default_source_file: Path) -> None:
    orders, lines, first, last = _query(
        default_source_file,
        "SELECT count(DISTINCT order_id), count(*), min(date(creation_time_utc)), max(date(creation_time_utc))"
        " FROM order_items",
    )[0]
    assert 120_000 <= orders <= 140_000
    assert 185_000 <= lines <= 215_000
    assert (first, last) == ("2023-01-01", "2023-12-31")
    assert _one(default_source_file, "SELECT count(DISTINCT restaurant_id) FROM order_items") == 20


def test_the_default_source_has_exactly_the_rows_the_readme_counts(default_source_file: Path) -> None:
    # The README's benchmark counts 292,084 source rows at the default size: lines + options + calendar.
    assert _one(default_source_file, "SELECT count(DISTINCT order_id) FROM order_items") == 129_267
    assert _one(default_source_file, "SELECT count(*) FROM order_items") == 200_415
    assert _one(default_source_file, "SELECT count(*) FROM order_item_options") == 91_304
    assert 200_415 + 91_304 + _one(default_source_file, "SELECT count(*) FROM date_dim") == 292_084


def test_guests_are_about_nine_percent_of_lines(default_source_file: Path) -> None:
    share = _one(default_source_file, "SELECT avg(user_id IS NULL) FROM order_items")
    assert 0.075 <= share <= 0.105


def test_card_numbers_are_masked_and_present_exactly_on_loyalty_lines(default_source_file: Path) -> None:
    mismatched = _one(
        default_source_file,
        "SELECT count(*) FROM order_items WHERE (printed_card_number IS NULL) = (is_loyalty = 1)",
    )
    assert mismatched == 0
    cards = [
        row[0]
        for row in _query(
            default_source_file,
            "SELECT DISTINCT printed_card_number FROM order_items WHERE printed_card_number IS NOT NULL",
        )
    ]
    assert cards and all(re.fullmatch(r"\*{12}\d{4}", card) for card in cards)


def test_about_one_percent_of_option_rows_are_exact_duplicates(default_source_file: Path) -> None:
    total, distinct, most_copies = _query(
        default_source_file,
        "SELECT (SELECT count(*) FROM order_item_options),"
        " (SELECT count(*) FROM (SELECT DISTINCT * FROM order_item_options)),"
        " (SELECT max(n) FROM (SELECT count(*) n FROM order_item_options GROUP BY"
        "  order_id, lineitem_id, option_group_name, option_name, option_price, option_quantity))",
    )[0]
    assert 0.005 <= (total - distinct) / total <= 0.02
    assert most_copies >= 3  # "up to several copies"


def test_a_few_options_point_to_no_line(default_source_file: Path) -> None:
    orphans = _one(
        default_source_file,
        "SELECT count(*) FROM order_item_options o WHERE NOT EXISTS (SELECT 1 FROM order_items i"
        " WHERE i.order_id = o.order_id AND i.lineitem_id = o.lineitem_id)",
    )
    assert 3 <= orphans <= 40


def test_a_handful_of_lines_are_malformed(default_source_file: Path) -> None:
    null_ids, null_names, zero_quantity = _query(
        default_source_file,
        "SELECT sum(lineitem_id IS NULL), sum(item_name IS NULL), sum(item_quantity = 0) FROM order_items",
    )[0]
    for count in (null_ids, null_names, zero_quantity):
        assert 1 <= count <= 20


def test_test_app_lines_are_about_point_four_percent(default_source_file: Path) -> None:
    share = _one(default_source_file, f"SELECT avg(app_name = '{TEST_APP}') FROM order_items")
    assert 0.002 <= share <= 0.007
    assert "DEVELOPMENT" in TEST_APP


def test_about_eighteen_percent_of_customers_change_loyalty_status(default_source_file: Path) -> None:
    share = _one(
        default_source_file,
        "SELECT avg(changed) FROM (SELECT max(is_loyalty) <> min(is_loyalty) AS changed FROM order_items"
        " WHERE user_id IS NOT NULL AND app_name NOT LIKE '%DEVELOPMENT%' GROUP BY user_id)",
    )
    assert 0.15 <= share <= 0.21


def test_a_few_categories_are_junk(default_source_file: Path) -> None:
    values = {
        row[0]: row[1]
        for row in _query(
            default_source_file, "SELECT item_category, count(*) FROM order_items GROUP BY item_category"
        )
    }
    junk = {value: count for value, count in values.items() if value not in CATEGORIES}
    assert any(value.startswith("http") for value in junk)
    assert any(not value.strip() for value in junk)
    assert 0.001 <= sum(junk.values()) / sum(values.values()) <= 0.006
    assert len(CATEGORIES) == 15


def test_item_names_vary_in_case_and_whitespace_with_the_canonical_spelling_most_frequent(
    default_source_file: Path,
) -> None:
    rows = _query(
        default_source_file,
        "SELECT item_name, count(*) FROM order_items WHERE item_name IS NOT NULL GROUP BY item_name",
    )
    spellings: dict[str, list[tuple[int, str]]] = {}
    for name, count in rows:
        spellings.setdefault(name.strip().lower(), []).append((count, name))
    assert 140 <= len(spellings) <= 160
    varied = [group for group in spellings.values() if len(group) > 1]
    assert len(varied) >= 100
    menu_names = {item.name for item in MENU}
    for group in varied:
        _, most_frequent = max(group)
        assert most_frequent in menu_names


def test_date_dim_covers_only_2023_with_holidays(default_source_file: Path) -> None:
    first, last, days, holidays = _query(
        default_source_file, "SELECT min(date_key), max(date_key), count(*), sum(is_holiday) FROM date_dim"
    )[0]
    assert (first, last, days) == ("2023-01-01", "2023-12-31", 365)
    assert holidays >= 11
    assert _one(default_source_file, "SELECT holiday_name FROM date_dim WHERE date_key = '2023-11-23'") == (
        "Thanksgiving Day"
    )


def test_some_orders_carry_discount_options(default_source_file: Path) -> None:
    share = _one(
        default_source_file,
        "SELECT CAST((SELECT count(DISTINCT order_id) FROM order_item_options WHERE option_price < 0) AS REAL)"
        " / (SELECT count(DISTINCT order_id) FROM order_items)",
    )
    assert 0.02 <= share <= 0.06
    # A discount never exceeds the line it applies to.
    assert (
        _one(
            default_source_file,
            "SELECT count(*) FROM order_item_options o JOIN order_items i USING (order_id, lineitem_id)"
            " WHERE o.option_price < 0 AND -o.option_price > i.item_price",
        )
        == 0
    )


def test_ids_are_24_char_lowercase_hex(default_source_file: Path) -> None:
    ids = _query(
        default_source_file,
        "SELECT order_id, lineitem_id, user_id, restaurant_id FROM order_items LIMIT 5000",
    )
    for row in ids:
        for value in row:
            assert value is None or re.fullmatch(r"[0-9a-f]{24}", value)


def test_customers_repeat_realistically(default_source_file: Path) -> None:
    customers, one_timers, regulars = _query(
        default_source_file,
        "SELECT count(*), avg(n = 1), sum(n >= 12) FROM (SELECT user_id, count(DISTINCT order_id) n"
        " FROM order_items WHERE user_id IS NOT NULL AND app_name NOT LIKE '%DEVELOPMENT%' GROUP BY user_id)",
    )[0]
    assert 15_000 <= customers <= 60_000  # tens of thousands
    assert 0.2 <= one_timers <= 0.6  # a long tail of one-time customers
    assert regulars >= 1_000  # and a core of regulars


def test_orders_follow_weekday_and_holiday_seasonality(default_source_file: Path) -> None:
    per_day = dict(
        _query(
            default_source_file,
            "SELECT date(creation_time_utc), count(DISTINCT order_id) FROM order_items GROUP BY 1",
        )
    )
    by_weekday: dict[int, list[int]] = {}
    for day, count in per_day.items():
        by_weekday.setdefault(dt.date.fromisoformat(day).weekday(), []).append(count)
    mean = {weekday: sum(counts) / len(counts) for weekday, counts in by_weekday.items()}
    assert mean[5] > 1.2 * mean[0]  # Saturday busier than Monday
    thursday = mean[3]
    assert per_day["2023-11-23"] < 0.6 * thursday  # Thanksgiving
    assert per_day["2023-12-25"] < 0.6 * mean[0]  # Christmas, a Monday


# --- appending days ---------------------------------------------------------------------------------


def test_add_days_appends_after_the_last_day_with_late_arrivals(source: Path) -> None:
    before_last = _one(source, "SELECT max(creation_time_utc) FROM order_items")
    before_lines = _one(source, "SELECT count(*) FROM order_items")
    engine = sa.create_engine(sqlite_url(source))
    summary = add_days(engine, 3, seed_value=1)
    engine.dispose()
    assert summary.first_day == dt.date(2023, 1, 31) and summary.last_day == dt.date(2023, 2, 2)
    assert _one(source, "SELECT count(*) FROM order_items") == before_lines + summary.order_lines
    days = [
        row[0]
        for row in _query(
            source,
            f"SELECT DISTINCT date(creation_time_utc) FROM order_items WHERE rowid > {before_lines} ORDER BY 1",
        )
    ]
    assert days[-3:] == ["2023-01-31", "2023-02-01", "2023-02-02"]
    late = _one(
        source,
        f"SELECT count(*) FROM order_items WHERE rowid > {before_lines}"
        f" AND creation_time_utc <= '{before_last}'",
    )
    assert late == summary.late_lines > 0
    earliest_late = dt.date.fromisoformat(days[0])
    assert earliest_late >= dt.date(2023, 1, 30) - dt.timedelta(days=generator.LATE_ARRIVAL_DAYS)
    # Returning customers keep ordering: most new orders come from customers already known.
    known = _one(
        source,
        f"SELECT avg(user_id IN (SELECT user_id FROM order_items WHERE rowid <= {before_lines}))"
        f" FROM order_items WHERE rowid > {before_lines} AND user_id IS NOT NULL",
    )
    assert known > 0.5


def test_add_days_is_deterministic(source: Path, tmp_path: Path) -> None:
    twin = tmp_path / "twin.db"
    shutil.copy(source, twin)
    for path in (source, twin):
        engine = sa.create_engine(sqlite_url(path))
        add_days(engine, 2, seed_value=5)
        engine.dispose()
    assert _sha256(source) == _sha256(twin)
