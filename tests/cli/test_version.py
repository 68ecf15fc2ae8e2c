"""`bi --version` and the local run's report: both name the version of the code that runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bi_cli.main import main
from bi_cli.runner import RunOptions, run_workflow
from bi_lake.layout import Lake
from bi_lake.runs import JobReport, load_run_reports
from bi_lake.settings import Settings
from bi_lake.version import code_version
from bi_lake.workflow import GlueSizing, JobContext, JobSpec, SilentProgress, Workflow


def test_version_prints_the_products_version_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    printed = capsys.readouterr()
    assert printed.out == f"bi {code_version()}\n" and printed.err == ""


def finished(context: JobContext) -> JobReport:
    """A job that does nothing, so the runner's own bookkeeping is all the test sees."""
    return JobReport(job="noop", status="succeeded")


def test_a_local_run_records_the_code_version_in_its_report_and_status_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = Workflow(
        (
            JobSpec(
                "noop", f"{__name__}:finished", "does nothing", "python", GlueSizing("pythonshell", 0.0625)
            ),
        )
    )
    settings = Settings(lake=str(tmp_path / "lake"), source_url=f"sqlite:///{tmp_path / 'source.db'}")
    report = run_workflow(settings, RunOptions(), SilentProgress(), workflow)
    (saved,) = load_run_reports(Lake.from_settings(settings).root)
    assert report.status == saved.status == "succeeded"
    assert report.code_version == saved.code_version == code_version()
    capsys.readouterr()
    assert main(["status", "--lake", settings.lake, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["code_version"] == code_version()
