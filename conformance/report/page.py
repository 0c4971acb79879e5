"""``parity.html``: one self-contained static page (inline CSS, JavaScript and images; no network).

The page holds the operator x backend matrix with status colours, example counts, the largest
error ratio and the diagnosis; a section per operator with each backend's minimal
counterexample, the command that replays it, the known divergences probed, an error-distribution
plot and the attribute corners the drawn cases reached; and the environment. Checkboxes filter
operators by status, in the page itself; the filter is also read from and written to the URL
fragment (``parity.html#status=disagree,error``), so a filtered view can be linked.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from conformance.environment import facts_text
from conformance.errors import ConformanceError
from conformance.report.build import STATUSES, columns, operators, status_counts
from conformance.report.markdown import environment_lines, judged_count
from conformance.report.plots import PALETTE, error_distribution_png
from conformance.summary import ratio_text

TEMPLATE = "parity.html.j2"
STATUS_LABELS = {
    "agree": "agree", "known_divergence": "known divergence", "unsupported": "unsupported", "inconclusive": "inconclusive",
    "disagree": "disagree", "error": "error", "timeout": "timeout",
}
ENVIRONMENT_LABELS = {
    "nn_conformance": "nn-conformance", "python": "Python", "numpy": "NumPy", "onnx": "onnx",
    "onnxruntime": "onnxruntime", "tensorflow": "TensorFlow", "platform": "platform", "machine": "machine",
    "cpu": "CPU", "opset": "ONNX opset", "seed": "seed", "profile": "profile", "max_examples": "examples per cell",
    "timeout": "timeout per cell (s)", "unavailable_backends": "unavailable backends",
}


def html_page(report: Mapping[str, Any]) -> str:
    """The page as a string (Jinja2 template ``templates/parity.html.j2``, autoescaped)."""
    import jinja2

    environment = jinja2.Environment(loader=jinja2.PackageLoader("conformance.report", "templates"),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template(TEMPLATE).render(page=page_view(report))


def page_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the template shows, computed from the report's JSON alone."""
    rows = report["results"]
    cols = columns(report)
    cells = {(r["op"], r["backend"], r["backend_version"]): r for r in rows}
    counts = status_counts(report)
    matrix, details = [], []
    for op in operators(report):
        op_cells = [cells.get((op, b, v)) for b, v in cols]
        statuses = sorted({c["status"] for c in op_cells if c}, key=STATUSES.index)
        anchor = anchor_of(op)
        matrix.append({"op": op, "anchor": anchor, "statuses": statuses,
                       "cells": [_cell_view(c) if c else None for c in op_cells]})
        details.append(_detail_view(op, anchor, statuses, op_cells, cols))
    return {
        "title": "Operator parity",
        "summary": environment_lines(report)[0].replace("`", "") if report.get("kind") != "merged" else "",
        "merged": report.get("kind") == "merged",
        "statuses": [{"name": s, "label": STATUS_LABELS[s], "count": counts[s]} for s in STATUSES],
        "columns": [{"backend": b, "version": v, "colour": PALETTE[i % len(PALETTE)]} for i, (b, v) in enumerate(cols)],
        "matrix": matrix,
        "details": details,
        "cell_count": len(rows),
        "environments": _environments(report),
        "conflicts": report.get("conflicts", []),
        "timing": report.get("timing"),
    }


def anchor_of(op: str) -> str:
    return "op-" + re.sub(r"[^A-Za-z0-9_-]+", "-", op)


def _cell_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "status": row["status"],
        "label": STATUS_LABELS.get(row["status"], row["status"]),
        "judged": judged_count(row),
        "ratio": ratio_text(row["max_error_ratio"]),
        "diagnosis": row.get("diagnosis") or [],
        "unexpected_passes": row.get("unexpected_passes") or [],
        "title": row.get("message") or "",
    }


def _detail_view(op: str, anchor: str, statuses: list[str], op_cells: list, cols: list) -> dict[str, Any]:
    series = [(f"{b} {v}", i, c["error_ratio_histogram"]) for i, ((b, v), c) in enumerate(zip(cols, op_cells)) if c]
    corner_names = list(dict.fromkeys(name for c in op_cells if c for name in c["corners"]))
    present = [(i, (b, v), c) for i, ((b, v), c) in enumerate(zip(cols, op_cells)) if c]
    return {
        "op": op,
        "anchor": anchor,
        "statuses": statuses,
        "summary": _declared_summary(op),
        "plot": error_distribution_png(series),
        "backends": [{
            "label": f"{b} {v}",
            "colour": PALETTE[i % len(PALETTE)],
            "status": c["status"],
            "status_label": STATUS_LABELS.get(c["status"], c["status"]),
            "open": c["status"] in ("disagree", "error", "timeout") or bool(c.get("unexpected_passes")),
            "examples": c["examples"],
            "judged": judged_count(c),
            "unjudged_elements": c.get("unjudged_elements") or 0,
            "unsupported": c["unsupported"],
            "in_known_divergence": c["in_known_divergence"],
            "draws": c.get("draws"),
            "excused": c.get("excused") or {},
            "accepted": c.get("accepted") or "",
            "warnings": c.get("warnings") or 0,
            "first_warning": c.get("first_warning") or "",
            "ratio": ratio_text(c["max_error_ratio"]),
            "ulp": ratio_text(c["max_ulp"]),
            "message": c["message"],
            "diagnosis": c.get("diagnosis") or [],
            "counterexample": c.get("counterexample"),
            "replay": c.get("replay"),
            "certify": c.get("certify"),
            "unsupported_reasons": c.get("unsupported_reasons") or {},
            "known_divergences": c.get("known_divergences") or [],
        } for i, (b, v), c in present],
        "corner_columns": [f"{b} {v}" for _, (b, v), _ in present],
        "corners": [{"name": name, "counts": [c["corners"].get(name) for _, _, c in present]} for name in corner_names],
    }


def _declared_summary(op: str) -> str:
    """The declaration's one-line summary, when this installation declares the operator."""
    from conformance.ops import get_declaration

    try:
        return get_declaration(op).summary
    except ConformanceError:
        return ""


def _environments(report: Mapping[str, Any]) -> dict[str, Any]:
    """Environment rows: one column for a run, one per run for a merged report."""
    if report.get("kind") == "merged":
        envs = [r["environment"] for r in report["runs"]]
        headers = [r["source"] for r in report["runs"]]
    else:
        envs, headers = [report["environment"]], ["this run"]
    flat = [_flat_environment(env) for env in envs]
    labels = list(dict.fromkeys(label for env in flat for label in env))
    return {"headers": headers, "rows": [{"label": label, "cells": [env.get(label, "—") for env in flat]}
                                         for label in labels]}


def _flat_environment(env: Mapping[str, Any]) -> dict[str, str]:
    """Label -> text: the CPU's fields and each backend's execution facts get a row each."""
    flat = {}
    for key, value in env.items():
        if key == "cpu" and isinstance(value, dict):
            for field, text in value.items():
                flat[f"CPU {field}" if field != "model" else "CPU"] = _value_text(text)
        elif key == "execution" and isinstance(value, dict):
            for backend, facts in value.items():
                flat[f"{backend} execution facts"] = facts_text(facts) or "none"
        else:
            flat[ENVIRONMENT_LABELS.get(key, key)] = _value_text(value)
    return flat


def _value_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    return str(value)
