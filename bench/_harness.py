"""What every ``bench/bench_*.py`` module reports through: environment, interleaved timing, checks.

A module exposes ``main(report)`` and, for each comparison it makes, opens a section::

    with report.section("CAVI, Blei et al. mixture", n=10**6, K=10) as s:
        times = interleaved(ROUNDS, vitutor=lambda: ..., sklearn=lambda: ..., floor=lambda: ...)
        s.timings(times, unit="iteration")           # median and spread of each side
        s.ratio("vitutor / sklearn", times["vitutor"], times["sklearn"], target=0.1)
        s.check("max |m - m_sklearn| after the first M step", 3e-15, limit=1e-12)
        s.note("scikit-learn also fits the variances and the weights")

``interleaved`` runs the sides in rounds (A, B, floor, A, B, floor, ...), so that a change of
load on a shared machine hits all of them alike, and a ratio is formed within each round; the
report gives the median of the per-round ratios and their range.  ``python -m bench`` runs every
module with every BLAS and OpenMP pool limited to one thread (threadpoolctl), prints the text
and writes the same figures to ``_build/bench/bench.json`` (and a timestamped copy), so that a
later run can be compared with this one.  ``check`` raises if a value exceeds its limit: a bench
whose two sides stop agreeing fails instead of printing a ratio between different answers.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment():
    """CPU, cores, load average, thread pools (BLAS, kernel, OpenMP), library versions, commit."""
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    pools = [
        {
            key: pool.get(key)
            for key in (
                "user_api",
                "internal_api",
                "version",
                "architecture",
                "num_threads",
                "filepath",
            )
        }
        for pool in threadpool_info()
    ]
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                cwd=Path(__file__).parent,
                check=False,
            ).stdout.strip()
            or None
        )
    except OSError:
        commit = None
    return {
        "time_utc": datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds"
        ),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "load_average_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "thread_pools": pools,
        "commit": commit,
    }


def timed(fn):
    """Wall-clock seconds of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def per_iteration(run, lo, hi):
    """Seconds per iteration of ``run(n_iter)``: ``(time(run(hi)) - time(run(lo))) / (hi - lo)``.

    Set-up, validation, initialisation and anything a fit does once at the end cancel out.
    """
    return (timed(lambda: run(hi)) - timed(lambda: run(lo))) / (hi - lo)


def repeated(fn):
    """``run(it)``: ``fn()`` called ``it`` times, to be timed by :func:`per_iteration` like a fit
    of ``it`` iterations (a floor timed so runs in the same state, and is differenced the same way,
    as the fit beside it)."""

    def run(it):
        for _ in range(it):
            fn()

    return run


def exp_sum_floor(n, K, block):
    """The E-step floor: one exp and one sum over k per (i, k) for n points, a (K, block) buffer at
    a time.  Returns a callable that does that work once.

    The sum over k is the faster of the two ways numpy offers (measured on a 2-core EPYC:
    ``ones(K) @ out``, a BLAS matrix-vector product, takes 0.55x ``out.sum(axis=0)``), the one
    ``vitutor.gmm`` uses, so the floor is no easier to approach than the best plain code."""
    src = -np.random.default_rng(1).uniform(0.0, 20.0, (K, block))
    out = np.empty_like(src)
    ones = np.ones(K)
    row = np.empty(block)
    full, rest = divmod(n, block)

    def run():
        for _ in range(full):
            np.exp(src, out=out)
            np.matmul(ones, out, out=row)
        np.exp(src[:, :rest], out=out[:, :rest])
        np.matmul(ones, out[:, :rest], out=row[:rest])

    return run


def interleaved(rounds, **sides):
    """Call every side once per round, in the order given; returns ``{name: array of results}``.

    Each side is a callable returning the seconds it measured (e.g. a :func:`per_iteration`).
    """
    out = {name: [] for name in sides}
    for _ in range(rounds):
        for name, fn in sides.items():
            out[name].append(float(fn()))
    return {name: np.asarray(values) for name, values in out.items()}


def _spread(values):
    values = np.asarray(values, dtype=float)
    return {
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
        "rounds": [float(v) for v in values],
    }


class CheckFailed(AssertionError):
    """A bench's two sides disagree where they compute the same thing."""


class Section:
    """One comparison: its parameters, timings, ratios, agreement checks and notes."""

    def __init__(self, title, params):
        self.title = title
        self.params = params
        self.lines = []
        self.record = {
            "title": title,
            "params": params,
            "timings": {},
            "ratios": {},
            "checks": [],
            "figures": {},
            "notes": [],
        }

    def _say(self, text):
        self.lines.append(text)
        print(text, flush=True)

    def timings(self, times, unit="iteration", floor=None):
        """Median [min, max] of each side's per-round seconds; with ``floor`` (a side's name),
        each other side also as a multiple of it, median of per-round ratios."""
        for name, values in times.items():
            entry = _spread(values)
            entry["unit"] = unit
            text = (
                f"  {name:34s} {1e3 * entry['median']:9.2f} ms / {unit}"
                f"  [{1e3 * entry['min']:.2f}, {1e3 * entry['max']:.2f}]"
            )
            if floor is not None and name != floor:
                rel = _spread(np.asarray(values) / np.asarray(times[floor]))
                entry["x_floor"] = rel
                text += f"  = {rel['median']:.2f} x floor [{rel['min']:.2f}, {rel['max']:.2f}]"
            self.record["timings"][name] = entry
            self._say(text)

    def ratio(self, name, numerator, denominator, target=None):
        """Median [min, max] of the per-round ratios ``numerator[r] / denominator[r]``."""
        entry = _spread(np.asarray(numerator) / np.asarray(denominator))
        entry["target"] = target
        goal = f"  (target <= {target:g})" if target is not None else ""
        self.record["ratios"][name] = entry
        self._say(
            f"  ratio {name:28s} {entry['median']:9.3f}  [{entry['min']:.3f}, {entry['max']:.3f}]"
            f" over {len(entry['rounds'])} rounds{goal}"
        )

    def check(self, name, value, limit):
        """Record ``value <= limit`` and raise :class:`CheckFailed` if it does not hold."""
        ok = bool(value <= limit)
        self.record["checks"].append(
            {
                "name": name,
                "value": float(value),
                "limit": float(limit),
                "ok": ok,
            }
        )
        self._say(
            f"  check {name}: {value:.1e} <= {limit:.0e}  {'ok' if ok else 'FAILED'}"
        )
        if not ok:
            raise CheckFailed(
                f"{self.title}: {name} = {value:.3e} exceeds {limit:.0e}"
            )

    def figure(self, name, value, text=None):
        """Record a measured number (peak memory, iterations, ...) and print ``text`` or it."""
        self.record["figures"][name] = value
        self._say(f"  {text if text is not None else f'{name}: {value}'}")

    def note(self, text):
        """What differs between the sides where they do not compute the same thing."""
        self.record["notes"].append(text)
        self._say(f"  note: {text}")


class Report:
    """The environment header and the sections of one ``python -m bench`` run."""

    def __init__(self):
        self.env = environment()
        self.sections = []
        self.errors = []
        self.lines = []

    def header(self):
        env = self.env
        pools = "; ".join(
            f"{p['internal_api']} {p['version'] or ''} {p['architecture'] or ''} ({p['user_api']}) "
            f"{p['num_threads']} thread(s)".replace("  ", " ")
            for p in env["thread_pools"]
        )
        load = ", ".join(f"{v:.2f}" for v in env["load_average_start"])
        text = [
            f"vitutor bench, {env['time_utc']}, commit {env['commit']}",
            f"CPU: {env['cpu']}, {env['logical_cpus']} logical CPUs; "
            f"load average (1, 5, 15 min): {load}",
            f"thread pools while timing: {pools}",
            f"python {env['python']}, numpy {env['numpy']}, scipy {env['scipy']}, "
            f"scikit-learn {env['sklearn']}",
            "every time below: median over interleaved rounds [min, max]; "
            "ratios: median of per-round ratios",
        ]
        for line in text:
            self.lines.append(line)
            print(line, flush=True)

    @contextmanager
    def section(self, title, **params):
        """Open a :class:`Section`; its lines are printed as they come and kept for the files."""
        s = Section(title, params)
        line = f"== {title}: " + ", ".join(
            f"{k} = {v}" for k, v in params.items()
        )
        print(line, flush=True)
        s.lines.insert(0, line)
        start = time.perf_counter()
        try:
            yield s
        finally:
            s.record["seconds"] = time.perf_counter() - start
            self.sections.append(s)
            self.lines.extend(s.lines)

    def error(self, module, text):
        """Record that ``module`` failed (a check that did not hold, or an exception)."""
        self.errors.append({"module": module, "traceback": text})
        line = f"== {module} FAILED:\n{text}"
        self.lines.append(line)
        print(line, flush=True)

    def write(self, directory):
        """Write ``bench.json`` and ``bench.txt`` (and timestamped copies) into ``directory``."""
        self.env["load_average_end"] = list(os.getloadavg())
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = (
            self.env["time_utc"]
            .replace(":", "")
            .replace("-", "")
            .split("+")[0]
        )
        payload = json.dumps(
            {
                "environment": self.env,
                "sections": [s.record for s in self.sections],
                "errors": self.errors,
            },
            indent=1,
        )
        text = (
            "\n".join(self.lines)
            + f"\nload average at the end: {self.env['load_average_end']}\n"
        )
        for name in ("bench", f"bench-{stamp}"):
            (directory / f"{name}.json").write_text(payload)
            (directory / f"{name}.txt").write_text(text)
        return directory / "bench.json"
