"""A Keras file's weights, found by the layer that owns them, never by their position in the file.

Two layouts exist:

- **Named** (HDF5 written by Keras 1 and 2, and Keras 3's legacy ``.h5``): a group per layer,
  listed in the ``layer_names`` attribute; each group's ``weight_names`` attribute names its
  datasets. A name is ``<layer>/<variable>:0`` (Keras 2), ``<layer>/<variable>`` (Keras 3) or
  ``<layer>_<variable>`` (Keras 1, ``dense_1_W``); a nested model's group holds its layers'
  weights under their own names. Attributes over HDF5's 64 KB limit are split into
  ``layer_names0``, ``layer_names1``... Frozen layers list their trainable weights last, so the
  order of ``weight_names`` is never relied on: a weight is found by its layer and variable name.
- **Object tree** (Keras 3's ``.keras`` and ``.weights.h5``): ``layers/<path>/vars/<i>``, where the
  path follows the object tree (``layers/conv2d_1``, ``layers/functional/layers/dense``), not the
  layer's name, and ``vars`` holds the layer's variables in the order the layer creates them.
  Recent Keras 3 writes the layer's name as the ``vars`` group's ``name`` attribute; where it is
  missing the importer gives the path.

The file is read by ``conformance.keras.hdf5`` (in a child process, hard links only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from conformance.errors import ConformanceError
from conformance.keras.hdf5 import Group

# Keras 1's variable names, as later Keras calls them.
KERAS1_NAMES = {"W": "kernel", "b": "bias", "running_mean": "moving_mean", "running_std": "moving_variance",
                "U": "recurrent_kernel", "depthwise_W": "depthwise_kernel", "pointwise_W": "pointwise_kernel"}


@dataclass
class Weights:
    """Every weight of a file, by owning layer: ``named[layer][variable]`` or ``tree[path]`` (ordered)."""

    where: str
    named: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    tree: dict[str, list[np.ndarray]] = field(default_factory=dict)
    tree_names: dict[str, str] = field(default_factory=dict)  # layer name -> its path in the tree

    def of(self, layer: str, variables: Sequence[str], path: str | None = None) -> dict[str, np.ndarray]:
        """The weights of ``layer``, by variable name. ``variables`` lists them in the order the layer
        creates them (Keras 3's tree is ordered, not named); ``path`` is the layer's place in the
        tree where the file does not name it. A variable renamed between versions is given as its names joined by ``|``
        (``kernel|depthwise_kernel``), and returned under the first.
        """
        if not variables:
            return {}
        keys = [v.split("|")[0] for v in variables]
        if self.named:
            found = self.named.get(layer)
            if found is None:
                raise ConformanceError(f"{self.where}: no weights for layer {layer!r}")
            chosen = {}
            for key, names in zip(keys, variables):
                name = next((n for n in names.split("|") if n in found), None)
                if name is None:
                    raise ConformanceError(f"{self.where}: layer {layer!r} has no weight {key!r}"
                                           f" (it has {', '.join(sorted(found)) or 'none'})")
                chosen[key] = found[name]
            return chosen
        where = self.tree_names.get(layer, path)
        arrays = self.tree.get(where or "")
        if arrays is None:
            raise ConformanceError(f"{self.where}: no weights for layer {layer!r}" + (f" (at {where})" if where else ""))
        if len(arrays) != len(variables):
            raise ConformanceError(f"{self.where}: layer {layer!r} has {len(arrays)} weights where its config makes"
                                   f" {len(variables)} ({', '.join(keys)})")
        return dict(zip(keys, arrays))


def open_weights(file: Group, where: str, group: str | None = None) -> Weights:
    """The weights in an HDF5 file read by ``conformance.keras.hdf5`` (``group``: where a whole-model
    file keeps them)."""
    root = file.get(group) if group else file
    if not isinstance(root, Group):
        raise ConformanceError(f"{where}: no {group!r} group of weights")
    if "layers" in root.children and not _split_attribute(root, "layer_names"):
        return _tree_weights(root, where)
    return _named_weights(root, where)


def _named_weights(root: Group, where: str) -> Weights:
    weights = Weights(where)
    for layer in _split_attribute(root, "layer_names"):
        group = _child(root, layer, where, Group)
        for name in _split_attribute(group, "weight_names"):
            array = _child(group, name, where, np.ndarray)
            owner, variable = _owner_and_variable(layer, name)
            weights.named.setdefault(owner, {})[variable] = array
        weights.named.setdefault(layer, {})
    return weights


def _owner_and_variable(layer: str, name: str) -> tuple[str, str]:
    """Which layer a weight of ``layer``'s group belongs to, and its variable name."""
    name = name.split(":")[0]
    parts = name.split("/")
    if len(parts) >= 2:
        return parts[-2], parts[-1]
    if name.startswith(layer + "_"):  # Keras 1: dense_1_W
        short = name[len(layer) + 1:]
        return layer, KERAS1_NAMES.get(short, short)
    return layer, KERAS1_NAMES.get(name, name)


def _tree_weights(root: Group, where: str) -> Weights:
    weights = Weights(where)
    pending = [("", root)]
    while pending:
        path, group = pending.pop()
        for key, child in group.children.items():
            if not isinstance(child, Group):
                continue
            child_path = f"{path}/{key}" if path else key
            if key == "vars":
                weights.tree[path] = [_child(child, str(i), where, np.ndarray) for i in range(len(child.children))]
                name = child.attrs.get("name")
                if isinstance(name, str):
                    weights.tree_names.setdefault(name, path)
            else:
                pending.append((child_path, child))
    return weights


def _split_attribute(group: Group, name: str) -> list[str]:
    """An attribute of strings, whole or split into ``name0``, ``name1``... (HDF5's 64 KB limit)."""
    if name in group.attrs:
        values = group.attrs[name]
    else:
        values, index = [], 0
        while f"{name}{index}" in group.attrs:
            part = group.attrs[f"{name}{index}"]
            values.extend(part if isinstance(part, list) else [part])
            index += 1
    values = values if isinstance(values, list) else [values]
    return [str(v) for v in values]


def _child(group: Group, name: str, where: str, kind: type):
    found = group.get(name)
    if not isinstance(found, kind):
        what = "weights" if kind is np.ndarray else "a group"
        raise ConformanceError(f"{where}: {name!r} is missing or is not {what}")
    return found
