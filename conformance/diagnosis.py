"""Diagnosis: which known convention explains a backend's disagreeing output.

The reference is rerun on the very same inputs under each declared variant of the operator
(``flipped_kernel``, ``same_upper_lower_swapped``, ...), then under pairs of variants when no
single one explains the output, and finally with the operands rounded to a narrower precision
(``float16_operands``, ``bfloat16_operands``: a backend that silently computes in half
precision). A candidate explains the output when the output lies within the candidate's own error
bound, exactly as the spec's output would have to.

A minimal counterexample is often ambiguous (on a two-tap kernel, a flipped kernel and swapped
padding can give the same numbers), so ``diagnose_all`` keeps only the candidates that explain
every failing example met (the shrunk one, those before it, and those of a search of the region
around them, ``region_pins``), and when several still do, ``disambiguate`` looks for cases on
which they predict different outputs and keeps those that explain the backend's output there.

A wrong output shape is diagnosed like wrong values: a candidate explains it when its reference
predicts the backend's shapes, and its values within its bounds (``ceil_mode_ignored``: one output
fewer on an axis).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Callable, Iterable, Sequence

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


def _candidate_call(case: Case, candidate: str) -> tuple[Case, tuple[str, ...]] | None:
    """The call a backend following ``candidate`` computes: the case (its operands rounded, for an
    operand precision) and the reference's variants; None where the candidate cannot apply.

    A candidate is a variant name, variants joined by ``+``, or an operand precision name.
    """
    if candidate not in OPERAND_PRECISIONS:
        return case, tuple(candidate.split("+"))
    rounding, bits = OPERAND_PRECISIONS[candidate]
    if case.dtype.kind != "f" or bits >= np.finfo(case.dtype).nmant + 1:
        return None
    # np.asarray: arithmetic on a 0-d array gives a NumPy scalar, which a Case cannot hold
    return replace(case, inputs={k: None if v is None else np.asarray(rounding(v)) for k, v in case.inputs.items()}), ()


def explains(declaration: OpDeclaration, case: Case, outputs: Sequence[np.ndarray], candidate: str) -> bool:
    """Whether ``outputs`` lie within bounds of the reference under ``candidate``."""
    call = _candidate_call(case, candidate)
    if call is None:
        return False
    try:
        return declaration.verdict(call[0], outputs, call[1]).ok
    except ValueError:  # the variant cannot apply to this case (a geometry it makes invalid)
        return False


def diagnose(declaration: OpDeclaration, case: Case, outputs: Sequence[np.ndarray], max_combination: int = 2) -> list[str]:
    """The candidates that explain ``outputs``: single variants, else pairs, else operand precisions."""
    return diagnose_all(declaration, [(case, outputs)], max_combination)


def diagnose_all(declaration: OpDeclaration, examples: Sequence[Example], max_combination: int = 2) -> list[str]:
    """The candidates that explain every example: single variants, else pairs, else operand precisions.

    The smallest kind that explains them all is named, over all the examples at once: a backend
    with two bugs, one of which shows on the first example only, is named by the pair, where
    filtering the first example's single candidates by the others would leave nothing.
    """
    def everywhere(candidate: str) -> bool:
        return all(explains(declaration, case, outputs, candidate) for case, outputs in examples)

    names = list(declaration.variants)
    for size in range(1, max_combination + 1):
        found = [candidate for candidate in map("+".join, itertools.combinations(names, size)) if everywhere(candidate)]
        if found:
            return found
    return [name for name in OPERAND_PRECISIONS if everywhere(name)]


def region_pins(case: Case) -> list[dict[str, list]]:
    """Pins (``OpDeclaration.cases(pins=...)``) that aim a search at the region around ``case``.

    One pin set per prefix of ``case``'s labelled draws, in the order they were drawn: the prefix
    pinned to ``case``'s values, the rest drawn afresh. The seeds of its values are never pinned,
    so the longest prefix keeps the whole call and draws new data, and shorter ones vary more of
    it. A prefix is always a call the strategy could draw (each draw depends only on earlier
    ones), and a bug that shows on ``case`` shows on most cases that keep its attributes, while
    they vary what tells conventions apart (values, shapes, the other attributes). Values are
    wrapped in a list: a pin that is a list is a set of choices.
    """
    labels = list(case.draws)
    sets = ({label: [case.draws[label]] for label in labels[:cut] if not label.endswith(".seed")}
            for cut in range(len(labels), -1, -1))
    unique: dict[str, dict[str, list]] = {}
    for pins in sets:
        unique.setdefault(repr(sorted(pins.items())), pins)
    return list(unique.values())


def prediction(declaration: OpDeclaration, case: Case, candidate: str) -> list[np.ndarray] | None:
    """What a backend following ``candidate`` returns for ``case`` (rounded to the output dtypes), or
    None where the candidate does not apply."""
    call = _candidate_call(case, candidate)
    if call is None:
        return None
    try:
        expected = declaration.expected(*call)
    except ValueError:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        return [np.asarray(o).astype(d) for o, d in zip(expected, case.output_dtypes)]


def disambiguate(declaration: OpDeclaration, candidates: Sequence[str], cases: Iterable[Case],
                 run: Callable[[Case], Sequence[np.ndarray] | None], runs: int = 40) -> list[str]:
    """Narrow ``candidates`` on ``cases`` that tell them apart: where one candidate's prediction is
    outside another's bounds, the backend is run (``run`` returns its outputs, or None if it
    cannot) and only the candidates that explain its output stay; at most ``runs`` backend runs.
    A case that no candidate explains (another bug at work there) leaves them as they were."""
    remaining = list(candidates)
    for case in cases:
        if len(remaining) <= 1 or runs <= 0:
            break
        predicted = {name: prediction(declaration, case, name) for name in remaining}
        if not any(outputs is not None and not explains(declaration, case, outputs, other)
                   for name, outputs in predicted.items() for other in remaining if other != name):
            continue
        outputs = run(case)
        runs -= 1
        if outputs is None:
            continue
        kept = [name for name in remaining if explains(declaration, case, outputs, name)]
        remaining = kept or remaining
    return remaining
