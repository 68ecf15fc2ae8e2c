"""The catalogue and the compiler's choices, without a lake: which dataset answers which question."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bi_contracts.gold import CUSTOMER_ROWS, DATASETS, DATASETS_BY_NAME, LOOKUP_KEYS
from bi_contracts.measures import MEASURES_BY_NAME
from bi_lake.errors import UserError
from bi_metrics.catalogue import DIMENSIONS, DIMENSIONS_BY_NAME, METRICS, METRICS_BY_NAME
from bi_metrics.compiler import choose_dataset, compile_question
from bi_metrics.question import Question, parse_filters, split_names

# Every dataset built, with row counts in the order of their real sizes.
ROWS = {
    "agg_sales_daily": 44_000,
    "agg_category_daily": 180_000,
    "agg_category_monthly": 32_000,
    "agg_item_daily": 190_000,
    "agg_customer_daily": 125_000,
    "agg_customer_lifetime": 27_000,
    "agg_customer_restaurant": 41_000,
    "agg_order_item": 198_000,
    "dim_calendar": 365,
    "dim_item": 151,
    "dim_customer_snapshot": 27_000,
    "dim_restaurant": 20,
}

METRICS_MD = [
    "net_sales",
    "gross_sales",
    "discount_amount",
    "orders",
    "items_sold",
    "customers",
    "aov",
    "discounted_orders",
    "discounted_order_share",
    "discount_rate",
    "loyalty_orders",
    "net_sales_per_customer",
    "orders_per_customer",
    "repeat_customers",
    "repeat_rate",
]
DIMENSIONS_MD = [
    "order_date",
    "order_week",
    "order_month",
    "year",
    "day_of_week",
    "is_weekend",
    "is_holiday",
    "holiday_name",
    "restaurant_id",
    "restaurant_name",
    "city",
    "region",
    "app_name",
    "is_loyalty",
    "item_category",
    "item_name",
    "clv_tier",
    "rfm_segment",
    "churn_risk",
    "loyalty_member",
]


def test_the_catalogue_holds_every_metric_and_dimension_of_the_definitions() -> None:
    assert [m.name for m in METRICS] == METRICS_MD
    assert set(DIMENSIONS_MD) <= set(DIMENSIONS_BY_NAME)
    ratios = {m.name for m in METRICS if m.aggregation == "ratio"}
    assert ratios == {
        "aov", "discounted_order_share", "discount_rate", "net_sales_per_customer", "orders_per_customer",
        "repeat_rate",
    }  # fmt: skip
    for metric in METRICS:
        assert all(measure in MEASURES_BY_NAME for measure in metric.measures), metric.name
        assert (metric.denominator is not None) == (metric.aggregation == "ratio")


def test_every_lookup_dimension_joins_a_declared_lookup_and_exists_there() -> None:
    for dim in DIMENSIONS:
        if dim.lookup:
            assert dim.lookup in LOOKUP_KEYS, dim.name
            assert dim.source_column in DATASETS_BY_NAME[dim.lookup].column_names, dim.name


def test_every_measure_is_answered_by_the_fallback_and_every_answer_reads_declared_columns() -> None:
    fallback = DATASETS_BY_NAME["agg_order_item"]
    assert set(MEASURES_BY_NAME) - {"repeat_customers"} <= set(fallback.answers)
    for dataset in DATASETS:
        for measure, sql in dataset.answers.items():
            assert measure in MEASURES_BY_NAME
            for column in re.findall(r"\b[a-z_]+\b", sql):
                if column not in {"sum", "count", "distinct", "filter", "where", "is", "not", "null"}:
                    assert column in dataset.column_names, (dataset.name, measure, column)


@pytest.mark.parametrize(
    ("metrics", "by", "where", "expected"),
    [
        # The whole history's totals: fewer customers than days x restaurants x apps x flags here.
        ("net_sales,orders,aov", "", (), "agg_customer_lifetime"),
        ("net_sales,orders,aov", "app_name", (), "agg_sales_daily"),
        ("orders", "order_month,restaurant_id", (), "agg_sales_daily"),
        ("discount_rate", "day_of_week,is_holiday", (), "agg_sales_daily"),
        ("customers", "order_date", (), "agg_customer_daily"),
        # Asked of the whole history, customer questions read the lifetime aggregates.
        ("orders,net_sales_per_customer", "rfm_segment", (), "agg_customer_lifetime"),
        ("repeat_rate", "loyalty_member", (), "agg_customer_lifetime"),
        ("customers,repeat_rate", "", (), "agg_customer_lifetime"),
        ("customers", "restaurant_id", (), "agg_customer_restaurant"),
        ("customers", "rfm_segment", ("restaurant_id=R1",), "agg_customer_restaurant"),
        ("customers", "rfm_segment", ("app_name=web",), "agg_customer_daily"),
        ("orders,net_sales", "order_month,item_category", (), "agg_category_monthly"),
        ("orders,net_sales", "order_week,item_category", (), "agg_category_daily"),
        ("orders", "item_category,item_name", (), "agg_item_daily"),
        ("orders", "", ("item_category=Entree", "item_name=Cheeseburger"), "agg_item_daily"),
        # Sums may collapse categories; order counts may not.
        ("net_sales", "item_name", (), "agg_item_daily"),
        ("orders", "item_name", (), "agg_order_item"),
        ("net_sales", "", ("item_category=Entree", "item_category=Dessert"), "agg_category_monthly"),
        ("orders", "", ("item_category=Entree", "item_category=Dessert"), "agg_order_item"),
        ("customers", "item_category", (), "agg_order_item"),
        ("repeat_customers", "rfm_segment,item_category", (), "agg_order_item"),
        # A restaurant's name and place are order-level: the pre-counted totals answer them.
        ("net_sales,orders", "restaurant_name", (), "agg_customer_restaurant"),
        ("orders", "region,city", ("city=Boston",), "agg_customer_restaurant"),
        ("orders", "region,city", ("order_month=2023-03-01",), "agg_sales_daily"),
        ("orders", "restaurant_name,item_category", (), "agg_category_monthly"),
        ("customers", "restaurant_name", (), "agg_customer_restaurant"),
    ],
)
def test_the_smallest_exact_dataset_is_chosen(
    metrics: str, by: str, where: tuple[str, ...], expected: str
) -> None:
    question = Question(metrics=split_names(metrics), by=split_names(by), where=parse_filters(where))
    assert choose_dataset(question, ROWS).name == expected


def test_a_question_no_dataset_answers_exactly_is_refused_with_the_reasons() -> None:
    without_fallback = [d for d in DATASETS if d.name != "agg_order_item"]
    question = Question(metrics=("customers",), by=("item_category",))
    with pytest.raises(
        UserError, match=r"no Gold dataset answers customers by item_category exactly"
    ) as error:
        compile_question(question, ROWS, without_fallback)
    assert "agg_category_daily cannot total customers" in str(error.value)
    assert "agg_customer_daily has no item_category" in str(error.value)
    with pytest.raises(UserError, match="agg_item_daily would add up order counts across item_category"):
        choose_dataset(Question(metrics=("orders",), by=("item_name",)), ROWS, without_fallback)


def test_an_unbuilt_dataset_is_never_chosen() -> None:
    rows = {name: count for name, count in ROWS.items() if name != "agg_sales_daily"}
    assert choose_dataset(Question(metrics=("orders",)), rows).name == "agg_customer_lifetime"
    with pytest.raises(UserError, match="agg_sales_daily is not built"):
        choose_dataset(Question(metrics=("orders",)), {})


def test_unknown_names_and_bad_values_are_one_clear_line_listing_the_valid_ones() -> None:
    with pytest.raises(UserError, match=r"unknown metric 'revenue'; metrics are: net_sales, gross_sales"):
        Question(metrics=("revenue",))
    with pytest.raises(
        UserError, match=r"unknown dimension 'country'; dimensions are: order_date, order_week"
    ):
        Question(metrics=("orders",), by=("country",))
    with pytest.raises(UserError, match="unknown dimension 'country'"):
        parse_filters(["country=Paris"])
    with pytest.raises(UserError, match=r"invalid value 'maybe' for is_loyalty: expected true or false"):
        parse_filters(["is_loyalty=maybe"])
    with pytest.raises(UserError, match=r"invalid value '2023-13-01' for order_date: expected a date"):
        parse_filters(["order_date=2023-13-01"])
    with pytest.raises(UserError, match="expected DIM=VALUE"):
        parse_filters(["restaurant_id"])
    with pytest.raises(UserError, match="after --end"):
        Question(metrics=("orders",), start=dt.date(2023, 2, 1), end=dt.date(2023, 1, 1))
    with pytest.raises(UserError, match="asked for twice"):
        Question(metrics=("orders",), by=("app_name", "app_name"))


def test_filters_are_typed_parameters_never_spliced_into_the_sql() -> None:
    hostile = "x' OR '1'='1"
    question = Question(
        metrics=("orders",),
        where=parse_filters([f"restaurant_id={hostile}", "is_loyalty=yes", "year=2023"]),
        start=dt.date(2023, 1, 1),
    )
    plan = compile_question(question, ROWS)
    assert hostile not in plan.sql
    assert plan.parameters == (dt.date(2023, 1, 1), hostile, True, 2023)
    assert METRICS_BY_NAME["orders"].format == "count"


def test_no_dimension_joined_from_a_lookup_is_named_like_a_column_of_a_dataset_it_is_joined_to() -> None:
    # The compiler names a looked-up value after its dimension beside the dataset's own columns: a
    # shared name would make the query read the wrong one or fail.
    clashes = [
        f"{dim.name} ({dim.lookup}) vs {dataset.name}"
        for dim in DIMENSIONS
        if dim.lookup is not None
        for dataset in DATASETS
        if dataset.role != "lookup"
        and LOOKUP_KEYS[dim.lookup] in dataset.grain
        and dim.name in dataset.column_names
        and dim.lookup != dataset.carries
    ]
    assert not clashes


def test_a_restaurants_name_and_place_are_joined_from_the_restaurant_lookup() -> None:
    question = Question(
        metrics=("net_sales",), by=("restaurant_name",), where=parse_filters(["city=Boston", "region=MA"])
    )
    plan = compile_question(question, ROWS)
    assert 'LEFT JOIN "dim_restaurant" ON "dim_restaurant"."restaurant_id" = f."restaurant_id"' in plan.sql
    assert plan.sql.count('LEFT JOIN "dim_restaurant"') == 1
    assert '"dim_restaurant"."city" IN (?)' in plan.sql
    assert plan.parameters == ("Boston", "MA")
    assert DIMENSIONS_BY_NAME["restaurant_id"].label == "Restaurant id"
    assert [DIMENSIONS_BY_NAME[n].label for n in ("restaurant_name", "city", "region")] == [
        "Restaurant",
        "City",
        "Region",
    ]


def test_the_fallback_label_is_the_prefix_and_the_ids_first_six_characters() -> None:
    from bi_contracts.restaurants import restaurant_label
    from bi_metrics.restaurants import name_of

    assert restaurant_label("8826d916cdfb21c6c1ff91a7") == "Restaurant 8826d9"
    assert restaurant_label("8826d916cdfb21c6c1ff91a7", "  ") == "Restaurant 8826d9"
    assert restaurant_label("8826d916cdfb21c6c1ff91a7", " Harbor Street Grill ") == "Harbor Street Grill"
    assert name_of({"a" * 24: "Blue Door Grill"}, "a" * 24) == "Blue Door Grill"
    assert name_of({}, "b" * 24) == "Restaurant bbbbbb"


def test_a_question_by_a_lookup_gold_has_not_published_says_to_rebuild() -> None:
    """A Gold from before the restaurant lookup: joining nothing would answer one row for everyone."""
    rows = {name: count for name, count in ROWS.items() if name != "dim_restaurant"}
    with pytest.raises(UserError, match=r"no dim_restaurant: it was built by an older version; run `bi run`"):
        compile_question(Question(metrics=("net_sales",), by=("restaurant_name",)), rows)
    compile_question(Question(metrics=("net_sales",), by=("restaurant_id",)), rows)


def test_a_period_is_never_answered_from_whole_history_totals() -> None:
    question = Question(metrics=("customers", "repeat_rate"), by=("rfm_segment",), start=dt.date(2023, 3, 1))
    assert choose_dataset(question, ROWS).name == "agg_customer_daily"
    with pytest.raises(UserError, match="agg_customer_lifetime has no order_date to limit the period by"):
        choose_dataset(question, ROWS, [DATASETS_BY_NAME["agg_customer_lifetime"]])


def test_customers_are_counted_as_rows_only_where_each_row_is_one_customer() -> None:
    by_restaurant = compile_question(
        Question(metrics=("customers", "repeat_customers"), by=("restaurant_name",)), ROWS
    )
    assert by_restaurant.dataset == "agg_customer_restaurant"
    # Summed from a per-row flag: no customer id is read.
    assert 'coalesce(sum(customers), 0) AS "customers"' in by_restaurant.sql
    assert "sum(customers) FILTER (WHERE orders >= 2)" in by_restaurant.sql
    assert all(CUSTOMER_ROWS not in d.column_names or "user_id" in d.grain for d in DATASETS)
    every_order_key = Question(
        metrics=("customers",),
        by=("order_date", "restaurant_id"),
        where=parse_filters(["app_name=web", "is_loyalty=true", "is_discounted=false"]),
    )
    daily = compile_question(every_order_key, ROWS)
    assert daily.dataset == "agg_customer_daily"
    assert 'coalesce(count(user_id), 0) AS "customers"' in daily.sql
    assert "per_customer" not in by_restaurant.sql
    # Two restaurants in one answer row: a customer of both has two rows, so ids are counted distinct.
    two = Question(
        metrics=("customers", "repeat_customers"), where=parse_filters(["restaurant_id=A", "restaurant_id=B"])
    )
    plan = compile_question(two, ROWS)
    assert plan.dataset == "agg_customer_restaurant"
    assert "count(DISTINCT user_id)" in plan.sql
    assert "per_customer AS" in plan.sql


def test_the_lifetime_aggregate_carries_every_customer_attribute_it_is_sliced_by() -> None:
    lifetime = DATASETS_BY_NAME["agg_customer_lifetime"]
    customer_level = {dim.source_column for dim in DIMENSIONS if dim.level == "customer"}
    assert customer_level <= set(lifetime.carried)
    snapshot = DATASETS_BY_NAME["dim_customer_snapshot"]
    for name in lifetime.carried:
        assert lifetime.column(name) == snapshot.column(name)
    plan = compile_question(
        Question(metrics=("customers",), by=("rfm_segment",), where=parse_filters(["clv_tier=High"])), ROWS
    )
    assert "JOIN" not in plan.sql
    assert 'f."clv_tier" IN (?)' in plan.sql


def test_a_restricted_reader_is_never_answered_from_a_dataset_without_restaurants() -> None:
    from bi_metrics.access import RestaurantAccess

    access = RestaurantAccess.only(["A"])
    plan = compile_question(Question(metrics=("customers", "net_sales")), ROWS, access=access)
    assert plan.dataset == "agg_customer_restaurant"


def test_the_monthly_aggregate_reads_its_own_month_and_answers_no_finer_date() -> None:
    plan = compile_question(Question(metrics=("net_sales",), by=("order_month", "item_category")), ROWS)
    assert plan.dataset == "agg_category_monthly"
    assert "JOIN" not in plan.sql
    assert 'f."order_month" AS "order_month"' in plan.sql
    monthly = [DATASETS_BY_NAME["agg_category_monthly"]]
    with pytest.raises(UserError, match="agg_category_monthly has no order_date to find year by"):
        choose_dataset(Question(metrics=("net_sales",), by=("year",)), ROWS, monthly)
    with pytest.raises(UserError, match="agg_category_monthly has no order_date to limit the period by"):
        choose_dataset(Question(metrics=("net_sales",), start=dt.date(2023, 3, 1)), ROWS, monthly)
