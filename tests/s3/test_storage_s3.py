"""The storage interface on S3 (moto): the same behaviour as a folder, every write SSE-KMS with the key."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest

from bi_lake.errors import ConcurrentUpdate, LakeLocked, UserError
from bi_lake.lock import LakeLock
from bi_lake.manifests import TableWatermark, Watermarks
from bi_lake.s3 import S3Storage
from tests.s3.conftest import REGION, AwsLake

pytestmark = pytest.mark.s3


def _storage(aws_lake: AwsLake, layer: str = "bronze", prefix: str = "lake") -> S3Storage:
    return S3Storage(f"s3://{aws_lake.buckets[layer]}/{prefix}", aws_lake.key_arn)


def test_objects_round_trip_and_list_like_a_folder(aws_lake: AwsLake) -> None:
    storage = _storage(aws_lake)
    storage.write_bytes("t/a.json", b"1")
    with storage.open_write("t/ingest_date=2023-01-01/part-0.parquet") as stream:
        stream.write(b"parquet bytes")
    storage.write_bytes("tables/x.json", b"2")
    assert storage.read_bytes("t/a.json") == b"1"
    assert storage.list_keys() == ["t/a.json", "t/ingest_date=2023-01-01/part-0.parquet", "tables/x.json"]
    # A prefix is a folder: `t` does not list `tables`.
    assert storage.list_keys("t") == ["t/a.json", "t/ingest_date=2023-01-01/part-0.parquet"]
    assert storage.list_keys("t/a.json") == ["t/a.json"]
    assert storage.exists("t/a.json") and not storage.exists("t/b.json")
    with pytest.raises(FileNotFoundError):
        storage.read_bytes("t/b.json")
    assert storage.delete_prefix("t") == 2
    assert storage.list_keys() == ["tables/x.json"]
    storage.delete("tables/x.json")
    storage.delete("tables/x.json")
    assert storage.list_keys() == []


def test_a_failed_write_leaves_nothing(aws_lake: AwsLake) -> None:
    storage = _storage(aws_lake)
    with pytest.raises(RuntimeError), storage.open_write("t/part-0.parquet") as stream:
        stream.write(b"half a file")
        raise RuntimeError("the extraction failed")
    assert storage.list_keys() == []


def test_every_write_carries_sse_kms_with_the_project_key(aws_lake: AwsLake) -> None:
    storage = _storage(aws_lake, "gold", "")
    storage.write_bytes("a.json", b"{}")
    with storage.open_write("b/part-0.parquet") as stream:
        stream.write(b"x" * 1000)
    tag = storage.create_exclusive("c.json", b"{}")
    assert tag is not None and storage.replace_if("c.json", b"[]", tag)
    # Above boto3's multipart threshold: every part goes up under the same encryption.
    with storage.open_write("d/part-0.parquet") as stream:
        stream.write(b"y" * (9 * 1024 * 1024))
    s3 = boto3.client("s3", region_name=REGION)
    for key in ("a.json", "b/part-0.parquet", "c.json", "d/part-0.parquet"):
        head = s3.head_object(Bucket=aws_lake.buckets["gold"], Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == aws_lake.key_arn


def test_without_a_key_nothing_is_written(aws_lake: AwsLake) -> None:
    storage = S3Storage(f"s3://{aws_lake.buckets['gold']}", None)
    with pytest.raises(UserError, match="BI_KMS_KEY_ID"):
        storage.write_bytes("a.json", b"{}")
    assert aws_lake.objects()[aws_lake.buckets["gold"]] == []


def test_conditional_writes_use_s3_preconditions(aws_lake: AwsLake) -> None:
    storage = _storage(aws_lake)
    first = storage.create_exclusive("_lock.json", b"first")
    assert first is not None
    assert storage.create_exclusive("_lock.json", b"second") is None
    second = storage.replace_if("_lock.json", b"second", first)
    assert second is not None and second != first
    assert storage.replace_if("_lock.json", b"third", first) is None
    assert storage.read_bytes("_lock.json") == b"second"
    assert not storage.delete_if("_lock.json", first)
    assert storage.delete_if("_lock.json", second)
    assert not storage.exists("_lock.json")


def test_the_lake_lock_is_exclusive_on_s3(aws_lake: AwsLake) -> None:
    storage = _storage(aws_lake)
    with LakeLock(storage, "the-first-run"), pytest.raises(LakeLocked, match="locked by run the-first-run"):
        LakeLock(storage, "the-second-run").acquire()
    assert not storage.exists("_lock.json")


def test_a_stale_lock_is_taken_over_by_one_run_only(aws_lake: AwsLake) -> None:
    storage = _storage(aws_lake)
    storage.write_bytes(
        "_lock.json",
        b'{"run_id": "crashed", "token": "t", "pid": 1, "host": "elsewhere", '
        b'"started_at": "2023-01-01T00:00:00+00:00", "heartbeat_at": "2023-01-01T00:00:00+00:00"}',
    )
    messages: list[str] = []
    first = LakeLock(storage, "first", on_takeover=messages.append)
    first.acquire()
    assert "took over a stale lock from run crashed" in messages[0]
    with pytest.raises(LakeLocked, match="locked by run first"):
        LakeLock(storage, "second").acquire()
    first.release()


def test_watermarks_are_not_overwritten_when_another_writer_moved_them(aws_lake: AwsLake) -> None:
    storage = _storage(aws_lake)
    Watermarks().save(storage)
    mine, theirs = Watermarks.load(storage), Watermarks.load(storage)
    theirs.tables["order_items"] = TableWatermark(
        table="order_items", last_run_id="theirs", last_extracted_at=dt.datetime.now(dt.UTC), columns=[]
    )
    theirs.save(storage)
    with pytest.raises(ConcurrentUpdate, match="changed by another writer"):
        mine.save(storage)


def test_a_missing_bucket_is_one_line_naming_it(aws_lake: AwsLake) -> None:
    storage = S3Storage("s3://bi-test-nowhere/lake", aws_lake.key_arn)
    with pytest.raises(UserError, match="bucket bi-test-nowhere does not exist"):
        storage.check()
    with pytest.raises(UserError, match="bucket bi-test-nowhere does not exist"):
        storage.write_bytes("a.json", b"{}")


def test_an_unreachable_endpoint_is_one_line_naming_the_bucket(
    aws_lake: AwsLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with pytest.raises(UserError, match=r"cannot reach S3 at http://127.0.0.1:9 for bucket bi-test-bronze"):
        _storage(aws_lake).check()
