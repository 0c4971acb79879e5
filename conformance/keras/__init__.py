"""Keras models read without Keras (``json``, ``zipfile`` and ``h5py``), as ONNX models whose nodes
are grouped by Keras layer: each node's name starts with its layer's name, so that the model
check's localization names the Keras layer.

Files: ``conformance.keras.files``; weights: ``conformance.keras.weights``; the walk over a
model's config: ``conformance.keras.graph``; each layer's conversion, faithful to the Keras that
wrote the file: ``conformance.keras.layers`` and ``conformance.keras.activations``.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from conformance.keras.files import KerasFile, read_keras_file


def keras_to_onnx(file: KerasFile) -> onnx.ModelProto:
    """The ONNX model of a Keras file's architecture and weights."""
    from conformance.keras.graph import Importer
    from conformance.keras.layers import LAYERS
    from conformance.model.load import checked

    importer = Importer(file, LAYERS)
    outputs, name = importer.top_level()
    producer = f"nn-conformance keras import (Keras {file.keras_version or file.keras_major}"
    producer += f", {file.backend} backend)" if file.backend else ")"
    model = importer.graph.model(outputs, name, producer)
    return checked(model, file.where)


def load_keras(path: Path | str, weights: Path | str | None = None, data: bytes | None = None) -> onnx.ModelProto:
    """The Keras model at ``path`` (with its separate ``weights`` file, if any; ``data``: its bytes,
    if already read) as ONNX."""
    return keras_to_onnx(read_keras_file(path, weights, data))
