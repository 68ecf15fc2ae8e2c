"""Restaurant-level access on a real Gold: a restricted reader's answers equal `bi query` filtered to
its restaurants, whatever it asks and however (metric questions or plain SQL over the views)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from bi_cli.main import main as bi_main
from bi_contracts.gold import DATASETS
from bi_lake.errors import UserError
from bi_lake.settings import Settings
from bi_metrics.access import RestaurantAccess
from bi_metrics.engine import MetricsEngine
from bi_metrics.question import Question

pytestmark = pytest.mark.spark

QUESTIONS = (
    Question(metrics=("net_sales", "orders", "customers", "aov"), by=()),
    Question(metrics=("net_sales", "orders"), by=("order_month", "app_name")),
    Question(metrics=("items_sold", "net_sales"), by=("item_category",)),
    Question(metrics=("repeat_customers", "discount_rate"), by=("is_loyalty",)),
    Question(metrics=("net_sales",), by=("item_name",)),
)


def bi_query_json(
    capsys: pytest.CaptureFixture[str], lake: str, question: Question, where: list[str]
) -> list[dict[str, object]]:
    capsys.readouterr()
    args = ["query", ",".join(question.metrics), "--format", "json", "--lake", lake, *where]
    if question.by:
        args += ["--by", ",".join(question.by)]
    assert bi_main(args) == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows


def as_json(value: object) -> object:
    """A value as `bi query --format json` writes it: amounts as numbers, dates as ISO text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@pytest.fixture(scope="module")
def two_restaurants(gold_lake: Settings) -> tuple[str, ...]:
    engine = MetricsEngine.open(gold_lake)
    names = [row[0] for row in engine.ask(Question(metrics=("orders",), by=("restaurant_id",))).rows]
    engine.close()
    return (str(names[0]), str(names[2]))


@pytest.fixture
def restricted(gold_lake: Settings, two_restaurants: tuple[str, ...]) -> Iterator[MetricsEngine]:
    engine = MetricsEngine.open(gold_lake, RestaurantAccess.only(two_restaurants))
    yield engine
    engine.close()


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: ",".join(q.metrics) + "/" + ",".join(q.by))
def test_a_restricted_readers_answers_equal_bi_query_for_its_restaurants(
    gold_lake: Settings,
    restricted: MetricsEngine,
    two_restaurants: tuple[str, ...],
    question: Question,
    capsys: pytest.CaptureFixture[str],
) -> None:
    where = [arg for r in two_restaurants for arg in ("--where", f"restaurant_id={r}")]
    expected = bi_query_json(capsys, gold_lake.lake, question, where)
    everyone = bi_query_json(capsys, gold_lake.lake, question, [])
    shown = [{k: as_json(v) for k, v in row.items()} for row in restricted.ask(question).records()]
    assert shown == expected
    assert expected != everyone, "the restriction must change the answer for the test to mean anything"


def test_the_compiled_question_carries_the_filter(
    restricted: MetricsEngine, two_restaurants: tuple[str, ...]
) -> None:
    answer = restricted.ask(Question(metrics=("orders",), by=("app_name",)))
    assert 'f."restaurant_id" IN (?, ?)' in answer.plan.sql
    assert set(two_restaurants) <= set(answer.plan.parameters)


def test_plain_sql_over_any_view_sees_only_its_restaurants(
    restricted: MetricsEngine, two_restaurants: tuple[str, ...]
) -> None:
    with_restaurants = [d for d in DATASETS if "restaurant_id" in d.column_names]
    assert with_restaurants
    for dataset in with_restaurants:
        found = {row[0] for row in restricted.query(f'SELECT DISTINCT restaurant_id FROM "{dataset.name}"')}
        assert found and found <= set(two_restaurants), dataset.name


def test_customer_level_data_is_withheld(restricted: MetricsEngine) -> None:
    for dataset in ("dim_customer_snapshot", "agg_customer_clv_daily"):
        with pytest.raises(UserError, match="customer analytics"):
            restricted.query(f'SELECT count(*) FROM "{dataset}"')
    with pytest.raises(UserError, match="rfm_segment is a customer attribute"):
        restricted.ask(Question(metrics=("orders",), by=("rfm_segment",)))
    # Dates and items say nothing about any restaurant's customers.
    assert restricted.query("SELECT count(*) FROM dim_calendar")[0][0] > 0
    assert restricted.query("SELECT count(*) FROM dim_item")[0][0] > 0


def test_a_reader_of_no_restaurant_reads_nothing(gold_lake: Settings) -> None:
    engine = MetricsEngine.open(gold_lake, RestaurantAccess.only(()))
    assert engine.ask(Question(metrics=("orders",))).rows == [(0,)]
    assert engine.query("SELECT count(*) FROM agg_order_item") == [(0,)]
    engine.close()


def test_a_restricted_reader_sees_only_its_restaurants_names(
    gold_lake: Settings, restricted: MetricsEngine, two_restaurants: tuple[str, ...]
) -> None:
    from bi_metrics.restaurants import restaurant_names

    everyone = MetricsEngine.open(gold_lake)
    all_names = restaurant_names(everyone)
    everyone.close()
    own = restaurant_names(restricted)
    assert set(own) == set(two_restaurants) and len(all_names) > len(own)
    assert restricted.query("SELECT count(*) FROM dim_restaurant") == [(2,)]
    by_name = restricted.ask(Question(metrics=("orders",), by=("restaurant_name",))).rows
    assert {row[0] for row in by_name} == set(own.values())
