"""Loyalty program impact: members against non-members, and loyalty orders against the others."""

from __future__ import annotations

import streamlit as st

from bi_contracts.money import TOTAL
from bi_dashboard import components as ui
from bi_dashboard import session
from bi_dashboard.session import Result

MEMBER_METRICS = ("customers", "aov", "orders_per_customer", "repeat_rate", "net_sales_per_customer")
_CLV = f"""
SELECT loyalty_member, count(*) AS customers, CAST(avg(clv) AS {TOTAL.sql}) AS average_clv,
       CAST(median(clv) AS {TOTAL.sql}) AS median_clv
FROM dim_customer_snapshot GROUP BY ALL ORDER BY loyalty_member DESC
"""


def render() -> None:
    filters = session.filters()
    st.title("Loyalty program")
    st.caption(
        "A member is a customer whose most recent order (up to the snapshot date) used the loyalty program."
    )
    ui.filters_caption(filters)
    members = session.ask(filters.question(MEMBER_METRICS, by=("loyalty_member",)))
    if not members.rows:
        ui.no_data("orders")
        return
    st.subheader("Members against non-members in the range")
    ui.table(members)
    # Guests have no membership and, having no account, no repeat rate or orders per customer.
    customers = Result(
        members.columns, tuple(row for row in members.rows if row[0] is not None), members.dataset
    )
    left, right = st.columns(2)
    with left:
        ui.chart(customers, "loyalty_member", "aov", kind="bar", title="Average order value")
    with right:
        ui.chart(customers, "loyalty_member", "repeat_rate", kind="bar", title="Repeat rate")
    st.subheader("Lifetime value of members and non-members")
    st.caption("Every customer at the snapshot date, across every restaurant.")
    ui.table(session.sql(_CLV))
    st.subheader("Loyalty orders against other orders")
    ui.table(
        session.ask(filters.question(("orders", "net_sales", "aov", "discount_rate"), by=("is_loyalty",)))
    )


ui.run_page(render)
