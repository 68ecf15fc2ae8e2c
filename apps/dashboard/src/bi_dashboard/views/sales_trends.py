"""Sales trends and seasonality: by day, week or month, weekday x month, and holidays against other days."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session
from bi_metrics.labels import WEEKDAYS, value_text

GRAINS = {"order_date": "Day", "order_week": "Week", "order_month": "Month"}
# Calendar days of each weekday in each month of the range, orders or not: the heatmap's denominator,
# so a month with five Fridays does not look hotter for it.
_WEEKDAY_DAYS = """
SELECT day_of_week, order_month, count(*) AS days FROM dim_calendar
WHERE order_date BETWEEN ? AND ? GROUP BY ALL
"""
_HOLIDAY_DAYS = """
SELECT is_holiday, count(*) AS days FROM dim_calendar WHERE order_date BETWEEN ? AND ? GROUP BY ALL
"""


def _per_day(totals: pd.DataFrame, days: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    """Totals per calendar day: days without orders count, with nothing sold."""
    merged = days.merge(totals, on=on, how="left").fillna({"net_sales": 0.0, "orders": 0})
    merged["net_sales_per_day"] = (merged["net_sales"].astype("float64") / merged["days"]).round(2)
    if "orders" in merged:
        merged["orders_per_day"] = (merged["orders"].astype("float64") / merged["days"]).round(1)
    return merged


def render() -> None:
    filters = session.filters()
    st.title("Sales trends")
    ui.filters_caption(filters)
    grain = st.radio(
        "Trend by", list(GRAINS), format_func=GRAINS.__getitem__, horizontal=True, key="trend_grain"
    )
    trend = session.ask(filters.question(("net_sales", "orders", "aov"), by=(grain,)))
    if not trend.rows:
        ui.no_data("orders")
        return
    left, right = st.columns(2)
    with left:
        st.subheader(f"Net sales by {GRAINS[grain].lower()}")
        ui.chart(trend, grain, "net_sales", filters=filters)
    with right:
        st.subheader(f"Average order value by {GRAINS[grain].lower()}")
        ui.chart(trend, grain, "aov", filters=filters)
    st.subheader("Average net sales per day, by weekday and month")
    st.caption("Each cell is the month's net sales on that weekday divided by the number of such days.")
    by_cell = session.ask(filters.question(("net_sales",), by=("day_of_week", "order_month"))).frame()
    days = session.sql(_WEEKDAY_DAYS, filters.start, filters.end).frame()
    cells = _per_day(by_cell, days, ["day_of_week", "order_month"]).sort_values("order_month")
    cells["order_month"] = [value_text("order_month", d.date()) for d in cells["order_month"]]
    ui.heatmap(
        cells,
        "day_of_week",
        "order_month",
        "net_sales_per_day",
        x_order=WEEKDAYS,
        y_order=list(dict.fromkeys(cells["order_month"])),
    )
    st.subheader("Holidays against ordinary days")
    st.caption("Per calendar day in the range, days without orders included.")
    totals = session.ask(filters.question(("net_sales", "orders"), by=("is_holiday",))).frame()
    per_day = _per_day(totals, session.sql(_HOLIDAY_DAYS, filters.start, filters.end).frame(), ["is_holiday"])
    per_day["is_holiday"] = [value_text("is_holiday", bool(v)) for v in per_day["is_holiday"]]
    ui.frame_table(
        per_day[["is_holiday", "days", "net_sales_per_day", "orders_per_day"]].sort_values("is_holiday"),
        {"days": "count", "net_sales_per_day": "currency", "orders_per_day": "number"},
    )
    holidays = session.ask(
        filters.question(
            ("net_sales", "orders", "aov"),
            by=("holiday_name", "order_date"),
            extra=(("is_holiday", (True,)),),
        )
    )
    if holidays.rows:
        st.subheader("Each holiday")
        ui.table(holidays)
    else:
        st.info("No holiday falls in this date range.")


ui.run_page(render)
