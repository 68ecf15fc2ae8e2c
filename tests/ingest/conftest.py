"""Ingestion tests run the ingest job alone unless a test asks for more."""

from __future__ import annotations

import pytest

from bi_cli.runner import RunOptions, run_workflow
from bi_lake.runs import RunReport
from bi_lake.settings import Settings
from bi_lake.workflow import SilentProgress
from tests.conftest import RunPipeline


@pytest.fixture
def run_pipeline(settings: Settings) -> RunPipeline:
    def run(current: Settings | None = None, **options: object) -> RunReport:
        options.setdefault("only", ("ingest",))
        return run_workflow(current or settings, RunOptions(**options), SilentProgress())  # type: ignore[arg-type]

    return run
