"""Customer lifetime value: how it is distributed, its tiers, and how it grew month by month."""

from __future__ import annotations

import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session

# Each customer's lifetime value at the end of every month of the range (the range's end for its last
# month), from the running totals, and the tier it had then: the same PERCENT_RANK rule as at S.
_CLV_BY_MONTH = """
WITH months AS (
    SELECT DISTINCT least(last_day(order_date), CAST(? AS DATE)) AS month_end
    FROM dim_calendar WHERE order_date BETWEEN ? AND ?
), latest AS (
    SELECT m.month_end, c.user_id, arg_max(c.clv, c.order_date) AS clv
    FROM months m JOIN agg_customer_clv_daily c ON c.order_date <= m.month_end
    GROUP BY ALL
), ranked AS (
    SELECT *, PERCENT_RANK() OVER (PARTITION BY month_end ORDER BY clv) AS clv_percent_rank FROM latest
)
SELECT month_end,
       CASE WHEN clv_percent_rank >= 0.8 THEN 'High' WHEN clv_percent_rank >= 0.2 THEN 'Medium' ELSE 'Low' END
           AS clv_tier,
       count(*) AS customers, sum(clv) AS lifetime_value, CAST(avg(clv) AS DECIMAL(28, 2)) AS average_clv
FROM ranked GROUP BY ALL ORDER BY ALL
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
    st.caption("Each month's tiers are those the customers had at its end.")
    evolution = session.sql(_CLV_BY_MONTH, filters.end, filters.start, filters.end)
    ui.chart(evolution, "month_end", "average_clv", color="clv_tier")
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
