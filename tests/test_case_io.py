"""Saved cases: a round trip, and a clear one-line error for every way a saved case can be malformed."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import helper

from conformance import ConformanceError
from conformance.case import Case, load_case, save_case


def conv_case() -> Case:
    rng = np.random.default_rng(1)
    return Case("Conv", {"X": rng.standard_normal((1, 2, 4, 4)).astype(np.float32),
                         "W": rng.standard_normal((3, 2, 2, 2)).astype(np.float32), "B": None},
                {"strides": [2, 1], "pads": [0, 1, 1, 0]})


def test_a_saved_case_loads_back_identical(tmp_path):
    case = conv_case()
    save_case(case, tmp_path / "c", {"backend": "tensorflow"})
    loaded, metadata = load_case(tmp_path / "c")
    assert metadata["backend"] == "tensorflow" and metadata["case"]["op"] == "Conv"
    assert loaded.op_type == "Conv" and loaded.opset == case.opset
    assert loaded.attributes == case.attributes
    for name in ("X", "W"):
        np.testing.assert_array_equal(loaded.inputs[name], case.inputs[name])
    assert loaded.describe() == case.describe()


def test_an_omitted_optional_input_in_the_middle_survives(tmp_path):
    case = Case("Conv", {"X": np.ones((1, 1, 3, 3), np.float32), "W": np.ones((1, 1, 2, 2), np.float32), "B": None}, {})
    assert list(case.model.graph.node[0].input) == ["X", "W"]


def expect_error(directory, pattern):
    with pytest.raises(ConformanceError, match=pattern) as raised:
        load_case(directory)
    assert "\n" not in str(raised.value)


def test_missing_directory_or_files(tmp_path):
    expect_error(tmp_path / "absent", "no such directory")
    (tmp_path / "empty").mkdir()
    expect_error(tmp_path / "empty", "model.onnx is missing")


def test_garbage_model(tmp_path):
    save_case(conv_case(), tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"\x00\xffnot a protobuf at all")
    expect_error(tmp_path, "not a valid ONNX model")


def test_pickled_arrays_are_refused_without_unpickling(tmp_path):
    save_case(conv_case(), tmp_path)
    np.savez(tmp_path / "inputs.npz", X=np.array([object()], dtype=object), W=np.zeros(1))
    expect_error(tmp_path, "not a NumPy .npz archive of plain arrays")


def test_inputs_that_do_not_fit_the_model(tmp_path):
    case = conv_case()
    save_case(case, tmp_path)
    np.savez(tmp_path / "inputs.npz", X=case.inputs["X"].astype(np.float64), W=case.inputs["W"])
    expect_error(tmp_path, "input 'X' is float64; the model declares float32")
    np.savez(tmp_path / "inputs.npz", X=case.inputs["X"][:, :1], W=case.inputs["W"])
    expect_error(tmp_path, r"input 'X' has shape \[1, 1, 4, 4\]; the model declares \[1, 2, 4, 4\]")
    np.savez(tmp_path / "inputs.npz", W=case.inputs["W"])
    expect_error(tmp_path, "no array for the model's input 'X'")
    np.savez(tmp_path / "inputs.npz", **case.feeds, extra=np.zeros(2))
    expect_error(tmp_path, "arrays the model does not use: extra")


def test_models_that_are_not_one_node(tmp_path):
    case = conv_case()
    save_case(case, tmp_path)
    model = case.model
    model.graph.node.append(helper.make_node("Relu", ["Y"], ["Z"]))
    onnx.save_model(model, str(tmp_path / "model.onnx"))
    expect_error(tmp_path, "a case is a one-node model; this one has 2 nodes")


def test_malformed_metadata(tmp_path):
    save_case(conv_case(), tmp_path)
    (tmp_path / "case.json").write_text("{not json")
    expect_error(tmp_path, "case.json: not valid JSON")


def test_metadata_is_json(tmp_path):
    save_case(conv_case(), tmp_path, {"diagnosis": ["flipped_kernel"]})
    data = json.loads((tmp_path / "case.json").read_text())
    assert data["diagnosis"] == ["flipped_kernel"]
    assert data["case"]["inputs"]["X"] == {"dtype": "float32", "shape": [1, 2, 4, 4]}
