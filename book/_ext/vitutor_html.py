"""Small fixes to the HTML of Jupyter Book 1 that the browser test (tests/browser) relies on.

* sphinx-thebe registers its configuration script twice, and the second copy throws
  "Identifier 'THEBE_JS_URL' has already been declared": each page's scripts are de-duplicated.
* sphinx-book-theme sets ``data-mode=""`` for a first-time visitor (empty localStorage), and
  pydata-sphinx-theme then logs "Got invalid theme mode" as a console error: an empty mode is
  normalised to ``auto`` (follow the reader's system setting) before the theme reads it.
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # An inline script is registered once with filename None and once with '' (same body).
        filename = getattr(script, "filename", script) or ""
        key = (
            str(filename),
            tuple(
                sorted(
                    (k, str(v))
                    for k, v in getattr(script, "attributes", {}).items()
                )
            ),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = (
        unique  # in place: the list is the builder's, and later handlers may append to it
    )


def setup(app):
    app.add_js_file(
        None,
        body="if (!document.documentElement.dataset.mode) { document.documentElement.dataset.mode = 'auto'; }",
        priority=100,
    )
    # html-page-context stops at the first handler that returns a template name: run first.
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
