"""Keeps what nbval ran, so the book build need not run a chapter again.

`make notebooks` runs ``pytest --nbval-lax book/*.ipynb --nb-cache=DIR``.
nbval executes each chapter's code cells in order in one kernel and fails on
the first error or failed assert.  When every code cell of a chapter has
passed, this plugin writes the chapter, with the outputs nbval received from
the kernel, into the jupyter-cache that the book build reads
(``execute_notebooks: cache`` in _config.yml).  The book build then renders
those outputs instead of executing the chapter a second time.

The cache matches a chapter by the hash of its code cells, which says nothing
about the package the code calls; the Makefile therefore empties the cache
whenever ``vitutor/``, ``requirements.lock`` or this file change
(``_build/.jupyter_cache/KEY``), so stale outputs are never rendered.  A
chapter that fails, or is only partly run (``-k``, ``-x``), is not cached.
"""

from __future__ import annotations

import copy
import pathlib
import time

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--nb-cache",
        default=None,
        help="jupyter-cache directory for the notebooks nbval ran in full",
    )


class _Run:
    """Outputs of one notebook's cells, as nbval received them."""

    def __init__(self, nb):
        self.nb = nb
        self.outputs: dict[int, list] = {}
        self.failed = False
        self.start = time.perf_counter()


_RUNS: dict[str, _Run] = {}


def _is_nbval_cell(item):
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell_num")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not item.config.getoption("--nb-cache") or not _is_nbval_cell(item):
        return
    report = outcome.get_result()
    run = _RUNS.setdefault(str(item.parent.path), _Run(item.parent.nb))
    if report.failed or report.skipped:
        run.failed = True
    elif call.when == "call":
        run.outputs[item.cell_num] = copy.deepcopy(item.test_outputs or [])


def pytest_runtest_teardown(item, nextitem):
    cache_path = item.config.getoption("--nb-cache")
    if not cache_path or not _is_nbval_cell(item):
        return
    if nextitem is not None and nextitem.parent is item.parent:
        return
    run = _RUNS.pop(str(item.parent.path), None)
    if run is not None:
        _store(run, item.parent.path, pathlib.Path(cache_path))


def _store(run, path, cache_path):
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb = copy.deepcopy(run.nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if run.failed or sorted(run.outputs) != list(range(len(code))):
        return
    for count, cell in enumerate(code, start=1):
        cell.execution_count = count
        cell.outputs = run.outputs[count - 1]
        for out in cell.outputs:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = count
    seconds = time.perf_counter() - run.start
    get_cache(str(cache_path)).cache_notebook_bundle(
        CacheBundleIn(nb, str(path), data={"execution_seconds": seconds}),
        check_validity=True,
        overwrite=True,
    )
