"""The model check: each node judged on its own, on the reference's inputs, so that the first node
that computes wrongly is found whatever happened upstream.

The reference walks the graph in topological order. Each node whose operator is declared becomes
an ordinary single-node case: its inputs are the reference's values upstream, rounded to the
types the model gives them, its attributes and opset the node's. The reference evaluates the case
in float64 (its outputs, so rounded, feed the nodes downstream), and every backend runs the same
case and is judged by the operator's declaration, bound, known divergences and all (**isolated**). The first
node (in graph order) a backend fails is its **first divergence**: saved as a case that
``conformance replay`` reruns, and diagnosed (``flipped_kernel``, ...).

Each backend also runs the whole model (**end to end**), twice: as it is, for the outputs, and with
every node's output marked as a graph output, for the intermediate tensors (a runtime that fuses
nodes may compute them otherwise there; a backend with ``run_unoptimized``, onnxruntime, runs that
one with its graph optimizations off); once, with every output marked, where the backend
evaluates graphs node by node (``evaluates_node_by_node``: the reference, TensorFlow). Their
deviation from the reference, relative to the largest reference value of each tensor, shows how
error grows along the graph; it is measured, not judged.

A node whose operator has no reference (``conformance ops`` lists the declared ones) is run on the
first backend that can run it, and its outputs are trusted downstream: it is reported by name
and marked ``unreferenced``. Tensors are released once their last consumer has been judged.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import onnx
from onnx import helper, numpy_helper

from conformance.backends import Backend, spec_of
from conformance.case import Case, attribute_value, save_case
from conformance.certify import _error_message, _slug, excused_by, run_example
from conformance.diagnosis import diagnose
from conformance.divergences import KnownDivergence
from conformance.environment import execution_facts
from conformance.errors import ConformanceError
from conformance.ops import declarations

FAILING = ("disagree", "error")
REPLAY_HINT = "conformance replay {dir} --backend {backend}"


@dataclass
class NodeResult:
    """One node, on one backend."""

    index: int
    node: str
    op: str
    status: str  # agree, disagree, error, unsupported, known_divergence, unreferenced
    max_error_ratio: float | None = None
    end_to_end_error: float | None = None
    message: str = ""


@dataclass
class FirstDivergence:
    """The first node a backend computes wrongly in isolation."""

    node: str
    op: str
    index: int
    status: str
    max_error_ratio: float | None
    diagnosis: list[str]
    description: str
    message: str
    saved_to: str = ""
    replay: str = ""


@dataclass
class BackendCheck:
    """A backend's verdict on the model."""

    backend: str
    version: str
    spec: str
    status: str = "agree"  # agree, known_divergence, unsupported (a node it cannot run), disagree, error
    first_divergence: FirstDivergence | None = None
    nodes: list[NodeResult] = field(default_factory=list)
    end_to_end: dict[str, float | None] = field(default_factory=dict)  # graph output -> relative deviation
    end_to_end_message: str = ""  # why the whole model did not run, if it did not

    def counts(self) -> Counter:
        """Nodes by status."""
        return Counter(n.status for n in self.nodes)


@dataclass
class ModelCheck:
    model: str
    nodes: int
    unreferenced: list[str]
    results: list[BackendCheck]
    # With a test data set's outputs: the relative deviation from them of the reference's outputs
    # ("reference" chain, float64 per node) and of each backend's, run end to end (by backend name).
    data_set: dict[str, float | None] = field(default_factory=dict)


def check_model(
    model: onnx.ModelProto,
    backends: Sequence[Backend],
    inputs: Mapping[str, np.ndarray] | None = None,
    *,
    name: str = "model",
    divergences: Iterable[KnownDivergence] = (),
    failures_dir: Path | str | None = None,
    replay_hint: str = REPLAY_HINT,
    on_node: Callable[[int, int], None] | None = None,
    expected_outputs: Sequence[np.ndarray] | None = None,
) -> ModelCheck:
    """Check ``model`` (checked and shape-inferred, see ``conformance.model.load``) on ``backends``
    with ``inputs`` (drawn from the input types, seed 0, if None); ``on_node(done, total)`` is
    called as the walk advances. ``expected_outputs`` (a test data set's, in graph-output order) are
    compared with the reference's outputs and each backend's (``ModelCheck.data_set``)."""
    if not backends:
        raise ConformanceError("no backend to check the model on")
    if inputs is None:
        from conformance.model.inputs import drawn_inputs

        inputs = drawn_inputs(model)
    graph = model.graph
    types = _value_types(model)
    opsets = {o.domain or "": o.version for o in model.opset_import}
    table = declarations()
    results = [BackendCheck(b.name, b.version, spec_of(b)) for b in backends]
    divergences = list(divergences)
    facts = [execution_facts(b) for b in backends]
    runs = [_end_to_end(model, b, inputs, r) for b, r in zip(backends, results)]
    intermediates = [run[1] if run is not None else None for run in runs]
    firsts: dict[int, tuple[NodeResult, Case, Any]] = {}  # backend -> its first failing node, its case, outputs

    # Every value is kept in the type the model gives it: what the nodes downstream are fed.
    values: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    values.update({k: np.asarray(v) for k, v in inputs.items()})
    remaining = Counter(i for node in graph.node for i in node.input if i)
    kept = {o.name for o in graph.output}
    unreferenced: list[str] = []
    for index, node in enumerate(graph.node):
        label = node.name or node.output[0]
        arguments = [values[i] if i else None for i in node.input]
        declared = node.domain in ("", "ai.onnx") and node.op_type in table
        if declared:
            declaration = table[node.op_type]
            case = node_case(node, arguments, opsets.get(node.domain or "", 0))
            expected = declaration.expected(case)
            for number, (backend, result, backend_facts) in enumerate(zip(backends, results, facts)):
                regions = [d for d in divergences if d.region
                           and d.applies_to(backend.name, backend.version, node.op_type, backend_facts)]
                judged, outputs = _judged(index, label, declaration, backend, case, expected, regions)
                result.nodes.append(judged)
                if judged.status in FAILING and number not in firsts:
                    firsts[number] = (judged, case, outputs)
            outputs = expected
        else:
            outputs = _trusted(node, arguments, opsets, backends, label)
            unreferenced.append(f"{label} ({node.op_type})")
            for result in results:
                result.nodes.append(NodeResult(index, label, node.op_type, "unreferenced",
                                               message="no reference for this operator: its outputs are trusted"))
        rounded_to = next((a.dtype for a in arguments if a is not None and a.dtype.kind == "f"), None)
        for output, value in zip(node.output, outputs):
            if output:
                value = np.asarray(value)
                values[output] = value.astype(types.get(output, rounded_to if value.dtype.kind == "f" else value.dtype),
                                              copy=False)
        for result, seen in zip(results, intermediates):
            result.nodes[-1].end_to_end_error = _deviation(seen, node.output, values)
        for consumed in node.input:
            remaining[consumed] -= 1
            if consumed and remaining[consumed] == 0 and consumed not in kept:
                values.pop(consumed, None)
                for seen in intermediates:
                    if seen is not None:
                        seen.pop(consumed, None)
        if on_node is not None:
            on_node(index + 1, len(graph.node))

    for number, (backend, result, run) in enumerate(zip(backends, results, runs)):
        if run is not None:
            result.end_to_end = {o: _relative(value, values.get(o)) for o, value in run[0].items()}
        if number in firsts:
            node, case, outputs = firsts[number]
            result.status = node.status
            result.first_divergence = _first_divergence(name, node, case, outputs, backend, failures_dir, replay_hint)
        elif any(n.status == "unsupported" for n in result.nodes):
            result.status = "unsupported"  # not all judged: not an agreement, whatever the others say
        elif any(n.status == "known_divergence" for n in result.nodes):
            result.status = "known_divergence"
    data_set = {}
    if expected_outputs is not None:
        names = [o.name for o in graph.output]
        data_set["reference"] = _worst(_relative(values.get(n), e) for n, e in zip(names, expected_outputs))
        for result, run in zip(results, runs):
            data_set[result.backend] = None if run is None else _worst(
                _relative(run[0].get(n), e) for n, e in zip(names, expected_outputs))
    return ModelCheck(name, len(graph.node), unreferenced, results, data_set)


def _worst(deviations: Iterable[float | None]) -> float | None:
    """The largest deviation; None if any is unknown (a shape that differs, say)."""
    deviations = list(deviations)
    return None if any(d is None for d in deviations) else max(deviations, default=0.0)


def node_case(node: onnx.NodeProto, arguments: Sequence[np.ndarray | None], opset: int) -> Case:
    """A model node as a single-node case: the operator's own input and output names (the
    declaration's features read them), the node's attributes and opset."""
    schema = onnx.defs.get_schema(node.op_type, opset, node.domain)
    names = _formal_names(schema.inputs, len(arguments))
    inputs = {(name if array is not None else f"__omitted_{position}"): array
              for position, (name, array) in enumerate(zip(names, arguments))}
    while inputs and next(reversed(inputs.values())) is None:
        inputs.popitem()
    outputs = [name for name in node.output]
    while outputs and not outputs[-1]:
        outputs.pop()
    if any(not name for name in outputs):
        raise ConformanceError(f"node {node.name or node.output[0]}: an omitted output before a present one")
    return Case(node.op_type, inputs, {a.name: attribute_value(a) for a in node.attribute},
                outputs=tuple(_formal_names(schema.outputs, len(outputs))), opset=opset, domain=node.domain)


def _formal_names(formals, count: int) -> list[str]:
    """The names of ``count`` positions of a schema's inputs or outputs (a variadic one numbered)."""
    names = []
    for position in range(count):
        formal = formals[min(position, len(formals) - 1)]
        if formal.option == onnx.defs.OpSchema.FormalParameterOption.Variadic:
            start = len(formals) - 1
            names.append(f"{re.sub(r'_0$', '', formal.name)}_{position - start}")
        else:
            names.append(formal.name)
    return names


def _judged(index: int, label: str, declaration, backend: Backend, case: Case, expected,
            regions: Sequence[KnownDivergence]) -> tuple[NodeResult, Any]:
    """The node's verdict on ``backend``, and the backend's outputs."""
    outcome = run_example(declaration, backend, case, expected=expected)
    ratio = outcome.verdict.max_error_ratio if outcome.verdict is not None else None
    result = NodeResult(index, label, case.op_type, outcome.status, _finite(ratio), message=outcome.message)
    if outcome.status in FAILING and regions:
        try:
            features = declaration.features(case)
        except Exception:  # noqa: BLE001 - a node of an older opset may lack a feature: no region holds it
            features = {}
        inside = [d for d in regions if d.matches(features)]
        excusing = excused_by(inside, declaration, case, outcome) if inside else []
        if excusing:
            result.status = "known_divergence"
            result.message = ", ".join(d.id for d in excusing)
    return result, outcome.outputs


def _trusted(node: onnx.NodeProto, arguments, opsets: Mapping[str, int], backends: Sequence[Backend],
             label: str) -> Sequence[np.ndarray]:
    """The outputs of a node the reference cannot evaluate, from the first backend that runs it."""
    model = _single_node_model(node, arguments, opsets.get(node.domain or "", 0))
    feeds = {name: array for name, array in zip(node.input, arguments) if name}
    reasons = []
    for backend in backends:
        try:
            return backend.run(model, feeds)
        except Exception as error:  # noqa: BLE001 - the next backend may run it
            reasons.append(f"{backend.name}: {error}")
    raise ConformanceError(f"node {label}: the reference has no {node.op_type}, and no backend runs it"
                           f" ({'; '.join(reasons)})")


def _single_node_model(node: onnx.NodeProto, arguments, opset: int) -> onnx.ModelProto:
    inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape)
              for name, array in zip(node.input, arguments) if name]
    graph = helper.make_graph([node], "node", inputs, [helper.make_empty_tensor_value_info(o) for o in node.output if o])
    opsets = [helper.make_opsetid(node.domain or "", opset)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = helper.find_min_ir_version_for(opsets)
    return model


def _end_to_end(model: onnx.ModelProto, backend: Backend, inputs, result: BackendCheck) -> tuple[dict, dict] | None:
    """The backend's outputs for the whole model, and its intermediate tensors (every output
    marked), by name; None (and why, in the result) where it cannot run it."""
    once = getattr(backend, "evaluates_node_by_node", False)  # then marking outputs changes nothing it computes
    run_marked = getattr(backend, "run_unoptimized", backend.run)  # onnxruntime: its graph optimizations off
    try:
        marked = with_every_output(model, keep_outputs=once)
        every = {o.name: np.asarray(v) for o, v in zip(marked.graph.output, run_marked(marked, dict(inputs)))}
        final = every if once else dict(zip((o.name for o in model.graph.output), backend.run(model, dict(inputs))))
    except Exception as error:  # noqa: BLE001 - an unsupported node, say: isolated verdicts still stand
        result.end_to_end_message = _error_message(error)
        return None
    return {o.name: np.asarray(final[o.name]) for o in model.graph.output}, every


def with_every_output(model: onnx.ModelProto, keep_outputs: bool = False) -> onnx.ModelProto:
    """A copy of ``model`` whose graph outputs are every node's (typed) outputs (``keep_outputs``:
    the model's own outputs included, wherever a node produces them)."""
    marked = onnx.ModelProto()
    marked.CopyFrom(model)
    typed = {v.name: v for v in (*model.graph.value_info, *model.graph.output)}
    del marked.graph.output[:]
    for node in model.graph.node:
        for name in node.output:
            if name in typed:
                marked.graph.output.append(typed[name])
    if keep_outputs:
        present = {o.name for o in marked.graph.output}
        marked.graph.output.extend(o for o in model.graph.output if o.name not in present)
    return marked


def _deviation(seen: dict | None, names: Sequence[str], values: Mapping[str, np.ndarray]) -> float | None:
    if seen is None:
        return None
    deviations = [_relative(seen.get(n), values.get(n)) for n in names if n]
    known = [d for d in deviations if d is not None]
    return max(known) if known else None


def _relative(got: np.ndarray | None, reference: np.ndarray | None) -> float | None:
    """max |got - reference| / max |reference| (the absolute deviation where the reference is all zeros)."""
    if got is None or reference is None or np.shape(got) != np.shape(reference) or np.size(reference) == 0:
        return None
    got, reference = np.asarray(got, np.float64), np.asarray(reference, np.float64)
    scale = float(np.max(np.abs(reference)))
    return _finite(float(np.max(np.abs(got - reference))) / (scale if scale > 0 else 1.0))


def _first_divergence(name: str, node: NodeResult, case: Case, outputs, backend: Backend, failures_dir,
                      replay_hint: str) -> FirstDivergence:
    """The first failing node, diagnosed, and saved as a case in ``failures_dir``."""
    declaration = declarations()[case.op_type]
    diagnosis = diagnose(declaration, case, outputs) if node.status == "disagree" and outputs is not None else []
    found = FirstDivergence(node.node, node.op, node.index, node.status, node.max_error_ratio, diagnosis,
                            case.describe(), node.message)
    if failures_dir is not None:
        directory = Path(failures_dir) / _slug(f"{name}-{backend.name}-{node.node}")
        save_case(case, directory, {"backend": spec_of(backend), "backend_name": backend.name,
                                    "backend_version": backend.version, "status": node.status,
                                    "message": node.message, "diagnosis": diagnosis,
                                    "model": name, "node": node.node, "node_index": node.index})
        found.saved_to = str(directory)
        found.replay = replay_hint.format(dir=shlex.quote(str(directory)), backend=shlex.quote(spec_of(backend)))
    return found


def _value_types(model: onnx.ModelProto) -> dict[str, np.dtype]:
    """The element type of every typed tensor of the model (inputs, outputs, inferred values)."""
    types = {}
    for value in (*model.graph.input, *model.graph.value_info, *model.graph.output):
        elem = value.type.tensor_type.elem_type
        if elem:
            types[value.name] = np.dtype(helper.tensor_dtype_to_np_dtype(elem))
    for tensor in model.graph.initializer:
        types[tensor.name] = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type))
    return types


def _finite(value: float | None) -> float | None:
    return value if value is not None and np.isfinite(value) else None
