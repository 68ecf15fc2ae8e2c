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
    st.caption("Per calendar day in the range, days without orders included.")
    days = session.sql(
        "SELECT is_holiday, count(*) AS days FROM dim_calendar WHERE order_date BETWEEN ? AND ? GROUP BY ALL",
        filters.start,
        filters.end,
    )
    totals = session.ask(filters.question(("net_sales", "orders"), by=("is_holiday",))).frame()
    per_day = days.frame().merge(totals, on="is_holiday", how="left").fillna({"net_sales": 0.0, "orders": 0})
    per_day["net_sales_per_day"] = (per_day["net_sales"] / per_day["days"]).round(2)
    per_day["orders_per_day"] = (per_day["orders"] / per_day["days"]).round(2)
    per_day["is_holiday"] = per_day["is_holiday"].map({True: "Holidays", False: "Ordinary days"})
    st.dataframe(
        per_day[["is_holiday", "days", "net_sales_per_day", "orders_per_day"]],
        hide_index=True,
        width="stretch",
        column_config={"is_holiday": st.column_config.Column("Days"), "days": "Calendar days"},
    )
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
