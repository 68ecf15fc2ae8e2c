"""Every page of the dashboard rendered by Streamlit's AppTest on a Gold built by the real pipeline:
no exception, no error, and the KPI tiles equal to `bi query` for the same filters."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from bi_cli.main import main as bi_main
from bi_contracts.gold import DATASETS_BY_NAME
from bi_contracts.published import GOLD_RUN_PROPERTY, PUBLISHED_LAST, GoldState, gold_tables, published
from bi_dashboard.pages import OVERVIEW_KPIS as KPIS
from bi_dashboard.pages import PAGES, PageSpec
from bi_lake.settings import Settings
from bi_metrics.catalogue import METRICS_BY_NAME
from bi_metrics.formatting import metric_text
from bi_metrics.labels import GUESTS, RFM_SEGMENTS, period_text, value_text
from tests.conftest import OpenApp
from tests.lakes import copy_lake

pytestmark = pytest.mark.spark

# GOLD_CONFIG's last order date: every preset ends there.
SNAPSHOT = dt.date(2023, 4, 10)


def bi_query(
    capsys: pytest.CaptureFixture[str], lake: str, metrics: tuple[str, ...], *args: str
) -> dict[str, Any]:
    capsys.readouterr()
    assert bi_main(["query", ",".join(metrics), "--format", "json", "--lake", lake, *args]) == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    assert len(rows) == 1
    return rows[0]


def restaurants(capsys: pytest.CaptureFixture[str], lake: str) -> list[str]:
    capsys.readouterr()
    assert bi_main(["query", "orders", "--by", "restaurant_id", "--format", "json", "--lake", lake]) == 0
    return [row["restaurant_id"] for row in json.loads(capsys.readouterr().out)]


def tile_text(metric: str, value: object) -> str:
    """A KPI tile's figure: short (2.51M) as the tile writes it."""
    assert value is None or isinstance(value, int | float | str)
    return metric_text(metric, value, short=True)


def tiles(app: AppTest) -> dict[str, tuple[str, str | None]]:
    return {metric.label: (metric.value, metric.delta) for metric in app.metric}


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_page_renders_without_exception_or_error(
    gold_lake: Settings, open_app: OpenApp, page: PageSpec
) -> None:
    app = open_app(gold_lake.lake, page.script)
    assert_clean(app)
    assert [title.value for title in app.title] == [page.title]
    assert not app.warning, [w.value for w in app.warning]


def test_overview_tiles_equal_bi_query_for_the_default_range(
    gold_lake: Settings, open_app: OpenApp, capsys: pytest.CaptureFixture[str]
) -> None:
    app = open_app(gold_lake.lake)
    assert_clean(app)
    start = SNAPSHOT - dt.timedelta(days=89)
    expected = bi_query(capsys, gold_lake.lake, KPIS, "--start", str(start), "--end", str(SNAPSHOT))
    shown = tiles(app)
    assert list(shown) == [METRICS_BY_NAME[m].label for m in KPIS]
    for metric in KPIS:
        assert shown[METRICS_BY_NAME[metric].label][0] == tile_text(metric, expected[metric])


def test_overview_tiles_follow_a_links_filters_and_compare_with_the_period_before(
    gold_lake: Settings, open_app: OpenApp, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _, third, *_ = restaurants(capsys, gold_lake.lake)
    app = open_app(
        gold_lake.lake, range="30d", restaurant=[first, third], loyalty="loyalty", app="OrderUp Web"
    )
    assert_clean(app)
    assert not app.sidebar.warning, "every value of the link is known"
    where = ["--where", f"restaurant_id={first}", "--where", f"restaurant_id={third}",
             "--where", "is_loyalty=true", "--where", "app_name=OrderUp Web"]  # fmt: skip
    start = SNAPSHOT - dt.timedelta(days=29)
    now = bi_query(capsys, gold_lake.lake, KPIS, "--start", str(start), "--end", str(SNAPSHOT), *where)
    before = bi_query(
        capsys, gold_lake.lake, KPIS,
        "--start", str(start - dt.timedelta(days=30)), "--end", str(start - dt.timedelta(days=1)), *where,
    )  # fmt: skip
    shown = tiles(app)
    for metric in KPIS:
        assert shown[METRICS_BY_NAME[metric].label][0] == tile_text(metric, now[metric])
    growth = (float(now["net_sales"]) / float(before["net_sales"]) - 1) * 100
    assert shown["Net sales"][1] == f"{growth:+.1f}%"
    assert dict(app.query_params) == {
        "range": "30d", "restaurant": [first, third], "app": "OrderUp Web", "loyalty": "loyalty",
    }  # fmt: skip


def test_changing_a_filter_changes_the_numbers_and_the_link(
    gold_lake: Settings, open_app: OpenApp, capsys: pytest.CaptureFixture[str]
) -> None:
    second = restaurants(capsys, gold_lake.lake)[1]
    app = open_app(gold_lake.lake)
    before = tiles(app)["Net sales"][0]
    app.sidebar.multiselect(key="f_restaurants").set_value([second]).run()
    assert_clean(app)
    assert tiles(app)["Net sales"][0] != before
    assert app.query_params["restaurant"] == second
    app.sidebar.selectbox(key="f_range").set_value("7d").run()
    assert app.query_params["range"] == "7d"
    assert app.sidebar.caption[0].value.startswith(period_text(SNAPSHOT - dt.timedelta(days=6), SNAPSHOT))


def test_discount_page_compares_discounted_and_full_price_orders_as_bi_query_does(
    gold_lake: Settings, open_app: OpenApp, capsys: pytest.CaptureFixture[str]
) -> None:
    app = open_app(gold_lake.lake, "views/discounts.py", range="all")
    assert_clean(app)
    expected = bi_query(capsys, gold_lake.lake, ("discounted_order_share", "discount_rate"))
    shown = tiles(app)
    for metric in ("discounted_order_share", "discount_rate"):
        assert shown[METRICS_BY_NAME[metric].label][0] == tile_text(metric, expected[metric])
    capsys.readouterr()
    assert bi_main(["query", "orders,net_sales,aov", "--by", "is_discounted", "--format", "json",
                    "--lake", gold_lake.lake]) == 0  # fmt: skip
    by_flag = {row["is_discounted"]: row for row in json.loads(capsys.readouterr().out)}
    compared = app.dataframe[0].value.set_index("is_discounted")
    assert sorted(compared.index) == ["Discounted", "Full price"], "flags read as words"
    for flag, row in by_flag.items():
        shown_as = value_text("is_discounted", flag)
        assert compared.loc[shown_as, "orders"] == row["orders"]
        assert round(compared.loc[shown_as, "net_sales"], 2) == row["net_sales"]
        assert round(compared.loc[shown_as, "aov"], 6) == round(row["aov"], 6)


def test_a_range_without_discounts_says_so(
    gold_lake: Settings, open_app: OpenApp, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert bi_main(["query", "orders,discounted_orders", "--by", "order_date,restaurant_id,app_name,is_loyalty",
                    "--format", "json", "--lake", gold_lake.lake]) == 0  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    day = next(r for r in rows if r["orders"] > 0 and r["discounted_orders"] == 0)
    app = open_app(
        gold_lake.lake, "views/discounts.py", range="custom", start=day["order_date"], end=day["order_date"],
        restaurant=day["restaurant_id"], app=day["app_name"], loyalty="loyalty" if day["is_loyalty"] else "other",
    )  # fmt: skip
    assert_clean(app)
    assert any("No order in this range had a discount" in info.value for info in app.info)
    assert not app.metric


def test_explore_answers_the_menus_question_and_an_empty_slice_gets_a_message(
    gold_lake: Settings, open_app: OpenApp
) -> None:
    app = open_app(gold_lake.lake, "views/explore.py", range="custom", start="2023-03-15", end="2023-03-15")
    app.multiselect(key="x_metrics").set_value(["customers", "repeat_rate"])
    app.multiselect(key="x_by").set_value(["rfm_segment"]).run()
    assert_clean(app)
    table = app.dataframe[0].value
    assert list(table.columns) == ["rfm_segment", "customers", "repeat_rate"]
    assert set(table["rfm_segment"]) <= {*RFM_SEGMENTS, GUESTS}
    app.multiselect(key="x_filter_on").set_value(["holiday_name"]).run()
    holidays = app.multiselect(key="x_where_holiday_name")
    assert holidays.options, "the demo data has holidays"
    holidays.set_value([holidays.options[0]]).run()
    assert_clean(app)
    assert any("No orders for these filters" in info.value for info in app.info)


def test_a_link_with_unknown_values_says_what_it_ignored(gold_lake: Settings, open_app: OpenApp) -> None:
    app = open_app(gold_lake.lake, range="30d", restaurant="no-such-restaurant")
    assert_clean(app)
    assert any("'no-such-restaurant'" in warning.value for warning in app.sidebar.warning)
    assert "restaurant" not in app.query_params


def test_a_link_with_dates_outside_the_data_opens_on_the_data_with_a_note(
    gold_lake: Settings, open_app: OpenApp
) -> None:
    app = open_app(gold_lake.lake, range="custom", start="2022-06-01", end="2023-01-05")
    assert_clean(app)
    assert any(
        "narrowed to the orders' dates: 2023-01-01 .. 2023-01-05" in w.value for w in app.sidebar.warning
    )
    app.run()
    assert not app.sidebar.warning, "a link's notes are shown once"


def _copy_lake(gold_lake: Settings, tmp_path: Path) -> Path:
    return Path(copy_lake(gold_lake, tmp_path).lake)


def test_a_new_gold_shows_at_the_next_interaction(
    gold_lake: Settings, open_app: OpenApp, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = _copy_lake(gold_lake, tmp_path)
    # A period short of the whole history: the daily totals answer it, not the whole-history ones.
    period = {"start": "2023-01-01", "end": "2023-03-31"}
    app = open_app(str(lake), range="custom", **period)
    before = tiles(app)["Net sales"][0]
    # A new Gold is published: March removed from the daily totals (as a re-run that lost it would).
    gold = gold_tables(Settings(lake=str(lake)))
    record = published(gold)
    march = dt.date(2023, 3, 1)
    for name in ("agg_sales_daily", "agg_customer_daily"):
        table = gold.load(name)
        assert table is not None
        built_on = record.datasets[name].snapshot_id
        declaration = DATASETS_BY_NAME[name].declaration
        emptied = gold.publish(table, declaration, [], lambda month: month == march, {}, built_on=built_on)
        record.datasets[name].snapshot_id = emptied.snapshot_id
    customers = gold.load(PUBLISHED_LAST)
    assert customers is not None
    record.run_id = "20991231T000000Z-newer"
    with customers.transaction() as transaction:
        newer = {GOLD_RUN_PROPERTY: record.model_dump_json()}
        with transaction.update_snapshot(snapshot_properties=newer).fast_append():
            pass
    app.run()
    assert_clean(app)
    after = tiles(app)["Net sales"][0]
    assert after != before
    answer = bi_query(capsys, str(lake), ("net_sales",), "--start", period["start"], "--end", period["end"])
    assert after == tile_text("net_sales", answer["net_sales"])


def test_a_gold_written_by_an_older_version_says_to_rebuild_it(
    gold_lake: Settings, open_app: OpenApp, tmp_path: Path
) -> None:
    lake = _copy_lake(gold_lake, tmp_path)
    sales = gold_tables(Settings(lake=str(lake))).load("agg_sales_daily")
    assert sales is not None
    with sales.update_schema() as update:
        update.delete_column("is_discounted")
    app = open_app(str(lake))
    assert not app.exception, [e.message for e in app.exception]
    assert "was built by an older version" in app.error[0].value and "bi run" in app.error[0].value


def test_a_missing_lake_shows_how_to_build_it(open_app: OpenApp, tmp_path: Path) -> None:
    app = open_app(str(tmp_path / "nowhere"))
    assert_clean(app)
    assert "has no Gold yet" in app.info[0].value
    assert any("uv run bi run" in block.value for block in app.markdown)


def test_a_gold_without_orders_says_so(open_app: OpenApp, tmp_path: Path) -> None:
    gold = gold_tables(Settings(lake=str(tmp_path / "lake")))
    declaration = DATASETS_BY_NAME[PUBLISHED_LAST].declaration
    record = GoldState(run_id="20230101T000000Z-empty", committed_at=dt.datetime.now(dt.UTC))
    gold.publish(
        gold.ensure(declaration)[0],
        declaration,
        [],
        None,
        {GOLD_RUN_PROPERTY: record.model_dump_json()},
        built_on=None,
    )
    app = open_app(str(tmp_path / "lake"))
    assert_clean(app)
    assert "holds no orders yet" in app.info[0].value


def test_data_health_says_when_in_words_not_raw_timestamps(gold_lake: Settings, open_app: OpenApp) -> None:
    app = open_app(gold_lake.lake, "views/data_health.py")
    assert_clean(app)
    frames = [table.value for table in app.dataframe]
    bronze = next(frame for frame in frames if "last_extracted_at" in frame.columns)
    assert "age_hours" not in bronze.columns
    # "1 Dec 2026 19:35 UTC" and "6 min ago", never an ISO timestamp or a bare number of hours.
    for when, age in zip(bronze["last_extracted_at"], bronze["age"], strict=True):
        assert when.endswith(" UTC") and not re.search(r"\d-\d\dT\d|\+00:00", when), when
        assert age.endswith(" ago"), age
    # Sizes in the unit a person says: "22.1 MB", never a bare count of bytes.
    assert "bytes" not in bronze.columns
    assert all(re.fullmatch(r"[\d,]+(\.\d)? (bytes|kB|MB|GB)", size) for size in bronze["size"]), bronze[
        "size"
    ]


def test_data_health_explains_each_quarantine_reason(gold_lake: Settings, open_app: OpenApp) -> None:
    """The default data quarantines rows: each count reads as its reason in words and what the rule
    catches, as Silver declares them, not as a rule code."""
    from bi_contracts.quality import QUARANTINE_RULES

    app = open_app(gold_lake.lake, "views/data_health.py")
    assert_clean(app)
    reasons = next(table.value for table in app.dataframe if "what it catches" in table.value.columns)
    assert len(reasons) > 0
    declared = {(rule.label, rule.catches.replace("`", "")) for rule in QUARANTINE_RULES.values()}
    for reason, catches in zip(reasons["reason"], reasons["what it catches"], strict=True):
        assert "_" not in reason and (reason, catches) in declared, reason


def test_the_churn_list_shows_the_most_valuable_customers_and_counts_them_all(
    gold_lake: Settings, open_app: OpenApp
) -> None:
    """The page reads only the rows it shows; how many there are comes from a count, not the list."""
    from bi_dashboard.components import WHOLE_TABLE_ROWS
    from bi_dashboard.views.churn_risk import AT_STAKE, SHOWN_CUSTOMERS
    from bi_metrics.engine import MetricsEngine

    engine = MetricsEngine.open(gold_lake)
    try:
        expected = engine.query(
            "SELECT user_id FROM dim_customer_snapshot WHERE churn_risk IN ? ORDER BY clv DESC, user_id",
            [list(AT_STAKE)],
        )
    finally:
        engine.close()
    app = open_app(gold_lake.lake, "views/churn_risk.py")
    assert_clean(app)
    listed = next(table.value for table in app.dataframe if "user_id" in table.value.columns)
    assert list(listed["user_id"]) == [user for (user,) in expected[:SHOWN_CUSTOMERS]]
    captions = " ".join(caption.value for caption in app.caption)
    assert len(expected) > WHOLE_TABLE_ROWS, "GOLD_CONFIG should put more customers at stake than one screen"
    counted = f"{len(expected):,} customers"
    assert counted in captions, captions


def test_a_number_missing_from_some_rows_reads_as_a_dash_aligned_with_the_numbers(
    gold_lake: Settings, open_app: OpenApp
) -> None:
    """Guests have no customers, so their net sales per customer is missing: the column is written out
    as text for the dash, and must still line up on the right like every other figure."""
    app = open_app(gold_lake.lake, "views/customer_value.py")
    assert_clean(app)
    table = next(t for t in app.dataframe if "net_sales_per_customer" in t.value.columns)
    values = list(table.value["net_sales_per_customer"])
    assert "—" in values and all(v == "—" or v.startswith("$") for v in values), values
    columns = json.loads(table.proto.columns)
    assert columns["net_sales_per_customer"]["alignment"] == "right"
    assert columns["net_sales_per_customer"]["label"] == "Net sales per customer"
