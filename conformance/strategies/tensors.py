"""Hypothesis building blocks for tensor operators (reductions, shape and data movement).

Tensors of any rank and dtype (floats, integers, booleans), shapes within an element budget,
lists of axes (negative and unsorted alike) and the opsets an operator is defined in. Values come
from ``conformance.strategies.float_array`` for floats, and from a seeded generator for
integers and booleans; every draw is labelled.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import onnx.defs

from conformance.strategies import Draws, float_array
from conformance.strategies import built_once as st

FLOATS = ("float32",) * 6 + ("float16", "float64")
INTEGER_RANGE = (-9, 9)  # small enough that sums, squares and products stay exact in int32


def opset_versions(op_type: str, since: int = 1) -> tuple[int, ...]:
    """The opsets in which ``op_type`` got a new definition, from ``since`` (oldest first)."""
    versions, bound = [], onnx.defs.onnx_opset_version()
    while bound >= since:
        try:
            schema = onnx.defs.get_schema(op_type, bound)
        except onnx.defs.SchemaError:
            break
        if schema.since_version < since:
            break
        versions.append(schema.since_version)
        bound = schema.since_version - 1
    return tuple(sorted(versions))


def dtypes(*others: str, op_type: str | None = None, opset: int | None = None) -> st.SearchStrategy[str]:
    """A dtype name: float32 most of the time, float16 and float64, and each of ``others`` as often
    as float16; with ``op_type`` and ``opset``, only those its first input takes in that opset."""
    names = FLOATS + tuple(others)
    if op_type is not None:
        names = tuple(n for n in names if n in takes(op_type, opset))
    return st.sampled_from(names)


def takes(op_type: str, opset: int | None = None) -> frozenset[str]:
    """The NumPy dtype names the first input of ``op_type`` accepts in ``opset`` (its schema's types)."""
    schema = onnx.defs.get_schema(op_type, opset or onnx.defs.onnx_opset_version())
    constraints = {c.type_param_str: c.allowed_type_strs for c in schema.type_constraints}
    allowed = constraints.get(schema.inputs[0].type_str, [schema.inputs[0].type_str])
    names = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(bool)": "bool"}
    return frozenset(names.get(t, t[len("tensor("):-1]) for t in allowed)


def data_array(draws: Draws, label: str, shape: Sequence[int], dtype: str) -> np.ndarray:
    """A labelled random array: floats from ``float_array``, integers in INTEGER_RANGE (within the
    dtype), booleans half true."""
    if np.dtype(dtype).kind == "f":
        return np.asarray(float_array(draws, label, shape, dtype))  # rank 0: an array, not a scalar
    rng = np.random.default_rng(draws(f"{label}.seed", st.integers(0, 2**32 - 1)))
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    info = np.iinfo(dtype)
    low, high = max(INTEGER_RANGE[0], int(info.min)), min(INTEGER_RANGE[1], int(info.max))
    return np.asarray(rng.integers(low, high + 1, shape)).astype(dtype)


def shape_within(draws: Draws, label: str, rank: int, budget: int, low: int = 1, high: int = 8) -> list[int]:
    """A shape of ``rank`` dimensions in [low, high] whose product stays within ``budget``."""
    shape: list[int] = []
    for axis in range(rank):
        room = budget // max(1, int(np.prod(shape, dtype=np.int64)))
        # Leave at least `low` per remaining axis; a budget smaller than that keeps dims at low.
        cap = max(low, min(high, room // max(1, low ** (rank - axis - 1))))
        shape.append(draws(f"{label}[{axis}]", st.integers(low, cap)))
    return shape


def axes_of(draws: Draws, label: str, rank: int, minimum: int = 1, maximum: int | None = None,
            negative: bool = True) -> list[int]:
    """Distinct axes of a rank-``rank`` tensor, in any order, some written negative."""
    maximum = rank if maximum is None else min(maximum, rank)
    chosen = draws(label, st.lists(st.integers(0, max(0, rank - 1)), min_size=minimum, max_size=maximum,
                                   unique=True) if rank else st.just([]))
    if negative and chosen:
        flips = draws(f"{label}.negative", st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
        chosen = [a - rank if flip else a for a, flip in zip(chosen, flips)]
    return chosen


def int64(values: Sequence[int]) -> np.ndarray:
    """A 1-D int64 array (ONNX's type for axes, shapes, pads, starts and ends inputs)."""
    return np.asarray(list(values), dtype=np.int64).reshape(-1)
