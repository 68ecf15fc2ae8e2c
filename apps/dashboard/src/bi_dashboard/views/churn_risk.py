"""Churn risk: customers who stopped ordering, what they were worth, and who to win back first."""

from __future__ import annotations

import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session
from bi_metrics.labels import CHURN_RISKS

_COUNTS = """
SELECT * FROM (
    SELECT churn_risk, count(*) AS customers, sum(clv) AS lifetime_value,
           sum(spend_prev_30) AS spend_30_days_before, sum(spend_last_30) AS spend_last_30_days,
           CAST(avg(days_since_last_order) AS DOUBLE) AS average_days_since_last_order
    FROM dim_customer_snapshot GROUP BY ALL
) ORDER BY array_position(?, churn_risk)
"""
_CUSTOMERS = """
SELECT user_id, churn_risk, rfm_segment, days_since_last_order, avg_gap_days, lifetime_orders, clv,
       spend_last_30, spend_prev_30, spend_change_pct, loyalty_member, last_order_date
FROM dim_customer_snapshot WHERE churn_risk IN ? ORDER BY clv DESC, user_id
"""
_SPEND_CHANGE = """
SELECT * FROM (
    SELECT churn_risk, count(*) FILTER (WHERE spend_change_pct < 0) AS spending_less,
           count(*) FILTER (WHERE spend_change_pct >= 0) AS spending_same_or_more,
           count(*) FILTER (WHERE spend_change_pct IS NULL) AS no_spend_in_the_30_days_before
    FROM dim_customer_snapshot GROUP BY ALL
) ORDER BY array_position(?, churn_risk)
"""
AT_STAKE = ("at_risk", "churned")
SHOWN_CUSTOMERS = 1_000
# What a person calling customers back needs, in a laptop's width; the CSV has every indicator.
# (Spend in the last 30 days is nothing for all of them: none ordered in the last 45.)
SHOWN_COLUMNS = ("user_id", "churn_risk", "days_since_last_order", "clv", "spend_prev_30", "last_order_date")


def render() -> None:
    st.title("Churn risk")
    st.caption(
        "At the snapshot date: active (last order at most 45 days before), at risk (46 to 90 days), "
        "churned (over 90 days). Every customer at the snapshot date, across every restaurant."
    )
    order = list(CHURN_RISKS)
    counts = session.sql(_COUNTS, order)
    if not counts.rows:
        ui.no_data("customers")
        return
    left, right = st.columns(2)
    with left:
        ui.chart(counts, "churn_risk", "customers", kind="bar", title="Customers")
    with right:
        ui.chart(counts, "churn_risk", "lifetime_value", kind="bar", title="Lifetime value at stake")
    ui.table(counts)
    st.subheader("Spend change, last 30 days against the 30 before")
    ui.table(session.sql(_SPEND_CHANGE, order))
    st.subheader("Customers at risk and churned, most valuable first")
    show = st.multiselect(
        "Show", AT_STAKE, default=AT_STAKE, format_func=CHURN_RISKS.__getitem__, key="churn_show"
    )
    risks = list(show or AT_STAKE)
    # Only the rows shown are read at each rerun: at ten times the default size the whole list (some
    # 190,000 customers) took 0.7 s to copy out of the cache every time, the CSV has them all.
    customers = session.sql(_CUSTOMERS + " LIMIT ?", risks, SHOWN_CUSTOMERS)
    if customers.rows:
        ui.table(
            customers,
            columns=SHOWN_COLUMNS,
            rows_said="customers",
            download="customers-at-risk.csv",
            total=session.count(_CUSTOMERS, risks),
            csv=session.deferred_csv(_CUSTOMERS, risks),
        )
    else:
        st.info("No customer is at risk or churned at the snapshot date.")


ui.run_page(render)
