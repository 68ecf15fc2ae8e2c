"""Customer lifetime value: how it is distributed, its tiers, and how it grew month by month."""

from __future__ import annotations

from decimal import Decimal

import streamlit as st

from bi_contracts import customers as rules
from bi_contracts.money import TOTAL
from bi_dashboard import components as ui
from bi_dashboard import session
from bi_dashboard.session import Result
from bi_metrics.formatting import currency_symbol

# Each customer's lifetime value at the end of every month of the range (the range's end for its last
# month), from the running totals, and the tier it had then: the same PERCENT_RANK rule as at S.
_CLV_BY_MONTH = f"""
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
       CASE WHEN clv_percent_rank >= {rules.HIGH_TIER} THEN '{rules.HIGH}'
            WHEN clv_percent_rank >= {rules.MEDIUM_TIER} THEN '{rules.MEDIUM}'
            ELSE '{rules.LOW}' END AS clv_tier,
       count(*) AS customers, sum(clv) AS lifetime_value, CAST(avg(clv) AS {TOTAL.sql}) AS average_clv
FROM ranked GROUP BY ALL ORDER BY ALL
"""
_TIERS = f"""
SELECT clv_tier, count(*) AS customers, sum(clv) AS lifetime_value,
       CAST(avg(clv) AS {TOTAL.sql}) AS average_clv, min(clv) AS lowest_clv, max(clv) AS highest_clv
FROM dim_customer_snapshot GROUP BY ALL ORDER BY lowest_clv DESC
"""
# Customers by lifetime value band: bands that widen with the amount (1, 2.5, 5 x 10^k), since a few
# customers spend a hundred times what most do.
_BANDS = """
WITH bands AS (SELECT unnest(?) AS band_from, unnest(?) AS band_to)
SELECT band_from, count(*) AS customers, sum(clv) AS lifetime_value
FROM dim_customer_snapshot JOIN bands ON clv >= band_from AND clv < band_to
GROUP BY ALL ORDER BY band_from
"""
_HIGHEST = "SELECT max(clv) FROM dim_customer_snapshot"


def band_edges(highest: float) -> list[Decimal]:
    """0, 10, 25, 50, 100, 250, ... up to the first edge above the highest value."""
    edges, power = [Decimal(0)], Decimal(10)
    while edges[-1] <= Decimal(str(highest)):
        edges.extend(power * step for step in (Decimal(1), Decimal("2.5"), Decimal(5)))
        power *= 10
    while len(edges) > 2 and edges[-2] > Decimal(str(highest)):
        edges.pop()
    return edges


# Band edges are 1, 2.5 or 5 times a power of ten: in thousands or millions they stay short.
_UNITS = ((10**9, "B"), (10**6, "M"), (10**3, "K"), (1, ""))


def band_label(low: Decimal, high: Decimal, currency: str) -> str:
    """$10 to $25, $2.5K to $5K, $1M to $2.5M: short enough that every band of the axis is labelled."""

    def edge(amount: Decimal) -> str:
        size, unit = next(((size, unit) for size, unit in _UNITS if amount >= size), (1, ""))
        return f"{currency_symbol(currency)}{float(amount) / size:g}{unit}"

    return f"{edge(low)} to {edge(high)}"


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
    st.subheader("Tiers at the snapshot date")
    ui.table(tiers)
    # One above the other: side by side, the bands' labels would not all fit at 1280 pixels.
    st.subheader("Customers by lifetime value")
    highest = session.sql(_HIGHEST).first("max(clv)")
    edges = band_edges(float(highest) if isinstance(highest, Decimal) else 0.0)
    bands = session.sql(_BANDS, edges[:-1], edges[1:])
    currency = session.currency()
    labelled = Result(
        ("clv_band", "customers", "lifetime_value"),
        tuple(
            (band_label(low, edges[edges.index(low) + 1], currency), customers, value)
            for low, customers, value in bands.rows
            if isinstance(low, Decimal)
        ),
    )
    ui.chart(labelled, "clv_band", "customers", kind="bar", ordered=True)
    st.caption("Bands widen with the amount: most customers spend little, a few spend a great deal.")
    st.subheader("Average lifetime value by tier")
    st.caption("At each month end of the range, with the tiers the customers had then.")
    evolution = session.sql(_CLV_BY_MONTH, filters.end, filters.start, filters.end)
    ui.chart(evolution, "month_end", "average_clv", color="clv_tier", filters=filters)
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
