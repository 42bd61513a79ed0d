"""The rendered book as a reader sees it: every TOC page in headless Chromium, offline.

Run by `make test-browser` after `make book`.  The site in _build/html is served on 127.0.0.1
under a sub-path (``/vitutor-book/``, as a static host such as GitHub Pages serves a project
site), so an absolute link or asset path fails; every request to any other host is aborted and
counted as a failure, so the book must work with the network off (MathJax included).

At desktop width (1280 px), for each page, light and dark:

* the browser reports no console errors, no uncaught exceptions and no failed or 4xx request;
* MathJax typeset every math element, reported no TeX errors, and no raw TeX is left in the text;
* no display equation and no code or output block needs sideways scrolling;
* no MyST role or directive was left unrendered (e.g. a literal ``{cite}``);
* no cell output is a raw repr (``<... at 0x...>``, ``np.float64(``, ``array(``, a
  dataclass-style ``Name(field=...)``, SymPy's ``Eq(``) and no output area is empty;
* every image loaded and is a numbered figure with a caption and alt text that describes it;
* every internal link points to a page that exists and, if it has a fragment, to an element
  with that id;
* the proof, exercise, solution and citation blocks the page's source uses were rendered.

At phone width (400 px): the page itself never scrolls sideways; every display equation, table
and code block wider than the column is a scroll container carrying the scroll cue (the class
``vt-overflows`` from book/_ext, which fades its right edge), none is cut off; how many displays
need scrolling is reported at the end of the run (tests/browser/conftest.py) and written to
_build/screenshots/phone-width.json.  Full-page screenshots of every visit go to
_build/screenshots/.
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
#: Where the site is served, as a project site on a static host would be.
PREFIX = "/vitutor-book"
DESKTOP, PHONE = 1280, 400
#: Per page, at PHONE width: display equations that need sideways scrolling (filled as the
#: phone-width tests run; printed by tests/browser/conftest.py).
PHONE_REPORT: dict[str, dict] = {}
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


def source_text(path: pathlib.Path) -> str:
    """The markdown a page is written in (markdown cells only, for a notebook)."""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text())
        return "\n".join(
            "".join(c["source"])
            for c in nb["cells"]
            if c["cell_type"] == "markdown"
        )
    return path.read_text()


#: Every TOC page, or only those named in BOOK_PAGES (comma-separated docnames, such as
#: ``book/07_lda,book/bibliography``).
PAGES = [
    (name, source)
    for name, source in toc_pages()
    if not os.environ.get("BOOK_PAGES")
    or name in os.environ["BOOK_PAGES"].split(",")
]

#: What a rendered output must not show: (pattern, what it is).
REPRS = [
    (r"<[\w.]+ (?:at|object at) 0x[0-9a-f]+>", "object reprs"),
    (r"\bnp\.(?:float|int|bool_?|complex)\w*\(", "numpy scalar reprs"),
    (r"\barray\(\[", "numpy array reprs"),
    (r"\b[A-Z]\w*\((?:[a-z_]\w*)=", "dataclass-style reprs"),
    (r"\bEq\(", "SymPy reprs"),
]


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


class PageVisit:
    """One page loaded in a fresh browser context, with everything that went wrong recorded."""

    def __init__(
        self, browser, site, docname, color_scheme="light", width=DESKTOP
    ):
        self.site = site
        self.origin = site[: -len(PREFIX)]
        self.errors: list[str] = []
        self.blocked: list[str] = []
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
        self.page.on("response", self._response)
        self.url = f"{site}/{docname}.html"
        response = self.page.goto(self.url, wait_until="load")
        assert response is not None and response.status == 200, (
            f"{self.url}: HTTP {response and response.status}"
        )
        self.wait_for_mathjax()

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
        self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => r()))"
        )

    def close(self):
        self.context.close()


@pytest.mark.parametrize(
    "docname, source", PAGES, ids=[name for name, _ in PAGES]
)
def test_page_renders_offline_and_completely(browser, site, docname, source):
    visit = PageVisit(browser, site, docname)
    page = visit.page
    text = source_text(source)
    problems: list[str] = []

    # Math: every element typeset, no TeX errors, no raw TeX delimiters left in the prose.
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
    prose = page.evaluate(
        """() => {
            const article = document.querySelector('article').cloneNode(true);
            article.querySelectorAll(
                'pre, code, .cell_output, .highlight, mjx-container, script, style')
                   .forEach(e => e.remove());
            return article.innerText;
        }"""
    )
    for pattern, what in [
        (r"\\\(|\\\)|\\\[|\\\]|\$\$", "raw TeX delimiters"),
        (r"\$[^$\n]*\\[A-Za-z]+[^$\n]*\$", "raw inline TeX"),
        (
            r"\{(cite|eq|ref|prf:ref|numref|glue:text|py:func|py:mod|py:obj)\}`",
            "an unrendered MyST role",
        ),
        (
            r"```|\{(exercise|solution|prf:\w+|math|note|warning)\}",
            "an unrendered MyST directive",
        ),
    ]:
        found = re.search(pattern, prose)
        if found:
            around = prose[max(0, found.start() - 40) : found.end() + 40]
            problems.append(f"{what} in the text: ...{around!r}...")

    # Outputs: numbers with their meaning, not reprs, and no empty output areas.
    outputs = page.evaluate(
        """() => [...document.querySelectorAll('article .cell_output')].map(e => ({
                text: e.innerText,
                media: e.querySelectorAll('img, table, mjx-container, svg').length,
            }))"""
    )
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

    # Images: every one decoded with a positive natural width.
    images = page.evaluate(
        """async () => {
            const imgs = [...document.querySelectorAll('article img')];
            await Promise.all(imgs.map(i => i.decode().catch(() => null)));
            return imgs.map(i => {
              const fig = i.closest('figure');
              const cap = fig && fig.querySelector('figcaption');
              const num = cap && cap.querySelector('.caption-number');
              return {
                src: i.getAttribute('src'),
                ok: i.complete && i.naturalWidth > 0,
                alt: i.getAttribute('alt') || '',
                // textContent: a figure inside a collapsed solution is not rendered
                caption: cap ? cap.textContent.trim() : '',
                number: num ? num.textContent.trim() : '',
              };
            });
        }"""
    )
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
    if (
        docname.endswith("bibliography")
        and page.locator("article .citation, article dl.citation dt").count()
        == 0
    ):
        problems.append("the bibliography page lists no references")

    # Internal links: the target page exists and so does the anchor.
    links = page.evaluate(
        "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
    )
    pages_html: dict[str, str] = {}
    for href in sorted(set(links)):
        if not href.startswith(site):
            continue
        target, _, fragment = href.partition("#")
        if target not in pages_html:
            response = page.request.get(target)
            if response.status != 200:
                problems.append(f"broken link {href} (HTTP {response.status})")
                pages_html[target] = ""
                continue
            pages_html[target] = response.text()
        if fragment:
            fragment = urllib.parse.unquote(fragment)
            if (
                f'id="{fragment}"' not in pages_html[target]
                and f"id='{fragment}'" not in pages_html[target]
            ):
                problems.append(
                    f"link {href}: no element with id {fragment!r}"
                )

    # Screenshots, light then dark.
    SHOTS.mkdir(parents=True, exist_ok=True)
    stem = docname.replace("/", "_")
    page.screenshot(path=str(SHOTS / f"{stem}.png"), full_page=True)
    visit.close()
    dark = PageVisit(browser, site, docname, color_scheme="dark")
    dark_theme = dark.page.evaluate(
        "() => document.documentElement.dataset.theme"
    )
    if dark_theme != "dark":
        problems.append(f"dark mode did not apply (data-theme={dark_theme!r})")
    dark.page.screenshot(path=str(SHOTS / f"{stem}-dark.png"), full_page=True)
    dark.close()

    problems.extend(visit.errors + dark.errors)
    if visit.blocked or dark.blocked:
        blocked = sorted(set(visit.blocked + dark.blocked))
        problems.append(f"requests to other hosts (blocked): {blocked[:5]}")
    assert not problems, f"{docname}:\n  " + "\n  ".join(problems)


#: At PHONE width: everything wider than its box, whether the box scrolls, whether it has the
#: cue, and whether any part of it lies outside the viewport with no scrolling box around it.
PHONE_LAYOUT = """() => {
    const doc = document.scrollingElement || document.documentElement;
    const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
    const kind = e => e.matches('mjx-container') ? 'math'
        : e.matches('.pst-scrollable-table-container, table') ? 'table' : 'code';
    const els = [...document.querySelectorAll(
        'article mjx-container[display="true"], article .pst-scrollable-table-container, '
        + 'article table, article div.highlight pre, article .cell_output pre')];
    const wide = [], cut = [];
    for (const e of els) {
        const label = kind(e) + ': ' + e.textContent.trim().slice(0, 50);
        if (e.scrollWidth > e.clientWidth + 1) {
            wide.push({kind: kind(e), label, scrolls: scrolls(e),
                       cue: e.classList.contains('vt-overflows')});
        }
        // Cut off: drawn past the right edge of the window, with no scrolling box between it
        // and the page (the page itself must not scroll, so the part past the edge is lost).
        const right = e.getBoundingClientRect().right;
        if (right > window.innerWidth + 1) {
            let a = e.parentElement, held = false;
            while (a && a !== document.body) {
                if (scrolls(a) && a.getBoundingClientRect().right <= window.innerWidth + 1) {
                    held = true; break;
                }
                a = a.parentElement;
            }
            if (!held) cut.push(`${label} (right edge at ${Math.round(right)} px)`);
        }
    }
    const widest = [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > doc.clientWidth + 1)
        .filter(e => !e.closest('.vt-overflows, [class*="scroll"], mjx-container'))
        .slice(0, 3)
        .map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}`);
    return {page: doc.scrollWidth - doc.clientWidth, widest, wide, cut};
}"""


@pytest.mark.parametrize(
    "docname, source", PAGES, ids=[name for name, _ in PAGES]
)
def test_page_fits_a_phone_screen(browser, site, docname, source):
    visit = PageVisit(browser, site, docname, width=PHONE)
    layout = visit.page.evaluate(PHONE_LAYOUT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    stem = docname.replace("/", "_")
    visit.page.screenshot(
        path=str(SHOTS / f"{stem}-{PHONE}px.png"), full_page=True
    )
    visit.close()
    problems = list(visit.errors)
    if layout["page"] > 0:
        problems.append(
            f"the page scrolls sideways by {layout['page']} px at {PHONE} px "
            f"(elements past the edge: {layout['widest']})"
        )
    for e in layout["wide"]:
        if not e["scrolls"]:
            problems.append(
                f"wider than its box and not scrollable: {e['label']}"
            )
        elif not e["cue"]:
            problems.append(f"scrolls without the scroll cue: {e['label']}")
    if layout["cut"]:
        problems.append(f"cut off at the right edge: {layout['cut'][:3]}")
    displays = [e for e in layout["wide"] if e["kind"] == "math"]
    PHONE_REPORT[docname] = {
        "displays_needing_scroll": len(displays),
        "tables_or_code_needing_scroll": len(layout["wide"]) - len(displays),
    }
    (SHOTS / "phone-width.json").write_text(json.dumps(PHONE_REPORT, indent=1))
    assert not problems, f"{docname} at {PHONE} px:\n  " + "\n  ".join(
        problems
    )


def test_every_toc_page_was_built():
    for docname, _ in PAGES:
        assert (HTML / f"{docname}.html").exists(), (
            f"{docname}.html was not built"
        )
