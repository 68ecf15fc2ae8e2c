"""Customer lifetime value: how it is distributed, its tiers, and how it grew month by month."""

from __future__ import annotations

import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session

# Each customer's lifetime value at the end of every month of the range, from the running totals.
_CLV_BY_MONTH = """
WITH months AS (
    SELECT DISTINCT last_day(order_date) AS month_end FROM dim_calendar WHERE order_date BETWEEN ? AND ?
), latest AS (
    SELECT m.month_end, c.user_id, arg_max(c.clv, c.order_date) AS clv
    FROM months m JOIN agg_customer_clv_daily c ON c.order_date <= m.month_end
    GROUP BY ALL
)
SELECT l.month_end, s.clv_tier, count(*) AS customers, sum(l.clv) AS lifetime_value,
       CAST(avg(l.clv) AS DECIMAL(28, 2)) AS average_clv
FROM latest l JOIN dim_customer_snapshot s USING (user_id)
GROUP BY ALL ORDER BY ALL
"""
_TIERS = """
SELECT clv_tier, count(*) AS customers, sum(clv) AS lifetime_value,
       CAST(avg(clv) AS DECIMAL(28, 2)) AS average_clv, min(clv) AS lowest_clv, max(clv) AS highest_clv
FROM dim_customer_snapshot GROUP BY ALL ORDER BY lowest_clv DESC
"""
# Twenty equal-width bins between the lowest and highest lifetime value.
_DISTRIBUTION = """
WITH bounds AS (
    SELECT min(clv) AS lo, greatest(max(clv) - min(clv), 0.01) AS width FROM dim_customer_snapshot
)
SELECT CAST(lo + width / 20 * least(floor((clv - lo) / (width / 20)), 19) AS DECIMAL(28, 2)) AS clv_from,
       count(*) AS customers
FROM dim_customer_snapshot, bounds GROUP BY ALL ORDER BY 1
"""


def render() -> None:
    filters = session.filters()
    st.title("Customer lifetime value")
    st.caption(
        "Lifetime value is each customer's net sales up to the snapshot date, across every restaurant "
        "and app; tiers split customers by their rank (High: top 20%, Low: bottom 20%). The date range "
        "picks the months of the evolution and the sales by tier."
    )
    tiers = session.sql(_TIERS)
    if not tiers.rows:
        ui.no_data("customers")
        return
    left, right = st.columns(2)
    with left:
        st.subheader("Tiers at the snapshot date")
        ui.table(tiers)
    with right:
        st.subheader("Distribution")
        ui.chart(session.sql(_DISTRIBUTION), "clv_from", "customers", kind="bar")
    st.subheader("Average lifetime value by tier, at each month end")
    ui.chart(
        session.sql(_CLV_BY_MONTH, filters.start, filters.end), "month_end", "average_clv", color="clv_tier"
    )
    st.subheader("Sales in the range by tier")
    ui.filters_caption(filters)
    by_tier = session.ask(
        filters.question(("net_sales", "customers", "net_sales_per_customer", "aov"), by=("clv_tier",))
    )
    if by_tier.rows:
        ui.table(by_tier)
    else:
        ui.no_data("orders")


ui.run_page(render)
