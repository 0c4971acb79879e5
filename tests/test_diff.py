"""``conformance diff``: each kind of regression is caught, fixes and known divergences are not regressions."""

from __future__ import annotations

import copy
import json

import pytest

from conformance.backends import load_backend
from conformance.cli import EXIT_FAILED, EXIT_OK, main
from conformance.divergences import load_manifest
from conformance.report import ReportRun, run_report
from conformance.report.diff import diff_markdown, diff_reports
from tests import planted


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A real report: Conv and ConvTranspose on the reference and on a kernel-flipping plug-in."""
    out = tmp_path_factory.mktemp("diff")
    run = ReportRun(["Conv", "ConvTranspose"], [load_backend("reference"), planted.FlippedKernel()], "ci", 8, 2,
                    jobs=0)
    return run_report(run, out / "failures")


def changed(report, op, backend, **fields):
    new = copy.deepcopy(report)
    row = next(r for r in new["results"] if r["op"] == op and r["backend"] == backend)
    row.update(fields)
    return new


def write(tmp_path, name, report):
    path = tmp_path / name
    path.write_text(json.dumps(report))
    return str(path)


@pytest.mark.parametrize("form", ["text", "md", "json"])
def test_a_report_against_itself_is_no_regression(report, tmp_path, capsys, form):
    path = write(tmp_path, "same.json", report)
    assert main(["diff", path, path, "--format", form]) == EXIT_OK
    out = capsys.readouterr().out
    if form == "json":
        assert json.loads(out)["regressed"] is False and json.loads(out)["regressions"] == []
    else:
        assert "No regression." in out


def test_a_cell_that_starts_disagreeing_is_a_regression_exit_1(report, tmp_path, capsys):
    flipped = next(r for r in report["results"] if r["backend"] == "planted-flipped-kernel" and r["op"] == "Conv")
    new = changed(report, "Conv", "reference", status="disagree", diagnosis=["flipped_kernel"],
                  counterexample=flipped["counterexample"], replay=flipped["replay"])
    assert main(["diff", write(tmp_path, "old.json", report), write(tmp_path, "new.json", new),
                 "--format", "md"]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "**1 regression.**" in out and "### Regressions (1)" in out
    assert "Conv on reference 0.1.0: agree → disagree (flipped_kernel); on `Conv-" in out and "replay: `conformance replay" in out


@pytest.mark.parametrize("fields, text", [
    ({"status": "error", "message": "RuntimeError: boom"}, "agree → error; RuntimeError: boom"),
    ({"status": "timeout", "message": "no answer within 5 s"}, "agree → timeout; no answer within 5 s"),
    ({"status": "unsupported", "examples": 0, "unsupported": 8, "max_error_ratio": None}, "agree → newly unsupported"),
    ({"unsupported": 3, "unsupported_reasons": {"no SAME_LOWER": 3}}, "newly unsupported cases: 0 → 3 of the same draws (no SAME_LOWER)"),
])
def test_each_kind_of_regression(report, fields, text):
    diff = diff_reports(report, changed(report, "ConvTranspose", "reference", **fields))
    assert [c.text for c in diff.regressions] == [f"ConvTranspose on reference 0.1.0: {text}"]


def test_an_error_ratio_that_grows_past_the_factor_is_a_regression(report):
    old = changed(report, "Conv", "reference", max_error_ratio=0.02)
    grown = changed(report, "Conv", "reference", max_error_ratio=0.3)  # 15 times
    (regression,) = diff_reports(old, grown).regressions
    assert regression.text == ("Conv on reference 0.1.0: largest error grew from 0.02× to 0.3× its bound"
                               " (more than 10 times)")
    assert not diff_reports(old, grown, ratio_factor=20).regressions
    within = changed(report, "Conv", "reference", max_error_ratio=0.08)  # 4 times
    assert not diff_reports(old, within).regressions


def test_growth_far_inside_the_bound_is_not_a_regression(report):
    """Exact results becoming rounded ones (1e-6 of the bound) is not a changed answer."""
    old = changed(report, "Conv", "reference", max_error_ratio=1e-7)
    assert not diff_reports(old, changed(report, "Conv", "reference", max_error_ratio=1e-4)).regressions
    assert diff_reports(old, changed(report, "Conv", "reference", max_error_ratio=0.2)).regressions


def test_fixes_and_what_appeared_or_vanished(report):
    fixed = changed(report, "Conv", "planted-flipped-kernel", status="agree", diagnosis=[], counterexample=None)
    diff = diff_reports(report, fixed)
    assert not diff.regressions
    assert [c.text for c in diff.fixes] == ["Conv on planted-flipped-kernel planted: disagree (flipped_kernel) → agree"]
    fewer = copy.deepcopy(report)
    fewer["results"] = [r for r in fewer["results"] if r["op"] == "Conv" and r["backend"] == "reference"]
    diff = diff_reports(fewer, report)
    assert diff.appeared == ["operator ConvTranspose", "backend planted-flipped-kernel"] and not diff.regressed
    assert diff_reports(report, fewer).vanished == ["operator ConvTranspose", "backend planted-flipped-kernel"]


def test_an_upgrade_is_compared_cell_by_cell_and_its_versions_listed(report):
    upgraded = copy.deepcopy(report)
    for r in upgraded["results"]:
        if r["backend"] == "reference":
            r["backend_version"] = "0.2.0"
    upgraded = changed(upgraded, "Conv", "reference", status="error", message="RuntimeError: new kernel")
    diff = diff_reports(report, upgraded)
    assert diff.versions == ["reference 0.1.0 → 0.2.0"]
    assert [c.text for c in diff.regressions] == [
        "Conv on reference 0.1.0 → 0.2.0: agree → error; RuntimeError: new kernel"]


def test_a_new_known_divergence_is_not_a_regression(report):
    probe = {"id": "flipped-by-design", "reason": "r", "link": "https://example.org", "reproduced": True,
             "examples": 3, "message": "", "witness": None}
    known = changed(report, "Conv", "reference", status="known_divergence", known_divergences=[probe])
    diff = diff_reports(report, known)
    assert not diff.regressed and [c.text for c in diff.known] == [
        "Conv on reference 0.1.0: agree → known divergence (flipped-by-design)"]
    stale = changed(report, "Conv", "reference", unexpected_passes=["flipped-by-design"])
    assert [c.text for c in diff_reports(report, stale).fixes] == [
        "Conv on reference 0.1.0: known divergence flipped-by-design no longer reproduces (update the manifest)"]


def test_a_failure_the_manifest_lists_is_not_a_regression(tmp_path, capsys):
    """Real onnxruntime refuses float64 Conv and dilated SAME padding; with the manifest ignored, a report
    shows that as an error. Against a report where the cell agreed, the diff finds the shipped manifest's
    entry for the saved minimal case."""
    run = ReportRun(["Conv"], [load_backend("onnxruntime")], "ci", 10, 4, jobs=0)
    failing = run_report(run, tmp_path / "failures")  # no manifest: a refusal is an error
    (row,) = failing["results"]
    assert row["status"] == "error" and row["counterexample"]["saved_to"]
    agreed = changed(failing, "Conv", "onnxruntime", status="agree", counterexample=None, replay=None, message="")
    diff = diff_reports(agreed, failing, load_manifest())
    assert not diff.regressed
    assert len(diff.known) == 1 and "listed in the manifest as onnxruntime-conv-" in diff.known[0].text
    assert diff_reports(agreed, failing, []).regressed  # without the manifest, the same change regresses
    old, new = write(tmp_path, "old.json", agreed), write(tmp_path, "new.json", failing)
    assert main(["diff", old, new]) == EXIT_OK
    assert main(["diff", old, new, "--no-known-divergences"]) == EXIT_FAILED
    capsys.readouterr()


def test_markdown_lists_every_section(report):
    old = changed(report, "Conv", "planted-flipped-kernel", status="agree", diagnosis=[], counterexample=None)
    text = diff_markdown(diff_reports(old, report, old_name="a.json", new_name="b.json"))
    assert text.startswith("## Parity diff: `a.json` → `b.json`")
    assert "### Regressions (1)" in text and "- Conv on planted-flipped-kernel planted: agree → disagree" in text


def test_a_changed_answer_whose_execution_facts_changed_is_not_a_regression(report, tmp_path, capsys):
    """Another CPU path: the cell is listed as changed with the environment, with the facts, exit 0."""
    flipped = next(r for r in report["results"] if r["backend"] == "planted-flipped-kernel" and r["op"] == "Conv")
    new = changed(report, "Conv", "reference", status="disagree", diagnosis=["flipped_kernel"],
                  counterexample=flipped["counterexample"], replay=flipped["replay"])
    new["environment"]["execution"]["reference"] = {"numpy_simd": ["AVX2"]}
    new["environment"]["cpu"]["flags"] = ["avx", "avx2"]
    diff = diff_reports(report, new)
    assert not diff.regressed and diff.regressions == [] and diff.fixes == []
    (cell,) = diff.environment
    assert cell.text.startswith("Conv on reference 0.1.0: agree → disagree (flipped_kernel)")
    assert "numpy_simd" in cell.text and "cpu_flags" in cell.text
    assert any(line.startswith("cpu_flags ") for line in diff.environment_changes)  # the CPU's, once
    assert any(line.startswith("reference: numpy_simd ") for line in diff.environment_changes)
    assert main(["diff", write(tmp_path, "old.json", report), write(tmp_path, "new.json", new),
                 "--format", "md"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "No regression. 1 answer changed with the environment." in out
    assert "### Changed with the environment (not regressions: the execution facts differ) (1)" in out


def test_the_same_change_in_the_same_environment_is_a_regression(report):
    flipped = next(r for r in report["results"] if r["backend"] == "planted-flipped-kernel" and r["op"] == "Conv")
    new = changed(report, "Conv", "reference", status="disagree", diagnosis=["flipped_kernel"],
                  counterexample=flipped["counterexample"], replay=flipped["replay"])
    new["environment"]["cpu"]["model"] = "another name for the same CPU"  # descriptive: no change of answers
    diff = diff_reports(report, new)
    assert diff.regressed and diff.environment == [] and diff.environment_changes == []


def test_facts_unknown_on_one_side_leave_a_regression_a_regression(report):
    old = copy.deepcopy(report)
    old["environment"]["execution"] = {}  # a report from before execution facts, read upgraded
    new = changed(report, "Conv", "reference", status="error", message="RuntimeError: boom")
    diff = diff_reports(old, new)
    assert diff.regressed and diff.environment == []


def test_a_failure_is_listed_only_under_an_entry_that_holds_in_the_reports_environment(report):
    """The flipped kernel's failure is the manifest's only where the entry's environment holds."""
    from conformance.divergences import KnownDivergence

    entry = KnownDivergence("flip-on-eigen", ("planted-flipped-kernel",), "Conv", "disagree", "r", "https://x",
                            environment={"path": "eigen"})
    old = changed(report, "Conv", "planted-flipped-kernel", status="agree", diagnosis=[], counterexample=None)
    on = copy.deepcopy(report)
    for r in (old, on):
        r["environment"]["execution"]["planted-flipped-kernel"] = {"path": "onednn"}
    assert diff_reports(old, on, [entry]).regressed
    eigen = copy.deepcopy(on)
    for r in (old, eigen):
        r["environment"]["execution"]["planted-flipped-kernel"] = {"path": "eigen"}
    diff = diff_reports(old, eigen, [entry])
    assert not diff.regressed and "listed in the manifest as flip-on-eigen" in diff.known[0].text


def test_less_evidence_is_a_regression_fewer_judged_or_more_draws_excused(report):
    diff = diff_reports(report, changed(report, "ConvTranspose", "reference", judged=5))
    assert [c.text for c in diff.regressions] == ["ConvTranspose on reference 0.1.0: judged on fewer examples: 8 → 5"]
    old = changed(report, "ConvTranspose", "reference", draws=20, excused={"wide": 2})
    widened = changed(report, "ConvTranspose", "reference", draws=20, excused={"wide": 8})
    (regression,) = diff_reports(old, widened).regressions
    assert regression.text == ("ConvTranspose on reference 0.1.0: known divergence wide excuses 40% of the draws,"
                               " up from 10%: its region takes more cases out of certification")
    assert not diff_reports(old, changed(report, "ConvTranspose", "reference", draws=20, excused={"wide": 3})).regressions
    assert not diff_reports(widened, old).regressions  # a narrower region is no regression


def test_an_inconclusive_cell_fails_unless_the_manifest_accepts_it(report):
    thin = changed(report, "ConvTranspose", "reference", status="inconclusive", message="only 3 examples judged")
    (regression,) = diff_reports(report, thin).regressions
    assert regression.text.startswith("ConvTranspose on reference 0.1.0: agree → inconclusive")
    accepted = changed(report, "ConvTranspose", "reference", status="inconclusive", accepted="thin: cannot express it")
    assert not diff_reports(report, accepted).regressions
