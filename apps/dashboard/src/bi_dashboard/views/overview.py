"""Overview: the headline numbers of the period against the period before it, and the daily trend."""

from __future__ import annotations

import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session
from bi_dashboard.pages import OVERVIEW_KPIS

DAILY_UP_TO_DAYS = 92


def render() -> None:
    filters = session.filters()
    st.title("Overview")
    ui.filters_caption(filters)
    ui.kpi_tiles(OVERVIEW_KPIS, filters)
    # A quarter reads by day; a longer range by week, where a day's noise would hide the trend.
    grain, unit = ("order_date", "day") if filters.days <= DAILY_UP_TO_DAYS else ("order_week", "week")
    trend = session.ask(filters.question(("net_sales", "orders"), by=(grain,)))
    if not trend.rows:
        ui.no_data("orders")
        return
    left, right = st.columns(2)
    with left:
        st.subheader(f"Net sales by {unit}")
        ui.chart(trend, grain, "net_sales", filters=filters)
    with right:
        st.subheader(f"Orders by {unit}")
        ui.chart(trend, grain, "orders", filters=filters)


ui.run_page(render)
