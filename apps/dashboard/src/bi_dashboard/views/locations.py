"""Location performance: restaurants ranked, their growth against the period before, and how the
leaders moved month by month."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session
from bi_dashboard.filters import Filters
from bi_dashboard.session import Result
from bi_metrics.formatting import Value
from bi_metrics.labels import period_text

RESTAURANT = "restaurant_name"
# Discounts have their own page: five figures and two growths fit a laptop's width.
RANKED = ("net_sales", "orders", "aov", "customers")
# The monthly chart follows the leaders by name and the rest as one line: twenty lines read as none.
LEADERS = 5


def _ranking(now: Result, before: Result | None) -> tuple[pd.DataFrame, dict[str, str]]:
    ranking = ui.display_frame(now).sort_values("net_sales", ascending=False).reset_index(drop=True)
    ranking.insert(0, "rank", pd.RangeIndex(1, len(ranking) + 1))
    styles = {column: ui.style_of(column, now) for column in ranking.columns} | {"rank": "count"}
    if before is None:
        return ranking, styles
    previous = before.frame().rename(columns={"net_sales": "net_sales_before", "orders": "orders_before"})
    ranking = ranking.merge(previous, on=RESTAURANT, how="left")
    for measure in ("net_sales", "orders"):
        ranking[f"{measure}_growth_pct"] = (
            ranking[measure].astype("float64") / ranking[f"{measure}_before"].astype("float64") - 1
        ) * 100
    # Growth beside its figure; the figures before stay out, so the table fits a laptop's width.
    ranking = ranking.drop(columns=["net_sales_before", "orders_before"])
    order = ["rank", RESTAURANT, "net_sales", "net_sales_growth_pct", "orders", "orders_growth_pct"]
    ranking = ranking[order + [c for c in ranking.columns if c not in order]]
    styles |= {"net_sales_growth_pct": "change", "orders_growth_pct": "change"}
    return ranking, styles


def _leaders_by_month(filters: Filters, leaders: list[str]) -> Result:
    monthly = session.ask(filters.question(("net_sales",), by=("order_month", RESTAURANT)))
    others = f"Other restaurants ({len({row[1] for row in monthly.rows} - set(leaders))})"
    totals: dict[tuple[Value, str], Decimal] = {}
    for month, restaurant, net_sales in monthly.rows:
        key = (month, str(restaurant) if restaurant in leaders else others)
        amount = net_sales if isinstance(net_sales, Decimal) else Decimal(0)
        totals[key] = totals.get(key, Decimal(0)) + amount
    rows = tuple((month, name, value) for (month, name), value in totals.items())
    return Result(("order_month", "restaurant", "net_sales"), rows)


def render() -> None:
    filters = session.filters()
    previous = filters.previous()
    comparable = filters.has_previous_period(session.bounds())
    st.title("Locations")
    ui.filters_caption(
        filters,
        f"Growth against {period_text(previous.start, previous.end)}"
        if comparable
        else "No growth shown: the data does not cover the whole period before this one",
    )
    now = session.ask(filters.question(RANKED, by=(RESTAURANT,)))
    if not now.rows:
        ui.no_data("orders")
        return
    before = session.ask(previous.question(("net_sales", "orders"), by=(RESTAURANT,))) if comparable else None
    ranking, styles = _ranking(now, before)
    st.subheader("Ranking by net sales")
    ui.bar_ranking(now, RESTAURANT, "net_sales")
    ui.frame_table(ranking, styles, rows_said="restaurants", download="locations.csv")
    leaders = list(ranking[RESTAURANT][:LEADERS])
    st.subheader(
        f"Net sales by month: the top {LEADERS} and the rest"
        if len(ranking) > LEADERS
        else "Net sales by restaurant and month"
    )
    ui.chart(_leaders_by_month(filters, leaders), "order_month", "net_sales", color="restaurant",
             filters=filters)  # fmt: skip


ui.run_page(render)
