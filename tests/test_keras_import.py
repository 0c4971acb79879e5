"""The Keras importer: every format of every test model (tests/keras_models, written by Keras 3
and Keras 2 with their own outputs beside them) reads as the Keras that wrote it computes it, on
the float64 reference; each convention a version decides has a planted importer that applies the
other one, and is caught; Lambda layers and bad files give one error line; loading imports
neither Keras nor TensorFlow."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import time
from unittest import mock
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conformance
from conformance.backends import load_backend
from conformance.cli import main
from conformance.errors import ConformanceError
from conformance.keras import files as keras_files
from conformance.keras import hdf5
from conformance.keras.layers import conv, core, pooling

MODELS = Path(__file__).parent / "keras_models"
# (Keras major, the file, its weights file): every format each Keras writes.
FORMATS = {
    "keras3.keras": (3, "keras3.keras", None),
    "keras3.h5": (3, "keras3.h5", None),
    "keras3.config.json": (3, "keras3.config.json", "keras3.weights.h5"),
    "keras2.h5": (2, "keras2.h5", None),
    "keras2.json": (2, "keras2.json", "keras2.weights.h5"),
}
# Keras computed its outputs in float32: the float64 reference of a faithful import is this close.
AGREES, DIFFERS = 1e-5, 1e-4  # a planted convention must miss by ten times the agreement


def deviation(folder: Path, path: Path | str, weights=None, major: int | None = None) -> float:
    """The largest difference between the reference's run of the imported model and Keras's own
    outputs (of Keras ``major``), relative to their largest value."""
    model = conformance.load_model(folder / path, weights=weights and folder / weights)
    inputs = dict(np.load(folder / "inputs.npz"))
    (output,) = load_backend("reference").run(model, {i.name: inputs[i.name] for i in model.graph.input})
    expected = np.load(folder / f"keras{major}_outputs.npz")["output"]
    return float(np.abs(output - expected).max() / np.abs(expected).max())


NAMES = ["convnet", "merges", "extras"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", list(FORMATS))
def test_every_format_reads_as_the_keras_that_wrote_it_computes(name, kind):
    major, path, weights = FORMATS[kind]
    assert deviation(MODELS / name, path, weights, major) < AGREES


def test_node_names_start_with_their_keras_layer():
    model = conformance.load_model(MODELS / "merges" / "keras3.keras")
    names = [node.name for node in model.graph.node]
    assert {"leaky", "average", "block/prelu"} <= set(names), names  # a nested model's layers under its name
    assert any(name.startswith("block/inner_dense/") for name in names), names
    # The shared Dense, called on both inputs, on rank-3 inputs: MatMul on the last axis, twice.
    shared = [node.op_type for node in model.graph.node if node.name.startswith("shared/")]
    assert shared.count("MatMul") == 2, shared


@pytest.mark.slow_check  # TensorFlow loaded, three models run whole: 17 s
@pytest.mark.parametrize("name", NAMES)
def test_onnxruntime_and_tensorflow_agree_on_every_layer_and_end_to_end(name):
    """The imported graphs run node by node and whole on real runtimes (the whole run found the
    TensorFlow lowering's Max broadcasting a weight given as an array)."""
    from conformance.divergences import load_manifest
    from conformance.model import check_model

    model = conformance.load_model(MODELS / name / "keras3.keras")
    inputs = dict(np.load(MODELS / name / "inputs.npz"))
    expected = [np.load(MODELS / name / "keras3_outputs.npz")["output"]]
    result = check_model(model, [load_backend("onnxruntime"), load_backend("tensorflow")], inputs, name=name,
                         divergences=load_manifest(), expected_outputs=expected)
    for backend in result.results:
        assert backend.status in ("agree", "known_divergence"), (backend.backend, backend.status, backend.first_divergence)
        assert backend.end_to_end_message == "" and result.data_set[backend.backend] < AGREES, (
            backend.backend, backend.end_to_end_message, result.data_set)


@pytest.mark.slow_check  # a fresh interpreter reading 15 files: 4 s
def test_loading_imports_neither_keras_nor_tensorflow():
    paths = [(MODELS / n / p, w and MODELS / n / w) for n in NAMES for _, p, w in FORMATS.values()]
    script = ("import sys, conformance\n"
              f"for path, weights in {[(str(p), w and str(w)) for p, w in paths]!r}:\n"
              "    conformance.load_model(path, weights=weights)\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))\n")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert found.strip() == "[]", found


# -- the conventions a Keras version decides: each applied the other way is caught ----------------


def test_hard_sigmoid_is_keras_2s_in_a_keras_2_file_and_keras_3s_in_a_keras_3_file(monkeypatch):
    folder = MODELS / "convnet"
    assert deviation(folder, "keras2.h5", major=2) < AGREES
    # The same weights: Keras 2's and Keras 3's outputs differ by hard_sigmoid alone.
    monkeypatch.setattr(keras_files.KerasFile, "keras_major", property(lambda self: 3))
    assert deviation(folder, "keras2.h5", major=2) > DIFFERS
    assert deviation(folder, "keras2.h5", major=3) < AGREES


def theano_file(tmp_path: Path, backend: str = "theano") -> tuple[Path, Path]:
    """convnet's Keras 2 architecture and weights as the Theano backend saved them, written with
    h5py from Keras 2's documented layout: the Conv2D kernel flipped (Theano convolves), the
    ``backend`` attribute "theano"."""
    folder = MODELS / "convnet"
    config = json.loads((folder / "keras2.json").read_text())
    config["backend"] = backend
    architecture = tmp_path / "model.json"
    architecture.write_text(json.dumps(config))
    weights = tmp_path / "weights.h5"
    with h5py.File(folder / "keras2.h5") as source, h5py.File(weights, "w") as target:
        source.copy(source["model_weights"], target, "model_weights")
        target.attrs["backend"] = backend
        kernel = target["model_weights/conv/conv/kernel:0"]
        kernel[...] = kernel[()][::-1, ::-1]
    for name in ("inputs.npz", "keras2_outputs.npz"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    return architecture, weights


def test_a_theano_files_convolution_kernels_are_flipped_back(tmp_path):
    architecture, weights = theano_file(tmp_path)
    assert deviation(tmp_path, architecture.name, weights.name, major=2) < AGREES
    # Read as TensorFlow's, the same kernel is the Theano one: wrong.
    architecture, weights = theano_file(tmp_path, backend="tensorflow")
    assert deviation(tmp_path, architecture.name, weights.name, major=2) > DIFFERS


def without(folder: Path, tmp_path: Path, layer: str, *keys: str) -> Path:
    """Keras 3's config.json of ``folder`` without ``keys`` in ``layer``'s config (the layer's default applies)."""
    config = json.loads((folder / "keras3.config.json").read_text())
    entry = next(e for e in config["config"]["layers"] if e["name"] == layer)
    for key in keys:
        entry["config"].pop(key)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    (tmp_path / "keras3.weights.h5").write_bytes((folder / "keras3.weights.h5").read_bytes())
    (tmp_path / "inputs.npz").write_bytes((folder / "inputs.npz").read_bytes())
    (tmp_path / "keras3_outputs.npz").write_bytes((folder / "keras3_outputs.npz").read_bytes())
    return path


def test_leaky_relu_without_a_slope_takes_the_layers_default_not_the_functions_or_onnxs(tmp_path, monkeypatch):
    path = without(MODELS / "merges", tmp_path, "leaky", "negative_slope")
    assert deviation(tmp_path, path.name, "keras3.weights.h5", major=3) < AGREES
    for planted in (0.2, 0.01):  # keras.activations.leaky_relu's, ONNX LeakyRelu's
        monkeypatch.setattr(core, "LEAKY_RELU_LAYER_SLOPE", planted)
        assert deviation(tmp_path, path.name, "keras3.weights.h5", major=3) > DIFFERS


def test_batch_normalization_without_an_epsilon_takes_keras_default(tmp_path, monkeypatch):
    from conformance.keras.layers import normalization

    path = without(MODELS / "convnet", tmp_path, "bn", "epsilon")
    assert deviation(tmp_path, path.name, "keras3.weights.h5", major=3) < AGREES
    monkeypatch.setattr(normalization, "KERAS_EPSILON", 1e-5)  # ONNX's default
    assert deviation(tmp_path, path.name, "keras3.weights.h5", major=3) > DIFFERS


def test_same_padding_puts_the_odd_pixel_at_the_end(monkeypatch):
    def odd_pixel_first(*args, **kwargs):
        pads = same_pads(*args, **kwargs)
        half = len(pads) // 2
        return pads[half:] + pads[:half]

    same_pads = conv.same_pads
    monkeypatch.setattr(conv, "same_pads", odd_pixel_first)
    monkeypatch.setattr(pooling, "same_pads", odd_pixel_first)
    assert deviation(MODELS / "convnet", "keras3.keras", major=3) > DIFFERS


def test_flatten_keeps_the_channels_last_order(monkeypatch):
    def channels_first_flatten(call, inputs, g):
        return core.flatten(type(call)(**{**call.__dict__, "config": {**call.config, "data_format": "channels_first"}}),
                            inputs, g)

    monkeypatch.setitem(conformance.keras.layers.LAYERS, "Flatten", channels_first_flatten)
    assert deviation(MODELS / "convnet", "keras3.keras", major=3) > DIFFERS


def test_dropout_is_the_identity_at_inference(monkeypatch):
    def scaled(call, inputs, g):  # training-time inverted dropout's scaling, kept at inference
        factor = g.constant(f"{call.name}/factor", np.asarray(1 / (1 - call.get("rate")), np.float32))
        return [g.one("Mul", [inputs[0], factor], call.name)]

    monkeypatch.setitem(conformance.keras.layers.LAYERS, "Dropout", scaled)
    assert deviation(MODELS / "convnet", "keras3.keras", major=3) > DIFFERS


def test_attributes_split_past_hdf5s_64_kb_limit_are_joined(tmp_path):
    """Keras 2 splits a long ``layer_names`` or ``weight_names`` into ``layer_names0``, ``layer_names1``...
    (``save_attributes_to_hdf5_group``), as for a model of thousands of layers; written here by hand."""
    path = tmp_path / "split.h5"
    path.write_bytes((MODELS / "convnet" / "keras2.h5").read_bytes())
    with h5py.File(path, "r+") as file:
        group = file["model_weights"]
        names = list(group.attrs["layer_names"])
        del group.attrs["layer_names"]
        group.attrs["layer_names0"], group.attrs["layer_names1"] = names[:3], names[3:]
        bn = group["bn"]
        weight_names = list(bn.attrs["weight_names"])
        del bn.attrs["weight_names"]
        bn.attrs["weight_names0"], bn.attrs["weight_names1"] = weight_names[:1], weight_names[1:]
    for name in ("inputs.npz", "keras2_outputs.npz"):
        (tmp_path / name).write_bytes((MODELS / "convnet" / name).read_bytes())
    assert deviation(tmp_path, "split.h5", major=2) < AGREES


# -- what is refused: one error line --------------------------------------------------------------


def run_convert(path: Path, capsys, *extra: str) -> tuple[int, str]:
    status = main(["model", "convert", str(path), "--out", str(Path(tempfile.mkdtemp()) / "out.onnx"), *extra])
    return status, capsys.readouterr().err


def test_a_lambda_layer_is_refused_without_running_its_code(tmp_path, capsys):
    config = json.loads((MODELS / "convnet" / "keras3.config.json").read_text())
    entry = next(e for e in config["config"]["layers"] if e["name"] == "dropout")
    marker = tmp_path / "ran"
    entry.update(class_name="Lambda", config={"name": "dropout", "function": {
        "class_name": "__lambda__", "config": {"code": f"open({str(marker)!r}, 'w')", "defaults": None, "closure": None}}})
    (tmp_path / "config.json").write_text(json.dumps(config))
    status, err = run_convert(tmp_path / "config.json", capsys, "--weights", str(MODELS / "convnet" / "keras3.weights.h5"))
    assert status == 2 and err.count("\n") == 1 and err.startswith("error:"), err
    assert "'dropout' (Lambda)" in err and "never run" in err
    assert not marker.exists()


def test_the_convert_command_writes_the_model_the_check_reads(tmp_path, capsys):
    assert main(["model", "convert", str(MODELS / "merges" / "keras2.json"), "--weights",
                 str(MODELS / "merges" / "keras2.weights.h5"), "--out", str(tmp_path / "m.onnx")]) == 0
    assert "nodes from" in capsys.readouterr().out
    assert main(["model", "check", str(tmp_path / "m.onnx"), "--backend", "reference", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["results"][0]["status"] == "agree"
    # The Keras file itself is checked the same way.
    assert main(["model", "check", str(MODELS / "convnet" / "keras3.keras"), "--backend", "reference"]) == 0


def hdf5_with(tmp_path: Path, change) -> Path:
    path = tmp_path / "bad.h5"
    path.write_bytes((MODELS / "convnet" / "keras2.h5").read_bytes())
    with h5py.File(path, "r+") as file:
        change(file)
    return path


def _external_link(file):
    del file["model_weights/conv"]
    file["model_weights/conv"] = h5py.ExternalLink("/etc/passwd", "/")


def _soft_link(file):
    del file["model_weights/bn"]
    file["model_weights/bn"] = h5py.SoftLink("/model_weights/conv")


def _slashed_name(file):
    config = json.loads(file.attrs["model_config"])
    config["config"]["layers"][1]["name"] = "conv/../bn"
    file.attrs["model_config"] = json.dumps(config)


def _missing_group(file):
    del file["model_weights/classes"]


def _wrong_shape(file):
    del file["model_weights/conv/conv/kernel:0"]
    file["model_weights/conv/conv/kernel:0"] = np.zeros((2, 2), np.float32)


@pytest.mark.parametrize("change", [_external_link, _soft_link, _slashed_name, _missing_group, _wrong_shape])
def test_hostile_or_damaged_hdf5_gives_one_error_line(change, tmp_path, capsys):
    status, err = run_convert(hdf5_with(tmp_path, change), capsys)
    assert status == 2 and err.count("\n") == 1 and err.startswith("error:"), err


def zip_with(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "bad.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def keras_members() -> dict[str, bytes]:
    with zipfile.ZipFile(MODELS / "convnet" / "keras3.keras") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_hostile_archives_give_one_error_line(tmp_path, capsys):
    members = keras_members()
    cases = {
        "dot-dot": {**members, "../../evil.json": b"{}"},
        "no weights": {k: v for k, v in members.items() if k != "model.weights.h5"},
        "bomb": {**members, "config.json": b" " * (keras_files.MAX_CONFIG_BYTES + 1)},
        "not json": {**members, "config.json": b"\x00\x01"},
        "unknown model": {**members, "config.json": b'{"class_name": "Mystery", "config": {}}'},
    }
    for label, content in cases.items():
        status, err = run_convert(zip_with(tmp_path, content), capsys)
        assert status == 2 and err.count("\n") == 1 and err.startswith("error:"), f"{label}: {err}"


SEEDS = {name: (MODELS / "convnet" / name).read_bytes() for name in ("keras3.keras", "keras2.h5", "keras3.config.json")}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_mutated_files_load_or_give_one_error(seed, data, tmp_path_factory):
    """Hypothesis over damaged files: bytes overwritten, cut off or inserted."""
    content = bytearray(SEEDS[seed])
    edit = data.draw(st.sampled_from(["overwrite", "truncate", "insert"]), label="edit")
    at = data.draw(st.integers(0, len(content) - 1), label="at")
    if edit == "truncate":
        content = content[:at]
    else:
        chunk = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        content[at:at + (len(chunk) if edit == "overwrite" else 0)] = chunk
    path = tmp_path_factory.mktemp("fuzz") / seed
    path.write_bytes(bytes(content))
    weights = MODELS / "convnet" / "keras3.weights.h5" if seed.endswith(".json") else None
    try:
        with mock.patch.object(hdf5, "SECONDS", 5.0):  # a healthy file this small takes 0.2 s
            conformance.load_model(path, weights=weights)
    except ConformanceError as error:
        assert "\n" not in str(error)


@pytest.mark.slow_check  # waits out its time limit
def test_an_hdf5_file_on_which_libhdf5_never_returns_is_one_error_line_in_bounded_time(capsys, monkeypatch):
    """Found by the fuzzing above: three bytes of convnet's keras2.h5 changed, and h5py's read of an
    attribute never returned (over 90 s). The child process reading it is stopped."""
    monkeypatch.setattr(hdf5, "SECONDS", 3.0)
    started = time.monotonic()
    status, err = run_convert(MODELS / "hostile" / "libhdf5_never_returns.h5", capsys)
    assert status == 2 and err.count("\n") == 1 and "did not finish in 3 s" in err, err
    assert time.monotonic() - started < 15


def test_an_architecture_without_weights_asks_for_them(capsys):
    status, err = run_convert(MODELS / "convnet" / "keras3.config.json", capsys)
    assert status == 2 and "give its weights file" in err



APPLICATIONS = {"MobileNet": 64, "ResNet50": 64, "DenseNet121": 64, "EfficientNetB0": 64}


@pytest.mark.slow_check  # Keras builds and runs each architecture: 3 to 35 s each
@pytest.mark.parametrize("name", list(APPLICATIONS))
def test_keras_applications_architectures_read_as_keras_computes_them(name, tmp_path):
    """keras.applications built with weights=None (no download), their BatchNormalization statistics
    redrawn away from 0 and 1 so that every layer matters, saved as .keras, read without Keras."""
    keras = pytest.importorskip("keras", reason="Keras is not installed")
    size = APPLICATIONS[name]
    model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3), classes=10,
                                               classifier_activation=None)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape) if w.path.endswith(("variance", "gamma"))
                               else rng.normal(0, 0.1, w.shape) for w in layer.weights])
    model.save(tmp_path / "model.keras")
    x = rng.normal(size=(1, size, size, 3)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    onnx_model = conformance.load_model(tmp_path / "model.keras")
    (output,) = load_backend("reference").run(onnx_model, {onnx_model.graph.input[0].name: x})
    deviation = float(np.abs(output - expected).max() / np.abs(expected).max())
    # Measured: 6.0e-7 (MobileNet), 5.5e-7 (ResNet50), 8.2e-7 (DenseNet121), 2.1e-6 (EfficientNetB0).
    assert deviation < 1e-5, f"{name}: {deviation:.2e} of Keras's largest output"


@pytest.mark.slow_check  # Keras builds and runs some 80 one-layer models: about a minute
def test_transposed_convolutions_give_keras_lengths_crops_and_padding(tmp_path):
    """Conv1DTranspose and Conv2DTranspose over kernel sizes, strides, dilations, both paddings and
    output_padding (absent, 0, 1): Keras's output length, the forward SAME crop, the zeros at the end."""
    keras = pytest.importorskip("keras", reason="Keras is not installed")
    rng, judged = np.random.default_rng(0), 0
    for dims, k, s, padding, extra, d in itertools.product((1, 2), (1, 2, 3), (1, 2, 3), ("valid", "same"),
                                                           (None, 0, 1), (1, 2)):
        if (extra is not None and extra >= s) or (d > 1 and s > 1):
            continue  # Keras refuses these
        layer = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose)[dims - 1]
        inputs = keras.Input((5,) * dims + (2,))
        model = keras.Model(inputs, layer(3, k, strides=s, padding=padding, output_padding=extra, dilation_rate=d,
                                          name="t")(inputs))
        model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
        x = rng.normal(size=(1,) + (5,) * dims + (2,)).astype(np.float32)
        try:
            expected = model.predict(x, verbose=0)
        except Exception:  # noqa: BLE001 - Keras's own failures (kernel 2, same, output_padding 0)
            continue
        model.save(tmp_path / "model.keras")
        onnx_model = conformance.load_model(tmp_path / "model.keras")
        (output,) = load_backend("reference").run(onnx_model, {onnx_model.graph.input[0].name: x})
        case = f"{dims}-D kernel {k} stride {s} {padding} output_padding {extra} dilation {d}"
        assert output.shape == expected.shape, f"{case}: {output.shape} for Keras's {expected.shape}"
        assert np.abs(output - expected).max() <= 1e-5 * np.abs(expected).max(), case
        judged += 1
    assert judged >= 60, judged
