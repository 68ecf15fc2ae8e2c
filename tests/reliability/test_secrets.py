"""The source password never leaves the URL it was given in: not in progress, summaries, errors, run
reports, manifests, Bronze, Silver, Gold, `bi status` or anything else a run leaves behind.

The source is a real password-protected database: an encrypted SQLite file (SQLCipher) whose key is
the URL's password, so the whole pipeline runs with a password-bearing URL as it does against SQL
Server. The failure paths run against SQL Server's dialect with a password, on a port nothing listens on.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.running import bi

pytestmark = [pytest.mark.spark, pytest.mark.e2e, pytest.mark.filterwarnings("ignore::ResourceWarning")]

PASSWORD = "Pa55-w0rd!q8Zr"


def _bi(cwd: Path, *args: str, source: str) -> subprocess.CompletedProcess[str]:
    return bi(*args, cwd=cwd, env={"BI_LAKE": str(cwd / "lake"), "BI_SOURCE_URL": source}, timeout=900)


def _leaks(folder: Path) -> list[str]:
    """Files under `folder` holding the password: in their bytes, or in a Parquet file's values."""
    found = []
    for path in folder.rglob("*"):
        if not path.is_file() or path.name == "source.db":
            continue
        if PASSWORD.encode() in path.read_bytes():
            found.append(str(path))
        elif path.suffix == ".parquet":
            table = pq.read_table(path)
            if any(PASSWORD in str(value) for column in table.columns for value in column.to_pylist()):
                found.append(str(path))
    return found


@pytest.fixture(scope="module")
def encrypted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    """A password-protected source seeded and run through the whole pipeline; every output captured."""
    folder = tmp_path_factory.mktemp("secrets")
    source = f"sqlite+pysqlcipher://:{PASSWORD}@/{folder / 'source.db'}"
    outputs = []
    for args in (
        ("seed", "--days", "10", "--restaurants", "2", "--orders-per-day", "40"),
        ("run",),
        ("status",),
        ("status", "--format", "json"),
        ("query", "net_sales,orders", "--by", "restaurant_id"),
    ):
        result = _bi(folder, *args, source=source)
        assert result.returncode == 0, (args, result.stderr)
        outputs += [result.stdout, result.stderr]
    return folder, source, outputs


def test_a_run_from_a_password_protected_source_shows_and_stores_no_password(
    encrypted_run: tuple[Path, str, list[str]],
) -> None:
    folder, _, outputs = encrypted_run
    assert not [output for output in outputs if PASSWORD in output]
    assert (folder / "source.db").read_bytes()[:16] != b"SQLite format 3\x00"  # encrypted: the key is needed
    manifests = list((folder / "lake" / "bronze" / "_manifests").glob("*.json"))
    assert manifests and "sqlite+pysqlcipher://:***@" in manifests[0].read_text()
    assert len(list((folder / "lake" / "gold").rglob("*.parquet"))) > 5
    assert _leaks(folder) == []


def test_errors_name_the_source_without_its_password(
    encrypted_run: tuple[Path, str, list[str]], tmp_path: Path
) -> None:
    folder, source, _ = encrypted_run
    failures = [
        (f"mssql+pymssql://loader:{PASSWORD}@127.0.0.1:9/orders", "cannot reach source"),
        (f"mssql+pymssql://loader:{PASSWORD}@db.internal:not-a-port/orders", "invalid source URL"),
        (f"nosuchdialect://loader:{PASSWORD}@db.internal/orders", "cannot use source"),
        (source.replace(PASSWORD, PASSWORD + "x"), "file is not a database"),
    ]
    for url, fragment in failures:
        result = _bi(tmp_path, "run", "--only", "ingest", source=url)
        assert result.returncode != 0 and fragment in result.stderr, (url, result.stderr)
        assert PASSWORD not in result.stdout + result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    # The failed runs' reports, and the lake of the good one, hold it nowhere either.
    reports = list((tmp_path / "lake" / "_runs").glob("*.json"))
    assert len(reports) == len(failures)  # each failed run left its report, and the test read it
    assert _leaks(tmp_path) == []
    assert _leaks(folder) == []
