"""Loading a model to check: never executing code, never reading outside the model's folder, one
``error:`` line for anything malformed (fuzzed); folding constants, random weights, input arrays."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from conformance.cli import main
from conformance.errors import ConformanceError
from conformance.model.inputs import checked_inputs, data_set_inputs, drawn_inputs, npz_inputs, parse_dims
from conformance.model.load import load_model_file
from conformance.model.weights import fold_constants, randomize_weights
from tests.models import chain_model


def conv_model(batch: int | str = 1) -> onnx.ModelProto:
    """X[batch, 2, 5, 5] -> Conv(W[3, 2, 3, 3], B) -> BatchNormalization -> Relu -> Y."""
    return chain_model([("BatchNormalization", {}), ("Relu", {})], size=5, batch=batch)


def save(model: onnx.ModelProto, folder: Path, name: str = "model.onnx") -> Path:
    path = folder / name
    path.write_bytes(model.SerializeToString())
    return path


def external(model: onnx.ModelProto, tensor: str, location: str, offset: int = 0, length: int | None = None) -> None:
    """Mark an initializer as stored externally (its raw bytes dropped from the model)."""
    proto = next(t for t in model.graph.initializer if t.name == tensor)
    size = len(numpy_helper.to_array(proto).tobytes())
    proto.ClearField("float_data")
    proto.ClearField("raw_data")
    proto.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(size if length is None else length))):
        entry = proto.external_data.add()
        entry.key, entry.value = key, value


def test_a_model_loads_checked_and_shape_inferred(tmp_path):
    model = load_model_file(save(conv_model(), tmp_path))
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.value_info}
    assert shapes["t0"] == [1, 3, 5, 5] and shapes["t1"] == [1, 3, 5, 5]


def test_external_data_inside_the_folder_is_read(tmp_path):
    model = conv_model()
    W = numpy_helper.to_array(next(t for t in model.graph.initializer if t.name == "W"))
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "w.bin").write_bytes(b"\0" * 16 + W.tobytes())
    external(model, "W", "weights/w.bin", offset=16)
    loaded = load_model_file(save(model, tmp_path))
    np.testing.assert_array_equal(numpy_helper.to_array(next(t for t in loaded.graph.initializer if t.name == "W")), W)


@pytest.mark.parametrize(("location", "offset", "length", "message"), [
    ("../secret.bin", 0, None, "lies outside the model's folder"),
    ("/etc/passwd", 0, None, "is not a relative path"),
    ("link.bin", 0, None, "lies outside the model's folder"),  # a symbolic link out of the folder
    ("w.bin", 0, 12, "where its type and shape take 216"),  # W: 3 * 2 * 3 * 3 float32
    ("w.bin", 600, None, "fewer than offset 600 + length 216"),
    ("missing.bin", 0, None, "cannot read external data"),
])
def test_external_data_is_confined_and_checked(tmp_path, location, offset, length, message):
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\1" * 648)
    (folder / "w.bin").write_bytes(b"\0" * 648)
    os.symlink(tmp_path / "secret.bin", folder / "link.bin")
    model = conv_model()
    external(model, "W", location, offset, length)
    with pytest.raises(ConformanceError, match="model.onnx: W: ") as raised:
        load_model_file(save(model, folder))
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "not an ONNX model"),
    (b"\x08\x07garbage\xff\xff", "not an ONNX model"),
    (b"not a protobuf at all" * 3, "not an ONNX model"),
])
def test_a_file_that_is_not_a_model_is_one_line(tmp_path, content, message):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(ConformanceError, match=message) as raised:
        load_model_file(path)
    assert "\n" not in str(raised.value)


def test_an_invalid_graph_is_refused_by_the_checker(tmp_path):
    model = conv_model()
    model.graph.node[1].input[0] = "nowhere"  # a node reading a tensor nothing produces
    with pytest.raises(ConformanceError, match="invalid ONNX model"):
        load_model_file(save(model, tmp_path))


VALID = conv_model().SerializeToString()


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8)
       | st.just([]).map(lambda _: None), st.integers(0, len(VALID)))
def test_fuzzed_models_load_or_are_refused_in_one_line(tmp_path, flips, cut):
    data = bytearray(VALID)
    for position, value in flips or ():
        data[position] = value
    path = tmp_path / "fuzzed.onnx"
    path.write_bytes(bytes(data[:cut]) if flips is None else bytes(data))
    try:
        load_model_file(path)
    except ConformanceError as error:
        assert "\n" not in str(error)


def test_the_command_refuses_a_bad_model_in_one_error_line(tmp_path, capsys):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x08\x07garbage\xff\xff")
    assert main(["model", "check", str(path), "--backend", "reference"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1


def test_constant_of_shape_and_constant_are_folded_as_the_spec_says():
    shape = numpy_helper.from_array(np.array([2, 3], np.int64), "shape")
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["filled"], value=numpy_helper.from_array(np.array([0.02], np.float32))),
        helper.make_node("ConstantOfShape", ["shape"], ["zeros"]),  # default: float32 zeros
        helper.make_node("Constant", [], ["three"], value_float=3.0),
        helper.make_node("Add", ["filled", "zeros"], ["Y"]),
    ]
    graph = helper.make_graph(nodes, "g", [], [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 3])], [shape])
    model = helper.make_model(graph)
    assert fold_constants(model) == 3
    folded = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    np.testing.assert_array_equal(folded["filled"], np.full((2, 3), 0.02, np.float32))
    assert folded["zeros"].dtype == np.float32 and not folded["zeros"].any()
    assert folded["three"] == np.float32(3.0)
    assert [n.op_type for n in model.graph.node] == ["Add"]


def test_random_weights_are_seeded_scaled_by_fan_in_and_valid_for_their_role():
    first, second, third = conv_model(), conv_model(), conv_model()
    for model, seed in ((first, 5), (second, 5), (third, 6)):
        assert randomize_weights(model, seed) == 6
    weights = [{t.name: numpy_helper.to_array(t) for t in m.graph.initializer} for m in (first, second, third)]
    assert all(np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not np.array_equal(weights[0]["W"], weights[2]["W"])
    assert (weights[0]["var1"] > 0).all() and weights[0]["W"].dtype == np.float32
    big = helper.make_model(helper.make_graph(
        [helper.make_node("Conv", ["X", "W"], ["Y"])], "g", [helper.make_tensor_value_info("X", 1, [1, 64, 5, 5])],
        [helper.make_tensor_value_info("Y", 1, [1, 64, 3, 3])],
        [numpy_helper.from_array(np.zeros((64, 64, 3, 3), np.float32), "W")]))
    randomize_weights(big, 0)
    drawn = numpy_helper.to_array(big.graph.initializer[0])
    assert math.isclose(drawn.std(), math.sqrt(2 / (64 * 9)), rel_tol=0.05)  # He: 2 / fan_in


def test_inputs_are_drawn_given_or_read_from_a_test_data_set(tmp_path):
    model = conv_model(batch="N")
    with pytest.raises(ConformanceError, match="size of N unknown; give it with --dim N=SIZE"):
        drawn_inputs(model)
    drawn = drawn_inputs(model, seed=3, dims=parse_dims(["N=2"]))
    assert drawn["X"].shape == (2, 2, 5, 5) and drawn["X"].dtype == np.float32
    assert np.array_equal(drawn["X"], drawn_inputs(model, seed=3, dims={"N": 2})["X"])
    with pytest.raises(ConformanceError, match="expected NAME=SIZE"):
        parse_dims(["N=0"])
    np.savez(tmp_path / "inputs.npz", X=drawn["X"].astype(np.float64))
    with pytest.raises(ConformanceError, match="input 'X' is float64, the model takes float32"):
        npz_inputs(model, tmp_path / "inputs.npz")
    np.savez(tmp_path / "objects.npz", X=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ConformanceError, match="not a NumPy .npz archive of arrays"):
        npz_inputs(model, tmp_path / "objects.npz")  # never unpickled
    data_set = tmp_path / "test_data_set_0"
    data_set.mkdir()
    (data_set / "input_0.pb").write_bytes(numpy_helper.from_array(drawn["X"], "X").SerializeToString())
    (data_set / "output_0.pb").write_bytes(numpy_helper.from_array(np.ones(3, np.float32), "Y").SerializeToString())
    inputs, outputs = data_set_inputs(model, data_set)
    assert np.array_equal(inputs["X"], drawn["X"]) and outputs[0].shape == (3,)
    (data_set / "input_0.pb").write_bytes(b"\xff\xff")
    with pytest.raises(ConformanceError, match="input_0.pb: not a serialized ONNX TensorProto"):
        data_set_inputs(model, data_set)
    with pytest.raises(ConformanceError, match="missing X; not inputs: Z"):
        checked_inputs(model, {"Z": drawn["X"]}, "here")


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


VALID_INPUTS = {False: numpy_helper.from_array(np.ones((1, 2, 5, 5), np.float32), "X").SerializeToString(),
                True: _npz_bytes(X=np.ones((1, 2, 5, 5), np.float32))}


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.booleans(), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=6),
       st.floats(0, 1))
def test_fuzzed_input_files_are_read_or_refused_in_one_line(tmp_path, as_npz, flips, kept):
    """A test data set's input_0.pb, or an .npz of inputs, mangled (bytes changed, the end cut):
    read (and checked against the model's inputs) or refused with one line, never another exception."""
    data = bytearray(VALID_INPUTS[as_npz])
    for where, value in flips:
        data[int(where * len(data))] = value
    cut = int(kept * len(data))
    folder = tmp_path / "fuzz"
    folder.mkdir(exist_ok=True)
    model = conv_model()
    try:
        if as_npz:
            (folder / "inputs.npz").write_bytes(bytes(data[:cut]))
            npz_inputs(model, folder / "inputs.npz")
        else:
            (folder / "input_0.pb").write_bytes(bytes(data[:cut]))
            data_set_inputs(model, folder)
    except ConformanceError as error:
        assert "\n" not in str(error)


@pytest.mark.parametrize(("offset", "value", "found"), [(10, 99, "an unknown compression method"),
                                                         (8, 1, "the encryption flag")])
def test_an_npz_whose_zip_directory_is_mangled_is_one_line(tmp_path, offset, value, found):
    # Mangled bytes found these: zipfile raised NotImplementedError and RuntimeError, not BadZipFile.
    data = bytearray(VALID_INPUTS[True])
    entry = data.find(b"PK\x01\x02")  # the central directory's first entry: flags at +8, method at +10
    data[entry + offset] = value
    (tmp_path / "inputs.npz").write_bytes(bytes(data))
    with pytest.raises(ConformanceError, match="not a NumPy .npz archive of arrays") as raised:
        npz_inputs(conv_model(), tmp_path / "inputs.npz")
    assert "\n" not in str(raised.value), found
