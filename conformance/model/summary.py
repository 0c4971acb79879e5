"""A model check as JSON (``--json``, ``--out DIR/model.json``) and as text for a terminal."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Mapping, Sequence

from conformance.environment import execution_facts
from conformance.model.check import ModelCheck

NODE_FIELDS = ("index", "node", "op", "status", "max_error_ratio", "end_to_end_error", "message")


def check_json(check: ModelCheck, backends: Sequence[Any], unavailable: Mapping[str, str] | None = None) -> dict:
    """``{"model", "environment", "results": [{"backend", "status", "first_divergence", "nodes"}]}``."""
    from conformance.report.build import environment

    facts = {b.name: execution_facts(b) for b in backends}
    return {
        "model": check.model,
        "nodes": check.nodes,
        "unreferenced": list(check.unreferenced),
        "data_set": dict(check.data_set),
        "environment": environment(None, None, 0, unavailable, execution=facts),
        "results": [
            {
                "backend": r.backend,
                "backend_version": r.version,
                "spec": r.spec,
                "status": r.status,
                "counts": dict(r.counts()),
                "first_divergence": asdict(r.first_divergence) if r.first_divergence else None,
                "end_to_end": dict(r.end_to_end),
                "end_to_end_message": r.end_to_end_message,
                "nodes": [{name: getattr(n, name) for name in NODE_FIELDS} for n in r.nodes],
            }
            for r in check.results
        ],
    }


def check_text(check: ModelCheck) -> str:
    """Per backend: its verdict, node counts, the end-to-end deviation, and its first divergence."""
    lines = [f"{check.model}: {check.nodes} nodes"]
    if check.unreferenced:
        shown = ", ".join(check.unreferenced[:5]) + (", ..." if len(check.unreferenced) > 5 else "")
        lines.append(f"  no reference for {len(check.unreferenced)} nodes (their outputs trusted): {shown}")
    if check.data_set:
        lines.append("  against the test data set's outputs (relative deviation): " + ", ".join(
            f"{who} {deviation:.2e}" if deviation is not None else f"{who} not compared"
            for who, deviation in check.data_set.items()))
    for r in check.results:
        counts = ", ".join(f"{count} {status}" for status, count in sorted(r.counts().items()))
        lines.append(f"{r.backend} {r.version}: {r.status} ({counts})")
        deviations = [v for v in r.end_to_end.values() if v is not None]
        if deviations:
            lines.append(f"  end to end: outputs off by {max(deviations):.2e} of their largest value")
        elif r.end_to_end_message:
            lines.append(f"  end to end: not run ({r.end_to_end_message})")
        first = r.first_divergence
        if first is None:
            continue
        ratio = f", {first.max_error_ratio:.3g}x its bound" if first.max_error_ratio is not None else ""
        lines.append(f"  first divergence: node {first.index} {first.node!r} ({first.op}): {first.status}{ratio}")
        lines.append(f"    case: {first.description}")
        lines.append(f"    {first.status}: {first.message}")
        if first.diagnosis:
            lines.append(f"    diagnosis: {', '.join(first.diagnosis)}")
        if first.saved_to:
            lines.append(f"    saved: {first.saved_to}")
            lines.append(f"    replay: {first.replay}")
    return "\n".join(lines)
