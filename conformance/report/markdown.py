"""``parity.md``: the operator x backend matrix as GitHub Markdown, then the details a reviewer needs."""

from __future__ import annotations

from typing import Any, Mapping

from conformance.certify import CACHED
from conformance.environment import facts_text
from conformance.report.build import columns, operators, status_counts
from conformance.summary import ratio_text

STATUS_MARKS = {
    "agree": "✅ agree",
    "known_divergence": "⚠️ known divergence",
    "unsupported": "➖ unsupported",
    "inconclusive": "❔ inconclusive",
    "disagree": "❌ disagree",
    "error": "💥 error",
    "timeout": "⏱️ timeout",
}
MESSAGE_CHARACTERS = 400


def markdown(report: Mapping[str, Any]) -> str:
    """The whole ``parity.md``: heading, environment line, matrix, details, unavailable backends."""
    rows = report["results"]
    cells = {(r["op"], r["backend"], r["backend_version"]): r for r in rows}
    backends = columns(report)
    lines = ["# Operator parity", "", *environment_lines(report), "",
             "Each cell: status, examples judged, and the largest error as a multiple of its bound"
             " (at most 1 agrees).", "",
             "| operator | " + " | ".join(f"{b} {v}" for b, v in backends) + " |",
             "|---|" + "---|" * len(backends)]
    for op in operators(report):
        cells_text = [cell_text(cells[(op, b, v)]) if (op, b, v) in cells else "" for b, v in backends]
        lines.append(f"| {op} | " + " | ".join(cells_text) + " |")
    counts = {s: n for s, n in status_counts(report).items() if n}
    lines += ["", f"{len(rows)} cell{'s' if len(rows) != 1 else ''}: "
              + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items()) + "."]
    details = [r for r in rows if r["status"] in ("disagree", "error", "timeout", "known_divergence")
               or r.get("unexpected_passes")]
    if details:
        lines += ["", "## Details", ""]
    for r in details:
        lines += detail_lines(r)
    unavailable = _unavailable(report)
    if unavailable:
        lines += ["", "Unavailable backends: " + "; ".join(f"{k} ({v})" for k, v in unavailable.items()) + "."]
    return "\n".join(lines) + "\n"


def environment_lines(report: Mapping[str, Any]) -> list[str]:
    """One line on where a run was made; for a merged report, one bullet per run."""
    if report.get("kind") == "merged":
        lines = [f"Merged from {len(report['runs'])} runs (a column per backend version):", ""]
        for number, run in enumerate(report["runs"]):
            lines.append(f"{number + 1}. `{run['source']}`: " + _environment_text(run["environment"]))
        return lines
    env = report["environment"]
    lines = [f"nn-conformance {env['nn_conformance']}, " + _environment_text(env)]
    if env.get("execution"):
        lines += ["", "Execution facts (what the known divergences' environment conditions read):", ""]
        lines += [f"- `{name}`: {facts_text(facts) or 'none'}" for name, facts in env["execution"].items()]
    return lines


def _environment_text(env: Mapping[str, Any]) -> str:
    seed = env["seed"] if env.get("seed") is not None else "derandomized"
    return (f"profile `{env['profile']}` ({env['max_examples']} examples per cell), seed {seed},"
            f" ONNX opset {env['opset']}, Python {env['python']}, NumPy {env['numpy']}, onnx {env['onnx']},"
            f" onnxruntime {env['onnxruntime']}, TensorFlow {env['tensorflow']}, {cpu_text(env['cpu'])}.")


def cpu_text(cpu: Mapping[str, Any]) -> str:
    """``AMD EPYC (AuthenticAMD, x86_64_v4; flags avx, avx2, ...)``, leaving out what is unknown."""
    details = ", ".join(v for v in (cpu.get("vendor"), cpu.get("microarchitecture")) if v)
    if cpu.get("flags") is not None:
        details += ("; " if details else "") + "flags " + (", ".join(cpu["flags"]) or "none")
    return (cpu.get("model") or "unknown CPU") + (f" ({details})" if details else "")


def cell_text(row: Mapping[str, Any]) -> str:
    """``✅ agree (25, 0.325×)``, with the diagnosis and any unexpected pass."""
    text = STATUS_MARKS.get(row["status"], row["status"])
    if row["examples"] or row["max_error_ratio"] is not None:
        text += f" ({judged_count(row)}, {ratio_text(row['max_error_ratio'])}×)"
    diagnosis = row.get("diagnosis") or []
    if diagnosis:
        text += ": " + ", ".join(f"`{d}`" for d in diagnosis)
    if row.get("unexpected_passes"):
        text += " — unexpected pass"
    if row["status"] == "inconclusive" and row.get("accepted"):
        text += " (accepted)"
    return text


def detail_lines(r: Mapping[str, Any]) -> list[str]:
    message = "" if r["status"] == "known_divergence" else " " + escape(r["message"])[:MESSAGE_CHARACTERS]
    lines = [f"- **{r['op']} on {r['backend']} {r['backend_version']}: {r['status']}.**{message}"]
    if r.get("accepted"):
        lines.append(f"  Accepted as inconclusive: {escape(r['accepted'])}")
    example = r.get("counterexample")
    if example:
        lines.append(f"  Counterexample `{example['description']}`"
                     + (f"; diagnosis: {', '.join(example['diagnosis'])}" if example["diagnosis"] else ""))
    if r.get("replay"):
        lines.append(f"  Replay: `{r['replay']}`")
    for probe in r["known_divergences"]:
        state = "reproduced" if probe["reproduced"] else "**no longer reproduces**"
        state += " (cached)" if probe["message"].endswith(CACHED) else ""
        share = f", excused {(r.get('excused') or {}).get(probe['id'], 0)} of {r['draws']} draws" if r.get("draws") else ""
        lines.append(f"  Known divergence [{probe['id']}]({probe['link']}): {state}{share}; {escape(probe['reason'])}")
    return lines


def judged_count(row: Mapping[str, Any]) -> int:
    """The examples judged in a row (the examples run, for a report from before they were counted)."""
    return row["examples"] if row.get("judged") is None else row["judged"]


def escape(text: str) -> str:
    """Text safe inside a Markdown table cell or list item."""
    return text.replace("|", "\\|").replace("\n", " ")


def _unavailable(report: Mapping[str, Any]) -> dict[str, str]:
    if report.get("kind") == "merged":
        merged: dict[str, str] = {}
        for run in report["runs"]:
            merged.update(run["environment"].get("unavailable_backends") or {})
        return merged
    return report["environment"].get("unavailable_backends") or {}
