"""Gold's run record names the code version that built it; a record written before it did still reads
as the same Gold, so the next run rebuilds nothing on its account."""

from __future__ import annotations

import json
from pathlib import Path

from bi_contracts.gold import DATASETS_BY_NAME
from bi_contracts.published import GOLD_RUN_PROPERTY, PUBLISHED_LAST, GoldState, gold_tables, published
from bi_lake.settings import Settings


def _publish_record(lake: Path, record: dict[str, object]) -> GoldState:
    """An empty customer table whose commit carries `record` as written, then read back."""
    gold = gold_tables(Settings(lake=str(lake)))
    declaration = DATASETS_BY_NAME[PUBLISHED_LAST].declaration
    table = gold.ensure(declaration)[0]
    gold.publish(table, declaration, [], None, {GOLD_RUN_PROPERTY: json.dumps(record)}, built_on=None)
    return published(gold)


def test_a_record_names_the_code_version_it_was_written_with(tmp_path: Path) -> None:
    written = GoldState(run_id="20261201T060000Z-new", definitions="d1", code_version="1.2.3")
    read = _publish_record(tmp_path / "lake", json.loads(written.model_dump_json()))
    assert read.code_version == "1.2.3" and read.run_id == written.run_id


def test_a_record_from_before_versions_reads_whole_with_no_version(tmp_path: Path) -> None:
    older: dict[str, object] = {"run_id": "20261130T060000Z-old", "silver_run_id": "s1", "definitions": "d1",
             "silver_months": {"2023-01-01": "abc"}}  # fmt: skip
    read = _publish_record(tmp_path / "lake", older)
    assert read.code_version is None
    # What the next Gold run compares to decide a rebuild is read as written.
    assert (read.run_id, read.definitions, read.silver_run_id) == (older["run_id"], "d1", "s1")
    assert read.silver_months == older["silver_months"]
