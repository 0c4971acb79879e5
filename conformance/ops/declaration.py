"""An operator declaration: everything the generic machinery needs to certify one operator.

In the spirit of PyTorch's OpInfo, each operator is declared once: the cases to draw (a
Hypothesis strategy that only draws valid calls and favours the corners where conventions
differ), the tolerance model, the features that describe a case (used by the known-divergences
manifest, the coverage self-tests and the reports), and the corners the strategy must reach.
The reference, its variants and its readings come from ``reference``; nothing here repeats them.
A backend is judged against the reference's default reading first, and only where that fails
against each alternative reading (``reference.variants.Reading``): agreeing with any of them is
agreeing, and the verdict says which one.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from hypothesis import strategies as st

import reference
from conformance.case import Case
from conformance.compare import Verdict, compare
from conformance.strategies import Aim
from conformance.tolerance import Tolerance, with_reference_error
from reference.variants import Reading, Variant


@dataclass(frozen=True)
class CheckerCaveat:
    """A valid call that ``onnx.checker.check_model(full_check=True)`` rejects because of ONNX itself
    (a deprecated operator version, a function body that does not expand with a default attribute).

    ``when`` maps features to the value they must equal (or a list of values); ``message`` is a
    regular expression the checker's error must match. The strategy self-tests accept such a
    rejection only there.
    """

    when: Mapping[str, Any]
    message: str
    reason: str
    link: str

    def excuses(self, features: Mapping[str, Any], error: str) -> bool:
        matches = all(features.get(k) in v if isinstance(v, (list, tuple)) else features.get(k) == v
                      for k, v in self.when.items())
        return matches and re.search(self.message, error) is not None


@dataclass(frozen=True)
class OpDeclaration:
    op_type: str
    summary: str
    cases: Callable[..., st.SearchStrategy[Case]]  # cases(pins=None): see conformance.strategies.Draws
    tolerance: Tolerance
    features: Callable[[Case], Mapping[str, Any]]
    corners: tuple[str, ...] = ()  # "feature" (true) or "feature=value" the strategy must reach
    # For outputs that are random by specification (Dropout in training mode): judge(case, outputs,
    # variants) returns the verdict of a test of their distribution, or None to compare with the
    # reference element by element as usual.
    judge: Callable[[Case, Sequence[np.ndarray], Iterable[str]], Verdict | None] | None = None
    checker_caveats: tuple[CheckerCaveat, ...] = ()  # valid calls that onnx.checker rejects
    # Derived features a search can aim at (conformance.strategies.Aim), by name: a known divergence's
    # probe draws cases inside a condition on them instead of drawing until one falls inside.
    aims: Mapping[str, Aim] = field(default_factory=dict)

    @property
    def variants(self) -> Mapping[str, Variant]:
        return reference.variants_of(self.op_type)

    @property
    def readings(self) -> Mapping[str, Reading]:
        """The default reading of the spec and its alternatives (empty where the text decides)."""
        return reference.readings_of(self.op_type)

    @property
    def alternative_readings(self) -> tuple[str, ...]:
        return tuple(name for name, reading in self.readings.items() if not reading.default)

    def expected(self, case: Case, variants: Iterable[str] = ()) -> tuple[np.ndarray, ...]:
        """The reference outputs for ``case``, under the spec or under the named variants: only
        the outputs the node asks for (a node may leave trailing optional ones out)."""
        return reference.evaluate(case.op_type, list(case.inputs.values()), case.attributes, variants, case.opset,
                                  output_count=len(case.outputs))

    def bounds(self, case: Case, variants: Iterable[str] = ()) -> list[np.ndarray]:
        """The error bound of each output, the float64 reference's own rounding included
        (``conformance.tolerance.with_reference_error``)."""
        return with_reference_error(self.tolerance, case, self.tolerance.bounds(case, variants))

    def verdict(self, case: Case, outputs: Sequence[np.ndarray], variants: Iterable[str] = (),
                expected: Sequence[np.ndarray] | None = None) -> Verdict:
        """Judge a backend's ``outputs`` for ``case``: by the declaration's own ``judge`` where it
        decides (random outputs), otherwise element by element against the reference within bounds,
        under the default reading and, only where that fails, under each alternative reading (with
        the same ``variants``): agreeing with one is agreeing, and ``reading`` names every alternative
        that agrees (joined by " or ")."""
        variants = tuple(variants)
        if self.judge is not None:
            judged = self.judge(case, outputs, variants)
            if judged is not None:
                return judged
        if expected is None:
            expected = self.expected(case, variants)
        verdict = self._compare(case, outputs, expected, variants)
        agreeing: list[tuple[str, Verdict]] = []
        for reading in () if verdict.ok else self.alternative_readings:
            chosen = (*variants, reading)
            try:
                other = self._compare(case, outputs, self.expected(case, chosen), chosen)
            except ValueError:  # the reading combined with a variant makes the call invalid
                continue
            if other.ok:
                agreeing.append((reading, other))
        if agreeing:
            # Where several readings give the same output, the case cannot tell them apart: all are named.
            return replace(agreeing[0][1], reading=" or ".join(name for name, _ in agreeing))
        return verdict


    def _compare(self, case: Case, outputs: Sequence[np.ndarray], expected: Sequence[np.ndarray],
                 variants: tuple[str, ...]) -> Verdict:
        bounds, scales = self._bounds_and_scales(case, variants)
        return compare(outputs, expected, bounds, case.output_dtypes, case.outputs, scales=scales)

    def _bounds_and_scales(self, case: Case, variants: tuple[str, ...]) -> tuple[list, list | None]:
        """The bounds a verdict holds outputs to (the reference's error included), and the scales
        ULPs are measured at: computed once per case and variants, since a case judged on several
        backends needs them for each. For the small cases of ``certify_together`` that saves little;
        for a model's nodes (``conformance model check``), where a bound is itself a convolution of
        a 224x224 image, it took ResNet-50's verdicts on three backends from 1.55 s of bounds to
        0.52 s. A case is immutable (its inputs are read-only), so they never go stale; they are
        made read-only too."""
        kept = _JUDGING.setdefault(case, {})
        key = (self.tolerance, variants)  # a declaration with another tolerance (tests) gets its own
        if key not in kept:
            bounds = self.tolerance.bounds(case, variants)
            scales = self.tolerance.scales(case, bounds) if hasattr(self.tolerance, "scales") else None
            kept[key] = (_read_only(with_reference_error(self.tolerance, case, bounds)), scales and _read_only(scales))
        return kept[key]


# Bounds and scales by case (weakly: they go with it), then by (tolerance, variants); see _bounds_and_scales.
_JUDGING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _read_only(arrays: list) -> list:
    for array in arrays:
        if isinstance(array, np.ndarray):
            array.flags.writeable = False
    return arrays


def corner_reached(corner: str, features: Mapping[str, Any]) -> bool:
    """Whether a case with ``features`` lies in ``corner`` ("name" is true, "name=value" equal)."""
    name, sep, value = corner.partition("=")
    if not sep:
        return bool(features.get(name))
    return str(features.get(name)) == value
