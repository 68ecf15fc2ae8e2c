"""Sales trends and seasonality: by day, week or month, weekday x month, and holidays against other days."""

from __future__ import annotations

import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session

GRAINS = {"order_date": "Day", "order_week": "Week", "order_month": "Month"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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
        ui.chart(trend, grain, "net_sales")
    with right:
        st.subheader(f"Average order value by {GRAINS[grain].lower()}")
        ui.chart(trend, grain, "aov")
    st.subheader("Net sales by weekday and month")
    ui.heatmap(
        session.ask(filters.question(("net_sales",), by=("day_of_week", "order_month"))),
        "day_of_week",
        "order_month",
        "net_sales",
        x_sort=WEEKDAYS,
    )
    st.subheader("Holidays against ordinary days")
    daily = session.ask(filters.question(("net_sales", "orders"), by=("is_holiday", "order_date"))).frame()
    per_day = daily.groupby("is_holiday").agg(
        days=("order_date", "nunique"),
        net_sales_per_day=("net_sales", "mean"),
        orders_per_day=("orders", "mean"),
    )
    per_day.index = per_day.index.map({True: "Holidays", False: "Ordinary days"})
    st.dataframe(per_day.round(2), width="stretch")
    holidays = session.ask(
        filters.question(
            ("net_sales", "orders", "aov"),
            by=("holiday_name", "order_date"),
            extra=(("is_holiday", (True,)),),
        )
    )
    if holidays.rows:
        ui.table(holidays)
    else:
        st.info("No holiday falls in this date range.")


ui.run_page(render)
