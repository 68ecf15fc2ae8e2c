"""Each Glue job's Python dependencies as one zip of wheels, pinned by uv.lock, installed offline.

`python -m bi_infra.wheelhouse --out dist/glue` writes, for every job of the workflow declaration, a
`<job>-<version>-<content hash>.gluewheels.zip` (the version is the product's, as its workspace wheels
carry it) holding the wheels of the job's workspace packages and of exactly their runtime dependencies
at the versions uv.lock pins, for Glue 5.0's platform; minus the modules Glue 5.0 provides
(bi_infra.glue5), which the jobs use as Glue has them. `manifest.json` names each job's zip;
the deployment uploads the zips and Glue installs them with `--no-index`, so a job start reaches no index.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker

from bi_infra import glue5
from bi_lake.errors import UserError
from bi_lake.workflow import WORKFLOW, JobSpec

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = "manifest.json"
SUFFIX = ".gluewheels.zip"
# infra/glue/run_job.py runs every job through bi_transform.glue.entrypoint, so every job installs it.
ENTRYPOINT_PACKAGE = "bi-transform"
# Modules shipped to keep Glue's own modules consistent with the ones the jobs upgrade (glue5.OVERRIDES).
OVERRIDE_GROUP = "glue-overrides"
# The pip that downloads the wheels for Glue's platform (uv installs for the running platform only).
PIP = "pip==26.3"


@dataclass(frozen=True)
class Locked:
    """One line of `uv export`: a workspace member (by path) or a pinned distribution with its hashes."""

    name: str
    version: str
    hashes: tuple[str, ...] = ()
    path: Path | None = None


def job_packages(job: JobSpec) -> tuple[str, ...]:
    """The workspace distributions a job imports: its entrypoint's package and the Glue entrypoint's."""
    module = job.entrypoint.partition(":")[0].split(".")[0]
    return tuple(sorted({glue5.normalize(module), ENTRYPOINT_PACKAGE}))


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        raise UserError("the wheelhouse is built with uv: install it (https://docs.astral.sh/uv/)")
    return uv


def _run(command: list[str], what: str) -> str:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise UserError(f"{what} failed: {last}")
    return done.stdout


def parse_export(text: str) -> list[Locked]:
    """`uv export --no-editable` output, keeping what applies on Glue (its markers evaluated for Glue)."""
    found: list[Locked] = []
    for line in text.replace("\\\n", " ").splitlines():
        head, *hashes = line.split(" --hash=")
        requirement, _, marker = head.partition(";")
        requirement, marker = requirement.strip(), marker.strip()
        if not requirement or requirement.startswith("#"):
            continue
        if marker and not Marker(marker).evaluate(glue5.MARKERS):
            continue
        if requirement.startswith("./"):
            path = ROOT / requirement
            found.append(Locked(_name_of(path), "workspace", path=path))
            continue
        name, equals, version = requirement.partition("==")
        if not equals:
            raise UserError(f"uv export gave an unpinned requirement {requirement!r}")
        found.append(Locked(glue5.normalize(name), version, tuple(h.strip() for h in hashes)))
    return found


def _name_of(path: Path) -> str:
    """A workspace member's distribution name, from its pyproject.toml."""
    project = tomllib.loads((path / "pyproject.toml").read_text())["project"]
    return glue5.normalize(str(project["name"]))


def locked(packages: tuple[str, ...] = (), group: str | None = None) -> list[Locked]:
    """The runtime closure of workspace packages (or of a root dependency group) as uv.lock pins it."""
    command = [_uv(), "export", "--frozen", "--no-dev", "--no-header", "--no-annotate", "--no-editable"]
    command += [f"--package={package}" for package in packages]
    if group:
        command += [f"--only-group={group}"]
    return parse_export(_run(command, "uv export (is uv.lock up to date?)"))


@dataclass(frozen=True)
class Plan:
    """What one job ships: its workspace packages and the third-party pins."""

    job: str
    workspace: tuple[Path, ...]
    pins: tuple[Locked, ...]


def plan(job: JobSpec, overrides_group: list[Locked]) -> Plan:
    """The job's closure minus Glue's modules; a provided module pinned at another version is an error
    unless glue5.OVERRIDES names it."""
    provided = glue5.provided()
    overrides = {glue5.normalize(name) for name in glue5.OVERRIDES}
    closure = locked(job_packages(job))
    workspace = tuple(sorted(item.path for item in closure if item.path is not None))
    pins: dict[str, Locked] = {}
    for item in closure:
        if item.path is not None:
            continue
        if item.name in provided and item.name not in overrides:
            if item.version != provided[item.name]:
                raise UserError(
                    f"uv.lock pins {item.name}=={item.version} for the {job.name} job, but Glue "
                    f"{glue5.GLUE_VERSION} provides {item.name}=={provided[item.name]}: lock Glue's version "
                    "or add the module to bi_infra.glue5.OVERRIDES with the reason and the risk"
                )
            continue
        pins[item.name] = item
    for item in overrides_group:
        if item.name in overrides:
            pins.setdefault(item.name, item)
    return Plan(job.name, workspace, tuple(pins[name] for name in sorted(pins)))


def check_overrides(plans: list[Plan]) -> None:
    """Every override names a provided module that some job ships at a version other than Glue's."""
    provided = glue5.provided()
    shipped = {pin.name: pin.version for each in plans for pin in each.pins}
    for name in glue5.OVERRIDES:
        key = glue5.normalize(name)
        if key not in provided:
            raise UserError(
                f"bi_infra.glue5.OVERRIDES names {name}, which Glue {glue5.GLUE_VERSION} does not provide"
            )
        if shipped.get(key, provided[key]) == provided[key]:
            raise UserError(
                f"bi_infra.glue5.OVERRIDES names {name}, but no job ships another version of it: drop it"
            )


def _download(pins: list[Locked], into: Path) -> None:
    requirements = into / "requirements.txt"
    requirements.write_text(
        "".join(
            f"{pin.name}=={pin.version} " + " ".join(f"--hash={h}" for h in pin.hashes) + "\n" for pin in pins
        )
    )
    platforms = [f"--platform={platform}" for platform in glue5.PLATFORMS]
    _run(
        [_uv(), "tool", "run", "--from", PIP, "pip", "download", "--quiet", "--disable-pip-version-check",
         "--only-binary=:all:", "--no-deps", "--require-hashes", *platforms,
         f"--python-version={glue5.PYTHON_VERSION}", "--implementation=cp", "--abi=cp311",
         "-r", str(requirements), "-d", str(into)],
        "downloading the wheels for Glue",
    )  # fmt: skip
    requirements.unlink()


def _build(paths: list[Path], into: Path) -> None:
    for path in paths:
        _run([_uv(), "build", "--wheel", "--quiet", "-o", str(into), str(path)], f"building {_name_of(path)}")


def _wheel_name(path: Path) -> str:
    return glue5.normalize(path.name.split("-")[0])


def _wheel_version(path: Path) -> str:
    return path.name.split("-")[1]


def product_version(job: str, workspace_wheels: list[Path]) -> str:
    """The one version a job's workspace wheels carry: the product's, which its zip is named by."""
    versions = sorted({_wheel_version(wheel) for wheel in workspace_wheels})
    if len(versions) != 1:
        raise UserError(
            f"the {job} job's workspace packages carry versions {versions or 'none'}, not one: "
            "set every member's with `make version VERSION=X.Y.Z`"
        )
    return versions[0]


def _zip(job: str, version: str, wheels: list[Path], out: Path) -> Path:
    """The wheels under `wheels/` with a requirements.txt naming each (the layout of AWS's example), in a
    zip whose bytes depend only on the wheels, named by the product's version, which a run's logs and
    job arguments then show, and by their hash: a new set of wheels is a new S3 key."""
    digest = hashlib.sha256()
    for wheel in wheels:
        digest.update(wheel.name.encode() + b"\0" + hashlib.sha256(wheel.read_bytes()).digest())
    requirements = "".join(f"{_wheel_name(wheel)}=={_wheel_version(wheel)}\n" for wheel in wheels).encode()
    target = out / f"{job}-{version}-{digest.hexdigest()[:16]}{SUFFIX}"
    entries = [(f"wheels/{wheel.name}", wheel.read_bytes()) for wheel in wheels]
    entries.append(("wheels/requirements.txt", requirements))
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return target


def build(out: Path) -> dict[str, Path]:
    """Every job's zip of wheels in `out`, and `out/manifest.json` naming them."""
    overrides_group = locked(group=OVERRIDE_GROUP)
    plans = [plan(job, overrides_group) for job in WORKFLOW.ordered()]
    check_overrides(plans)
    out.mkdir(parents=True, exist_ok=True)
    zips: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="wheelhouse-") as scratch:
        built, downloaded = Path(scratch) / "built", Path(scratch) / "downloaded"
        built.mkdir()
        downloaded.mkdir()
        _build(sorted({path for each in plans for path in each.workspace}), built)
        pins = {(pin.name, pin.version): pin for each in plans for pin in each.pins}
        _download(sorted(pins.values(), key=lambda pin: pin.name), downloaded)
        by_name = {_wheel_name(wheel): wheel for wheel in [*built.glob("*.whl"), *downloaded.glob("*.whl")]}
        for each in plans:
            wanted = sorted({*(_name_of(path) for path in each.workspace), *(pin.name for pin in each.pins)})
            missing = [name for name in wanted if name not in by_name]
            if missing:
                raise UserError(f"no wheel for {missing} of the {each.job} job")
            version = product_version(each.job, [by_name[_name_of(path)] for path in each.workspace])
            zips[each.job] = _zip(each.job, version, [by_name[name] for name in wanted], out)
    (out / MANIFEST).write_text(json.dumps({job: path.name for job, path in zips.items()}, indent=2) + "\n")
    return zips


def read_manifest(out: Path) -> dict[str, Path]:
    """Each job's zip of wheels in `out`, as the last build wrote them."""
    manifest = out / MANIFEST
    if not manifest.exists():
        raise UserError(
            f"no wheelhouse in {out}: run `uv run python -m bi_infra.wheelhouse --out {out}` first"
        )
    zips = {job: out / name for job, name in json.loads(manifest.read_text()).items()}
    missing = sorted(set(WORKFLOW.names) - set(zips)) + sorted(
        job for job, path in zips.items() if not path.exists()
    )
    if missing:
        raise UserError(f"the wheelhouse in {out} lacks the zips of {missing}: build it again")
    return zips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bi_infra.wheelhouse", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="where the zips and manifest.json go")
    arguments = parser.parse_args(argv)
    try:
        zips = build(arguments.out)
    except UserError as exc:
        print(f"wheelhouse: error: {exc}", file=sys.stderr)
        return 1
    for job, path in zips.items():
        print(f"{job}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
