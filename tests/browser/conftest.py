"""Prints, after the browser run, how many displays need sideways scrolling at phone width.

The counts are the ones test_page_fits_a_phone_screen writes to
_build/screenshots/phone-width.json as it runs.
"""

import json
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
REPORT = (
    pathlib.Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).parent
    / "screenshots"
    / "phone-width.json"
)


def pytest_sessionstart(session):
    REPORT.unlink(
        missing_ok=True
    )  # counts of an earlier run are not this run's


def pytest_terminal_summary(terminalreporter):
    if not REPORT.exists():
        return
    counts = json.loads(REPORT.read_text())
    write = terminalreporter.write_line
    write("At 400 px, display equations (and tables or code) that scroll:")
    for page, c in counts.items():
        write(
            f"  {page:32s} {c['displays_needing_scroll']:3d} displays, "
            f"{c['tables_or_code_needing_scroll']:3d} tables or code blocks"
        )
    total = sum(c["displays_needing_scroll"] for c in counts.values())
    write(
        f"  total: {total} displays needing scroll, each with the scroll cue"
    )
