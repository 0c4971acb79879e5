"""A model's input arrays: given (``--inputs FILE.npz``, ``--test-data DIR``) or drawn from its types.

- ``.npz``: read with ``allow_pickle=False`` (an object array is refused, not unpickled), one
  array per graph input, by name.
- ``--test-data DIR``: ONNX's layout, ``input_N.pb`` (a ``TensorProto``, in graph-input order, its
  ``name`` optional) and, where present, ``output_N.pb``, the outputs the model should give.
- Drawn: a seeded normal (floating-point inputs) or small integers in [0, 4) (integer ones), shaped
  by the input's type, with ``--dim NAME=SIZE`` for each symbolic dimension (an unnamed one
  needs an array given).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import Mapping

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper

from conformance.errors import ConformanceError
from conformance.model.load import first_line

DIM = re.compile(r"^([^=]+)=(\d+)$")


def model_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The graph inputs a caller feeds: those no initializer provides."""
    initialized = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initialized]


def parse_dims(texts: list[str]) -> dict[str, int]:
    """``NAME=SIZE`` pairs, as ``--dim`` takes them."""
    dims = {}
    for text in texts:
        found = DIM.match(text)
        if not found or int(found.group(2)) < 1:
            raise ConformanceError(f"--dim {text!r}: expected NAME=SIZE with SIZE a positive integer")
        dims[found.group(1)] = int(found.group(2))
    return dims


# Symbolic dimensions with a size by default: the batch of a Keras model (conformance.keras names it so).
DEFAULT_DIMS = {"batch": 1}


def drawn_inputs(model: onnx.ModelProto, seed: int = 0, dims: Mapping[str, int] | None = None) -> dict[str, np.ndarray]:
    """An array for each input, drawn from a normal (floating point) or [0, 4) (integers), seeded;
    a symbolic dimension takes its size from ``dims``, else from ``DEFAULT_DIMS``."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for value in model_inputs(model):
        dtype, shape = _type_of(value, {**DEFAULT_DIMS, **(dims or {})})
        if dtype.kind == "f":
            arrays[value.name] = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind in "iu":
            arrays[value.name] = rng.integers(0, 4, shape).astype(dtype)
        elif dtype.kind == "b":
            arrays[value.name] = rng.integers(0, 2, shape).astype(bool)
        else:
            raise ConformanceError(f"input {value.name!r}: cannot draw values of {dtype}; give them with --inputs")
    return arrays


def _type_of(value: onnx.ValueInfoProto, dims: Mapping[str, int]) -> tuple[np.dtype, tuple[int, ...]]:
    tensor = value.type.tensor_type
    if not value.type.HasField("tensor_type") or not tensor.HasField("shape"):
        raise ConformanceError(f"input {value.name!r} is not a tensor of known rank; give it with --inputs")
    shape = []
    for dim in tensor.shape.dim:
        if dim.HasField("dim_value"):
            shape.append(dim.dim_value)
        elif dim.dim_param in dims:
            shape.append(dims[dim.dim_param])
        else:
            name = dim.dim_param or "an unnamed dimension"
            raise ConformanceError(f"input {value.name!r}: size of {name} unknown; give it with --dim"
                                   f" {dim.dim_param or 'NAME'}=SIZE, or the arrays with --inputs")
    return np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type)), tuple(shape)


def npz_inputs(model: onnx.ModelProto, path: Path | str) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, one per model input, checked against the input types."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error,
            NotImplementedError, RuntimeError) as error:  # zipfile's unknown compression, its encryption
        raise ConformanceError(f"{path}: not a NumPy .npz archive of arrays ({first_line(error)})") from None
    return checked_inputs(model, arrays, str(path))


def data_set_inputs(model: onnx.ModelProto, directory: Path | str) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """The inputs (``input_N.pb``) and expected outputs (``output_N.pb``, possibly none) of an ONNX
    test data set."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConformanceError(f"{directory}: not a directory of input_N.pb files")
    expected_inputs = model_inputs(model)
    arrays = {}
    for index, value in enumerate(expected_inputs):
        arrays[value.name] = _tensor_file(directory / f"input_{index}.pb")
    outputs = []
    for index in range(len(model.graph.output)):
        path = directory / f"output_{index}.pb"
        if path.is_file():
            outputs.append(_tensor_file(path))
    return checked_inputs(model, arrays, str(directory)), outputs


def _tensor_file(path: Path) -> np.ndarray:
    tensor = onnx.TensorProto()
    try:
        tensor.ParseFromString(path.read_bytes())
        return numpy_helper.to_array(tensor)
    except OSError as error:
        raise ConformanceError(f"{path}: cannot read it ({error.strerror or error})") from None
    except (DecodeError, ValueError, TypeError, KeyError) as error:
        raise ConformanceError(f"{path}: not a serialized ONNX TensorProto ({first_line(error)})") from None


def checked_inputs(model: onnx.ModelProto, arrays: Mapping[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    """``arrays`` if they are exactly the model's inputs, of its dtypes and (known) sizes."""
    wanted = {value.name: value for value in model_inputs(model)}
    missing, extra = sorted(set(wanted) - set(arrays)), sorted(set(arrays) - set(wanted))
    if missing or extra:
        raise ConformanceError(f"{where}: the model's inputs are {', '.join(wanted)}"
                               + (f"; missing {', '.join(missing)}" if missing else "")
                               + (f"; not inputs: {', '.join(extra)}" if extra else ""))
    for name, array in arrays.items():
        tensor = wanted[name].type.tensor_type
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        if array.dtype != dtype:
            raise ConformanceError(f"{where}: input {name!r} is {array.dtype}, the model takes {dtype}")
        declared = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        if len(declared) != array.ndim or any(d is not None and d != s for d, s in zip(declared, array.shape)):
            raise ConformanceError(f"{where}: input {name!r} has shape {list(array.shape)}, the model takes"
                                   f" {[d if d is not None else '?' for d in declared]}")
    return dict(arrays)
