"""A Keras model's config walked into ONNX: Sequential and Functional models, nested ones inlined,
shared layers called once per use, each layer converted by its entry in ``conformance.keras.layers``.

Both ways Keras writes a Functional model's connections are read:

- Keras 1 and 2: ``inbound_nodes = [[["conv", 0, 0, {}], ...], ...]``, one list per call of the
  layer, one ``[layer, node_index, tensor_index, kwargs]`` per input tensor;
- Keras 3: ``inbound_nodes = [{"args": [...], "kwargs": {...}}, ...]``, whose tensors are
  ``{"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node_index, tensor_index]}}``,
  possibly inside lists (Concatenate's one argument is a list of tensors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from conformance.errors import ConformanceError
from conformance.keras.builder import GraphBuilder, config_of
from conformance.keras.files import KerasFile

MODEL_CLASSES = ("Sequential", "Functional", "Model")


@dataclass
class Call:
    """One layer as its converter sees it: its name, class and config, the Keras that wrote it."""

    name: str
    class_name: str
    config: Mapping[str, Any]
    keras_major: int
    backend: str
    _weights: Callable[[Sequence[str]], dict[str, np.ndarray]]

    def weights(self, *variables: str) -> dict[str, np.ndarray]:
        """The layer's weights by variable name (``variables`` in the order the layer creates them)."""
        return self._weights(variables)

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)


def keras_model_config(config: Any, where: str) -> dict[str, Any]:
    """The model's config as ``{"class_name", "config"}``: early Keras 2 wrote a Sequential as a bare list."""
    if isinstance(config, list):
        return {"class_name": "Sequential", "config": {"name": "sequential", "layers": config}}
    if not isinstance(config, dict) or config.get("class_name") not in MODEL_CLASSES:
        found = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise ConformanceError(f"{where}: the architecture is a {found!r}, not a Sequential or Functional model")
    return config


class Importer:
    """Walks a model's config, emitting each layer's nodes into a GraphBuilder."""

    def __init__(self, file: KerasFile, layers: Mapping[str, Callable]):
        self.file = file
        self.layers = layers
        self.graph = GraphBuilder(file.where)
        self.major = file.keras_major
        self.backend = file.backend
        self._done: dict[tuple[str, str, int], list[str]] = {}  # (scope, layer, call) -> outputs
        self._paths = tree_paths(keras_model_config(file.config, file.where), file.where)

    def top_level(self) -> tuple[list[str], str]:
        """Import the whole model: its graph inputs, then every layer; returns its outputs and name."""
        model = keras_model_config(self.file.config, self.file.where)
        shapes = _input_shapes(model, self.file.where)
        inputs = [self.graph.input(_onnx_name(name), shape, _element_type(dtype, name, self.file.where))
                  for name, shape, dtype in shapes]
        return self.model(model, inputs, scope=""), config_of(model).get("name", "model")

    def model(self, model: Mapping[str, Any], inputs: list[str], scope: str) -> list[str]:
        """A (possibly nested) model called on ``inputs``: its outputs."""
        config = config_of(model)
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ConformanceError(f"{self.file.where}: model {config.get('name')!r} has no list of layers")
        if model.get("class_name") == "Sequential":
            x = inputs
            for layer in layers:
                if _class(layer) == "InputLayer":
                    continue
                x = self.call(layer, x, scope, 0)
            return x
        by_name = {_layer_name(layer, self.file.where): layer for layer in layers}
        bound: dict[tuple[str, int, int], str] = {}
        for (name, node, tensor), x in zip(_refs(config.get("input_layers"), self.file.where), inputs):
            bound[(name, node, tensor)] = x
        missing = len(_refs(config.get("input_layers"), self.file.where)) - len(inputs)
        if missing:
            raise ConformanceError(f"{self.file.where}: model {config.get('name')!r} takes"
                                   f" {len(inputs) + missing} inputs, called with {len(inputs)}")

        def tensor(ref: tuple[str, int, int], depth: int = 0) -> str:
            if ref in bound:
                return bound[ref]
            name, node, index = ref
            layer = by_name.get(name)
            if layer is None:
                raise ConformanceError(f"{self.file.where}: a connection to unknown layer {name!r}")
            if depth > len(by_name) + 1:
                raise ConformanceError(f"{self.file.where}: the connections of layer {name!r} form a cycle")
            if _skips_first_node(layer):
                node -= 1  # Keras 2 counts a nested model's own first call, which it does not save
            outputs = self._done.get((scope, name, node))
            if outputs is None:  # resolved once: a densely connected model reads each output many times
                inbound = _inbound(layer, node, self.file.where)
                outputs = self.call(layer, [tensor(r, depth + 1) for r in inbound], scope, node)
            if index >= len(outputs):
                raise ConformanceError(f"{self.file.where}: layer {name!r} has no output {index}")
            return outputs[index]

        return [tensor(ref) for ref in _refs(config.get("output_layers"), self.file.where)]

    def call(self, layer: Mapping[str, Any], inputs: list[str], scope: str, node: int) -> list[str]:
        """One call of ``layer`` (once per call index, however many tensors read its outputs)."""
        name = _layer_name(layer, self.file.where)
        key = (scope, name, node)
        if key in self._done:
            return self._done[key]
        class_name = _class(layer)
        if class_name in MODEL_CLASSES:
            # A nested model called twice is two copies of its nodes (its weights are the same).
            outputs = self.model(layer, inputs, scope=f"{scope}{name}/" if not node else f"{scope}{name}_{node}/")
        else:
            convert = self.layers.get(class_name)
            if convert is None:
                what = "runs stored Python code, which is never run" if class_name in ("Lambda", "TFOpLambda") \
                    else "is not a layer this importer knows"
                raise ConformanceError(f"{self.file.where}: layer {name!r} ({class_name}) {what}")
            call = Call(f"{scope}{name}", class_name, config_of(layer), self.major, self.backend,
                        lambda variables: self._weights(name, variables))
            outputs = list(convert(call, inputs, self.graph))
        self._done[key] = outputs
        return outputs

    def _weights(self, layer: str, variables: Sequence[str]) -> dict[str, np.ndarray]:
        if self.file.weights is None:
            raise ConformanceError(f"{self.file.where}: an architecture without weights: give its weights file")
        return self.file.weights.of(layer, variables, self._paths.get(layer))


def snake_case(name: str) -> str:
    """Keras 3's ``naming.to_snake_case``: a class's name as its object-tree path names it."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def tree_paths(model: Mapping[str, Any], where: str, prefix: str = "layers/") -> dict[str, str]:
    """Each layer's path in Keras 3's object tree of weights: its class in snake case, numbered from
    the second of a class (``dense``, ``dense_1``), in the order of the model's layers; a nested
    model's layers under ``<its path>/layers/``. A Sequential's list leaves its InputLayer out."""
    paths: dict[str, str] = {}
    used: dict[str, int] = {}
    layers = config_of(model).get("layers") or []
    if model.get("class_name") == "Sequential":
        layers = [layer for layer in layers if _class(layer) != "InputLayer"]
    for layer in layers:
        if not isinstance(layer, Mapping):
            continue
        base = snake_case(_class(layer))
        used[base] = used.get(base, -1) + 1
        path = prefix + (f"{base}_{used[base]}" if used[base] else base)
        paths.setdefault(_layer_name(layer, where), path)
        if _class(layer) in MODEL_CLASSES:
            for name, inner in tree_paths(layer, where, f"{path}/layers/").items():
                paths.setdefault(name, inner)
    return paths


def _skips_first_node(layer: Mapping[str, Any]) -> bool:
    """Whether Keras 1/2 numbered this layer's calls from 1: a nested model built on an InputLayer
    has a first call of its own, which the config leaves out (Keras 2's ``_should_skip_first_node``).
    Keras 3 numbers the saved calls alone."""
    nodes = layer.get("inbound_nodes") or []
    if _class(layer) not in MODEL_CLASSES or not nodes or isinstance(nodes[0], Mapping):
        return False
    inner = config_of(layer).get("layers") or []
    return bool(inner) and _class(inner[0]) == "InputLayer"


def _class(layer: Any) -> str:
    return layer.get("class_name", "") if isinstance(layer, Mapping) else ""


def _layer_name(layer: Any, where: str) -> str:
    if not isinstance(layer, Mapping):
        raise ConformanceError(f"{where}: a layer that is not a JSON object")
    name = layer.get("name") or config_of(layer).get("name")
    if not isinstance(name, str) or not name:
        raise ConformanceError(f"{where}: a {_class(layer) or 'layer'} without a name")
    if "/" in name or len(name) > 500:
        # Its nodes are named <layer>/<part>: a name with / would pass for another layer's nodes.
        raise ConformanceError(f"{where}: layer name {name[:100]!r} holds a '/' or is too long, which Keras never writes")
    return name


def _onnx_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:/-]", "_", name)


def _refs(value: Any, where: str) -> list[tuple[str, int, int]]:
    """``input_layers``/``output_layers``: ``[[name, node, tensor], ...]``, or one such triple."""
    if not isinstance(value, list) or not value:
        raise ConformanceError(f"{where}: a Functional model without its input or output layers")
    triples = [value] if isinstance(value[0], str) else value
    try:
        return [(str(n), int(i), int(t)) for n, i, t in triples]
    except (TypeError, ValueError):
        raise ConformanceError(f"{where}: malformed input or output layers {str(value)[:100]}") from None


def _inbound(layer: Mapping[str, Any], node: int, where: str) -> list[tuple[str, int, int]]:
    """The tensors call ``node`` of ``layer`` reads, as (layer, node, tensor) references."""
    nodes = layer.get("inbound_nodes") or []
    if node >= len(nodes):
        raise ConformanceError(f"{where}: layer {layer.get('name')!r} has no call {node}")
    call = nodes[node]
    if isinstance(call, Mapping):  # Keras 3
        found: list[tuple[str, int, int]] = []
        _keras3_tensors(call.get("args", []), found)
        return found
    try:  # Keras 1 and 2
        return [(str(entry[0]), int(entry[1]), int(entry[2])) for entry in call]
    except (TypeError, ValueError, IndexError):
        raise ConformanceError(f"{where}: layer {layer.get('name')!r}: malformed inbound node {str(call)[:100]}") from None


def _keras3_tensors(value: Any, found: list) -> None:
    if isinstance(value, Mapping):
        if value.get("class_name") == "__keras_tensor__":
            history = config_of(value).get("keras_history") or []
            if len(history) == 3:
                found.append((str(history[0]), int(history[1]), int(history[2])))
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _keras3_tensors(item, found)


def _element_type(dtype: Any, name: str, where: str) -> int:
    """An input's ONNX element type from its layer's ``dtype`` (float32 where none is given)."""
    from onnx import helper

    if isinstance(dtype, Mapping):  # Keras 3's DTypePolicy
        dtype = config_of(dtype).get("name")
    try:
        return helper.np_dtype_to_tensor_dtype(np.dtype(dtype or "float32"))
    except (TypeError, ValueError, KeyError):
        raise ConformanceError(f"{where}: input {name!r} has dtype {str(dtype)[:50]!r}, not one this importer reads") from None


def _input_shapes(model: Mapping[str, Any], where: str) -> list[tuple[str, list[int | None], Any]]:
    """The model's inputs: name, batch shape and dtype, from its InputLayers (or a Sequential's first layer)."""
    config = config_of(model)
    layers = config.get("layers") or []
    if model.get("class_name") == "Sequential":
        first = layers[0] if layers else {}
        shape = _batch_shape(config_of(first)) or config.get("build_input_shape")
        if not shape:
            raise ConformanceError(f"{where}: a Sequential model whose input shape the file does not give")
        name = config_of(first).get("name", "input") if _class(first) == "InputLayer" else "input"
        return [(name, _dims(shape, where), config_of(first).get("dtype"))]
    by_name = {_layer_name(layer, where): layer for layer in layers}
    shapes = []
    for name, _, _ in _refs(config.get("input_layers"), where):
        layer = by_name.get(name)
        if layer is None:
            raise ConformanceError(f"{where}: input layer {name!r} is not among the layers")
        if _class(layer) in MODEL_CLASSES:
            shapes.extend(_input_shapes(layer, where))
            continue
        shape = _batch_shape(config_of(layer))
        if not shape:
            raise ConformanceError(f"{where}: input layer {name!r} has no shape")
        shapes.append((name, _dims(shape, where), config_of(layer).get("dtype")))
    return shapes


def _batch_shape(config: Mapping[str, Any]) -> list | None:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if shape is None and config.get("input_shape") is not None:
        shape = [None, *config["input_shape"]]
    return shape


def _dims(shape: Any, where: str) -> list[int | None]:
    if not isinstance(shape, list) or not all(d is None or (isinstance(d, int) and d >= 0) for d in shape):
        raise ConformanceError(f"{where}: malformed input shape {str(shape)[:100]}")
    return shape
