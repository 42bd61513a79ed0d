"""Small fixes to the HTML of Jupyter Book 1 that the browser test relies on.

* Navigation on every width: pydata-sphinx-theme 0.17 renders its own
  sidebar toggles in a top navbar that sphinx-book-theme hides, and both
  themes' scripts bind only the first ``.primary-toggle`` /
  ``.secondary-toggle`` of the page (``document.querySelector``), which is
  that hidden one: the visible buttons in the article header then only show
  their tooltip, so on a phone the table of contents cannot be opened and on
  a desktop the sidebar cannot be collapsed (pydata-sphinx-theme issue 2451).
  The navbar is only rendered when one of the ``navbar_*`` slots has an item;
  sphinx-book-theme empties all of them except ``navbar_persistent``, which
  pydata-sphinx-theme fills with a search button when it is not set.  Setting
  it to an empty list removes the navbar (the article header keeps its own
  search button), so the visible toggles are the only ones and both themes'
  handlers bind to them.
* Weight: pydata-sphinx-theme loads FontAwesome twice, as a web font from its
  stylesheet (which draws every icon the pages use) and as a 1.5 MB script
  that would turn icons into inline SVG; the script is dropped
  (templates/layout.html).  The search index and Sphinx's search code are
  loaded on every page for the theme's search-as-you-type, which the book
  leaves off; they stay on the search page only.
* sphinx-thebe registers its configuration script twice, and the second
  copy throws "Identifier 'THEBE_JS_URL' has already been declared": each
  page's scripts are de-duplicated.
* sphinx-book-theme sets ``data-mode=""`` for a first-time visitor (empty
  localStorage), and pydata-sphinx-theme then logs "Got invalid theme mode"
  as a console error: an empty mode is normalised to ``auto`` (follow the
  reader's system setting) before the theme reads it.
* Bibliography: citations read author-year ("Blei et al., 2017"), and so do
  the labels of the bibliography (the ``vitutor`` pybtex style: plain's
  formatting and author-year-title order, author-year labels) instead of
  numbers [1]-[30].
* static/vitutor.css and static/vitutor.js keep wide display equations,
  tables and code inside their own scrolling box at any screen width, and
  fade the right edge of a box that has more to show (the scroll cue the
  browser test checks at 400 px); printed outputs wrap at every width; the
  search page shows its snippets without raw TeX.
"""

import collections
import pathlib

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

HERE = pathlib.Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"

DEFAULT_MODE = (
    "if (!document.documentElement.dataset.mode) "
    "{ document.documentElement.dataset.mode = 'auto'; }"
)


def _plain(latex):
    """A BibTeX name or year as plain text ({\\"a} -> a with umlaut)."""
    return Text.from_latex(latex).render_as("text")


def author_year_label(entry):
    """'Blei et al., 2017', 'Kingma and Welling, 2014', 'Hui, 2019'.

    The same author part as the in-text citations of sphinxcontrib-bibtex's
    author_year reference style; a post without a date has year 'n.d.'.
    """
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [_plain(" ".join(p.prelast_names + p.last_names)) for p in persons]
    if not last:
        names = _plain(entry.fields.get("title", entry.key))
    elif len(last) == 1:
        names = last[0]
    elif len(last) == 2:
        names = f"{last[0]} and {last[1]}"
    else:
        names = f"{last[0]} et al."
    return f"{names}, {_plain(entry.fields.get('year', 'n.d.'))}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Author-year labels; two equal labels get 2013a, 2013b."""

    def format_labels(self, sorted_entries):
        labels = [author_year_label(e) for e in sorted_entries]
        total = collections.Counter(labels)
        seen = collections.Counter()
        for label in labels:
            if total[label] > 1:
                seen[label] += 1
                label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            yield label


class AuthorYearStyle(PlainStyle):
    """pybtex's plain style (author, year, title order), author-year labels."""

    default_label_style = "vitutor_author_year"


register_plugin(
    "pybtex.style.labels", "vitutor_author_year", AuthorYearLabelStyle
)
register_plugin("pybtex.style.formatting", "vitutor", AuthorYearStyle)


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # An inline script is registered once with filename None and once
        # with '' (same body).
        filename = getattr(script, "filename", script) or ""
        attributes = getattr(script, "attributes", {}).items()
        key = (
            str(filename),
            tuple(sorted((k, str(v)) for k, v in attributes)),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # in place: the list is the builder's, and later handlers may append
    scripts[:] = unique


def _configure(app, config):
    # no theme navbar, so no hidden sidebar toggles (see the module docstring)
    config.html_theme_options.setdefault("navbar_persistent", [])
    config.templates_path.insert(0, str(TEMPLATES))


def _add_static(app):
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.add_js_file(None, body=DEFAULT_MODE, priority=100)
    app.add_js_file("vitutor.js")
    app.add_css_file("vitutor.css")
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _add_static)
    # html-page-context stops at the first handler that returns a template
    # name: run first.
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
