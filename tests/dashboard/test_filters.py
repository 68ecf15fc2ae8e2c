"""The sidebar's filters: ranges relative to the snapshot date, the previous period, and links."""

from __future__ import annotations

import datetime as dt

from bi_dashboard.filters import DataBounds, Filters, from_query_params, preset_range

BOUNDS = DataBounds(
    first_date=dt.date(2023, 1, 1),
    snapshot_date=dt.date(2023, 4, 10),
    restaurants=("R1", "R2", "R3"),
    apps=("OrderUp iOS", "OrderUp Web"),
    categories=("Dessert", "Entree"),
)


def test_presets_end_at_the_snapshot_date_and_never_start_before_the_first_order() -> None:
    assert preset_range("7d", BOUNDS) == (dt.date(2023, 4, 4), dt.date(2023, 4, 10))
    assert preset_range("30d", BOUNDS) == (dt.date(2023, 3, 12), dt.date(2023, 4, 10))
    assert preset_range("ytd", BOUNDS) == (dt.date(2023, 1, 1), dt.date(2023, 4, 10))
    assert preset_range("all", BOUNDS) == (dt.date(2023, 1, 1), dt.date(2023, 4, 10))
    assert preset_range("90d", BOUNDS) == (dt.date(2023, 1, 11), dt.date(2023, 4, 10))
    late = DataBounds(dt.date(2023, 3, 1), dt.date(2023, 3, 5), (), (), ())
    assert preset_range("90d", late) == (dt.date(2023, 3, 1), dt.date(2023, 3, 5))


def test_the_previous_period_has_the_same_length_and_ends_the_day_before() -> None:
    filters = Filters("custom", dt.date(2023, 3, 1), dt.date(2023, 3, 31), restaurants=("R1",))
    previous = filters.previous()
    assert (previous.start, previous.end) == (dt.date(2023, 1, 29), dt.date(2023, 2, 28))
    assert previous.days == filters.days == 31
    assert previous.restaurants == ("R1",)


def test_filters_become_the_questions_where() -> None:
    filters = Filters(
        "30d", dt.date(2023, 3, 1), dt.date(2023, 3, 31), restaurants=("R1", "R2"), apps=(), loyalty="other",
        categories=("Entree",),
    )  # fmt: skip
    assert filters.where() == (
        ("restaurant_id", ("R1", "R2")), ("is_loyalty", (False,)), ("item_category", ("Entree",)),
    )  # fmt: skip
    question = filters.question(("orders",), by=("order_date",), extra=(("is_holiday", (True,)),))
    assert question.start == dt.date(2023, 3, 1) and question.end == dt.date(2023, 3, 31)
    assert ("is_holiday", (True,)) in question.where


def test_a_link_round_trips_the_filters() -> None:
    filters = Filters(
        "custom", dt.date(2023, 2, 1), dt.date(2023, 2, 14), restaurants=("R2",), apps=("OrderUp Web",),
        categories=("Dessert", "Entree"), loyalty="loyalty",
    )  # fmt: skip
    params = {
        key: value if isinstance(value, list) else [value] for key, value in filters.to_query_params().items()
    }
    assert from_query_params(params, BOUNDS) == (filters, [])
    preset = Filters("7d", *preset_range("7d", BOUNDS))
    assert preset.to_query_params() == {"range": "7d"}
    assert from_query_params({"range": ["7d"]}, BOUNDS) == (preset, [])


def test_a_link_with_values_the_data_does_not_know_keeps_the_rest_and_says_what_it_dropped() -> None:
    filters, notes = from_query_params(
        {"range": ["custom"], "start": ["2023-02-30"], "end": ["2023-03-01"], "restaurant": ["R1", "R9"],
         "loyalty": ["sometimes"]},
        BOUNDS,
    )  # fmt: skip
    assert (filters.start, filters.end) == (BOUNDS.first_date, BOUNDS.snapshot_date)
    assert filters.restaurants == ("R1",) and filters.loyalty == "all"
    assert len(notes) == 3
    assert any("'R9'" in note for note in notes)
    assert from_query_params({"range": ["fortnight"]}, BOUNDS)[0].preset == "90d"


def test_a_links_dates_outside_the_data_are_narrowed_or_replaced_with_a_note() -> None:
    partly, notes = from_query_params(
        {"range": ["custom"], "start": ["2022-06-01"], "end": ["2023-01-05"]}, BOUNDS
    )
    assert (partly.start, partly.end) == (dt.date(2023, 1, 1), dt.date(2023, 1, 5))
    assert notes == ["the link's dates were narrowed to the orders' dates: 2023-01-01 .. 2023-01-05"]
    outside, notes = from_query_params(
        {"range": ["custom"], "start": ["2024-01-01"], "end": ["2024-03-05"]}, BOUNDS
    )
    assert (outside.start, outside.end) == (BOUNDS.first_date, BOUNDS.snapshot_date)
    assert "hold no orders" in notes[0]


def test_a_previous_period_before_the_first_order_is_known_as_such() -> None:
    assert not Filters("90d", *preset_range("90d", BOUNDS)).has_previous_period(BOUNDS)
    assert Filters("30d", *preset_range("30d", BOUNDS)).has_previous_period(BOUNDS)


def test_a_file_size_reads_in_the_unit_a_person_says() -> None:
    from bi_dashboard.views.data_health import size_text

    assert [size_text(size) for size in (0, 999, 13_126, 22_109_404, 5.5e9, 3e12, None)] == [
        "0 bytes", "999 bytes", "13.1 kB", "22.1 MB", "5.5 GB", "3,000.0 GB", "—",
    ]  # fmt: skip
