"""RFM segments: who the customers are by recency, frequency and spend, and what each segment brings."""

from __future__ import annotations

import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session

_COUNTS = """
SELECT * FROM (
    SELECT rfm_segment, count(*) AS customers, sum(monetary) AS net_sales_365_days,
           CAST(avg(frequency) AS DOUBLE) AS average_orders_365_days,
           CAST(avg(recency_days) AS DOUBLE) AS average_recency_days
    FROM dim_customer_snapshot GROUP BY ALL
) ORDER BY array_position(['New', 'VIP', 'Regular', 'Churn Risk', 'Lost', 'Inactive'], rfm_segment)
"""
_BY_SCORE = """
SELECT rfm_segment, CAST(r_score AS VARCHAR) AS r_score, count(*) AS customers
FROM dim_customer_snapshot WHERE r_score IS NOT NULL GROUP BY ALL
"""


def render() -> None:
    filters = session.filters()
    st.title("RFM segments")
    st.caption(
        "Segments at the snapshot date over the 365 days before it, the first that applies: New (first "
        "order in the last 30 days), Lost (no order for over 90 days), Churn Risk (none for 46 to 90 "
        "days: the churn page's churned and at risk), VIP (every score 4 or 5), "
        "Regular; customers with no order in the 365 days are Inactive. The counts and the score view are "
        "of every customer at the snapshot date; the sales below follow the filters."
    )
    counts = session.sql(_COUNTS)
    if not counts.rows:
        ui.no_data("customers")
        return
    left, right = st.columns(2)
    with left:
        st.subheader("Customers by segment")
        ui.table(counts)
    with right:
        st.subheader("Segment x recency score")
        ui.heatmap(session.sql(_BY_SCORE), "r_score", "rfm_segment", "customers")
    st.subheader("Sales in the range by segment")
    ui.filters_caption(filters)
    result = session.ask(
        filters.question(("net_sales", "customers", "orders", "aov", "repeat_rate"), by=("rfm_segment",))
    )
    if not result.rows:
        ui.no_data("orders")
        return
    ui.chart(result, "rfm_segment", "net_sales", kind="bar", sort_by_value=True)
    ui.table(result)


ui.run_page(render)
