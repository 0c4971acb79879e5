"""Execution facts and the known divergences conditioned on them: the same verdicts on every machine.

An entry whose ``environment`` does not hold for a backend's facts neither excuses a case nor
expects one (no unexpected pass); where it holds it does both. The CPU's facts come from archspec,
TensorFlow's from a probe that reads oneDNN's own log.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance import ConformanceError
from conformance.backends import load_backend
from conformance.backends.tensorflow.facts import parse_probe_output
from conformance.certify import certify
from conformance.divergences import KnownDivergence, load_manifest
from conformance.environment import (
    CPU_FACTS,
    CPU_FLAGS,
    check_condition,
    condition_text,
    cpu_facts,
    differences,
    execution_facts,
    holds,
)
from conformance.ops import get_declaration
from conformance.profiles import profile_settings
from tests import planted

CONV = get_declaration("Conv")


class WithFacts:
    """Another backend's answers, under the execution facts a test chooses."""

    def __init__(self, backend, **facts):
        self.backend, self.facts = backend, facts
        self.name, self.version = backend.name, backend.version

    def run(self, model, inputs):
        return self.backend.run(model, inputs)

    def execution_facts(self):
        return dict(self.facts)


class FlippedOnOneDNN(WithFacts):
    """A flipped kernel on a path this suite calls oneDNN (for the pytest plugin's tests)."""

    def __init__(self):
        super().__init__(planted.FlippedKernel(), path="onednn")


def entry(backend: str, environment: dict, **fields) -> KnownDivergence:
    return KnownDivergence(fields.pop("id", "planted"), (backend,), "Conv", "disagree", "a reason", "https://x",
                           environment=environment, **fields)


# -- the CPU ---------------------------------------------------------------------------------------


def test_cpu_facts_come_from_archspec_and_keep_the_flags_that_matter(monkeypatch):
    from archspec import cpu
    from archspec.cpu import detect

    raw = SimpleNamespace(vendor="AuthenticAMD", features={"avx2", "fma", "sse4_2", "ht", "sha_ni"})
    monkeypatch.setattr(detect, "detected_info", lambda: raw)
    monkeypatch.setattr(cpu, "brand_string", lambda: "AMD EPYC 7763 64-Core Processor")
    monkeypatch.setattr(cpu, "host", lambda: SimpleNamespace(name="zen3"))
    cpu_facts.cache_clear()
    try:
        assert cpu_facts() == {"cpu_vendor": "AuthenticAMD", "cpu_model": "AMD EPYC 7763 64-Core Processor",
                               "cpu_microarchitecture": "zen3", "cpu_flags": ["avx2", "fma", "sse4_2"]}
    finally:
        cpu_facts.cache_clear()


def test_this_machines_cpu_facts_are_well_formed():
    facts = cpu_facts()
    assert tuple(facts) == CPU_FACTS
    assert set(facts["cpu_flags"]) <= set(CPU_FLAGS) and facts["cpu_flags"] == sorted(facts["cpu_flags"])


def test_every_backend_reports_its_facts_beside_the_cpus():
    reference = execution_facts(load_backend("reference"))
    assert set(CPU_FACTS) <= set(reference) and "numpy_simd" in reference
    onnxruntime = execution_facts(load_backend("onnxruntime"))
    assert onnxruntime["execution_provider"] == "CPUExecutionProvider"
    assert onnxruntime["intra_op_threads"] == onnxruntime["inter_op_threads"] == 1
    assert onnxruntime["graph_optimization_level"] == "ORT_ENABLE_ALL"
    assert execution_facts(planted.FlippedKernel()) == cpu_facts()  # a plug-in without facts: the CPU's


def test_a_backend_may_not_report_the_cpus_facts_or_a_value_that_is_not_a_fact():
    with pytest.raises(ConformanceError, match="'cpu_flags', a CPU fact the harness measures itself"):
        execution_facts(WithFacts(planted.FlippedKernel(), cpu_flags=["avx"]))
    with pytest.raises(ConformanceError, match="neither a scalar nor a list of strings"):
        execution_facts(WithFacts(planted.FlippedKernel(), threads={"intra": 1}))


# -- conditions ------------------------------------------------------------------------------------


FACTS = {"onednn": True, "onednn_isa": "avx512_core", "onednn_dtypes": ["bfloat16", "float32"], "threads": 4,
         "cpu_flags": ["avx2", "avx512f"]}


@pytest.mark.parametrize("condition, expected", [
    ({"onednn": True}, True),
    ({"onednn": False}, False),
    ({"onednn_isa": ["avx2", "avx512_core"]}, True),
    ({"onednn_isa": ["avx2", "sse41"]}, False),
    ({"threads": {"min": 2, "max": 4}}, True),
    ({"threads": {"min": 5}}, False),
    ({"cpu_flags": "avx512f"}, True),
    ({"cpu_flags": ["avx2", "avx512f"]}, True),
    ({"cpu_flags": ["avx2", "amx_tile"]}, False),
    ({"onednn_dtypes": {"excludes": "float16"}}, True),
    ({"onednn_dtypes": {"excludes": ["float32"]}}, False),
    ({"onednn_dtypes": {"includes": "float32", "excludes": "float16"}}, True),
    ({"onednn": True, "cpu_flags": {"excludes": "avx512f"}}, False),
    ({"not_reported": True}, False),  # a set-up this backend does not describe
    ({}, True),
])
def test_conditions_on_scalar_and_list_facts(condition, expected):
    check_condition(condition, "test")
    assert holds(condition, FACTS) is expected


def test_unknown_facts_hold_so_that_old_reports_keep_their_entries():
    assert holds({"onednn": False}, None)


@pytest.mark.parametrize("condition", [
    {"onednn": {"maybe": True}},
    {"threads": {"min": "two"}},
    {"threads": {}},
    ["onednn"],
])
def test_malformed_conditions_are_refused(condition):
    with pytest.raises(ConformanceError, match="environment"):
        check_condition(condition, "entry #1")


def test_conditions_and_differences_read_as_text():
    assert condition_text({"onednn": False, "onednn_dtypes": {"excludes": "float16"}, "isa": ["a", "b"]}) == (
        "onednn = false, onednn_dtypes excludes float16, isa in [a, b]")
    old = {**FACTS, "cpu_model": "Xeon"}
    new = {**FACTS, "cpu_model": "EPYC", "onednn": False, "cpu_flags": ["avx2", "avx512_fp16"]}
    assert differences(old, new) == ["onednn true → false", "cpu_flags +avx512_fp16 -avx512f"]
    assert differences(old, {**old, "cpu_model": "another name"}) == []  # a name alone changes no answer
    assert differences(None, new) == []


# -- manifest entries under an environment -------------------------------------------------------


def test_a_manifest_entry_states_its_environment(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[[divergence]]\nbackend = "tensorflow"\nop = "Conv"\nstatus = "error"\nreason = "r"\n'
                    'link = "https://x"\nenvironment = { onednn = false, cpu_flags = ["avx2"] }\n')
    (loaded,) = load_manifest(path)
    assert loaded.environment == {"onednn": False, "cpu_flags": ["avx2"]}
    assert loaded.applies_to("tensorflow[onednn=off]", "2.21.0", "Conv", {"onednn": False, "cpu_flags": ["avx2"]})
    assert not loaded.applies_to("tensorflow", "2.21.0", "Conv", {"onednn": True, "cpu_flags": ["avx2"]})
    path.write_text(path.read_text().replace("environment = { onednn = false, cpu_flags = [\"avx2\"] }",
                                             "environment = { onednn = { off = true } }"))
    with pytest.raises(ConformanceError, match="divergence #1: environment.onednn must be"):
        load_manifest(path)


def test_an_entry_outside_its_environment_neither_excuses_a_failure_nor_is_probed():
    """A flipped kernel under an entry that holds on another path only: the failure is reported."""
    other_path = entry("planted-flipped-kernel", {"path": "eigen"})
    backend = WithFacts(planted.FlippedKernel(), path="onednn")
    result = certify(CONV, backend, profile_settings("ci"), divergences=[other_path])
    assert result.status == "disagree" and result.diagnosis == ["flipped_kernel"]
    assert result.divergences == [] and result.in_known_divergence == 0
    assert result.facts["path"] == "onednn"


def test_the_same_entry_in_its_environment_excuses_and_reproduces():
    this_path = entry("planted-flipped-kernel", {"path": "eigen"})
    backend = WithFacts(planted.FlippedKernel(), path="eigen")
    result = certify(CONV, backend, profile_settings("ci"), divergences=[this_path])
    assert result.status == "known_divergence" and result.passed
    assert [(p.id, p.reproduced) for p in result.divergences] == [("planted", True)]


def test_an_entry_outside_its_environment_is_no_unexpected_pass():
    """A stale entry (the reference never disagrees) is an unexpected pass only where it holds."""
    stale = entry("reference", {"onednn": False}, when={"spatial_rank": 1})
    elsewhere = certify(CONV, WithFacts(load_backend("reference"), onednn=True), profile_settings("ci"),
                        divergences=[stale])
    assert elsewhere.status == "agree" and elsewhere.passed and elsewhere.unexpected_passes == []
    assert elsewhere.in_known_divergence == 0  # its cases were certified like any other
    here = certify(CONV, WithFacts(load_backend("reference"), onednn=False), profile_settings("ci"),
                   divergences=[stale])
    assert [p.id for p in here.unexpected_passes] == ["planted"] and not here.passed


def test_every_shipped_environment_names_facts_its_backends_report():
    tensorflow = {**cpu_facts(), **parse_probe_output(AVX2_LOG)}
    reported = {"tensorflow": set(tensorflow)}
    for known in load_manifest():
        for key in known.environment:
            names = [b for b in known.backend if b in reported]
            assert names, f"{known.id}: an environment on a backend whose facts this test does not know"
            assert all(key in reported[b] for b in names), f"{known.id}: {key!r} is not a fact of {names}"


# -- TensorFlow's facts ------------------------------------------------------------------------------


AVX2_LOG = """\
onednn_verbose,v1,info,oneDNN v3.7.3 (commit N/A)
onednn_verbose,v1,info,cpu,runtime:threadpool,nthr:2
onednn_verbose,v1,info,cpu,isa:Intel AVX2
onednn_verbose,v1,primitive,exec,cpu,gemm_api,,undef,src_f32::blocked:ab:f0 wei_f32::blocked:ab:f0 dst_f32::blocked:ab:f0,,,9x8:8x2,25.9
onednn_verbose,v1,primitive,exec,cpu,convolution,x64:gemm:jit,forward_training,src:f32::blocked:acdb::f0 wei:f32::blocked:cdba::f0 bia:undef::undef::: dst:f32::blocked:acdb::f0,attr-scratchpad:user,alg:convolution_direct,mb1_ic2oc2_ih4oh3kh2sh1dh0ph0_iw4ow3kw2sw1dw0pw0,3.3
conformance-facts:{"onednn": true}
"""


def test_the_probe_reads_onednns_version_instruction_set_and_dtypes_from_its_log():
    assert parse_probe_output(AVX2_LOG) == {"onednn": True, "onednn_isa": "avx2", "onednn_dtypes": ["float32"],
                                            "onednn_version": "3.7.3"}
    bf16 = AVX2_LOG.replace("isa:Intel AVX2", "isa:Intel AVX-512 with Intel DL Boost and bfloat16 support")
    bf16 += bf16.splitlines()[4].replace("src:f32", "src:bf16") + "\n"
    assert parse_probe_output(bf16)["onednn_isa"] == "avx512_core_bf16"
    assert parse_probe_output(bf16)["onednn_dtypes"] == ["bfloat16", "float32"]


def test_the_probe_reads_eigen_only_logs_older_onednn_and_unknown_instruction_sets():
    off = "\n".join(line for line in AVX2_LOG.splitlines() if "convolution" not in line).replace("true", "false")
    assert parse_probe_output(off) == {"onednn": False, "onednn_isa": "avx2", "onednn_dtypes": [],
                                       "onednn_version": "3.7.3"}
    old = "dnnl_verbose,info,DNNL v1.6.4 (commit x)\ndnnl_verbose,info,Detected ISA is Intel AVX2\n" \
          'conformance-facts:{"onednn": true}\n'
    assert parse_probe_output(old)["onednn_isa"] == "avx2" and parse_probe_output(old)["onednn_version"] == "1.6.4"
    arm = 'onednn_verbose,v1,info,cpu,isa:AArch64 SVE (256 bits)\nconformance-facts:{"onednn": true}\n'
    assert parse_probe_output(arm)["onednn_isa"] == "aarch64_sve_256_bits"
    assert parse_probe_output("Traceback (most recent call last):\n") is None


@pytest.fixture(scope="module")
def tensorflow_paths():
    pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    return {spec: load_backend(spec) for spec in ("tensorflow[onednn=off]", "tensorflow[onednn=on,isa=avx2]")}


def test_tensorflows_facts_on_either_path_are_measured(tensorflow_paths):
    off = tensorflow_paths["tensorflow[onednn=off]"].execution_facts()
    assert off["onednn"] is False and off["onednn_dtypes"] == []
    on = tensorflow_paths["tensorflow[onednn=on,isa=avx2]"].execution_facts()
    assert on["onednn"] is True and "float32" in on["onednn_dtypes"] and "float64" not in on["onednn_dtypes"]
    if "avx2" in cpu_facts()["cpu_flags"]:
        assert on["onednn_isa"] == "avx2"


@pytest.fixture
def counted_probes(tmp_path, monkeypatch) -> list[dict]:
    """TensorFlow's facts probe replaced by one that counts its runs, its kept facts in a fresh directory."""
    from conformance.backends.tensorflow import facts

    monkeypatch.setenv("CONFORMANCE_PROBE_CACHE", str(tmp_path / "probes"))
    monkeypatch.setattr(facts, "_PROBED", {})
    probes = []

    def probe(environment):
        probes.append(dict(environment))
        return environment

    answer = {"onednn": True, "onednn_isa": "avx2", "onednn_dtypes": ["float32"], "onednn_version": "3.7.3"}
    monkeypatch.setattr(facts, "_start_probe", probe)
    monkeypatch.setattr(facts, "_probe_result", lambda _: dict(answer))
    return probes


def test_tensorflow_facts_are_kept_for_the_next_process_on_the_same_set_up(counted_probes, monkeypatch):
    from conformance.backends.tensorflow import facts

    first = facts.tensorflow_facts({"TF_ENABLE_ONEDNN_OPTS": "1"})
    monkeypatch.setattr(facts, "_PROBED", {})  # as a new process
    assert facts.tensorflow_facts({"TF_ENABLE_ONEDNN_OPTS": "1"}) == first
    assert len(counted_probes) == 1, "the kept facts were not reused"

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")  # as importing TensorFlow sets it: logging only
    monkeypatch.setattr(facts, "_PROBED", {})
    facts.tensorflow_facts({"TF_ENABLE_ONEDNN_OPTS": "1"})
    assert len(counted_probes) == 1, "a process that imported TensorFlow (and so set its logging) probed again"

    facts.tensorflow_facts({"TF_ENABLE_ONEDNN_OPTS": "0"})  # another set-up of the backend's
    monkeypatch.setattr(facts, "_PROBED", {})
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # a variable oneDNN reads, set outside the backend
    facts.tensorflow_facts({"TF_ENABLE_ONEDNN_OPTS": "1"})
    assert len(counted_probes) == 3, "facts kept under one set-up were used under another"


def test_kept_tensorflow_facts_that_cannot_be_read_are_probed_again(counted_probes, monkeypatch):
    from conformance.backends.tensorflow import facts

    facts.tensorflow_facts({})
    (kept,) = (Path(os.environ["CONFORMANCE_PROBE_CACHE"]) / "facts").iterdir()
    for damaged in ("{", '{"onednn": true}', "[]"):
        kept.write_text(damaged)
        monkeypatch.setattr(facts, "_PROBED", {})
        assert facts.tensorflow_facts({})["onednn_isa"] == "avx2"
    assert len(counted_probes) == 4
