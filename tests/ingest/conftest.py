"""Ingestion tests run the ingest job alone unless a test asks for more."""

from __future__ import annotations

import pytest

from bi_lake.settings import Settings
from tests.conftest import RunPipeline, pipeline_on


@pytest.fixture
def run_pipeline(settings: Settings) -> RunPipeline:
    return pipeline_on(settings, only=("ingest",))
