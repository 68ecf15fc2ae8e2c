"""Churn risk: customers who stopped ordering, with the indicators that show it coming."""

from __future__ import annotations

import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session

_COUNTS = """
SELECT churn_risk, count(*) AS customers, sum(clv) AS lifetime_value,
       CAST(avg(days_since_last_order) AS DOUBLE) AS average_days_since_last_order
FROM dim_customer_snapshot GROUP BY ALL
ORDER BY churn_risk
"""
_CUSTOMERS = """
SELECT user_id, churn_risk, rfm_segment, days_since_last_order, avg_gap_days, lifetime_orders, clv,
       spend_last_30, spend_prev_30, spend_change_pct, loyalty_member, last_order_date
FROM dim_customer_snapshot WHERE churn_risk IN ? ORDER BY clv DESC, user_id LIMIT 500
"""
_SPEND_CHANGE = """
SELECT churn_risk, count(*) FILTER (WHERE spend_change_pct < 0) AS spending_less,
       count(*) FILTER (WHERE spend_change_pct >= 0) AS spending_same_or_more,
       count(*) FILTER (WHERE spend_change_pct IS NULL) AS no_spend_in_previous_30_days
FROM dim_customer_snapshot GROUP BY ALL
ORDER BY churn_risk
"""


def render() -> None:
    st.title("Churn risk")
    st.caption(
        "At the snapshot date: active (last order at most 45 days before), at risk (46 to 90 days), "
        "churned (over 90 days). Spend change compares the last 30 days with the 30 before them. "
        "Every customer at the snapshot date, across every restaurant: the sidebar filters do not apply here."
    )
    counts = session.sql(_COUNTS)
    if not counts.rows:
        ui.no_data("customers")
        return
    left, right = st.columns(2)
    with left:
        st.subheader("Customers by churn risk")
        ui.table(counts)
    with right:
        st.subheader("Spend change")
        ui.table(session.sql(_SPEND_CHANGE))
    st.subheader("Customers at risk and churned, most valuable first")
    show = st.multiselect("Show", ["at_risk", "churned"], default=["at_risk", "churned"], key="churn_show")
    customers = session.sql(_CUSTOMERS, show or ["at_risk", "churned"])
    if customers.rows:
        ui.table(customers, height=420)
        st.caption(f"{len(customers.rows):,} customer(s) shown (at most 500).")
    else:
        st.info("No customer is at risk or churned at the snapshot date.")


ui.run_page(render)
