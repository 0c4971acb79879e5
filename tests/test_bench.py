"""The benchmark's smoke test: structure and sanity of the figures, never a speed threshold."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conformance import bench
from conformance.bench import draw_cases, format_benchmark, run_benchmark
from conformance.errors import BackendUnavailable, ConformanceError
from conformance.ops import get_declaration


@pytest.fixture(scope="module")
def quick() -> dict:
    return run_benchmark(quick=True)


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_results_are_json_ready(quick):
    assert json.loads(json.dumps(quick, allow_nan=False)) == quick


def test_machine_and_cases(quick):
    assert quick["op"] == "Conv" and quick["quick"] is True
    machine = quick["machine"]
    assert machine["cpu_count"] >= 1
    assert {"numpy", "onnx", "onnxruntime", "tensorflow"} <= set(machine["versions"])
    cases = quick["cases"]
    assert 1 <= cases["count"] <= 8 and cases["draws"] >= cases["count"]
    assert 1 <= cases["distinct_models"] <= cases["count"] + 2  # the warm-up cases are drawn too


def test_harness_figures_are_positive(quick):
    assert [entry["name"] for entry in quick["harness"]] == ["reference", "onnxruntime", "tensorflow"]
    available = [entry for entry in quick["harness"] if entry["available"]]
    assert available and available[0]["name"] == "reference"  # the reference backend is always there
    for entry in available:
        assert entry["examples"] == quick["cases"]["count"]
        assert sum(entry["outcomes"].values()) == entry["examples"]
        for key in ("seconds", "examples_per_second", "median_ms", "p90_ms", "max_ms", "warmup_seconds"):
            assert _positive(entry[key]), (entry["name"], key)
        assert len(entry["pass_examples_per_second"]) == 1  # quick: a single pass
        assert all(_positive(rate) for rate in entry["pass_examples_per_second"])
    for entry in quick["harness"]:
        if not entry["available"]:
            assert entry["reason"]
    combined = quick["all_backends"]
    assert combined["backends"] == [entry["name"] for entry in available]
    assert _positive(combined["examples_per_second"])
    assert combined["seconds"] == pytest.approx(sum(entry["seconds"] for entry in available))


def test_certify_figures(quick):
    reference = quick["certify"][0]
    assert reference["name"] == "reference" and reference["available"]
    assert reference["status"] == "agree"
    for entry in quick["certify"]:
        if entry["available"]:
            assert entry["examples"] >= 1 and not entry["probes_run"]
            assert _positive(entry["search_seconds"]) and _positive(entry["examples_per_second"])


def test_naive_harness_figures(quick):
    naive = quick["naive"]
    if not naive["available"]:
        pytest.skip(naive["reason"])
    assert 1 <= naive["examples"] <= 3 and sum(naive["outcomes"].values()) == naive["examples"]
    for key in ("seconds", "examples_per_second", "harness_examples_per_second", "speedup"):
        assert _positive(naive[key]), key


def test_reference_speed_figures(quick):
    speed = quick["reference_speed"]
    for key in ("reference_ms", "onnx_reference_ms", "speedup"):
        assert _positive(speed[key]), key
    assert speed["max_abs_difference"] < 1e-2  # the two implementations compute the same convolution


def test_format_mentions_every_section(quick):
    text = format_benchmark(quick)
    for heading in ("Differential examples", "Certification", "Naive harness", "onnx.reference"):
        assert heading in text


def test_drawn_cases_are_deterministic_small_2d_float32():
    declaration = get_declaration("Conv")

    def accepts(case):
        return case.inputs["X"].ndim == 4 and case.dtype == np.float32

    first, draws = draw_cases(declaration, 5, accepts)
    second, _ = draw_cases(declaration, 5, accepts)
    assert len(first) == 5 and draws >= 5
    assert all(accepts(case) for case in first)
    assert [c.describe() for c in first] == [c.describe() for c in second]
    assert all(np.array_equal(a.inputs["X"], b.inputs["X"]) for a, b in zip(first, second))


@pytest.mark.parametrize("op, examples, message", [
    ("ConvTranspose", 10, "supports Conv, .*not 'ConvTranspose'"),
    ("Conv", 0, "at least 1 example"),
])
def test_bad_arguments_are_conformance_errors(op, examples, message):
    with pytest.raises(ConformanceError, match=message):
        run_benchmark(op, examples=examples)


def test_unavailable_backends_are_skipped_with_their_reason(monkeypatch):
    load = bench.load_backend

    def without_tensorflow(spec):
        if spec == "tensorflow":
            raise BackendUnavailable(spec, "Python package 'tensorflow' is not installed")
        return load(spec)

    monkeypatch.setattr(bench, "load_backend", without_tensorflow)
    results = run_benchmark(quick=True)
    for section in (results["harness"], results["certify"]):
        tensorflow = next(entry for entry in section if entry["name"] == "tensorflow")
        assert tensorflow == {"name": "tensorflow", "available": False,
                              "reason": "Python package 'tensorflow' is not installed"}
    assert results["all_backends"]["backends"] == ["reference", "onnxruntime"]
    assert not results["naive"]["available"] and "tensorflow" in results["naive"]["reason"]
    assert "unavailable" in format_benchmark(results)


@pytest.mark.slow_check  # onnx.reference's pooling takes seconds on the benchmark's input
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pooling_reference_speed_is_measured_against_onnx_reference(op):
    """The pooling benchmark's large case runs on both implementations and they agree (speed is not asserted)."""
    speed = bench._reference_timing(bench.OPS[op], repeats=1)
    assert speed["goal"] == 20.0 and _positive(speed["reference_ms"]) and _positive(speed["onnx_reference_ms"])
    assert speed["max_abs_difference"] < 1e-5  # float32 averages of 9 values; maxima are exact


def test_the_draw_benchmark_times_every_declared_operator_and_groups_them_by_family():
    from conformance.bench import format_draw_benchmark, run_draw_benchmark
    from conformance.ops import declarations

    results = run_draw_benchmark(count=2)
    assert sorted(e["op"] for e in results["operators"]) == sorted(declarations())
    assert all(e["cases"] >= 1 and e["ms_per_case"] > 0 for e in results["operators"])
    families = {row["family"]: row for row in results["families"]}
    assert families["conv"]["operators"] == 2 and families["conv"]["slowest"] in ("Conv", "ConvTranspose")
    assert sum(row["operators"] for row in results["families"]) == len(declarations())
    assert "pooling" in format_draw_benchmark(results)
