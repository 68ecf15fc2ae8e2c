"""Gold on storage: dataset versions, the state object that publishes them, and the sweep.

Like Silver, a run writes new version folders and publishes them with one write of
`_state/current.json` (the metrics package's `GoldState`), which lists every file of every published
partition; readers (the query engine, the dashboard) read exactly those files. The data catalogue's
readers (Athena) get the same list as one manifest per partition, written just before the state.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from bi_lake.layout import STATE_KEY
from bi_lake.storage import Storage
from bi_metrics.gold import (
    CATALOGUE_PREFIX,
    GoldDataset,
    GoldPartition,
    GoldState,
    catalogue_manifests,
)
from bi_transform.versions import data_files, sweep_versions, write_version


class GoldStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def state(self) -> GoldState:
        try:
            return GoldState.model_validate_json(self.storage.read_bytes(STATE_KEY))
        except FileNotFoundError:
            return GoldState()

    def write(
        self, dataset: GoldDataset, frame: DataFrame, run_id: str, rows: dict[str, int]
    ) -> dict[str, GoldPartition]:
        """A new version of `dataset` (the partitions present in `frame`), with its files and row counts."""
        folders = write_version(
            self.storage, frame, dataset.name, run_id, dataset.partition_by, dataset.sort_by
        )
        return {
            value: GoldPartition(
                folder=folder, files=data_files(self.storage, folder), rows=rows.get(value, 0)
            )
            for value, folder in folders.items()
        }

    def commit(self, state: GoldState) -> None:
        """Publish: the catalogue's manifests of the new files first, then the state object."""
        manifests = catalogue_manifests(state, self.storage.uri_of)
        for key, lines in manifests.items():
            self.storage.write_bytes(key, lines)
        self.storage.write_bytes(STATE_KEY, state.model_dump_json(indent=2).encode())
        for stale in set(self.storage.list_keys(CATALOGUE_PREFIX)) - set(manifests):
            self.storage.delete(stale)

    def sweep(self, state: GoldState) -> int:
        """Remove the files neither the published state nor the one before it reference."""
        return sweep_versions(self.storage, state.folders | set(state.retained_folders))
