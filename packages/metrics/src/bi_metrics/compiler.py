"""From a question to one DuckDB SQL statement over the smallest Gold dataset that answers it exactly.

A dataset answers a question exactly when it has every dimension asked for (as a column, or through
the key of a lookup it can be joined to), totals every measure, and would not sum a pre-counted order
count across rows that differ in a line-level column (one order can have lines in several categories).
A dataset without `order_date` answers only questions asked of the whole history. Customer counts are distinct
counts of `user_id`, never sums; where every other grain column is fixed, each row of a slice is one
customer and the rows are counted instead (from the `customers` flag where the dataset has one, so
no id is read). Ratios are recomputed from their summed parts for each answer row. A question no
dataset answers exactly is refused, not approximated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bi_contracts.gold import CUSTOMER_ROWS, DATASETS, LOOKUP_KEYS, GoldDataset
from bi_contracts.measures import MEASURES_BY_NAME, REPEAT_MIN_ORDERS
from bi_contracts.restaurants import RESTAURANT_COLUMN
from bi_lake.errors import UserError
from bi_metrics.access import EVERYTHING, RestaurantAccess, withheld_error
from bi_metrics.catalogue import (
    DIMENSIONS,
    DIMENSIONS_BY_NAME,
    METRICS_BY_NAME,
    Dimension,
)
from bi_metrics.question import Question

# The aggregate columns that vary between the lines of one order.
LINE_COLUMNS = frozenset(d.determines or d.source_column for d in DIMENSIONS if d.level == "line")
_FACT = "f"


@dataclass(frozen=True)
class Plan:
    dataset: str
    sql: str
    parameters: tuple[object, ...]
    columns: tuple[str, ...]


def _grain_column(dim: Dimension) -> str | None:
    """The aggregate column a dimension fixes when it takes one value per answer row."""
    return dim.determines if dim.lookup else dim.source_column


def carried(dim: Dimension, dataset: GoldDataset) -> bool:
    """Whether the dataset holds the dimension's lookup column itself (read in place, not joined)."""
    return dim.lookup is not None and dim.lookup == dataset.carries and dim.source_column in dataset.carried


def one_row_per_customer(dataset: GoldDataset, question: Question) -> bool:
    """Whether each of the dataset's rows within an answer row is one customer: the question fixes
    every grain column but `user_id`, so no customer has two rows in a slice."""
    if "user_id" not in dataset.grain or "orders" not in dataset.column_names:
        return False
    fixed = {_grain_column(DIMENSIONS_BY_NAME[name]) for name in question.fixed_dimensions()}
    return all(column in fixed for column in dataset.grain if column != "user_id")


def refusal(dataset: GoldDataset, question: Question, access: RestaurantAccess = EVERYTHING) -> str | None:
    """Why `dataset` cannot answer `question` exactly (or not for this reader), or None when it can."""
    if access.restricted and RESTAURANT_COLUMN not in dataset.column_names:
        return f"{dataset.name} is not shown to readers of some restaurants"
    if (question.start or question.end) and "order_date" not in dataset.grain:
        return f"{dataset.name} has no order_date to limit the period by"
    measures = _measures(question)
    for name in (*question.by, *question.filters):
        dim = DIMENSIONS_BY_NAME[name]
        if dim.lookup is None and dim.source_column not in dataset.grain:
            return f"{dataset.name} has no {name}"
        if (
            dim.lookup is not None
            and not carried(dim, dataset)
            and LOOKUP_KEYS[dim.lookup] not in dataset.grain
        ):
            return f"{dataset.name} has no {LOOKUP_KEYS[dim.lookup]} to find {name} by"
    for name in measures:
        if name not in dataset.answers and not (
            name == "repeat_customers" and dataset.orders_per_customer is not None
        ):
            return f"{dataset.name} cannot total {name}"
    counts_orders = any(MEASURES_BY_NAME[m].kind in ("orders", "repeat_customers") for m in measures)
    if dataset.precounted_orders and counts_orders:
        fixed = {_grain_column(DIMENSIONS_BY_NAME[name]) for name in question.fixed_dimensions()}
        collapsed = [column for column in dataset.grain if column in LINE_COLUMNS and column not in fixed]
        if collapsed:
            return f"{dataset.name} would add up order counts across {', '.join(collapsed)}"
    return None


def choose_dataset(
    question: Question,
    rows: Mapping[str, int],
    datasets: Sequence[GoldDataset] = DATASETS,
    access: RestaurantAccess = EVERYTHING,
) -> GoldDataset:
    """The smallest published aggregate that answers exactly (declaration order breaks ties)."""
    reasons = []
    candidates = []
    for dataset in datasets:
        if dataset.role != "aggregate":
            continue
        if dataset.name not in rows:
            reasons.append(f"{dataset.name} is not built")
            continue
        reason = refusal(dataset, question, access)
        if reason:
            reasons.append(reason)
        else:
            candidates.append(dataset)
    if not candidates:
        asked = ", ".join(question.metrics) + (f" by {', '.join(question.by)}" if question.by else "")
        raise UserError(f"no Gold dataset answers {asked} exactly ({'; '.join(reasons)})")
    return min(candidates, key=lambda dataset: rows[dataset.name])


def _measures(question: Question) -> list[str]:
    names: list[str] = []
    for metric_name in question.metrics:
        for measure in METRICS_BY_NAME[metric_name].measures:
            if measure not in names:
                names.append(measure)
    return names


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _dimension_expression(dim: Dimension, dataset: GoldDataset) -> str:
    table = _quote(dim.lookup) if dim.lookup and not carried(dim, dataset) else _FACT
    return f"{table}.{_quote(dim.source_column)}"


def compile_question(
    question: Question,
    rows: Mapping[str, int],
    datasets: Sequence[GoldDataset] = DATASETS,
    access: RestaurantAccess = EVERYTHING,
) -> Plan:
    """The SQL that answers `question`; for a restricted reader it only ever reads its restaurants."""
    dataset = choose_dataset(question, rows, datasets, access)
    asked = [DIMENSIONS_BY_NAME[name] for name in (*question.by, *question.filters)]
    lookups = _lookups([dim for dim in asked if not carried(dim, dataset)], rows)
    _check_access(access, asked, dataset)
    dims = [_quote(name) for name in question.by]
    customer_rows = one_row_per_customer(dataset, question)
    steps, source = _total_steps(dims, _measures(question), dataset, customer_rows)
    conditions, parameters = _conditions(question, access, dataset)
    ctes = [_base(question, dataset, lookups, conditions, used="\n".join(steps)), *steps]
    outputs = [f"totals.{d}" for d in dims] + [
        f"{_metric_expression(name, customer_rows)} AS {_quote(name)}" for name in question.metrics
    ]
    order = f"\nORDER BY {', '.join(f'totals.{d}' for d in dims)}" if dims else ""
    sql = "WITH " + ",\n".join(ctes) + f"\nSELECT {', '.join(outputs)}\nFROM {source}{order}"
    return Plan(
        dataset=dataset.name, sql=sql, parameters=tuple(parameters), columns=(*question.by, *question.metrics)
    )


def _lookups(asked: list[Dimension], rows: Mapping[str, int]) -> list[str]:
    """The lookups the asked dimensions need, each published."""
    lookups = sorted({dim.lookup for dim in asked if dim.lookup})
    unpublished = [lookup for lookup in lookups if lookup not in rows]
    if unpublished and rows:
        # A Gold from before the lookup existed: joining an empty one would fold every row into one.
        raise UserError(
            f"Gold has no {', '.join(unpublished)}: it was built by an older version; "
            "run `bi run` to rebuild it"
        )
    return lookups


def _check_access(access: RestaurantAccess, asked: list[Dimension], dataset: GoldDataset) -> None:
    """A restricted reader asks nothing of customers, and only of datasets that name a restaurant."""
    if not access.restricted:
        return
    customer_level = [dim.name for dim in asked if dim.level == "customer"]
    if customer_level:
        raise withheld_error(f"{', '.join(customer_level)} is a customer attribute")
    if RESTAURANT_COLUMN not in dataset.column_names:
        raise withheld_error(f"{dataset.name} has no restaurant")


def _total_steps(
    dims: list[str], measures: list[str], dataset: GoldDataset, customer_rows: bool
) -> tuple[list[str], str]:
    """The steps after `base` that total the measures by the dimensions, and the step to select from;
    with `customer_rows` (each row one customer), customers are counted as rows."""
    group_by = f" GROUP BY {', '.join(dims)}" if dims else ""
    # repeat_customers needs a step of its own unless each row is one customer; the row count keeps
    # one total row when no dimension is asked.
    totals = [
        'count(*) AS "_rows"',
        *(
            _total(name, dataset, customer_rows)
            for name in measures
            if name != "repeat_customers" or customer_rows
        ),
    ]
    steps = [f"totals AS (SELECT {', '.join([*dims, *totals])} FROM base{group_by})"]
    if "repeat_customers" not in measures or customer_rows:
        return steps, "totals"
    assert dataset.orders_per_customer is not None
    steps.append(
        "per_customer AS (SELECT "
        + ", ".join([*dims, "user_id", f"{dataset.orders_per_customer} AS slice_orders"])
        + f" FROM base WHERE user_id IS NOT NULL GROUP BY {', '.join([*dims, 'user_id'])})"
    )
    steps.append(
        "repeats AS (SELECT "
        + ", ".join(
            [*dims, f'count(*) FILTER (WHERE slice_orders >= {REPEAT_MIN_ORDERS}) AS "repeat_customers"']
        )
        + f" FROM per_customer{group_by})"
    )
    matches = " AND ".join(f"totals.{d} IS NOT DISTINCT FROM repeats.{d}" for d in dims) or "TRUE"
    return steps, f"totals LEFT JOIN repeats ON {matches}"


def _base(
    question: Question, dataset: GoldDataset, lookups: list[str], conditions: list[str], used: str
) -> str:
    """The `base` step: the dataset's rows that pass the filters, with its lookups joined."""
    joins = "".join(
        f"\n    LEFT JOIN {_quote(lookup)} ON {_quote(lookup)}.{_quote(LOOKUP_KEYS[lookup])}"
        f" = {_FACT}.{_quote(LOOKUP_KEYS[lookup])}"
        for lookup in lookups
    )
    where = f"\n    WHERE {' AND '.join(conditions)}" if conditions else ""
    # Only the columns the steps use: `base` is read twice when repeat customers are asked, and then
    # it is materialised, so every column it carries is decoded from Parquet.
    plain_dims = {
        name
        for name in question.by
        if not DIMENSIONS_BY_NAME[name].lookup or carried(DIMENSIONS_BY_NAME[name], dataset)
    }
    base_columns = ", ".join(
        [
            *(f"{_FACT}.{_quote(c)}" for c in dataset.column_names
              if c not in plain_dims and re.search(rf"\b{re.escape(c)}\b", used)),
            *(f"{_dimension_expression(DIMENSIONS_BY_NAME[n], dataset)} AS {_quote(n)}" for n in question.by),
        ]
    ) or "1 AS _row"  # fmt: skip
    return (
        f"base AS (\n    SELECT {base_columns}\n    FROM {_quote(dataset.name)} AS {_FACT}{joins}{where}\n)"
    )


def _customer_row_total(measure: str, dataset: GoldDataset) -> str | None:
    """A customer measure totalled over rows of one customer each (the guests' row not counted)."""
    counted = f"sum({CUSTOMER_ROWS})" if CUSTOMER_ROWS in dataset.column_names else "count(user_id)"
    return {
        "customers": counted,
        "repeat_customers": f"{counted} FILTER (WHERE orders >= {REPEAT_MIN_ORDERS})",
    }.get(measure)


def _total(measure: str, dataset: GoldDataset, customer_rows: bool) -> str:
    total = _customer_row_total(measure, dataset) if customer_rows else None
    # An empty slice has zero sales and zero orders, not unknown ones.
    return f"coalesce({total or dataset.answers[measure]}, 0) AS {_quote(measure)}"


def _measure_reference(measure: str, customer_rows: bool) -> str:
    if measure == "repeat_customers" and not customer_rows:
        return 'coalesce(repeats."repeat_customers", 0)'
    return f"totals.{_quote(measure)}"


def _metric_expression(name: str, customer_rows: bool) -> str:
    metric = METRICS_BY_NAME[name]
    numerator = _measure_reference(metric.numerator, customer_rows)
    if metric.denominator is None:
        return numerator
    denominator = _measure_reference(metric.denominator, customer_rows)
    return f"CASE WHEN {denominator} = 0 THEN NULL ELSE CAST({numerator} AS DOUBLE) / {denominator} END"


def _conditions(
    question: Question, access: RestaurantAccess, dataset: GoldDataset
) -> tuple[list[str], list[object]]:
    conditions: list[str] = []
    parameters: list[object] = []
    if access.restricted:
        allowed = access.allowed()
        # Every aggregate has the column (it is in the order keys); an empty list reads nothing.
        if allowed:
            conditions.append(f"{_FACT}.{_quote(RESTAURANT_COLUMN)} IN ({', '.join('?' for _ in allowed)})")
            parameters.extend(allowed)
        else:
            conditions.append("FALSE")
    if question.start:
        conditions.append(f"{_FACT}.order_date >= ?")
        parameters.append(question.start)
    if question.end:
        conditions.append(f"{_FACT}.order_date <= ?")
        parameters.append(question.end)
    for name, values in question.where:
        expression = _dimension_expression(DIMENSIONS_BY_NAME[name], dataset)
        conditions.append(f"{expression} IN ({', '.join('?' for _ in values)})")
        parameters.extend(values)
    return conditions, parameters
