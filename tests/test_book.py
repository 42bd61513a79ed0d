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
