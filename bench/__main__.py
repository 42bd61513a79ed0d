"""Run every benchmark: ``python -m bench`` (what ``make bench`` calls) from the repository root.

Each module ``bench/bench_*.py`` exposes ``main(report)`` and reports through the sections of a
:class:`bench._harness.Report` (see that module).  Modules run in name order, one after the other,
all with every BLAS and OpenMP thread pool limited to one thread, so that neither side of a
comparison gains or loses from threads competing on a shared machine.  The text goes to stdout
and, with the same figures as JSON, to ``_build/bench/`` (``bench.json``, ``bench.txt`` and
timestamped copies of both).  A module that fails (a check that does not hold, or an error) is
recorded in both, the others still run, and the exit status is non-zero.  ``python -m bench gmm``
runs only the modules whose name contains ``gmm``.
"""

import importlib
import pathlib
import sys
import traceback

from threadpoolctl import threadpool_limits


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    here = pathlib.Path(__file__).resolve().parent
    root = here.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from bench._harness import Report

    modules = sorted(
        p.stem
        for p in here.glob("bench_*.py")
        if not argv or any(a in p.stem for a in argv)
    )
    if not modules:
        print("no bench/bench_*.py modules found")
        return
    loaded = [
        importlib.import_module(f"bench.{name}") for name in modules
    ]  # load BLAS, OpenMP first
    failed = []
    with threadpool_limits(1):
        report = Report()
        report.header()
        for name, module in zip(modules, loaded, strict=True):
            try:
                module.main(report)
            except Exception:  # a failed check or a crash: record it, run the others, exit non-zero
                failed.append(name)
                report.error(name, traceback.format_exc())
    path = report.write(root / "_build" / "bench")
    print(f"figures written to {path} (and {path.with_suffix('.txt').name})")
    if failed:
        sys.exit(f"bench failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
