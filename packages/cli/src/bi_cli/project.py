"""Which project a `bi` command works on when no lake is named: the nearest folder, from the working
folder up, that holds a lake (`lake/_runs/`) or the demo source (`.bi/source.db`); so a command run
from a subfolder uses the project's lake rather than starting a second one there."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bi_lake.errors import UserError
from bi_lake.settings import DEFAULT_LAKE, DEFAULT_SOURCE_URL

LAKE_MARKER = Path(DEFAULT_LAKE) / "_runs"
SOURCE_FILE = Path(DEFAULT_SOURCE_URL.removeprefix("sqlite:///"))


def is_project(folder: Path) -> bool:
    return (folder / LAKE_MARKER).is_dir() or (folder / SOURCE_FILE).is_file()


def find_project(start: Path) -> Path | None:
    """`start` or its nearest parent that is a project; None when none is."""
    for folder in (start, *start.parents):
        if is_project(folder):
            return folder
    return None


def apply_project_defaults(args: argparse.Namespace, cwd: Path) -> Path | None:
    """Point a command that names no lake (nor source) at the project found from `cwd`, when that is
    a parent of it. Returns the project used, or None when the defaults stay relative to `cwd`."""
    names_lake = getattr(args, "lake", None) is not None or "BI_LAKE" in os.environ
    if not hasattr(args, "lake") or names_lake or is_project(cwd):
        return None
    project = find_project(cwd)
    if project is None:
        return None
    args.lake = str(project / DEFAULT_LAKE)
    if hasattr(args, "source") and args.source is None and "BI_SOURCE_URL" not in os.environ:
        source = project / SOURCE_FILE
        if source.is_file():
            args.source = f"sqlite:///{source}"
    return project


def lake_was_looked_for(args: argparse.Namespace, cwd: Path) -> bool:
    """Whether the command names no lake and none was found, here or in a project above."""
    named = getattr(args, "lake", None) is not None or "BI_LAKE" in os.environ
    return not named and not (cwd / DEFAULT_LAKE).exists() and find_project(cwd) is None


def require_a_lake(args: argparse.Namespace, cwd: Path) -> None:
    """A command that reads a lake, naming none, where there is none: say where it looked."""
    if not lake_was_looked_for(args, cwd):
        return
    raise UserError(
        f"no lake here: looked for {cwd / DEFAULT_LAKE} and a project in the folders above it; "
        "`bi run` builds one here, or name one with --lake"
    )
