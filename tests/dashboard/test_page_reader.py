"""The page reader's rules on plain text: what a person must never see on a page, and what is fine."""

from __future__ import annotations

import pytest

from tests.dashboard.page_reader import Defect, page_defects, text_defects


def kinds(text: str, where: str = "main") -> list[tuple[str, str]]:
    return [(d.kind, d.context) for d in text_defects(text, where)]


@pytest.mark.parametrize(
    "text",
    [
        "Net sales\n2,506,736.12\n+3.4%",
        "Orders 12,345 in 2023-01-01 .. 2023-04-10",
        "None of the orders in this range had a discount.",
        "Restaurants\nAll",
        "Is this true for every restaurant? It is not false to say so.",
        "Annotation: nanoseconds, Nancy's Diner, nonexistent",
        "Loyalty member\nYes\nNo",
        "order 5f3a",  # a short hex word is just a word
        "1,234.50 € .. 2,000.00 €",
    ],
)
def test_clean_text_has_no_defects(text: str) -> None:
    assert text_defects(text) == []


@pytest.mark.parametrize(
    ("text", "kind", "shown"),
    [
        ("Restaurant\nNone\n120", "missing value shown as text", "None"),
        (
            "RFM segment: null; Net sales: 12,146",
            "missing value shown as text",
            "RFM segment: null; Net sales: 12,146",
        ),
        ("Repeat rate\nNaN", "missing value shown as text", "NaN"),
        ("Average 12.5\tnan\t3", "missing value shown as text", "Average 12.5\tnan\t3"),
        ("Loyalty member\ntrue\n1,377", "raw boolean shown", "true"),
        ("Loyalty member: false; Orders: 12", "raw boolean shown", "Loyalty member: false; Orders: 12"),
        ("Discounted\tFalse\t6655", "raw boolean shown", "Discounted\tFalse\t6655"),
        ("Restaurant d3eb50b6b02958078df1497c", "hex id shown", "Restaurant d3eb50b6b02958078df1497c"),
        ("Net sales\n2,506,736…", "number cut off with an ellipsis", "2,506,736…"),
        ("Net sales\n2,506...", "number cut off with an ellipsis", "2,506..."),
        ("Average order val…\n19.42", "label cut off with an ellipsis", "Average order val…"),
        ("Restaurant\nd3eb50b6b02958…", "label cut off with an ellipsis", "d3eb50b6b02958…"),
    ],
)
def test_each_defect_is_found_with_its_context(text: str, kind: str, shown: str) -> None:
    assert (kind, shown) in kinds(text)


def test_a_cut_id_is_one_cut_label_not_a_cut_number() -> None:
    assert [(d.kind, d.shown) for d in text_defects("d3eb50b6b02958…")] == [
        ("label cut off with an ellipsis", "d3eb50b6b02958…")
    ]
    assert [(d.kind, d.shown) for d in text_defects("Net sales 2,506,736…")] == [
        ("number cut off with an ellipsis", "2,506,736…")
    ]


def test_a_wrong_text_repeated_is_listed_once_where_first_shown() -> None:
    text = "a: null\nb: null\nd3eb50b6b02958078df1497c\nNaN\nd3eb50b6b02958078df1497c"
    assert [(d.kind, d.shown, d.context) for d in text_defects(text)] == [
        ("missing value shown as text", "null", "a: null"),
        ("hex id shown", "d3eb50b6b02958078df1497c", "d3eb50b6b02958078df1497c"),
        ("missing value shown as text", "NaN", "NaN"),
    ]


def test_a_tables_raw_cells_are_read_only_for_what_no_format_hides() -> None:
    # The grid draws booleans as checkboxes and numbers formatted: its raw cells say true and 19.4238...
    assert text_defects("Loyalty member\ttrue\t19.42380025940337", "table") == []
    assert kinds("Restaurant\td3eb50b6b02958078df1497c", "table") == [
        ("hex id shown", "Restaurant\td3eb50b6b02958078df1497c")
    ]
    assert kinds("Segment\tNone", "table") == [("missing value shown as text", "Segment\tNone")]


def test_page_defects_gathers_every_source_and_the_boxes_cut_off() -> None:
    texts = {"main": ["Overview\nNone"], "sidebar": ["Apps\nAll"], "chart": ["Order date\nnull"]}
    found = page_defects(texts, ["stMetricValue: 2,506,736.12 (180px in 120px)"])
    assert found == [
        Defect("main", "missing value shown as text", "None", "None"),
        Defect("chart", "missing value shown as text", "null", "null"),
        Defect("layout", "text cut off in its box", "stMetricValue: 2,506,736.12 (180px in 120px)"),
    ]
    assert str(found[-1]) == "[layout] text cut off in its box: stMetricValue: 2,506,736.12 (180px in 120px)"
    tooltip = page_defects({"tooltip": ["Net sales: 9; Restaurant: 8aacd07f7c640c97decbfb99"] * 2}, [])
    assert [str(d) for d in tooltip] == [
        "[tooltip] hex id shown: 8aacd07f7c640c97decbfb99  (in: Net sales: 9; Restaurant: 8aacd07f7c640c97decbfb99)"
    ]
