"""The local storage: atomic objects, exclusive creation and conditional updates, listing without
in-flight files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bi_lake.errors import UserError
from bi_lake.s3 import S3Storage
from bi_lake.storage import LocalStorage, open_storage


def test_write_read_list_delete(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.write_bytes("a/b/c.json", b"1")
    storage.write_bytes("a/d.json", b"2")
    assert storage.read_bytes("a/b/c.json") == b"1"
    assert storage.list_keys("a") == ["a/b/c.json", "a/d.json"]
    assert storage.list_keys("missing") == []
    assert storage.delete_prefix("a/b") == 1
    assert storage.list_keys() == ["a/d.json"]
    storage.delete("a/d.json")
    storage.delete("a/d.json")
    assert not storage.exists("a/d.json")
    with pytest.raises(FileNotFoundError):
        storage.read_bytes("a/d.json")


def test_a_write_that_fails_leaves_the_old_object_and_no_debris(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.write_bytes("x.bin", b"old")
    with pytest.raises(RuntimeError), storage.open_write("x.bin") as stream:
        stream.write(b"new but incomplete")
        raise RuntimeError("disk full")
    assert storage.read_bytes("x.bin") == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["x.bin"]


def test_in_flight_objects_are_not_listed(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    with storage.open_write("t/part.parquet") as stream:
        stream.write(b"data")
        assert storage.list_keys("t") == []
    assert storage.list_keys("t") == ["t/part.parquet"]


def test_exclusive_creation_succeeds_once(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    assert storage.create_exclusive("lock", b"first")
    assert not storage.create_exclusive("lock", b"second")
    assert storage.read_bytes("lock") == b"first"


def test_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        LocalStorage(tmp_path).read_bytes("../etc/passwd")


def test_conditional_replace_and_delete_follow_the_tag(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    first = storage.create_exclusive("lock", b"first")
    assert first is not None
    second = storage.replace_if("lock", b"second", first)
    assert second is not None and second != first
    assert storage.replace_if("lock", b"third", first) is None
    assert storage.read_tagged("lock") == (b"second", second)
    assert not storage.delete_if("lock", first)
    assert storage.delete_if("lock", second)
    assert storage.replace_if("lock", b"again", second) is None
    assert storage.list_keys() == [], "the guard files are not objects"


def test_s3_locations_open_s3_storage_and_writing_needs_the_key() -> None:
    storage = open_storage("s3://bucket/lake")
    assert isinstance(storage, S3Storage) and storage.uri == "s3://bucket/lake"
    with pytest.raises(UserError, match="BI_KMS_KEY_ID"):
        storage.write_bytes("a.json", b"{}")
