"""How the chapters show their results: figures a phone can read, tables as tables.

Imported on request (``from vitutor import show``), because it needs matplotlib and IPython,
which the numerical modules do not.  Nothing here computes anything a chapter checks.

* :func:`figure_style` sets matplotlib up once per chapter: figures are SVG (text stays sharp
  at any width), at most :data:`MAX_WIDTH` inches wide with text of at least
  :data:`MIN_FONT_PT` points, so that shrunk to a 400 px phone column (about 350 px) every label
  is still at least 8 px high; backgrounds are transparent, and the book's stylesheet inverts the
  lightness of figures in dark mode (black lines and text turn light, hues stay), so a figure
  sits on a light and a dark page alike.
* :func:`table` turns rows the chapter has already formatted into a Markdown table: one output,
  one table, rendered by the book like every other table (it scrolls inside its own box on a
  phone), with math allowed in its cells.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

#: Widest figure, in inches: 360 pt, drawn at 480 CSS px on a desktop and shrunk to about 350 px
#: in a 400 px phone column (a factor of about 0.73).
MAX_WIDTH = 5.0
#: Smallest text in a figure, in points: 9 pt at the phone's 0.73 is 8.8 px.
MIN_FONT_PT = 9.0

_RC = {
    "figure.figsize": (MAX_WIDTH, 3.4),
    "figure.dpi": 100,
    "figure.facecolor": "none",
    "axes.facecolor": "none",
    "savefig.facecolor": "none",
    "savefig.transparent": True,
    "savefig.bbox": "tight",
    "font.size": 10.0,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10.0,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": MIN_FONT_PT,
    "figure.titlesize": 11.0,
    "legend.framealpha": 0.0,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "mathtext.fontset": "dejavusans",
    # glyphs as paths: the figure looks the same without the fonts on the reader's machine
    "svg.fonttype": "path",
    # the same SVG bytes on every build (ids are hashed from this salt, not from the clock)
    "svg.hashsalt": "vitutor",
}


def figure_style():
    """Set matplotlib's defaults and the notebook's figure format for a chapter.

    Call once, after importing matplotlib, in a chapter's first code cell.  Figures made
    afterwards (and glued with ``myst_nb.glue``) are SVG with a transparent background, text
    of at least :data:`MIN_FONT_PT` points and a default size of :data:`MAX_WIDTH` by 3.4
    inches.  A figure that needs more panels stacks them (taller, not wider).
    """
    import matplotlib as mpl

    mpl.rcParams.update(_RC)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except (
        ImportError
    ):  # pragma: no cover - matplotlib-inline ships with ipykernel
        return
    set_matplotlib_formats("svg", metadata={"Date": None})


class Table:
    """A table of already formatted cells, shown as Markdown in a notebook or the book.

    Build it with :func:`table`.  ``_repr_markdown_`` is what Jupyter and the book render;
    ``str()`` is an aligned plain-text version for a terminal.
    """

    def __init__(self, header, rows, caption=None):
        self.header = [_cell(h, "header") for h in header]
        self.rows = [[_cell(v, "rows") for v in row] for row in rows]
        self.caption = caption
        for i, row in enumerate(self.rows):
            if len(row) != len(self.header):
                raise ValueError(
                    f"rows[{i}] has {len(row)} cells, the header has {len(self.header)}"
                )

    def _repr_markdown_(self):
        def line(cells):
            return (
                "| " + " | ".join(c.replace("|", r"\|") for c in cells) + " |"
            )

        align = ["---" if i == 0 else "--:" for i in range(len(self.header))]
        lines = [line(self.header), "|" + "|".join(align) + "|"]
        lines += [line(r) for r in self.rows]
        if self.caption:
            lines = [self.caption, ""] + lines
        return "\n".join(lines)

    def __str__(self):
        cells = [self.header] + self.rows
        widths = [
            max(len(r[j]) for r in cells) for j in range(len(self.header))
        ]
        out = [
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in cells
        ]
        return "\n".join(([self.caption] if self.caption else []) + out)

    def __repr__(self):
        return str(self)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def _cell(value, what):
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Number):
        raise TypeError(
            f"{what} must hold formatted strings (the chapter chooses the digits), "
            f"got the number {value!r}"
        )
    raise TypeError(f"{what} must hold strings, got {type(value).__name__}")


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], caption=None
) -> Table:
    """A Markdown table for a chapter's output: one table, one output.

    Parameters
    ----------
    header : sequence of str
        Column headings; may contain inline math (``"$\\hat k$"``).
    rows : sequence of sequences of str
        Cells, already formatted by the chapter (``f"{x:.4f}"``): the chapter decides how many
        digits mean something.  The first column is left-aligned, the others right-aligned.
    caption : str, optional
        A sentence shown above the table.

    Returns
    -------
    Table
        Displayed as a table when it is the value of a cell or passed to ``display``.
    """
    if (
        isinstance(header, str)
        or not isinstance(header, Sequence)
        or not header
    ):
        raise TypeError("header must be a non-empty sequence of strings")
    if isinstance(rows, str) or not isinstance(rows, Sequence):
        raise TypeError("rows must be a sequence of rows")
    return Table(header, rows, caption)
