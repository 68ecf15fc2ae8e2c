"""RFM segments: who the customers are by recency, frequency and spend, and what each segment brings."""

from __future__ import annotations

import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session
from bi_metrics.labels import RFM_SEGMENTS

_COUNTS = """
SELECT * FROM (
    SELECT rfm_segment, count(*) AS customers, sum(monetary) AS net_sales_365_days,
           CAST(avg(frequency) AS DOUBLE) AS average_orders_365_days,
           CAST(avg(recency_days) AS DOUBLE) AS average_days_since_last_order
    FROM dim_customer_snapshot GROUP BY ALL
) ORDER BY array_position(?, rfm_segment)
"""


def render() -> None:
    filters = session.filters()
    st.title("RFM segments")
    st.caption(
        "Segments at the snapshot date over the 365 days before it, the first that applies: New (first "
        "order in the last 30 days), Lost (no order for over 90 days), Churn Risk (none for 46 to 90 "
        "days: the churn page's churned and at risk), VIP (every score 4 or 5), "
        "Regular; customers with no order in the 365 days are Inactive. The counts are of every customer at "
        "the snapshot date; the sales below follow the filters."
    )
    counts = session.sql(_COUNTS, list(RFM_SEGMENTS))
    if not counts.rows:
        ui.no_data("customers")
        return
    st.subheader("Customers by segment")
    ui.table(counts)
    left, right = st.columns(2)
    with left:
        ui.chart(counts, "rfm_segment", "customers", kind="bar", title="Customers")
    with right:
        ui.chart(counts, "rfm_segment", "net_sales_365_days", kind="bar", title="Net sales in the 365 days")
    st.subheader("Sales in the range by segment")
    ui.filters_caption(filters)
    result = session.ask(
        filters.question(("net_sales", "customers", "orders", "aov", "repeat_rate"), by=("rfm_segment",))
    )
    if not result.rows:
        ui.no_data("orders")
        return
    ui.chart(result, "rfm_segment", "net_sales", kind="bar")
    ui.table(result)


ui.run_page(render)
