"""After the browser run, the per-page counts: what scrolls or is cut at phone width, figures
with small text, and page weight.

Each test writes its counts for its page to _build/screenshots/report/<page>.<test>.json (one
file per page and test, so that parallel workers never write the same file); here they are
merged into _build/screenshots/report.json and printed.
"""

import json
import os
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHOTS = (
    pathlib.Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).parent
    / "screenshots"
)
REPORT_DIR = SHOTS / "report"
REPORT = SHOTS / "report.json"


def _is_worker(config):
    return hasattr(config, "workerinput")  # a pytest-xdist worker


def pytest_sessionstart(session):
    # counts of an earlier run are not this run's (only the controller clears them, before
    # any worker starts)
    if not _is_worker(session.config):
        shutil.rmtree(REPORT_DIR, ignore_errors=True)
        REPORT.unlink(missing_ok=True)


def merged_report():
    report = {}
    for path in sorted(REPORT_DIR.glob("*.json")):
        for page, parts in json.loads(path.read_text()).items():
            report.setdefault(page, {}).update(parts)
    return report


def pytest_terminal_summary(terminalreporter, config):
    if _is_worker(config) or not REPORT_DIR.exists():
        return
    report = merged_report()
    if not report:
        return
    REPORT.write_text(json.dumps(report, indent=1))
    write = terminalreporter.write_line
    write(
        "Per page at 400 px: display and inline formulas that scroll (in their own box, with "
        "the cue) or are cut off; figures whose smallest text is below 8 px; page weight at "
        "1280 px (MB, every response):"
    )
    write(
        f"  {'page':26s} {'displays':>9s} {'inline':>7s} {'other':>6s} "
        f"{'figures':>8s} {'<8px':>5s} {'min px':>7s} {'weight':>7s} {'script':>7s}"
    )
    write(
        f"  {'':26s} {'scr/cut':>9s} {'scr/cut':>7s} {'cut':>6s} "
        f"{'(svg)':>8s} {'':>5s} {'':>7s} {'MB':>7s} {'MB':>7s}"
    )
    totals = dict.fromkeys(["ds", "dc", "is", "ic", "oc", "small"], 0)
    for page, parts in report.items():
        phone, desk = parts.get("phone", {}), parts.get("desktop", {})
        weight = desk.get("weight", {})

        def n(key, d=phone):
            return d.get(key, 0) or 0

        totals["ds"] += n("displays_scroll")
        totals["dc"] += n("displays_cut")
        totals["is"] += n("inline_scroll")
        totals["ic"] += n("inline_cut")
        totals["oc"] += n("other_cut")
        totals["small"] += n("figures_below_8px")
        figures = phone.get("figures", desk.get("figures", 0))
        svg = figures - phone.get(
            "figures_not_svg", desk.get("figures_not_svg", 0)
        )
        smallest = phone.get("smallest_figure_text_px")
        write(
            f"  {page:26s} {n('displays_scroll'):4d}/{n('displays_cut'):<4d}"
            f" {n('inline_scroll'):3d}/{n('inline_cut'):<3d} {n('other_cut'):6d}"
            f" {figures:3d} ({svg:2d})"
            f" {n('figures_below_8px'):5d}"
            f" {smallest if smallest is not None else '-':>7}"
            f" {weight.get('page', weight.get('total', 0)) / 1e6:7.2f}"
            f" {weight.get('script', 0) / 1e6:7.2f}"
        )
    write(
        f"  total: {totals['ds']} displays scroll, {totals['dc']} cut; inline formulas "
        f"{totals['is']} in a scrolling box, {totals['ic']} cut; {totals['oc']} other elements "
        f"cut; {totals['small']} figures with text below 8 px (report: {REPORT})"
    )
