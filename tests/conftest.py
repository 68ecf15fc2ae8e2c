"""Shared fixtures: real SQLite sources made by the generator, and lakes in temporary folders."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

import bi_dashboard
from bi_lake.runs import RunReport
from bi_lake.settings import Settings
from bi_source.config import SeedConfig
from bi_source.generator import seed
from tests import running

# What a test costs follows from what it uses, so `-m unit` is the fast loop without anyone keeping a
# list: a test that asks for one of these fixtures (directly or through another) carries its marker. A
# module that starts processes (`bi`, a job, a server) declares `pytest.mark.e2e` itself; the guards
# below fail a test that does more than its markers say, naming the marker it needs.
COST_OF_FIXTURE = {
    "spark": "spark",
    "gold_lake": "e2e",
    "run_pipeline": "e2e",
    "default_source_file": "e2e",
    "browser": "e2e",
    "image": "e2e",  # the dashboard's image installed as its Dockerfile says
    "wheels": "e2e",  # the jobs' wheels built and their dependencies downloaded
    "moto_endpoint": "s3",
}
COSTLY = frozenset(COST_OF_FIXTURE.values())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker in sorted({cost for fixture, cost in COST_OF_FIXTURE.items() if fixture in used}):
            item.add_marker(marker)
        if not any(item.get_closest_marker(cost) for cost in COSTLY):
            item.add_marker("unit")


@pytest.fixture(autouse=True)
def _tests_do_no_more_than_their_markers_say(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Outside `e2e`, running `bi` or the pipeline (tests/running.py) fails at once; in a `unit` test,
    so does starting Spark by any road."""
    if not request.node.get_closest_marker("e2e"):
        monkeypatch.setattr(running, "REFUSED", "this test runs `bi` or the pipeline: mark it `e2e`")
    if request.node.get_closest_marker("unit"):
        from pyspark import SparkContext

        def refuse(*_: object, **__: object) -> None:
            pytest.fail("this test starts Spark: mark it `spark` (or `e2e` if it runs the pipeline)")

        monkeypatch.setattr(SparkContext, "_ensure_initialized", classmethod(refuse))
    yield


# Three and a bit months: ranges cross months, customers return across them and some drift away.
GOLD_CONFIG = SeedConfig(start=dt.date(2023, 1, 1), days=100, restaurants=4, orders_per_day=80.0, seed=11)
SMALL = SeedConfig(start=dt.date(2023, 1, 1), days=30, restaurants=5, orders_per_day=120.0, seed=7)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def seeded_source(path: Path, config: SeedConfig) -> Path:
    """A SQLite source at `path` filled by the generator."""
    engine = sa.create_engine(sqlite_url(path))
    seed(engine, config)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def small_source_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A month of orders at a few restaurants, made once per session; copy it before changing it."""
    return seeded_source(tmp_path_factory.mktemp("small") / "source.db", SMALL)


@pytest.fixture(scope="session")
def default_source_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default demo data set (2023, ~130,000 orders), made once per session; never change it."""
    return seeded_source(tmp_path_factory.mktemp("default") / "source.db", SeedConfig())


@pytest.fixture
def source(small_source_file: Path, tmp_path: Path) -> Path:
    """A private copy of the small source, free to change."""
    path = tmp_path / "source.db"
    shutil.copy(small_source_file, path)
    return path


@pytest.fixture
def source_engine(source: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sqlite_url(source))
    yield engine
    engine.dispose()


@pytest.fixture
def settings(source: Path, tmp_path: Path) -> Settings:
    return Settings(source_url=sqlite_url(source), lake=str(tmp_path / "lake"), chunk_rows=1000)


RunPipeline = Callable[..., RunReport]


def pipeline_on(settings: Settings, only: tuple[str, ...] | None = None) -> RunPipeline:
    """`run_pipeline` on these settings (or others given), running `only` these jobs unless told."""

    def run(current: Settings | None = None, **options: Any) -> RunReport:
        options.setdefault("only", only)
        return running.run_pipeline(current or settings, **options)

    return run


@pytest.fixture
def run_pipeline(settings: Settings) -> RunPipeline:
    """Run the workflow on the test's source and lake, as `bi run` does."""
    return pipeline_on(settings)


@pytest.fixture(scope="session")
def spark() -> object:
    """One real local SparkSession for the whole test session (the jobs pick it up as the active one)."""
    from bi_transform.spark import spark_session

    return spark_session("bi-tests")


@pytest.fixture(scope="session")
def gold_lake(tmp_path_factory: pytest.TempPathFactory, spark: object) -> Settings:
    """A lake built through Gold by the whole pipeline from GOLD_CONFIG's source; copy it before changing it."""
    root = tmp_path_factory.mktemp("gold")
    seeded_source(root / "source.db", GOLD_CONFIG)
    settings = Settings(source_url=sqlite_url(root / "source.db"), lake=str(root / "lake"))
    report = running.run_pipeline(settings)
    assert report.status == "succeeded", report.error
    return settings


# Lineage: which extraction and which Silver run a row came from differs between two runs by design.
RUN_COLUMNS = frozenset({"v", "extracted_at", "ingest_run_id"})


def silver_contents(
    settings: Settings, tables: tuple[str, ...] | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Every published Silver table's rows (or these tables'), lineage columns aside, in order: for
    comparing two lakes."""
    import duckdb

    from bi_transform.silver.job import open_store

    store = open_store(settings)
    state = store.state()
    contents: dict[str, list[tuple[Any, ...]]] = {}
    for table in tables or sorted(state.tables):
        files = store.files(state, table)
        if not files:
            contents[table] = []
            continue
        relation = duckdb.read_parquet(files)
        columns = [c for c in relation.columns if c not in RUN_COLUMNS]
        contents[table] = relation.select(*columns).order("ALL").fetchall()
    return contents


def gold_contents(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every Gold dataset's rows, in order, as the query engine reads them: for comparing two lakes."""
    from bi_contracts.gold import DATASETS
    from bi_metrics.engine import MetricsEngine

    engine = MetricsEngine.open(settings)
    try:
        return {d.name: engine.query(f'SELECT * FROM "{d.name}" ORDER BY ALL') for d in DATASETS}
    finally:
        engine.close()


# The dashboard under Streamlit's AppTest, on a lake named the way `bi dashboard` names it.
APP = str(Path(bi_dashboard.__file__).parent / "app.py")
OpenApp = Callable[..., AppTest]


@pytest.fixture
def open_app(monkeypatch: pytest.MonkeyPatch) -> OpenApp:
    """The app on a lake, optionally opened with a link's query parameters, run once."""

    def open_on(
        lake: str,
        page: str | None = None,
        env: dict[str, str] | None = None,
        state: dict[str, object] | None = None,
        **params: str | list[str],
    ) -> AppTest:
        for name in [name for name in os.environ if name.startswith("BI_")]:
            monkeypatch.delenv(name)
        for name, value in {"BI_LAKE": lake, **(env or {})}.items():
            monkeypatch.setenv(name, value)
        app = AppTest.from_file(APP, default_timeout=120)
        app.query_params.update(params)
        for key, held in (state or {}).items():
            app.session_state[key] = held
        app.run()
        if page is not None:
            app.switch_page(page).run()
        return app

    return open_on
