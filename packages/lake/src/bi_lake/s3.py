"""The lake on S3: the storage interface over boto3, every object written with SSE-KMS and the project key.

Endpoint, region and credentials come the standard AWS ways only (`AWS_ENDPOINT_URL_S3` /
`AWS_ENDPOINT_URL`, `AWS_REGION`, the credential chain: environment, profile, container or instance
role), resolved once by botocore and handed to the other readers (DuckDB, Spark) from there, so all
of them talk to the same endpoint as the same principal.

S3 has no rename: an object appears whole on its PUT, so a file is made visible by one upload, and a
run's files by one pointer write (Bronze's manifest; an Iceberg commit for Silver and Gold). Exclusive
creates and compare-and-swap updates use S3's conditional writes (`If-None-Match: *`, `If-Match:
<etag>`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from bi_lake.errors import UserError
from bi_lake.storage import _TMP_PREFIX, Storage

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Large objects go up in parts; small ones are buffered in memory before their single PUT.
_SPOOL_BYTES = 64 * 1024 * 1024
_CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=120)
_DENIED = {
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
    "AllAccessDisabled", "403", "Forbidden",
}  # fmt: skip
_CONDITION_FAILED = {"PreconditionFailed", "ConditionalRequestConflict", "412"}
_KMS = {"KMS.NotFoundException", "KMS.DisabledException", "KMS.KMSInvalidStateException", "KMSAccessDenied"}


@dataclass(frozen=True)
class S3Endpoint:
    """Where S3 is and who is asking, as botocore resolved it: what DuckDB and Spark are given too."""

    endpoint_url: str | None  # None: AWS itself
    region: str
    access_key_id: str | None
    secret_access_key: str | None
    session_token: str | None

    @property
    def is_aws(self) -> bool:
        return self.endpoint_url is None or self.endpoint_url.rstrip("/").endswith("amazonaws.com")

    @property
    def host(self) -> str | None:
        """The endpoint without its scheme (`host:port`), as DuckDB and Hadoop take it."""
        return None if self.endpoint_url is None else self.endpoint_url.split("://", 1)[-1].rstrip("/")

    @property
    def uses_tls(self) -> bool:
        return self.endpoint_url is None or self.endpoint_url.startswith("https://")


# What decides the client: the standard variables boto3 reads. Tests and long-lived processes that
# change them get a client that follows.
_CLIENT_ENVIRONMENT = (
    "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
)  # fmt: skip


def s3_client() -> S3Client:
    """A client configured the standard ways: endpoint, region and credentials from boto3's chain."""
    return _client(tuple(os.environ.get(name) for name in _CLIENT_ENVIRONMENT))


@functools.cache
def _client(environment: tuple[str | None, ...]) -> S3Client:
    return _session(environment).client("s3", config=_CLIENT_CONFIG)


@functools.cache
def _session(environment: tuple[str | None, ...]) -> boto3.session.Session:
    # AWS_REGION (what Lambda, Glue and most SDKs set) before botocore's own AWS_DEFAULT_REGION and
    # profile; S3 answers from us-east-1 when nothing names a region.
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION"))
    if session.region_name is None:
        session = boto3.session.Session(region_name="us-east-1")
    return session


def resolved_endpoint() -> S3Endpoint:
    environment = tuple(os.environ.get(name) for name in _CLIENT_ENVIRONMENT)
    client = _client(environment)
    credentials = _session(environment).get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    region = client.meta.region_name or "us-east-1"
    endpoint = client.meta.endpoint_url
    return S3Endpoint(
        endpoint_url=None if endpoint.rstrip("/").endswith("amazonaws.com") else endpoint,
        region=region,
        access_key_id=frozen.access_key if frozen else None,
        secret_access_key=frozen.secret_key if frozen else None,
        session_token=frozen.token if frozen else None,
    )


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` as (bucket, `some/prefix`)."""
    rest = uri.split("://", 1)[1]
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


class _ConditionFailed(Exception):
    """A conditional write or delete found the object not as expected."""


class S3Storage(Storage):
    def __init__(self, uri: str, kms_key_id: str | None = None) -> None:
        self.bucket, self.prefix = split_s3_uri(uri)
        self.uri = f"s3://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self.kms_key_id = kms_key_id

    # -- keys -----------------------------------------------------------------------------------------

    def _key(self, key: str) -> str:
        clean = key.strip("/")
        if any(part in {"..", "."} for part in clean.split("/")):
            raise ValueError(f"invalid storage key {key!r}")
        return f"{self.prefix}/{clean}" if self.prefix else clean

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    @contextlib.contextmanager
    def _errors(self, key: str = "") -> Iterator[None]:
        """botocore's failures as one line naming the bucket; a missing object as FileNotFoundError."""
        where = f"s3://{self.bucket}/{self._key(key)}" if key else f"s3://{self.bucket}"
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise FileNotFoundError(where) from None
            if code in _CONDITION_FAILED:
                raise _ConditionFailed(where) from None
            if code == "NoSuchBucket":
                raise UserError(f"bucket {self.bucket} does not exist ({where})") from None
            if code in _DENIED:
                raise UserError(
                    f"access to {where} was denied ({code}): check the credentials and the role's policy"
                ) from None
            if code in _KMS or code.startswith("KMS"):
                raise UserError(
                    f"the KMS key {self.kms_key_id} cannot be used for bucket {self.bucket} ({code}): "
                    "check BI_KMS_KEY_ID and the key policy"
                ) from None
            raise UserError(
                f"S3 refused a request on {where}: {code} {error.get('Message', '')}".strip()
            ) from None
        except (NoCredentialsError, PartialCredentialsError):
            raise UserError(
                f"no AWS credentials for bucket {self.bucket}: provide them the standard way "
                "(AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a role)"
            ) from None
        except BotoConnectionError as exc:
            endpoint = s3_client().meta.endpoint_url
            raise UserError(f"cannot reach S3 at {endpoint} for bucket {self.bucket}: {exc}") from None
        except BotoCoreError as exc:
            raise UserError(f"S3 request on {where} failed: {exc}") from None

    def _encryption(self) -> dict[str, Any]:
        if not self.kms_key_id:
            raise UserError(
                f"writing to s3://{self.bucket} needs the project's KMS key: set BI_KMS_KEY_ID "
                "(objects are written with SSE-KMS, never relying on the bucket default)"
            )
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}

    # -- the interface --------------------------------------------------------------------------------

    def check(self) -> None:
        # A one-key listing rather than HeadBucket: it needs only s3:ListBucket, which every role
        # holds on its buckets, and it names a missing bucket as NoSuchBucket rather than a bare 404.
        with self._errors():
            s3_client().list_objects_v2(
                Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else "", MaxKeys=1
            )

    def read_bytes(self, key: str) -> bytes:
        return self.read_tagged(key)[0]

    def read_tagged(self, key: str) -> tuple[bytes, str]:
        with self._errors(key):
            response = s3_client().get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read(), response["ETag"]

    def write_bytes(self, key: str, data: bytes) -> None:
        self._put(key, data)

    def _put(self, key: str, data: bytes, **conditions: str) -> str:
        arguments: dict[str, Any] = {
            "Bucket": self.bucket, "Key": self._key(key), "Body": data, **self._encryption(), **conditions,
        }  # fmt: skip
        with self._errors(key):
            return s3_client().put_object(**arguments)["ETag"]

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[BinaryIO]:
        extra = self._encryption()
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as buffer:
            yield buffer  # type: ignore[misc]
            buffer.seek(0)
            with self._errors(key):
                s3_client().upload_fileobj(buffer, self.bucket, self._key(key), ExtraArgs=extra)

    def create_exclusive(self, key: str, data: bytes) -> str | None:
        try:
            return self._put(key, data, IfNoneMatch="*")
        except _ConditionFailed:
            return None

    def replace_if(self, key: str, data: bytes, tag: str) -> str | None:
        try:
            return self._put(key, data, IfMatch=tag)
        except (FileNotFoundError, _ConditionFailed):
            return None

    def delete_if(self, key: str, tag: str) -> bool:
        try:
            with self._errors(key):
                s3_client().delete_object(Bucket=self.bucket, Key=self._key(key), IfMatch=tag)
        except (FileNotFoundError, _ConditionFailed):
            return False
        return True

    def exists(self, key: str) -> bool:
        try:
            with self._errors(key):
                s3_client().head_object(Bucket=self.bucket, Key=self._key(key))
        except FileNotFoundError:
            return False
        return True

    def _list_full(self, prefix: str) -> list[str]:
        clean = prefix.strip("/")
        listed = self._key(clean) + "/" if clean else (f"{self.prefix}/" if self.prefix else "")
        keys: list[str] = []
        with self._errors(clean):
            for page in (
                s3_client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=listed)
            ):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        if clean and not keys and self.exists(clean):
            keys = [self._key(clean)]
        return keys

    def list_keys(self, prefix: str = "") -> list[str]:
        relative = (self._relative(key) for key in self._list_full(prefix))
        return sorted(key for key in relative if not key.rsplit("/", 1)[-1].startswith(_TMP_PREFIX))

    def delete(self, key: str) -> None:
        with self._errors(key):
            s3_client().delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.strip("/"):
            raise ValueError("refusing to delete a whole storage root")
        keys = self._list_full(prefix)
        with self._errors(prefix):
            for start in range(0, len(keys), 1000):
                batch: list[Any] = [{"Key": key} for key in keys[start : start + 1000]]
                response = s3_client().delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
                errors = response.get("Errors", [])
                if errors:
                    first = errors[0]
                    where = f"s3://{self.bucket}/{self._key(prefix)}"
                    raise UserError(
                        f"could not delete {len(errors)} object(s) under {where}: "
                        f"{first.get('Code', '')} on {first.get('Key', '')}"
                    )
        return len(keys)
