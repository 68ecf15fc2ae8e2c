"""Every metric, for a grid of dimensions, filters and date ranges, equals the definitions.

The lake is built by the real pipeline (SQLite -> Bronze -> Silver -> Gold with Spark). Each answer of
the metrics engine (compiled over Gold) is compared with the same numbers computed straight from the
Silver tables by the plain SQL below, written by hand from the definitions (docs/metrics.md), not by
the compiler: order-level questions count fct_order rows, line-level questions count distinct orders
among fct_order_line rows, and customer attributes are recomputed from fct_order here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from bi_contracts.gold import DATASETS
from bi_contracts.published import gold_tables, published
from bi_lake.settings import Settings
from bi_metrics.catalogue import DIMENSIONS_BY_NAME, METRICS, METRICS_BY_NAME
from bi_metrics.duckdb_extensions import connect
from bi_metrics.engine import MetricsEngine
from bi_metrics.question import Question, parse_filters
from bi_source.generator import add_days
from bi_transform.silver.job import open_store
from tests.conftest import GOLD_CONFIG, gold_contents
from tests.lakes import copy_lake, files_by_month, unreferenced_files
from tests.running import run_pipeline

pytestmark = pytest.mark.spark


def _run(settings: Settings, **options: Any) -> Any:
    report = run_pipeline(settings, **options)
    assert report.status == "succeeded", report.error
    return report


@pytest.fixture(scope="module")
def metrics(gold_lake: Settings) -> Iterator[MetricsEngine]:
    engine = MetricsEngine.open(gold_lake)
    yield engine
    engine.close()


# --- the reference: plain SQL over Silver --------------------------------------------------------------

REFERENCE_CUSTOMERS = """
CREATE VIEW ref_customers AS
WITH s AS (SELECT max(order_date) AS s FROM s_orders),
c AS (
    SELECT user_id, s.s, min(order_date) AS first_date, max(order_date) AS last_date,
           sum(net_amount) AS clv,
           count(*) FILTER (WHERE order_date >= s.s - 364) AS frequency,
           sum(net_amount) FILTER (WHERE order_date >= s.s - 364) AS monetary,
           arg_max(is_loyalty, (order_time_utc, order_id)) AS loyalty_member
    FROM s_orders, s WHERE user_id IS NOT NULL GROUP BY user_id, s.s
),
ranked AS (SELECT *, percent_rank() OVER (ORDER BY clv) AS pr FROM c),
rfm AS (
    SELECT user_id,
           ntile(5) OVER (ORDER BY s - last_date DESC, user_id) AS r_score,
           ntile(5) OVER (ORDER BY frequency, user_id) AS f_score,
           ntile(5) OVER (ORDER BY monetary, user_id) AS m_score
    FROM c WHERE frequency > 0
)
SELECT ranked.user_id, s AS snapshot_date, clv,
       CASE WHEN pr >= 0.8 THEN 'High' WHEN pr >= 0.2 THEN 'Medium' ELSE 'Low' END AS clv_tier,
       r_score, f_score, m_score,
       CASE WHEN r_score IS NULL THEN 'Inactive'
            WHEN first_date >= s - 29 THEN 'New'
            WHEN s - last_date > 90 THEN 'Lost'
            WHEN s - last_date > 45 THEN 'Churn Risk'
            WHEN r_score >= 4 AND f_score >= 4 AND m_score >= 4 THEN 'VIP'
            ELSE 'Regular' END AS rfm_segment,
       CASE WHEN s - last_date <= 45 THEN 'active' WHEN s - last_date <= 90 THEN 'at_risk'
            ELSE 'churned' END AS churn_risk,
       loyalty_member
FROM ranked LEFT JOIN rfm USING (user_id)
"""

REFERENCE_DIMENSIONS = {
    "order_date": "b.order_date",
    "order_week": "CAST(date_trunc('week', b.order_date) AS DATE)",
    "order_month": "CAST(date_trunc('month', b.order_date) AS DATE)",
    "year": "d.year",
    "day_of_week": "d.day_of_week",
    "is_weekend": "d.is_weekend",
    "is_holiday": "d.is_holiday",
    "holiday_name": "d.holiday_name",
    "restaurant_id": "b.restaurant_id",
    # The source's name, else 'Restaurant ' and the id's first 6 characters.
    "restaurant_name": "coalesce(r.name, 'Restaurant ' || left(b.restaurant_id, 6))",
    "city": "r.city",
    "region": "r.region",
    "app_name": "b.app_name",
    "is_loyalty": "b.is_loyalty",
    "is_discounted": "b.is_discounted",
    "item_category": "b.item_category",
    "item_name": "i.item_name",
    "clv_tier": "c.clv_tier",
    "rfm_segment": "c.rfm_segment",
    "r_score": "c.r_score",
    "f_score": "c.f_score",
    "m_score": "c.m_score",
    "churn_risk": "c.churn_risk",
    "loyalty_member": "c.loyalty_member",
}

# Orders as fct_order has them, one row each.
ORDER_MEASURES = """
    sum(b.net_amount) AS net_sales, sum(b.gross_amount) AS gross_sales,
    sum(b.discount_amount) AS discount_amount, sum(b.items) AS items_sold,
    count(*) AS orders, count(*) FILTER (WHERE b.discount_amount > 0) AS discounted_orders,
    count(*) FILTER (WHERE b.is_loyalty) AS loyalty_orders,
    count(DISTINCT b.user_id) AS customers,
    sum(b.net_amount) FILTER (WHERE b.user_id IS NOT NULL) AS customer_net_sales,
    count(*) FILTER (WHERE b.user_id IS NOT NULL) AS customer_orders
"""
ORDER_BASE = "(SELECT *, discount_amount > 0 AS is_discounted FROM s_orders) b"
ORDER_COUNT = "count(*)"

# Lines with their order's restaurant, app, loyalty and customer: orders having such a line.
LINE_MEASURES = """
    sum(b.line_net) AS net_sales, sum(b.line_gross) AS gross_sales,
    sum(b.line_discount) AS discount_amount, sum(b.item_quantity) AS items_sold,
    count(DISTINCT b.order_id) AS orders,
    count(DISTINCT b.order_id) FILTER (WHERE b.line_discount > 0) AS discounted_orders,
    count(DISTINCT b.order_id) FILTER (WHERE b.is_loyalty) AS loyalty_orders,
    count(DISTINCT b.user_id) AS customers,
    sum(b.line_net) FILTER (WHERE b.user_id IS NOT NULL) AS customer_net_sales,
    count(DISTINCT b.order_id) FILTER (WHERE b.user_id IS NOT NULL) AS customer_orders
"""
LINE_BASE = """(
    SELECT l.order_id, l.item_key, l.item_category, l.line_net, l.line_gross, l.line_discount,
           l.item_quantity, o.order_date, o.restaurant_id, o.app_name, o.is_loyalty, o.user_id,
           o.discount_amount > 0 AS is_discounted
    FROM s_lines l JOIN s_orders o USING (order_id)
) b"""
LINE_COUNT = "count(DISTINCT b.order_id)"


def _silver_files(settings: Settings, table: str) -> list[str]:
    store = open_store(settings)
    return store.files(store.state(), table)


@pytest.fixture(scope="module")
def silver(gold_lake: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    for view, table in [("s_orders", "fct_order"), ("s_lines", "fct_order_line"), ("s_dim_date", "dim_date"),
                        ("s_dim_item", "dim_item"), ("s_dim_restaurant", "dim_restaurant")]:  # fmt: skip
        files = _silver_files(gold_lake, table)
        connection.execute(
            f"CREATE VIEW {view} AS SELECT * FROM read_parquet({files!r}, hive_partitioning = true)"
        )
    connection.execute(REFERENCE_CUSTOMERS)
    yield connection
    connection.close()


def reference(silver: duckdb.DuckDBPyConnection, question: Question) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Measures per answer row, straight from Silver."""
    asked = [*question.by, *question.filters]
    line_level = any(DIMENSIONS_BY_NAME[name].level == "line" for name in asked)
    base, measures, count = (
        (LINE_BASE, LINE_MEASURES, LINE_COUNT) if line_level else (ORDER_BASE, ORDER_MEASURES, ORDER_COUNT)
    )
    joins = (
        f"FROM {base} LEFT JOIN s_dim_date d ON d.date_key = b.order_date "
        "LEFT JOIN ref_customers c ON c.user_id = b.user_id "
        "LEFT JOIN s_dim_restaurant r ON r.restaurant_id = b.restaurant_id "
        + ("LEFT JOIN s_dim_item i ON i.item_key = b.item_key" if line_level else "")
    )
    conditions: list[str] = ["TRUE"]
    parameters: list[object] = []
    if question.start:
        conditions.append("b.order_date >= ?")
        parameters.append(question.start)
    if question.end:
        conditions.append("b.order_date <= ?")
        parameters.append(question.end)
    for name, values in question.where:
        conditions.append(f"{REFERENCE_DIMENSIONS[name]} IN ({', '.join(['?'] * len(values))})")
        parameters.extend(values)
    dims = [f"{REFERENCE_DIMENSIONS[name]} AS {name}" for name in question.by]
    group = f"GROUP BY {', '.join(question.by)}" if question.by else ""
    where = " AND ".join(conditions)
    totals = silver.execute(
        f"SELECT {', '.join([*dims, measures])} {joins} WHERE {where} {'GROUP BY ALL' if dims else ''}",
        parameters,
    ).fetchall()
    repeats = silver.execute(
        f"SELECT {', '.join([*question.by, 'count(*) FILTER (WHERE n >= 2)'])} FROM ("
        f"SELECT {', '.join([*dims, 'b.user_id', f'{count} AS n'])} {joins} "
        f"WHERE {where} AND b.user_id IS NOT NULL GROUP BY ALL) {group}",
        parameters,
    ).fetchall()
    names = [
        "net_sales", "gross_sales", "discount_amount", "items_sold", "orders", "discounted_orders",
        "loyalty_orders", "customers", "customer_net_sales", "customer_orders",
    ]  # fmt: skip
    width = len(question.by)
    result = {row[:width]: dict(zip(names, row[width:], strict=True)) for row in totals}
    repeat_counts = {row[:width]: row[width] for row in repeats}
    for key, row in result.items():
        row["repeat_customers"] = repeat_counts.get(key, 0)
        for name in ("net_sales", "gross_sales", "discount_amount", "items_sold", "customer_net_sales"):
            row[name] = row[name] or 0
    return result


def expected_value(metric_name: str, measures: dict[str, Any]) -> Any:
    metric = METRICS_BY_NAME[metric_name]
    numerator = measures[metric.numerator]
    if metric.denominator is None:
        return numerator
    denominator = measures[metric.denominator]
    return None if denominator == 0 else float(numerator) / float(denominator)


def assert_equal(metric_name: str, actual: Any, expected: Any, where: str) -> None:
    if METRICS_BY_NAME[metric_name].aggregation == "ratio" and expected is not None:
        assert actual == pytest.approx(expected, rel=1e-12), where
    else:
        assert actual == expected, where
        if isinstance(expected, Decimal):
            assert isinstance(actual, Decimal), f"{where}: money must stay decimal"


# --- the grid -----------------------------------------------------------------------------------------

SLICES: list[tuple[str, tuple[str, ...]]] = [
    ("", ()),
    ("order_date", ()),
    ("order_week", ()),
    ("order_month,restaurant_id", ()),
    ("year,day_of_week", ()),
    ("is_weekend,is_holiday,holiday_name", ()),
    ("app_name,is_loyalty", ()),
    ("is_discounted,order_month", ()),
    ("is_discounted,item_category", ()),
    ("item_category", ()),
    ("item_name", ()),
    ("order_month,item_category", ()),
    ("restaurant_id,item_category,item_name", ()),
    ("rfm_segment", ()),
    ("clv_tier,order_month", ()),
    ("churn_risk,loyalty_member", ()),
    ("r_score,f_score", ()),
    ("rfm_segment,item_category", ()),
    ("order_month", ("restaurant_id=R1", "restaurant_id=R2")),
    ("restaurant_name,city,region", ()),
    ("restaurant_name,item_category", ()),
    ("order_week", ("restaurant_name=N1", "restaurant_name=N2")),
    ("region", ("city=C1",)),
    ("restaurant_id", ("item_category=Entree",)),
    ("", ("item_category=Entree", "item_category=Dessert")),
    ("order_week", ("is_loyalty=true", "rfm_segment=Regular")),
    ("item_category", ("clv_tier=High",)),
]
RANGES = [
    (None, None),
    (dt.date(2023, 1, 25), dt.date(2023, 2, 10)),  # across a month boundary
    (dt.date(2023, 3, 15), dt.date(2023, 3, 15)),  # one day
    (dt.date(2022, 1, 1), dt.date(2022, 12, 31)),  # before any order
]


def _restaurants(silver: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        row[0] for row in silver.execute("SELECT DISTINCT restaurant_id FROM s_orders ORDER BY 1").fetchall()
    ]


def _scalar(silver: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = silver.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


def test_every_metric_equals_the_definition_for_every_slice_and_range(
    metrics: MetricsEngine, silver: duckdb.DuckDBPyConnection
) -> None:
    restaurants = _restaurants(silver)
    names, cities = zip(
        *silver.execute(
            "SELECT name, city FROM s_dim_restaurant WHERE restaurant_id IN (?, ?) ORDER BY restaurant_id",
            restaurants[:2],
        ).fetchall(),
        strict=True,
    )
    # Filter values the data has, named in SLICES by placeholders.
    placeholders = {
        "R1": restaurants[0],
        "R2": restaurants[1],
        "N1": names[0],
        "N2": names[1],
        "C1": cities[0],
    }
    used_datasets: set[str] = set()
    compared = 0
    for by, where in SLICES:
        filters = tuple(
            f"{name}={placeholders.get(value, value)}" for name, _, value in (f.partition("=") for f in where)
        )
        for start, end in RANGES:
            shape = Question(metrics=("orders",), by=tuple(b for b in by.split(",") if b),
                             where=parse_filters(filters), start=start, end=end)  # fmt: skip
            expected = reference(silver, shape)
            for metric in METRICS:
                question = Question(
                    metrics=(metric.name,), by=shape.by, where=shape.where, start=start, end=end
                )
                answer = metrics.ask(question)
                used_datasets.add(answer.plan.dataset)
                label = (
                    f"{metric.name} by [{by}] where {filters} in {start}..{end} from {answer.plan.dataset}"
                )
                actual = {row[: len(shape.by)]: row[-1] for row in answer.rows}
                assert set(actual) == set(expected), label
                for key, value in actual.items():
                    assert_equal(
                        metric.name, value, expected_value(metric.name, expected[key]), f"{label} at {key}"
                    )
                    compared += 1
    assert used_datasets == {d.name for d in DATASETS if d.role == "aggregate"}
    assert compared > 10_000


def test_distinct_counts_are_not_added_up_and_ratios_are_recomputed(
    metrics: MetricsEngine, silver: duckdb.DuckDBPyConnection
) -> None:
    def ask(names: str, by: str = "") -> list[tuple[Any, ...]]:
        return metrics.ask(
            Question(metrics=tuple(names.split(",")), by=tuple(b for b in by.split(",") if b))
        ).rows

    customers = ask("customers")[0][0]
    assert customers == _scalar(silver, "SELECT count(DISTINCT user_id) FROM s_orders")
    # Customers come back across months and restaurants: adding the slices would count them again.
    assert sum(row[1] for row in ask("customers", "order_month")) > customers
    assert sum(row[1] for row in ask("customers", "restaurant_id")) > customers
    orders = ask("orders")[0][0]
    assert sum(row[1] for row in ask("orders", "item_category")) > orders
    assert sum(row[1] for row in ask("orders", "order_date")) == orders  # an order has one date
    net_sales, orders_total, aov = ask("net_sales,orders,aov")[0]
    assert aov == pytest.approx(float(net_sales) / orders_total, rel=1e-12)
    daily = ask("aov", "order_date")
    assert aov != pytest.approx(sum(row[1] for row in daily) / len(daily), rel=1e-9)


def test_a_period_taking_in_every_order_is_answered_as_the_whole_history(
    metrics: MetricsEngine, silver: duckdb.DuckDBPyConnection
) -> None:
    first, last = silver.execute("SELECT min(order_date), max(order_date) FROM s_orders").fetchone() or ()
    whole = Question(metrics=("customers", "repeat_rate", "net_sales"), by=("rfm_segment",))
    spanning = replace(whole, start=first - dt.timedelta(days=30), end=last)
    narrower = replace(whole, start=first + dt.timedelta(days=1), end=last)
    answers = [metrics.ask(question) for question in (whole, spanning, narrower)]
    assert [answer.plan.dataset for answer in answers] == [
        "agg_customer_lifetime",
        "agg_customer_lifetime",
        "agg_customer_daily",
    ]
    assert answers[1].rows == answers[0].rows
    assert answers[1].question == spanning
    assert answers[2].rows != answers[0].rows


def test_the_customer_snapshot_equals_the_definitions_at_s(
    metrics: MetricsEngine, silver: duckdb.DuckDBPyConnection, gold_lake: Settings
) -> None:
    columns = "user_id, snapshot_date, clv, clv_tier, r_score, f_score, m_score, rfm_segment, churn_risk, loyalty_member"
    gold = metrics.query(f"SELECT {columns} FROM dim_customer_snapshot ORDER BY user_id")
    expected = silver.execute(f"SELECT {columns} FROM ref_customers ORDER BY user_id").fetchall()
    assert gold == expected
    s = _scalar(silver, "SELECT max(order_date) FROM s_orders")
    state = published(gold_tables(gold_lake))
    assert state.snapshot_date == s == dt.date(2023, 4, 10)
    segments = {row[0] for row in metrics.query("SELECT DISTINCT rfm_segment FROM dim_customer_snapshot")}
    assert {"New", "Lost", "Churn Risk", "VIP", "Regular"} <= segments


def test_gold_rebuilds_only_the_changed_months_and_equals_a_full_rebuild(
    gold_lake: Settings, tmp_path: Path
) -> None:
    settings = copy_lake(gold_lake, tmp_path)
    gold = gold_tables(settings)
    before = published(gold)
    contents_before = gold_contents(settings)
    assert _read_from_outside(settings) == _read_by_the_product(settings)

    engine = sa.create_engine(settings.source_url)
    add_days(engine, 3, GOLD_CONFIG.seed)  # April 11-13, with late rows for April 7-9
    engine.dispose()
    report = _run(settings)
    gold_job = next(job for job in report.jobs if job.job == "gold")
    assert gold_job.details["rebuilt_months"] == ["2023-04-01"]
    after = published(gold)
    assert after.snapshot_date == dt.date(2023, 4, 13)
    for name in ("agg_sales_daily", "agg_order_item", "agg_customer_clv_daily"):
        table = gold.load(name)
        assert table is not None
        files_before = files_by_month(table, before.datasets[name].snapshot_id)
        files_after = files_by_month(table, after.datasets[name].snapshot_id)
        # The months before April keep their files; April's are replaced.
        assert {m: f for m, f in files_after.items() if m < "2023-04-01"} == {
            m: f for m, f in files_before.items() if m < "2023-04-01"
        }
        assert files_after["2023-04-01"].isdisjoint(files_before["2023-04-01"])
    incremental = gold_contents(settings)
    # Readers outside the product see exactly its numbers; Gold as the first run published it is kept.
    assert _read_from_outside(settings) == _read_by_the_product(settings)
    then = MetricsEngine.open(settings, as_of=before.run_id)
    try:
        assert {
            d.name: then.query(f'SELECT * FROM "{d.name}" ORDER BY ALL') for d in DATASETS
        } == contents_before
    finally:
        then.close()

    unchanged = _run(settings, only=("gold",))
    assert "up to date" in next(j for j in unchanged.jobs if j.job == "gold").details["note"]
    # Keeping one snapshot: the replaced files go with the snapshots that expire.
    _run(
        settings.model_copy(update={"snapshots_kept": 1, "snapshot_days_kept": 0}),
        only=("gold",),
        full_refresh=True,
    )
    assert gold_contents(settings) == incremental
    # Every file in a table's folder is one the kept snapshot references.
    for dataset in DATASETS:
        on_disk, referenced = unreferenced_files(gold, dataset.name)
        assert on_disk == referenced, dataset.name
        table = gold.load(dataset.name)
        assert table is not None
        assert len(table.snapshots()) == 1, dataset.name


# The whole table, and a range across a month boundary (which a wrong partition pruning would miss).
_SLICES = ("true", "order_date >= '2023-01-25' AND order_date <= '2023-02-10'")


def _read_by_the_product(settings: Settings) -> dict[tuple[str, str], tuple[Any, ...]]:
    engine = MetricsEngine.open(settings)
    try:
        return {
            (name, where): tuple(
                engine.query(f"SELECT count(*), sum(net_sales) FROM {name} WHERE {where}")[0]
            )
            for name in ("agg_sales_daily", "agg_order_item", "agg_customer_clv_daily")
            for where in _SLICES
        }
    finally:
        engine.close()


def _read_from_outside(settings: Settings) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Each table's rows and net sales as DuckDB's `iceberg_scan` (on the metadata location the catalog
    gives) and pyiceberg's own scan read them, which must agree."""
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("bi", uri=f"sqlite:///{settings.lake}/_catalog/iceberg.db")
    connection = connect(on_s3=False)
    totals: dict[tuple[str, str], tuple[Any, ...]] = {}
    for name in ("agg_sales_daily", "agg_order_item", "agg_customer_clv_daily"):
        table = catalog.load_table(f"gold.{name}")
        for where in _SLICES:
            scanned = connection.execute(
                f"SELECT count(*), sum(net_sales) FROM iceberg_scan('{table.metadata_location}') WHERE {where}"
            ).fetchone()
            arrow = table.scan(row_filter=where, selected_fields=("net_sales",)).to_arrow()
            net_sales = sum(arrow.column("net_sales").to_pylist(), Decimal(0)) if arrow.num_rows else None
            assert scanned == (arrow.num_rows, net_sales), (name, where)
            totals[(name, where)] = scanned
    connection.close()
    return totals
