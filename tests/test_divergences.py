"""The known-divergences manifest: validation, matching, and strictness (an upstream fix must show)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import find

from conformance import ConformanceError
from conformance.backends import load_backend
from conformance.case import Case
from conformance.certify import certify
from conformance.divergences import KnownDivergence, load_manifest
from conformance.ops import get_declaration
from conformance.profiles import profile_settings
from tests import planted

ENTRY = """
[[divergence]]
backend = "reference"
op = "Conv"
when = {{ spatial_rank = 1 }}
status = "disagree"
reason = "a reason"
link = "https://example.org/issue/1"
{extra}
"""


def manifest(tmp_path, text):
    path = tmp_path / "manifest.toml"
    path.write_text(text)
    return path


def test_the_shipped_manifest_is_valid_and_names_real_features():
    entries = load_manifest()
    assert entries, "the shipped manifest lists the real backends' divergences"
    for entry in entries:
        declaration = get_declaration(entry.op)
        minimal = find(declaration.cases(), lambda _: True)
        entry.matches(declaration.features(minimal))  # raises on a feature the operator lacks
        assert entry.link.startswith("https://") and entry.reason


@pytest.mark.parametrize("extra, message", [
    ('colour = "red"', "unknown keys \\['colour'\\]"),
    ('message = "("', "not a valid regular expression"),
    ('versions = "banana"', "not a version specifier"),
    # a disagree entry must describe its divergence
    ("", "must say what the divergence looks like"),
    ("max_error_ratio = 1.0", "must exceed 1"),
    ("max_ulp = -2", "must be a positive number"),
    ('diagnosis = "kernel_upside_down"', "has no variant 'kernel_upside_down'"),
])
def test_malformed_entries_are_refused_with_the_reason(tmp_path, extra, message):
    with pytest.raises(ConformanceError, match=message):
        load_manifest(manifest(tmp_path, ENTRY.format(extra=extra)))


@pytest.mark.parametrize("old, new, message", [
    ('status = "disagree"', 'status = "slower"', "status must be one of"),
    ('link = "https://example.org/issue/1"', 'link = "see the wiki"', "link must be an http"),
    ('reason = "a reason"', "", "missing reason"),
    ("when = { spatial_rank = 1 }", "when = { batch = { least = 2 } }", "when must map feature names"),
    ("when = { spatial_rank = 1 }", 'when = { batch = { min = "two" } }', "when must map feature names"),
])
def test_required_fields_are_checked(tmp_path, old, new, message):
    with pytest.raises(ConformanceError, match=message):
        load_manifest(manifest(tmp_path, ENTRY.format(extra="").replace(old, new)))


def test_duplicate_ids_and_bad_toml(tmp_path):
    twice = ENTRY.format(extra='id = "x"\ndiagnosis = "flipped_kernel"') * 2
    with pytest.raises(ConformanceError, match="duplicate divergence id .x."):
        load_manifest(manifest(tmp_path, twice))
    with pytest.raises(ConformanceError, match="not valid TOML"):
        load_manifest(manifest(tmp_path, "[[divergence]\n"))


def test_an_unknown_feature_is_an_error_when_matched():
    entry = KnownDivergence("x", ("reference",), "Conv", "disagree", "r", "https://x", when={"autopad": "SAME"})
    with pytest.raises(ConformanceError, match="Conv cases have no feature 'autopad'"):
        entry.matches({"auto_pad": "SAME_UPPER"})


def test_matching_values_lists_ranges_and_versions():
    entry = KnownDivergence("x", ("b",), "Conv", "error", "r", "https://x", versions="<2",
                            when={"auto_pad": ["SAME_UPPER", "SAME_LOWER"], "dilated": True, "batch": {"min": 2}})
    assert entry.matches({"auto_pad": "SAME_LOWER", "dilated": True, "batch": 2})
    assert not entry.matches({"auto_pad": "VALID", "dilated": True, "batch": 2})
    assert not entry.matches({"auto_pad": "SAME_LOWER", "dilated": False, "batch": 3})
    assert not entry.matches({"auto_pad": "SAME_LOWER", "dilated": True, "batch": 1})
    bounded = KnownDivergence("y", ("b",), "Conv", "error", "r", "https://x", when={"batch": {"min": 2, "max": 3}})
    assert [bounded.matches({"batch": n}) for n in (1, 2, 3, 4)] == [False, True, True, False]
    assert entry.applies_to("b", "1.5", "Conv") and not entry.applies_to("b", "2.0", "Conv")
    assert not entry.applies_to("c", "1.5", "Conv") and not entry.applies_to("b", "1.5", "ConvTranspose")


def test_a_reproducing_divergence_makes_the_status_known_divergence():
    entry = KnownDivergence("flip", ("planted-flipped-kernel",), "Conv", "disagree", "flips", "https://x")
    result = certify(get_declaration("Conv"), planted.FlippedKernel(), profile_settings("ci"), divergences=[entry])
    assert result.status == "known_divergence" and result.passed
    (probe,) = result.divergences
    assert probe.reproduced and probe.witness is not None and probe.witness.diagnosis == ["flipped_kernel"]


def test_a_divergence_that_no_longer_reproduces_is_an_unexpected_pass():
    entry = KnownDivergence("stale", ("reference",), "Conv", "disagree", "fixed upstream", "https://x",
                            when={"spatial_rank": 1})
    result = certify(get_declaration("Conv"), load_backend("reference"), profile_settings("ci"), divergences=[entry])
    assert result.status == "agree"
    assert [p.id for p in result.unexpected_passes] == ["stale"]
    assert not result.passed
    assert "no longer reproduces" in result.divergences[0].message


class AllNaN(planted._Rewriting):
    """NaN everywhere: wrong on every case."""

    name = "planted-all-nan"

    def run(self, model, inputs):
        return [np.full_like(o, np.nan) for o in super().run(model, inputs)]


EVERYWHERE = KnownDivergence("everywhere", ("planted-all-nan",), "Conv", "disagree", "r", "https://x",
                             message="differ in NAN")


def test_excused_cases_are_not_counted_and_a_cell_left_with_too_few_is_inconclusive():
    result = certify(get_declaration("Conv"), AllNaN(), profile_settings("ci"), divergences=[EVERYWHERE])
    assert result.judged == 0 and result.in_known_divergence > 0
    assert result.excused == {"everywhere": result.in_known_divergence}
    assert result.status == "inconclusive" and not result.passed, result.message
    assert "fewer than 20" in result.message


def test_excused_draws_are_replaced_so_the_profile_counts_judged_examples():
    # The 2-D convolutions (about half the draws) are excused: the search draws more, and still judges 25.
    entry = KnownDivergence("2d", ("planted-flipped-kernel",), "Conv", "disagree", "r", "https://x",
                            when={"spatial_rank": 2}, diagnosis="flipped_kernel")
    flipping_2d = planted.FlippedKernel()
    real = planted._Rewriting()

    class FlipsOnly2d:
        name, version = flipping_2d.name, flipping_2d.version

        def run(self, model, inputs):
            rank = len(next(iter(inputs.values())).shape) - 2
            return (flipping_2d if rank == 2 else real).run(model, inputs)

    result = certify(get_declaration("Conv"), FlipsOnly2d(), profile_settings("ci"), divergences=[entry])
    assert result.status == "known_divergence", result.message
    assert result.judged == 25 and result.in_known_divergence > 0 and result.draws >= 25 + result.in_known_divergence


def test_an_accepted_inconclusive_cell_stays_inconclusive_but_passes():
    accept = KnownDivergence("thin", ("planted-all-nan",), "Conv", "inconclusive", "cannot", "https://y")
    result = certify(get_declaration("Conv"), AllNaN(), profile_settings("ci"), divergences=[EVERYWHERE, accept])
    assert result.status == "inconclusive" and result.passed
    assert result.accepted.startswith("thin: cannot")
    assert [p.id for p in result.divergences] == ["everywhere"]  # an acceptance is not probed


def test_a_case_inside_a_region_that_does_not_look_like_the_divergence_is_caught():
    # The entry excuses a dropped bias everywhere; the backend flips its kernel instead.
    entry = KnownDivergence("bias", ("planted-flipped-kernel",), "Conv", "disagree", "r", "https://x",
                            when={"spatial_rank": [1, 2, 3]}, diagnosis="bias_ignored")
    result = certify(get_declaration("Conv"), planted.FlippedKernel(), profile_settings("ci"), divergences=[entry])
    assert result.status == "disagree", result.message
    assert "not like it" in result.message and "explained by bias_ignored" in result.message
    assert result.diagnosis == ["flipped_kernel"]


def test_described_entries_load_and_bound_what_they_excuse(tmp_path):
    text = ENTRY.format(extra='diagnosis = "flipped_kernel+bias_ignored"\nmax_error_ratio = 8')
    (entry,) = load_manifest(manifest(tmp_path, text))
    assert entry.diagnosis == "flipped_kernel+bias_ignored" and entry.max_error_ratio == 8.0
    from conformance.compare import Verdict

    assert entry.reproduced_by("disagree", "", Verdict(False, 7.9, 3.0, "bound"))
    assert not entry.reproduced_by("disagree", "", Verdict(False, 8.1, 3.0, "bound"))  # a larger error
    assert not entry.reproduced_by("disagree", "", Verdict(False, float("inf"), float("inf"), "shape"))


@pytest.mark.parametrize("text, message", [
    ('[[divergence]]\nbackend = "b"\nop = "Conv"\nstatus = "inconclusive"\nreason = "r"\nlink = "https://x"\n'
     'when = { spatial_rank = 1 }', "takes no when"),
    ('[[divergence]]\nbackend = "b"\nop = "Conv"\nstatus = "error"\nreason = "r"\nlink = "https://x"\nmax_ulp = 2',
     "described by its message only"),
])
def test_inconclusive_and_error_entries_take_only_what_fits_them(tmp_path, text, message):
    with pytest.raises(ConformanceError, match=message):
        load_manifest(manifest(tmp_path, text))


@pytest.mark.parametrize("op, impostor", [
    ("Sigmoid", planted.OnnxRuntimeSigmoidFloor),  # 0.3 below -2, inside the absolute-accuracy region
    ("LRN", planted.OnnxRuntimeLrnBiasIgnored),  # onnxruntime's running sum, and bias ignored too
])
def test_a_second_bug_where_onnxruntime_has_known_divergences_is_caught(op, impostor):
    result = certify(get_declaration(op), impostor(), profile_settings("ci"), divergences=load_manifest())
    assert result.status == "disagree", f"{op}: {result.status} {result.message}"


def test_onnxruntime_itself_passes_where_its_impostors_fail():
    for op in ("Sigmoid", "LRN"):
        result = certify(get_declaration(op), load_backend("onnxruntime"), profile_settings("ci"),
                         divergences=load_manifest())
        assert result.passed and result.judged >= 20, f"{op}: {result.status} {result.message}"


# --- SAME with a stride exceeding the kernel by 2 or more: the Conv entries hold their reproducers --

def _conv_of_ones(x_shape, strides, auto_pad="SAME_UPPER", dtype="float32"):
    """Conv with a kernel of one 1 on X = 1, 2, 3, ...: its output is the elements the windows start at."""
    X = np.arange(1.0, 1.0 + np.prod(x_shape)).reshape(x_shape).astype(dtype)
    rank = len(x_shape) - 2
    return Case("Conv", {"X": X, "W": np.ones((1, 1, *[1] * rank), dtype)},
                {"kernel_shape": [1] * rank, "strides": list(strides), "auto_pad": auto_pad})


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_the_eigen_conv3d_same_shift_entries_hold_their_reproducer_where_eigen_runs_it(dtype):
    # tf.nn.conv3d(x[2,1,1,3,1] = 1..6, w = 1, strides=[1,1,1,3,1], padding='SAME') gives [2, 5], not [1, 4]
    case = _conv_of_ones((2, 1, 1, 1, 3), (1, 1, 3), dtype=dtype)
    declaration = get_declaration("Conv")
    assert declaration.expected(case)[0].ravel().tolist() == [1.0, 4.0]
    entry = {e.id: e for e in load_manifest()}[f"tensorflow-eigen-conv3d-same-stride-exceeds-kernel-{dtype}"]
    features = declaration.features(case)
    assert features["same_window_shift"] and entry.matches(features)
    assert entry.holds_in({"onednn": False, "onednn_dtypes": []})
    assert entry.holds_in({"onednn": True, "onednn_dtypes": ["bfloat16", "float32"]}) == (dtype != "float32")


def test_onnxruntimes_conv_same_shift_entry_holds_its_reproducer_and_not_the_total_of_minus_2():
    entry = {e.id: e for e in load_manifest()}["onnxruntime-conv-same-negative-padding-upper"]
    declaration = get_declaration("Conv")
    shifted = _conv_of_ones((1, 1, 4), (4,))  # total -3: onnxruntime gives 2, the spec 1
    assert declaration.expected(shifted)[0].ravel().tolist() == [1.0]
    assert entry.matches(declaration.features(shifted))
    assert not entry.matches(declaration.features(_conv_of_ones((1, 1, 3), (3,))))  # -2: onnxruntime clamps
    assert not entry.matches(declaration.features(_conv_of_ones((1, 1, 4), (4,), "SAME_LOWER")))
