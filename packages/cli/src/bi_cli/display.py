"""What the command line shows: live progress, the end-of-run summary, and status tables."""

from __future__ import annotations

from typing import Any

from rich.box import SIMPLE
from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bi_lake.runs import RunReport
from bi_lake.workflow import ProgressTask


class _BarTask:
    def __init__(self, progress: Progress, task: TaskID, description: str) -> None:
        self.progress, self.task, self.description = progress, task, description

    def advance(self, amount: int) -> None:
        self.progress.advance(self.task, amount)

    def finish(self, summary: str) -> None:
        self.progress.update(self.task, description=f"{self.description} [green]{summary}")


class _LineTask:
    def __init__(self, console: Console, description: str) -> None:
        self.console, self.description = console, description

    def advance(self, amount: int) -> None:
        pass

    def finish(self, summary: str) -> None:
        self.console.print(f"{self.description}: {summary}", highlight=False)


class ConsoleProgress:
    """Progress bars on a terminal, one line per finished task elsewhere (logs, CI)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bars: Progress | None = None
        if console.is_terminal:
            self._bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            )

    def __enter__(self) -> ConsoleProgress:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bars is not None:
            self._bars.stop()

    def task(self, description: str, total: int | None = None) -> ProgressTask:
        if self._bars is not None:
            return _BarTask(self._bars, self._bars.add_task(description, total=total), description)
        self.console.print(f"{description}: started", highlight=False)
        return _LineTask(self.console, description)

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/yellow] {message}", highlight=False)


def run_summary(report: RunReport) -> Group:
    """One row per table a job touched, narrow enough for an 80-column terminal: numbers never wrap or
    get cut; a job that did not succeed says so in place of its time; each table's note goes below
    the table, on a line of its own. A failed job's error is not repeated here: the run says it once."""
    table = Table(
        title=f"run {report.run_id}: {report.status} in {report.seconds:.1f} s",
        title_justify="left",
        box=SIMPLE,
        pad_edge=False,
        # The box's column separator is a space already: one more on the left is enough.
        padding=(0, 0, 0, 1),
    )
    for column, justify in (
        ("job", "left"),
        ("time", "right"),
        ("table", "left"),
        ("rows in", "right"),
        ("rows out", "right"),
        ("dups", "right"),
        ("quarantined", "right"),
    ):
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    notes: list[str] = []
    for job in report.jobs:
        took = f"{job.seconds:.1f} s" if job.status == "succeeded" else job.status
        if not job.tables:
            table.add_row(job.job, took, "", "", "", "", "")
            if job.status == "skipped" and job.error:
                notes.append(f"{job.job}: {job.error}")
        if job.status == "succeeded" and isinstance(job.details.get("note"), str):
            notes.append(f"{job.job}: {job.details['note']}")
        for index, counts in enumerate(job.tables):
            first = index == 0
            table.add_row(
                job.job if first else "",
                took if first else "",
                counts.table,
                f"{counts.rows_in:,}",
                f"{counts.rows_out:,}",
                f"{counts.duplicates:,}",
                f"{counts.quarantined:,}",
            )
            if counts.note:
                notes.append(f"{job.job} {counts.table}: {counts.note}")
    return Group(table, *(Text(f"  {note}", overflow="fold") for note in notes))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return value[:19].replace("T", " ")  # ISO timestamps to the second
    return str(value)


def simple_table(title: str, rows: list[dict[str, Any]]) -> Table:
    """Rows of a status report; columns empty in every row are left out, long values fold."""
    table = Table(title=title, title_justify="left", box=SIMPLE)
    if not rows:
        table.add_column("(none)")
        return table
    names = [name for name in rows[0] if any(row.get(name) not in (None, "") for row in rows)]
    for name in names:
        numeric = isinstance(rows[0][name], int | float) and not isinstance(rows[0][name], bool)
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(name)) for name in names))
    return table
