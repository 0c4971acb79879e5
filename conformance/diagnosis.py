"""Diagnosis: which known convention explains a backend's disagreeing output.

The reference is rerun on the very same inputs under each declared variant of the operator
(``flipped_kernel``, ``same_upper_lower_swapped``, ...), then under pairs of variants when no
single one explains the output, and finally with the operands rounded to a narrower precision
(``float16_operands``, ``bfloat16_operands``: a backend that silently computes in half
precision). A candidate explains the output when the output lies within the candidate's own error
bound, exactly as the spec's output would have to.

A minimal counterexample is often ambiguous (on a two-tap kernel, a flipped kernel and swapped
padding can give the same numbers), so ``diagnose_all`` keeps only the candidates that explain
every failing example the search met.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from conformance.case import Case
from conformance.ops.declaration import OpDeclaration

Example = tuple[Case, Sequence[np.ndarray]]


def round_to_float16(x: np.ndarray) -> np.ndarray:
    return np.asarray(x.astype(np.float16).astype(x.dtype))


def round_to_bfloat16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to bfloat16 (8-bit significand), to nearest even, kept as float32."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    # np.asarray: arithmetic on a 0-d array gives a NumPy scalar, and a case holds arrays.
    return np.asarray(rounded.astype(np.uint32).view(np.float32).astype(x.dtype))


OPERAND_PRECISIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int]] = {
    # name: (rounding, significand bits); only tried on cases whose dtype is wider
    "float16_operands": (round_to_float16, 11),
    "bfloat16_operands": (round_to_bfloat16, 8),
}


def explains(declaration: OpDeclaration, case: Case, outputs: Sequence[np.ndarray], candidate: str) -> bool:
    """Whether ``outputs`` lie within bounds of the reference under ``candidate``.

    A candidate is a variant name, variants joined by ``+``, or an operand precision name.
    """
    if candidate in OPERAND_PRECISIONS:
        rounding, bits = OPERAND_PRECISIONS[candidate]
        if case.dtype.kind != "f" or bits >= np.finfo(case.dtype).nmant + 1:
            return False
        # np.asarray: arithmetic on a 0-d array gives a NumPy scalar, which a Case cannot hold
        case = replace(case, inputs={k: None if v is None else np.asarray(rounding(v)) for k, v in case.inputs.items()})
        variants: tuple[str, ...] = ()
    else:
        variants = tuple(candidate.split("+"))
    try:
        return declaration.verdict(case, outputs, variants).ok
    except ValueError:  # the variant cannot apply to this case (a geometry it makes invalid)
        return False


def diagnose(declaration: OpDeclaration, case: Case, outputs: Sequence[np.ndarray], max_combination: int = 2) -> list[str]:
    """The candidates that explain ``outputs``: single variants, else pairs, else operand precisions."""
    names = list(declaration.variants)
    for size in range(1, max_combination + 1):
        found = ["+".join(c) for c in itertools.combinations(names, size)
                 if explains(declaration, case, outputs, "+".join(c))]
        if found:
            return found
    return [name for name in OPERAND_PRECISIONS if explains(declaration, case, outputs, name)]


def diagnose_all(declaration: OpDeclaration, examples: Sequence[Example]) -> list[str]:
    """The candidates that explain the first example and every other one."""
    (case, outputs), *others = examples
    found = diagnose(declaration, case, outputs)
    for other_case, other_outputs in others:
        found = [name for name in found if explains(declaration, other_case, other_outputs, name)]
    return found
