"""The rendered book as a reader sees it: every TOC page in headless Chromium, offline.

Run by `make test-browser` after `make book`.  The site in _build/html is served on 127.0.0.1;
every request to any other host is aborted and counted as a failure, so the book must work with
the network off (MathJax included).  For each page the test asserts that

* the browser reports no console errors and no uncaught exceptions;
* MathJax typeset every math element, reported no TeX errors, and no raw TeX is left in the text;
* every display equation fits the text column at a 1200 px wide window (no sideways scrolling);
* no MyST role or directive was left unrendered (e.g. a literal ``{cite}``), and no cell output
  is a bare object repr (``<matplotlib.legend.Legend at 0x...>``);
* every image loaded (``naturalWidth > 0``);
* every internal link points to a page that exists and, if it has a fragment, to an element
  with that id;
* the proof, exercise, solution and citation blocks the page's source uses were rendered;

and saves a full-page screenshot, light and dark, under _build/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import json
import pathlib
import re
import threading
import urllib.parse

import pytest
from playwright import sync_api as playwright_sync

ROOT = pathlib.Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
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


PAGES = toc_pages()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        pytest.fail("_build/html is missing: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
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

    def __init__(self, browser, site, docname, color_scheme="light"):
        self.site = site
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.context = browser.new_context(
            viewport={"width": 1200, "height": 900}, color_scheme=color_scheme
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
        self.url = f"{site}/{docname}.html"
        response = self.page.goto(self.url, wait_until="load")
        assert response is not None and response.status == 200, (
            f"{self.url}: HTTP {response and response.status}"
        )
        self.wait_for_mathjax()

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.site) or url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _failed(self, request):
        if request.url.startswith(self.site):
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
              untypeset: els.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
              errors: [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error') || e.textContent),
            };
        }"""
    )
    if math["untypeset"]:
        problems.append(
            f"{len(math['untypeset'])} of {math['total']} math elements not typeset: {math['untypeset'][:3]}"
        )
    if math["errors"]:
        problems.append(f"MathJax errors: {math['errors'][:3]}")
    wide = page.evaluate(
        """() => [...document.querySelectorAll('article mjx-container[display="true"]')]
                  .filter(e => e.scrollWidth > e.clientWidth + 1)
                  .map(e => `+${e.scrollWidth - e.clientWidth}px: ${e.textContent.slice(0, 60)}`)"""
    )
    if wide:
        problems.append(
            f"{len(wide)} display equation(s) wider than the text column: {wide[:3]}"
        )
    if ("$" in text or "{math}" in text) and math["total"] == 0:
        problems.append(
            "the source has math but the page has no math elements"
        )
    prose = page.evaluate(
        """() => {
            const article = document.querySelector('article').cloneNode(true);
            article.querySelectorAll('pre, code, .cell_output, .highlight, mjx-container, script, style')
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
            problems.append(
                f"{what} in the text: ...{prose[max(0, found.start() - 40) : found.end() + 40]!r}..."
            )

    # Outputs: no bare object reprs such as "<matplotlib.legend.Legend at 0x...>" (a missing ';').
    outputs = page.evaluate(
        "() => [...document.querySelectorAll('article .cell_output')].map(e => e.innerText).join('\\n')"
    )
    leaked = re.findall(r"<[\w.]+ (?:at|object at) 0x[0-9a-f]+>", outputs)
    if leaked:
        problems.append(f"object reprs printed in cell outputs: {leaked[:3]}")

    # Images: every one decoded with a positive natural width.
    images = page.evaluate(
        """async () => {
            const imgs = [...document.querySelectorAll('article img')];
            await Promise.all(imgs.map(i => i.decode().catch(() => null)));
            return imgs.map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}));
        }"""
    )
    broken = [img["src"] for img in images if not img["ok"]]
    if broken:
        problems.append(f"images that did not load: {broken}")
    if text.count("plt.") and not images:
        problems.append(
            "the chapter draws figures but the page shows no image"
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
        problems.append(
            f"requests to other hosts (blocked): {sorted(set(visit.blocked + dark.blocked))[:5]}"
        )
    assert not problems, f"{docname}:\n  " + "\n  ".join(problems)


def test_every_toc_page_was_built():
    for docname, _ in PAGES:
        assert (HTML / f"{docname}.html").exists(), (
            f"{docname}.html was not built"
        )
