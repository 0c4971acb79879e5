"""The known-divergences manifest: validation, matching, and strictness (an upstream fix must show)."""

from __future__ import annotations

import pytest
from hypothesis import find

from conformance import ConformanceError
from conformance.backends import load_backend
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
    twice = ENTRY.format(extra='id = "x"') * 2
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


def test_cases_inside_a_divergence_are_left_out_of_the_main_search():
    entry = KnownDivergence("all-1d", ("planted-flipped-kernel",), "Conv", "disagree", "r", "https://x",
                            when={"spatial_rank": [1, 2, 3]})
    result = certify(get_declaration("Conv"), planted.FlippedKernel(), profile_settings("ci"), divergences=[entry])
    assert result.examples == 0 and result.in_known_divergence > 0
