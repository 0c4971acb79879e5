"""Gemm, MatMul, Gather and Dropout: the cases to draw, their features, the error bounds.

Cases
-----
- Gemm: M, K, N from 1 to 8, square now and then (where a backend that swaps transA and transB
  still gets a valid product, and a wrong one); both transposes; alpha and beta exact in every
  float dtype, 0 and negative values included, left implicit or spelt out; C absent or any
  shape that broadcasts unidirectionally to (M, N): scalar, (1,), (N,), (1, N), (M, 1), (M, N).
  Gemm-13 mostly, and the older versions with what each defines: 11 (C optional, as in 13), 9
  (C required; integers from here), 7 (floats only), and 6, whose ``broadcast`` attribute (default
  0, drawn absent, 0 or 1) leaves C of shape (M, N) unless set. Gemm-6 does not say how a
  broadcast C lines up, so with broadcast=1 it takes only the shapes on which the legacy rule of
  opset-6 binary operators (size 1, or a suffix of (M, N)) and NumPy's agree: scalar, (1,), (N,)
  and (M, N); not (1, N) nor (M, 1).
- MatMul: 2-D, batched with equal batch axes, batch axes that broadcast (1 against n, ranks that
  differ), and 1-D operands on either side or both.
- Gather: data of rank 1 to 4, axis drawn over [-r, r-1], int32 or int64 indices of rank 0 to 3
  over [-s, s-1], negative ones favoured.
- Dropout (opset 12, 13, 22): ratio absent or a 0-d tensor (float16/32/64) in [0, 1),
  training_mode absent, false or true (also with ratio omitted before it), the mask output
  requested or not, a seed or none, and tensors of up to 4096 elements so that the statistical
  test below has power.

Error bounds
------------
``u`` is the unit roundoff of the output dtype and ``tiny`` its smallest normal number; inputs
are exact.

- MatMul: each output sums K products in any order, blocking or FMA pattern:
  |error| <= gamma_K(u) * (|A| @ |B|) (Higham, section 3.5). Gemm adds the scaling by alpha (one
  rounding, whether applied to the sum or to the products), the product beta * C and the final
  addition: |error| <= gamma_(K+2)(u) * (|alpha| |A'| @ |B'| + |beta| |C|). To each, the
  reference's own float64 summation (the same gamma at 2**-53) and 2n * tiny for flush-to-zero
  arithmetic (n = K or K + 2 roundings). Integer products are exact.
- Gather selects elements, and Dropout outside training mode is the identity: exact. Before opset
  12 the specification does not say what an inference mask holds: its values are left unjudged
  (``_unspecified_mask_judged``).
- Dropout in training mode is random, so it is judged by ``dropout_judge``, not against the
  reference's mask: every kept element must equal data * s, s = 1/(1 - ratio), within
  (u * ratio/(1 - ratio) + gamma_4(u)) * |data * s|, and every dropped one must be exactly 0; the
  mask, when requested, must say which. The bound: a backend computes in the data's dtype, so it
  may round a wider ratio to it (relative error u in ratio, which 1 - ratio amplifies by
  ratio/(1 - ratio) in s: 9u at ratio 0.9), then rounds 1 - ratio, the reciprocal and the
  product (at most four roundings in all, gamma_4).
  The kept count must pass an exact two-sided binomial test against keep probability 1 - ratio,
  on the whole tensor and on each half of it (flattened), each at ALPHA / 3: a mask drawn
  independently with the right probability fails one of the three with probability at most
  ALPHA = 1e-6 (union bound), so the certification of one backend (25 examples in the ci profile)
  raises a false alarm with probability at most 2.5e-5. A rate off by 0.1 is caught with
  near certainty on tensors of a thousand elements; a scale off by any factor on any tensor.
  Where the mask is not requested, elements whose input is 0 cannot tell kept from dropped and
  are left out of the count.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

import reference
from conformance.case import Case
from conformance.compare import Verdict, compare
from conformance.ops.declaration import OpDeclaration
from conformance.ops.elementwise import FLOAT64_ROUNDOFF, values
from conformance.strategies import Draws, float_array
from conformance.strategies import built_once as st
from conformance.tolerance import Derived, Exact, gamma, unit_roundoff
from reference.dense import dropout_parameters, keep_probability_and_scale

ALPHA = 1e-6  # false-alarm probability of the Dropout statistical test, per example
DENSE_DTYPES = ("float32",) * 5 + ("float16", "float64", "int32", "int64")
SCALARS = (1.0, 1.0, 0.5, -2.0, 1.5, 0.0)  # exact in float16, so every backend scales by the same value
INTEGER_SCALARS = (1.0, 1.0, -2.0, 3.0, 0.0)


# -- Gemm -----------------------------------------------------------------------------------------

C_SHAPES = ("absent", "scalar", "one", "row_vector", "row", "column", "matrix")
GEMM_OPSETS = (13,) * 6 + (6, 6, 7, 9, 11)  # the current definition first (and most often), where shrinking goes
LEGACY_BROADCAST_C_SHAPES = ("scalar", "one", "row_vector", "matrix")  # Gemm-6, broadcast=1: see the docstring


def c_shape(kind: str, M: int, N: int) -> list[int] | None:
    return {"absent": None, "scalar": [], "one": [1], "row_vector": [N], "row": [1, N], "column": [M, 1],
            "matrix": [M, N]}[kind]


@st.composite
def gemm_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d = Draws(draw, pins)
    opset = d("opset", st.sampled_from(GEMM_OPSETS))
    dtype = d("dtype", st.sampled_from(tuple(t for t in DENSE_DTYPES if opset >= 9 or t.startswith("float"))))
    if d("square", st.sampled_from((False, False, True))):
        M = K = N = d("size", st.integers(2, 6))
    else:
        M, K, N = d("M", st.integers(1, 8)), d("K", st.integers(1, 8)), d("N", st.integers(1, 8))
    transA, transB = d("transA", st.sampled_from((0, 1))), d("transB", st.sampled_from((0, 1)))
    scalars = INTEGER_SCALARS if dtype.startswith("int") else SCALARS
    alpha, beta = d("alpha", st.sampled_from(scalars)), d("beta", st.sampled_from(scalars))
    broadcast = d("broadcast", st.sampled_from((None, 0, 1, 1))) if opset < 7 else None
    if opset < 7:
        kind = d("C", st.sampled_from(LEGACY_BROADCAST_C_SHAPES)) if broadcast else "matrix"
    else:
        kind = d("C", st.sampled_from(C_SHAPES if opset >= 11 else C_SHAPES[1:]))
    A = values(d, "A", [K, M] if transA else [M, K], dtype, (-20, 20))
    B = values(d, "B", [N, K] if transB else [K, N], dtype, (-20, 20))
    shape = c_shape(kind, M, N)
    C = None if shape is None else values(d, "C", shape, dtype, (-20, 20))
    explicit = d("explicit_defaults", st.booleans())
    attributes = {k: v for k, v in {"alpha": alpha, "beta": beta, "transA": transA, "transB": transB}.items()
                  if explicit or v != (1.0 if k in ("alpha", "beta") else 0)}
    if broadcast is not None:
        attributes["broadcast"] = broadcast
    return Case("Gemm", {"A": A, "B": B, "C": C}, attributes, opset=opset, draws=d.record)


def gemm_features(case: Case) -> dict[str, Any]:
    A, B, C = case.inputs["A"], case.inputs["B"], case.inputs.get("C")
    a = case.attributes
    transA, transB = a.get("transA", 0), a.get("transB", 0)
    M, K = (A.shape[::-1] if transA else A.shape)
    N = B.shape[0] if transB else B.shape[1]
    shapes = {None: "absent", (): "scalar", (1,): "one", (N,): "row_vector", (1, N): "row", (M, 1): "column",
              (M, N): "matrix"}
    return {
        "dtype": str(A.dtype), "integer": A.dtype.kind in "iu", "M": M, "K": K, "N": N,
        "transA": transA, "transB": transB, "alpha": a.get("alpha", 1.0), "beta": a.get("beta", 1.0),
        "alpha_not_one": a.get("alpha", 1.0) != 1.0, "beta_not_one": a.get("beta", 1.0) != 1.0,
        "beta_zero": a.get("beta", 1.0) == 0.0, "has_C": C is not None,
        "C_shape": shapes.get(None if C is None else C.shape, "other"),
        # Where swapped transposes still multiply, and give another product.
        "transposes_differ_square": transA != transB and M == K == N,
        "attributes_implicit": not case.attributes, "opset": case.opset,
        # Gemm-6's broadcast attribute (default 0); None where it does not exist (from opset 7).
        "broadcast": int(a.get("broadcast", 0)) if case.opset < 7 else None,
    }


def gemm_bound(case: Case, variants: Iterable[str] = ()) -> list:
    """gamma_(K+2)(u) * (|alpha| |A'| @ |B'| + |beta| |C|), plus float64's own and flush-to-zero terms."""
    dtype = case.output_dtypes[0]
    if dtype.kind != "f":
        return [0.0]
    a = case.attributes
    magnitude = reference.evaluate(
        "Gemm", [None if x is None else np.abs(x.astype(np.float64)) for x in case.inputs.values()],
        {**a, "alpha": abs(a.get("alpha", 1.0)), "beta": abs(a.get("beta", 1.0))}, variants, case.opset)[0]
    n = gemm_features(case)["K"] + 2
    return [(gamma(n, unit_roundoff(dtype)) + gamma(n, FLOAT64_ROUNDOFF)) * magnitude + 2 * n * float(np.finfo(dtype).tiny)]


# -- MatMul ---------------------------------------------------------------------------------------

MATMUL_KINDS = ("2d", "2d", "batched", "broadcast_batch", "1d_left", "1d_right", "1d_both")


@st.composite
def matmul_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d = Draws(draw, pins)
    dtype = d("dtype", st.sampled_from(DENSE_DTYPES))
    kind = d("layout", st.sampled_from(MATMUL_KINDS))
    M, K, N = d("M", st.integers(1, 8)), d("K", st.integers(1, 8)), d("N", st.integers(1, 8))
    a_shape, b_shape = [M, K], [K, N]
    if kind in ("batched", "broadcast_batch"):
        batch = d("batch", st.lists(st.integers(1, 3), min_size=1, max_size=2))
        a_batch, b_batch = list(batch), list(batch)
        if kind == "broadcast_batch":
            side = d("broadcast_side", st.sampled_from(("A", "B")))
            ones = d("batch_ones", st.lists(st.booleans(), min_size=len(batch), max_size=len(batch)))
            shrunk = [1 if one else b for one, b in zip(ones, batch)][d("batch_dropped", st.integers(0, len(batch))):]
            a_batch, b_batch = (shrunk, batch) if side == "A" else (batch, shrunk)
        a_shape, b_shape = a_batch + a_shape, b_batch + b_shape
    if kind in ("1d_left", "1d_both"):
        a_shape = [K]
    if kind in ("1d_right", "1d_both"):
        b_shape = [K]
    if kind == "1d_left" and d("other_batched", st.booleans()):
        b_shape = [d("other_batch", st.integers(1, 3))] + b_shape
    if kind == "1d_right" and d("other_batched", st.booleans()):
        a_shape = [d("other_batch", st.integers(1, 3))] + a_shape
    A = values(d, "A", a_shape, dtype, (-20, 20))
    B = values(d, "B", b_shape, dtype, (-20, 20))
    return Case("MatMul", {"A": A, "B": B}, draws=d.record)


def matmul_features(case: Case) -> dict[str, Any]:
    A, B = case.inputs["A"], case.inputs["B"]
    batch_a, batch_b = A.shape[:-2], B.shape[:-2]
    return {
        "dtype": str(A.dtype), "integer": A.dtype.kind in "iu", "rank_A": A.ndim, "rank_B": B.ndim,
        "one_d_A": A.ndim == 1, "one_d_B": B.ndim == 1, "one_d_both": A.ndim == 1 and B.ndim == 1,
        "batched": A.ndim > 2 or B.ndim > 2,
        "batch_broadcast": A.ndim >= 2 and B.ndim >= 2 and batch_a != batch_b,
        "rank_differs": A.ndim != B.ndim, "K": A.shape[-1],
    }


def matmul_bound(case: Case, variants: Iterable[str] = ()) -> list:
    """gamma_K(u) * (|A| @ |B|), plus float64's own and flush-to-zero terms."""
    dtype = case.output_dtypes[0]
    if dtype.kind != "f":
        return [0.0]
    A, B = (np.abs(case.inputs[k].astype(np.float64)) for k in ("A", "B"))
    magnitude = reference.evaluate("MatMul", [A, B], {}, variants, case.opset)[0]
    K = case.inputs["A"].shape[-1]
    return [(gamma(K, unit_roundoff(dtype)) + gamma(K, FLOAT64_ROUNDOFF)) * magnitude + 2 * K * float(np.finfo(dtype).tiny)]


# -- Gather ---------------------------------------------------------------------------------------


@st.composite
def gather_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d = Draws(draw, pins)
    dtype = d("dtype", st.sampled_from(DENSE_DTYPES))
    rank = d("data_rank", st.integers(1, 4))
    shape = d("data_shape", st.lists(st.integers(1, 6), min_size=rank, max_size=rank))
    axis = d("axis", st.integers(-rank, rank - 1))
    size = shape[axis]
    indices_rank = d("indices_rank", st.sampled_from((0, 1, 1, 2, 3)))
    indices_shape = d("indices_shape", st.lists(st.integers(1, 4), min_size=indices_rank, max_size=indices_rank))
    rng = np.random.default_rng(d("indices.seed", st.integers(0, 2**32 - 1)))
    low = -size if d("negative_indices", st.sampled_from((True, True, False))) else 0
    indices = np.asarray(rng.integers(low, size, indices_shape)).astype(d("indices_dtype", st.sampled_from(("int64", "int32"))))
    data = values(d, "data", shape, dtype)
    attributes = {"axis": axis} if axis or d("explicit_axis", st.booleans()) else {}
    return Case("Gather", {"data": data, "indices": indices}, attributes, outputs=("output",), draws=d.record)


def gather_features(case: Case) -> dict[str, Any]:
    data, indices = case.inputs["data"], case.inputs["indices"]
    axis = case.attributes.get("axis", 0)
    return {
        "dtype": str(data.dtype), "indices_dtype": str(indices.dtype), "data_rank": data.ndim,
        "indices_rank": indices.ndim, "axis": axis, "negative_axis": axis < 0,
        "negative_indices": bool((indices < 0).any()), "scalar_indices": indices.ndim == 0,
        "axis_given": "axis" in case.attributes,
    }


# -- Dropout --------------------------------------------------------------------------------------

RATIOS = (0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9)


@st.composite
def dropout_cases(draw, pins: Mapping[str, Any] | None = None) -> Case:
    d = Draws(draw, pins)
    dtype = d("dtype", st.sampled_from(("float32",) * 4 + ("float16", "float64")))
    if d("large", st.booleans()):  # enough elements for the statistical test to have power
        shape = d("shape", st.sampled_from(([1024], [4, 256], [2, 3, 16, 16], [4096], [8, 8, 8, 8])))
    else:
        rank = d("rank", st.integers(1, 4))
        shape = d("shape", st.lists(st.integers(1, 6), min_size=rank, max_size=rank))
    data = np.asarray(float_array(d, "data", shape, dtype))
    training = d("training_mode", st.sampled_from((None, False, True, True)))
    ratio = None
    if d("ratio_given", st.sampled_from((True, True, True, False))):
        ratio_dtype = d("ratio_dtype", st.sampled_from((dtype, dtype, "float32", "float16", "float64")))
        ratio = np.asarray(d("ratio", st.sampled_from(RATIOS)), dtype=ratio_dtype)
    inputs = {"data": data, "ratio": ratio, "training_mode": None if training is None else np.asarray(training)}
    outputs = ("output", "mask") if d("mask_requested", st.booleans()) else ("output",)
    attributes = {"seed": d("seed", st.integers(0, 1000))} if d("seed_given", st.booleans()) else {}
    opset = d("opset", st.sampled_from((12, 13, 22)))
    return Case("Dropout", inputs, attributes, outputs=outputs, opset=opset, draws=d.record)


def _dropout_call(case: Case, variants: Iterable[str] = ()) -> tuple[float, bool]:
    inputs = list(case.inputs.values()) + [None, None]
    return dropout_parameters(inputs[1], inputs[2], opset=case.opset, is_test=case.attributes.get("is_test"),
                              variants=frozenset(variants))


def dropout_features(case: Case) -> dict[str, Any]:
    data = case.inputs["data"]
    ratio, training = _dropout_call(case)
    given = {k: case.inputs.get(k) is not None for k in ("ratio", "training_mode")}
    return {
        "dtype": str(data.dtype), "size": int(data.size), "ratio": ratio, "training": training,
        "random": training and ratio > 0, "ratio_given": given["ratio"], "training_mode_given": given["training_mode"],
        "ratio_omitted_training_given": given["training_mode"] and not given["ratio"],
        "ratio_dtype": str(case.inputs["ratio"].dtype) if given["ratio"] else "",
        # Where arithmetic that mixes the ratio in (NumPy promotion) changes the output's precision or dtype.
        "ratio_dtype_differs": given["ratio"] and case.inputs["ratio"].dtype != data.dtype,
        "mask_requested": len(case.outputs) > 1, "seed_given": "seed" in case.attributes, "opset": case.opset,
        "training_zero_ratio": training and ratio == 0,
    }


def binomial_tails(n: int, k: int, p: float) -> tuple[float, float]:
    """P[X <= k] and P[X >= k] for X ~ Binomial(n, p), 0 < p < 1, summed exactly in log space."""
    i = np.arange(n + 1)
    log_pmf = (math.lgamma(n + 1) - np.array([math.lgamma(j + 1) + math.lgamma(n - j + 1) for j in i])
               + i * math.log(p) + (n - i) * math.log1p(-p))
    pmf = np.exp(log_pmf)
    return float(min(1.0, pmf[:k + 1].sum())), float(min(1.0, pmf[k:].sum()))


def kept_count_p_value(kept: np.ndarray, p: float) -> float:
    """Two-sided p-value of the number of kept elements among ``kept`` under Binomial(kept.size, p)."""
    n, k = int(kept.size), int(kept.sum())
    if n == 0:
        return 1.0
    below, above = binomial_tails(n, k, p)
    return min(1.0, 2 * min(below, above))


def _unspecified_mask_judged(case: Case, outputs: Sequence[np.ndarray], variants: frozenset[str]) -> Verdict:
    """Dropout before opset 12, outside training mode, with its mask: the output is the data
    (exact), the mask's shape and type are checked, and its values are undetermined. The text
    says only that "during testing nothing needs to be done"; from opset 12, ``output = scale *
    data * mask`` makes an inference mask all ones. Runtimes differ there: onnxruntime returns
    zeros (false at opset 10), onnx.reference ones (boolean even where opsets 7 to 9 type the
    mask as the data's)."""
    if len(outputs) != len(case.outputs):
        return Verdict(False, math.inf, math.inf, "outputs", f"{len(outputs)} outputs returned; {len(case.outputs)} expected")
    expected = reference.evaluate("Dropout", list(case.inputs.values()), case.attributes, variants, case.opset,
                                  output_count=1)
    verdict = compare(outputs[:1], expected, [0.0], case.output_dtypes[:1], case.outputs[:1])
    mask, dtype = np.asarray(outputs[1]), case.output_dtypes[1]
    if verdict.ok and mask.shape != case.inputs["data"].shape:
        return Verdict(False, math.inf, math.inf, "shape",
                       f"{case.outputs[1]} has shape {list(mask.shape)}; {list(case.inputs['data'].shape)} expected")
    if verdict.ok and mask.dtype != dtype:
        return Verdict(False, math.inf, math.inf, "dtype", f"{case.outputs[1]} has dtype {mask.dtype}; {np.dtype(dtype)} expected")
    return replace(verdict, elements=verdict.elements + mask.size)


def dropout_judge(case: Case, outputs: Sequence[np.ndarray], variants: Iterable[str] = ()) -> Verdict | None:
    """The verdict on a training-mode Dropout (see the module docstring); None where it is deterministic."""
    variants = frozenset(variants)
    ratio, training = _dropout_call(case, variants)
    if not training and case.opset < 12 and len(case.outputs) > 1:
        return _unspecified_mask_judged(case, outputs, variants)
    if not training or ratio == 0:
        return None
    if len(outputs) != len(case.outputs):
        return Verdict(False, math.inf, math.inf, "outputs", f"{len(outputs)} outputs returned; {len(case.outputs)} expected")
    X = case.inputs["data"]
    for name, got, dtype in zip(case.outputs, outputs, case.output_dtypes):
        got = np.asarray(got)
        if got.shape != X.shape:
            return Verdict(False, math.inf, math.inf, "shape", f"{name} has shape {list(got.shape)}; {list(X.shape)} expected")
        if got.dtype != dtype:
            return Verdict(False, math.inf, math.inf, "dtype", f"{name} has dtype {got.dtype}; {np.dtype(dtype)} expected")
    keep, scale = keep_probability_and_scale(ratio, variants)
    x = X.astype(np.float64)
    y = np.asarray(outputs[0]).astype(np.float64)
    wanted = x * scale
    u = unit_roundoff(X.dtype)
    # How a relative error in ratio (rounded to the data's dtype) grows in the scale: by
    # ratio/(1 - ratio) through 1 - ratio; by 1 when the scale is 1/ratio.
    amplification = 1.0 if "ratio_is_keep_probability" in variants else ratio / (1.0 - ratio)
    bound = ((u * amplification + gamma(4, u) + gamma(4, FLOAT64_ROUNDOFF)) * np.abs(wanted)
             + float(np.finfo(X.dtype).tiny))
    if len(outputs) > 1:
        kept = np.asarray(outputs[1])
        decided = np.ones(X.shape, dtype=bool)
    else:
        kept = (y != 0) | np.isnan(y)
        decided = x != 0  # where the input is 0, kept and dropped both give 0
    with np.errstate(invalid="ignore"):
        ratios = np.where(kept, np.abs(y - wanted) / bound, np.where(y == 0, 0.0, np.inf))
    ratios = np.where(np.isnan(ratios), np.inf, ratios)
    if ratios.size and ratios.max() > 1:
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax(ratios)), ratios.shape))
        state = "kept" if kept[index] else "dropped"
        return Verdict(False, float(ratios[index]), math.inf, "bound",
                       f"{int((ratios > 1).sum())} of {y.size} elements of output are neither 0 (dropped) nor"
                       f" data * {scale:.9g} (kept, 1/(1 - ratio) with ratio {ratio:g}); worst at output{list(index)}"
                       f" ({state}): got {y[index]:.9g}, data {x[index]:.9g}, expected {wanted[index] if kept[index] else 0:.9g}",
                       {"output": "output", "index": list(index)})
    flat_kept, flat_decided = kept.reshape(-1), decided.reshape(-1)
    half = flat_kept.size // 2
    samples = {"whole tensor": flat_kept[flat_decided], "first half": flat_kept[:half][flat_decided[:half]],
               "second half": flat_kept[half:][flat_decided[half:]]}
    for where, sample in samples.items():
        p_value = kept_count_p_value(sample, keep)
        if p_value < ALPHA / len(samples):
            return Verdict(False, math.inf, math.inf, "distribution",
                           f"output keeps {int(sample.sum())} of {sample.size} elements ({where}); with ratio {ratio:g}"
                           f" about {keep * sample.size:.0f} are expected (two-sided binomial p = {p_value:.3g} <"
                           f" {ALPHA / len(samples):.3g})")
    return Verdict(True, float(ratios.max()) if ratios.size else 0.0, 0.0, elements=y.size, judged_elements=y.size)


# -- declarations ---------------------------------------------------------------------------------

DTYPE_CORNERS = ("dtype=float32", "dtype=float16", "dtype=float64", "dtype=int32", "dtype=int64")

DECLARATIONS = (
    OpDeclaration(
        op_type="Gemm", summary="Y = alpha * A' @ B' + beta * C with optional transposes and C broadcast: opsets 6"
                                " (C broadcast only with broadcast=1), 7, 9 (integers), 11 (C optional) and 13",
        cases=gemm_cases, tolerance=Derived(gemm_bound, "gamma_(K+2)(u) * (|alpha||A'||B'| + |beta||C|) + float64's own + 2n*tiny",
                                                     reference_error_included=True),
        features=gemm_features,
        corners=DTYPE_CORNERS + ("transA=1", "transB=1", "transposes_differ_square", "alpha_not_one", "beta_not_one",
                                 "beta_zero", "attributes_implicit") + tuple(f"C_shape={k}" for k in C_SHAPES)
        + tuple(f"opset={v}" for v in sorted(set(GEMM_OPSETS))) + ("broadcast=0", "broadcast=1"),
    ),
    OpDeclaration(
        op_type="MatMul", summary="matrix product with NumPy's rules: batched, broadcast batch axes, 1-D operands",
        cases=matmul_cases, tolerance=Derived(matmul_bound, "gamma_K(u) * (|A| @ |B|) + float64's own + 2K*tiny",
                                                       reference_error_included=True),
        features=matmul_features,
        corners=DTYPE_CORNERS + ("one_d_A", "one_d_B", "one_d_both", "batched", "batch_broadcast", "rank_differs"),
    ),
    OpDeclaration(
        op_type="Gather", summary="slices along one axis at int32/int64 indices, negative indices counted from the end",
        cases=gather_cases, tolerance=Exact(), features=gather_features,
        corners=DTYPE_CORNERS + ("indices_dtype=int32", "indices_dtype=int64", "negative_axis", "negative_indices",
                                 "scalar_indices", "data_rank=1", "data_rank=4", "axis_given=False"),
    ),
    OpDeclaration(
        op_type="Dropout", summary="identity at inference; in training, random dropout scaled by 1/(1-ratio), with its mask",
        cases=dropout_cases, tolerance=Exact(count=2), features=dropout_features, judge=dropout_judge,
        corners=("dtype=float32", "dtype=float16", "dtype=float64", "training", "training=False", "random",
                 "mask_requested", "ratio_given=False", "training_mode_given=False", "ratio_omitted_training_given",
                 "training_zero_ratio", "ratio_dtype_differs", "seed_given", "opset=12", "opset=13", "opset=22"),
    ),
)
