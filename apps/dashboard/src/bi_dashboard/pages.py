"""The dashboard's pages, declared once: the navigation is built from this list, and the tests visit
every page in it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    script: str  # relative to app.py
    title: str
    icon: str
    section: str
    # Why the sidebar's filters do not apply here (they are disabled on the page); None: they apply.
    unfiltered: str | None = None

    @property
    def url_path(self) -> str:
        """The page's path in the app's URL: the first page is the app's root."""
        return "" if self is PAGES[0] else self.script.removeprefix("views/").removesuffix(".py")

    @property
    def name(self) -> str:
        return self.script.removeprefix("views/").removesuffix(".py")


PAGES: tuple[PageSpec, ...] = (
    PageSpec("views/overview.py", "Overview", ":material/dashboard:", "Business"),
    PageSpec("views/customer_value.py", "Customer lifetime value", ":material/savings:", "Questions"),
    PageSpec("views/rfm_segments.py", "RFM segments", ":material/group_work:", "Questions"),
    PageSpec(
        "views/churn_risk.py",
        "Churn risk",
        ":material/person_off:",
        "Questions",
        "the churn page shows every customer at the snapshot date",
    ),
    PageSpec("views/sales_trends.py", "Sales trends", ":material/show_chart:", "Questions"),
    PageSpec("views/loyalty.py", "Loyalty program", ":material/loyalty:", "Questions"),
    PageSpec("views/locations.py", "Locations", ":material/storefront:", "Questions"),
    PageSpec("views/discounts.py", "Pricing and discounts", ":material/sell:", "Questions"),
    PageSpec("views/explore.py", "Explore", ":material/query_stats:", "Tools"),
    PageSpec(
        "views/data_health.py",
        "Data health",
        ":material/monitor_heart:",
        "Tools",
        "data health describes the whole lake",
    ),
)
PAGES_BY_TITLE = {page.title: page for page in PAGES}

# The Overview's KPI tiles (the tests compare them with `bi query`).
OVERVIEW_KPIS = ("net_sales", "orders", "aov", "customers", "discount_rate")
