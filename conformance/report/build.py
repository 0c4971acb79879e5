"""The JSON form of a parity report: its environment, one row per (operator, backend) cell.

A report is plain JSON data (``parity.json``), described by ``parity.schema.json`` beside this
module. Everything else (Markdown, HTML, diff, merge) is computed from that data alone, so a
report made by ``conformance report``, by ``pytest --conformance-report`` or by merging runs
renders the same way.

Timing is kept apart, in the top-level ``timing`` object and each row's ``seconds``: the same
seed and environment give the same report once those are removed (``without_timing``), and with
them the mark " (cached)" that ends the message of a known divergence's probe verdict reused from
the probe cache (a kept verdict is the one a fresh probe reaches, under the same key).

The environment holds the execution facts every verdict was reached under
(``conformance.environment``): the CPU's once, in ``cpu``, and each backend's own in
``execution``, by backend name. ``cell_facts`` puts them back together for one row, as the
known-divergence conditions read them.
"""

from __future__ import annotations

import copy
import math
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

import onnx

from conformance import __version__
from conformance.backends import Backend, distribution_version, spec_of
from conformance.certify import CACHED, CertifyResult
from conformance.divergences import KnownDivergence
from conformance.environment import CPU_FACTS, cpu_facts
from conformance.probe_cache import ProbeCache
from conformance.summary import jsonable, result_json

SCHEMA_VERSION = 4
# Statuses from best to worst; the last three fail a run.
STATUSES = ("agree", "known_divergence", "unsupported", "inconclusive", "disagree", "error", "timeout")
FAILING = ("inconclusive", "disagree", "error", "timeout")
# Error ratios are binned by quarter decades: fine enough to see a distribution move, and exact
# in binary floating point, so the same ratios always fall in the same bins.
BINS_PER_DECADE = 4
TIMING_KEYS = ("timing",)  # top-level keys that hold timing
ROW_TIMING_KEYS = ("seconds", "probe_seconds")


@dataclass
class ReportRun:
    """What a report run is asked to do.

    ``specs`` are the spec strings the backends were loaded from, for worker processes to load
    their own copies (by default, ``spec_of`` each backend). ``timeout`` is the most seconds one
    cell may take in a worker process (None: no limit); ``jobs`` is the number of worker
    processes (0: run every cell in this process, with neither timeout nor crash isolation).
    ``probe_cache``: where the known divergences' probe verdicts are reused and kept; workers write
    it side by side (``conformance.probe_cache``).
    """

    ops: Sequence[str]
    backends: Sequence[Backend]
    profile: str
    examples: int | None
    seed: int | None
    divergences: Sequence[KnownDivergence] = ()
    unavailable: dict[str, str] = field(default_factory=dict)  # spec -> reason
    specs: Sequence[str] | None = None
    timeout: float | None = None
    jobs: int = 1
    probe_cache: ProbeCache | None = None  # where probe verdicts are reused and kept (None: probe every time)

    def __post_init__(self):
        if self.specs is None:
            self.specs = [spec_of(b) for b in self.backends]
        if len(self.specs) != len(self.backends):
            raise ValueError("ReportRun: one spec per backend")


def environment(run_profile: str | None, seed: int | None, max_examples: int,
                unavailable: Mapping[str, str] | None = None, timeout: float | None = None,
                execution: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Where the report was made: versions, machine and its CPU, each backend's execution facts
    (``execution``, by backend name), opset, seed and profile (no timing)."""
    return {
        "nn_conformance": __version__,
        "python": platform.python_version(),
        "numpy": distribution_version("numpy"),
        "onnx": distribution_version("onnx"),
        "onnxruntime": distribution_version("onnxruntime", "onnxruntime-gpu"),
        "tensorflow": distribution_version("tensorflow-cpu", "tensorflow", "tensorflow-intel"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_environment(),
        "execution": {name: dict(facts) for name, facts in (execution or {}).items()},
        "opset": onnx.defs.onnx_opset_version(),
        "seed": seed,
        "profile": run_profile,
        "max_examples": max_examples,
        "timeout": timeout,
        "unavailable_backends": dict(unavailable or {}),
    }


def row(result: CertifyResult) -> dict[str, Any]:
    """One cell of the matrix: the certification result in its public JSON form (its execution
    facts left to the environment, which holds them once per backend)."""
    data = result_json(result)
    data.pop("facts", None)
    counterexample = data.get("counterexample") or {}
    data["replay"] = counterexample.get("replay") or None
    data["backend_version"] = result.backend_version
    data["error_ratio_histogram"] = histogram(result.error_ratios)
    return {"op": data.pop("op"), "backend": data.pop("backend"), **data}


def histogram(ratios: Iterable[float]) -> dict[str, Any]:
    """Per-example largest error/bound ratios, binned by quarter decades (sparse).

    ``bins`` holds ``[lower, count]`` pairs: ``count`` examples had a ratio in
    ``[10**lower, 10**(lower + 1/4))``. Exact results (ratio 0) are counted in ``zeros``.
    """
    zeros, counts = 0, {}
    for ratio in ratios:
        if not math.isfinite(ratio):
            continue
        if ratio <= 0:
            zeros += 1
            continue
        lower = math.floor(math.log10(ratio) * BINS_PER_DECADE) / BINS_PER_DECADE
        counts[lower] = counts.get(lower, 0) + 1
    return {"bins_per_decade": BINS_PER_DECADE, "zeros": zeros, "bins": [[k, counts[k]] for k in sorted(counts)]}


def build_report(rows: Sequence[Mapping[str, Any]], environment_: Mapping[str, Any], started: datetime,
                 seconds: float) -> dict[str, Any]:
    """A single run's report: the rows in the order given."""
    return jsonable({
        "schema_version": SCHEMA_VERSION,
        "kind": "run",
        "environment": dict(environment_),
        "timing": {"started": started.astimezone(timezone.utc).isoformat(timespec="seconds"), "seconds": seconds},
        "results": [dict(r) for r in rows],
    })


def without_timing(report: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``report`` without its timing fields, nor the mark of a probe verdict reused from the
    cache (``conformance.probe_cache``): what must repeat for a seed and environment."""
    data = copy.deepcopy(dict(report))
    for key in TIMING_KEYS:
        data.pop(key, None)
    for r in data.get("results", []):
        for key in ROW_TIMING_KEYS:
            r.pop(key, None)
        for probe in r.get("known_divergences") or []:
            probe["message"] = probe["message"].removesuffix(CACHED)
    return data


def failing_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Cells that fail a run: too little evidence (unless the manifest accepts it), a disagreement, an
    error, a timeout, or a stale known divergence."""
    return [r for r in report["results"]
            if (r["status"] in FAILING and not (r["status"] == "inconclusive" and r.get("accepted")))
            or r.get("unexpected_passes")]


def columns(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The matrix's columns: (backend, version) in order of first appearance."""
    return list(dict.fromkeys((r["backend"], r["backend_version"]) for r in report["results"]))


def operators(report: Mapping[str, Any]) -> list[str]:
    """The matrix's rows: operators in order of first appearance."""
    return list(dict.fromkeys(r["op"] for r in report["results"]))


def status_counts(report: Mapping[str, Any]) -> dict[str, int]:
    """How many cells have each status (every status listed, in STATUSES order)."""
    counts = {s: 0 for s in STATUSES}
    for r in report["results"]:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


def cpu_environment() -> dict[str, Any]:
    """The CPU as a report records it: vendor, model, microarchitecture and the flags that matter."""
    return {fact.removeprefix("cpu_"): value for fact, value in cpu_facts().items()}


def row_environment(report: Mapping[str, Any], r: Mapping[str, Any]) -> Mapping[str, Any]:
    """The environment a row was made in (its run's, in a merged report)."""
    if report.get("kind") == "merged" and "run" in r:
        return report["runs"][r["run"]]["environment"]
    return report["environment"]


def cell_facts(report: Mapping[str, Any], r: Mapping[str, Any]) -> dict[str, Any] | None:
    """The execution facts a row's verdict was reached under, or None if the report does not say
    (a report made before execution facts were recorded, or a backend missing from them)."""
    env = row_environment(report, r)
    cpu, execution = env.get("cpu"), env.get("execution")
    if not isinstance(cpu, dict) or not isinstance(execution, dict) or r["backend"] not in execution:
        return None
    facts = {fact: cpu.get(fact.removeprefix("cpu_")) for fact in CPU_FACTS}
    return {**facts, **execution[r["backend"]]}


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(timezone.utc)
