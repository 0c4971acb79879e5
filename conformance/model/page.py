"""``model.html``: a model check on one self-contained page (inline CSS, the plot as a data URI).

The page shows each backend's verdict and first divergence (with the command that replays it),
a plot of every node's isolated error ratio and end-to-end deviation in graph order, the nodes
table and the environment. It is computed from the check's JSON (``summary.check_json``) alone.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Mapping

from conformance.report.plots import PALETTE

STATUSES = ("agree", "known_divergence", "unsupported", "unreferenced", "disagree", "error")


def model_page(document: Mapping[str, Any]) -> str:
    """The page as a string (Jinja2 template ``templates/model.html.j2``, autoescaped)."""
    import jinja2

    environment = jinja2.Environment(loader=jinja2.PackageLoader("conformance.model", "templates"),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template("model.html.j2").render(page=page_view(document))


def page_view(document: Mapping[str, Any]) -> dict[str, Any]:
    results = document["results"]
    backends = []
    for r in results:
        first = r["first_divergence"]
        deviations = [v for v in r["end_to_end"].values() if v is not None]
        backends.append({
            "label": f"{r['backend']} {r['backend_version']}",
            "status": r["status"], "status_label": r["status"].replace("_", " "),
            "counts": ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(r["counts"].items())),
            "end_to_end": f"off by {max(deviations):.2e}" if deviations else (r["end_to_end_message"] or "not run"),
            "first": None if first is None else {
                **first, "ratio": f"{first['max_error_ratio']:.3g}x" if first["max_error_ratio"] is not None else ""},
        })
    firsts = {r["first_divergence"]["index"] for r in results if r["first_divergence"]}
    rows = []
    for position, node in enumerate(results[0]["nodes"] if results else []):
        cells = [r["nodes"][position] for r in results]
        rows.append({"index": node["index"], "node": node["node"], "op": node["op"], "first": node["index"] in firsts,
                     "cells": [{"status": c["status"], "ratio": _number(c["max_error_ratio"]),
                                "end_to_end": _number(c["end_to_end_error"])} for c in cells]})
    environment = document["environment"]
    return {
        "title": f"Model check: {document['model']}",
        "subtitle": f"{document['nodes']} nodes, on {', '.join(b['label'] for b in backends)}",
        "statuses": STATUSES,
        "backends": backends,
        "unreferenced": document["unreferenced"],
        "data_set": ", ".join(f"{who} {v:.2e}" if v is not None else f"{who} not compared"
                              for who, v in document.get("data_set", {}).items()),
        "plot": _plot(results),
        "rows": rows,
        "environment": [f"{key}: {environment[key]}" for key in ("nn_conformance", "python", "numpy", "onnx",
                                                                 "onnxruntime", "tensorflow", "platform")
                        if environment.get(key)],
    }


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def _plot(results) -> str | None:
    """A PNG data URI: per backend, each node's isolated error ratio (points) and end-to-end
    deviation (line), on log scales, in graph order."""
    if not results or not results[0]["nodes"]:
        return None
    from matplotlib.figure import Figure  # a Figure of its own: no pyplot state, no display needed

    figure = Figure(figsize=(8.0, 4.2), dpi=96)
    isolated, end_to_end = figure.subplots(2, 1, sharex=True)
    floor = 1e-12  # zeros drawn at the floor of the log scale
    for column, r in enumerate(results):
        colour = PALETTE[column % len(PALETTE)]
        label = f"{r['backend']} {r['backend_version']}"
        points = [(n["index"], max(n["max_error_ratio"], floor)) for n in r["nodes"] if n["max_error_ratio"] is not None]
        if points:
            isolated.scatter(*zip(*points), s=9, color=colour, label=label)
        line = [(n["index"], max(n["end_to_end_error"], floor)) for n in r["nodes"] if n["end_to_end_error"] is not None]
        if line:
            end_to_end.plot(*zip(*line), color=colour, linewidth=1.2, label=label)
    isolated.axhline(1.0, color="#cf222e", linestyle="--", linewidth=1)
    isolated.text(0.005, 1.0, "bound", color="#cf222e", transform=isolated.get_yaxis_transform(), va="bottom", fontsize=8)
    for axes, title in ((isolated, "isolated: error / bound\n(0 drawn at 1e-12)"),
                        (end_to_end, "end to end: relative deviation")):
        axes.set_yscale("log")
        axes.set_ylabel(title, fontsize=8)
        axes.tick_params(labelsize=8)
        axes.spines[["top", "right"]].set_visible(False)
    end_to_end.set_xlabel("node, in graph order", fontsize=8)
    isolated.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
