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
