"""The pytest plugin, run as a user runs it: ids, failure messages, saved cases, strict xfails."""

from __future__ import annotations

import pytest

MODULE = '''
OPERATORS = ("Conv",)

def test_conv(backend, certify):
    certify("Conv", backend)

def test_known_divergence(known_divergence, certify_divergence):
    certify_divergence(known_divergence)
'''

MANIFEST = '''
[[divergence]]
id = "flipped-by-design"
backend = "planted-flipped-kernel"
op = "Conv"
status = "disagree"
diagnosis = "flipped_kernel"
reason = "this plug-in computes true convolution"
link = "https://example.org/flip"

[[divergence]]
id = "fixed-upstream"
backend = "reference"
op = "Conv"
when = { spatial_rank = 2 }
status = "disagree"
diagnosis = "flipped_kernel"
reason = "used to disagree in 2-D"
link = "https://example.org/fixed"
'''


@pytest.fixture
def suite(pytester: pytest.Pytester):
    pytester.makepyfile(test_certify=MODULE)
    return pytester


def run(pytester, *args):
    return pytester.runpytest("-p", "conformance.pytest_plugin", "-p", "no:cacheprovider",
                              "--hypothesis-profile", "ci", *args)


def test_ids_name_the_backend_and_a_flipped_kernel_fails_with_a_full_account(suite, tmp_path):
    failures = tmp_path / "failures"
    result = run(suite, "--backend", "reference", "--backend", "tests.planted:FlippedKernel",
                 "--conformance-failures", str(failures), "-v")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*test_conv?reference? PASSED*",
        "*test_conv?tests.planted:FlippedKernel? FAILED*",
    ])
    text = result.stdout.str()
    for expected in ("Conv on planted-flipped-kernel planted: disagree", "case: Conv-22(", "x its bound",
                     "diagnosis: flipped_kernel", "replay: conformance replay"):
        assert expected in text
    saved = failures / "Conv-planted-flipped-kernel"
    assert (saved / "model.onnx").is_file() and (saved / "inputs.npz").is_file()


def test_known_divergences_are_strict_expected_failures(suite, tmp_path):
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(MANIFEST)
    result = run(suite, "--backend", "reference", "--backend", "tests.planted:FlippedKernel",
                 "--known-divergences", str(manifest), "-rxX", "--conformance-failures", str(tmp_path / "f"))
    # The flip is known, so test_conv passes for the plug-in (judged where a flip changes nothing,
    # excused where it looks like a flip); its probe reproduces (xfail); the reference never
    # disagreed in 2-D, so that entry is an unexpected pass, a failure.
    result.assert_outcomes(passed=2, xfailed=1, failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*used to disagree in 2-D*"])
    result.stdout.fnmatch_lines(["*XFAIL*flipped-by-design*"])


def test_an_unavailable_backend_is_skipped_with_the_reason(suite, monkeypatch):
    from conformance.backends import BUILT_INS, BuiltIn

    monkeypatch.setitem(BUILT_INS, "ghost", BuiltIn("ghost", "ghost_pkg_xyz:B", ("ghost_pkg_xyz",)))
    result = run(suite, "--backend", "ghost", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*backend ghost is unavailable: Python package 'ghost_pkg_xyz' is not installed*"])


def test_a_default_backend_that_is_unavailable_fails_as_inconclusive(suite, monkeypatch):
    from conformance import backends

    monkeypatch.setitem(backends.BUILT_INS, "ghost", backends.BuiltIn("ghost", "ghost_pkg_xyz:B", ("ghost_pkg_xyz",)))
    monkeypatch.setattr(backends, "DEFAULT_BUILT_INS", ("reference", "ghost"))
    result = run(suite, "-k", "test_conv")
    result.assert_outcomes(passed=1, errors=1)  # the backend fixture fails: an error at set-up
    result.stdout.fnmatch_lines(["*inconclusive: default backend ghost is unavailable*install it, or name*"])


THIN_MANIFEST = '''
[[divergence]]
id = "nan-everywhere"
backend = "planted-all-nan"
op = "Conv"
status = "disagree"
message = "differ in NAN"
reason = "this plug-in returns NaN by design"
link = "https://example.org/nan"
{acceptance}'''
ACCEPTANCE = '''
[[divergence]]
id = "nothing-judged-by-design"
backend = "planted-all-nan"
op = "Conv"
status = "inconclusive"
reason = "every case is excused, so none is judged"
link = "https://example.org/nan"
'''


@pytest.mark.parametrize("accepted", [False, True])
def test_an_inconclusive_cell_fails_unless_the_manifest_accepts_it(suite, tmp_path, accepted):
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(THIN_MANIFEST.format(acceptance=ACCEPTANCE if accepted else ""))
    result = run(suite, "--backend", "tests.test_divergences:AllNaN", "--known-divergences", str(manifest),
                 "-k", "test_conv", "-rs", "--conformance-failures", str(tmp_path / "f"))
    if accepted:
        result.assert_outcomes(skipped=1)
        result.stdout.fnmatch_lines(["*inconclusive, accepted: only 0 examples judged*nothing-judged-by-design*"])
    else:
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*planted-all-nan planted: inconclusive (0 judged of*"])


def test_a_family_module_certifies_every_operator_it_lists(pytester: pytest.Pytester):
    pytester.makepyfile(test_family="""
OPERATORS = ("Conv", "ConvTranspose")

def test_family(op, backend, certify):
    certify(op, backend)
""")
    result = run(pytester, "--backend", "reference", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_family?Conv-reference? PASSED*", "*test_family?ConvTranspose-reference? PASSED*"])


def test_conformance_report_writes_the_report_the_cli_writes(suite, tmp_path):
    """``pytest --conformance-report DIR``: the three files, and the same results as ``conformance report``."""
    import json

    from conformance.cli import main
    from conformance.report import load_report, without_timing

    manifest = tmp_path / "manifest.toml"
    manifest.write_text(MANIFEST.split("[[divergence]]")[1].join(["[[divergence]]", ""]))  # flipped-by-design only
    out = tmp_path / "report"
    result = run(suite, "--backend", "reference", "--backend", "tests.planted:FlippedKernel",
                 "--known-divergences", str(manifest), "--conformance-report", str(out))
    result.assert_outcomes(passed=2, xfailed=1)
    result.stdout.fnmatch_lines([f"conformance report: {out / 'parity.json'}, {out / 'parity.md'}, {out / 'parity.html'}"])
    from_pytest = load_report(out / "parity.json")  # validated against the schema
    assert [(r["op"], r["backend"], r["status"]) for r in from_pytest["results"]] == [
        ("Conv", "reference", "agree"), ("Conv", "planted-flipped-kernel", "known_divergence")]
    assert from_pytest["environment"]["profile"] == "ci"

    status = main(["report", "--ops", "Conv", "--backend", "reference", "--backend", "tests.planted:FlippedKernel",
                   "--known-divergences", str(manifest), "--out", str(out), "-j", "0"])
    assert status == 0
    from_cli = load_report(out / "parity.json")
    assert without_timing(from_cli)["results"] == without_timing(from_pytest)["results"]
    assert json.loads((out / "parity.json").read_text())["environment"]["timeout"] == 600


def test_conformance_report_runs_in_one_process_even_with_xdist_workers_asked_for(suite, tmp_path):
    pytest.importorskip("xdist", reason="pytest-xdist is not installed")
    out = tmp_path / "report"
    result = run(suite, "-n", "2", "--backend", "reference", "--conformance-report", str(out))
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["conformance report: the tests ran in one process*", "conformance report: *parity.json*"])
    from conformance.report import load_report

    assert [(r["op"], r["backend"]) for r in load_report(out / "parity.json")["results"]] == [("Conv", "reference")]


def test_no_report_without_certifications(pytester: pytest.Pytester, tmp_path):
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = run(pytester, "--conformance-report", str(tmp_path / "r"))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["conformance report: no certification ran, so no report was written"])
    assert not (tmp_path / "r").exists()


ENVIRONMENT_MANIFEST = '''
[[divergence]]
id = "flipped-on-eigen"
backend = "planted-flipped-kernel"
op = "Conv"
environment = { path = "eigen" }
status = "disagree"
diagnosis = "flipped_kernel"
reason = "flips its kernel on its Eigen path only"
link = "https://example.org/eigen"

[[divergence]]
id = "stale-on-eigen"
backend = "reference"
op = "Conv"
when = { spatial_rank = 2 }
environment = { path = "eigen" }
status = "disagree"
diagnosis = "flipped_kernel"
reason = "would be an unexpected pass, if it held here"
link = "https://example.org/stale"
'''


def test_an_entry_for_another_environment_is_skipped_not_an_unexpected_pass(suite, tmp_path):
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(ENVIRONMENT_MANIFEST)
    result = run(suite, "--backend", "reference", "--backend", "tests.test_environment:FlippedOnOneDNN",
                 "--known-divergences", str(manifest), "-rs", "--conformance-failures", str(tmp_path / "f"))
    # The flip happens on the oneDNN path, where the entry does not hold: a failure, not excused.
    # Neither entry holds, so neither is probed: two skips, no XFAIL, no XPASS.
    result.assert_outcomes(passed=1, failed=1, skipped=2)
    result.stdout.fnmatch_lines(["*flipped-on-eigen holds where path = eigen; here path = onednn*",
                                 "*stale-on-eigen holds where path = eigen; here those facts are not reported*"])


def test_an_entry_is_probed_on_every_selected_backend_it_names(suite, tmp_path):
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(MANIFEST.split("[[divergence]]")[1].join(["[[divergence]]", ""])
                        .replace('backend = "planted-flipped-kernel"', 'backend = "configurable"'))
    result = run(suite, "--backend", "tests.test_backends:Configurable[mode=exact]",
                 "--backend", "tests.test_backends:Configurable[mode=fast]", "--known-divergences", str(manifest),
                 "-v", "--conformance-failures", str(tmp_path / "f"))
    result.assert_outcomes(passed=2, xfailed=2)
    result.stdout.fnmatch_lines(["*test_known_divergence?flipped-by-design@tests.test_backends:Configurable?mode=exact?? XFAIL*",
                                 "*test_known_divergence?flipped-by-design@tests.test_backends:Configurable?mode=fast?? XFAIL*"])


def test_a_probe_verdict_is_kept_for_the_next_run_and_fresh_probes_probes_again(suite, tmp_path, monkeypatch):
    """A CI's pytest step after ``conformance report`` probes nothing twice; ``--fresh-probes`` does."""
    monkeypatch.setenv("CONFORMANCE_PROBE_CACHE", str(tmp_path / "probes"))
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(MANIFEST.split("[[divergence]]")[1].join(["[[divergence]]", ""]))  # flipped-by-design only
    states = []
    for extra in ([], [], ["--fresh-probes"]):
        out = tmp_path / f"report{len(states)}"
        result = run(suite, "--backend", "tests.planted:FlippedKernel", "--known-divergences", str(manifest),
                     "--conformance-report", str(out), *extra)
        result.assert_outcomes(passed=1, xfailed=1)
        line = next(s for s in (out / "parity.md").read_text().splitlines() if "flipped-by-design" in s)
        states.append(line.split("): ")[1].split(",")[0])
    assert states == ["reproduced", "reproduced (cached)", "reproduced"]


def test_every_family_has_a_shipped_certification_module_and_cases_collects_it():
    import importlib

    from conformance.certification import directory, family_operators
    from conformance.ops import declarations

    table = declarations()
    families = {table.family(op) for op in table}
    modules = {path.stem.removeprefix("test_") for path in directory().glob("test_*.py")} - {"models"}
    assert families == modules, \
        "each family of conformance.ops needs its module in conformance/certification/ (and cases/)"
    for family in families:
        shipped = importlib.import_module(f"conformance.certification.test_{family}")
        here = importlib.import_module(f"cases.test_{family}")
        assert here.OPERATORS == shipped.OPERATORS == family_operators(family)
        assert getattr(here, f"test_{family}") is getattr(shipped, f"test_{family}"), f"cases/ redefines {family}"
