"""`bi --version`: the product's version, on stdout, before any command is asked for."""

from __future__ import annotations

import pytest

from bi_cli.main import main
from bi_lake.version import code_version


def test_version_prints_the_products_version_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    printed = capsys.readouterr()
    assert printed.out == f"bi {code_version()}\n" and printed.err == ""
