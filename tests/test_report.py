"""The parity report: its files, its schema, repeatability, parallel runs, and cells that crash or hang."""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conformance.backends import load_backend
from conformance.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from conformance.environment import cpu_facts, numpy_facts
from conformance.errors import ConformanceError
from conformance.ops import declarations
from conformance.profiles import without_local_constants
from conformance.report import ReportRun, load_report, run_report, without_timing, write_report
from conformance.report.build import cell_facts, histogram
from conformance.report.markdown import markdown
from conformance.report.merge import merge_reports
from conformance.report.schema import parity_schema, validate_report
from tests import misbehaving, planted

ROOT = Path(__file__).resolve().parents[1]
ROW_FIELDS = {"op", "backend", "backend_version", "status", "examples", "judged", "unjudged_elements", "unsupported",
              "max_error_ratio", "max_ulp", "diagnosis", "counterexample", "replay"}
ENVIRONMENT_FIELDS = {"python", "numpy", "onnx", "onnxruntime", "tensorflow", "cpu", "execution", "opset", "seed",
                      "profile"}


class ConvOnly(planted.RoundedOnce):
    """A benign backend that implements Conv only: its ConvTranspose cell is unsupported."""

    name = "conv-only"

    def supports(self, op_type: str) -> bool:
        return op_type == "Conv"


def small_run(jobs=0, seed=5, examples=8, timeout=None, backends=None, specs=None, ops=("Conv", "ConvTranspose")):
    backends = backends or [load_backend("reference"), planted.FlippedKernel(), ConvOnly()]
    return ReportRun(list(ops), backends, "ci", examples, seed, specs=specs, timeout=timeout, jobs=jobs)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A real report with every kind of cell but timeouts: agree, disagree (diagnosed), unsupported."""
    out = tmp_path_factory.mktemp("report")
    return run_report(small_run(), out / "failures")


def validator():
    return Draft202012Validator(parity_schema())


def test_the_schema_file_is_a_valid_json_schema():
    Draft202012Validator.check_schema(parity_schema())
    assert (ROOT / "conformance" / "report" / "parity.schema.json").is_file()


def test_a_report_validates_and_has_every_promised_field(report):
    validator().validate(report)
    assert report["schema_version"] == 4 and report["kind"] == "run"
    assert ENVIRONMENT_FIELDS <= set(report["environment"])
    assert report["environment"]["cpu"] == {key.removeprefix("cpu_"): value for key, value in cpu_facts().items()}
    # Each backend's own facts, once: the reference's NumPy targets; plug-ins without facts have none.
    assert report["environment"]["execution"] == {"reference": numpy_facts(), "planted-flipped-kernel": {},
                                                  "conv-only": {}}
    assert all("facts" not in row for row in report["results"])
    assert report["environment"]["seed"] == 5 and report["environment"]["profile"] == "ci"
    statuses = {(r["op"], r["backend"]): r["status"] for r in report["results"]}
    assert statuses == {
        ("Conv", "reference"): "agree", ("Conv", "planted-flipped-kernel"): "disagree", ("Conv", "conv-only"): "agree",
        ("ConvTranspose", "reference"): "agree", ("ConvTranspose", "planted-flipped-kernel"): "disagree",
        ("ConvTranspose", "conv-only"): "unsupported",
    }
    for row in report["results"]:
        assert ROW_FIELDS <= set(row)
        assert 0 <= row["judged"] <= row["examples"] and row["unjudged_elements"] == 0
    flipped = next(r for r in report["results"] if r["backend"] == "planted-flipped-kernel" and r["op"] == "Conv")
    assert flipped["diagnosis"] == ["flipped_kernel"] and flipped["max_error_ratio"] > 1
    assert flipped["replay"].startswith("conformance replay ") and flipped["counterexample"]["saved_to"]
    assert flipped["certify"] == "conformance certify Conv --backend tests.planted:FlippedKernel --profile ci" \
                                 " --examples 8 --seed 5"
    agree = report["results"][0]
    histogram_total = sum(n for _, n in agree["error_ratio_histogram"]["bins"]) + agree["error_ratio_histogram"]["zeros"]
    assert histogram_total == agree["examples"] and agree["replay"] is None


def test_the_schema_has_teeth(report):
    broken = json.loads(json.dumps(report))
    broken["results"][0]["status"] = "fine"
    del broken["results"][1]["replay"]
    del broken["environment"]["opset"]
    errors = list(validator().iter_errors(broken))
    assert len(errors) == 3
    with pytest.raises(ConformanceError, match="not a valid parity report"):
        validate_report(broken)
    with pytest.raises(ConformanceError, match="schema_version 1"):
        validate_report({**report, "schema_version": 1})


def test_the_committed_reports_validate():
    for name in ("parity.json", "baseline.json"):
        validator().validate(json.loads((ROOT / "reports" / name).read_text()))
    for path in (ROOT / "reports" / "matrix").glob("**/parity.json"):
        load_report(path)  # schema version 2 reports, read upgraded


def test_a_version_2_report_is_read_upgraded_with_its_facts_unknown(report, tmp_path):
    old = json.loads(json.dumps(report))
    old["schema_version"] = 2
    old["environment"]["cpu"] = "Intel(R) Xeon(R) Processor"
    del old["environment"]["execution"]
    for row in old["results"]:
        del row["judged"], row["unjudged_elements"], row["draws"], row["excused"], row["accepted"], row["readings"]
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(old))
    loaded = load_report(path)
    assert loaded["schema_version"] == 4 and loaded["environment"]["execution"] == {}
    assert all(row["judged"] is None and row["unjudged_elements"] is None for row in loaded["results"])
    assert loaded["environment"]["cpu"] == {"vendor": None, "model": "Intel(R) Xeon(R) Processor",
                                            "microarchitecture": None, "flags": None}
    assert cell_facts(loaded, loaded["results"][0]) is None
    assert cell_facts(report, report["results"][0])["numpy_simd"] == numpy_facts()["numpy_simd"]


def test_a_version_3_report_is_read_upgraded_with_draws_and_excused_unknown(report, tmp_path):
    old = json.loads(json.dumps(report))
    old["schema_version"] = 3
    for row in old["results"]:
        del row["draws"], row["excused"], row["accepted"], row["readings"]
    path = tmp_path / "v3.json"
    path.write_text(json.dumps(old))
    loaded = load_report(path)
    assert loaded["schema_version"] == 4
    assert all(r["draws"] is None and r["excused"] is None and r["readings"] is None and r["accepted"] == ""
               for r in loaded["results"])
    assert [r["judged"] for r in loaded["results"]] == [r["judged"] for r in report["results"]]


def test_histogram_bins_are_quarter_decades_and_exact_results_are_counted_apart():
    h = histogram([0.0, 0.0, 1.0, 0.3, 0.6, 2e-7, float("inf")])
    assert h == {"bins_per_decade": 4, "zeros": 2, "bins": [[-6.75, 1], [-0.75, 1], [-0.25, 1], [0.0, 1]]}


@pytest.mark.slow_check  # reports in and out of worker processes
def test_same_seed_same_report_apart_from_timing_whatever_the_number_of_workers(tmp_path):
    """Run once in one worker, once in two: the reports are equal once timing is removed.

    (This caught Hypothesis drawing constants from the modules a worker happened to have imported.)
    """
    specs = ["reference", "onnxruntime", "tests.planted:FlippedKernel"]
    backends = [load_backend(s) for s in specs]
    first = run_report(small_run(jobs=1, backends=backends, specs=specs, timeout=120), tmp_path / "failures")
    second = run_report(small_run(jobs=2, backends=backends, specs=specs, timeout=120), tmp_path / "failures")
    assert "timing" in first and all("seconds" in r for r in first["results"])
    assert without_timing(first) == without_timing(second)
    assert first["timing"] != second["timing"] or first["results"][0]["seconds"] != second["results"][0]["seconds"]
    assert [r["status"] for r in first["results"]].count("disagree") == 2


@pytest.mark.with_local_constants
def test_searches_draw_no_constants_from_local_modules():
    """Hypothesis offers integers found in local modules' source now and then, which made the cases
    of a seed depend on what a process had imported (the test above failed in worker processes).
    ``certify`` searches without them; this guards the Hypothesis internals that relies on."""
    providers = importlib.import_module("hypothesis.internal.conjecture.providers")
    assert len(providers._get_local_constants().integers) > 0, "the project's own modules hold such constants"
    with without_local_constants():
        assert len(providers._get_local_constants()) == 0
    assert len(providers._get_local_constants().integers) > 0


@pytest.mark.slow_check  # waits on worker processes: CI's slow step runs it
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_hanging_backend_is_a_timeout_for_its_cell_and_the_run_goes_on(tmp_path, jobs):
    specs = ["reference", "tests.misbehaving:HangsOnConvTranspose"]
    started = time.monotonic()
    report = run_report(small_run(jobs=jobs, backends=[load_backend(s) for s in specs], specs=specs, timeout=3),
                        tmp_path / "failures")
    elapsed = time.monotonic() - started
    statuses = {(r["op"], r["backend"]): r["status"] for r in report["results"]}
    assert statuses == {("Conv", "reference"): "agree", ("Conv", "hangs-on-convtranspose"): "agree",
                        ("ConvTranspose", "reference"): "agree", ("ConvTranspose", "hangs-on-convtranspose"): "timeout"}
    assert elapsed < 40, "the hang was stopped at its timeout, not waited out"
    hung = report["results"][-1]
    assert "no answer within 3 s" in hung["message"] and "ConvTranspose-" in hung["message"]
    # The watchdog saved the case the backend was stuck on, so the cell replays in one command.
    saved = Path(hung["counterexample"]["saved_to"])
    assert (saved / "model.onnx").is_file() and hung["replay"].startswith(f"conformance replay {saved}")
    validate_report(report)


@pytest.mark.slow_check  # waits on worker processes: CI's slow step runs it
@pytest.mark.parametrize("backend, evidence", [
    ("CrashesOnConvTranspose", "Segmentation fault"),  # a fatal signal: faulthandler names the crashing worker
    ("ExitsOnConvTranspose", "no Python traceback"),  # no trace at all: the suspects are rerun alone
])
def test_a_crashing_backend_is_an_error_for_its_cell_and_the_run_goes_on(tmp_path, backend, evidence):
    specs = ["reference", f"tests.misbehaving:{backend}"]
    report = run_report(small_run(jobs=2, backends=[load_backend(s) for s in specs], specs=specs, timeout=60),
                        tmp_path / "failures")
    statuses = [r["status"] for r in report["results"]]
    assert statuses == ["agree", "agree", "agree", "error"]
    crashed = report["results"][-1]
    assert crashed["message"].startswith("the worker process died while running this cell") and evidence in crashed["message"]
    assert crashed["replay"] == crashed["certify"] and crashed["replay"].startswith("conformance certify ConvTranspose")


def test_markdown_matrix(report):
    text = markdown(report)
    assert "| operator | reference 0.1.0 | planted-flipped-kernel planted | conv-only planted |" in text
    assert re.search(r"\| Conv \| ✅ agree \(8, [0-9.e-]+×\) \| ❌ disagree \(\d+, [0-9.e+]+×\): `flipped_kernel` \|", text)
    assert "| ConvTranspose |" in text and "➖ unsupported |" in text
    assert "6 cells: 3 agree, 1 unsupported, 2 disagree." in text
    assert "Replay: `conformance replay " in text


def test_the_cli_writes_three_files_that_validate(tmp_path, capsys):
    status = main(["report", "--ops", "Conv", "--backend", "reference", "--examples", "5", "--out", str(tmp_path),
                   "-j", "0"])
    assert status == EXIT_OK
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["parity.html", "parity.json", "parity.md"]
    validator().validate(load_report(tmp_path / "parity.json"))
    assert "| Conv | ✅ agree" in capsys.readouterr().out


def test_the_cli_exits_1_when_a_cell_fails_and_updates_a_baseline_without_timing(tmp_path, capsys):
    baseline = tmp_path / "baseline.json"
    status = main(["report", "--ops", "Conv", "--backend", "tests.planted:FlippedKernel", "--examples", "5",
                   "--out", str(tmp_path), "-j", "0", "--update-baseline", "--baseline", str(baseline)])
    assert status == EXIT_FAILED
    written = json.loads(baseline.read_text())
    validator().validate(written)
    assert written == without_timing(load_report(tmp_path / "parity.json"))
    assert "timing" not in written and "seconds" not in written["results"][0]


def test_merge_gives_a_column_per_backend_version_and_lists_conflicts(report, tmp_path, capsys):
    older = json.loads(json.dumps(report))
    for r in older["results"]:
        if r["backend"] == "planted-flipped-kernel":
            r["backend_version"] = "0.9"
            r["status"], r["diagnosis"], r["counterexample"], r["replay"] = "agree", [], None, None
    older["environment"]["onnxruntime"] = "1.21.1"
    (tmp_path / "old.json").write_text(json.dumps(older))
    (tmp_path / "new.json").write_text(json.dumps(report))
    status = main(["report", "--merge", str(tmp_path / "old.json"), str(tmp_path / "new.json"),
                   "--out", str(tmp_path / "merged")])
    assert status == EXIT_OK
    merged = load_report(tmp_path / "merged" / "parity.json")
    assert merged["kind"] == "merged" and [r["source"] for r in merged["runs"]] == [str(tmp_path / "old.json"),
                                                                                    str(tmp_path / "new.json")]
    text = (tmp_path / "merged" / "parity.md").read_text()
    assert ("| operator | reference 0.1.0 | planted-flipped-kernel 0.9 | planted-flipped-kernel planted"
            " | conv-only planted |") in text
    assert "onnxruntime 1.21.1" in text and "Merged from 2 runs" in text
    assert "onnxruntime" not in merged["environment"], "only the values every run shares"
    # The reference and conv-only cells were in both runs with the same answers: kept once, no conflict.
    assert len(merged["results"]) == 8 and "conflicts" not in merged
    differing = json.loads(json.dumps(older))
    differing["results"][0]["status"] = "disagree"
    conflicted = merge_reports([("a", differing), ("b", report)])
    assert conflicted["conflicts"] == [{"op": "Conv", "backend": "reference", "backend_version": "0.1.0",
                                        "runs": [0, 1], "statuses": ["disagree", "agree"]}]
    validate_report(conflicted)


def test_the_report_never_names_an_operator():
    """The report grows with the declarations: no operator name is written into its code or template.

    An operator name in a string literal is what hard-coding would look like; operator names that
    are also English words (Where, Max, Pad) may appear in prose.
    """
    sources = [p for p in (ROOT / "conformance" / "report").rglob("*") if p.suffix in (".py", ".j2", ".json")]
    assert sources
    for path in sources:
        text = path.read_text()
        for op in declarations():
            quoted = rf"""["']{re.escape(op)}["']"""
            assert not re.search(quoted, text), f"{path.name} names the operator {op}"


def test_a_malformed_report_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 2, "results": []}')
    assert main(["diff", str(bad), str(bad)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: not a valid parity report") and err.count("\n") == 1
    (tmp_path / "junk.json").write_text("{")
    assert main(["report", "--merge", str(tmp_path / "junk.json"), "--out", str(tmp_path)]) == EXIT_USAGE
    assert "not valid JSON" in capsys.readouterr().err


def test_written_files_round_trip(report, tmp_path):
    paths = write_report(report, tmp_path, html=False)
    assert [p.name for p in paths] == ["parity.json", "parity.md"]
    assert load_report(paths[0]) == report
    assert os.path.getsize(paths[1]) > 0


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow_check  # waits on worker processes: CI's slow step runs it
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process trees from /proc (Linux)")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopping_a_report_stops_its_workers(tmp_path, stop):
    """A report whose backend hangs (no timeout) is stopped: its workers go too, even stuck ones."""
    command = [sys.executable, "-m", "conformance", "report", "--ops", "ConvTranspose", "--backend",
               "tests.misbehaving:HangsOnConvTranspose", "--timeout", "0", "-j", "2", "--out", str(tmp_path)]
    stuck = tmp_path / "stuck"  # the backend creates it as it starts hanging
    parent = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, misbehaving.HANG_MARKER: str(stuck)})
    try:
        deadline = time.monotonic() + 120  # a loaded machine takes a while to start a worker and its backends
        while not stuck.exists():
            assert time.monotonic() < deadline, "no worker got stuck in the backend"
            time.sleep(0.2)
        workers = [p for p in _children(parent.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
        assert workers, "the stuck worker is not the report's child"
        parent.send_signal(stop)
        parent.wait(30)
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in workers):
            assert time.monotonic() < deadline, f"workers {workers} outlived their report"
            time.sleep(0.2)
    finally:
        if parent.poll() is None:
            parent.kill()
    if stop == signal.SIGTERM:
        assert parent.returncode == 130 and "interrupted" in parent.stderr.read()
