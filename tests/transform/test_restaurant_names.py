"""Restaurant names through the whole pipeline on a small real source: a source without the optional
`restaurants` table, then one that gains it (incrementally) with an id missing, a location with no
order yet and a repeated row."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from bi_contracts.restaurants import restaurant_label
from bi_lake.settings import Settings
from bi_metrics.engine import MetricsEngine
from bi_metrics.question import Question
from bi_metrics.restaurants import restaurant_names
from bi_source.schema import restaurants as restaurants_table
from tests.conftest import RunPipeline, silver_contents

pytestmark = pytest.mark.spark

NEW_LOCATION = "f" * 24


def _ask(settings: Settings, by: str, *where: tuple[str, tuple[Any, ...]]) -> dict[Any, tuple[Any, ...]]:
    engine = MetricsEngine.open(settings)
    try:
        rows = engine.ask(Question(metrics=("net_sales", "orders", "customers"), by=(by,), where=where)).rows
    finally:
        engine.close()
    return {row[0]: tuple(row[1:]) for row in rows}


def _names(settings: Settings) -> dict[str, str]:
    engine = MetricsEngine.open(settings)
    try:
        return restaurant_names(engine)
    finally:
        engine.close()


def test_names_come_from_the_source_when_it_has_them_and_the_fallback_label_otherwise(
    run_pipeline: RunPipeline, settings: Settings, source_engine: sa.Engine
) -> None:
    with source_engine.begin() as connection:
        seeded = [dict(row._mapping) for row in connection.execute(sa.select(restaurants_table))]
        connection.exec_driver_sql("DROP TABLE restaurants")
    ids = sorted(row["restaurant_id"] for row in seeded)

    # Without the table: every restaurant by its fallback label, and the answers as by id.
    first = run_pipeline()
    assert first.status == "succeeded", first.error
    assert _names(settings) == {rid: f"Restaurant {rid[:6]}" for rid in ids}
    by_id = _ask(settings, "restaurant_id")
    assert _ask(settings, "restaurant_name") == {
        restaurant_label(rid): totals for rid, totals in by_id.items()
    }
    assert set(_ask(settings, "city")) == {None}

    # The table arrives: one restaurant is missing from it, one location has no order yet, one row is
    # repeated with less filled in (the fuller one wins).
    missing = ids[0]
    named = [row for row in seeded if row["restaurant_id"] != missing]
    with source_engine.begin() as connection:
        restaurants_table.create(connection)
        connection.execute(restaurants_table.insert(), named)
        connection.execute(
            restaurants_table.insert(),
            [
                {**named[0], "city": None, "region": None},
                {"restaurant_id": NEW_LOCATION, "name": "Riverside Cafe", "city": "Boise", "region": "ID",
                 "opened_on": dt.date(2023, 2, 1)},
            ],
        )  # fmt: skip
    second = run_pipeline()
    assert second.status == "succeeded", second.error
    names = _names(settings)
    assert names[missing] == f"Restaurant {missing[:6]}"
    assert {rid: names[rid] for rid in ids if rid != missing} == {
        r["restaurant_id"]: r["name"] for r in named
    }
    assert names[NEW_LOCATION] == "Riverside Cafe"

    dim = {row[0]: row for row in silver_contents(settings, ("dim_restaurant",))["dim_restaurant"]}
    assert len(dim) == len(ids) + 1
    # restaurant_id, name, city, region, opened_on, first_order_date, last_order_date, orders
    assert dim[NEW_LOCATION][1:] == ("Riverside Cafe", "Boise", "ID", dt.date(2023, 2, 1), None, None, 0)
    assert dim[missing][1:5] == (None, None, None, None) and dim[missing][7] > 0
    assert dim[named[0]["restaurant_id"]][2:4] == (named[0]["city"], named[0]["region"])

    # The answers by name equal those by id, the incremental run changing no number.
    assert _ask(settings, "restaurant_id") == by_id
    assert _ask(settings, "restaurant_name") == {names[rid]: totals for rid, totals in by_id.items()}
    city = named[0]["city"]
    in_city = _ask(settings, "restaurant_id", ("city", (city,)))
    assert in_city == {r["restaurant_id"]: by_id[r["restaurant_id"]] for r in named if r["city"] == city}
    assert all(isinstance(totals[0], Decimal) for totals in in_city.values())
    assert all(re.fullmatch(r"[0-9a-f]{24}", rid) for rid in by_id)
