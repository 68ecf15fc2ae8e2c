"""Where everything lives in the lake: one place for every key pattern (docs/architecture.md, *Lake
layout*)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bi_lake.errors import UserError
from bi_lake.settings import Settings
from bi_lake.storage import Storage, is_s3, open_storage

WATERMARKS_KEY = "_state/watermarks.json"
MANIFESTS_PREFIX = "_manifests"
RUNS_PREFIX = "_runs"
# The run id each workflow run of the orchestrator (a Glue workflow run) was given by its first job.
WORKFLOW_RUNS_PREFIX = "_workflow_runs"
LOCK_KEY = "_lock.json"


def bronze_partition(table: str, ingest_date: dt.date, run_id: str) -> str:
    return f"{table}/ingest_date={ingest_date.isoformat()}/run_id={run_id}"


def manifest_key(run_id: str) -> str:
    return f"{MANIFESTS_PREFIX}/{run_id}.json"


def run_report_key(run_id: str) -> str:
    return f"{RUNS_PREFIX}/{run_id}.json"


def workflow_run_key(workflow_run_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,255}", workflow_run_id):
        raise UserError(
            f"invalid workflow run id {workflow_run_id!r}: letters, digits, '_', '.' and '-' only"
        )
    return f"{WORKFLOW_RUNS_PREFIX}/{workflow_run_id}.json"


@dataclass(frozen=True)
class Lake:
    """The storages of one lake: its root (run reports, lock) and each layer."""

    root: Storage
    bronze: Storage
    silver: Storage
    gold: Storage

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        key = settings.kms_key_id
        lake = cls(
            root=open_storage(settings.lake, key),
            bronze=open_storage(settings.bronze, key),
            silver=open_storage(settings.silver, key),
            gold=open_storage(settings.gold, key),
        )
        # Each layer removes the files in its tables' folders that none of its snapshots reference, so
        # two layers in one place would delete each other's files.
        layers = {"bronze": lake.bronze.uri, "silver": lake.silver.uri, "gold": lake.gold.uri}
        for first, first_uri in layers.items():
            for second, second_uri in layers.items():
                if first < second and _overlap(first_uri, second_uri):
                    raise UserError(
                        f"the {first} layer ({first_uri}) and the {second} layer ({second_uri}) overlap: "
                        "give each layer a location of its own"
                    )
        return lake

    def layer(self, name: str) -> Storage:
        storages: dict[str, Storage] = {"bronze": self.bronze, "silver": self.silver, "gold": self.gold}
        return storages[name]

    def check(self, layers: Iterable[str] = ("bronze", "silver", "gold")) -> None:
        """The root and these layers usable before anything is written (a missing bucket fails here, in
        one line)."""
        for storage in (self.root, *(self.layer(name) for name in layers)):
            storage.check()

    @property
    def on_s3(self) -> bool:
        return any(is_s3(s.uri) for s in (self.root, self.bronze, self.silver, self.gold))


def _overlap(first: str, second: str) -> bool:
    a, b = first.rstrip("/") + "/", second.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)
