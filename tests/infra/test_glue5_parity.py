"""The jobs as AWS Glue 5.0 installs and runs them, on this machine.

A fresh Python 3.11 virtualenv holds Glue 5.0's provided modules at their versions (bi_infra.glue5, with
pyspark 3.5.4); for each distinct zip of wheels (silver and gold ship the same), a copy of it gets the zip
installed offline with Glue's own pip and the job's installer option (`--no-index`), then `pip check` must
be clean and Glue's modules left at Glue's versions except the documented overrides. An unpinned install
of the old wheels fails here: bi-source's numpy>=2 replaces Glue's numpy 1.26.4, and boto3>=1.35 breaks
Glue's aiobotocore (pip check).

Then the three jobs run from those environments as subprocesses through the Glue entrypoint
(infra/glue/run_job.py) with the dev stack's job arguments plus Glue's own (--JOB_NAME, --WORKFLOW_NAME,
--WORKFLOW_RUN_ID; not --JOB_RUN_ID, which tells the jobs to take Glue's Spark session, not available
here). Ingest writes Bronze to moto's S3 with SSE-KMS, in the buckets the stack names, from a SQLite
source passed as --source_url (the stack passes a secret's id instead). Spark cannot reach S3 here (the
S3A connector cannot be downloaded), so the Bronze bucket is copied object by object into a local folder
and silver and gold run on that folder, with their Iceberg tables in the local lake's SQL catalog (the
stack's Glue databases are AWS's, out of reach here; each environment must import pyiceberg's Glue
catalog, which the stack's --catalog glue selects). `bi query` on that lake must answer exactly as a
local `bi run` of the same source, which runs meanwhile.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import boto3
import pytest

from bi_cli.main import main as bi_main
from bi_infra import glue5, wheelhouse
from bi_lake.settings import Settings
from bi_lake.workflow import WORKFLOW
from tests.infra.conftest import ACCOUNT, INFRA, Stack
from tests.s3.conftest import REGION, AwsLake

pytestmark = pytest.mark.spark

RUN_JOB = INFRA / "glue" / "run_job.py"
QUESTIONS = (
    ["net_sales,gross_sales,discount_amount,orders,items_sold,customers,aov,loyalty_orders",
     "--by", "order_month,restaurant_id,app_name,is_loyalty"],
    ["customers,repeat_customers,repeat_rate,orders_per_customer", "--by", "clv_tier,rfm_segment"],
    ["items_sold,net_sales", "--by", "item_category,is_holiday"],
)  # fmt: skip


def _run(command: list[str], env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    assert done.returncode == 0, f"{command[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def glue_base(where: Path) -> Path:
    """A fresh Python 3.11 virtualenv holding Glue 5.0's provided modules at their versions, and pyspark."""
    uv = shutil.which("uv")
    assert uv is not None, "uv makes the Glue environment"
    started = time.perf_counter()
    _run([uv, "venv", "--quiet", "--python", glue5.PYTHON_VERSION, str(where)])
    glue = [f"{name}=={version}" for name, version in glue5.PROVIDED.items()]
    python = where / "bin" / "python"
    _run([uv, "pip", "install", "--quiet", "--python", str(python), *glue, f"pyspark=={glue5.SPARK_VERSION}"])
    print(f"\nGlue 5.0 environment: {time.perf_counter() - started:.0f} s")
    return where


def glue_environment(
    base: Path, where: Path, zip_path: Path, installer_options: list[str]
) -> tuple[Path, float]:
    """A copy of the untouched Glue environment with the zip installed offline; its python and the
    offline install's duration."""
    shutil.copytree(base, where / "venv", symlinks=True)
    python = where / "venv" / "bin" / "python"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(where / "zip")
    wheels = where / "zip" / "wheels"
    # Only the zip: no pip configuration of this machine (its find-links, constraints) takes part.
    isolated = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {
        "PIP_CONFIG_FILE": os.devnull
    }
    started = time.perf_counter()
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *installer_options,
          "--find-links", str(wheels), "-r", str(wheels / "requirements.txt")], env=isolated)  # fmt: skip
    return python, time.perf_counter() - started


def installed(python: Path) -> dict[str, str]:
    listed = json.loads(
        _run([str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"])
    )
    return {glue5.normalize(item["name"]): item["version"] for item in listed}


def job_arguments(stack: Stack, job: str) -> list[str]:
    """The deployed job's default arguments, as Glue passes them to the script."""
    found = [
        j.inputs for j in stack.of_type("aws:glue/job:Job") if j.inputs["name"] == stack.config.name(job)
    ]
    return [word for key, value in found[0]["defaultArguments"].items() for word in (key, value)]


def glue_run(
    python: Path, stack: Stack, job: str, replace: dict[str, str | None], env: dict[str, str]
) -> None:
    """The job through Glue's script with the stack's arguments, some replaced (None drops one)."""
    arguments = job_arguments(stack, job)
    pairs = dict(zip(arguments[::2], arguments[1::2], strict=True))
    for key, value in replace.items():
        pairs.pop(key, None)
        if value is not None:
            pairs[key] = value
    glue = ["--JOB_NAME", stack.config.name(job), "--WORKFLOW_NAME", stack.config.name("daily"),
            "--WORKFLOW_RUN_ID", "wr_parity"]  # fmt: skip
    words = [word for pair in pairs.items() for word in pair]
    started = time.perf_counter()
    report = json.loads(_run([str(python), str(RUN_JOB), *glue, *words], env=env, timeout=900))
    assert report["status"] == "succeeded", report
    print(f"{job}: job run {time.perf_counter() - started:.0f} s")


def answers(lake: Path, capsys: pytest.CaptureFixture[str]) -> list[object]:
    """`bi query` on the lake with this workspace's code, for each question: in this process, as the
    question is about the lake the jobs wrote, not about starting `bi` (tests/cli does that)."""
    found: list[object] = []
    for question in QUESTIONS:
        assert bi_main(["query", *question, "--format", "json", "--lake", str(lake)]) == 0
        found.append(json.loads(capsys.readouterr().out))
    return found


def glue_side(
    dev: Stack,
    wheels: Path,
    aws_lake: AwsLake,
    source_url: str,
    tmp_path: Path,
) -> Path:
    """The Glue environments checked, the three jobs run from them; the lake silver and gold wrote."""
    zips = wheelhouse.read_manifest(wheels)
    overrides = {glue5.normalize(name) for name in glue5.OVERRIDES}
    environments: dict[str, Path] = {}
    base = glue_base(tmp_path / "glue-5.0")
    for job in WORKFLOW.names:
        content = zips[job].name.removeprefix(f"{job}-")
        if content in environments:  # silver and gold ship the same wheels: one environment serves both
            continue
        installer = dict(zip(*[iter(job_arguments(dev, job))] * 2, strict=True))
        options = installer["--python-modules-installer-option"].split()
        python, seconds = glue_environment(base, tmp_path / job, zips[job], options)
        print(f"{job}: zip {zips[job].stat().st_size / 1e6:.1f} MB, offline install {seconds:.1f} s")
        _run([str(python), "-m", "pip", "check", "--disable-pip-version-check"])
        versions = installed(python)
        changed = {name: versions.get(name) for name, version in glue5.provided().items()
                   if name not in overrides and versions.get(name) != version}  # fmt: skip
        assert not changed, f"the {job} zip changed Glue's modules: {changed}"
        assert versions["pyspark"] == glue5.SPARK_VERSION and "bi-source" not in versions
        # Silver's and Gold's table format, with the Glue catalog the stack's jobs register tables in,
        # on Glue's own pyarrow.
        assert "pyiceberg" in versions and versions["pyarrow"] == glue5.PROVIDED["pyarrow"]
        _run(
            [str(python), "-c", "import pyiceberg.catalog.glue, pyiceberg.catalog.sql, pyiceberg.io.pyarrow"]
        )
        environments[content] = python

    def python_of(job: str) -> Path:
        return environments[zips[job].name.removeprefix(f"{job}-")]

    # Ingest: Bronze on moto's S3, encrypted with the account's KMS key, in the buckets the stack names.
    s3 = boto3.client("s3", endpoint_url=aws_lake.endpoint, region_name=REGION)
    for layer in ("bronze", "silver", "gold"):
        s3.create_bucket(
            Bucket=dev.config.bucket_name(layer, ACCOUNT),
            CreateBucketConfiguration={"LocationConstraint": REGION},
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BI_")}
    glue_run(python_of("ingest"), dev, "ingest",
             {"--kms_key_id": aws_lake.key_arn, "--source_secret_id": None, "--source_url": source_url}, env)  # fmt: skip
    bronze = dev.config.bucket_name("bronze", ACCOUNT)
    keys = [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bronze)
            for item in page.get("Contents", [])]  # fmt: skip
    parquet = [key for key in keys if key.endswith(".parquet")]
    assert parquet and all(key.startswith("bronze/") for key in parquet)
    head = s3.head_object(Bucket=bronze, Key=parquet[0])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == aws_lake.key_arn

    # Silver and gold: the same arguments on a local copy of the Bronze bucket.
    lake = tmp_path / "glue-lake"
    for key in keys:
        (lake / key).parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bronze, key, str(lake / key))
    local = {"--lake": str(lake), "--bronze_uri": str(lake / "bronze"), "--silver_uri": str(lake / "silver"),
             "--gold_uri": str(lake / "gold"), "--kms_key_id": None,
             "--catalog": None, "--catalog_namespace_prefix": None}  # fmt: skip
    for job in ("silver", "gold"):
        glue_run(python_of(job), dev, job, local, env)
    return lake


def test_the_jobs_installed_as_glue_5_installs_them_answer_as_a_local_run(
    dev: Stack,
    wheels: Path,
    aws_lake: AwsLake,
    gold_lake: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The local run is the session's own lake (tests.conftest.gold_lake: a `bi run` of its source in
    this process), so the suite runs its pipeline once for this test and the exactness tests."""
    started = time.perf_counter()
    lake = glue_side(dev, wheels, aws_lake, gold_lake.source_url, tmp_path)
    # Each lake's questions answered from its own files alone: no setting or AWS credential of the
    # test's environment takes part.
    for name in [name for name in os.environ if name.startswith(("BI_", "AWS_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    timings = capsys.readouterr().out
    assert answers(lake, capsys) == answers(Path(gold_lake.lake), capsys)
    print(timings, end="")
    print(f"parity test: {time.perf_counter() - started:.0f} s")
