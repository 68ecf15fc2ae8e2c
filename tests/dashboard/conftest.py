"""The dashboard under Streamlit's AppTest, on a lake named the way `bi dashboard` names it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import bi_dashboard

APP = str(Path(bi_dashboard.__file__).parent / "app.py")
OpenApp = Callable[..., AppTest]


@pytest.fixture
def open_app(monkeypatch: pytest.MonkeyPatch) -> OpenApp:
    """The app on a lake, optionally opened with a link's query parameters, run once."""

    def open_on(lake: str, page: str | None = None, **params: str | list[str]) -> AppTest:
        for name in [name for name in os.environ if name.startswith("BI_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("BI_LAKE", lake)
        app = AppTest.from_file(APP, default_timeout=120)
        app.query_params.update(params)
        app.run()
        if page is not None:
            app.switch_page(page).run()
        return app

    return open_on
