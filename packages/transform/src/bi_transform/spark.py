"""The Spark session every transform job runs in, and the Java check that comes before it.

Session settings for local runs live here, apart from the transformation logic; on AWS Glue the
job's own session is taken as it is and only the time zone is pinned.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bi_lake import interrupts
from bi_lake.errors import UserError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from bi_lake.layout import Lake
    from bi_lake.s3 import S3Endpoint

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
    # A table is read as one folder per order date: a local driver lists them in milliseconds, where a
    # listing job per read costs seconds. Local only: on S3 a cluster lists hundreds of prefixes faster.
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "4g",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.compression.codec": "zstd",
    # The parallel collector: a batch job wants throughput, and on two cores the default (G1) spends
    # some on concurrent work. Measured (README, Performance): an incremental `bi run` 7% faster at 1x
    # and 12% at 10x, a full one 5% at 10x.
    "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={_LOG_CONFIG} -XX:+UseParallelGC",
}
# Everywhere: one time zone, so dates derived from timestamps are UTC dates.
SESSION_CONFIG: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    # Iceberg registers timestamps written as micro-seconds, and refuses Spark's default INT96.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


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


_STANDARD_CREDENTIAL_CHAIN = "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"


def hadoop_version() -> str:
    """The Hadoop version PySpark ships with (its hadoop-client jars): hadoop-aws must match it."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    for jar in sorted(jars.glob("hadoop-client-api-*.jar")):
        return jar.name.removeprefix("hadoop-client-api-").removesuffix(".jar")
    raise UserError(f"no hadoop-client-api jar in {jars}: is PySpark installed completely?")


def s3a_config(endpoint: S3Endpoint, kms_key_id: str | None) -> dict[str, str]:
    """A local Spark session's settings for a lake on S3, through the S3A connector.

    `s3://` is mapped to S3A, so the lake's URIs are the same everywhere (on Glue, `s3://` is native
    and its security configuration encrypts what Spark writes). Credentials come from the standard
    chain (environment, profile, container or instance role), never from this configuration.
    """
    config = {
        "spark.jars.packages": f"org.apache.hadoop:hadoop-aws:{hadoop_version()}",
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.aws.credentials.provider": _STANDARD_CREDENTIAL_CHAIN,
        "spark.hadoop.fs.s3a.endpoint.region": endpoint.region,
    }
    if kms_key_id:
        config["spark.hadoop.fs.s3a.encryption.algorithm"] = "SSE-KMS"
        config["spark.hadoop.fs.s3a.encryption.key"] = kms_key_id
    if not endpoint.is_aws and endpoint.host is not None:
        # An S3-compatible endpoint: its host, path-style URLs, and plain HTTP when it says so.
        config["spark.hadoop.fs.s3a.endpoint"] = endpoint.host
        config["spark.hadoop.fs.s3a.path.style.access"] = "true"
        config["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(endpoint.uses_tls).lower()
    return config


def on_glue(argv: list[str] | None = None) -> bool:
    """Whether this process is an AWS Glue job run (Glue passes the run's id to every job)."""
    return any(item.split("=", 1)[0] == "--JOB_RUN_ID" for item in (sys.argv if argv is None else argv))


def spark_session(
    app_name: str, lake: Lake | None = None, kms_key_id: str | None = None, log_level: str = "ERROR"
) -> SparkSession:
    """The active session (one a test made), Glue's own on AWS Glue, else a new local one (with S3A for
    a lake on S3)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None and on_glue():
        # Glue's session as Glue configures it: EMRFS for s3://, its security configuration's SSE-KMS.
        active = SparkSession.builder.appName(app_name).getOrCreate()
    if active is None:
        require_java()
        builder = SparkSession.builder.appName(app_name)
        local = {**LOCAL_CONFIG, **SESSION_CONFIG}
        if lake is not None and lake.on_s3:
            from bi_lake.s3 import resolved_endpoint

            local |= s3a_config(resolved_endpoint(), kms_key_id)
        for key, value in local.items():
            builder = builder.config(key, value)
        try:
            active = builder.getOrCreate()
        except Exception as exc:
            if "spark.jars.packages" not in local:
                raise
            # The S3A connector is fetched by Spark from Maven on first use: offline, that fails.
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(
                f"Spark could not load the S3A connector ({local['spark.jars.packages']}) for the S3 lake: "
                f"{first_line[:200]} (it is downloaded from Maven Central on first use)"
            ) from None
        active.sparkContext.setLogLevel(log_level)
        # Starting Spark replaced the SIGINT handler (PySpark's cancels the jobs): keep recording Ctrl-C.
        interrupts.watch()
    for key, value in SESSION_CONFIG.items():
        active.conf.set(key, value)
    return active
