"""`bi`: seed the demo source, run the pipeline, ask the metrics, and see what the lake holds.

User mistakes end with one line on stderr and a non-zero exit status; only bugs show a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console

from bi_cli.dashboard import DEFAULT_DASHBOARD_ADDRESS, DEFAULT_DASHBOARD_PORT, serve_dashboard
from bi_cli.display import ConsoleProgress, run_summary, simple_table
from bi_cli.project import apply_project_defaults, lake_was_looked_for, require_a_lake
from bi_cli.runner import RunOptions, run_workflow
from bi_contracts.status import lake_status
from bi_ingest.source import error_line, redact, sqlite_path
from bi_lake.errors import UserError
from bi_lake.layout import Lake
from bi_lake.settings import DEFAULT_SOURCE_URL, Settings, load_settings
from bi_lake.storage import folder_problem
from bi_lake.version import code_version
from bi_lake.workflow import WORKFLOW
from bi_metrics.formatting import answer_csv, answer_json
from bi_source.config import SeedConfig

if TYPE_CHECKING:
    from bi_source.generator import SeedSummary

EXIT_FAILED = 1
LAKE_HELP = "lake folder or s3://bucket/prefix (or BI_LAKE; default ./lake)"
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(
            EXIT_USAGE,
            f"bi: error: {message} (see bi {self.prog.partition(' ')[2]} --help)\n".replace(
                "bi  --help", "bi --help"
            ),
        )


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: expected YYYY-MM-DD") from None


def _greater_than_zero(kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be greater than zero")
        return value

    return parse


_positive = _greater_than_zero(int)
_positive_float = _greater_than_zero(float)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not between 1 and 65535")
    return port


def _job_list(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of jobs")
    unknown = [name for name in names if name not in WORKFLOW.names]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown job {unknown[0]!r}; jobs are: {', '.join(WORKFLOW.names)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bi", description="Business Insights: a batch lakehouse for restaurant orders.")
    parser.add_argument(
        "--version", action="version", version=f"bi {code_version()}", help="print the product's version"
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for add in (_add_seed, _add_run, _add_query, _add_reading):
        add(commands)
    return parser


def _add_seed(commands: argparse._SubParsersAction[_Parser]) -> None:
    """`bi seed`: the synthetic source."""
    defaults = SeedConfig()
    seed_cmd = commands.add_parser("seed", help="create (or extend) the synthetic source database")
    seed_cmd.add_argument("--source", help=f"SQLAlchemy URL (default {DEFAULT_SOURCE_URL}, or BI_SOURCE_URL)")
    seed_cmd.add_argument(
        "--start", type=_date, default=defaults.start, help="first day (default %(default)s)"
    )
    seed_cmd.add_argument(
        "--days", type=_positive, default=defaults.days, help="days of orders (default %(default)s)"
    )
    seed_cmd.add_argument(
        "--restaurants",
        type=_positive,
        default=defaults.restaurants,
        help="number of restaurants (default %(default)s)",
    )
    seed_cmd.add_argument(
        "--orders-per-day",
        type=_positive_float,
        default=defaults.orders_per_day,
        help="average orders per day (default %(default)s)",
    )
    seed_cmd.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default %(default)s)")
    seed_cmd.add_argument(
        "--add-days",
        type=_positive,
        metavar="N",
        help="append N days after the source's last day, with some late-arriving rows",
    )


def _add_run(commands: argparse._SubParsersAction[_Parser]) -> None:
    """`bi run`: the workflow."""
    run_cmd = commands.add_parser("run", help="run the workflow: " + " -> ".join(WORKFLOW.names))
    run_cmd.add_argument("--source", help="SQLAlchemy URL of the source (or BI_SOURCE_URL)")
    run_cmd.add_argument("--lake", help=LAKE_HELP)
    run_cmd.add_argument(
        "--verbose", action="store_true", help="show Spark's own warnings and its gateway's log lines"
    )
    run_cmd.add_argument("--start", type=_date, help="re-extract from this date (inclusive)")
    run_cmd.add_argument("--end", type=_date, help="re-extract up to this date (inclusive)")
    run_cmd.add_argument(
        "--full-refresh", action="store_true", help="ignore watermarks and extract everything"
    )
    run_cmd.add_argument("--only", type=_job_list, metavar="JOB,...", help="run only these jobs")


def _add_query(commands: argparse._SubParsersAction[_Parser]) -> None:
    """`bi query`: a metric question answered from Gold."""
    query_cmd = commands.add_parser("query", help="answer a metric question from Gold")
    query_cmd.add_argument(
        "metrics", metavar="METRIC[,METRIC...]", help="metrics to compute (see bi metrics)"
    )
    query_cmd.add_argument("--by", metavar="DIM[,DIM...]", default="", help="dimensions to break down by")
    query_cmd.add_argument(
        "--where",
        metavar="DIM=VALUE",
        action="append",
        default=[],
        help="keep only this value of a dimension; repeat a dimension to allow several values",
    )
    query_cmd.add_argument("--start", type=_date, help="first order date (inclusive)")
    query_cmd.add_argument("--end", type=_date, help="last order date (inclusive)")
    query_cmd.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query_cmd.add_argument("--lake", help=LAKE_HELP)
    query_cmd.add_argument(
        "--as-of",
        metavar="RUN_ID|TIME",
        help="answer from Gold as that run published it, or as it stood at that UTC time (bi status "
        "lists the runs kept)",
    )


def _add_reading(commands: argparse._SubParsersAction[_Parser]) -> None:
    """`bi metrics`, `bi dashboard` and `bi status`: what the lake holds, and how to read it."""
    metrics_cmd = commands.add_parser("metrics", help="the catalogue: every metric and dimension")
    metrics_cmd.add_argument("--format", choices=("table", "json"), default="table")

    dashboard_cmd = commands.add_parser("dashboard", help="start the Streamlit dashboard on a lake")
    dashboard_cmd.add_argument("--lake", help=LAKE_HELP)
    dashboard_cmd.add_argument(
        "--port", type=_port, default=DEFAULT_DASHBOARD_PORT, help="port to serve on (default %(default)s)"
    )
    dashboard_cmd.add_argument(
        "--address",
        default=DEFAULT_DASHBOARD_ADDRESS,
        help="address to listen on (default %(default)s: this machine only; 0.0.0.0 for every interface)",
    )

    status_cmd = commands.add_parser("status", help="last runs, watermarks, freshness and row counts")
    status_cmd.add_argument("--lake", help=LAKE_HELP)
    status_cmd.add_argument("--format", choices=("table", "json"), default="table")


def _seed_summary_rows(summary: SeedSummary, seconds: float) -> list[dict[str, object]]:
    return [
        {"table": "order_items", "rows": summary.order_lines},
        {"table": "order_item_options", "rows": summary.option_rows},
        {"table": "date_dim", "rows": summary.date_rows},
        {"table": "restaurants", "rows": summary.restaurant_rows},
        {
            "table": f"total: {summary.orders:,} orders, "
            f"{summary.first_day}..{summary.last_day}, {seconds:.1f} s",
            "rows": summary.order_lines + summary.option_rows + summary.date_rows + summary.restaurant_rows,
        },
    ]


def _check_database_file(url: str, *, appending: bool) -> None:
    """An embedded source's file can be made, or (appending) exists; its folder is made."""
    database_file = sqlite_path(url)
    if database_file is None:
        return
    if appending and not database_file.exists():
        raise UserError(f"source database {database_file} does not exist; run bi seed first")
    if database_file.is_dir():
        raise UserError(f"source database {database_file} is a folder, not a file")
    if problem := folder_problem(database_file.parent, writing=True):
        raise UserError(f"source database {database_file}: {problem}")
    database_file.parent.mkdir(parents=True, exist_ok=True)


def _seed(
    settings: Settings, config: SeedConfig | None, extra_days: int | None, out: Console, err: Console
) -> SeedSummary:
    import sqlalchemy as sa

    # The generator (numpy and the calendar) only for the commands that make data.
    from bi_source.generator import SourceMissing, SourceNotEmpty, add_days, ensure_empty, seed

    url = settings.source_url
    _check_database_file(url, appending=extra_days is not None)
    try:
        engine = sa.create_engine(url)
    except Exception as exc:
        raise UserError(f"cannot use source {redact(url)}: {error_line(exc)}") from None
    started = time.monotonic()
    try:
        with ConsoleProgress(err) as progress:
            tasks: dict[str, object] = {}

            def report(table: str, rows: int) -> None:
                task = tasks.get(table) or tasks.setdefault(table, progress.task(f"seed {table}"))
                task.advance(rows)  # type: ignore[attr-defined]

            if extra_days is not None:
                err.print(f"appending {extra_days} day(s) to {redact(url)}", highlight=False)
                summary = add_days(engine, extra_days, (config or SeedConfig()).seed, report)
            else:
                assert config is not None
                with engine.connect() as connection:
                    ensure_empty(connection)
                err.print(
                    f"seeding {redact(url)}: {config.days} days from {config.start}, "
                    f"{config.restaurants} restaurants, ~{config.orders_per_day:g} orders/day",
                    highlight=False,
                )
                summary = seed(engine, config, report)
    except (SourceNotEmpty, SourceMissing) as exc:
        raise UserError(str(exc)) from None
    except sa.exc.SQLAlchemyError as exc:
        raise UserError(f"cannot seed {redact(url)}: {error_line(exc)}") from None
    finally:
        engine.dispose()
    out.print(simple_table("source", _seed_summary_rows(summary, time.monotonic() - started)))
    return summary


def _command_seed(args: argparse.Namespace, out: Console, err: Console) -> int:
    settings = load_settings(source_url=args.source)
    config = SeedConfig(
        start=args.start,
        days=args.days,
        restaurants=args.restaurants,
        orders_per_day=args.orders_per_day,
        seed=args.seed,
    )
    _seed(settings, config, args.add_days, out, err)
    return 0


def _command_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    settings = load_settings(
        source_url=args.source, lake=args.lake, spark_log_level="WARN" if args.verbose else None
    )
    options = RunOptions(full_refresh=args.full_refresh, start=args.start, end=args.end, only=args.only)
    # A lake that cannot be written stops the run before the demo data is made for it.
    Lake.from_settings(settings).root.check()
    default_file = sqlite_path(DEFAULT_SOURCE_URL)
    # Only a run that extracts reads the source: `--only silver,gold` makes no demo data.
    extracts = options.only is None or "ingest" in options.only
    if (
        extracts
        and settings.source_url == DEFAULT_SOURCE_URL
        and default_file is not None
        and not default_file.exists()
    ):
        err.print(f"no source at {DEFAULT_SOURCE_URL}: creating the demo data set first", highlight=False)
        _seed(settings, SeedConfig(), None, out, err)
    with ConsoleProgress(err) as progress:
        report = run_workflow(settings, options, progress)
    out.print(run_summary(report))
    out.print(
        f"run report: {Lake.from_settings(settings).root.uri_of(f'_runs/{report.run_id}.json')}",
        highlight=False,
    )
    if report.status != "succeeded":
        print(f"bi: error: {report.error}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _command_status(args: argparse.Namespace, out: Console, err: Console) -> int:
    settings = load_settings(lake=args.lake)
    lake = Lake.from_settings(settings)
    status = lake_status(lake, settings)
    if args.format == "json":
        print(json.dumps(status, indent=2))
        return 0
    if not status["runs"] and not status["bronze_tables"]:
        where = f"the lake at {status['lake']} holds no runs yet"
        if lake_was_looked_for(args, Path.cwd()):
            where = f"no lake at {status['lake']}, nor a project in the folders above it"
        out.print(f"{where}: run `bi run` to fill it, or name a lake with --lake", highlight=False)
        return 0
    out.print(simple_table("last runs", status["runs"]))
    out.print(simple_table("watermarks", status["watermarks"]))
    out.print(simple_table("bronze tables", status["bronze_tables"]))
    silver = status["silver"]
    if silver:
        rows = [
            {
                "table": table,
                **{k: v for k, v in counts.items() if not isinstance(v, dict)},
                "by reason": ", ".join(f"{r} {n:,}" for r, n in counts["quarantined_by_reason"].items()),
                "repairs": ", ".join(f"{r} {n:,}" for r, n in counts["repairs"].items()),
            }
            for table, counts in silver["reconciliation"].items()
        ]
        out.print(simple_table(f"silver reconciliation of run {silver['run_id']}", rows))
    gold = status["gold"]
    if gold:
        code = f" (code {gold['code_version']})" if gold["code_version"] else ""
        title = (
            f"gold run {gold['run_id']}{code}: snapshot date {gold['snapshot_date']}, "
            f"built from silver run {gold['silver_run_id']}, {gold['age_hours']} h ago"
        )
        out.print(simple_table(title, gold["datasets"]))
        out.print(simple_table("gold runs kept (bi query --as-of RUN_ID)", gold["kept_runs"]))
    return 0


def _command_query(args: argparse.Namespace, out: Console, err: Console) -> int:
    from bi_cli import answers
    from bi_contracts.restaurants import RESTAURANT_COLUMN
    from bi_metrics import vocabulary
    from bi_metrics.engine import MetricsEngine
    from bi_metrics.question import Question, parse_filters, split_names
    from bi_metrics.restaurants import restaurant_names

    question = Question(
        metrics=split_names(args.metrics),
        by=split_names(args.by),
        where=parse_filters(args.where),
        start=args.start,
        end=args.end,
    )
    settings = load_settings(lake=args.lake)
    engine = MetricsEngine.open(settings, as_of=args.as_of)
    names: dict[str, str] = {}
    try:
        vocabulary.check_filter_values(engine, question)
        answer = engine.ask(question)
        outside = vocabulary.range_outside_data(engine, question)
        if args.format == "table" and RESTAURANT_COLUMN in answer.columns:
            names = restaurant_names(engine)
    finally:
        engine.close()
    if outside:
        err.print(f"bi: warning: {outside}", highlight=False)
    if args.format == "json":
        print(answer_json(answer))
    elif args.format == "csv":
        sys.stdout.write(answer_csv(answer))
    else:
        out.print(answers.answer_table(answer, settings.currency, names))
        err.print(
            f"{len(answer.rows):,} row(s) from {answer.plan.dataset} in {answer.seconds * 1000:.1f} ms "
            f"(Gold run {answer.gold_version})",
            highlight=False,
        )
    return 0


def _command_dashboard(args: argparse.Namespace, out: Console, err: Console) -> int:
    settings = load_settings(lake=args.lake)
    Lake.from_settings(settings)  # refuses a bad lake here, with one line, rather than in the browser
    return serve_dashboard(settings, args.port, args.address, err)


def _command_metrics(args: argparse.Namespace, out: Console, err: Console) -> int:
    from bi_cli import answers

    if args.format == "json":
        print(answers.catalogue_json())
    else:
        for table in answers.catalogue_tables():
            out.print(table)
    return 0


COMMANDS = {
    "seed": _command_seed,
    "run": _command_run,
    "query": _command_query,
    "metrics": _command_metrics,
    "status": _command_status,
    "dashboard": _command_dashboard,
}


class _NotFromSparksGateway(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "py4j" not in Path(record.pathname).parts


def _quiet_gateway_logs() -> None:
    """Spark's Python gateway logs every call a Ctrl-C or a stopped JVM cut short, traceback and all,
    through the root logger; what matters of it reaches the user as the job's error or `bi:
    interrupted`. Other libraries' warnings still show, one line each."""
    handler = logging.StreamHandler()
    handler.addFilter(_NotFromSparksGateway())
    logging.basicConfig(level=logging.WARNING, format="bi: %(name)s: %(message)s", handlers=[handler])


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not getattr(args, "verbose", False):
        _quiet_gateway_logs()
    # Logs and pipes get wide tables rather than columns cut to 80 characters.
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)
    try:
        project = apply_project_defaults(args, Path.cwd())
        if project is not None:
            err.print(f"using the project at {project}", highlight=False)
        elif args.command == "query":
            require_a_lake(args, Path.cwd())
        return COMMANDS[args.command](args, out, err)
    except UserError as exc:
        print(f"bi: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (PermissionError, FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        # A place on this machine that cannot be used (read-only, special or vanished): the user's to
        # fix, so one line naming it rather than a traceback.
        print(f"bi: error: cannot use {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("bi: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
