"""The page the dashboard serves preloads the code its first page's elements need, from the installed
Streamlit's own files."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from streamlit import file_util

from bi_dashboard import preload
from bi_dashboard.preload import (
    FIRST_PAGE_CHUNKS,
    chunk_named,
    needed_chunks,
    page_with_preloads,
    static_dir_with_preloads,
)

STATIC = Path(file_util.get_static_dir())
JS = STATIC / "static" / "js"
_PRELOADED = re.compile(r'<link rel="modulepreload" crossorigin href="\./static/js/([^"]+)">')


def test_every_first_page_chunk_is_in_the_installed_streamlit() -> None:
    # A Streamlit that renamed one would silently lose its preload: an upgrade has to update the list.
    assert {stem: chunk_named(JS, stem) is not None for stem in FIRST_PAGE_CHUNKS} == dict.fromkeys(
        FIRST_PAGE_CHUNKS, True
    )


def test_the_page_preloads_each_needed_chunk_once_and_only_those_not_already_loaded() -> None:
    original = (STATIC / "index.html").read_text(encoding="utf-8")
    page = page_with_preloads(original, JS)
    before = _PRELOADED.findall(original)
    added = _PRELOADED.findall(page)[len(before) :]
    assert added, "nothing preloaded"
    assert len(added) == len(set(added)) and not set(added) & set(before)
    assert all((JS / name).is_file() for name in added)
    metric = chunk_named(JS, "Metric")
    assert metric in added
    # What the Metric chunk imports is preloaded with it, unless the page loads it already.
    imported = set(re.findall(r'from"\./([^"]+\.js)"', (JS / str(metric)).read_text(encoding="utf-8")))
    assert imported - set(re.findall(r"\./static/js/([^\"]+\.js)", original)) <= set(added)
    links = "".join(f'    <link rel="modulepreload" crossorigin href="./static/js/{n}">\n' for n in added)
    assert page.replace(links + "  ", "") == original


def test_imports_are_followed_through_chunks(tmp_path: Path) -> None:
    (tmp_path / "a.1.js").write_text('import{x}from"./b.2.js";import"./c.3.js";')
    (tmp_path / "b.2.js").write_text('import{y}from"./d.4.js";export const x=1')
    (tmp_path / "c.3.js").write_text("")
    (tmp_path / "d.4.js").write_text("")
    assert needed_chunks(tmp_path, ["a.1.js"], loaded={"c.3.js"}) == ["a.1.js", "b.2.js", "d.4.js"]
    assert chunk_named(tmp_path, "a") == "a.1.js"
    assert chunk_named(tmp_path, "missing") is None


def test_the_static_folder_links_streamlits_files_and_serves_the_new_page(tmp_path: Path) -> None:
    served = static_dir_with_preloads(STATIC, tmp_path)
    assert {entry.name for entry in served.iterdir()} == {entry.name for entry in STATIC.iterdir()}
    assert (served / "static" / "js").resolve() == JS.resolve()
    assert not (served / "index.html").is_symlink()
    assert (served / "index.html").read_text(encoding="utf-8") == page_with_preloads(
        (STATIC / "index.html").read_text(encoding="utf-8"), JS
    )


def test_a_preload_that_cannot_be_made_leaves_streamlits_own_page(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_folder(**_: object) -> str:
        raise PermissionError("read-only file system")

    served = file_util.get_static_dir()
    monkeypatch.setattr(tempfile, "mkdtemp", no_folder)
    assert preload.install() is False
    assert file_util.get_static_dir() == served
    assert "without preloads (PermissionError('read-only file system'))" in capsys.readouterr().err


def test_a_streamlit_whose_files_moved_still_serves_its_page(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    served = file_util.get_static_dir()
    monkeypatch.setattr(file_util, "get_static_dir", lambda: str(tmp_path / "gone"))
    assert preload.install() is False
    assert "without preloads" in capsys.readouterr().err
    monkeypatch.undo()
    assert file_util.get_static_dir() == served
