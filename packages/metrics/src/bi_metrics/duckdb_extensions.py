"""DuckDB reading Gold's Iceberg tables, locally or on S3: `iceberg` (with `avro`, for its manifests) and
`httpfs` loaded from their `duckdb-ext-*` wheels, never downloaded; on S3, the secret built from the
endpoint, region and credentials botocore resolved, so DuckDB reads from where the rest writes to."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb

from bi_lake.errors import UserError
from bi_lake.s3 import S3Endpoint, resolved_endpoint
from bi_metrics.question import sql_literal

SECRET_NAME = "bi_lake_s3"


def extension_directory(extensions: tuple[str, ...]) -> str:
    """Where the wheels put the extensions: DuckDB looks there, and never downloads."""
    spec = importlib.util.find_spec("duckdb_ext")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        directory = Path(location) / "extensions"
        found = {
            path.name.split(".")[0] for path in directory.glob(f"v{duckdb.__version__}/*/*.duckdb_extension")
        }
        if set(extensions) <= found:
            return str(directory)
    raise UserError(
        f"DuckDB's {', '.join(extensions)} extensions for DuckDB {duckdb.__version__} are not installed: "
        f"install the {', '.join(f'duckdb-ext-{name}' for name in extensions)} wheels of the same version"
    )


def connect(on_s3: bool) -> duckdb.DuckDBPyConnection:
    """An in-memory connection that reads Iceberg tables (on s3:// too when `on_s3`), offline."""
    extensions = ("avro", "iceberg", *(("httpfs",) if on_s3 else ()))
    connection = duckdb.connect(
        ":memory:",
        config={
            "extension_directory": extension_directory(extensions),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    for extension in extensions:
        connection.execute(f"LOAD {extension}")
    return connection


class PreparedConnections:
    """Connections opened ahead of time, for a server whose next visitor should not wait while DuckDB
    loads its extensions (each LOAD reads and checks the extension's file again, 27 to 51 MB: 0.11 to
    0.16 s apiece, most of what a fresh session's first page costs the server).

    `take` hands over the connection prepared for that kind (opening one at once when none is) and
    prepares the next in the background. Each is a database of its own, as `connect` gives, so no
    session sees another's views.
    """

    def __init__(self, opener: Callable[[bool], duckdb.DuckDBPyConnection] = connect) -> None:
        self._open = opener
        self._lock = threading.Lock()
        self._ready: dict[bool, Future[duckdb.DuckDBPyConnection]] = {}
        self._opener = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-prepare")

    def take(self, on_s3: bool) -> duckdb.DuckDBPyConnection:
        with self._lock:
            prepared = self._ready.get(on_s3)
            self._ready[on_s3] = self._opener.submit(self._open, on_s3)
        # A failed preparation (extensions missing) raises here, as opening one now would.
        return prepared.result() if prepared is not None else self._open(on_s3)


def secret_sql(endpoint: S3Endpoint) -> str:
    """CREATE SECRET for DuckDB's S3 reads: the same endpoint, region and principal as boto3."""
    options = ["TYPE s3", f"REGION {sql_literal(endpoint.region)}"]
    if endpoint.access_key_id and endpoint.secret_access_key:
        options += [
            f"KEY_ID {sql_literal(endpoint.access_key_id)}",
            f"SECRET {sql_literal(endpoint.secret_access_key)}",
        ]
        if endpoint.session_token:
            options.append(f"SESSION_TOKEN {sql_literal(endpoint.session_token)}")
    if not endpoint.is_aws and endpoint.host is not None:
        # An S3-compatible endpoint: path-style URLs, and plain HTTP when its URL says so.
        options += [
            f"ENDPOINT {sql_literal(endpoint.host)}",
            "URL_STYLE 'path'",
            f"USE_SSL {'true' if endpoint.uses_tls else 'false'}",
        ]
    return f"CREATE OR REPLACE SECRET {SECRET_NAME} ({', '.join(options)})"


def refresh_secret(connection: duckdb.DuckDBPyConnection) -> None:
    """(Re)states the secret: credentials from a role expire, so this follows botocore's current ones."""
    connection.execute(secret_sql(resolved_endpoint()))
