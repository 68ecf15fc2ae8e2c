"""Overview: the headline numbers of the period against the period before it, and the daily trend."""

from __future__ import annotations

import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session
from bi_dashboard.pages import OVERVIEW_KPIS


def render() -> None:
    filters = session.filters()
    st.title("Overview")
    ui.filters_caption(filters)
    ui.kpi_tiles(OVERVIEW_KPIS, filters)
    daily = session.ask(filters.question(("net_sales", "orders"), by=("order_date",)))
    if not daily.rows:
        ui.no_data("orders")
        return
    left, right = st.columns(2)
    with left:
        st.subheader("Net sales by day")
        ui.chart(daily, "order_date", "net_sales")
    with right:
        st.subheader("Orders by day")
        ui.chart(daily, "order_date", "orders")


ui.run_page(render)
