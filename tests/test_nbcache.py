"""book/conftest.py: a chapter nbval ran in full is cached with its outputs; a failing one is not.

The book build renders the cached outputs (execute_notebooks: cache) instead of executing the
chapter again, so what it shows must be exactly what nbval checked.
"""

import json
import pathlib
import shutil

import jupyter_cache.cache.db  # noqa: F401
import nbformat
import pytest
from jupyter_cache import get_cache

ROOT = pathlib.Path(__file__).resolve().parents[1]

# pytester restores sys.modules after each test; SQLAlchemy's compiled modules, imported by
# jupyter_cache.cache.db, cannot be imported a second time, so they are imported here, before it.
pytest_plugins = ["pytester"]


def notebook(*sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter")] + [
        nbformat.v4.new_code_cell(s) for s in sources
    ]
    return nb


def run(pytester, nb, cache):
    shutil.copy(ROOT / "book" / "conftest.py", pytester.path / "conftest.py")
    path = pytester.path / "chapter.ipynb"
    nbformat.write(nb, path)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--nbval-lax",
        "--nbval-current-env",
        f"--nb-cache={cache}",
        str(path),
    )
    return result, path


def test_a_chapter_that_passes_is_cached_with_the_outputs_nbval_saw(
    pytester, tmp_path
):
    cache = tmp_path / "cache"
    nb = notebook(
        "x = 6 * 7\nprint(f'x = {x}')",
        "assert x == 42\nx + 1",
        "from IPython.display import Markdown\nMarkdown('| a |\\n|---|\\n| 1 |')",
    )
    result, path = run(pytester, nb, cache)
    result.assert_outcomes(passed=3)
    record = get_cache(str(cache)).match_cache_notebook(nb)
    cached = get_cache(str(cache)).get_cache_bundle(record.pk).nb
    code = [c for c in cached.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3]
    assert code[0].outputs[0]["text"] == "x = 42\n"
    assert code[1].outputs[0]["data"]["text/plain"] == "43"
    assert code[1].outputs[0]["execution_count"] == 2
    assert "text/markdown" in code[2].outputs[0]["data"]
    # what the book build does: match the source notebook (no outputs) in the cache
    source = nbformat.read(path, as_version=4)
    _, merged = get_cache(str(cache)).merge_match_into_notebook(source)
    assert json.dumps(merged.cells[1].outputs) == json.dumps(code[0].outputs)


def test_a_chapter_with_a_failing_cell_is_not_cached(pytester, tmp_path):
    cache = tmp_path / "cache"
    nb = notebook("x = 1", "assert x == 2", "y = 2")
    result, _ = run(pytester, nb, cache)
    result.assert_outcomes(passed=2, failed=1)
    with pytest.raises(KeyError):
        get_cache(str(cache)).match_cache_notebook(nb)


def test_a_partly_run_chapter_is_not_cached(pytester, tmp_path):
    cache = tmp_path / "cache"
    nb = notebook("x = 1", "y = 2")
    shutil.copy(ROOT / "book" / "conftest.py", pytester.path / "conftest.py")
    path = pytester.path / "chapter.ipynb"
    nbformat.write(nb, path)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--nbval-lax",
        "--nbval-current-env",
        f"--nb-cache={cache}",
        f"{path}::Cell 0",
    )
    result.assert_outcomes(passed=1)
    with pytest.raises(KeyError):
        get_cache(str(cache)).match_cache_notebook(nb)
