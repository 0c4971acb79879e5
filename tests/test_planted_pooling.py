"""The pooling family's planted bugs are caught and named; benign pooling backends pass.

Each planted backend (tests/planted_pooling.py, tests/planted.py) commits one convention bug the
way a backend would; the certification must fail with a diagnosis naming exactly that variant.
"""

from __future__ import annotations

import pytest

from conformance.certify import certify
from conformance.ops import get_declaration
from conformance.profiles import profile_settings
from tests import planted, planted_pooling

PLANTED = [
    ("AveragePool", planted_pooling.CountIncludePadInverted, "count_include_pad_inverted"),
    ("MaxPool", planted_pooling.CeilModeIgnored, "ceil_mode_ignored"),
    ("AveragePool", planted_pooling.CeilModeIgnored, "ceil_mode_ignored"),
    ("MaxPool", planted_pooling.PadValueZero, "pad_value_zero"),
    ("MaxPool", planted_pooling.CeilWindowInPaddingKept, "ceil_window_in_padding_kept"),
    ("MaxPool", planted_pooling.IndicesPerPlane, "indices_per_plane"),
    ("MaxPool", planted_pooling.StorageOrderIgnored, "storage_order_ignored"),
    ("MaxPool", planted.SameUpperLowerSwapped, "same_upper_lower_swapped"),
    ("LpPool", planted.SameUpperLowerSwapped, "same_upper_lower_swapped"),
    ("AveragePool", planted.DilationsIgnored, "dilations_ignored"),
    ("LpPool", planted.PadsBeginEndSwapped, "pads_begin_end_swapped"),
]
BENIGN = [planted.RoundedOnce, planted_pooling.InPrecisionPooling]
OPERATORS = ("MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool")


@pytest.mark.parametrize("op, planted_backend, expected", PLANTED,
                         ids=[f"{op}-{name}" for op, _, name in PLANTED])
def test_planted_pooling_bug_is_caught_and_named(op, planted_backend, expected):
    backend = planted_backend()
    result = certify(get_declaration(op), backend, profile_settings("ci", examples=150))
    assert result.status == "disagree", f"{backend.name} on {op}: {result.status} {result.message}"
    assert result.diagnosis == [expected], (
        f"{backend.name} on {op}: diagnosis {result.diagnosis}, expected [{expected!r}];"
        f" counterexample {result.counterexample.description}"
    )


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("benign_backend", BENIGN, ids=[b.name for b in BENIGN])
def test_benign_pooling_backend_passes(op, benign_backend):
    backend = benign_backend()
    result = certify(get_declaration(op), backend, profile_settings("ci", examples=100))
    assert result.status == "agree", f"{backend.name} on {op}: {result.message}"
    assert result.examples >= 80
    if op not in ("MaxPool", "GlobalMaxPool"):  # exact operators have a zero bound and zero error
        assert 0 < result.max_error_ratio <= 1
