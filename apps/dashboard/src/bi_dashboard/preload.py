"""The first page's code asked for with the page itself.

Streamlit's frontend loads each kind of element's code only once the script has sent such an element:
a fresh browser waits for the sidebar's widgets' code, then the KPI tiles', then the charts' and
Vega's, one round of requests after another, while the network sat idle as the app's main bundle was
parsed and the session's script ran. The server hands out a copy of Streamlit's page that preloads
those chunks (`<link rel="modulepreload">`), so the browser fetches them from the start, in parallel
with the rest. Nothing else changes: the copy links to Streamlit's own files, which keep their
long-lived cache headers.
"""

from __future__ import annotations

import atexit
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

# The chunks (by name, before Vite's content hash) of the elements every page draws: the sidebar's
# filters (select box, multiselects, radio), the KPI tiles, and the Vega charts with the Vega runtime
# the chart element imports on demand. The browser test checks the Overview fetches no code beyond.
FIRST_PAGE_CHUNKS = (
    "Selectbox",
    "Multiselect",
    "Radio",
    "Metric",
    "ArrowVegaLiteChart",
    "embed",
    "vega-interpreter",
)
# A chunk's static imports, as Vite writes them: `import{a as b}from"./x.js"` or `import"./x.js"`.
_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*)["']\./([^"']+\.js)["']""")
_SCRIPT = re.compile(r"""\./static/js/([^"']+\.js)""")
_HEAD_END = "</head>"


def chunk_named(js_dir: Path, stem: str) -> str | None:
    """The file of the chunk `stem` (`Metric` -> `Metric.MSVuxtnf.js`); None when the installed
    Streamlit has none such."""
    pattern = re.compile(rf"{re.escape(stem)}\.[A-Za-z0-9_-]+\.js")
    found = sorted(path.name for path in js_dir.glob(f"{stem}.*.js") if pattern.fullmatch(path.name))
    return found[0] if len(found) == 1 else None


def needed_chunks(js_dir: Path, roots: Iterable[str], loaded: set[str]) -> list[str]:
    """The chunks `roots` import, directly or through others, that the page does not load already:
    in the order found, each once."""
    order: list[str] = []
    todo = list(roots)
    seen = set(loaded)
    while todo:
        name = todo.pop(0)
        if name in seen or not (js_dir / name).is_file():
            continue
        seen.add(name)
        order.append(name)
        todo += _IMPORT.findall((js_dir / name).read_text(encoding="utf-8"))
    return order


def page_with_preloads(index_html: str, js_dir: Path, stems: Iterable[str] = FIRST_PAGE_CHUNKS) -> str:
    """Streamlit's page with a module preload for every chunk the first page's elements need."""
    loaded = set(_SCRIPT.findall(index_html))
    roots = [name for stem in stems if (name := chunk_named(js_dir, stem)) is not None]
    links = "".join(
        f'    <link rel="modulepreload" crossorigin href="./static/js/{name}">\n'
        for name in needed_chunks(js_dir, roots, loaded)
    )
    if not links or _HEAD_END not in index_html:
        return index_html
    return index_html.replace(_HEAD_END, links + "  " + _HEAD_END, 1)


def static_dir_with_preloads(source: Path, target: Path) -> Path:
    """`target` made to serve as Streamlit's static folder: every entry of `source` linked, its page
    (index.html) copied with the preloads."""
    for entry in source.iterdir():
        if entry.name != "index.html":
            (target / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    page = (source / "index.html").read_text(encoding="utf-8")
    (target / "index.html").write_text(page_with_preloads(page, source / "static" / "js"), encoding="utf-8")
    return target


def install() -> bool:
    """Serve Streamlit's page with the preloads from this process on (call it before the server starts).

    Whatever goes wrong (no temporary folder, a Streamlit whose files or functions moved) leaves
    Streamlit serving its own page, with one line saying so: the preloads only save time, they must
    never keep the dashboard from starting."""
    from streamlit import file_util

    try:
        source = Path(file_util.get_static_dir())
        target = Path(tempfile.mkdtemp(prefix="bi-dashboard-static-"))
        atexit.register(shutil.rmtree, target, ignore_errors=True)
        static_dir_with_preloads(source, target)
    except Exception as exc:
        print(f"dashboard: serving Streamlit's page without preloads ({exc!r})", file=sys.stderr, flush=True)
        return False
    file_util.get_static_dir = lambda: str(target)
    return True
