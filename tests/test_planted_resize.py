"""Resize's planted bugs are caught and named; benign Resize backends pass."""

from __future__ import annotations

import pytest

from conformance.certify import certify
from conformance.ops import get_declaration
from conformance.profiles import profile_settings
from tests import planted, planted_resize

PLANTED = [
    (planted_resize.AlignCornersForHalfPixel, "align_corners"),
    (planted_resize.AsymmetricForHalfPixel, "asymmetric"),
    (planted_resize.ScaleFromOutputSize, "scale_from_output_size"),
    (planted_resize.CubicCoeffIgnored, "cubic_coeff_a_-0.75"),
    (planted_resize.ExcludeOutsideIgnored, "exclude_outside_inverted"),
    (planted_resize.AntialiasIgnored, "antialias_inverted"),
    (planted_resize.FloorForRoundPreferFloor, "nearest_floor"),
]
BENIGN = [planted.RoundedOnce, planted_resize.Float32Resize]


@pytest.mark.parametrize("planted_backend, expected", PLANTED, ids=[name for _, name in PLANTED])
def test_planted_resize_bug_is_caught_and_named(planted_backend, expected):
    backend = planted_backend()
    result = certify(get_declaration("Resize"), backend, profile_settings("ci", examples=150))
    assert result.status == "disagree", f"{backend.name}: {result.status} {result.message}"
    assert result.diagnosis == [expected], (
        f"{backend.name}: diagnosis {result.diagnosis}, expected [{expected!r}];"
        f" counterexample {result.counterexample.description}"
    )


@pytest.mark.parametrize("benign_backend", BENIGN, ids=[b.name for b in BENIGN])
def test_benign_resize_backend_passes(benign_backend):
    backend = benign_backend()
    result = certify(get_declaration("Resize"), backend, profile_settings("ci", examples=150))
    assert result.status == "agree", f"{backend.name}: {result.message}"
    assert result.examples >= 120
    assert 0 < result.max_error_ratio <= 1
