"""`bi query` and `bi metrics` as a user and a script meet them: real processes over a real Gold."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from bi_contracts.published import gold_tables, published
from bi_lake.settings import Settings
from bi_metrics.catalogue import DIMENSIONS, METRICS
from bi_metrics.engine import MetricsEngine
from bi_metrics.formatting import metric_text
from bi_metrics.labels import value_text
from bi_metrics.question import Question
from tests.lakes import copy_lake
from tests.running import assert_one_line_error, bi

pytestmark = [pytest.mark.spark, pytest.mark.e2e]  # `bi query` as a process on a built lake


def test_json_is_one_array_of_objects_with_numbers_and_iso_dates(gold_lake: Settings, tmp_path: Path) -> None:
    result = bi(
        "query", "net_sales,orders,aov,discount_rate", "--by", "order_month,is_loyalty",
        "--where", "app_name=OrderUp iOS", "--where", "app_name=OrderUp Web", "--start", "2023-01-15",
        "--format", "json", "--lake", gold_lake.lake, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and rows
    assert all(
        list(row) == ["order_month", "is_loyalty", "net_sales", "orders", "aov", "discount_rate"]
        for row in rows
    )
    assert {row["order_month"] for row in rows} == {"2023-01-01", "2023-02-01", "2023-03-01", "2023-04-01"}
    for row in rows:
        assert isinstance(row["is_loyalty"], bool) and isinstance(row["orders"], int)
        assert isinstance(row["net_sales"], int | float) and isinstance(row["aov"], float)
        assert re.fullmatch(r"-?\d+(\.\d{1,2})?", json.dumps(row["net_sales"])), row["net_sales"]

    engine = MetricsEngine.open(gold_lake)
    answer = engine.ask(
        Question(
            metrics=("net_sales", "orders"),
            where=(("app_name", ("OrderUp iOS", "OrderUp Web")),),
            start=dt.date(2023, 1, 15),
        )
    )
    engine.close()
    net_sales, orders = answer.rows[0]
    assert isinstance(net_sales, Decimal)
    assert sum(row["orders"] for row in rows) == orders
    assert round(sum(row["net_sales"] * 100 for row in rows)) == int(net_sales * 100)


def test_no_dimension_means_one_total_row_and_csv_and_table_agree(
    gold_lake: Settings, tmp_path: Path
) -> None:
    as_json = json.loads(
        bi(
            "query", "customers,repeat_rate", "--format", "json", "--lake", gold_lake.lake, cwd=tmp_path
        ).stdout
    )
    assert len(as_json) == 1 and set(as_json[0]) == {"customers", "repeat_rate"}
    as_csv = list(
        csv.reader(
            io.StringIO(
                bi(
                    "query",
                    "customers,repeat_rate",
                    "--format",
                    "csv",
                    "--lake",
                    gold_lake.lake,
                    cwd=tmp_path,
                ).stdout
            )
        )
    )
    assert as_csv[0] == ["customers", "repeat_rate"]
    assert int(as_csv[1][0]) == as_json[0]["customers"]
    table = bi("query", "customers,repeat_rate", "--lake", gold_lake.lake, cwd=tmp_path)
    assert table.returncode == 0
    assert f"{as_json[0]['customers']:,}" in table.stdout and "%" in table.stdout
    # The whole history, at one row per customer.
    assert "from agg_customer_lifetime" in table.stderr


def test_the_table_reads_as_the_dashboard_does(gold_lake: Settings, tmp_path: Path) -> None:
    """Headers in words, money with its currency, flags in words; JSON keeps the raw values."""
    args = ("query", "net_sales,repeat_rate", "--by", "is_loyalty", "--lake", gold_lake.lake)
    rows = json.loads(bi(*args, "--format", "json", cwd=tmp_path).stdout)
    table = bi(*args, cwd=tmp_path).stdout
    assert "Loyalty order" in table and "Net sales" in table and "Repeat rate" in table
    for row in rows:
        word = value_text("is_loyalty", row["is_loyalty"])
        line = next(line for line in table.splitlines() if "$" in line and line.split()[0] == word)
        assert metric_text("net_sales", Decimal(str(row["net_sales"]))) in line
        assert line.split()[-1] == metric_text("repeat_rate", row["repeat_rate"])
    assert "$" in table and "true" not in table and "false" not in table
    tiers = bi("query", "customers", "--by", "clv_tier", "--lake", gold_lake.lake, cwd=tmp_path).stdout
    shown = [line.split()[0] for line in tiers.splitlines() if line.strip()[:1].isalpha()][1:]
    assert shown == ["High", "Medium", "Low", "Guests"], "tiers in their business order"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["revenue"], ["unknown metric 'revenue'", "metrics are: net_sales, gross_sales"]),
        (["orders", "--by", "country"], ["unknown dimension 'country'", "dimensions are: order_date"]),
        (["orders", "--where", "is_loyalty=perhaps"], ["invalid value 'perhaps' for is_loyalty"]),
        (["orders", "--where", "restaurant_id"], ["expected DIM=VALUE"]),
        (["orders", "--start", "2023-04-01", "--end", "2023-03-01"], ["is after --end"]),
        (["orders", "--format", "xml"], ["invalid choice: 'xml'"]),
    ],
)
def test_bad_questions_are_one_line_errors(
    gold_lake: Settings, tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    assert_one_line_error(bi("query", *args, "--lake", gold_lake.lake, cwd=tmp_path), *fragments)


def test_a_lake_without_gold_says_how_to_build_it(tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    assert_one_line_error(bi("query", "orders", cwd=tmp_path), "has no Gold yet", "bi run")


def test_no_lake_anywhere_says_where_it_looked(tmp_path: Path) -> None:
    query = bi("query", "orders", cwd=tmp_path)
    assert_one_line_error(
        query, f"no lake here: looked for {tmp_path / 'lake'} and a project in the folders above it"
    )
    status = bi("status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert (
        f"no lake at {tmp_path / 'lake'}, nor a project in the folders above it: run `bi run`"
        in status.stdout
    )
    assert not (tmp_path / "lake").exists() and not (tmp_path / ".bi").exists()


def test_from_a_subfolder_bi_uses_the_projects_lake(gold_lake: Settings, tmp_path: Path) -> None:
    project = tmp_path / "project"
    copy_lake(gold_lake, project)
    (project / "reports" / "2023").mkdir(parents=True)
    here = bi("query", "orders", "--format", "json", cwd=project)
    below = bi("query", "orders", "--format", "json", cwd=project / "reports" / "2023")
    assert below.returncode == 0, below.stderr
    assert json.loads(below.stdout) == json.loads(here.stdout)
    assert f"using the project at {project}" in below.stderr
    assert not (project / "reports" / "2023" / "lake").exists()


def test_the_catalogue_lists_every_metric_and_dimension(tmp_path: Path) -> None:
    as_json = json.loads(bi("metrics", "--format", "json", cwd=tmp_path).stdout)
    assert [m["name"] for m in as_json["metrics"]] == [m.name for m in METRICS]
    assert [d["name"] for d in as_json["dimensions"]] == [d.name for d in DIMENSIONS]
    aov = next(m for m in as_json["metrics"] if m["name"] == "aov")
    assert aov == {
        "name": "aov", "label": "Average order value", "description": "net_sales / orders", "format": "currency",
        "aggregation": "ratio", "measures": ["net_sales", "orders"],
    }  # fmt: skip
    table = bi("metrics", cwd=tmp_path)
    assert table.returncode == 0
    assert all(m.name in table.stdout for m in METRICS) and "rfm_segment" in table.stdout


@pytest.mark.parametrize(
    ("where", "fragments"),
    [
        ("rfm_segment=vip", ("rfm_segment=vip is not in the data: did you mean 'VIP'?",)),
        (
            "app_name=OrderUp Andriod",
            ("app_name=OrderUp Andriod is not in the data: did you mean 'OrderUp Android'",),
        ),
        ("restaurant_id=NOPE", ("restaurant_id=NOPE is not in the data: it has '",)),
    ],
)
def test_a_filter_value_the_data_does_not_have_is_an_error_naming_the_nearest(
    gold_lake: Settings, tmp_path: Path, where: str, fragments: tuple[str, ...]
) -> None:
    result = bi("query", "net_sales", "--where", where, "--lake", gold_lake.lake, cwd=tmp_path)
    assert_one_line_error(result, *fragments)
    assert result.stdout == ""


def test_a_range_outside_the_data_answers_with_a_warning_giving_the_datas_range(
    gold_lake: Settings, tmp_path: Path
) -> None:
    result = bi("query", "orders", "--start", "2030-01-01", "--end", "2030-12-31", "--format", "json",
                "--lake", gold_lake.lake, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"orders": 0}]
    assert result.stderr.strip() == (
        "bi: warning: 2030-01-01 .. 2030-12-31 is outside the data, which spans 2023-01-01 .. 2023-04-10: "
        "nothing is counted"
    )
    within = bi("query", "orders", "--start", "2023-02-01", "--end", "2023-02-28", "--format", "json",
                "--lake", gold_lake.lake, cwd=tmp_path)  # fmt: skip
    assert within.returncode == 0 and "warning" not in within.stderr


def _json_rows(gold_lake: Settings, tmp_path: Path, *args: str) -> list[dict[str, object]]:
    result = bi("query", *args, "--format", "json", "--lake", gold_lake.lake, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_by_restaurant_name_totals_equal_by_restaurant_id(gold_lake: Settings, tmp_path: Path) -> None:
    from bi_metrics.restaurants import restaurant_names

    engine = MetricsEngine.open(gold_lake)
    names = restaurant_names(engine)
    engine.close()
    by_id = _json_rows(gold_lake, tmp_path, "net_sales,orders,customers", "--by", "restaurant_id")
    by_name = _json_rows(gold_lake, tmp_path, "net_sales,orders,customers", "--by", "restaurant_name")
    assert len(by_id) == len(by_name) > 1
    # The demo source names every restaurant, each differently.
    assert not any(str(name).startswith("Restaurant ") for name in names.values())
    expected = {names[str(row["restaurant_id"])]: {k: v for k, v in row.items() if k != "restaurant_id"}
                for row in by_id}  # fmt: skip
    assert {
        row["restaurant_name"]: {k: v for k, v in row.items() if k != "restaurant_name"} for row in by_name
    } == (expected)
    city = _json_rows(gold_lake, tmp_path, "orders", "--by", "city,region")
    assert sum(int(str(row["orders"])) for row in city) == sum(int(str(row["orders"])) for row in by_id)
    one_city = str(city[0]["city"])
    filtered = _json_rows(gold_lake, tmp_path, "orders", "--where", f"city={one_city}")
    assert filtered[0]["orders"] == city[0]["orders"]


def test_the_table_shows_restaurants_by_name_while_csv_and_json_keep_the_id(
    gold_lake: Settings, tmp_path: Path
) -> None:
    hex_id = re.compile(r"\b[0-9a-f]{24}\b")
    table = bi(
        "query", "net_sales", "--by", "restaurant_id,order_month", "--lake", gold_lake.lake, cwd=tmp_path
    )
    assert table.returncode == 0, table.stderr
    assert not hex_id.search(table.stdout), table.stdout
    ids = {
        str(row["restaurant_id"])
        for row in _json_rows(gold_lake, tmp_path, "orders", "--by", "restaurant_id")
    }
    assert all(hex_id.fullmatch(rid) for rid in ids)
    names = {
        str(row["restaurant_name"])
        for row in _json_rows(gold_lake, tmp_path, "orders", "--by", "restaurant_name")
    }
    assert all(name in table.stdout for name in names)
    as_csv = bi(
        "query",
        "net_sales",
        "--by",
        "restaurant_id",
        "--format",
        "csv",
        "--lake",
        gold_lake.lake,
        cwd=tmp_path,
    )
    assert ids == {line.split(",")[0] for line in as_csv.stdout.splitlines()[1:]}


def test_a_city_the_data_does_not_have_suggests_the_nearest(gold_lake: Settings, tmp_path: Path) -> None:
    city = str(_json_rows(gold_lake, tmp_path, "orders", "--by", "city")[0]["city"])
    result = bi("query", "orders", "--where", f"city={city.lower()}x", "--lake", gold_lake.lake, cwd=tmp_path)
    assert_one_line_error(result, "is not in the data")
    assert repr(city) in result.stderr


def test_as_of_answers_from_a_kept_gold_run_and_refuses_one_that_is_not(
    gold_lake: Settings, tmp_path: Path
) -> None:
    record = published(gold_tables(gold_lake))
    assert record.run_id is not None and record.committed_at is not None
    question = (
        "query",
        "net_sales,orders",
        "--by",
        "order_month",
        "--format",
        "json",
        "--lake",
        gold_lake.lake,
    )
    now = bi(*question, cwd=tmp_path)
    by_run = bi(*question, "--as-of", record.run_id, cwd=tmp_path)
    by_time = bi(*question, "--as-of", f"{record.committed_at:%Y-%m-%dT%H:%M:%S.%f}", cwd=tmp_path)
    assert now.returncode == by_run.returncode == by_time.returncode == 0, by_run.stderr + by_time.stderr
    assert json.loads(by_run.stdout) == json.loads(by_time.stdout) == json.loads(now.stdout)
    assert_one_line_error(
        bi(*question, "--as-of", "20200101T000000Z-gone", cwd=tmp_path),
        "is neither a kept Gold run nor a time",
        record.run_id,
    )
    assert_one_line_error(
        bi(*question, "--as-of", "2001-01-01", cwd=tmp_path), "Gold had not been published by then"
    )
