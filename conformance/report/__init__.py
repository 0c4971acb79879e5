"""Parity reports: every declared operator on every backend, as ``parity.json``, ``.md`` and ``.html``.

- ``build``: the JSON form (environment, one row per operator and backend), described by
  ``parity.schema.json`` (``schema``);
- ``cells``: running the cells in worker processes, with per-cell timeouts and crash isolation;
- ``markdown`` and ``page``: the matrix for pull requests, and a self-contained HTML page;
- ``diff``: regressions and fixes between two reports; ``merge``: runs on several framework
  versions as one matrix.

The report knows operators only through the declarations (``conformance.ops.declarations``), so
it grows with them.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from conformance.backends import supports
from conformance.certify import CertifyResult
from conformance.environment import backend_facts, execution_facts
from conformance.errors import ConformanceError
from conformance.profiles import profile_settings
from conformance.report.build import (
    FAILING,
    SCHEMA_VERSION,
    STATUSES,
    ReportRun,
    build_report,
    environment,
    failing_rows,
    now,
    row,
    without_timing,
)
from conformance.report.cells import Cell, Events, Search, run_cells, unsupported_result

__all__ = [
    "FAILING", "SCHEMA_VERSION", "STATUSES", "ReportRun", "Events", "certify_command", "failing_rows",
    "load_report", "report_from_results", "run_report", "without_timing", "write_report",
]

FILES = ("parity.json", "parity.md", "parity.html")


def run_report(run: ReportRun, failures_dir: Path | str | None, events: Events | None = None) -> dict[str, Any]:
    """Certify every (operator, backend) cell of ``run`` and return the report (JSON-ready)."""
    started, clock = now(), time.perf_counter()
    pairs = [(op, spec, backend) for op in run.ops for spec, backend in zip(run.specs, run.backends)]
    cells = [Cell(i, op, spec, backend.name, backend.version) for i, (op, spec, backend) in enumerate(pairs)]
    backends = dict(zip(run.specs, run.backends))
    runnable = [c for c in cells if supports(backends[c.spec], c.op)]
    facts = measured_facts(backends)
    search = Search(run.profile, run.examples, run.seed, tuple(run.divergences),
                    str(failures_dir) if failures_dir is not None else None, facts, run.probe_cache)
    done = dict(zip((c.index for c in runnable),
                    run_cells(runnable, search, backends, jobs=run.jobs, timeout=run.timeout, events=events)))
    results = []
    for cell in cells:
        if cell.index not in done:
            done[cell.index] = unsupported_result(cell)
            if events is not None:
                events.finished(cell, done[cell.index])
        if done[cell.index].facts is None:  # a cell stopped, crashed or never run was still meant for these facts
            done[cell.index].facts = facts[cell.spec]
        results.append(done[cell.index])
    return report_from_results(results, [c.spec for c in cells], run.profile, run.examples, run.seed,
                               run.unavailable, run.timeout, started=started, seconds=time.perf_counter() - clock)


def measured_facts(backends: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each backend's execution facts, by spec, measured side by side (TensorFlow's take a probe
    process each)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(backends))) as pool:
        return dict(zip(backends, pool.map(execution_facts, backends.values())))


def report_from_results(results: Sequence[CertifyResult], specs: Sequence[str], profile: str | None,
                        examples: int | None, seed: int | None, unavailable: Mapping[str, str] | None = None,
                        timeout: float | None = None, *, started=None, seconds: float = 0.0) -> dict[str, Any]:
    """A single run's report from its certification results (``specs``: each result's backend spec)."""
    max_examples = profile_settings(profile, examples, seed).max_examples
    rows, execution = [], {}
    for result, spec in zip(results, specs):
        if result.facts is not None:
            execution.setdefault(result.backend, backend_facts(result.facts))
        data = row(result)
        data["certify"] = certify_command(result.op, spec, profile, examples, seed)
        if data["replay"] is None and result.status in FAILING:
            data["replay"] = data["certify"]  # no saved case (a crash, say): rerunning the cell reproduces it
        rows.append(data)
    return build_report(rows, environment(profile, seed, max_examples, unavailable, timeout, execution),
                        started or now(), seconds)


def certify_command(op: str, spec: str, profile: str | None, examples: int | None, seed: int | None) -> str:
    """The ``conformance certify`` command that reruns one cell the way the report ran it."""
    words = ["conformance", "certify", op, "--backend", spec]
    if profile:
        words += ["--profile", profile]
    if examples is not None:
        words += ["--examples", str(examples)]
    if seed is not None:
        words += ["--seed", str(seed)]
    return shlex.join(words)


def write_report(report: Mapping[str, Any], out: Path | str, html: bool = True) -> list[Path]:
    """Write ``parity.json``, ``parity.md`` and (unless ``html=False``) ``parity.html`` into ``out``."""
    from conformance.report.markdown import markdown

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "parity.json", out / "parity.md"]
    paths[0].write_text(json.dumps(report, indent=2) + "\n")
    paths[1].write_text(markdown(report))
    if html:
        from conformance.report.page import html_page

        paths.append(out / "parity.html")
        paths[2].write_text(html_page(report))
    return paths


def load_report(path: Path | str) -> dict[str, Any]:
    """Read and validate a ``parity.json`` (an older one upgraded, see ``schema.upgraded``);
    ConformanceError (one clear line) if it is not one."""
    from conformance.report.schema import upgraded, validate_report

    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise ConformanceError(f"{path}: cannot read the report ({error.strerror})") from None
    except ValueError as error:
        raise ConformanceError(f"{path}: not valid JSON ({error})") from None
    data = upgraded(data)
    validate_report(data, where=str(path))
    return data
