"""Pricing and discount effectiveness: discounted orders against full-price orders."""

from __future__ import annotations

import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session

SHARE_KPIS = ("discounted_order_share", "discount_rate", "discount_amount", "discounted_orders")
COMPARED = ("orders", "net_sales", "aov", "gross_sales", "discount_amount", "discount_rate", "items_sold")


def render() -> None:
    filters = session.filters()
    st.title("Pricing and discounts")
    ui.filters_caption(filters)
    totals = session.ask(filters.question(("orders", "discounted_orders")))
    if not totals.first("orders"):
        ui.no_data("orders")
        return
    if not totals.first("discounted_orders"):
        st.info("No order in this range had a discount: there is nothing to compare with full-price orders.")
        return
    ui.kpi_tiles(SHARE_KPIS, filters)
    st.subheader("Discounted against full-price orders")
    compared = session.ask(filters.question(COMPARED, by=("is_discounted",)))
    ui.table(compared)
    left, right = st.columns(2)
    with left:
        ui.chart(compared, "is_discounted", "aov", kind="bar", title="Average order value")
    with right:
        ui.chart(compared, "is_discounted", "orders", kind="bar", title="Orders")
    st.subheader("Discounted order share by week")
    weekly = session.ask(filters.question(("discounted_order_share", "discount_rate"), by=("order_week",)))
    ui.chart(weekly, "order_week", "discounted_order_share", filters=filters)
    st.subheader("Discount rate by category")
    ui.bar_ranking(
        session.ask(filters.question(("discount_rate", "discount_amount"), by=("item_category",))),
        "item_category",
        "discount_rate",
    )


ui.run_page(render)
