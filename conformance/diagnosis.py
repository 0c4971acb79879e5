"""Diagnosis: which known convention explains a backend's disagreeing output.

The reference is rerun on the very same inputs under each declared variant of the operator
(``flipped_kernel``, ``same_upper_lower_swapped``, ...), then under pairs of variants when no
single one explains the output, and finally with the operands rounded to a narrower precision
(``float16_operands``, ``bfloat16_operands``: a backend that silently computes in half
precision). A candidate explains the output when the output lies within the candidate's own error
bound, exactly as the spec's output would have to.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from conformance.case import Case
from conformance.compare import compare
from conformance.ops.declaration import OpDeclaration


def round_to_float16(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16).astype(x.dtype)


def round_to_bfloat16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to bfloat16 (8-bit significand), to nearest even, kept as float32."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return rounded.astype(np.uint32).view(np.float32).astype(x.dtype)


OPERAND_PRECISIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int]] = {
    # name: (rounding, significand bits); only tried on cases whose dtype is wider
    "float16_operands": (round_to_float16, 11),
    "bfloat16_operands": (round_to_bfloat16, 8),
}


def diagnose(declaration: OpDeclaration, case: Case, outputs: Sequence[np.ndarray], max_combination: int = 2) -> list[str]:
    """The names of the conventions that explain ``outputs`` (empty when none does)."""
    dtypes = case.output_dtypes
    names = list(declaration.variants)

    def explains(candidate: Case, variants: tuple[str, ...]) -> bool:
        try:
            expected = declaration.expected(candidate, variants)
            bounds = declaration.bounds(candidate, variants)
        except ValueError:  # the variant cannot apply to this case (e.g. a shape it cannot produce)
            return False
        return compare(outputs, expected, bounds, dtypes).ok

    for size in range(1, max_combination + 1):
        found = ["+".join(combo) for combo in itertools.combinations(names, size) if explains(case, combo)]
        if found:
            return found
    significand = np.finfo(case.dtype).nmant + 1
    found = []
    for name, (rounding, bits) in OPERAND_PRECISIONS.items():
        if bits < significand and case.dtype.kind == "f":
            rounded = {k: None if v is None else rounding(v) for k, v in case.inputs.items()}
            if explains(replace(case, inputs=rounded), ()):
                found.append(name)
    return found

