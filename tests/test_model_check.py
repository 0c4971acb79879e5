"""The model check: each node judged on the reference's inputs, the first wrong one localized,
diagnosed, saved and replayable; known divergences apply node by node; a node without a reference
is trusted and named. Planted runtimes (tests/planted_models.py) compute every node on the
reference but mangle one operator, as a converter's bug would."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto

from conformance.backends import load_backend
from conformance.cli import main
from conformance.model import check_model
from conformance.model.inputs import drawn_inputs
from conformance.model.load import checked, load_model_file
from conformance.model.weights import fold_constants, randomize_weights
from tests.models import chain_model, strided_stem_model
from tests.planted_models import Careful, FlippedConvKernels, LrnAlphaNotDivided

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


def check(model, *backends, divergences=(), failures_dir=None):
    model = checked(model, "model")
    return check_model(model, list(backends), drawn_inputs(model, seed=1), divergences=divergences,
                       failures_dir=failures_dir, name="chain")


def test_a_careful_runtime_agrees_on_every_node_and_tracks_the_reference_end_to_end():
    result, = check(chain_model([("BatchNormalization", {}), ("Relu", {}), ("LRN", {"size": 3})]), Careful()).results
    assert result.status == "agree" and result.first_divergence is None
    assert [(n.op, n.status) for n in result.nodes] == [("Conv", "agree"), ("BatchNormalization", "agree"),
                                                        ("Relu", "agree"), ("LRN", "agree")]
    assert all(n.end_to_end_error is not None and n.end_to_end_error < 1e-6 for n in result.nodes)


def test_flipped_kernels_are_localized_to_the_first_conv_diagnosed_saved_and_replayed(tmp_path, capsys):
    model = chain_model([("Relu", {}), ("LRN", {"size": 3})])
    careful, flipped = check(model, Careful(), FlippedConvKernels(), failures_dir=tmp_path).results
    assert careful.status == "agree"
    assert flipped.status == "disagree"
    first = flipped.first_divergence
    assert (first.index, first.node, first.op, first.diagnosis) == (0, "conv", "Conv", ["flipped_kernel"])
    assert first.max_error_ratio > 1 and "W: float32[3, 2, 3, 3]" in first.description
    # Downstream nodes are judged on the reference's inputs, so the flip does not spread to them.
    assert [n.status for n in flipped.nodes[1:]] == ["agree", "agree"]
    assert flipped.nodes[-1].end_to_end_error > 0.01  # ... while end to end it does
    assert main(["replay", first.saved_to, "--backend", "tests.planted_models:FlippedConvKernels"]) == 1
    assert "disagree" in capsys.readouterr().out


def test_lrn_alpha_not_divided_is_localized_to_the_lrn_node():
    model = chain_model([("BatchNormalization", {}), ("LRN", {"size": 5, "alpha": 0.5}), ("Relu", {})])
    result, = check(model, LrnAlphaNotDivided()).results
    first = result.first_divergence
    assert (first.index, first.op, first.diagnosis) == (2, "LRN", ["alpha_not_divided_by_size"])


def test_a_node_without_a_reference_is_trusted_named_and_the_check_goes_on():
    # The reference has no Sin: onnxruntime's output (the first backend that runs it) is trusted downstream.
    result = check(chain_model([("Sin", {}), ("Relu", {})]), FlippedConvKernels(), load_backend("onnxruntime"))
    assert result.unreferenced == ["sin1 (Sin)"]
    flipped, onnxruntime = result.results
    assert [n.status for n in onnxruntime.nodes] == ["agree", "unreferenced", "agree"]
    assert flipped.first_divergence.op == "Conv" and flipped.nodes[2].status == "agree"
    assert "Sin" in flipped.end_to_end_message  # it cannot run the whole model itself


def test_known_divergences_apply_to_isolated_nodes():
    from conformance.divergences import load_manifest

    onnxruntime = load_backend("onnxruntime")
    model = chain_model([("Relu", {})], dtype=TensorProto.DOUBLE)
    result, = check(model, onnxruntime, divergences=load_manifest()).results
    assert [(n.op, n.status) for n in result.nodes] == [("Conv", "known_divergence"), ("Relu", "agree")]
    assert result.nodes[0].message == "onnxruntime-conv-float64" and result.status == "known_divergence"
    plain, = check(model, onnxruntime).results  # without the manifest it is an error
    assert plain.status == "error" and plain.first_divergence.op == "Conv"


def test_a_real_runtimes_wrong_node_is_localized_and_named_by_its_known_divergence(tmp_path, capsys):
    # onnxruntime's strided SAME_UPPER Conv with a total padding of -3 (a real, silent bug): its
    # whole model is wrong end to end, and the check names the node, with the manifest or without.
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    path = tmp_path / "strided_stem.onnx"
    path.write_bytes(strided_stem_model().SerializeToString())
    assert main(["model", "check", str(path), "--backend", "onnxruntime", "--json"]) == 0
    result, = json.loads(capsys.readouterr().out)["results"]
    assert result["status"] == "known_divergence" and result["first_divergence"] is None
    assert [(n["node"], n["status"]) for n in result["nodes"]] == [
        ("downsample", "known_divergence"), ("relu", "agree"), ("head", "agree")]
    assert result["nodes"][0]["message"] == "onnxruntime-conv-same-negative-padding-upper"
    assert result["end_to_end"]["logits"] > 0.1, "onnxruntime's outputs are no longer wrong: is the bug fixed?"
    assert main(["model", "check", str(path), "--backend", "onnxruntime", "--no-known-divergences",
                 "--failures-dir", str(tmp_path / "failures")]) == 1
    text = capsys.readouterr().out
    assert "first divergence: node 0 'downsample' (Conv): disagree" in text, text


def test_the_command_writes_json_and_exits_by_the_verdicts(tmp_path, capsys):
    path = tmp_path / "chain.onnx"
    path.write_bytes(chain_model([("Relu", {})]).SerializeToString())
    assert main(["model", "check", str(path), "--backend", "tests.planted_models:Careful", "--json",
                 "--out", str(tmp_path / "out")]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == json.loads((tmp_path / "out" / "model.json").read_text())
    result, = document["results"]
    assert result["status"] == "agree" and result["first_divergence"] is None
    assert [n["op"] for n in result["nodes"]] == ["Conv", "Relu"]
    assert set(result["nodes"][0]) >= {"node", "op", "status", "max_error_ratio", "end_to_end_error"}
    assert main(["model", "check", str(path), "--backend", "tests.planted_models:FlippedConvKernels",
                 "--failures-dir", str(tmp_path / "failures"), "--out", str(tmp_path / "flipped")]) == 1
    text = capsys.readouterr().out
    assert "first divergence: node 0 'conv' (Conv): disagree" in text and "diagnosis: flipped_kernel" in text
    page = (tmp_path / "flipped" / "model.html").read_text()
    assert "conformance replay " in page and "flipped_kernel" in page and 'src="data:image/png;base64,' in page
    assert "http://" not in page and "https://" not in page  # self-contained: nothing fetched


# -- the light models of the onnx wheel (slow: run with --slow-checks) ----------------------------------


def light_model(name: str) -> onnx.ModelProto:
    model = load_model_file(LIGHT / f"light_{name}.onnx")
    fold_constants(model)
    randomize_weights(model, 0)
    return model


@pytest.mark.slow_check
@pytest.mark.parametrize("name", ["bvlc_alexnet", "resnet50"])
def test_planted_runtimes_are_localized_on_alexnet_and_resnet50(name, tmp_path):
    model = light_model(name)
    backends = [FlippedConvKernels()] + ([LrnAlphaNotDivided()] if name == "bvlc_alexnet" else [])
    result = check_model(model, backends, drawn_inputs(model), name=name, failures_dir=tmp_path)
    first_conv = next(i for i, n in enumerate(model.graph.node) if n.op_type == "Conv")
    flipped = result.results[0].first_divergence
    assert (flipped.index, flipped.op, flipped.diagnosis) == (first_conv, "Conv", ["flipped_kernel"])
    if name == "bvlc_alexnet":
        first_lrn = next(i for i, n in enumerate(model.graph.node) if n.op_type == "LRN")
        lrn = result.results[1].first_divergence
        assert (lrn.index, lrn.op, lrn.diagnosis) == (first_lrn, "LRN", ["alpha_not_divided_by_size"])


@pytest.mark.slow_check
@pytest.mark.parametrize("name", sorted(p.stem.removeprefix("light_") for p in LIGHT.glob("light_*.onnx")))
def test_the_light_models_agree_on_onnxruntime_and_tensorflow_or_name_a_known_divergence(name):
    from conformance.divergences import load_manifest

    model = light_model(name)
    backends = [load_backend("onnxruntime"), load_backend("tensorflow")]
    result = check_model(model, backends, drawn_inputs(model), name=name, divergences=load_manifest())
    assert not result.unreferenced
    for backend in result.results:
        assert "unsupported" not in backend.counts(), f"{name}: {backend.backend} cannot run every node"
        assert backend.status in ("agree", "known_divergence"), (
            f"{name} on {backend.backend}: {backend.status} at {backend.first_divergence}")


class NoRelu(Careful):
    """A runtime without Relu."""

    name = "planted-no-relu"

    def _node(self, node, arguments, attributes, opset):
        if node.op_type == "Relu":
            from conformance.errors import Unsupported

            raise Unsupported("no Relu here")
        return super()._node(node, arguments, attributes, opset)


def test_a_node_a_backend_cannot_run_leaves_it_unsupported_not_agreeing():
    result, = check(chain_model([("Relu", {}), ("LRN", {"size": 3})]), NoRelu()).results
    assert [n.status for n in result.nodes] == ["agree", "unsupported", "agree"]
    assert result.status == "unsupported" and result.first_divergence is None
    assert "no Relu here" in result.end_to_end_message


PYTORCH = Path(onnx.__file__).parent / "backend" / "test" / "data" / "pytorch-converted"


@pytest.mark.parametrize("name", ["test_Conv2d_groups", "test_BatchNorm2d_eval", "test_MaxPool2d_stride_padding_dilation"])
def test_a_test_data_sets_outputs_are_compared_with_the_reference_and_each_backend(name, capsys, tmp_path):
    folder = PYTORCH / name
    assert main(["model", "check", str(folder / "model.onnx"), "--test-data", str(folder / "test_data_set_0"),
                 "--backend", "tests.planted_models:Careful", "--backend", "tests.planted_models:FlippedConvKernels",
                 "--failures-dir", str(tmp_path), "--json"]) in (0, 1)
    document = json.loads(capsys.readouterr().out)
    # PyTorch computed these outputs in float32: the reference and a careful runtime are that close.
    assert document["data_set"]["reference"] < 1e-5
    assert document["data_set"]["planted-careful-runtime"] < 1e-5
    if name == "test_Conv2d_groups":
        assert document["data_set"]["planted-flipped-conv-kernels"] > 0.1


@pytest.mark.slow_check  # 82 models on two backends: a minute
def test_the_pytorch_converted_models_agree_on_onnxruntime_and_tensorflow_or_name_a_known_divergence():
    """Their opset-6 nodes (AveragePool-1, BatchNormalization-6, Gemm-6, PRelu-6, Add-6...) are where
    onnxruntime has no kernels: each such node must be named by a manifest entry, and every other
    node judged and agreeing, on PyTorch's own test data."""
    from conformance.divergences import load_manifest
    from conformance.model.inputs import data_set_inputs

    backends, manifest = [load_backend("onnxruntime"), load_backend("tensorflow")], load_manifest()
    problems, named = [], set()
    for folder in sorted(PYTORCH.iterdir()):
        model = load_model_file(folder / "model.onnx")
        fold_constants(model)
        inputs, outputs = data_set_inputs(model, folder / "test_data_set_0")
        result = check_model(model, backends, inputs, name=folder.name, divergences=manifest, expected_outputs=outputs)
        if result.unreferenced:
            problems.append(f"{folder.name}: no reference for {result.unreferenced}")
        for backend in result.results:
            for node in backend.nodes:
                if node.status not in ("agree", "known_divergence"):
                    problems.append(f"{folder.name} on {backend.backend}: node {node.node} ({node.op}) {node.status}:"
                                    f" {node.message}")
                if node.status == "known_divergence":
                    named.update(node.message.split(", "))
    assert not problems, "\n".join(problems)
    assert {"onnxruntime-gemm-before-opset-7", "onnxruntime-prelu-before-opset-7"} <= named, named


def test_onnxruntimes_intermediate_tensors_come_from_a_session_without_graph_optimizations():
    onnxruntime = load_backend("onnxruntime")
    calls = []
    unoptimized = onnxruntime.run_unoptimized

    def spy(model, inputs):
        calls.append(len(model.graph.output))
        return unoptimized(model, inputs)

    onnxruntime.run_unoptimized = spy
    result, = check(chain_model([("BatchNormalization", {}), ("Relu", {})]), onnxruntime).results
    assert calls == [3]  # the run with every node's output marked: Conv's, BatchNormalization's, Relu's
    assert result.status == "agree" and all(n.end_to_end_error < 1e-6 for n in result.nodes)


@pytest.mark.slow_check  # fresh processes loading a light model
def test_bench_model_times_the_check_against_one_onnx_reference_run():
    from conformance.bench_model import format_model_benchmark, run_model_benchmark

    results = run_model_benchmark("squeezenet", ["reference"], repeats=2)
    assert results["repeats"] == 2 and results["statuses"] == {"reference": "agree"}, results
    assert results["ratio"] == pytest.approx(results["check_seconds"] / results["onnx_reference_seconds"])
    assert 0 < results["check_peak_rss_bytes"] < 2**31
    assert "the fastest of 2 fresh processes" in format_model_benchmark(results)
