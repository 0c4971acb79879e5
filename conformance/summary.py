"""Human-readable text for certification results, shared by pytest messages and the command line."""

from __future__ import annotations

import math

from conformance.certify import CertifyResult, Counterexample
from conformance.environment import backend_facts, facts_text
from conformance.ops import get_declaration


def ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def variant_text(op_type: str, names: list[str]) -> str:
    """``flipped_kernel (true convolution: ...)``, one per name; combinations joined by +."""
    variants = get_declaration(op_type).variants
    parts = []
    for name in names:
        descriptions = [variants[n].description for n in name.split("+") if n in variants]
        parts.append(f"{name} ({'; '.join(descriptions)})" if descriptions else name)
    return ", ".join(parts)


def counterexample_text(op_type: str, example: Counterexample, indent: str = "  ") -> list[str]:
    lines = [
        f"{indent}case: {example.description}",
        f"{indent}{example.status}: {example.message}",
    ]
    if example.max_error_ratio is not None:
        lines.append(f"{indent}max error: {ratio_text(example.max_error_ratio)}x its bound, {ratio_text(example.max_ulp)} ULP")
    if example.status == "disagree":
        diagnosis = variant_text(op_type, example.diagnosis) if example.diagnosis else "no declared variant explains the output"
        lines.append(f"{indent}diagnosis: {diagnosis}")
    if example.saved_to:
        lines.append(f"{indent}saved: {example.saved_to}")
        lines.append(f"{indent}replay: {example.replay}")
    return lines


def result_text(result: CertifyResult, verbose: bool = False) -> str:
    """A multi-line account of one (operator, backend) certification; ``verbose`` adds the warnings
    the backend raised."""
    head = (f"{result.op} on {result.backend} {result.backend_version}: {result.status}"
            f" ({result.judged} judged of {result.draws} drawn, {result.in_known_divergence} excused,"
            f" {result.unsupported} unsupported,"
            f" max error {ratio_text(result.max_error_ratio)}x bound, {ratio_text(result.max_ulp)} ULP)")
    lines = [head]
    if result.accepted:
        lines.append(f"  accepted as inconclusive: {result.accepted}")
    if verbose and result.warnings:
        lines.append(f"  backend warnings: {result.warnings}, the first: {result.first_warning}")
    if result.unjudged_elements:
        lines.append(f"  undetermined: {result.unjudged_elements} output elements no bound decides were not judged")
    own_facts = backend_facts(result.facts) if result.facts else {}
    if own_facts:
        lines.append(f"  execution facts: {facts_text(own_facts)}")
    if result.readings and result.status != "agree":  # an agreement says so in its message
        lines.append("  readings: " + ", ".join(f"{name} on {count} of {result.judged} examples"
                                                 for name, count in result.readings.items()))
    if result.counterexample is not None:
        lines += counterexample_text(result.op, result.counterexample)
    elif result.message and result.status != "known_divergence":
        lines.append(f"  {result.message}")
    for reason, count in result.unsupported_reasons.items():
        lines.append(f"  unsupported x{count}: {reason}")
    for probe in result.divergences:
        state = "reproduced" if probe.reproduced else "UNEXPECTED PASS (no longer reproduces; update the manifest)"
        state += " (cached)" if probe.cached else ""
        share = f", excused {result.excused.get(probe.id, 0)} of {result.draws} draws" if result.draws else ""
        lines.append(f"  known divergence {probe.id}: {state}{share}; {probe.reason} <{probe.link}>")
        if not probe.reproduced:
            lines.append(f"    {probe.message}")
    return "\n".join(lines)


def jsonable(value):
    """Replace non-finite floats (not valid JSON) by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def result_json(result: CertifyResult) -> dict:
    """The public JSON form of one certification (``conformance certify --json``, reports)."""
    data = result.as_dict()
    data.pop("error_ratios")
    data["known_divergences"] = data.pop("divergences")
    return jsonable(data)
