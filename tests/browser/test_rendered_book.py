"""The rendered book as a reader sees it: every TOC page in headless Chromium, offline.

Run by `make test-browser` after `make book`.  The site in _build/html is served on 127.0.0.1
under a sub-path (``/vitutor-book/``, as a static host such as GitHub Pages serves a project
site), so an absolute link or asset path fails; every request to any other host is aborted and
counted as a failure, so the book must work with the network off (MathJax included).  Besides
the TOC pages, the general index and the search page (with a query) are checked.

Each page is loaded once, at desktop width (1280 px), checked light then dark, then narrowed to
phone width (400 px) and checked again.  At 1280 px:

* the browser reports no console errors, no uncaught exceptions and no failed or 4xx request;
  the page weighs (bytes of every response) less than WEIGHT_BUDGET;
* MathJax typeset every math element and reported no TeX errors; no text outside MathJax's
  containers (and outside code) holds a ``$`` or a backslash command: raw TeX, e.g. a line of a
  formula that Markdown read as a list item (search results included);
* no equation label is printed instead of its number ("(gmm-m)", "eq. lda-norm") and no
  reference has doubled parentheses ("((113))");
* no display equation and no code or output block needs sideways scrolling;
* no MyST role or directive was left unrendered (e.g. a literal ``{cite}``);
* no cell output is a raw repr (``<... at 0x...>``, ``np.float64(``, ``array(``, a
  dataclass-style ``Name(field=...)``, SymPy's ``Eq(``), no output area is empty, no two
  consecutive outputs of a cell are both text (a table printed in pieces), no output prints a
  table as aligned text lines, and no table has a header without rows;
* every image loaded, is a numbered figure with a caption and alt text that describes it, and is
  an SVG in vitutor.show's style (text as paths, no opaque background) whose smallest text is
  at least DESKTOP_MIN_TEXT_PX high; in dark mode the stylesheet inverts it;
* every internal link points to a page that exists and, if it has a fragment, to an element
  with that id;
* the proof, exercise, solution and citation blocks the page's source uses were rendered; the
  bibliography's labels read author-year, as the citations do.

At phone width (400 px), with every folded block (hidden inputs, solutions) opened: the page
itself never scrolls sideways; no display equation is wider than the column (break it into
aligned lines); every table and code block wider than the column is a scroll container
carrying the scroll cue (the class ``vt-overflows`` from book/_ext,
which fades its right edge); no element at all, inline formulas included, passes the right
edge of the text column unless it sits in such a scrolling box; no printed output needs
sideways scrolling (prose wraps); every figure's smallest text is at least PHONE_MIN_TEXT_PX
high; the menu button opens the table of contents and "Contents" the page's own contents.
A separate test, on one chapter, collapses and restores the sidebar with its toggle at 1280 px,
then at 400 px follows a section link from "Contents" and a chapter link from the menu.

Per page, the counts (displays and inline formulas that scroll or are cut, figures with small
text, page weight) are written to _build/screenshots/report/ (files named after the page, so
that parallel workers never write the same file), merged into _build/screenshots/report.json
and printed at the end of the run (tests/browser/conftest.py).  Screenshots of the top of each
visit go to _build/screenshots/ (whole pages with BOOK_SCREENSHOTS=full).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import pathlib
import re
import threading
import urllib.parse

import pytest
from playwright import sync_api as playwright_sync

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: The built site; BOOK_HTML points the test at another build (e.g. a few chapters built with
#: ``jupyter-book build . --toc <small toc> --path-output <dir>`` while writing one of them).
HTML = pathlib.Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
SHOTS = HTML.parent / "screenshots"
#: One JSON file per page and test (merged by conftest.py).
REPORT_DIR = SHOTS / "report"
#: "top" (default): the first screen of each visit; "full": whole pages (slow); "none".
SCREENSHOTS = os.environ.get("BOOK_SCREENSHOTS", "top")
#: Where the site is served, as a project site on a static host would be.
PREFIX = "/vitutor-book"
DESKTOP, PHONE = 1280, 400
#: Smallest text in a figure, in CSS px: 8 px in a phone's column, 10 px at desktop width.
PHONE_MIN_TEXT_PX, DESKTOP_MIN_TEXT_PX = 8.0, 10.0
#: Bytes a page may load (every response, uncompressed as served here): scripts, and everything
#: the page itself loads (not the pages the search page fetches for its snippets).  Before the
#: cut every page loaded 2.9 MB of script (1.5 MB of it FontAwesome's SVG kit), 3.8 MB or more
#: in all; after it 1.3 MB of script (1.2 MB of it MathJax) and 2.2-3.3 MB in all.
WEIGHT_BUDGET = {"script": 1_500_000, "page": 3_500_000}
#: The query the search page is checked with (its results show snippets of pages with math).
SEARCH_QUERY = "evidence"
CHROMIUM = "/usr/bin/chromium"
#: Generous limits (ms): a loaded 2-core CI machine can take tens of seconds to lay out a long
#: chapter and typeset a hundred equations; a real failure still fails, just later.
TIMEOUT = 180_000
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


def toc_pages():
    """Source files of the TOC, in order: (docname, source path)."""
    lines = (ROOT / "_toc.yml").read_text().splitlines()
    names = [
        line.split(":", 1)[1].strip()
        for line in lines
        if line.strip().startswith(("- file:", "root:"))
    ]
    pages = []
    for name in names:
        source = next(
            p
            for p in (ROOT / f"{name}.md", ROOT / f"{name}.ipynb")
            if p.exists()
        )
        pages.append((name, source))
    return pages


def source_text(path: pathlib.Path | None) -> str:
    """The markdown a page is written in (markdown cells only, for a notebook)."""
    if path is None:
        return ""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text())
        return "\n".join(
            "".join(c["source"])
            for c in nb["cells"]
            if c["cell_type"] == "markdown"
        )
    return path.read_text()


def equation_labels() -> list[str]:
    """Labels of every numbered equation of the book ({math} blocks with :label:)."""
    labels = set()
    for _, source in toc_pages():
        for block in re.finditer(
            r"```\{math\}[^\n]*\n((?::[\w-]+:[^\n]*\n)*)", source_text(source)
        ):
            labels.update(re.findall(r":label:\s*(\S+)", block.group(1)))
    return sorted(labels, key=len, reverse=True)


#: Every TOC page, the general index and the search page, or only those named in BOOK_PAGES
#: (comma-separated docnames, such as ``book/07_lda,book/bibliography,genindex``).
SPECIAL_PAGES = [("genindex", None), ("search", None)]
PAGES = [
    (name, source)
    for name, source in toc_pages() + SPECIAL_PAGES
    if not os.environ.get("BOOK_PAGES")
    or name in os.environ["BOOK_PAGES"].split(",")
]
PAGE_IDS = [name for name, _ in PAGES]

#: What a rendered output must not show: (pattern, what it is).
REPRS = [
    (r"<[\w.]+ (?:at|object at) 0x[0-9a-f]+>", "object reprs"),
    (r"\bnp\.(?:float|int|bool_?|complex)\w*\(", "numpy scalar reprs"),
    (r"\barray\(\[", "numpy array reprs"),
    (r"\b[A-Z]\w*\((?:[a-z_]\w*)=", "dataclass-style reprs"),
    (r"\bEq\(", "SymPy reprs"),
]


def raw_tex(text: str) -> str | None:
    """The first piece of raw TeX in text that a reader sees, with some context, or None."""
    found = re.search(r"\$|\\[A-Za-z]+|\\[()\[\]{}]", text)
    if not found:
        return None
    return text[max(0, found.start() - 40) : found.end() + 40]


def printed_labels(text: str, labels: list[str]) -> list[str]:
    """Equation labels shown as text: "(gmm-m)", "eq. lda-norm", "Eq. (ef-kl)"."""
    if not labels:
        return []
    names = "|".join(re.escape(label) for label in labels)
    pattern = (
        rf"\((?:{names})\)|\beq(?:uation|s)?\.?\s*\(?(?:{names})(?![\w-])"
    )
    return re.findall(pattern, text, flags=re.I)


def text_table(text: str) -> str | None:
    """A table printed as text: three or more consecutive lines whose fields, parted by gaps
    of two or more spaces (not after a sentence's end), start or end at the same column in
    every line, or three lines framed by '|'.  Returns the first such line, or None."""
    gap = re.compile(r"(?<=[^\s.?!])(?: {2,}|\t)(?=\S)")
    run: list[tuple[str, set]] = []
    for line in text.expandtabs().splitlines():
        if re.fullmatch(r"\s*\|.*\|\s*", line):
            edges = {"framed"}
        else:
            # a field after a gap starts at m.end(); the field before it ends at m.start()
            edges = {("start", m.end()) for m in gap.finditer(line)}
            edges |= {("end", m.start()) for m in gap.finditer(line)}
        shared = edges & run[-1][1] if run else edges
        if edges and shared:
            run.append((line, shared))
            if len(run) >= 3:
                return run[0][0].strip()
        else:
            run = [(line, edges)] if edges else []
    return None


def svg_style(svg: str) -> dict:
    """What a matplotlib SVG says about its style: vitutor.show's figures draw text as glyph
    paths scaled by font size / 100 (``scale(s -s)``, in the viewBox's units, points), keep
    the figure's background rectangle unfilled, and have no <text> elements."""
    view = re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ', svg)
    sizes = [100 * float(s) for s in re.findall(r"scale\(([\d.]+) -\1\)", svg)]
    patch = re.search(r'<g id="patch_1">\s*<path [^>]*style="([^"]*)"', svg)
    return {
        "width": float(view.group(1)) if view else None,
        "min_font": min(sizes) if sizes else None,
        "text_elements": len(re.findall(r"<text\b", svg)),
        "transparent": patch is None or "fill: none" in patch.group(1),
        "matplotlib": "matplotlib" in svg[:2000].lower(),
    }


class _SubPathHandler(http.server.SimpleHTTPRequestHandler):
    """Serves _build/html under PREFIX only; any other path is a 404."""

    def translate_path(self, path):
        route = urllib.parse.urlsplit(path).path
        if route != PREFIX and not route.startswith(PREFIX + "/"):
            return str(HTML / "__outside_the_site__")
        return super().translate_path(path[len(PREFIX) :] or "/")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        pytest.fail("_build/html is missing: run `make book` first")
    handler = functools.partial(_SubPathHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's chromium package (see .ci/run)"
        )
    with playwright_sync.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield b
        b.close()


@functools.cache
def site_file(route: str) -> str | None:
    """The text of a file of the built site, by its route under PREFIX (what the server
    sends for it), or None if there is none; read once per worker, the site does not change."""
    path = (HTML / urllib.parse.unquote(route).lstrip("/")).resolve()
    if path.is_dir():
        path = path / "index.html"
    if not path.is_relative_to(HTML.resolve()) or not path.is_file():
        return None
    return path.read_text(errors="replace")


def write_report(docname: str, part: str, counts: dict):
    """This test's counts for this page, in a file no other test or worker writes."""
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    name = f"{docname.replace('/', '_')}.{part}.json"
    (REPORT_DIR / name).write_text(json.dumps({docname: {part: counts}}))


class PageVisit:
    """One page loaded in a fresh browser context, with everything that went wrong recorded."""

    def __init__(
        self, browser, site, docname, color_scheme="light", width=DESKTOP
    ):
        self.site = site
        self.docname = docname
        self.width = width
        self.origin = site[: -len(PREFIX)]
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.finished = []
        self.context = browser.new_context(
            viewport={"width": width, "height": 900}, color_scheme=color_scheme
        )
        self.context.set_default_timeout(TIMEOUT)
        self.context.set_default_navigation_timeout(TIMEOUT)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on(
            "console",
            lambda msg: (
                msg.type == "error"
                and self.errors.append(f"console: {msg.text}")
            ),
        )
        self.page.on(
            "pageerror", lambda exc: self.errors.append(f"page error: {exc}")
        )
        self.page.on("requestfailed", self._failed)
        self.page.on("requestfinished", lambda r: self.finished.append(r))
        self.page.on("response", self._response)
        query = f"?q={SEARCH_QUERY}" if docname == "search" else ""
        self.url = f"{site}/{docname}.html{query}"
        response = self.page.goto(self.url, wait_until="load")
        assert response is not None and response.status == 200, (
            f"{self.url}: HTTP {response and response.status}"
        )
        self.wait_for_mathjax()
        if docname == "search":
            self.wait_for_search_results()

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.origin) or url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _response(self, response):
        if response.status >= 400:
            where = (
                "outside the site's sub-path (an absolute path?)"
                if not response.url.startswith(self.site)
                else "missing"
            )
            self.errors.append(
                f"HTTP {response.status} for {response.url}: {where}"
            )

    def _failed(self, request):
        if request.url.startswith(self.origin):
            self.errors.append(
                f"request failed: {request.url} ({request.failure})"
            )

    def wait_for_mathjax(self):
        has_math = self.page.evaluate(
            "document.querySelectorAll('.math').length > 0"
        )
        if not has_math:
            return
        self.page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
        )
        self.page.evaluate("() => MathJax.startup.promise")
        # one frame later the page's own handlers (vitutor.js) have run
        self.next_frame()

    def wait_for_search_results(self):
        # every result listed, each with the snippet fetched from its page
        self.page.wait_for_function(
            """() => {
                const summary = document.querySelector('#search-results .search-summary');
                const items = [...document.querySelectorAll('#search-results li')];
                // a page result gets a snippet; an API object gets its description instead
                return summary && /found/.test(summary.textContent) && items.length > 0
                    && items.every(li => li.querySelector('p.context, :scope > span'));
            }"""
        )

    def next_frame(self):
        self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => r()))"
        )

    def open_folded_blocks(self):
        """Open hidden code inputs and solutions, as a reader who taps them would."""
        self.page.evaluate(
            """() => {
                document.querySelectorAll('article details').forEach(d => { d.open = true; });
                document.querySelectorAll('article .toggle-hidden')
                    .forEach(e => e.classList.remove('toggle-hidden'));
                if (window.vitutorMarkOverflow) window.vitutorMarkOverflow();
            }"""
        )
        self.next_frame()

    def weight(self) -> dict:
        """Bytes of every response so far (body and headers), by resource type."""
        by_type: dict[str, int] = {}
        for request in self.finished:
            sizes = request.sizes()
            size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            kind = request.resource_type
            by_type[kind] = by_type.get(kind, 0) + size
        by_type["total"] = sum(by_type.values())
        # what the page itself loads; the search page also fetches the pages it lists
        by_type["page"] = by_type["total"] - by_type.get("fetch", 0)
        return by_type

    def screenshot(self, name: str):
        if SCREENSHOTS == "none":
            return
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(
            path=str(SHOTS / f"{name}.png"), full_page=SCREENSHOTS == "full"
        )

    def figures(self) -> list[dict]:
        """Every image in the article: how it is drawn and how large its smallest text is."""
        images = self.page.evaluate(
            """async () => {
                const imgs = [...document.querySelectorAll('article img')];
                await Promise.all(imgs.map(i => i.decode().catch(() => null)));
                return imgs.map(i => {
                  const fig = i.closest('figure');
                  const cap = fig && fig.querySelector('figcaption');
                  const num = cap && cap.querySelector('.caption-number');
                  return {
                    src: i.getAttribute('src'),
                    url: i.currentSrc || i.src,
                    ok: i.complete && i.naturalWidth > 0,
                    alt: i.getAttribute('alt') || '',
                    // textContent: a figure inside a collapsed solution is not rendered
                    caption: cap ? cap.textContent.trim() : '',
                    number: num ? num.textContent.trim() : '',
                    rendered: i.getBoundingClientRect().width,
                    filter: getComputedStyle(i).filter,
                  };
                });
            }"""
        )
        for img in images:
            img["svg"] = None
            if img["ok"] and img["url"].split("?")[0].endswith(".svg"):
                img["svg"] = svg_style(
                    site_file(img["url"][len(self.site) :].split("?")[0]) or ""
                )
            style = img["svg"]
            img["min_text_px"] = (
                style["min_font"] * img["rendered"] / style["width"]
                if style and style["min_font"] and style["width"]
                else None
            )
        return images

    def close(self):
        self.context.close()


def figure_problems(images: list[dict], min_px: float) -> list[str]:
    problems = []
    for img in images:
        name = img["src"].rsplit("/", 1)[-1]
        style = img["svg"]
        if style is None:
            problems.append(
                f"figure {name} is not an SVG: not drawn with vitutor.show's figure style"
            )
            continue
        if style["text_elements"]:
            problems.append(
                f"figure {name} has <text> elements: not vitutor.show's style "
                "(svg.fonttype 'path')"
            )
        if not style["transparent"]:
            problems.append(
                f"figure {name} has an opaque background (figure patch filled)"
            )
        if img["min_text_px"] is None:
            if style["matplotlib"]:
                problems.append(f"figure {name}: no text size found")
        elif img["min_text_px"] < min_px - 1e-6:
            problems.append(
                f"figure {name}: smallest text {img['min_text_px']:.1f} px at "
                f"{img['rendered']:.0f} px wide, below {min_px:g} px"
            )
    return problems


#: The page's visible text outside math and code (outputs included): where raw TeX, printed
#: labels and doubled parentheses are looked for.
VISIBLE_TEXT = """() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll('mjx-container, script, style, noscript, template, code, .headerlink')
        .forEach(e => e.remove());
    // code blocks and code cells, but not the printed outputs of cells
    body.querySelectorAll('.highlight, pre').forEach(e => {
        if (!e.closest('.cell_output')) e.remove();
    });
    return body.textContent.replace(/[ \\t]+/g, ' ');
}"""

#: Outputs: their text, and whether two text outputs of one cell follow each other.
OUTPUTS = """() => [...document.querySelectorAll('article .cell_output')].map(e => {
    const parts = [...e.children].filter(c => c.classList.contains('output'));
    const isText = c => c.classList.contains('stream') || c.classList.contains('text_plain');
    return {
        text: e.innerText,
        texts: parts.filter(isText).map(c => c.innerText),
        media: e.querySelectorAll('img, table, mjx-container, svg').length,
        consecutive_text: parts.some((c, i) => i > 0 && isText(c) && isText(parts[i - 1])),
    };
})"""


def desktop_problems(visit, docname, source) -> tuple[list[str], dict]:
    """What is wrong with the page at DESKTOP width, light then dark; and its counts."""
    page, site = visit.page, visit.site
    text = source_text(source)
    problems: list[str] = []

    # Math: every element typeset, no TeX errors.
    math = page.evaluate(
        """() => {
            const els = [...document.querySelectorAll('article .math')];
            return {
              total: els.length,
              untypeset: els.filter(e => !e.querySelector('mjx-container'))
                            .map(e => e.textContent.slice(0, 80)),
              errors: [...document.querySelectorAll('mjx-merror')]
                        .map(e => e.getAttribute('data-mjx-error') || e.textContent),
            };
        }"""
    )
    if math["untypeset"]:
        problems.append(
            f"{len(math['untypeset'])} of {math['total']} math elements not "
            f"typeset: {math['untypeset'][:3]}"
        )
    if math["errors"]:
        problems.append(f"MathJax errors: {math['errors'][:3]}")
    wide = page.evaluate(
        """() => [...document.querySelectorAll(
                    'article mjx-container[display="true"], article div.highlight pre, '
                    + 'article .cell_output pre')]
                  .filter(e => e.scrollWidth > e.clientWidth + 1)
                  .map(e => `${e.tagName.toLowerCase()} +${e.scrollWidth - e.clientWidth}px: `
                            + e.textContent.trim().slice(0, 50))"""
    )
    if wide:
        problems.append(
            f"{len(wide)} display(s) or code/output block(s) need sideways "
            f"scrolling at {DESKTOP} px: {wide[:3]}"
        )
    if ("$" in text or "{math}" in text) and math["total"] == 0:
        problems.append(
            "the source has math but the page has no math elements"
        )

    # Visible text: no raw TeX, no equation label instead of its number, no ((12)).
    visible = page.evaluate(VISIBLE_TEXT)
    tex = raw_tex(visible)
    if tex:
        problems.append(
            f"raw TeX in the text outside rendered math: ...{tex!r}..."
        )
    labels = printed_labels(visible, equation_labels())
    if labels:
        problems.append(
            f"equation labels printed instead of their numbers: {sorted(set(labels))[:5]}"
        )
    doubled = re.findall(r"\(\(\d+(?:\.\d+)*\)\)", visible)
    if doubled:
        problems.append(
            f"equation references in double parentheses: {doubled[:3]}"
        )
    for pattern, what in [
        (
            r"\{(cite|eq|ref|prf:ref|numref|glue:text|py:func|py:mod|py:obj)\}`",
            "an unrendered MyST role",
        ),
        (
            r"```|\{(exercise|solution|prf:\w+|math|note|warning)\}",
            "an unrendered MyST directive",
        ),
    ]:
        found = re.search(pattern, visible)
        if found:
            around = visible[max(0, found.start() - 40) : found.end() + 40]
            problems.append(f"{what} in the text: ...{around!r}...")

    # Outputs: numbers with their meaning, not reprs; one table, one output, as a table.
    outputs = page.evaluate(OUTPUTS)
    text_out = "\n".join(o["text"] for o in outputs)
    for pattern, what in REPRS:
        found = re.findall(pattern, text_out)
        if found:
            problems.append(f"{what} in cell outputs: {found[:3]}")
    stderr = page.evaluate(
        "() => [...document.querySelectorAll('article .output.stderr')]"
        ".map(e => e.innerText.trim().slice(0, 80))"
    )
    if stderr:
        problems.append(
            f"warnings printed into the page (stderr): {stderr[:2]}"
        )
    empty = sum(1 for o in outputs if not o["text"].strip() and not o["media"])
    if empty:
        problems.append(f"{empty} empty output area(s)")
    pieces = [o["text"][:60] for o in outputs if o["consecutive_text"]]
    if pieces:
        problems.append(
            f"{len(pieces)} cell(s) print in several text outputs (a table in pieces?): "
            f"{pieces[:2]}"
        )
    tables_as_text = [
        line for o in outputs for t in o["texts"] if (line := text_table(t))
    ]
    if tables_as_text:
        problems.append(
            f"{len(tables_as_text)} output(s) print a table as aligned text lines "
            f"(display it with vitutor.show.table): {tables_as_text[:2]}"
        )
    headless = page.evaluate(
        """() => [...document.querySelectorAll('article table')]
                .filter(t => t.querySelector('th') && !t.querySelector('tbody tr'))
                .map(t => t.innerText.trim().slice(0, 60))"""
    )
    if headless:
        problems.append(f"table header(s) without rows: {headless[:2]}")

    # Figures: loaded, numbered, captioned, described; SVG in vitutor.show's style.
    visit.open_folded_blocks()
    images = visit.figures()
    broken = [img["src"] for img in images if not img["ok"]]
    if broken:
        problems.append(f"images that did not load: {broken}")
    if text.count("plt.") and not images:
        problems.append(
            "the chapter draws figures but the page shows no image"
        )
    for img in images:
        if not img["number"] or not img["caption"]:
            problems.append(
                f"image {img['src']} is not a numbered figure with a caption "
                f"(number {img['number']!r}, caption {img['caption'][:40]!r})"
            )
        alt = img["alt"].strip()
        if len(alt.split()) < 4 or re.search(r"\.(png|svg|jpe?g)$|/", alt):
            problems.append(
                f"image {img['src']}: alt text {alt!r} does not say what it shows"
            )
    problems.extend(
        figure_problems([i for i in images if i["ok"]], DESKTOP_MIN_TEXT_PX)
    )

    # Blocks the source uses must be rendered.
    for marker, selector, what in [
        ("{prf:theorem}", ".proof.theorem, .theorem", "theorem"),
        ("{prf:proof}", ".proof", "proof"),
        ("{prf:algorithm}", ".proof.algorithm, .algorithm", "algorithm"),
        ("{exercise}", ".exercise", "exercise"),
        ("solution-start", ".solution", "solution"),
        ("{cite}", "a[href*='bibliography']", "citation link"),
    ]:
        if marker in text and page.locator(f"article {selector}").count() == 0:
            problems.append(
                f"the source uses {marker} but no {what} block was rendered"
            )
    if docname.endswith("bibliography"):
        entries = page.evaluate(
            """() => [...document.querySelectorAll('article .citation')].map(c => ({
                    label: (c.querySelector('.label') || c).innerText
                            .replace(/^\\[|\\]$/g, '').trim(),
                    text: c.innerText}))"""
        )
        if not entries:
            problems.append("the bibliography page lists no references")
        not_author_year = [
            e["label"]
            for e in entries
            if not re.fullmatch(r"\D+, (\d{4}|n\.d\.)[a-z]?", e["label"])
        ]
        if not_author_year:
            problems.append(
                f"bibliography labels that are not author-year: {not_author_year[:3]}"
            )
        repeated = [
            e["label"]
            for e in entries
            if re.search(r"\b(\d{4}), \1\b", e["text"])
        ]
        if repeated:
            problems.append(f"entries with a repeated year: {repeated[:3]}")

    # Internal links: the target page exists and so does the anchor.
    links = page.evaluate(
        "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
    )
    for href in sorted(set(links)):
        if not href.startswith(site):
            continue
        target, _, fragment = href.partition("#")
        html = site_file(target[len(site) :].split("?")[0])
        if html is None:
            problems.append(f"broken link {href} (no such file in the site)")
            continue
        if fragment:
            fragment = urllib.parse.unquote(fragment)
            if (
                f'id="{fragment}"' not in html
                and f"id='{fragment}'" not in html
            ):
                problems.append(
                    f"link {href}: no element with id {fragment!r}"
                )

    visit.screenshot(docname.replace("/", "_"))

    # Weight, before dark mode (which loads nothing new).
    weight = visit.weight()
    for kind, budget in WEIGHT_BUDGET.items():
        if weight.get(kind, 0) > budget:
            problems.append(
                f"the page loads {weight[kind] / 1e6:.2f} MB of {kind}, more than "
                f"{budget / 1e6:.1f} MB"
            )

    # Dark mode: the reader's system setting switches the theme; figures are inverted.
    page.emulate_media(color_scheme="dark")
    try:
        page.wait_for_function(
            "() => document.documentElement.dataset.theme === 'dark'",
            timeout=10_000,
        )
    except playwright_sync.TimeoutError:
        problems.append(
            "dark mode did not apply (data-theme="
            f"{page.evaluate('document.documentElement.dataset.theme')!r})"
        )
    svg_filters = page.evaluate(
        """() => [...document.querySelectorAll('article img')]
                .filter(i => (i.currentSrc || i.src).split('?')[0].endsWith('.svg'))
                .map(i => getComputedStyle(i).filter)"""
    )
    if any("invert" not in f for f in svg_filters):
        problems.append(
            "in dark mode some SVG figures are not inverted by the stylesheet"
        )
    visit.screenshot(f"{docname.replace('/', '_')}-dark")
    page.emulate_media(color_scheme="light")
    page.wait_for_function(
        "() => document.documentElement.dataset.theme === 'light'"
    )

    counts = {
        "weight": weight,
        "figures": len(images),
        "figures_below_10px": sum(
            1
            for i in images
            if i["min_text_px"] is not None
            and i["min_text_px"] < DESKTOP_MIN_TEXT_PX
        ),
        "figures_not_svg": sum(1 for i in images if i["svg"] is None),
    }
    return problems, counts


#: At PHONE width: everything wider than its box, whether the box scrolls and has the cue, and
#: every element whose right edge passes the text column with no scrolling box around it.
PHONE_LAYOUT = """() => {
    const doc = document.scrollingElement || document.documentElement;
    // the search page has no <article>: its results sit in the main column
    const article = document.querySelector('article') || document.querySelector('main');
    const style = getComputedStyle(article);
    const column = article.getBoundingClientRect().right - parseFloat(style.paddingRight);
    const limit = Math.min(column, window.innerWidth) + 1;
    const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
    const kind = e => e.matches('mjx-container[display="true"]') ? 'display'
        : e.matches('mjx-container') ? 'inline'
        : e.matches('.pst-scrollable-table-container, table') ? 'table'
        : e.matches('pre') ? 'code' : 'other';
    const label = e => {
        const cls = [...e.classList].slice(0, 2).join('.');
        return `${kind(e)} ${e.tagName.toLowerCase()}${cls ? '.' + cls : ''}: `
            + e.textContent.trim().replace(/\\s+/g, ' ').slice(0, 50);
    };

    // Boxes wider than their content area: they must scroll and carry the cue.
    const wide = [];
    for (const e of document.querySelectorAll(
            'article mjx-container[display="true"], article .pst-scrollable-table-container, '
            + 'article table, article div.highlight pre, article .cell_output pre')) {
        if (e.scrollWidth > e.clientWidth + 1) {
            wide.push({kind: kind(e), label: label(e), scrolls: scrolls(e),
                       cue: e.classList.contains('vt-overflows'),
                       output: e.matches('.cell_output pre')});
        }
    }

    // Every element of the article: past the column, held by a scrolling box, or cut.
    const cut = [], heldInline = [];
    const visit = (e, box) => {
        const r = e.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) return;  // not rendered
        const visible = getComputedStyle(e).visibility !== 'hidden';
        if (box === null && visible && r.right > limit) {
            const where = ` (right edge at ${Math.round(r.right)} px,`
                + ` column ends at ${Math.round(column)} px)`;
            cut.push({kind: kind(e), label: label(e) + where});
            return;  // its children are cut with it
        }
        if (box !== null && e.matches('mjx-container') && r.right > box + 1) {
            heldInline.push(label(e));
        }
        if (e.matches('mjx-container, svg, img')) return;
        const inner = scrolls(e) ? e.getBoundingClientRect().right : box;
        for (const c of e.children) visit(c, inner);
    };
    for (const c of article.children) visit(c, null);

    const widest = [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > doc.clientWidth + 1)
        .filter(e => !e.closest('.vt-overflows, [class*="scroll"], mjx-container, dialog'))
        .slice(0, 3)
        .map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}`);
    // A code name in a table cell drawn on two lines: broken mid-word.
    const brokenCode = [...document.querySelectorAll('article table code')]
        .filter(c => !/\\s/.test(c.textContent.trim()) && c.getClientRects().length > 1)
        .map(c => c.textContent.trim());
    return {page: doc.scrollWidth - doc.clientWidth, widest, wide, cut, heldInline, brokenCode,
            column: Math.round(column)};
}"""


def open_sidebar(page, toggle: str, dialog: str, links: str) -> str | None:
    """Tap the visible toggle; the dialog must open with links in it.  Returns a problem."""
    button = page.locator(f"{toggle}:visible")
    if button.count() != 1:
        return f"{button.count()} visible {toggle} button(s)"
    button.click()
    try:
        page.wait_for_function(
            f"() => document.querySelector('{dialog}').open", timeout=5_000
        )
    except playwright_sync.TimeoutError:
        return f"tapping {toggle} did not open {dialog}"
    shown = page.locator(f"{dialog} {links}").filter(visible=True).count()
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => !document.querySelector('{dialog}').open")
    if not shown:
        return f"{dialog} opened but shows no link"
    return None


def phone_problems(visit, docname) -> tuple[list[str], dict]:
    """What is wrong with the page at PHONE width (the same page, narrowed); and its counts."""
    page = visit.page
    problems = []
    page.set_viewport_size({"width": PHONE, "height": 900})
    # the theme slides the table of contents out of the page (a 0.25 s transition)
    page.wait_for_function(
        """() => {
            const toc = document.querySelector('#pst-primary-sidebar');
            return !toc || toc.getBoundingClientRect().right <= 0;
        }"""
    )
    visit.next_frame()  # vitutor.js's resize handler has run
    page.evaluate("() => window.scrollTo(0, 0)")
    visit.screenshot(f"{docname.replace('/', '_')}-{PHONE}px")

    # Navigation: the menu opens the book's contents, "Contents" the page's own.
    problem = open_sidebar(
        page,
        ".primary-toggle",
        "#pst-primary-sidebar-modal",
        "nav a.reference",
    )
    if problem:
        problems.append(f"menu: {problem}")
    if page.locator("#pst-secondary-sidebar nav a").count():
        problem = open_sidebar(
            page,
            ".secondary-toggle",
            "#pst-secondary-sidebar-modal",
            "nav a",
        )
        if problem:
            problems.append(f"contents: {problem}")

    visit.open_folded_blocks()
    layout = page.evaluate(PHONE_LAYOUT)
    images = visit.figures()
    if layout["page"] > 0:
        problems.append(
            f"the page scrolls sideways by {layout['page']} px at {PHONE} px "
            f"(elements past the edge: {layout['widest']})"
        )
    for e in layout["wide"]:
        if e["kind"] == "display":
            # every display of chapters 1-10 fits a phone's column once broken into
            # aligned lines; one that scrolls is one to break, not to scroll
            problems.append(
                f"display equation wider than the column (break it into lines): {e['label']}"
            )
        elif e["output"]:
            problems.append(
                f"printed output needs sideways scrolling (prose must wrap): {e['label']}"
            )
        elif not e["scrolls"]:
            problems.append(
                f"wider than its box and not scrollable: {e['label']}"
            )
        elif not e["cue"]:
            problems.append(f"scrolls without the scroll cue: {e['label']}")
    if layout["cut"]:
        problems.append(
            f"{len(layout['cut'])} element(s) pass the text column with no scrolling box: "
            + "; ".join(e["label"] for e in layout["cut"][:4])
        )
    if layout["brokenCode"]:
        problems.append(
            f"code names broken mid-word in a table: {layout['brokenCode'][:3]}"
        )
    problems.extend(figure_problems(images, PHONE_MIN_TEXT_PX))

    def count(items, kind):
        return sum(1 for e in items if e["kind"] == kind)

    counts = {
        "displays_scroll": count(layout["wide"], "display"),
        "displays_cut": count(layout["cut"], "display"),
        "inline_scroll": len(layout["heldInline"]),
        "inline_cut": count(layout["cut"], "inline"),
        "other_cut": len(layout["cut"])
        - count(layout["cut"], "display")
        - count(layout["cut"], "inline"),
        "tables_or_code_scroll": len(layout["wide"])
        - count(layout["wide"], "display"),
        "figures": len(images),
        "figures_below_8px": sum(
            1
            for i in images
            if i["min_text_px"] is not None
            and i["min_text_px"] < PHONE_MIN_TEXT_PX
        ),
        "figures_not_svg": sum(1 for i in images if i["svg"] is None),
        "smallest_figure_text_px": min(
            (
                round(i["min_text_px"], 1)
                for i in images
                if i["min_text_px"] is not None
            ),
            default=None,
        ),
    }
    return problems, counts


@pytest.mark.parametrize("docname, source", PAGES, ids=PAGE_IDS)
def test_page_at_desktop_and_phone_width(browser, site, docname, source):
    visit = PageVisit(browser, site, docname)
    try:
        desktop, desktop_counts = desktop_problems(visit, docname, source)
        phone, phone_counts = phone_problems(visit, docname)
    finally:
        visit.close()
    write_report(docname, "desktop", desktop_counts)
    write_report(docname, "phone", phone_counts)
    problems = desktop + [f"at {PHONE} px: {p}" for p in phone] + visit.errors
    if visit.blocked:
        problems.append(
            f"requests to other hosts (blocked): {sorted(set(visit.blocked))[:5]}"
        )
    assert not problems, f"{docname}:\n  " + "\n  ".join(problems)


def _navigation_page():
    """A chapter checked in this run, else another page with sections, else the book's root."""
    for suffix in (".ipynb", ".md"):
        for name, source in PAGES:
            if source is not None and source.suffix == suffix:
                return name
    return toc_pages()[0][0]


def test_sidebar_toggles_and_phone_navigation_follow_links(browser, site):
    docname = _navigation_page()
    visit = PageVisit(browser, site, docname)
    page = visit.page
    page.set_default_timeout(
        10_000
    )  # the page is loaded: a tap either works or it does not
    try:
        # At DESKTOP width the toggle collapses the table of contents and brings it back.
        sidebar = page.locator("#pst-primary-sidebar")
        assert sidebar.is_visible()
        page.locator(".primary-toggle:visible").click()
        sidebar.wait_for(state="hidden")
        page.locator(".primary-toggle:visible").click()
        sidebar.wait_for(state="visible")

        # At PHONE width, "Contents": the page's sections; following one jumps there and
        # closes the list.
        page.set_viewport_size({"width": PHONE, "height": 900})
        page.wait_for_function(
            "() => document.querySelector('#pst-primary-sidebar')"
            ".getBoundingClientRect().right <= 0"
        )
        page.locator(".secondary-toggle:visible").click()
        sections = page.locator(
            "#pst-secondary-sidebar-modal nav a[href^='#']"
        ).filter(visible=True)
        section = sections.nth(sections.count() // 2)
        target = urllib.parse.unquote(section.get_attribute("href"))
        section.click()
        page.wait_for_function(
            "() => !document.querySelector('#pst-secondary-sidebar-modal').open"
        )
        top = page.evaluate(
            f"() => document.getElementById({target[1:]!r}).getBoundingClientRect().top"
        )
        assert urllib.parse.unquote(page.url).endswith(target), page.url
        assert 0 <= top < 450, (
            f"after following {target} from Contents its heading is at {top:.0f} px"
        )

        # The menu: the book's contents; following a chapter link opens that chapter.
        page.locator(".primary-toggle:visible").click()
        links = page.locator(
            "#pst-primary-sidebar-modal nav a.reference.internal"
        ).filter(visible=True)
        hrefs = [
            links.nth(i).get_attribute("href") for i in range(links.count())
        ]
        others = [
            i
            for i, h in enumerate(hrefs)
            if h and not h.startswith("#") and docname.split("/")[-1] not in h
        ]
        # a chapter (NN_name.html) if the book has another, else any other page
        chapters = [i for i in others if re.search(r"\d\d\w*\.html", hrefs[i])]
        other = (chapters or others)[0]
        expected = urllib.parse.urljoin(page.url, hrefs[other])
        with page.expect_navigation():
            links.nth(other).click()
        assert page.url.split("#")[0] == expected.split("#")[0]
        assert page.locator("article h1").count() == 1
    finally:
        visit.close()
    assert not visit.errors, visit.errors


def test_every_toc_page_was_built():
    for docname, _ in PAGES:
        assert (HTML / f"{docname}.html").exists(), (
            f"{docname}.html was not built"
        )
