"""Error-distribution plots for the HTML report: matplotlib PNGs, embedded as data URIs.

One plot per operator: for each backend column, how the examples' largest error/bound ratios
spread (the quarter-decade histogram of the report), against the bound at ratio 1. A backend
that rounds more than another, or sits close to its bound, shows up as a shifted curve long
before it disagrees.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any, Mapping, Sequence

# Colours by column, the same in every plot of a page (matplotlib's tab10).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")


def error_distribution_png(series: Sequence[tuple[str, int, Mapping[str, Any]]]) -> str | None:
    """A ``data:image/png;base64,...`` URI for ``(label, column index, histogram)`` series, or None
    when no series has a judged example."""
    series = [(label, column, h) for label, column, h in series if h["bins"] or h["zeros"]]
    if not series:
        return None
    from matplotlib.figure import Figure  # a Figure of its own: no pyplot state, no display needed

    width = 1 / series[0][2]["bins_per_decade"]
    lowers = [lower for _, _, h in series for lower, _ in h["bins"]]
    low, high = (min(lowers), max(lowers) + width) if lowers else (-1.0, 0.0)
    low, high = min(low, -1.0), max(high, 0.5)  # always show the bound, at log10(ratio) = 0
    figure = Figure(figsize=(6.4, 2.3), dpi=96)
    axes = figure.add_subplot()
    exact = []
    for label, column, h in series:
        colour = PALETTE[column % len(PALETTE)]
        edges = [low + i * width for i in range(round((high - low) / width) + 1)]
        counts = [0] * (len(edges) - 1)
        for lower, count in h["bins"]:
            counts[round((lower - low) / width)] += count
        axes.stairs(counts, edges, label=label, color=colour, linewidth=1.6)
        if h["zeros"]:
            exact.append(f"{label}: {h['zeros']} exact")
    axes.axvline(0.0, color="#cf222e", linestyle="--", linewidth=1)
    axes.text(0.02, 0.97, "bound", color="#cf222e", transform=axes.get_xaxis_transform(), va="top", fontsize=8)
    ticks = range(math.ceil(low), math.floor(high) + 1)
    axes.set_xticks(list(ticks), [f"$10^{{{t}}}$" for t in ticks], fontsize=8)
    axes.set_xlim(low, high)
    axes.set_xlabel("largest error / bound, per example", fontsize=8)
    axes.set_ylabel("examples", fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if exact:
        axes.set_title("; ".join(exact) + " (ratio 0, not drawn)", fontsize=7, loc="left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
