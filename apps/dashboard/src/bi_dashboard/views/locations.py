"""Location performance: restaurants ranked, with their growth against the period before."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bi_dashboard import components as ui
from bi_dashboard import session

RANKED = ("net_sales", "orders", "aov", "customers", "discount_rate")


def render() -> None:
    filters = session.filters()
    previous = filters.previous()
    comparable = filters.has_previous_period(session.bounds())
    st.title("Locations")
    ui.filters_caption(
        filters,
        f"Growth against {previous.start} .. {previous.end}"
        if comparable
        else "No growth shown: the data does not cover the whole period before this one",
    )
    now = session.ask(filters.question(RANKED, by=("restaurant_id",)))
    if not now.rows:
        ui.no_data("orders")
        return
    before = session.ask(previous.question(("net_sales", "orders"), by=("restaurant_id",))).frame()
    if not comparable:
        before = before.iloc[0:0]
    ranking = (
        ui.display_frame(now)
        .merge(
            before.rename(columns={"net_sales": "previous_net_sales", "orders": "previous_orders"}),
            on="restaurant_id",
            how="left",
        )
        .astype({"previous_net_sales": "float64", "previous_orders": "float64"})
    )
    ranking["net_sales_growth_pct"] = (ranking["net_sales"] / ranking["previous_net_sales"] - 1) * 100
    ranking["orders_growth_pct"] = (ranking["orders"] / ranking["previous_orders"] - 1) * 100
    ranking = ranking.sort_values("net_sales", ascending=False).reset_index(drop=True)
    ranking.insert(0, "rank", pd.RangeIndex(1, len(ranking) + 1))
    st.subheader("Ranking by net sales")
    ui.chart(now, "restaurant_id", "net_sales", kind="bar", sort_by_value=True)
    st.dataframe(
        ranking,
        hide_index=True,
        width="stretch",
        column_config={
            "restaurant_id": st.column_config.Column(ui.label("restaurant_id")),
            "net_sales": st.column_config.NumberColumn(ui.label("net_sales"), format="%.2f"),
            "previous_net_sales": st.column_config.NumberColumn("Net sales before", format="%.2f"),
            "net_sales_growth_pct": st.column_config.NumberColumn("Net sales growth", format="%+.1f%%"),
            "orders": st.column_config.NumberColumn(ui.label("orders"), format="%d"),
            "previous_orders": st.column_config.NumberColumn("Orders before", format="%d"),
            "orders_growth_pct": st.column_config.NumberColumn("Orders growth", format="%+.1f%%"),
            "aov": st.column_config.NumberColumn(ui.label("aov"), format="%.2f"),
            "customers": st.column_config.NumberColumn(ui.label("customers"), format="%d"),
            "discount_rate": st.column_config.NumberColumn(ui.label("discount_rate"), format="%.2f%%"),
        },
    )
    st.subheader("Net sales by restaurant and month")
    ui.chart(
        session.ask(filters.question(("net_sales",), by=("order_month", "restaurant_id"))),
        "order_month",
        "net_sales",
        color="restaurant_id",
    )


ui.run_page(render)
