"""The Spark session every transform job runs in, and the Java check that comes before it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from bi_lake.errors import UserError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REQUIRED_JAVA = 17
_INSTALL_HINT = (
    "install a Java 17 runtime (for example apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
)


def java_executable() -> Path | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return candidate if candidate.is_file() else None
    found = shutil.which("java")
    return Path(found) if found else None


def java_major_version(java: Path) -> int | None:
    try:
        output = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if match is None:
        return None
    major = int(match.group(1))
    # Java 8 and older report themselves as 1.x.
    return int(match.group(2) or 0) if major == 1 else major


def require_java() -> None:
    """Fail with one line naming what to install unless Java 17 is there for Spark (AWS Glue 5 parity)."""
    java = java_executable()
    if java is None:
        where = "JAVA_HOME" if os.environ.get("JAVA_HOME") else "PATH"
        raise UserError(
            f"Java {REQUIRED_JAVA} is required by PySpark but no java was found on {where}: {_INSTALL_HINT}"
        )
    major = java_major_version(java)
    if major != REQUIRED_JAVA:
        found = f"Java {major}" if major is not None else "a java that does not report its version"
        raise UserError(f"Java {REQUIRED_JAVA} is required by PySpark but {java} is {found}: {_INSTALL_HINT}")


def spark_session(app_name: str, shuffle_partitions: int = 8) -> SparkSession:
    """A local (or, on Glue, the cluster's) session with UTC time and adaptive execution."""
    require_java()
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
