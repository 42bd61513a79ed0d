"""Repository invariants of the book: chapters stored without outputs, and the TOC matches book/."""

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def toc_files():
    """Files named in _toc.yml (without extension), read without a YAML dependency."""
    lines = (ROOT / "_toc.yml").read_text().splitlines()
    entries = [
        line.split(":", 1)[1].strip()
        for line in lines
        if line.strip().startswith(("- file:", "root:"))
    ]
    return entries


def test_there_are_chapters():
    assert NOTEBOOKS, "no chapter notebooks found in book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), (
                f"{path.name}: cell {i} has stored outputs"
            )
            assert cell.get("execution_count") is None, (
                f"{path.name}: cell {i} has an execution count"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_python3_kernel(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_every_toc_entry_exists():
    for entry in toc_files():
        candidates = [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")]
        assert any(c.exists() for c in candidates), (
            f"_toc.yml names {entry}, which does not exist"
        )


def test_every_chapter_is_in_the_toc():
    listed = set(toc_files())
    for path in NOTEBOOKS:
        assert f"book/{path.stem}" in listed, (
            f"{path.name} is not in _toc.yml, so the book would not build it"
        )


def markdown_of(path):
    nb = json.loads(path.read_text())
    return "\n".join(
        "".join(c["source"])
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_ends_with_three_exercises_with_hidden_solutions(path):
    md = markdown_of(path)
    exercises = re.findall(r"```\{exercise\}[^\n]*\n:label: ([\w-]+)", md)
    solutions = dict(
        re.findall(
            r"````?\{solution(?:-start)?\} ([\w-]+)\n(:class: dropdown)?", md
        )
    )
    assert len(exercises) >= 3, (
        f"{path.name} has {len(exercises)} exercises, at least 3 are required"
    )
    for label in exercises:
        assert label in solutions, (
            f"{path.name}: exercise {label} has no solution"
        )
        assert solutions[label], (
            f"{path.name}: the solution of {label} is not behind a toggle (:class: dropdown)"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_has_overview_and_summary(path):
    md = markdown_of(path)
    for heading in ("## Overview", "## Summary", "## Exercises"):
        assert re.search(rf"^{heading}\b", md, re.M), (
            f"{path.name} has no '{heading}' section"
        )


def code_of(path):
    nb = json.loads(path.read_text())
    return "\n".join(
        "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
    )


GLUED_FIGURE = re.compile(r'glue\(\s*"([\w-]+-fig-[\w-]*)"')
FIGURE_DIRECTIVE = re.compile(
    r"```\{glue:figure\} ([\w-]+)\n((?::\w+:[^\n]*\n)*)\n(.*?)\n```", re.S
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_glued_figure_is_numbered_described_captioned_and_referred_to(
    path,
):
    md, code = markdown_of(path), code_of(path)
    figures = {
        name: (dict(re.findall(r":(\w+):[ \t]*(.*)", options)), caption)
        for name, options, caption in FIGURE_DIRECTIVE.findall(md)
    }
    for name in GLUED_FIGURE.findall(code):
        assert name in figures, (
            f"{path.name}: figure {name} is glued but never shown"
        )
        options, caption = figures[name]
        assert options.get("name") == name, (
            f"{path.name}: figure {name} has no :name: (it would be unnumbered)"
        )
        assert len(options.get("alt", "")) >= 40, (
            f"{path.name}: figure {name} needs an :alt: that says what it shows"
        )
        assert caption.strip(), f"{path.name}: figure {name} has no caption"
        assert f"{{numref}}`{name}`" in md, (
            f"{path.name}: figure {name} is never referred to with {{numref}}"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_blog_posts_are_cited_as_blog_posts_not_seeds(path):
    # "seed" means a random seed in this book; the blog posts are {cite}d
    md = markdown_of(path)
    found = re.search(
        r"seed (?:post|blog|text|0\d\d)|seeds? (?:posts|blogs)", md, re.I
    )
    assert not found, (
        f"{path.name}: a blog post called a seed: {found.group(0)!r}"
    )


def cells_of(path):
    return json.loads(path.read_text())["cells"]


def without_code(md):
    """Markdown without its fenced blocks (```, ~~~, directives) and inline code spans."""
    out, fence = [], None
    for line in md.splitlines():
        opening = re.match(r"\s*(`{3,}|~{3,})", line)
        if fence is None and opening:
            fence = opening.group(1)
            out.append("")
        elif fence is not None:
            if (
                line.strip().startswith(fence[0] * len(fence))
                and not line.strip(fence[0]).strip()
            ):
                fence = None
            out.append("")
        else:
            out.append(line)
    # inline code spans, which may run over a line break within a paragraph
    return "\n\n".join(
        re.sub(r"(`+).+?\1", "", paragraph, flags=re.S)
        for paragraph in re.split(r"\n\s*\n", "\n".join(out))
    )


#: $$...$$ or $...$ (not \$), within one paragraph.
MATH_SPAN = re.compile(
    r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\$)((?:[^$\\]|\\.)+?)\$", re.S
)
LIST_ITEM_START = re.compile(r"\s*(?:[-+*]|\d+[.)])(?:\s|$)")


def math_lines_read_as_list_items(md):
    """Lines inside $...$ or $$...$$ (after the first) that Markdown would start a list with."""
    found = []
    for paragraph in re.split(r"\n\s*\n", without_code(md)):
        for span in MATH_SPAN.finditer(paragraph):
            line_start = paragraph.rfind("\n", 0, span.start()) + 1
            if (
                span.group(1)
                and not paragraph[line_start : span.start()].strip()
            ):
                # $$ opening a line starts a display block (MyST's dollarmath block
                # rule): its lines are math, never list items
                continue
            tex = span.group(1) or span.group(2)
            found += [
                line.strip()
                for line in tex.split("\n")[1:]
                if LIST_ITEM_START.match(line)
            ]
    return found


def test_a_math_line_read_as_a_list_item_is_detected():
    # the fault of chapter 4b: the second line of an inline formula began with "+ "
    md = "The ELBO is $\\log p(x)\n+ \\mathrm{KL}(q \\| p)$, and $$a\n- b$$ too."
    assert math_lines_read_as_list_items(md) == [
        "+ \\mathrm{KL}(q \\| p)",
        "- b",
    ]
    # an operator ending a line, code, a {math} block, escaped dollars, and $$ opening a line
    # (a display block, whose lines are not Markdown) are all fine
    fine = (
        "$a +\nb$ and `$x\n- y$` and\n```{math}\na\n- b\n```\ncosts \\$5 - \\$3\n"
        "so\n$$\na\n- b\n$$"
    )
    assert math_lines_read_as_list_items(fine) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_line_of_a_formula_starts_like_a_list_item(path):
    # Markdown reads a line inside $...$ that starts with "+ ", "- " or "* " as a list item:
    # the formula breaks into raw TeX and a bullet.  Keep the operator at the end of the
    # previous line, or use a {math} block.
    found = math_lines_read_as_list_items(markdown_of(path))
    assert not found, (
        f"{path.name}: lines inside $...$ that Markdown reads as list items: {found[:5]}"
    )


#: A code cell that draws: it makes a figure, plots on axes or glues a figure.
DRAWS = re.compile(
    r"\bplt\.(?:subplots|figure|subplot)\(|\.(?:plot|scatter|hist|imshow|fill_between|"
    r"bar|barh|contour|contourf|errorbar|semilogy|loglog|axvline|axhline)\("
    r"|\bglue\(\s*[\"'][^\"']*[\"']\s*,\s*fig"
)
CHECKS = re.compile(
    r"^\s*assert\b|\bassert_allclose\(|\bassert_array\w*\(", re.M
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_plotting_cells_are_folded_and_hold_no_checks(path):
    # The figure is one click away; every check and computation stays in a visible cell.
    for i, cell in enumerate(cells_of(path)):
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or not DRAWS.search(source):
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        assert "hide-input" in tags, (
            f"{path.name}: code cell {i} draws a figure but is not tagged hide-input"
        )
        check = CHECKS.search(source)
        assert not check, (
            f"{path.name}: code cell {i} draws a figure and checks something "
            f"({check.group(0).strip()!r}): move the check to a visible cell before it"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_sets_the_figure_style(path):
    code = [c for c in cells_of(path) if c["cell_type"] == "code"]
    first = "".join(code[0]["source"]) if code else ""
    assert "show.figure_style()" in first, (
        f"{path.name}: the first code cell does not call show.figure_style() "
        "(from vitutor import show)"
    )


def bibliography_entries():
    from pybtex.database import parse_file

    return parse_file(str(ROOT / "book" / "references.bib")).entries


def test_blog_posts_name_their_author_title_and_address():
    for key, entry in bibliography_entries().items():
        if entry.type.lower() not in ("misc", "online"):
            continue
        authors = [str(p) for p in entry.persons.get("author", [])]
        assert authors, f"{key}: no author (or site) named"
        assert not any("anonymous" in a.lower() for a in authors), (
            f"{key}: 'Anonymous' is not an author; name the site instead"
        )
        assert entry.fields.get("title"), f"{key}: no title"
        published = entry.fields.get("howpublished", "")
        assert "url" in entry.fields or "no web address" in published, (
            f"{key}: no url (or a note that the copy used gives no web address)"
        )
        year = entry.fields.get("year", "")
        assert year not in published + entry.fields.get("note", ""), (
            f"{key}: the year {year} is also in howpublished/note, so the "
            "bibliography prints it twice"
        )


def test_bibliography_labels_read_author_year_like_the_citations():
    import sys

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        from vitutor_html import AuthorYearStyle
    finally:
        sys.path.pop(0)
    config = (ROOT / "_config.yml").read_text()
    assert re.search(
        r"^\s*bibtex_reference_style: author_year\b", config, re.M
    )
    assert re.search(r"^\s*bibtex_default_style: vitutor\b", config, re.M)
    style = AuthorYearStyle()
    entries = style.sort(bibliography_entries().values())
    labels = list(style.format_labels(entries))
    for label in labels:
        assert re.fullmatch(r"\D+, (\d{4}|n\.d\.)[a-z]?", label), label
    assert len(set(labels)) == len(labels)
    by_key = {e.key: label for e, label in zip(entries, labels, strict=True)}
    assert by_key["blei2017variational"] == "Blei et al., 2017"
    assert by_key["kingma2014auto"] == "Kingma and Welling, 2014"
    assert by_key["hardle1991smoothing"] == "Härdle, 1991"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_symlog_axis_states_where_it_turns_logarithmic(path):
    # matplotlib's symlog axis is linear on [-linthresh, linthresh], with linthresh = 2 by
    # default: a figure that uses it sets linthresh in the code, where its caption can be checked
    # against it (chapter 6's caption once said "logarithmic beyond one pass" of a default axis)
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "symlog" in source:
            assert "linthresh" in source, (
                f"{path.name}, cell {cell['id']}: symlog without linthresh"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_equation_reference_in_parentheses(path):
    # {eq} renders the number in parentheses already: "({eq}`x`)" reads "((12))" on the page
    found = re.findall(r"\(\s*\{eq\}`[^`]+`", markdown_of(path))
    assert not found, (
        f"{path.name}: equation references in parentheses: {found[:5]}"
    )


def test_a_reference_to_a_heading_with_math_gives_its_own_text():
    # {ref}`label` prints the heading's title as plain text: its $...$ reaches the reader as
    # raw TeX ("How fast \hat k finds k"); such a reference needs {ref}`words <label>`
    titles, refs = {}, []
    for path in NOTEBOOKS:
        md = markdown_of(path)
        titles.update(re.findall(r"^\(([\w-]+)\)=\n#+ (.*)$", md, re.M))
        refs += [
            (path.name, label)
            for label in re.findall(r"\{ref\}`([\w-]+)`", md)
        ]
    bad = [
        (name, label) for name, label in refs if "$" in titles.get(label, "")
    ]
    assert not bad, f"references printing a title with math: {bad[:5]}"
