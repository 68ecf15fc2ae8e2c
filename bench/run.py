"""The benchmark suite: build a source of N times the default size, fill a lake from it, and measure.

    uv run python bench/run.py [--scale N] [--query-at S] [--out FILE.json] [--keep DIR] [--repeats 50]
                               [--page-repeats 10]

Everything happens in a temporary folder (the source database, the lake, each stage's output), removed
at the end unless --keep names a folder to work in and leave behind. Progress goes to stderr, the table
of figures to stdout, and with --out the figures as JSON:

    scale                        the default SeedConfig's orders per day times this (365 days and the
                                 default restaurants either way); a float, so 0.1 makes a quick check
    source_rows                  order lines + option rows + calendar rows the source was seeded with
    seed_s                       seeding that source (generation and inserts, in this process)
    ingest_s                     `bi run --only ingest` on the empty lake: a full extraction
    ingest_rows_per_s            rows ingest wrote to Bronze (its run report) / ingest_s
    ingest_peak_rss_mb           the ingest process's peak resident memory (sampled, see below)
    silver_s, gold_s             `bi run --only silver`, then `--only gold`: their first runs
    full_run_s                   ingest_s + silver_s + gold_s, the three stage processes of the first run
                                 (not one whole `bi run`, so that each stage's time and memory are its own)
    noop_run_s                   the same three stage processes again right after, with nothing new at the
                                 source (the lookback re-reads rows Silver holds); their sum
    incremental_run_s            one day added with the generator's add_days (what `bi seed --add-days 1`
                                 does), then the same three stage processes, incremental as usual; their sum
    incremental_ratio            incremental_run_s / full_run_s
    incremental_floor_s          the same incremental run (three stage processes, one day added) on a
                                 source of FLOOR_CONFIG's size: a week of about twenty orders a day. What an
                                 incremental run costs whatever the data: the interpreter, the imports,
                                 starting Spark, its warm-up, each table's Spark actions and commit
    floor_ratio                  incremental_floor_s / full_run_s: the least incremental_ratio can be
                                 with one Spark process per stage, as the jobs run on Glue
    incremental_above_floor_s    incremental_run_s - incremental_floor_s: what the day's data and the
                                 history behind it add
    query_p50_ms, query_p95_ms   the typical `bi query` slices of bench/queries.py, warm, in-process, over
                                 every repeat of every slice
    silver_query_p95_ms          the same questions straight from Silver's facts (bench/queries.py --silver)
    query_p50_ms_<S>x,           with --query-at S: the same slices, and the same from Silver, on this lake
    query_p95_ms_<S>x,           tiled S / scale times (bench/tile.py: every customer and order copied
    silver_query_p95_ms_<S>x     under new ids, the tiled answers checked against the lake's), which
                                 stands for a lake S times the default size without a Spark run at S
    dashboard_page_ms            the Overview page re-rendered by Streamlit's AppTest after a filter change
                                 (new questions reach DuckDB, nothing is cached), p50; as bench/dashboard.py
    glue_cost_usd_per_daily_run  infra's cost model (bi_infra.costs.run_cost) with the prod stack's job
                                 sizes and the incremental run's stage times measured here
    machine                      CPU count, memory, Python version and platform

Every stage time is a whole process, timed with time.perf_counter from its start to its exit: the
interpreter, the imports and, for silver and gold, starting Spark are included, as each Glue job starts
its own. Memory is each process's own peak resident set (VmHWM in /proc/<pid>/status), read ten times
a second while the stage runs, for the `bi` process and every process it starts (Spark's JVM): the stages
table and "stages" in the JSON give both. Not the rusage of wait4: Linux carries the parent's peak into
a forked child's, so every stage would report at least this script's own size. The script makes itself
the subreaper of what its stages leave behind, so the JVM, which outlives its driver, is waited for
before the next stage starts.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bi_dashboard.pages import PAGES
from bi_infra.costs import requests_cost, run_cost, stack_job_sizes
from bi_lake.layout import Lake
from bi_lake.runs import load_run_reports
from bi_lake.settings import Settings, load_settings
from bi_source.config import SeedConfig
from bi_source.generator import SeedSummary, add_days, seed

if TYPE_CHECKING:
    from bench import dashboard, queries
else:
    # Run as a script, bench/ itself is first on sys.path; mypy sees the folder as the `bench` package.
    import dashboard
    import queries

STAGES = ("ingest", "silver", "gold")
# Overridden for the stages' processes: a layer set elsewhere in the environment would escape the
# temporary lake.
LAYER_VARIABLES = ("BI_BRONZE_URI", "BI_SILVER_URI", "BI_GOLD_URI")
COST_STACK = "prod"
HEARTBEAT_S = 30.0
STDERR_TAIL_LINES = 20
# How long the JVM may take to exit once its driver has gone (it leaves when its stdin closes).
ORPHAN_WAIT_S = 60.0
PR_SET_CHILD_SUBREAPER = 36

_CLOCK = time.perf_counter()


# The floor: a source so small that its runs cost what any run costs (a week, two restaurants, about
# twenty orders a day). Its incremental run is measured as the benchmark's: one day added, three stages.
# (Its added day has 6 orders: a day without one would make the run a check that nothing changed.)
FLOOR_CONFIG = SeedConfig(days=7, restaurants=2, orders_per_day=20.0, seed=7)


class BenchError(Exception):
    """A step that failed: one line for the user, the details already printed."""


@dataclasses.dataclass(frozen=True)
class StageRun:
    run: str
    stage: str
    seconds: float
    job_seconds: float | None  # as the run report has it: the job alone, inside the process
    rows_out: int
    peak_rss_mb: float  # the `bi` process (for silver and gold, the Python driver)
    jvm_peak_rss_mb: float | None  # the largest process the stage left behind: Spark's JVM


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _CLOCK:7.1f} s] {message}", file=sys.stderr, flush=True)


@contextmanager
def heartbeat(label: str) -> Iterator[None]:
    """A progress line every HEARTBEAT_S while a long step runs, so a slow stage does not look hung."""
    done = threading.Event()
    started = time.perf_counter()

    def beat() -> None:
        while not done.wait(HEARTBEAT_S):
            log(f"{label}... {time.perf_counter() - started:.0f} s")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def become_subreaper() -> bool:
    """Make the orphans of this script's stages (Spark's JVM) its children, so it can reap them and read
    their own resource usage; False where the platform cannot."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def reap_orphans() -> None:
    """Wait for what the last stage left behind (Spark's JVM), so it does not overlap the next stage."""
    deadline = time.monotonic() + ORPHAN_WAIT_S
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                log(f"a process left by the last stage is still running after {ORPHAN_WAIT_S:.0f} s")
                return
            time.sleep(0.05)


def _parents() -> dict[int, int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return parents


def _peak_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class PeakMemory:
    """The peak resident set of a process and of each process it starts, sampled while they run."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        tracked = {self.root}
        while True:
            parents = _parents()
            # A process once seen under the stage stays tracked after its parent exits (the JVM does).
            tracked |= {pid for pid in parents if parents[pid] in tracked}
            for pid in list(tracked):
                peak = _peak_kib(pid)
                if peak is None:
                    # Gone: forget it, so that a later process given the same pid is not counted.
                    tracked.discard(pid)
                else:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), peak)
            if self._stop.wait(0.1):
                return

    def stop(self) -> tuple[float, float | None]:
        """The root's peak and the largest peak of the processes it started, in MB."""
        self._stop.set()
        self._thread.join()
        others = [peak for pid, peak in self.peaks.items() if pid != self.root]
        mb = 1024 / 2**20
        return round(self.peaks.get(self.root, 0) * mb, 1), (round(max(others) * mb, 1) if others else None)


def stderr_tail(path: Path) -> str:
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(lines[-STDERR_TAIL_LINES:])


def run_stage(
    run: str, stage: str, work: Path, lake: Lake, reported: set[str], env: dict[str, str] | None = None
) -> StageRun:
    """`bi run --only STAGE` as its own process, timed from start to exit, with its own peak memory
    (on the source and lake of this process's environment, or of `env`)."""
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    out_file, err_file = logs / f"{run}-{stage}.out", logs / f"{run}-{stage}.err"
    command = [sys.executable, "-m", "bi_cli.main", "run", "--only", stage]
    log(f"{stage} ({run})...")
    with out_file.open("wb") as out, err_file.open("wb") as err, heartbeat(f"{stage} ({run})"):
        started = time.perf_counter()
        # cwd: Spark leaves spark-warehouse/ and derby files where it starts; keep them in the work folder.
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=work, env=env)
        memory = PeakMemory(process.pid)
        process.wait()
        seconds = time.perf_counter() - started
        reap_orphans()
        peak, jvm_peak = memory.stop()
    if process.returncode != 0:
        print(f"--- {stage} ({run}) stderr, last lines ---\n{stderr_tail(err_file)}", file=sys.stderr)
        raise BenchError(f"{stage} ({run}) failed with exit status {process.returncode}")
    job_seconds, rows_out = None, 0
    for report in load_run_reports(lake.root):
        if report.run_id in reported:
            continue
        reported.add(report.run_id)
        for job in report.jobs:
            if job.job == stage:
                job_seconds = job.seconds
                rows_out = sum(table.rows_out for table in job.tables)
    result = StageRun(
        run=run,
        stage=stage,
        seconds=round(seconds, 3),
        job_seconds=job_seconds,
        rows_out=rows_out,
        peak_rss_mb=peak,
        jvm_peak_rss_mb=jvm_peak,
    )
    log(f"{stage} ({run}) done in {seconds:.1f} s, peak {result.peak_rss_mb:,.0f} MB")
    return result


def machine() -> dict[str, Any]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu_count": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def seed_source(source_url: str, config: SeedConfig) -> tuple[int, float]:
    """The source seeded at the configured size: its rows, and the seconds it took."""
    log(
        f"seeding {config.days} days x ~{config.orders_per_day:g} orders/day, "
        f"{config.restaurants} restaurants..."
    )
    engine = sa.create_engine(source_url)
    try:
        with heartbeat("seeding"):
            started = time.perf_counter()
            seeded = seed(engine, config)
            seed_s = time.perf_counter() - started
    finally:
        engine.dispose()
    source_rows = seeded.order_lines + seeded.option_rows + seeded.date_rows
    log(f"seeded {source_rows:,} rows ({seeded.orders:,} orders) in {seed_s:.1f} s")
    return source_rows, seed_s


def add_one_day(source_url: str, config: SeedConfig) -> SeedSummary:
    """One more day at the source, as `bi seed --add-days 1` adds it."""
    engine = sa.create_engine(source_url)
    try:
        return add_days(engine, 1, config.seed)
    finally:
        engine.dispose()


def measure_floor(work: Path) -> dict[str, StageRun]:
    """The incremental run's stages on FLOOR_CONFIG's source (seeded, run in full, one day added), in
    a folder of their own: the run's cost with next to no data."""
    folder = work / "floor"
    folder.mkdir()
    source_url = f"sqlite:///{folder / 'source.db'}"
    env = os.environ | {"BI_SOURCE_URL": source_url, "BI_LAKE": str(folder / "lake")}
    lake = Lake.from_settings(load_settings(source_url=source_url, lake=str(folder / "lake")))
    log("the floor: the same runs on a week of about twenty orders a day...")
    seed_source(source_url, FLOOR_CONFIG)
    reported: set[str] = set()
    for stage in STAGES:
        run_stage("floor full", stage, folder, lake, reported, env)
    added = add_one_day(source_url, FLOOR_CONFIG)
    if not added.order_lines:
        raise BenchError("the floor's added day has no order: its run would not be an incremental one")
    log(f"added {added.order_lines:,} order lines ({added.orders:,} orders)")
    return {stage: run_stage("floor", stage, folder, lake, reported, env) for stage in STAGES}


def measure_tiled(
    scale: float, query_at: float, work: Path, settings: Settings, repeats: int
) -> dict[str, Any]:
    """`bi query` at `query_at` times the default size, on this lake tiled."""
    times = round(query_at / scale)
    log(f"bi query at {query_at:g}x: the lake tiled {times} times (no Spark run at {query_at:g}x)...")
    with heartbeat("tiling and measuring"):
        try:
            tiled = queries.measure_tiled(settings, times, repeats, work / f"tiled-{query_at:g}x")
        except ValueError as exc:
            raise BenchError(str(exc)) from None
    log(f"tiled in {tiled['tile_s']:.0f} s, answers checked")
    suffix = f"{query_at:g}x"
    return {
        f"query_p50_ms_{suffix}": tiled["gold"]["all"]["p50_ms"],
        f"query_p95_ms_{suffix}": tiled["gold"]["all"]["p95_ms"],
        f"silver_query_p95_ms_{suffix}": tiled["silver"]["all"]["p95_ms"],
        "tiled": {"scale": query_at} | tiled,
    }


def measure(
    scale: float, work: Path, repeats: int, page_repeats: int, query_at: float | None = None
) -> dict[str, Any]:
    source_url = f"sqlite:///{work / 'source.db'}"
    lake_dir = work / "lake"
    os.environ.update(BI_SOURCE_URL=source_url, BI_LAKE=str(lake_dir))
    for variable in LAYER_VARIABLES:
        os.environ.pop(variable, None)
    settings = load_settings(source_url=source_url, lake=str(lake_dir))
    lake = Lake.from_settings(settings)
    subreaper = become_subreaper()
    if not subreaper:
        log("cannot wait for Spark's JVM on this platform: a stage may overlap the JVM of the one before")

    config = dataclasses.replace(SeedConfig(), orders_per_day=SeedConfig().orders_per_day * scale)
    source_rows, seed_s = seed_source(source_url, config)

    reported: set[str] = set()
    full = {stage: run_stage("full", stage, work, lake, reported) for stage in STAGES}
    log("again, with nothing new at the source...")
    noop = {stage: run_stage("nothing new", stage, work, lake, reported) for stage in STAGES}

    log("adding one day to the source...")
    added = add_one_day(source_url, config)
    log(f"added {added.order_lines + added.option_rows:,} rows ({added.late_lines:,} late lines)")
    incremental = {stage: run_stage("incremental", stage, work, lake, reported) for stage in STAGES}
    floor = measure_floor(work)

    log(f"bi query: {len(queries.TYPICAL)} typical slices x {repeats}, from Gold...")
    gold_figures = queries.measure_gold(settings, repeats)
    log("the same questions from Silver...")
    silver_figures = queries.measure_silver(settings, repeats)
    log(f"dashboard: the {PAGES[0].title} page, {page_repeats} filter changes...")
    app, start_ms = dashboard.start_app(str(lake_dir))
    page, _ = dashboard.measure_page(app, PAGES[0], page_repeats)

    tiled = measure_tiled(scale, query_at, work, settings, repeats) if query_at is not None else {}

    jobs, glue_usd = run_cost(
        stack_job_sizes(COST_STACK), {stage: run.seconds for stage, run in incremental.items()}
    )
    ingest = full["ingest"]
    full_s, incremental_s = (sum(run.seconds for run in runs.values()) for runs in (full, incremental))
    floor_s = sum(run.seconds for run in floor.values())
    return {
        "scale": scale,
        "source_rows": source_rows,
        "seed_s": round(seed_s, 3),
        "ingest_s": ingest.seconds,
        "ingest_rows_per_s": round(ingest.rows_out / ingest.seconds),
        "ingest_peak_rss_mb": ingest.peak_rss_mb,
        "silver_s": full["silver"].seconds,
        "gold_s": full["gold"].seconds,
        "full_run_s": round(full_s, 3),
        "incremental_run_s": round(incremental_s, 3),
        "incremental_ratio": round(incremental_s / full_s, 3),
        "incremental_floor_s": round(floor_s, 3),
        "floor_ratio": round(floor_s / full_s, 3),
        "incremental_above_floor_s": round(incremental_s - floor_s, 3),
        "noop_run_s": round(sum(run.seconds for run in noop.values()), 3),
        "query_p50_ms": gold_figures["all"]["p50_ms"],
        "query_p95_ms": gold_figures["all"]["p95_ms"],
        "silver_query_p95_ms": silver_figures["all"]["p95_ms"],
        **{key: value for key, value in tiled.items() if key != "tiled"},
        "dashboard_page_ms": page["filter_change_p50_ms"],
        "glue_cost_usd_per_daily_run": round(glue_usd, 5),
        "machine": machine(),
        # The detail behind the figures above.
        "orders_per_day": config.orders_per_day,
        "stages": [
            dataclasses.asdict(run)
            for run in (*full.values(), *noop.values(), *incremental.values(), *floor.values())
        ],
        "floor_config": dataclasses.asdict(FLOOR_CONFIG) | {"start": FLOOR_CONFIG.start.isoformat()},
        "jvm_reaped": subreaper,
        "queries": {"gold": gold_figures, "silver": silver_figures}
        | ({"tiled": tiled["tiled"]} if tiled else {}),
        "dashboard": {"app_start_ms": round(start_ms, 1), PAGES[0].name: page},
        "glue_cost": {
            "stack": COST_STACK,
            "jobs": [dataclasses.asdict(job) for job in jobs],
            "requests_usd": round(requests_cost(), 5),
        },
    }


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _tiled_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    tiled = figures["queries"].get("tiled")
    if tiled is None:
        return []
    at = f"{tiled['scale']:g}x"
    gold, silver = tiled["gold"]["all"], tiled["silver"]["all"]
    return [
        (
            f"bi query at {at} (the lake tiled {tiled['times']}x), p50 / p95",
            f"{gold['p50_ms']:,.1f} / {gold['p95_ms']:,.1f} ms",
        ),
        (f"the same from Silver at {at}, p50 / p95", f"{silver['p50_ms']:,.1f} / {silver['p95_ms']:,.1f} ms"),
    ]


def render(figures: dict[str, Any]) -> str:
    f = figures
    gold_slices = [v for k, v in f["queries"]["gold"].items() if k != "all"]
    silver_p50 = f["queries"]["silver"]["all"]["p50_ms"]
    rows = [
        ("source rows (lines + options + calendar)", f"{f['source_rows']:,}"),
        ("seed", f"{f['seed_s']:.1f} s"),
        (
            "ingest, full extraction",
            f"{f['ingest_s']:.1f} s, {f['ingest_rows_per_s']:,} rows/s, "
            f"{f['ingest_peak_rss_mb']:,.0f} MB peak",
        ),
        ("silver, first run", f"{f['silver_s']:.1f} s"),
        ("gold, first run", f"{f['gold_s']:.1f} s"),
        ("full run (the three stages)", f"{f['full_run_s']:.1f} s"),
        ("run with nothing new at the source", f"{f['noop_run_s']:.1f} s"),
        (
            "incremental run (one more day)",
            f"{f['incremental_run_s']:.1f} s ({f['incremental_ratio']:.0%} of the full run)",
        ),
        (
            "the same at the floor (a week of ~20 orders a day)",
            f"{f['incremental_floor_s']:.1f} s ({f['floor_ratio']:.0%} of the full run); "
            f"above it: {f['incremental_above_floor_s']:.1f} s",
        ),
        (
            "bi query, typical slices warm, p50 / p95",
            f"{f['query_p50_ms']:,.1f} / {f['query_p95_ms']:,.1f} ms "
            f"(slowest slice p50 {max(s['p50_ms'] for s in gold_slices):,.1f} ms)",
        ),
        ("the same from Silver, p50 / p95", f"{silver_p50:,.1f} / {f['silver_query_p95_ms']:,.1f} ms"),
        *_tiled_rows(f),
        ("dashboard Overview after a filter change, p50", f"{f['dashboard_page_ms']:,.1f} ms"),
        (
            f"Glue cost of a daily run ({f['glue_cost']['stack']} job sizes)",
            f"${f['glue_cost_usd_per_daily_run']:.4f}",
        ),
    ]
    m = f["machine"]
    lines = [
        f"scale {f['scale']:g} (~{f['orders_per_day']:g} orders/day, 365 days); "
        f"{m['cpu_count']} CPUs, {m['memory_gib']:g} GiB, Python {m['python']}, {m['platform']}",
        "",
    ]
    width = max(len(name) for name, _ in rows)
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    lines += ["", f"{'stage':<8} {'run':<12} {'process s':>9} {'job s':>7} {'bi MB':>7} {'JVM MB':>7}"]
    for stage in f["stages"]:
        job_s = "-" if stage["job_seconds"] is None else f"{stage['job_seconds']:.1f}"
        lines.append(
            f"{stage['stage']:<8} {stage['run']:<12} {stage['seconds']:>9.1f} {job_s:>7} "
            f"{_mb(stage['peak_rss_mb']):>7} {_mb(stage['jvm_peak_rss_mb']):>7}"
        )
    lines += [
        "",
        "process s: the whole stage process (interpreter, imports, starting Spark); job s: the job in it",
        "bi MB: the stage process's own peak RSS (VmHWM): all of ingest, the Python driver of silver/gold",
        "JVM MB: the peak RSS of the largest process the stage started: Spark's JVM",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="times the default orders per day")
    parser.add_argument(
        "--query-at",
        type=float,
        metavar="S",
        help="also measure bi query at S times the default size, on the lake tiled S / --scale times "
        "(a whole multiple of --scale, e.g. --scale 10 --query-at 100)",
    )
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR (new or empty) and keep it")
    parser.add_argument("--repeats", type=int, default=50, help="repeats per query slice (default 50)")
    parser.add_argument(
        "--page-repeats", type=int, default=10, help="filter changes on the Overview page (default 10)"
    )
    args = parser.parse_args()
    if args.scale <= 0:
        parser.error("--scale must be greater than zero")
    if args.query_at is not None and (
        args.query_at < 2 * args.scale
        or abs(args.query_at / args.scale - round(args.query_at / args.scale)) > 1e-9
    ):
        parser.error("--query-at must be a whole multiple of --scale, at least twice it")
    if args.repeats < 1 or args.page_repeats < 1:
        parser.error("--repeats and --page-repeats must be at least 1")
    if args.keep is not None and args.keep.exists() and (not args.keep.is_dir() or any(args.keep.iterdir())):
        parser.error(f"--keep {args.keep}: not an empty folder")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    work = args.keep.resolve() if args.keep is not None else Path(tempfile.mkdtemp(prefix="bi-bench-"))
    log(f"working in {work}")
    try:
        figures = measure(args.scale, work, args.repeats, args.page_repeats, args.query_at)
    except BenchError as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(render(figures))
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
        log(f"figures written to {args.out}")
    if args.keep is not None:
        log(f"the source and the lake are kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
