"""The product's version: one for every package of the workspace, so any of them names the code.

uv_build reads a package's version only from its own pyproject.toml, so each member declares it;
`make version VERSION=X.Y.Z` sets them all at once and tests/lake/test_version.py fails when one
differs from the root's. The code reads it from the installed package's metadata, which is the
wheel's on Glue and the workspace's locally.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

# Every job and app depends on bi-lake, so its metadata is installed wherever the code runs.
DISTRIBUTION = "bi-lake"
# Code imported from a source tree that was never installed has no metadata: its reports say so
# rather than the run failing over a label.
UNKNOWN = "unknown"


@cache
def code_version() -> str:
    """The version of the installed code, e.g. `0.1.0`."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return UNKNOWN


__version__ = code_version()
