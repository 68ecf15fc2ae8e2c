"""The Spark session every transform job runs in, and the Java check that comes before it.

Session settings for local runs live here, apart from the transformation logic; on AWS Glue the
job's own session is taken as it is and only the time zone is pinned.
"""

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

_LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
# Local runs: all cores, few shuffle partitions (the data is small), adaptive execution, no UI.
LOCAL_CONFIG: dict[str, str] = {
    "spark.master": "local[*]",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "4g",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={_LOG_CONFIG}",
}
# Everywhere: one time zone, so dates derived from timestamps are UTC dates.
SESSION_CONFIG: dict[str, str] = {"spark.sql.session.timeZone": "UTC"}


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


def spark_session(app_name: str) -> SparkSession:
    """The active session (Glue's, or one a test made), else a new local one."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None:
        require_java()
        builder = SparkSession.builder.appName(app_name)
        for key, value in {**LOCAL_CONFIG, **SESSION_CONFIG}.items():
            builder = builder.config(key, value)
        active = builder.getOrCreate()
        active.sparkContext.setLogLevel("ERROR")
    for key, value in SESSION_CONFIG.items():
        active.conf.set(key, value)
    return active
