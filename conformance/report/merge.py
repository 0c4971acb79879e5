"""Merging parity reports made on different framework versions into one matrix.

``conformance report --merge A.json B.json ...`` gives a report of kind ``merged``: its ``runs``
list each input's environment, every row points to its run, and the matrix has a column per
backend version (onnxruntime 1.21.1 | onnxruntime 1.32.0 | ...). A cell that two runs both
made (the reference backend, say) is kept once; if the runs answered it differently, that is
listed in ``conflicts``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from packaging.version import InvalidVersion, Version

from conformance.report.build import SCHEMA_VERSION

COMPARED = ("status", "diagnosis", "unexpected_passes")  # what two runs of one cell must agree on


def merge_reports(sources: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """One ``merged`` report from ``(source, report)`` pairs (runs or merged reports)."""
    runs: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for source, report in sources:
        offset = len(runs)
        if report.get("kind") == "merged":
            runs += [dict(r) for r in report["runs"]]
            rows += [{**r, "run": r.get("run", 0) + offset} for r in report["results"]]
        else:
            runs.append({"source": source, "environment": dict(report["environment"])})
            rows += [{**r, "run": offset} for r in report["results"]]
    kept: dict[tuple[str, str, str], dict[str, Any]] = {}
    conflicts: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["op"], r["backend"], r["backend_version"])
        first = kept.setdefault(key, r)
        if first is not r and any(first.get(k) != r.get(k) for k in COMPARED):
            conflict = conflicts.setdefault(key, {"op": key[0], "backend": key[1], "backend_version": key[2],
                                                  "runs": [first["run"]], "statuses": [first["status"]]})
            conflict["runs"].append(r["run"])
            conflict["statuses"].append(r["status"])
    merged = {
        "schema_version": SCHEMA_VERSION,
        "kind": "merged",
        "environment": _shared(run["environment"] for run in runs),
        "runs": runs,
        "results": _ordered(list(kept.values())),
    }
    if conflicts:
        merged["conflicts"] = list(conflicts.values())
    return merged


def _shared(environments) -> dict[str, Any]:
    """The environment values every run has in common."""
    environments = list(environments)
    first = environments[0] if environments else {}
    return {k: v for k, v in first.items() if all(k in e and e[k] == v for e in environments[1:])}


def _ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Operators in order of first appearance; a backend's versions side by side, oldest first."""
    ops = list(dict.fromkeys(r["op"] for r in rows))
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    return sorted(rows, key=lambda r: (ops.index(r["op"]), backends.index(r["backend"]),
                                       _version_key(r["backend_version"])))


def _version_key(version: str) -> tuple:
    try:
        return (0, Version(version), "")
    except InvalidVersion:
        return (1, Version("0"), version)
