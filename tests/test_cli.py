"""The command line, as a user meets it: outputs, exit statuses, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conformance.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from tests.test_pytest_plugin import MANIFEST

FLIP_BY_DESIGN = MANIFEST.split("[[divergence]]")[1].join(["[[divergence]]", ""])


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_help_explains_the_commands_and_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for word in ("backends", "ops", "certify", "replay", "report", "diff", "bench", "module.path:Attr", "exit status"):
        assert word in out


@pytest.mark.slow_check  # every backend's facts, TensorFlow's two paths in processes of their own
def test_backends_json(capsys):
    status, out, _ = run(capsys, "backends", "--json")
    assert status == EXIT_OK
    rows = json.loads(out)
    assert {r["name"] for r in rows} >= {"reference", "onnxruntime", "tensorflow", "onnx-reference",
                                         "tensorflow[onednn=on]", "tensorflow[onednn=off]"}
    assert all(set(r) == {"name", "version", "available", "reason", "facts"} for r in rows)
    facts = {r["name"]: r["facts"] for r in rows if r["available"]}
    assert all({"cpu_vendor", "cpu_model", "cpu_microarchitecture", "cpu_flags"} <= set(f) for f in facts.values())
    assert facts["onnxruntime"]["execution_provider"] == "CPUExecutionProvider"
    if "tensorflow" in facts:
        assert facts["tensorflow[onednn=on]"]["onednn"] is True and facts["tensorflow[onednn=off]"]["onednn"] is False
        assert facts["tensorflow"]["onednn"] in (True, False) and "onednn_isa" in facts["tensorflow"]


def test_backends_lists_an_unavailable_spec_without_crashing(capsys):
    status, out, _ = run(capsys, "backends", "--json", "--backend", "no_such_module_xyz:B")
    assert status == EXIT_OK
    row = next(r for r in json.loads(out) if r["name"] == "no_such_module_xyz:B")
    assert row["available"] is False and "cannot import" in row["reason"]


def test_ops_json_lists_operators_backends_variants_and_features(capsys):
    status, out, _ = run(capsys, "ops", "--json", "--backend", "reference")
    assert status == EXIT_OK
    conv = next(e for e in json.loads(out) if e["op"] == "Conv")
    assert conv["backends"] == ["reference"]
    assert "flipped_kernel" in [v["name"] for v in conv["variants"]]
    assert {"auto_pad", "dilated", "spatial_rank"} <= set(conv["features"])


def test_certify_a_flipping_plugin_exits_1_and_names_flipped_kernel(capsys, tmp_path):
    status, out, _ = run(capsys, "certify", "Conv", "--backend", "tests.planted:FlippedKernel", "--json",
                         "--profile", "ci", "--failures-dir", str(tmp_path))
    assert status == EXIT_FAILED
    (result,) = json.loads(out)["results"]
    assert result["status"] == "disagree" and result["diagnosis"] == ["flipped_kernel"]
    example = result["counterexample"]
    assert example["saved_to"].startswith(str(tmp_path)) and example["replay"].startswith("conformance replay")

    status, out, _ = run(capsys, "replay", example["saved_to"])
    assert status == EXIT_FAILED
    assert "planted-flipped-kernel" in out and "diagnosis: flipped_kernel" in out
    status, out, _ = run(capsys, "replay", example["saved_to"], "--backend", "reference")
    assert status == EXIT_OK and "reference" in out and "agree" in out


def test_certify_text_output_shows_case_bound_and_diagnosis(capsys, tmp_path):
    # 100 examples: one Conv draw in twelve has the odd SAME padding where the swap shows.
    status, out, _ = run(capsys, "certify", "Conv", "--backend", "tests.planted:SameUpperLowerSwapped",
                         "--profile", "ci", "--examples", "100", "--failures-dir", str(tmp_path))
    assert status == EXIT_FAILED
    for text in ("Conv on planted-same-swapped", "disagree", "case: Conv-", "x its bound", "ULP",
                 "diagnosis: same_upper_lower_swapped", "replay: conformance replay"):
        assert text in out


def test_certify_an_agreeing_backend_exits_0(capsys, tmp_path):
    status, out, _ = run(capsys, "certify", "ConvTranspose", "--backend", "reference", "--examples", "10",
                         "--seed", "3", "--failures-dir", str(tmp_path))
    assert status == EXIT_OK and "agree" in out


@pytest.mark.parametrize("argv, message", [
    (["certify", "Conv2D"], "error: unknown operator 'Conv2D'; did you mean Conv?"),
    (["certify", "conv", "--backend", "reference"], "error: unknown operator 'conv'; did you mean Conv?"),
    (["certify", "Conv", "--backend", "nope"], "error: unknown backend 'nope'"),
    (["replay", "/no/such/dir"], "error: /no/such/dir: no such directory"),
    (["report", "--ops", "Nope", "--out", "/tmp/x"], "error: unknown operator 'Nope'"),
])
def test_bad_input_is_one_clear_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == EXIT_USAGE
    assert err.startswith(message) and err.count("\n") == 1


def test_a_malformed_saved_case_is_one_line(capsys, tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"junk")
    (tmp_path / "inputs.npz").write_bytes(b"junk")
    status, _, err = run(capsys, "replay", str(tmp_path))
    assert status == EXIT_USAGE and "not a valid ONNX model" in err and err.count("\n") == 1


def test_report_writes_json_markdown_and_html(capsys, tmp_path):
    status, out, _ = run(capsys, "report", "--ops", "Conv", "--backend", "reference", "--examples", "5",
                         "--out", str(tmp_path))
    assert status == EXIT_OK
    assert (tmp_path / "parity.html").is_file()
    report = json.loads((tmp_path / "parity.json").read_text())
    assert report["schema_version"] == 4 and report["environment"]["max_examples"] == 5
    assert set(report["environment"]["execution"]) == {"reference"}
    (row,) = report["results"]
    assert {"op", "backend", "backend_version", "status", "examples", "unsupported", "max_error_ratio",
            "max_ulp", "diagnosis", "counterexample", "replay"} <= set(row)
    assert "| Conv | ✅ agree" in (tmp_path / "parity.md").read_text()


def test_the_console_script_and_python_m_work():
    out = subprocess.run([sys.executable, "-m", "conformance", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("nn-conformance ")


def test_a_default_backend_that_is_unavailable_makes_certify_inconclusive(capsys, monkeypatch, tmp_path):
    from conformance import backends

    monkeypatch.setitem(backends.BUILT_INS, "ghost", backends.BuiltIn("ghost", "ghost_pkg_xyz:B", ("ghost_pkg_xyz",)))
    monkeypatch.setattr(backends, "DEFAULT_BUILT_INS", ("reference", "ghost"))
    status, out, _ = run(capsys, "certify", "Relu", "--examples", "5", "--failures-dir", str(tmp_path))
    assert status == EXIT_FAILED
    assert "Relu on reference" in out and "ghost: inconclusive: a default backend that is unavailable" in out
    # Named explicitly, only the backends asked for count.
    assert run(capsys, "certify", "Relu", "--examples", "5", "--backend", "reference")[0] == EXIT_OK


def test_divergences_lists_what_each_entry_excuses_and_measures_its_share(capsys):
    status, out, _ = run(capsys, "divergences", "--op", "Sigmoid", "--coverage", "--draws", "100", "--json")
    assert status == EXIT_OK
    rows = {r["id"]: r for r in json.loads(out)}
    entry = rows["onnxruntime-sigmoid-float32-absolute-accuracy"]
    assert entry["looks_like"] == "disagree, absolute error at most 1.2e-07"
    # Sigmoid's float32 draws with an input of -2 or below: a share that is neither nothing nor all.
    assert 0 < entry["share"] < 0.6 and entry["backend_share"] >= entry["share"]
    status, out, _ = run(capsys, "divergences", "--op", "Sigmoid")
    assert status == EXIT_OK and "onnxruntime-sigmoid-float32-absolute-accuracy" in out


class WarnsOnEveryCase:
    """Correct, but warns on every case, as onnx.reference's NumPy arithmetic does on overflow."""

    name, version = "planted-warns", "planted"

    def run(self, model, inputs):
        import warnings

        import numpy as np

        warnings.warn("overflow encountered in exp", RuntimeWarning)
        (X,) = inputs.values()
        return [np.maximum(X, np.zeros((), X.dtype))]


def test_backend_warnings_are_kept_with_the_cell_not_printed(capsys, tmp_path):
    status, out, err = run(capsys, "certify", "Relu", "--backend", f"{__name__}:WarnsOnEveryCase", "--examples", "5",
                           "--failures-dir", str(tmp_path))
    assert status == EXIT_OK
    assert "overflow" not in out + err, "a backend's warning reached the terminal"
    status, out, _ = run(capsys, "certify", "Relu", "--backend", f"{__name__}:WarnsOnEveryCase", "--examples", "5",
                         "--verbose", "--failures-dir", str(tmp_path))
    assert "backend warnings: " in out and "the first: RuntimeWarning: overflow encountered in exp (test_cli.py:" in out
    status, out, _ = run(capsys, "certify", "Relu", "--backend", f"{__name__}:WarnsOnEveryCase", "--examples", "5",
                         "--json", "--failures-dir", str(tmp_path))
    (result,) = json.loads(out)["results"]
    assert result["warnings"] >= 5 and result["first_warning"].startswith("RuntimeWarning: overflow")


def test_a_run_without_a_seed_prints_one_that_repeats_it(capsys, tmp_path):
    argv = ["certify", "Conv", "--backend", "reference", "--backend", "tests.planted:FlippedKernel",
            "--examples", "20", "--failures-dir", str(tmp_path), "--json"]
    first = json.loads(run(capsys, *argv)[1])
    assert isinstance(first["seed"], int) and first["profile"] == "dev"
    again = json.loads(run(capsys, *argv, "--seed", str(first["seed"]))[1])
    for data in (first, again):
        for result in data["results"]:
            for timing in ("seconds", "probe_seconds"):
                result.pop(timing)
    assert again == first
    saved = json.loads((tmp_path / "Conv-planted-flipped-kernel" / "case.json").read_text())
    assert saved["seed"] == first["seed"]
    text = run(capsys, "certify", "Relu", "--backend", "reference", "--examples", "3")[1]
    assert text.startswith("seed: ") and "repeats this run" in text
    text = run(capsys, "certify", "Relu", "--backend", "reference", "--profile", "ci")[1]
    assert text.startswith("seed: none needed (the ci profile is derandomized")


@pytest.mark.slow_check  # a fresh process importing TensorFlow
def test_importing_tensorflow_prints_nothing():
    pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    code = ("from conformance.backends.tensorflow import import_tensorflow\n"
            "tf = import_tensorflow()\n"
            "tf.nn.conv2d(tf.zeros([1, 3, 3, 1], tf.float16), tf.zeros([1, 1, 1, 1], tf.float16), 1, 'VALID')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr


@pytest.mark.parametrize("command", ["certify", "report"])
def test_fresh_probes_is_explained(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--fresh-probes" in out and ".conformance/probes" in out and "CONFORMANCE_PROBE_CACHE" in out


def test_certify_reuses_a_kept_probe_verdict_and_fresh_probes_probes_again(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CONFORMANCE_PROBE_CACHE", str(tmp_path / "probes"))
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(FLIP_BY_DESIGN)  # the planted flipped kernel's entry, probed on every run
    args = ["certify", "Conv", "--backend", "tests.planted:FlippedKernel", "--known-divergences", str(manifest),
            "--profile", "ci", "--failures-dir", str(tmp_path / "failures")]
    outputs = [run(capsys, *args), run(capsys, *args), run(capsys, *args, "--fresh-probes")]
    assert [status for status, _, _ in outputs] == [EXIT_OK] * 3
    states = [out.split("known divergence flipped-by-design: ")[1].split(",")[0] for _, out, _ in outputs]
    assert states == ["reproduced", "reproduced (cached)", "reproduced"]
    assert len(list((tmp_path / "probes").glob("Conv-*.json"))) == 1
