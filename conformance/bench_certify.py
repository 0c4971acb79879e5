"""``conformance bench certify OP``: the wall time of the real ``conformance certify`` command.

What a user waits for: a fresh process (Python start-up, imports, TensorFlow's included), the
search, the known-divergence probes and the output, timed from outside with a wall clock. Each
configuration (each backend alone, then all of them in one command) runs at two example counts,
``--examples`` N1 and N2 (the ``dev`` profile, seed ``SEED``), so that start-up cancels out:

    marginal examples per second = (N2 - N1) / (wall time at N2 - wall time at N1)

A *differential example* is one example judged on every backend of the configuration, so for the
configuration of all backends the marginal rate counts each example once, however many backends
judged it (the issue's measure: 200 per second for Conv on three backends).

Every configuration and count runs on a probe cache of its own, empty at first: the first run
probes every known divergence and keeps the verdicts, the second reuses them (what a rerun on an
unchanged environment costs). The second run is repeated ``repeats`` times and the fastest kept:
importing TensorFlow alone varies by a second or more from run to run, which would otherwise swamp
the difference between the counts. The command's JSON gives the share of its time the probes took.
Nothing here is asserted: speed is measured, never tested (``tests/test_bench_certify.py`` checks
the arithmetic and the output, on a stand-in command).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from conformance.errors import ConformanceError

SEED = 0
BACKENDS = ("reference", "onnxruntime", "tensorflow")
COUNTS = (50, 350)
QUICK_COUNTS = (5, 15)
REPEATS = 3  # second runs per configuration and count, the fastest kept
GOAL = 200.0  # differential examples per second at the margin, every backend together (issue 14)


@dataclass(frozen=True)
class Timed:
    """One run of the command: its wall time, and from its JSON the probes' share and the verdicts."""

    seconds: float
    probe_seconds: float
    statuses: tuple[str, ...]


def certify_command(op: str, backends: Sequence[str], examples: int) -> list[str]:
    """The command a user runs, with JSON output so that the probes' time can be read back."""
    command = [sys.executable, "-m", "conformance", "certify", op, "--profile", "dev", "--examples", str(examples),
               "--seed", str(SEED), "--json"]
    for backend in backends:
        command += ["--backend", backend]
    return command


def run_command(command: Sequence[str], cache: str, failures: str) -> Timed:
    """Run ``command`` with its own probe cache and failures folder; its wall time and JSON."""
    env = {**os.environ, "CONFORMANCE_PROBE_CACHE": cache}
    started = time.perf_counter()
    completed = subprocess.run([*command, "--failures-dir", failures], capture_output=True, text=True, env=env,
                               check=False)
    seconds = time.perf_counter() - started
    try:
        output = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise ConformanceError(f"{' '.join(command)} gave no JSON (exit status {completed.returncode}):"
                               f" {completed.stderr.strip().splitlines()[-1:] or ''}") from None
    results = output.get("results", [])
    return Timed(seconds, sum(r.get("probe_seconds", 0.0) for r in results),
                 tuple(r["status"] for r in results))


def run_certify_benchmark(
    op: str = "Conv",
    backends: Sequence[str] = BACKENDS,
    counts: Sequence[int] = COUNTS,
    repeats: int = REPEATS,
    *,
    runner: Callable[[Sequence[str], str, str], Timed] = run_command,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time ``conformance certify OP`` for each backend alone and for all together, at each count,
    a first and a second run each (see the module docstring)."""
    low, high = sorted(counts)
    if low == high:
        raise ConformanceError("bench certify needs two different example counts")
    configurations = [[b] for b in backends] + ([list(backends)] if len(backends) > 1 else [])
    rows = []
    for configuration in configurations:
        runs: dict[int, dict[str, Timed]] = {}
        for count in (low, high):
            with tempfile.TemporaryDirectory(prefix="conformance-bench-") as scratch:
                cache, failures = os.path.join(scratch, "probes"), os.path.join(scratch, "failures")
                command = certify_command(op, configuration, count)
                if progress:
                    progress(f"{' + '.join(configuration)}: {count} examples")
                first = runner(command, cache, failures)
                second = min((runner(command, cache, failures) for _ in range(max(1, repeats))),
                             key=lambda run: run.seconds)
                runs[count] = {"first": first, "second": second}
        rows.append(_row(configuration, runs, low, high))
    shown = ["conformance", *certify_command(op, [], 0)[3:]]
    shown[shown.index("--examples") + 1] = "N"
    return {"op": op, "counts": [low, high], "repeats": max(1, repeats), "seed": SEED, "goal": GOAL, "rows": rows,
            "command": " ".join(shown) + " --backend ..."}


def _row(configuration: Sequence[str], runs: dict[int, dict[str, Timed]], low: int, high: int) -> dict[str, Any]:
    row: dict[str, Any] = {"backends": list(configuration)}
    for which in ("first", "second"):
        at_low, at_high = runs[low][which], runs[high][which]
        row[which] = {
            "seconds": [at_low.seconds, at_high.seconds],
            "probe_share": [_share(at_low), _share(at_high)],
            "marginal_examples_per_second": marginal_rate(low, at_low.seconds, high, at_high.seconds),
            "statuses": sorted(set(at_low.statuses + at_high.statuses)),
        }
    return row


def marginal_rate(low: int, low_seconds: float, high: int, high_seconds: float) -> float | None:
    """Examples per second between two counts; None where the larger count was not slower (noise)."""
    extra = high_seconds - low_seconds
    return (high - low) / extra if extra > 0 else None


def _share(run: Timed) -> float:
    return run.probe_seconds / run.seconds if run.seconds > 0 else 0.0


def format_certify_benchmark(results: dict[str, Any]) -> str:
    """The results as a plain-text table (rich, without colour)."""
    import io

    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=140, color_system=None, force_terminal=False, highlight=False)
    low, high = results["counts"]
    console.print(f"{results['op']}: the wall time of `{results['command']}`, a fresh process each, at N = {low}"
                  f" and {high}; each first on an empty probe cache, then again on the verdicts it kept"
                  f" (the fastest of {results['repeats']})")
    table = Table(title=f"Marginal differential examples per second between {low} and {high} (goal "
                        f"{results['goal']:g}/s, every backend together)", title_justify="left")
    for column in ("backends", "first run s", "second run s", "first: examples/s", "second: examples/s",
                   "probes' share (second run)", "verdicts"):
        table.add_column(column, justify="left" if column in ("backends", "verdicts") else "right")
    for row in results["rows"]:
        first, second = row["first"], row["second"]
        table.add_row(" + ".join(row["backends"]), _pair(first["seconds"]), _pair(second["seconds"]),
                      _rate(first["marginal_examples_per_second"]), _rate(second["marginal_examples_per_second"]),
                      " / ".join(f"{s:.0%}" for s in second["probe_share"]), ", ".join(second["statuses"]))
    console.print(table)
    return buffer.getvalue()


def _pair(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
