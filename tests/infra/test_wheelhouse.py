"""Each Glue job's zip of wheels, one test per policy: what ships, what Glue keeps, how jobs install it."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from bi_infra import glue5, wheelhouse
from bi_lake.errors import UserError
from bi_lake.version import code_version
from bi_lake.workflow import WORKFLOW
from tests.infra.conftest import ACCOUNT, Stack

JOB, OBJECT = "aws:glue/job:Job", "aws:s3/bucketObjectv2:BucketObjectv2"


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest, wheels: Path) -> Stack:
    # `wheels` named here, though the stack fixture asks for it too: a fixture reached only through
    # getfixturevalue is invisible to the markers, and building the wheels makes these tests `e2e`.
    found: Stack = request.getfixturevalue(request.param)
    return found


def shipped(zip_path: Path) -> dict[str, str]:
    """Distribution name -> version of every wheel in a zip."""
    with zipfile.ZipFile(zip_path) as archive:
        names = [name for name in archive.namelist() if name.endswith(".whl")]
        assert all(name.startswith("wheels/") for name in names)
        listed = archive.read("wheels/requirements.txt").decode().split()
    found = {glue5.normalize(Path(name).name.split("-")[0]): Path(name).name.split("-")[1] for name in names}
    assert sorted(listed) == sorted(f"{name}=={version}" for name, version in found.items())
    return found


def _job_arguments(stack: Stack) -> dict[str, dict[str, str]]:
    by_name = {j.inputs["name"]: j.inputs["defaultArguments"] for j in stack.of_type(JOB)}
    return {job: by_name[stack.config.name(job)] for job in WORKFLOW.names}


def test_every_job_installs_its_own_versioned_zip_uploaded_under_wheels(stack: Stack, wheels: Path) -> None:
    zips = wheelhouse.read_manifest(wheels)
    artifacts = f"s3://{stack.config.bucket_name('artifacts', ACCOUNT)}"
    uploaded = {o.inputs["key"]: o.inputs for o in stack.of_type(OBJECT)}
    for job, arguments in _job_arguments(stack).items():
        assert re.fullmatch(
            rf"{job}-{re.escape(code_version())}-[0-9a-f]{{16}}\.gluewheels\.zip", zips[job].name
        )
        assert arguments["--additional-python-modules"] == f"{artifacts}/wheels/{zips[job].name}"
        assert uploaded[f"wheels/{zips[job].name}"]["source"].path == str(zips[job])


def test_jobs_install_from_the_zip_alone(stack: Stack) -> None:
    for arguments in _job_arguments(stack).values():
        assert arguments["--python-modules-installer-option"] == "--no-index"


def test_no_zip_ships_a_module_glue_provides_unless_it_is_an_override(wheels: Path) -> None:
    provided = glue5.provided()
    overrides = {glue5.normalize(name) for name in glue5.OVERRIDES}
    for job, path in wheelhouse.read_manifest(wheels).items():
        found = shipped(path)
        assert {name for name in found if name in provided} <= overrides, job
        assert all(found[name] != provided[name] for name in overrides if name in found), job


def test_each_job_ships_its_packages_and_their_locked_dependencies_and_bi_source_nowhere(
    wheels: Path,
) -> None:
    provided = glue5.provided()
    overrides = {glue5.normalize(name) for name in glue5.OVERRIDES}
    group = {item.name: item.version for item in wheelhouse.locked(group=wheelhouse.OVERRIDE_GROUP)}
    for job, path in wheelhouse.read_manifest(wheels).items():
        found = shipped(path)
        closure = wheelhouse.locked(wheelhouse.job_packages(WORKFLOW.get(job)))
        expected = {
            item.name: code_version() if item.path else item.version
            for item in closure
            if item.name not in provided or item.name in overrides
        } | {name: version for name, version in group.items() if name in overrides}
        assert found == expected, job
        assert "bi-source" not in found and "numpy" not in found and "pyspark" not in found, job
    assert wheelhouse.job_packages(WORKFLOW.get("ingest")) == ("bi-ingest", "bi-transform")
    assert wheelhouse.job_packages(WORKFLOW.get("silver")) == ("bi-transform",)


def test_every_job_ships_pyiceberg_with_its_glue_catalog_and_uses_glues_pyarrow(wheels: Path) -> None:
    for job, path in wheelhouse.read_manifest(wheels).items():
        found = shipped(path)
        # pyiceberg[pyarrow,sql-sqlite,glue]: its native core, the SQL catalog's SQLAlchemy; the Glue
        # catalog's boto3 is the override the lock gives every job.
        assert {"pyiceberg", "pyiceberg-core", "sqlalchemy", "boto3"} <= set(found), job
        assert "pyarrow" not in found and "fsspec" not in found, f"{job} changes Glue's pyarrow or fsspec"


def test_a_lock_pinning_a_provided_module_at_another_version_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closure = [wheelhouse.Locked("numpy", "2.4.6"), wheelhouse.Locked("holidays", "0.109")]
    monkeypatch.setattr(wheelhouse, "locked", lambda *args, **kwargs: closure)
    with pytest.raises(UserError) as caught:
        wheelhouse.plan(WORKFLOW.get("silver"), [])
    message = str(caught.value)
    assert "\n" not in message and "numpy==2.4.6" in message and "numpy==1.26.4" in message
    assert "OVERRIDES" in message


def test_an_override_that_changes_nothing_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(glue5.OVERRIDES, "pytz", glue5.Override("none", "none"))
    others = [wheelhouse.Locked(glue5.normalize(name), "99.0") for name in glue5.OVERRIDES if name != "pytz"]
    shipping = wheelhouse.Plan("gold", (), (*others, wheelhouse.Locked("pytz", glue5.PROVIDED["pytz"])))
    with pytest.raises(UserError, match="names pytz, but no job ships another version"):
        wheelhouse.check_overrides([shipping])


def test_the_zip_name_follows_the_product_version_and_its_wheels_content_only(tmp_path: Path) -> None:
    wheel = tmp_path / "a" / "example-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"one")
    first = wheelhouse._zip("gold", "1.2.3", [wheel], tmp_path / "a")
    again = wheelhouse._zip("gold", "1.2.3", [wheel], tmp_path)
    assert first.name == again.name and first.read_bytes() == again.read_bytes()
    assert re.fullmatch(r"gold-1\.2\.3-[0-9a-f]{16}\.gluewheels\.zip", first.name)
    wheel.write_bytes(b"two")
    assert wheelhouse._zip("gold", "1.2.3", [wheel], tmp_path).name != first.name


def test_a_job_ships_its_workspace_packages_at_one_version_or_the_build_stops_in_one_line() -> None:
    built = [Path("bi_lake-1.2.3-py3-none-any.whl"), Path("bi_transform-1.2.3-py3-none-any.whl")]
    assert wheelhouse.product_version("gold", built) == "1.2.3"
    mixed = [*built, Path("bi_metrics-1.2.2-py3-none-any.whl")]
    with pytest.raises(UserError) as caught:
        wheelhouse.product_version("gold", mixed)
    message = str(caught.value)
    assert "\n" not in message and "['1.2.2', '1.2.3']" in message and "make version" in message


def test_a_replaced_zip_stays_in_s3_for_rollback(stack: Stack) -> None:
    zips = {o.name for o in stack.of_type(OBJECT) if o.inputs["key"].startswith("wheels/")}
    assert zips and zips <= stack.retained
    assert not (stack.retained - zips), "only the versioned zips are kept when the program drops them"
