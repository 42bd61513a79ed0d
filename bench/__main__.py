"""Run every benchmark: ``python -m bench`` (what ``make bench`` calls) from the repository root.

Each module ``bench/bench_*.py`` exposes ``main()``, which measures and prints its own ratios.
Modules run in name order, one after the other, so their timings do not compete.
"""

import importlib
import pathlib
import sys
import time


def main():
    here = pathlib.Path(__file__).resolve().parent
    root = str(here.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    modules = sorted(p.stem for p in here.glob("bench_*.py"))
    if not modules:
        print("no bench/bench_*.py modules found")
        return
    for name in modules:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        importlib.import_module(f"bench.{name}").main()
        print(f"== {name} done in {time.perf_counter() - start:.1f} s\n", flush=True)


if __name__ == "__main__":
    main()
