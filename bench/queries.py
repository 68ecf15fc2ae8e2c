"""How fast `bi query` answers the typical slices, warm and in-process, over a lake's Gold.

    uv run python bench/queries.py [--lake ./lake] [--repeats 50] [--silver] [--times N] [--out FILE.json]

Prints each slice's p50/p95 in milliseconds and the dataset it was answered from; with --silver, the
same questions are also answered straight from Silver's fact tables for comparison. With --times N,
both are measured on the lake tiled N times in a temporary folder (bench/tile.py: the 10x lake tiled
10 times stands for 100x), once the tiled Gold's answers are checked against the lake's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from bi_lake.settings import Settings, load_settings
from bi_metrics.engine import MetricsEngine
from bi_metrics.question import Question

if TYPE_CHECKING:
    from bench import tile
else:
    # Run as a script, bench/ itself is first on sys.path; mypy sees the folder as the `bench` package.
    import tile

# The slices business users ask for most: by day, by restaurant, by month x category, by segment.
TYPICAL: dict[str, Question] = {
    "by day": Question(metrics=("net_sales", "orders", "aov"), by=("order_date",)),
    "by restaurant": Question(metrics=("net_sales", "orders", "customers"), by=("restaurant_id",)),
    "by month x category": Question(metrics=("net_sales", "orders"), by=("order_month", "item_category")),
    "by customer segment": Question(
        metrics=("customers", "net_sales", "orders_per_customer"), by=("rfm_segment",)
    ),
    "total": Question(metrics=("net_sales", "orders", "customers", "repeat_rate")),
}

# The same questions in plain SQL over Silver's facts (customer segments from Gold's snapshot).
SILVER_SQL: dict[str, str] = {
    "by day": (
        "SELECT order_date, sum(net_amount), count(*), sum(net_amount) / count(*) FROM orders GROUP BY 1"
    ),
    "by restaurant": (
        "SELECT restaurant_id, sum(net_amount), count(*), count(DISTINCT user_id) FROM orders GROUP BY 1"
    ),
    "by month x category": (
        "SELECT date_trunc('month', o.order_date), l.item_category, sum(l.line_net), "
        "count(DISTINCT l.order_id) FROM lines l JOIN orders o USING (order_id) GROUP BY 1, 2"
    ),
    "by customer segment": (
        "SELECT c.rfm_segment, count(DISTINCT o.user_id), sum(o.net_amount), "
        "count(*) FILTER (WHERE o.user_id IS NOT NULL) / count(DISTINCT o.user_id) "
        "FROM orders o LEFT JOIN segments c USING (user_id) GROUP BY 1"
    ),
    "total": "SELECT sum(net_amount), count(*), count(DISTINCT user_id) FROM orders",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _timed(run: Any, repeats: int) -> list[float]:
    run()  # warm: views created, files' metadata cached
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def measure_gold(settings: Settings, repeats: int) -> dict[str, Any]:
    engine = MetricsEngine.open(settings)
    results: dict[str, Any] = {}
    all_timings: list[float] = []
    try:
        for name, question in TYPICAL.items():
            timings = _timed(lambda q=question: engine.ask(q), repeats)
            all_timings += timings
            results[name] = {
                "dataset": engine.ask(question).plan.dataset,
                "p50_ms": round(statistics.median(timings), 2),
                "p95_ms": round(percentile(timings, 0.95), 2),
            }
    finally:
        engine.close()
    results["all"] = {
        "p50_ms": round(statistics.median(all_timings), 2),
        "p95_ms": round(percentile(all_timings, 0.95), 2),
    }
    return results


def measure_silver(
    settings: Settings, repeats: int, facts: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """The questions in plain SQL over Silver's fact tables: the lake's (or `facts`, Parquet files by
    view name), with customer segments from the lake's Gold."""
    connection = duckdb.connect()
    for view, files in (facts or tile.silver_fact_files(settings)).items():
        connection.execute(
            f"CREATE VIEW {view} AS SELECT * FROM read_parquet({files!r}, hive_partitioning = true)"
        )
    engine = MetricsEngine.open(settings)
    engine.refresh()
    snapshot = engine.query("SELECT user_id, rfm_segment FROM dim_customer_snapshot")
    engine.close()
    connection.execute("CREATE TABLE segments (user_id VARCHAR, rfm_segment VARCHAR)")
    connection.executemany("INSERT INTO segments VALUES (?, ?)", snapshot)
    results: dict[str, Any] = {}
    all_timings: list[float] = []
    for name, sql in SILVER_SQL.items():
        timings = _timed(lambda s=sql: connection.execute(s).fetchall(), repeats)
        all_timings += timings
        results[name] = {
            "p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(percentile(timings, 0.95), 2),
        }
    results["all"] = {
        "p50_ms": round(statistics.median(all_timings), 2),
        "p95_ms": round(percentile(all_timings, 0.95), 2),
    }
    connection.close()
    return results


def measure_tiled(settings: Settings, times: int, repeats: int, folder: Path) -> dict[str, Any]:
    """The lake tiled `times` times in `folder` (bench/tile.py), checked against the lake's answers,
    then both measures there. Raises ValueError when the tiled answers are not the lake's x `times`."""
    tiled = tile.tile_lake(settings, folder, times)
    mismatches = tile.check(settings, tiled.settings, times, TYPICAL)
    if mismatches:
        raise ValueError(
            f"the tiled lake does not answer as the lake x {times}: " + "; ".join(mismatches[:3])
        )
    return {
        "times": times,
        "tile_s": round(tiled.seconds, 1),
        "gold_rows": {name: {"lake": lake, "tiled": rows} for name, (lake, rows) in tiled.gold_rows.items()},
        "gold": measure_gold(tiled.settings, repeats),
        "silver": measure_silver(tiled.settings, repeats, tiled.silver_facts),
    }


def _print(figures: dict[str, Any]) -> None:
    silver = figures.get("silver")
    print(
        f"{'slice':<22} {'dataset':<24} {'p50 ms':>8} {'p95 ms':>8}"
        + ("  silver p50/p95 ms" if silver else "")
    )
    for name, gold in figures["gold"].items():
        line = f"{name:<22} {gold.get('dataset', ''):<24} {gold['p50_ms']:>8.2f} {gold['p95_ms']:>8.2f}"
        if silver:
            line += f"  {silver[name]['p50_ms']:.2f} / {silver[name]['p95_ms']:.2f}"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lake", help="lake folder (default BI_LAKE or ./lake)")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--silver", action="store_true", help="also answer the questions from Silver")
    parser.add_argument(
        "--times",
        type=int,
        metavar="N",
        help="measure on the lake's Gold and Silver facts tiled N times (bench/tile.py); implies --silver",
    )
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if args.times is not None and args.times < 2:
        parser.error("--times must be at least 2")
    settings = load_settings(lake=args.lake)
    if args.times is None:
        figures: dict[str, Any] = {"gold": measure_gold(settings, args.repeats)}
        if args.silver:
            figures["silver"] = measure_silver(settings, args.repeats)
    else:
        with tempfile.TemporaryDirectory(prefix="bi-tiled-") as folder:
            print(f"tiling the lake {args.times} times in {folder}...", file=sys.stderr)
            try:
                figures = measure_tiled(settings, args.times, args.repeats, Path(folder))
            except ValueError as exc:
                print(f"queries.py: error: {exc}", file=sys.stderr)
                return 1
        print(
            f"the lake tiled {args.times} times in {figures['tile_s']:.0f} s; answers checked",
            file=sys.stderr,
        )
    _print(figures)
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
