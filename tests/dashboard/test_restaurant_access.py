"""A signed-in user limited to some restaurants, through every page of the dashboard on a real Gold:
only those restaurants' numbers, equal to `bi query --where restaurant_id=...` for them.

The session's user is the one the load balancer's identity named (tests/dashboard/test_identity.py
verifies that part); here it is set in the session as the app stores it after verifying."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from streamlit.testing.v1 import AppTest

from bi_cli.main import main as bi_main
from bi_dashboard.identity import User
from bi_dashboard.pages import OVERVIEW_KPIS as KPIS
from bi_dashboard.pages import PAGES, PageSpec
from bi_lake.settings import Settings
from bi_metrics.catalogue import METRICS_BY_NAME
from bi_metrics.formatting import metric_text
from tests.conftest import OpenApp
from tests.dashboard.test_pages import SNAPSHOT, assert_clean, bi_query, restaurants, tiles

pytestmark = pytest.mark.spark

CUSTOMER_PAGES = {"customer_value", "rfm_segments", "churn_risk"}
NORTH = User(name="ana@example.com", groups=("north",), subject="5f3e")


@pytest.fixture
def allowed_and_others(
    gold_lake: Settings, capsys: pytest.CaptureFixture[str]
) -> tuple[list[str], list[str]]:
    every = restaurants(capsys, gold_lake.lake)
    return [every[0], every[2]], [r for i, r in enumerate(every) if i not in (0, 2)]


def signed_in_env(allowed: list[str]) -> dict[str, str]:
    return {
        "BI_DASHBOARD_SIGN_IN": "alb",
        "BI_DASHBOARD_LOAD_BALANCER_ARN": "arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/x/1",
        # Never asked: the session's user is already verified.
        "BI_DASHBOARD_PUBLIC_KEYS_URL": "http://127.0.0.1:9",
        "BI_DASHBOARD_RESTAURANT_ACCESS": json.dumps({"north": allowed, "south": ["elsewhere"]}),
    }


def open_as_north(
    open_app: OpenApp, lake: str, allowed: list[str], page: str | None = None, **params: str
) -> AppTest:
    return open_app(lake, page, env=signed_in_env(allowed), state={"bi_user": NORTH}, **params)


def shown_restaurants(app: AppTest) -> set[str]:
    """Every restaurant a table of the page shows, by id or by name."""
    found: set[str] = set()
    for frame in app.dataframe:
        for column in ("restaurant_id", "restaurant_name"):
            if column in frame.value.columns:
                found |= set(frame.value[column].dropna())
    return found


def names_of(capsys: pytest.CaptureFixture[str], lake: str) -> dict[str, str]:
    capsys.readouterr()
    assert bi_main(["query", "orders", "--by", "restaurant_id,restaurant_name", "--format", "json",
                    "--lake", lake]) == 0  # fmt: skip
    return {row["restaurant_id"]: row["restaurant_name"] for row in json.loads(capsys.readouterr().out)}


def test_the_sidebar_offers_only_the_users_restaurants_and_names_the_user(
    gold_lake: Settings,
    open_app: OpenApp,
    allowed_and_others: tuple[list[str], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    allowed, _ = allowed_and_others
    app = open_as_north(open_app, gold_lake.lake, allowed)
    assert_clean(app)
    names = names_of(capsys, gold_lake.lake)
    # The widget offers the restaurants by name (and filters by id).
    assert sorted(app.sidebar.multiselect(key="f_restaurants").options) == sorted(names[r] for r in allowed)
    assert any(
        c.value.startswith("Signed in as ana@example.com, 2 restaurant(s)") for c in app.sidebar.caption
    )


def test_overview_tiles_equal_bi_query_for_the_users_restaurants(
    gold_lake: Settings,
    open_app: OpenApp,
    allowed_and_others: tuple[list[str], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    allowed, _ = allowed_and_others
    app = open_as_north(open_app, gold_lake.lake, allowed)
    assert_clean(app)
    start = SNAPSHOT - dt.timedelta(days=89)
    where = [arg for r in allowed for arg in ("--where", f"restaurant_id={r}")]
    expected = bi_query(capsys, gold_lake.lake, KPIS, "--start", str(start), "--end", str(SNAPSHOT), *where)
    everyone = bi_query(capsys, gold_lake.lake, KPIS, "--start", str(start), "--end", str(SNAPSHOT))
    shown = tiles(app)
    for metric in KPIS:
        assert shown[METRICS_BY_NAME[metric].label][0] == metric_text(metric, expected[metric], short=True)
    assert expected["net_sales"] != everyone["net_sales"]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_page_shows_another_restaurant(
    gold_lake: Settings,
    open_app: OpenApp,
    allowed_and_others: tuple[list[str], list[str]],
    page: PageSpec,
    capsys: pytest.CaptureFixture[str],
) -> None:
    allowed, others = allowed_and_others
    names = names_of(capsys, gold_lake.lake)
    app = open_as_north(open_app, gold_lake.lake, allowed, page.script, range="all")
    assert_clean(app)
    assert shown_restaurants(app) <= {*allowed, *(names[r] for r in allowed)}
    text = " ".join(str(e.value) for e in (*app.markdown, *app.caption, *app.warning, *app.info))
    assert not any(other in text or names[other] in text for other in others)
    if page.name == "data_health":
        # The lake's bookkeeping is of every restaurant: only Gold's version is shown.
        assert not app.dataframe and any("span every restaurant" in i.value for i in app.info)
    if page.name in CUSTOMER_PAGES:
        assert any("customer analytics" in w.value for w in app.warning), page
        assert not app.metric


def test_explore_by_restaurant_equals_bi_query_and_offers_no_customer_attributes(
    gold_lake: Settings,
    open_app: OpenApp,
    allowed_and_others: tuple[list[str], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    allowed, _ = allowed_and_others
    app = open_as_north(open_app, gold_lake.lake, allowed, "views/explore.py", range="all")
    assert "rfm_segment" not in app.multiselect(key="x_by").options
    app.multiselect(key="x_metrics").set_value(["net_sales", "orders"])
    app.multiselect(key="x_by").set_value(["restaurant_name"]).run()
    assert_clean(app)
    table = app.dataframe[0].value
    names = names_of(capsys, gold_lake.lake)
    assert sorted(table["restaurant_name"]) == sorted(names[r] for r in allowed)
    capsys.readouterr()
    where = [arg for r in allowed for arg in ("--where", f"restaurant_id={r}")]
    assert bi_main(["query", "net_sales,orders", "--by", "restaurant_name", "--format", "json",
                    "--lake", gold_lake.lake, *where]) == 0  # fmt: skip
    for row in json.loads(capsys.readouterr().out):
        shown = table.set_index("restaurant_name").loc[row["restaurant_name"]]
        assert shown["orders"] == row["orders"]
        assert round(shown["net_sales"], 2) == row["net_sales"]


def test_a_user_in_no_mapped_group_sees_nothing(
    gold_lake: Settings, open_app: OpenApp, allowed_and_others: tuple[list[str], list[str]]
) -> None:
    allowed, _ = allowed_and_others
    stranger = User(name="eve@example.com", groups=("guests",), subject="e")
    app = open_app(gold_lake.lake, env=signed_in_env(allowed), state={"bi_user": stranger})
    assert any("belongs to no group with access" in e.value for e in app.error)
    assert not app.metric and not app.sidebar.multiselect


def test_behind_the_load_balancer_a_session_without_identity_is_refused(
    gold_lake: Settings, open_app: OpenApp, allowed_and_others: tuple[list[str], list[str]]
) -> None:
    app = open_app(gold_lake.lake, env=signed_in_env(allowed_and_others[0]))
    assert [e.value for e in app.error] == [
        "sign-in required: open the dashboard through its address, which signs you in"
    ]
    assert not app.metric and not app.sidebar.multiselect
