"""A case: one ONNX operator call (op_type, attributes, named inputs) and its one-node model.

Every part of the harness speaks this form: strategies draw cases, backends run ``case.model``
on ``case.feeds``, the reference evaluates ``case.op_type`` on the same arrays, and a failing
case is saved as ``model.onnx`` + ``inputs.npz`` so any backend can replay it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import onnx
from onnx import helper, numpy_helper

from conformance.errors import ConformanceError

MODEL_FILE, INPUTS_FILE, METADATA_FILE = "model.onnx", "inputs.npz", "case.json"


def current_opset(op_type: str, domain: str = "") -> int:
    """The opset in which the installed onnx's current definition of ``op_type`` appeared."""
    return onnx.defs.get_schema(op_type, domain).since_version


@dataclass(frozen=True, eq=False)
class Case:
    """One operator call. ``inputs`` is ordered as the node's inputs; ``None`` omits an optional one.

    The input arrays are made read-only: backends receive the very arrays the reference reads,
    and a backend that writes into its inputs fails loudly instead of skewing the verdict.
    """

    op_type: str
    inputs: Mapping[str, np.ndarray | None]
    attributes: Mapping[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ("Y",)
    opset: int = 0  # 0: the operator's current definition in the installed onnx
    domain: str = ""
    draws: Mapping[str, Any] = field(default_factory=dict)  # the labelled draws that made it
    # Shapes of outputs ONNX's shape inference leaves untyped (BatchNormalization-9's training outputs).
    output_shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self):
        if not self.opset:
            object.__setattr__(self, "opset", current_opset(self.op_type, self.domain))
        for array in self.inputs.values():
            if array is not None:
                array.flags.writeable = False  # backends get the very arrays the reference reads

    @property
    def feeds(self) -> dict[str, np.ndarray]:
        """The inputs a backend receives: every input that is present, by graph input name."""
        return {name: array for name, array in self.inputs.items() if array is not None}

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the first input, which sets the precision the case is judged in."""
        return next(a.dtype for a in self.inputs.values() if a is not None)

    @property
    def output_dtypes(self) -> list[np.dtype]:
        """The output dtypes the model declares, from ONNX's own type inference."""
        return [np.dtype(helper.tensor_dtype_to_np_dtype(o.type.tensor_type.elem_type)) for o in self.model.graph.output]

    @cached_property
    def model(self) -> onnx.ModelProto:
        return node_model(self.op_type, self.inputs, self.attributes, self.outputs, self.opset, self.domain,
                          self.output_shapes)

    def __repr__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """One line: ``Conv(strides=[2, 1]) X: float32[1, 3, 8, 8], W: float32[4, 3, 3, 3]``."""
        attributes = ", ".join(f"{k}={_attribute_text(v)}" for k, v in sorted(self.attributes.items()))
        shapes = ", ".join(
            f"{name}: {array.dtype}{list(array.shape)}"
            for name, array in self.inputs.items()
            if array is not None
        )
        return f"{self.op_type}-{self.opset}({attributes}) {shapes}"

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description: operator, opset, attributes, input shapes and dtypes."""
        return {
            "op": self.op_type,
            "opset": self.opset,
            "attributes": {k: _jsonable(v) for k, v in sorted(self.attributes.items())},
            "inputs": {
                name: {"dtype": str(array.dtype), "shape": list(array.shape)}
                for name, array in self.inputs.items()
                if array is not None
            },
        }

    @classmethod
    def from_model(cls, model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> "Case":
        """Rebuild the case behind a one-node model; raises ConformanceError if it is not one."""
        graph = model.graph
        if len(graph.node) != 1:
            raise ConformanceError(f"a case is a one-node model; this one has {len(graph.node)} nodes")
        node = graph.node[0]
        opset = next((o.version for o in model.opset_import if o.domain == node.domain), 0)
        if not opset:
            raise ConformanceError(f"the model imports no opset for domain {node.domain!r}")
        declared = {i.name: i for i in graph.input}
        inputs: dict[str, np.ndarray | None] = {}
        for position, name in enumerate(node.input):
            if not name:  # an omitted optional input keeps its position under a placeholder key
                inputs[f"__omitted_{position}"] = None
                continue
            if name not in feeds:
                raise ConformanceError(f"the inputs give no array for the model's input {name!r}")
            array = np.asarray(feeds[name])
            _check_declared(name, array, declared.get(name))
            inputs[name] = array.copy()
        extra = sorted(set(feeds) - set(node.input))
        if extra:
            raise ConformanceError(f"the inputs have arrays the model does not use: {', '.join(extra)}")
        attributes = {a.name: attribute_value(a) for a in node.attribute}
        shapes = {o.name: tuple(d.dim_value for d in o.type.tensor_type.shape.dim) for o in graph.output
                  if o.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in o.type.tensor_type.shape.dim)}
        return cls(node.op_type, inputs, attributes, tuple(node.output), opset, node.domain, output_shapes=shapes)


def node_model(
    op_type: str,
    inputs: Mapping[str, np.ndarray | None],
    attributes: Mapping[str, Any],
    outputs: tuple[str, ...],
    opset: int,
    domain: str = "",
    output_shapes: Mapping[str, Sequence[int]] | None = None,
) -> onnx.ModelProto:
    """A one-node model with typed, fully shaped inputs, at the lowest IR version that opset needs.

    Outputs are typed by ONNX's own shape inference; ``output_shapes`` shapes those it leaves
    unshaped or untyped (these get the first input's element type).
    """
    names = [name if array is not None else "" for name, array in inputs.items()]
    while names and not names[-1]:
        names.pop()
    node = helper.make_node(op_type, names, list(outputs), domain=domain, **attributes)
    graph_inputs = [
        helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape)
        for name, array in inputs.items()
        if array is not None
    ]
    opsets = [helper.make_opsetid(domain, opset)]
    graph = helper.make_graph([node], f"{op_type}_case", graph_inputs, [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="nn-conformance")
    model.ir_version = helper.find_min_ir_version_for(opsets)
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    if any(name not in inferred or not inferred[name].type.tensor_type.HasField("shape") for name in outputs):
        inferred.update(_inferred_from_values(model, inputs))
    first_type = graph_inputs[0].type.tensor_type.elem_type if graph_inputs else onnx.TensorProto.FLOAT
    for name in outputs:
        # ONNX's own shape inference types the outputs; the checker wants a shape field there.
        found, shape = inferred.get(name), (output_shapes or {}).get(name)
        if found is None or (shape is not None and not found.type.tensor_type.HasField("shape")):
            elem_type = found.type.tensor_type.elem_type if found is not None else first_type
            found = helper.make_tensor_value_info(name, elem_type, shape)
        model.graph.output.append(found)
    return model


def _inferred_from_values(model: onnx.ModelProto, inputs: Mapping[str, np.ndarray | None]) -> dict[str, onnx.ValueInfoProto]:
    """Output types from ONNX's inference of the node given the values of its integer inputs.

    Where an output's shape depends on an input's values (Reshape's shape, Squeeze's axes, Split's
    split, Slice's starts), graph inference cannot know it, as the inputs are fed at run time.
    """
    (node,) = model.graph.node
    opset = next(o.version for o in model.opset_import if o.domain == node.domain)
    values = {name: numpy_helper.from_array(array, name) for name, array in inputs.items()
              if array is not None and array.dtype.kind in "iu" and array.size <= 64}
    try:
        types = onnx.shape_inference.infer_node_outputs(
            onnx.defs.get_schema(node.op_type, opset, node.domain), node,
            {i.name: i.type for i in model.graph.input}, input_data=values,
            opset_imports=list(model.opset_import), ir_version=model.ir_version)
    except Exception:  # ONNX's inference rejects the node: the graph inference stands
        return {}
    return {name: helper.make_value_info(name, type_proto) for name, type_proto in types.items()
            if type_proto.tensor_type.HasField("shape")}


def save_case(case: Case, directory: Path | str, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write ``model.onnx``, ``inputs.npz`` and ``case.json`` into ``directory``."""
    return write_case_files(case_files(case, metadata), directory)


def case_files(case: Case, metadata: Mapping[str, Any] | None = None) -> dict[str, bytes]:
    """The files ``save_case`` writes, by name, as bytes (a cached probe keeps its witness so)."""
    inputs = io.BytesIO()
    np.savez(inputs, **case.feeds)
    return {
        MODEL_FILE: case.model.SerializeToString(),
        INPUTS_FILE: inputs.getvalue(),
        METADATA_FILE: (json.dumps({"case": case.summary(), **(metadata or {})}, indent=2, default=_jsonable)
                        + "\n").encode(),
    }


def write_case_files(files: Mapping[str, bytes], directory: Path | str) -> Path:
    """Write the files of ``case_files`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, INPUTS_FILE, METADATA_FILE):
        (directory / name).write_bytes(files[name])
    return directory


def load_case(directory: Path | str) -> tuple[Case, dict[str, Any]]:
    """Read a saved case without executing anything it contains; ConformanceError if malformed."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConformanceError(f"{directory}: no such directory (a saved case holds {MODEL_FILE} and {INPUTS_FILE})")
    model_path, inputs_path = directory / MODEL_FILE, directory / INPUTS_FILE
    for path in (model_path, inputs_path):
        if not path.is_file():
            raise ConformanceError(f"{directory}: {path.name} is missing")
    try:
        model = onnx.load_model(str(model_path), load_external_data=False)
    except Exception as error:
        raise ConformanceError(f"{model_path}: not a valid ONNX model ({_first_line(error)})") from None
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        raise ConformanceError(f"{model_path}: models with external data are not accepted")
    try:
        with np.load(inputs_path, allow_pickle=False) as archive:
            feeds = {name: archive[name] for name in archive.files}
    except Exception as error:
        raise ConformanceError(f"{inputs_path}: not a NumPy .npz archive of plain arrays ({_first_line(error)})") from None
    for name, array in feeds.items():
        if array.dtype.kind not in "biuf":
            raise ConformanceError(f"{inputs_path}: array {name!r} has unsupported dtype {array.dtype}")
    metadata: dict[str, Any] = {}
    metadata_path = directory / METADATA_FILE
    if metadata_path.is_file():
        try:
            metadata = json.loads(metadata_path.read_text())
        except ValueError as error:
            raise ConformanceError(f"{metadata_path}: not valid JSON ({error})") from None
    return Case.from_model(model, feeds), metadata


def _check_declared(name: str, array: np.ndarray, declared: onnx.ValueInfoProto | None) -> None:
    if declared is None:
        raise ConformanceError(f"the node reads {name!r}, which is not a graph input")
    tensor_type = declared.type.tensor_type
    expected = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type) if tensor_type.elem_type else None
    if expected is not None and array.dtype != expected:
        raise ConformanceError(f"input {name!r} is {array.dtype}; the model declares {np.dtype(expected)}")
    if tensor_type.HasField("shape"):
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim]
        if len(dims) != array.ndim or any(d is not None and d != s for d, s in zip(dims, array.shape)):
            raise ConformanceError(f"input {name!r} has shape {list(array.shape)}; the model declares {dims}")


def attribute_value(attribute: onnx.AttributeProto) -> Any:
    """An attribute as a Python value: strings decoded, lists as lists."""
    value = helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [v.decode() if isinstance(v, bytes) else v for v in value]
    return value


def _attribute_text(value: Any) -> str:
    """An attribute as ``describe`` shows it: a tensor by its dtype and values (``float16[2.5]``)."""
    if isinstance(value, onnx.TensorProto):
        array = numpy_helper.to_array(value)
        return f"{array.dtype}{array.reshape(-1).tolist()}" + ("" if array.ndim == 1 else f" of shape {list(array.shape)}")
    return repr(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, onnx.TensorProto):
        array = numpy_helper.to_array(value)
        return {"tensor": str(array.dtype), "shape": list(array.shape), "values": _jsonable(array.reshape(-1))}
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
