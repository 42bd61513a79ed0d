"""vitutor.show: the figure style that keeps text legible on a phone, and Markdown tables."""

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from IPython.core.formatters import format_display_data  # noqa: E402

from vitutor import show  # noqa: E402

#: A 400 px phone column is about 352 px wide (the browser test measures the real figures).
PHONE_COLUMN_PX = 352


def svg_of(fig):
    data, _ = format_display_data(fig)
    return data["image/svg+xml"]


def test_figure_style_makes_transparent_svg_with_legible_text():
    show.figure_style()
    fig, axes = plt.subplots(2, 1)
    for ax in axes:
        ax.plot([0, 1], [0, 1], label=r"$\hat k$ against draws")
        ax.set(xlabel="draws $S$", ylabel="nats", title="a title")
        ax.legend()
    svg = svg_of(fig)
    plt.close(fig)
    width_pt = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    # matplotlib draws each text as glyph paths scaled by font size / 100
    sizes = [100 * float(s) for s in re.findall(r"scale\(([\d.]+) -\1\)", svg)]
    assert sizes and min(sizes) >= show.MIN_FONT_PT - 1e-9
    assert width_pt <= 72 * show.MAX_WIDTH + 1e-6
    assert min(sizes) * PHONE_COLUMN_PX / width_pt >= 8.0
    # no opaque rectangle behind the figure: the page shows through
    figure_patch = re.search(
        r'<g id="patch_1">\s*<path [^>]*style="([^"]*)"', svg
    )
    assert figure_patch and "fill: none" in figure_patch.group(1)


def test_table_is_one_markdown_table():
    t = show.table(
        ["model", r"$\hat k$"],
        [["Normal-Gamma", "0.21"], ["a|b", "1.30"]],
        caption="Pareto k against the truth.",
    )
    md = t._repr_markdown_().splitlines()
    assert md[0] == "Pareto k against the truth."
    assert md[2] == r"| model | $\hat k$ |"
    assert md[3] == "|---|--:|"
    assert md[5] == r"| a\|b | 1.30 |"
    text = str(t).splitlines()
    assert text[1].startswith("model") and text[2].endswith("0.21")


def test_table_refuses_unformatted_numbers_and_ragged_rows():
    with pytest.raises(TypeError, match="rows must hold formatted strings"):
        show.table(["a", "b"], [["x", 1.5]])
    with pytest.raises(ValueError, match=r"rows\[1\] has 1 cells"):
        show.table(["a", "b"], [["x", "1"], ["y"]])
    with pytest.raises(TypeError, match="header"):
        show.table("ab", [])
    with pytest.raises(TypeError, match="rows"):
        show.table(["a"], "x")
