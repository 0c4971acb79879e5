"""Comparing a backend's outputs with the reference: a verdict with the error as a ratio and in ULPs.

Shapes, dtypes and the number of outputs must match exactly. NaN positions must match, and
infinities must match in position and sign unless the reference, rounded to the output dtype,
overflows there too. Every finite element must lie within its bound; the verdict carries the
largest ``|got - expected| / bound`` (the error ratio: at most 1 passes) and the largest error in
units in the last place (ULP) of the output dtype.

A ULP is measured at a magnitude that means something for the element: the larger of
``|expected|`` and the scale of the terms that produced it. A tolerance model that knows that scale
(``Accumulation``: ``sum |a*b|``) gives it; otherwise it is the scale the bound implies,
``bound / 2u``. So an output that cancels to 0 from terms near 1 is measured in ULPs of 1, not of
the smallest subnormal (where an error of 1e-7 would read 1e38 ULP), and where the result is larger
than that scale the figure is the classic ULP of the expected value. The verdict keeps the ULPs at
the element with the largest ratio too (``worst["ulp"]``).

An element whose bound is not finite is one whose value no rounding-error analysis decides (a
normalization of a constant slice whose epsilon may flush to zero): it is not judged, whatever the
backend returns there, and it is counted (``elements`` and ``judged_elements``), so that an
agreement that judged nothing never passes for evidence. (Empty outputs are judged by their shapes.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class Verdict:
    ok: bool
    max_error_ratio: float = 0.0
    max_ulp: float = 0.0
    problem: str = ""  # "", "outputs", "shape", "dtype", "nan", "inf", "bound"
    message: str = ""
    worst: dict[str, Any] = field(default_factory=dict)
    elements: int = 0  # output elements compared
    judged_elements: int = 0  # of which held to a finite bound (or compared exactly)
    max_abs_error: float = 0.0  # the largest |got - expected| over the judged finite elements
    reading: str = ""  # the alternative readings of the spec the outputs follow ("a or b"), "" for the default one

    @property
    def judged(self) -> bool:
        """Whether anything was judged: a failure, an agreement on at least one element, or on
        shapes and dtypes alone where the outputs are empty. Only an example whose every element is
        undetermined is not."""
        return not self.ok or self.judged_elements > 0 or self.elements == 0


def compare(
    outputs: Sequence[np.ndarray],
    expected: Sequence[np.ndarray],
    bounds: Sequence[np.ndarray | float],
    dtypes: Sequence[np.dtype],
    names: Sequence[str] = (),
    scales: Sequence[np.ndarray | float] | None = None,
) -> Verdict:
    """Judge ``outputs`` against the float64 ``expected`` values, element by element; ``scales``:
    the magnitude of the terms behind each output, where the tolerance model knows it (for ULPs)."""
    names = list(names) or [f"output {i}" for i in range(len(expected))]
    scales = list(scales) if scales is not None else [None] * len(expected)
    if len(outputs) != len(expected):
        return Verdict(False, float("inf"), float("inf"), "outputs",
                       f"{len(outputs)} outputs returned; {len(expected)} expected")
    worst_ratio, worst_ulp, worst_abs, worst = 0.0, 0.0, 0.0, {}
    elements = judged = 0
    for name, got, want, bound, dtype, scale in zip(names, outputs, expected, bounds, dtypes, scales):
        got = np.asarray(got)
        if got.shape != want.shape:
            return Verdict(False, float("inf"), float("inf"), "shape",
                           f"{name} has shape {list(got.shape)}; {list(want.shape)} expected")
        if got.dtype != dtype:
            return Verdict(False, float("inf"), float("inf"), "dtype",
                           f"{name} has dtype {got.dtype}; {np.dtype(dtype)} expected")
        verdict = _compare_elements(name, got, np.asarray(want), np.broadcast_to(bound, want.shape), dtype,
                                    None if scale is None else np.broadcast_to(scale, want.shape))
        if not verdict.ok:
            return verdict
        if verdict.max_error_ratio >= worst_ratio:
            worst_ratio, worst = verdict.max_error_ratio, verdict.worst
        worst_ulp, worst_abs = max(worst_ulp, verdict.max_ulp), max(worst_abs, verdict.max_abs_error)
        elements, judged = elements + verdict.elements, judged + verdict.judged_elements
    return Verdict(True, worst_ratio, worst_ulp, worst=worst, elements=elements, judged_elements=judged,
                   max_abs_error=worst_abs)


def ulp_spacing(magnitude: np.ndarray, dtype) -> np.ndarray:
    """The spacing of ``dtype``'s numbers at ``magnitude`` (float64, never overflowing the dtype):
    2^floor(log2 m) * eps for a normal magnitude, the smallest subnormal below."""
    info = np.finfo(dtype)
    # frexp: m = f * 2**e with f in [0.5, 1), so floor(log2 m) = e - 1, without a logarithm.
    _, exponent = np.frexp(np.maximum(magnitude, float(info.tiny)))
    return np.ldexp(float(info.eps), exponent - 1)


def _compare_elements(name: str, got: np.ndarray, want: np.ndarray, bound: np.ndarray, dtype,
                      scale: np.ndarray | None = None) -> Verdict:
    if got.dtype.kind not in "fc":
        wrong = got != want
        if wrong.any():
            index = tuple(int(i) for i in np.argwhere(wrong)[0])
            return Verdict(False, float("inf"), float("inf"), "bound",
                           f"{int(wrong.sum())} of {got.size} elements of {name} differ; first at"
                           f" {name}{list(index)}: got {got[index]!r}, expected {want[index]!r}",
                           {"output": name, "index": list(index)})
        return Verdict(True, elements=got.size, judged_elements=got.size)
    decided = np.isfinite(bound)
    with np.errstate(all="ignore"):
        exact = got.astype(np.float64)
        error = np.abs(exact - want)
        # Every value finite, and the expected ones finite in the dtype too: one reduction each.
        all_finite = bool(np.isfinite(error.max(initial=0.0))) and bool(
            np.abs(want).max(initial=0.0) <= float(np.finfo(dtype).max) or np.isfinite(want.astype(dtype)).all())
        if not all_finite:  # NaN and infinity where they belong, else the verdict (skipped where all is finite)
            rounded = want.astype(dtype)
            within = error <= bound
            nan_mismatch = (np.isnan(exact) != np.isnan(want)) & decided
            special = np.isinf(exact) | np.isinf(rounded)
            inf_mismatch = special & ~(exact == rounded) & ~within & ~np.isnan(want) & decided
            for mask, problem in ((nan_mismatch, "nan"), (inf_mismatch, "inf")):
                if mask.any():
                    index = tuple(int(i) for i in np.argwhere(mask)[0])
                    return Verdict(False, float("inf"), float("inf"), problem,
                                   f"{int(mask.sum())} of {got.size} elements of {name} differ in {problem.upper()};"
                                   f" first at {name}{list(index)}: got {got[index]!r}, expected {want[index]!r}",
                                   {"output": name, "index": list(index)})
        finite = decided if all_finite else np.isfinite(exact) & np.isfinite(want) & decided
        if all_finite and bound.min(initial=0.0) >= 0:  # no NaN or negative bound either
            # error / bound is already 0 where the bound is infinite (undecided) and infinite where
            # it is 0; only 0 / 0 (an exact answer held to 0) is set, to 0.
            ratio = np.divide(error, bound, out=np.empty_like(error))  # an array even in 0-d
            ratio[error == 0] = 0.0
        else:
            ratio = np.where(finite, np.where(error == 0, 0.0, error / np.where(bound > 0, bound, 0.0)), 0.0)
        implied = bound / float(np.finfo(dtype).eps) if scale is None else scale  # eps = 2u
        magnitude = np.abs(want, out=np.empty_like(error))
        np.maximum(magnitude, implied, out=magnitude, where=np.isfinite(implied))
        ulp = np.divide(error, ulp_spacing(magnitude, dtype), out=np.empty_like(error))
        if not (all_finite and decided.all()):
            ulp[~finite] = 0.0
    counts = {"elements": got.size, "judged_elements": int(decided.sum()),
              "max_abs_error": float(np.max(error, where=finite, initial=0.0))}
    if got.size == 0:
        return Verdict(True, **counts)
    flat = int(np.argmax(ratio))
    index = tuple(int(i) for i in np.unravel_index(flat, got.shape))
    max_ratio, max_ulp = float(ratio[index]), float(ulp.max())
    worst = {
        "output": name,
        "index": list(index),
        "got": float(exact[index]),
        "expected": float(want[index]),
        "bound": float(bound[index]),
        "ulp": float(ulp[index]),
    }
    if max_ratio <= 1:
        return Verdict(True, max_ratio, max_ulp, worst=worst, **counts)
    failing = int((ratio > 1).sum())
    return Verdict(
        False, max_ratio, max_ulp, "bound",
        f"{failing} of {got.size} elements of {name} exceed their error bound; worst at {name}{list(index)}:"
        f" got {exact[index]:.9g}, expected {want[index]:.9g} ± {bound[index]:.3g}"
        f" (error {error[index]:.3g} = {max_ratio:.3g}x the bound, {ulp[index]:.3g} ULP)",
        worst, **counts,
    )
