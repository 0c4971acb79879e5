"""The benchmark behind ``conformance bench``: differential examples per second, and the reference's speed.

Speed is measured here, never asserted in tests. Four measurements, all on one operator:

1. **Harness throughput.** A fixed list of small cases (for Conv: 2-D, float32) is drawn up front
   from the operator's declaration, deterministically (Hypothesis seed ``SEED``, generate phase
   only, duplicates dropped; see ``draw_cases``). Every case goes through
   ``conformance.certify.run_example``: the backend run, the float64 reference, the error bound
   and the comparison. That is one *differential example*. Each of a few passes loads the backend
   afresh and warms it up on cases outside the list (TensorFlow's first call imports TensorFlow);
   the fastest pass is reported, the others are listed. "All backends" sums the per-backend
   times: every backend judged on the same case.
2. **Certification throughput.** ``conformance.certify.certify`` with Hypothesis in the loop
   (profile ``dev``, the same example count, the shipped known-divergences manifest), on a
   fresh instance of each backend, so Hypothesis's share of the cost is visible. Its main search
   and its known-divergence probes are timed apart (a search starts with a call to the
   declaration's ``cases``); its cases are the declaration's full mix (every rank and dtype).
3. **A naive harness**, in the style of tf2onnx's unit tests, on an evenly spaced subset of the
   cases: per example, a fresh ``tf.function`` (so it traces again) runs the backend's TensorFlow
   lowering, a new onnxruntime ``InferenceSession`` (no cache) runs the case's model, and
   ``np.allclose`` compares the two (fastest of the same passes). Its speed is set against the
   harness on the same cases.
4. **The reference against onnx.reference** on one large case (for Conv: X 1x64x56x56 float32,
   W 64x64x3x3, pads [1, 1, 1, 1]), best and median of a few repeats after a warm-up.

``quick=True`` shrinks every count (and skips the probes) for a smoke test of a few seconds.
"""

from __future__ import annotations

import io
import os
import platform
import statistics
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

import reference
from conformance.backends import Backend, distribution_version, load_backend
from conformance.case import Case
from conformance.certify import certify, run_example
from conformance.divergences import load_manifest
from conformance.errors import BackendUnavailable, ConformanceError, Unsupported
from conformance.ops import get_declaration
from conformance.ops.declaration import OpDeclaration
from conformance.profiles import profile_settings

SEED = 0
BACKENDS = ("reference", "onnxruntime", "tensorflow")
GOALS = {
    "harness_examples_per_second": 200.0,  # differential examples per second, per backend
    "naive_examples_per_second": 25.0,  # what a tf2onnx-style harness reaches (for comparison only)
    "reference_speedup": 2.0,  # onnx.reference's time / the reference's time on the large case
}
WARMUP_CASES = 2  # drawn after the timed ones and run first on each backend, never timed
DRAW_FACTOR = 20  # at most this many draws per wanted case before giving up on finding more


@dataclass(frozen=True)
class Plan:
    """How much to measure: case counts, passes, repeats, and whether certification probes divergences."""

    examples: int
    naive_examples: int
    passes: int  # timed passes over the cases, each on a fresh backend; the fastest is reported
    repeats: int
    probes: bool


@dataclass(frozen=True)
class OpBench:
    """What the benchmark needs beyond an operator's declaration: which cases, which large case."""

    accepts: Callable[[Case], bool]
    selection: str
    large_case: Callable[[], Case]
    large_description: str
    speedup_goal: float = GOALS["reference_speedup"]  # onnx.reference's time / the reference's


def _small_conv(case: Case) -> bool:
    X = case.inputs["X"]
    return X.ndim == 4 and X.dtype == np.float32


def _large_conv() -> Case:
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((1, 64, 56, 56)).astype(np.float32)
    W = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    return Case("Conv", {"X": X, "W": W, "B": None}, {"pads": [1, 1, 1, 1]})


def _small_pool(case: Case) -> bool:
    X = case.inputs["X"]
    return X.ndim == 4 and X.dtype == np.float32


def _large_pool(op_type: str) -> Callable[[], Case]:
    def large() -> Case:
        X = np.random.default_rng(SEED).standard_normal((1, 64, 56, 56)).astype(np.float32)
        return Case(op_type, {"X": X}, {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]})

    return large


POOL_CASE = "X float32[1, 64, 56, 56], kernel_shape [3, 3], pads [1, 1, 1, 1]"
OPS = {
    "Conv": OpBench(_small_conv, "2-D float32 cases of the Conv declaration", _large_conv,
                    "X float32[1, 64, 56, 56], W float32[64, 64, 3, 3], pads [1, 1, 1, 1]"),
    # onnx.reference pools one window at a time in Python (about 0.2 s and 3.3 s on the large case).
    "MaxPool": OpBench(_small_pool, "2-D float32 cases of the MaxPool declaration", _large_pool("MaxPool"),
                       POOL_CASE, speedup_goal=20.0),
    "AveragePool": OpBench(_small_pool, "2-D float32 cases of the AveragePool declaration",
                           _large_pool("AveragePool"), POOL_CASE, speedup_goal=20.0),
}


def run_benchmark(
    op: str = "Conv",
    examples: int = 200,
    quick: bool = False,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure the harness on ``op`` (see the module docstring); a JSON-ready dict of every figure.

    ``examples`` cases are drawn for the harness and for each certification; ``quick`` caps it at
    8, makes one timed pass instead of three, runs the naive harness on 3 cases and the large
    case 3 times, and skips the probes.
    ``progress(message)``, when given, is called as each stage starts.
    """
    if op not in OPS:
        raise ConformanceError(f"the benchmark supports {', '.join(OPS)}, not {op!r}")
    if examples < 1:
        raise ConformanceError(f"the benchmark needs at least 1 example, not {examples}")
    machine = machine_info()
    say = progress or (lambda _: None)
    spec, declaration = OPS[op], get_declaration(op)
    plan = Plan(min(examples, 8), 3, 1, 3, False) if quick else Plan(examples, min(examples, 30), 3, 7, True)

    say(f"drawing {plan.examples} {spec.selection}")
    drawn, cases_info = _draw(declaration, spec, plan.examples + WARMUP_CASES)
    cases, warmup = drawn[:plan.examples], drawn[plan.examples:]
    cases_info["count"] = len(cases)

    harness: list[dict[str, Any]] = []
    times: dict[str, list[float]] = {}
    for name in BACKENDS:
        say(f"run_example on {name}")
        entry, seconds = _run_example_timing(declaration, name, cases, warmup, plan.passes)
        harness.append(entry)
        if seconds is not None:
            times[name] = seconds
    combined = _combined(times, range(len(cases)))

    subset = _spaced(len(cases), plan.naive_examples)
    say(f"naive harness on {len(subset)} cases")
    naive = _naive_timing(declaration, [cases[i] for i in subset], warmup, plan.passes)
    if naive.get("available"):
        same = _combined(times, subset)
        naive["harness_backends"] = same["backends"]
        naive["harness_examples_per_second"] = same["examples_per_second"]
        naive["speedup"] = _ratio(same["examples_per_second"], naive["examples_per_second"])

    certification = []
    for name in BACKENDS:
        say(f"certify on {name}")
        certification.append(_certify_timing(declaration, name, plan))

    say("reference against onnx.reference")
    speed = _reference_timing(spec, plan.repeats)
    return {
        "op": op,
        "quick": quick,
        "seed": SEED,
        "machine": machine,
        "goals": dict(GOALS),
        "cases": cases_info,
        "harness": harness,
        "all_backends": combined,
        "certify": certification,
        "naive": naive,
        "reference_speed": speed,
        "load_average_after": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def draw_cases(
    declaration: OpDeclaration, count: int, accepts: Callable[[Case], bool] = lambda _: True, seed: int = SEED
) -> tuple[list[Case], int]:
    """The first ``count`` distinct accepted cases Hypothesis draws under ``seed``, and the draws made.

    Deterministic for a given Hypothesis version: a seeded ``@given`` over the declaration's
    strategy, generate phase only (no shrinking, no database), stopped once ``count`` distinct
    cases (same description and labelled draws) are accepted, or after ``DRAW_FACTOR * count``
    draws. Hypothesis starts with its simplest cases, so the list leans towards small tensors.
    """
    found: dict[str, Case] = {}
    draws = 0

    class Enough(Exception):
        pass

    @hypothesis_seed(seed)
    @settings(max_examples=DRAW_FACTOR * count, phases=(Phase.generate,), database=None, deadline=None,
              derandomize=False, suppress_health_check=list(HealthCheck))
    @given(declaration.cases())
    def collect(case: Case) -> None:
        nonlocal draws
        draws += 1
        if accepts(case):
            found.setdefault(f"{case.describe()} {sorted(case.draws.items())!r}", case)
        if len(found) >= count:
            raise Enough  # Hypothesis replays a failing example once; the replay adds nothing

    try:
        collect()
    except Enough:
        pass
    return list(found.values())[:count], draws


def run_draw_benchmark(count: int = 100) -> dict[str, Any]:
    """What drawing a case costs, per operator and per family (the module that declares it): ``count``
    cases of each declared operator, drawn as a ``ci`` search draws them (derandomized, generation
    only: ``conformance.certify.drawn_cases``), after a short warm-up; Hypothesis and the declaration's
    own code together, which a search pays before any backend runs."""
    from conformance.certify import drawn_cases
    from conformance.ops import declarations

    table = declarations()
    operators = []
    for op_type, declaration in table.items():
        drawn_cases(declaration.cases(), 5, f"{op_type} warm-up")
        started = time.perf_counter()
        cases = drawn_cases(declaration.cases(), count, f"{op_type} draw benchmark")
        seconds = time.perf_counter() - started
        labels = sum(len(case.draws) for case in cases) / max(1, len(cases))
        operators.append({"op": op_type, "family": table.family(op_type), "cases": len(cases), "seconds": seconds,
                          "ms_per_case": 1000 * seconds / max(1, len(cases)), "labels_per_case": labels})
    families: dict[str, list[dict[str, Any]]] = {}
    for entry in operators:
        families.setdefault(entry["family"], []).append(entry)
    rows = []
    for family, entries in families.items():
        slowest = max(entries, key=lambda e: e["ms_per_case"])
        cases = sum(e["cases"] for e in entries)
        rows.append({"family": family, "operators": len(entries), "cases": cases,
                     "ms_per_case": 1000 * sum(e["seconds"] for e in entries) / max(1, cases),
                     "slowest": slowest["op"], "slowest_ms_per_case": slowest["ms_per_case"]})
    return {"count": count, "machine": machine_info(), "families": rows, "operators": operators}


def format_draw_benchmark(results: dict[str, Any]) -> str:
    """``run_draw_benchmark``'s figures as a plain-text table."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=120, color_system=None, force_terminal=False, highlight=False)
    table = _table(f"Drawing cases ({results['count']} per operator, derandomized, generation only)",
                   ("family", "operators", "ms per case", "slowest", "its ms per case"), ("family", "slowest"))
    for row in sorted(results["families"], key=lambda r: -r["ms_per_case"]):
        table.add_row(row["family"], str(row["operators"]), _ms(row["ms_per_case"]), row["slowest"],
                      _ms(row["slowest_ms_per_case"]))
    console.print(table)
    return buffer.getvalue()


def machine_info() -> dict[str, Any]:
    """Where the figures were measured: CPUs, load, platform, and the versions that matter.

    Versions are read from the installed distributions, so TensorFlow is not imported.
    """
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        # Other work on the machine skews every figure; the load average at the start shows it.
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": {
            "numpy": np.__version__,
            "onnx": distribution_version("onnx"),
            "onnxruntime": distribution_version("onnxruntime", "onnxruntime-gpu"),
            "tensorflow": distribution_version("tensorflow-cpu", "tensorflow", "tensorflow-intel"),
            "hypothesis": distribution_version("hypothesis"),
        },
    }


def format_benchmark(results: dict[str, Any]) -> str:
    """The results of ``run_benchmark`` as plain-text tables (rendered by rich, without colour)."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=140, color_system=None, force_terminal=False, highlight=False)
    machine, cases = results["machine"], results["cases"]
    load, after = machine.get("load_average"), results.get("load_average_after")
    console.print(f"{results['op']} benchmark{' (quick)' if results['quick'] else ''}: "
                  f"{machine['cpu_count']} CPUs, {machine['platform']}, Python {machine['python']}"
                  + (f", load average {load[0]:.2f} before, {after[0]:.2f} after" if load and after else ""))
    console.print(", ".join(f"{name} {version}" for name, version in machine["versions"].items()))
    console.print(f"{cases['count']} cases: {cases['selection']} ({cases['draws']} draws,"
                  f" {cases['distinct_models']} distinct models; drawing {_ms(cases['draw_ms_per_draw'])} ms"
                  f" per draw, model building {_ms(cases['model_ms_per_case'])} ms per case, untimed)")
    _print_harness(console, results)
    _print_certify(console, results)
    _print_naive(console, results)
    _print_reference(console, results)
    return buffer.getvalue()


def _table(title: str, columns: Sequence[str], left: Sequence[str]):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="left" if column in left else "right")
    return table


def _print_harness(console, results: dict[str, Any]) -> None:
    goal = results["goals"]["harness_examples_per_second"]
    table = _table(f"Differential examples: run_example per backend (goal {goal:g}/s)",
                   ("backend", "examples", "examples/s", "each pass /s", "median ms", "p90 ms", "warm-up s",
                    "outcomes"), ("backend", "outcomes"))
    for entry in results["harness"]:
        if not entry["available"]:
            table.add_row(entry["name"], "", "", "", "", "", "", f"unavailable: {entry['reason']}")
            continue
        table.add_row(f"{entry['name']} {entry['version']}", str(entry["examples"]),
                      _rate_text(entry["examples_per_second"], goal), _passes(entry["pass_examples_per_second"]),
                      _ms(entry["median_ms"]), _ms(entry["p90_ms"]), _num(entry["warmup_seconds"], 2),
                      _outcomes(entry["outcomes"]))
    combined = results["all_backends"]
    if combined["backends"]:
        table.add_row(f"all {len(combined['backends'])}, same case", str(combined["examples"]),
                      _rate_text(combined["examples_per_second"], goal), "", _ms(combined["median_ms"]),
                      _ms(combined["p90_ms"]), "", "sum of the fastest passes")
    console.print(table)


def _print_certify(console, results: dict[str, Any]) -> None:
    table = _table("Certification (certify, Hypothesis in the loop; the declaration's full case mix)",
                   ("backend", "status", "run", "skipped", "search s", "examples/s", "probes", "probe s", "total s"),
                   ("backend", "status"))
    for entry in results["certify"]:
        if not entry["available"]:
            table.add_row(entry["name"], f"unavailable: {entry['reason']}")
            continue
        probes = f"{entry['probes']} ({entry['probe_examples']} ex.)" if entry["probes_run"] else "skipped"
        table.add_row(entry["name"], entry["status"], str(entry["examples"]), str(entry["in_known_divergence"]),
                      _num(entry["search_seconds"], 2), _num(entry["examples_per_second"], 1), probes,
                      _num(entry["probe_seconds"], 2), _num(entry["seconds"], 2))
    console.print(table)


def _print_naive(console, results: dict[str, Any]) -> None:
    naive = results["naive"]
    if not naive.get("available"):
        console.print(f"Naive harness: unavailable: {naive.get('reason', '')}")
        return
    table = _table("Naive harness (fresh tf.function + new InferenceSession + np.allclose, per example)",
                   ("examples", "examples/s", "each pass /s", "median ms", "harness examples/s", "speed-up",
                    "outcomes"), ("outcomes",))
    table.add_row(str(naive["examples"]), _num(naive["examples_per_second"], 1),
                  _passes(naive["pass_examples_per_second"]), _ms(naive["median_ms"]),
                  _num(naive["harness_examples_per_second"], 1), f"{_num(naive['speedup'], 1)}x",
                  _outcomes(naive["outcomes"]))
    console.print(table)
    console.print(f"(harness: {' + '.join(naive['harness_backends'])} on the same cases; a tf2onnx-style"
                  f" harness is expected near {results['goals']['naive_examples_per_second']:g}/s)")


def _print_reference(console, results: dict[str, Any]) -> None:
    speed = results["reference_speed"]
    goal = speed.get("goal", results["goals"]["reference_speedup"])
    table = _table("Reference against onnx.reference, one large case",
                   ("implementation", "best ms", "median ms", "repeats"), ("implementation",))
    table.add_row("reference (float64)", _ms(speed["reference_ms"]), _ms(speed["reference_median_ms"]),
                  str(speed["repeats"]))
    table.add_row("onnx.reference", _ms(speed["onnx_reference_ms"]), _ms(speed["onnx_reference_median_ms"]),
                  str(speed["repeats"]))
    console.print(table)
    console.print(f"{speed['case']}: speed-up {_num(speed['speedup'], 2)}x (goal {goal:g}x:"
                  f" {'met' if speed['meets_goal'] else 'not met'}); largest difference"
                  f" {speed['max_abs_difference']:.3g}")


def _draw(declaration: OpDeclaration, spec: OpBench, count: int) -> tuple[list[Case], dict[str, Any]]:
    """Draw the cases and build their models, timing both (neither is part of the timed runs)."""
    started = time.perf_counter()
    cases, draws = draw_cases(declaration, count, spec.accepts)
    if not cases:
        raise ConformanceError(f"no {spec.selection} were drawn in {draws} draws")
    drawn = time.perf_counter()
    serialized = {case.model.SerializeToString() for case in cases}  # a cached property: built once
    built = time.perf_counter()
    return cases, {
        "selection": spec.selection,
        "draws": draws,
        "distinct_models": len(serialized),
        "draw_ms_per_draw": 1000 * (drawn - started) / max(draws, 1),
        "model_ms_per_case": 1000 * (built - drawn) / len(cases),
    }


def _load(name: str) -> tuple[Backend | None, str]:
    """The backend, or None and the reason it is unavailable."""
    try:
        return load_backend(name), ""
    except BackendUnavailable as error:
        return None, error.reason


def _run_example_timing(declaration: OpDeclaration, name: str, cases: Sequence[Case], warmup: Sequence[Case],
                        passes: int) -> tuple[dict[str, Any], list[float] | None]:
    """Time ``run_example`` per case on one backend; the entry and the fastest pass's per-case seconds.

    Each pass loads the backend afresh (so onnxruntime's session cache starts empty) and warms it
    up on ``warmup``; the fastest pass is the one least disturbed by other work on the machine.
    """
    runs, warmups = [], []
    for _ in range(passes):
        backend, reason = _load(name)
        if backend is None:
            return {"name": name, "available": False, "reason": reason}, None
        started = time.perf_counter()
        for case in warmup:
            run_example(declaration, backend, case)
        warmups.append(time.perf_counter() - started)
        seconds, outcomes = [], Counter()
        for case in cases:
            started = time.perf_counter()
            outcome = run_example(declaration, backend, case)
            seconds.append(time.perf_counter() - started)
            outcomes[outcome.status] += 1
        runs.append((seconds, outcomes))
    seconds, outcomes = min(runs, key=lambda run: sum(run[0]))
    timing = _timing(seconds)
    return {
        "name": name,
        "available": True,
        "version": backend.version,
        "warmup_seconds": warmups[0],  # the first warm-up: TensorFlow's import, onnxruntime's first session
        **timing,
        "pass_examples_per_second": [_rate(len(run), sum(run)) for run, _ in runs],
        "meets_goal": (timing["examples_per_second"] or 0.0) >= GOALS["harness_examples_per_second"],
        "outcomes": dict(sorted(outcomes.items())),
    }, seconds


def _combined(times: dict[str, list[float]], indices: Sequence[int]) -> dict[str, Any]:
    """Every available backend on the same case: per-case times summed over the backends."""
    per_case = [sum(seconds[i] for seconds in times.values()) for i in indices]
    return {"backends": list(times), **_timing(per_case)} if times else {"backends": []}


def _timing(seconds: Sequence[float]) -> dict[str, Any]:
    total = float(sum(seconds))
    return {
        "examples": len(seconds),
        "seconds": total,
        "examples_per_second": _rate(len(seconds), total),
        "median_ms": 1000 * statistics.median(seconds),
        "p90_ms": 1000 * float(np.percentile(seconds, 90)),
        "max_ms": 1000 * max(seconds),
    }


def _certify_timing(declaration: OpDeclaration, name: str, plan: Plan) -> dict[str, Any]:
    """Run the real certification and split its time into the main search and the probes."""
    backend, reason = _load(name)
    if backend is None:
        return {"name": name, "available": False, "reason": reason}
    searches: list[float] = []

    def cases(pins=None):  # certify calls this once per search: the main one, then one per probe
        searches.append(time.perf_counter())
        return declaration.cases(pins=pins) if plan.probes or len(searches) == 1 else st.nothing()

    started = time.perf_counter()
    result = certify(replace(declaration, cases=cases), backend, profile_settings("dev", examples=plan.examples),
                     divergences=load_manifest(), seed=SEED)
    finished = time.perf_counter()
    search_end = searches[1] if len(searches) > 1 else finished
    run = result.examples + result.unsupported
    return {
        "name": name,
        "available": True,
        "version": backend.version,
        "status": result.status,
        "message": result.message,
        "examples": run,
        "unsupported": result.unsupported,
        "in_known_divergence": result.in_known_divergence,
        "search_seconds": search_end - started,
        "examples_per_second": _rate(run, search_end - started),
        "probes_run": plan.probes,
        "probes": len(result.divergences),
        "probe_examples": sum(d.examples for d in result.divergences),
        "probe_seconds": finished - search_end,
        "seconds": finished - started,
    }


def _naive_timing(declaration: OpDeclaration, cases: Sequence[Case], warmup: Sequence[Case],
                  passes: int) -> dict[str, Any]:
    """Time a tf2onnx-style harness (nothing cached: a trace and a session per example); the fastest pass."""
    for name in ("tensorflow", "onnxruntime"):
        backend, reason = _load(name)
        if backend is None:
            return {"available": False, "reason": f"needs {name}: {reason}"}
    import onnxruntime

    from conformance.backends.tensorflow import LOWERINGS, import_tensorflow

    tf = import_tensorflow()
    lowering = LOWERINGS[declaration.op_type]
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # retracing on every call is the point here; TensorFlow warns about it
    runs = []
    try:
        for case in warmup:
            _naive_example(tf, onnxruntime, lowering, case)
        for _ in range(passes):
            seconds, outcomes = [], Counter()
            for case in cases:
                started = time.perf_counter()
                outcome = _naive_example(tf, onnxruntime, lowering, case)
                seconds.append(time.perf_counter() - started)
                outcomes[outcome] += 1
            runs.append((seconds, outcomes))
    finally:
        logger.setLevel(level)
    seconds, outcomes = min(runs, key=lambda run: sum(run[0]))
    return {
        "available": True,
        **_timing(seconds),
        "pass_examples_per_second": [_rate(len(run), sum(run)) for run, _ in runs],
        "outcomes": dict(sorted(outcomes.items())),
    }


def _naive_example(tf, onnxruntime, lowering, case: Case) -> str:
    """One naive differential example: ``close``, ``not_close``, ``unsupported`` or ``error``."""
    names = list(case.inputs)

    def model(*tensors):
        remaining = iter(tensors)
        arguments = [next(remaining) if case.inputs[name] is not None else None for name in names]
        try:  # caught while tracing: autograph would turn the exception into a StagingError
            return lowering(tf, *arguments, **case.attributes)
        except Unsupported:
            return None

    try:
        expected = tf.function(model)(*(tf.constant(a) for a in case.feeds.values()))
    except Exception:  # TensorFlow refusing a case is an outcome here, as in the harness
        return "error"
    if expected is None:
        return "unsupported"
    expected = np.asarray(expected)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # errors are counted; their log lines would only clutter the output
    try:
        session = onnxruntime.InferenceSession(case.model.SerializeToString(), options,
                                               providers=["CPUExecutionProvider"])
        got = session.run(None, case.feeds)[0]
    except Exception:  # onnxruntime refusing a case is an outcome here, as in the harness
        return "error"
    return "close" if got.shape == expected.shape and np.allclose(got, expected) else "not_close"


def _reference_timing(spec: OpBench, repeats: int) -> dict[str, Any]:
    """The reference and onnx.reference on the large case: best and median of ``repeats`` after a warm-up."""
    from onnx.reference import ReferenceEvaluator  # imported here: it loads every operator's module

    case = spec.large_case()
    arguments = list(case.inputs.values())
    evaluator = ReferenceEvaluator(case.model)

    def ours():
        return reference.evaluate(case.op_type, arguments, case.attributes)[0]

    def theirs():
        return evaluator.run(None, case.feeds)[0]

    (mine, other), (mine_result, other_result) = _interleaved((ours, theirs), repeats)
    speedup = _ratio(min(other), min(mine))
    return {
        "case": spec.large_description,
        "repeats": repeats,
        "reference_ms": 1000 * min(mine),
        "reference_median_ms": 1000 * statistics.median(mine),
        "onnx_reference_ms": 1000 * min(other),
        "onnx_reference_median_ms": 1000 * statistics.median(other),
        "speedup": speedup,
        "goal": spec.speedup_goal,
        "meets_goal": speedup is not None and speedup >= spec.speedup_goal,
        "max_abs_difference": float(np.max(np.abs(mine_result - other_result.astype(np.float64)))),
    }


def _interleaved(functions: Sequence[Callable[[], Any]], repeats: int) -> tuple[list[list[float]], list[Any]]:
    """Seconds per call of each function over ``repeats`` rounds (after a warm-up), and their last results.

    The functions take turns in every round, so a change in the machine's load hits them alike.
    """
    results = [function() for function in functions]  # warm-up: first-touch allocations, lazy imports
    seconds: list[list[float]] = [[] for _ in functions]
    for _ in range(repeats):
        for index, function in enumerate(functions):
            started = time.perf_counter()
            results[index] = function()
            seconds[index].append(time.perf_counter() - started)
    return seconds, results


def _spaced(total: int, count: int) -> list[int]:
    """``count`` indices spread evenly over ``range(total)``."""
    count = min(count, total)
    return sorted({round(i * (total - 1) / max(count - 1, 1)) for i in range(count)}) if count else []


def _rate(count: int, seconds: float) -> float | None:
    return count / seconds if seconds > 0 else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator and denominator else None


def _num(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}" if value < 10 else f"{value:,.1f}"


def _rate_text(value: float | None, goal: float) -> str:
    return "" if value is None else f"{value:,.1f}{'' if value >= goal else ' (< goal)'}"


def _passes(rates: Sequence[float | None]) -> str:
    return " / ".join("" if rate is None else f"{rate:,.0f}" for rate in rates)


def _outcomes(outcomes: dict[str, int]) -> str:
    return ", ".join(f"{count} {status.replace('_', ' ')}" for status, count in outcomes.items())
