"""Loading an ONNX model to check, safely: nothing executed, nothing read outside its folder.

- The file is parsed as a protobuf (``onnx.load_model_from_string``): a model holds no code.
- Tensors stored as external data (``data_location = EXTERNAL``) are read by this module, not by
  onnx's loader: each ``location`` must be a relative path that resolves inside the model's
  folder, symbolic links included (CVE-2024-27318, a ``location`` of ``../../etc/passwd``), and
  ``offset`` and ``length`` must lie within the file and match the tensor's size.
- ``onnx.checker`` and ONNX's shape inference (strict) then run, and the model is returned with
  its inferred shapes. Anything wrong is a ConformanceError of one line: the file, and what.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto, helper

from conformance.errors import ConformanceError

# A model file or an external-data file larger than this is refused before it is read.
MAX_BYTES = 8 * 2**30


def load_model_file(path: Path | str) -> onnx.ModelProto:
    """The model at ``path``, its external data read in, checked and shape-inferred."""
    return _onnx_model(read_bounded(path, MAX_BYTES, "an ONNX model file"), Path(path))


def read_bounded(path: Path | str, limit: int, what: str = "a model file") -> bytes:
    """The bytes of ``path``, refused (one line) past ``limit`` bytes, or when it is a directory
    (``what`` names what was expected) or cannot be read."""
    try:
        size = Path(path).stat().st_size
        if size > limit:
            raise ConformanceError(f"{path}: {size} bytes, more than this tool reads ({limit})")
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise ConformanceError(f"{path}: a directory, not {what}") from None
    except OSError as error:
        raise ConformanceError(f"{path}: cannot read it ({error.strerror or error})") from None


def _onnx_model(data: bytes, path: Path) -> onnx.ModelProto:
    where = str(path)
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise ConformanceError(f"{where}: not an ONNX model ({first_line(error)})") from None
    if not model.HasField("graph"):
        raise ConformanceError(f"{where}: not an ONNX model (no graph)")
    read_external_data(model, path.parent, where)
    return checked(model, where)


def load_any_model(path: Path | str, *, weights: Path | str | None = None) -> onnx.ModelProto:
    """The model at ``path``, ONNX or Keras (``conformance.keras``), told apart by content, checked
    and shape-inferred. ``weights``: a Keras architecture's separate weights file."""
    from conformance.keras.files import file_kind

    path = Path(path)
    data = read_bounded(path, MAX_BYTES)  # read once, whichever reader takes it
    if file_kind(data) in ("zip", "hdf5", "json"):
        from conformance.keras import load_keras

        return load_keras(path, weights, data=data)
    if weights is not None:
        raise ConformanceError(f"{path}: not a Keras file, so --weights does not apply")
    return _onnx_model(data, path)


def checked(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """``model`` after ``onnx.checker`` and strict shape inference; ConformanceError if either fails."""
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError, RuntimeError) as error:
        raise ConformanceError(f"{where}: invalid ONNX model ({first_line(error)})") from None
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except (onnx.shape_inference.InferenceError, ValueError, RuntimeError) as error:
        raise ConformanceError(f"{where}: ONNX shape inference fails ({first_line(error)})") from None


def read_external_data(model: onnx.ModelProto, folder: Path, where: str) -> None:
    """Read every external tensor's bytes into it, confined to ``folder`` (see the module docstring)."""
    root = folder.resolve()
    for tensor in _tensors(model):
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        entries = {entry.key: entry.value for entry in tensor.external_data}
        name = tensor.name or "a tensor"
        location = entries.get("location", "")
        if not location or os.path.isabs(location) or "\\" in location or "\0" in location:
            raise ConformanceError(f"{where}: {name}: external data location {location!r} is not a relative path")
        file = (root / location).resolve()
        if not file.is_relative_to(root):
            raise ConformanceError(f"{where}: {name}: external data {location!r} lies outside the model's folder")
        try:
            offset, length = int(entries.get("offset", 0)), int(entries["length"]) if "length" in entries else None
        except ValueError:
            raise ConformanceError(f"{where}: {name}: external data offset or length is not an integer") from None
        expected = _byte_size(tensor, where)
        if length is None:
            length = expected
        if offset < 0 or length != expected:
            raise ConformanceError(f"{where}: {name}: external data of {length} bytes at offset {offset}, where its"
                                   f" type and shape take {expected}")
        try:
            available = file.stat().st_size
            if offset + length > available:
                raise ConformanceError(f"{where}: {name}: external data {location!r} has {available} bytes, fewer"
                                       f" than offset {offset} + length {length}")
            with open(file, "rb") as handle:
                handle.seek(offset)
                tensor.raw_data = handle.read(length)
        except OSError as error:
            raise ConformanceError(f"{where}: {name}: cannot read external data {location!r}"
                                   f" ({error.strerror or error})") from None
        del tensor.external_data[:]
        tensor.data_location = TensorProto.DEFAULT


def _byte_size(tensor: TensorProto, where: str) -> int:
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type))
    except (KeyError, TypeError, ValueError):
        raise ConformanceError(f"{where}: {tensor.name}: external data of an unknown type ({tensor.data_type})") from None
    if dtype.kind in "OSU":
        raise ConformanceError(f"{where}: {tensor.name}: external data of strings is not supported")
    count = int(np.prod(tensor.dims, dtype=np.int64)) if len(tensor.dims) else 1
    if count < 0:
        raise ConformanceError(f"{where}: {tensor.name}: a negative dimension")
    return count * dtype.itemsize


def _tensors(model: onnx.ModelProto):
    """Every tensor a model holds: initializers and attribute tensors, in subgraphs too."""
    graphs = [model.graph]
    while graphs:
        graph = graphs.pop()
        yield from graph.initializer
        yield from (sparse.values for sparse in graph.sparse_initializer)
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.HasField("t"):
                    yield attribute.t
                yield from attribute.tensors
                if attribute.HasField("g"):
                    graphs.append(attribute.g)
                graphs.extend(attribute.graphs)


def first_line(error: BaseException) -> str:
    """An exception's first line (its type where it says nothing), at most 300 characters."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]
