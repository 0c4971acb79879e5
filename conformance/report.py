"""Parity reports: every declared operator on every backend, as ``parity.json`` and ``parity.md``."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import onnx

from conformance import __version__
from conformance.backends import Backend, distribution_version, supports
from conformance.certify import CertifyResult, certify
from conformance.divergences import KnownDivergence
from conformance.ops import get_declaration
from conformance.summary import jsonable, ratio_text, result_json

SCHEMA_VERSION = 1
STATUS_MARKS = {
    "agree": "✅ agree",
    "known_divergence": "⚠️ known divergence",
    "unsupported": "➖ unsupported",
    "disagree": "❌ disagree",
    "error": "💥 error",
}


@dataclass
class ReportRun:
    """What a report run is asked to do."""

    ops: Sequence[str]
    backends: Sequence[Backend]
    profile: str
    examples: int | None
    seed: int | None
    divergences: Sequence[KnownDivergence] = ()
    unavailable: dict[str, str] = field(default_factory=dict)  # spec -> reason


def environment(run: ReportRun, max_examples: int) -> dict[str, Any]:
    """Where the report was made: versions, machine, opset, seed and profile."""
    return {
        "nn_conformance": __version__,
        "python": platform.python_version(),
        "numpy": distribution_version("numpy"),
        "onnx": distribution_version("onnx"),
        "onnxruntime": distribution_version("onnxruntime", "onnxruntime-gpu"),
        "tensorflow": distribution_version("tensorflow-cpu", "tensorflow", "tensorflow-intel"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "opset": onnx.defs.onnx_opset_version(),
        "seed": run.seed,
        "profile": run.profile,
        "max_examples": max_examples,
        "unavailable_backends": dict(run.unavailable),
    }


def run_report(
    run: ReportRun,
    settings_,
    failures_dir: Path,
    on_cell: Callable[[str, str], None] | None = None,
    on_example: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Certify every (operator, backend) cell and return the report as a JSON-ready dict."""
    rows = []
    for op in run.ops:
        declaration = get_declaration(op)
        for backend in run.backends:
            if on_cell is not None:
                on_cell(op, backend.name)
            if not supports(backend, op):
                result = CertifyResult(op, backend.name, backend.version, status="unsupported",
                                       message=f"{backend.name} does not implement {op}")
            else:
                result = certify(declaration, backend, settings_, divergences=run.divergences, seed=run.seed,
                                 failures_dir=failures_dir, on_example=on_example)
            rows.append(_row(result))
    return jsonable({
        "schema_version": SCHEMA_VERSION,
        "environment": environment(run, settings_.max_examples),
        "results": rows,
    })


def _row(result: CertifyResult) -> dict[str, Any]:
    data = result_json(result)
    counterexample = data.get("counterexample") or {}
    data["replay"] = counterexample.get("replay") or None
    data["backend_version"] = result.backend_version
    return {"op": data.pop("op"), "backend": data.pop("backend"), **data}


def write_report(report: dict[str, Any], out: Path) -> list[Path]:
    """Write ``parity.json`` and ``parity.md`` into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "parity.json", out / "parity.md"
    json_path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    md_path.write_text(markdown(report))
    return [json_path, md_path]


def markdown(report: dict[str, Any]) -> str:
    """The operator x backend matrix, then the details a reviewer needs, as GitHub Markdown."""
    rows = report["results"]
    backends = list(dict.fromkeys(f"{r['backend']} {r['backend_version']}" for r in rows))
    ops = list(dict.fromkeys(r["op"] for r in rows))
    cells = {(r["op"], f"{r['backend']} {r['backend_version']}"): r for r in rows}
    env = report["environment"]
    lines = [
        "# Operator parity",
        "",
        f"nn-conformance {env['nn_conformance']}, profile `{env['profile']}` ({env['max_examples']} examples"
        f" per cell), seed {env['seed'] if env['seed'] is not None else 'derandomized'}, ONNX opset {env['opset']},"
        f" Python {env['python']}, NumPy {env['numpy']}, {env['cpu']}.",
        "",
        "Each cell: status, examples that ran, and the largest error as a multiple of its bound"
        " (at most 1 agrees).",
        "",
        "| operator | " + " | ".join(backends) + " |",
        "|---|" + "---|" * len(backends),
    ]
    for op in ops:
        row = [op]
        for backend in backends:
            cell = cells.get((op, backend))
            row.append(_cell(cell) if cell else "")
        lines.append("| " + " | ".join(row) + " |")
    details = [r for r in rows if r["status"] in ("disagree", "error", "known_divergence") or r["unexpected_passes"]]
    if details:
        lines += ["", "## Details", ""]
    for r in details:
        message = "" if r["status"] == "known_divergence" else " " + _escape(r["message"])[:400]
        lines.append(f"- **{r['op']} on {r['backend']} {r['backend_version']}: {r['status']}.**{message}")
        if r.get("counterexample"):
            example = r["counterexample"]
            lines.append(f"  Counterexample `{example['description']}`"
                         + (f"; diagnosis: {', '.join(example['diagnosis'])}" if example["diagnosis"] else ""))
        if r.get("replay"):
            lines.append(f"  Replay: `{r['replay']}`")
        for probe in r["known_divergences"]:
            state = "reproduced" if probe["reproduced"] else "**no longer reproduces**"
            lines.append(f"  Known divergence [{probe['id']}]({probe['link']}): {state}; {_escape(probe['reason'])}")
    unavailable = env.get("unavailable_backends") or {}
    if unavailable:
        lines += ["", "Unavailable backends: " + "; ".join(f"{k} ({v})" for k, v in unavailable.items()) + "."]
    return "\n".join(lines) + "\n"


def _cell(row: dict[str, Any]) -> str:
    text = STATUS_MARKS.get(row["status"], row["status"])
    if row["status"] == "unsupported":
        return text
    text += f" ({row['examples']}, {ratio_text(row['max_error_ratio'])}×)"
    diagnosis = row.get("diagnosis") or []
    if diagnosis:
        text += ": " + ", ".join(f"`{d}`" for d in diagnosis)
    if row.get("unexpected_passes"):
        text += " — unexpected pass"
    return text


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()

