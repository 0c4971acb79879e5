"""Probes that cost little: aimed at their condition, never shrunk, and their verdicts kept.

A known divergence's probe draws its cases inside the entry's condition (pins and the declaration's
aims), and its verdict is kept in the probe cache under a key of everything it depends on: a
second probe under the same key runs nothing on the backend, and any change to the key, or
``fresh``, probes again. A cache file that is not a verdict is a miss, never a crash.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

import conformance.probe_cache as probe_cache
from conformance.backends import load_backend
from conformance.certify import CACHED, certify, drawn_cases, probe_divergence, probe_pins
from conformance.divergences import KnownDivergence, load_manifest
from conformance.ops import declarations, get_declaration
from conformance.probe_cache import ProbeCache
from conformance.profiles import profile_settings
from conformance.report.build import without_timing
from conformance.summary import result_json, result_text

CI = profile_settings("ci")
FACTS = {"cpu_flags": ["avx2"], "onednn": False}


class CountingBackend:
    """The reference, except that it refuses float64 Conv (a known divergence below); counts its runs."""

    name, version = "counting", "1.0"

    def __init__(self):
        self.reference = load_backend("reference")
        self.runs = 0

    def run(self, model, inputs):
        self.runs += 1
        if any(array.dtype.name == "float64" for array in inputs.values()):
            raise RuntimeError("no float64 kernel")
        return self.reference.run(model, inputs)


NO_FLOAT64 = KnownDivergence("counting-no-float64", ("counting",), "Conv", "error", "no float64 kernel",
                             "https://example.org/no-float64", when={"dtype": "float64"},
                             message="no float64 kernel")


def probe(backend, cache, entry=NO_FLOAT64, facts=FACTS, failures_dir=None, settings_=CI):
    return probe_divergence(get_declaration("Conv"), backend, entry, settings_, failures_dir=failures_dir,
                            cache=cache, facts=facts)


def test_a_second_probe_under_the_same_key_reuses_the_verdict_and_runs_nothing(tmp_path):
    backend, cache = CountingBackend(), ProbeCache(tmp_path / "probes")
    first = probe(backend, cache, failures_dir=tmp_path / "f1")
    runs = backend.runs
    assert first.reproduced and runs >= 1 and not first.cached
    second = probe(backend, cache, failures_dir=tmp_path / "f2")
    assert backend.runs == runs, "a kept verdict runs nothing on the backend"
    assert second.cached and second.message == first.message + CACHED
    assert (second.reproduced, second.examples) == (first.reproduced, first.examples)
    assert second.witness.description == first.witness.description
    # The witness is saved where this run saves failures, as a fresh probe would save it.
    assert second.witness.saved_to == str(tmp_path / "f2" / "Conv-counting-counting-no-float64")
    for name in ("model.onnx", "inputs.npz", "case.json"):
        assert (tmp_path / "f2" / "Conv-counting-counting-no-float64" / name).read_bytes() == \
               (tmp_path / "f1" / "Conv-counting-counting-no-float64" / name).read_bytes()
    assert second.witness.replay.startswith("conformance replay ") and "f2" in second.witness.replay


def _other_version(backend, entry, facts, settings_):
    backend.version = "1.1"
    return backend, entry, facts, settings_


def _other_facts(backend, entry, facts, settings_):
    return backend, entry, {**facts, "onednn": True}, settings_


def _other_entry_condition(backend, entry, facts, settings_):
    return backend, replace(entry, when={"dtype": "float64", "spatial_rank": 2}), facts, settings_


def _other_entry_message(backend, entry, facts, settings_):
    return backend, replace(entry, message="no float64"), facts, settings_


def _other_examples(backend, entry, facts, settings_):
    return backend, entry, facts, profile_settings("ci", examples=30)


@pytest.mark.parametrize("change", [_other_version, _other_facts, _other_entry_condition, _other_entry_message,
                                    _other_examples])
def test_a_changed_key_probes_again(tmp_path, change):
    backend, cache = CountingBackend(), ProbeCache(tmp_path)
    probe(backend, cache)
    runs = backend.runs
    backend, entry, facts, settings_ = change(backend, NO_FLOAT64, FACTS, CI)
    again = probe(backend, cache, entry=entry, facts=facts, settings_=settings_)
    assert backend.runs > runs and not again.cached and again.reproduced


def test_a_reason_or_link_edited_reuses_the_verdict_and_shows_the_new_text(tmp_path):
    backend, cache = CountingBackend(), ProbeCache(tmp_path)
    probe(backend, cache)
    runs = backend.runs
    edited = replace(NO_FLOAT64, reason="reworded", link="https://example.org/moved")
    again = probe(backend, cache, entry=edited)
    assert backend.runs == runs and again.cached and (again.reason, again.link) == ("reworded", edited.link)


def test_an_edited_harness_or_fresh_probes_again(tmp_path, monkeypatch):
    backend, cache = CountingBackend(), ProbeCache(tmp_path)
    probe(backend, cache)
    runs = backend.runs
    fresh = probe(backend, ProbeCache(tmp_path, fresh=True))
    assert backend.runs > runs and not fresh.cached
    runs = backend.runs
    assert probe(backend, cache).cached and backend.runs == runs, "fresh keeps the new verdict"
    monkeypatch.setattr(probe_cache, "harness_source", lambda: "another source")
    assert not probe(backend, cache).cached and backend.runs > runs


def test_the_harness_source_leaves_out_what_never_decides_a_verdict():
    probe_cache.harness_source.cache_clear()
    try:
        assert len(probe_cache.harness_source()) == 64
    finally:
        probe_cache.harness_source.cache_clear()
    assert "cli.py" in probe_cache.PRESENTATION and "report/" in probe_cache.PRESENTATION
    assert "certify.py" not in probe_cache.PRESENTATION


def _without_a_witness_file(text):
    data = json.loads(text)
    del data["files"]["inputs.npz"]
    return json.dumps(data)


def _with_a_witness_of_another_shape(text):
    data = json.loads(text)
    data["verdict"]["witness"]["unknown"] = 1
    return json.dumps(data)


def _with_a_file_that_is_not_base64(text):
    data = json.loads(text)
    data["files"]["model.onnx"] = "not base64!"
    return json.dumps(data)


@pytest.mark.parametrize("content", [
    "", "{not json", '{"format": 1}', "[1, 2]",
    '{"format": 1, "key": {}, "verdict": {"reproduced": true}, "files": null}',
    _without_a_witness_file, _with_a_witness_of_another_shape, _with_a_file_that_is_not_base64,
], ids=lambda c: c.__name__.strip("_") if callable(c) else repr(c)[:20])
def test_a_cache_file_that_is_not_a_verdict_is_a_miss_not_a_crash(tmp_path, content):
    backend, cache = CountingBackend(), ProbeCache(tmp_path)
    probe(backend, cache)
    (path,) = tmp_path.glob("Conv-*.json")
    path.write_text(content(path.read_text()) if callable(content) else content)
    runs = backend.runs
    again = probe(backend, cache, failures_dir=tmp_path / "failures")
    assert again.reproduced and not again.cached and backend.runs > runs
    assert json.loads(path.read_text())["verdict"]["reproduced"] is True, "the file is written again"


def test_a_verdict_kept_for_another_key_is_not_reused(tmp_path):
    """A file holds its key: one copied over another key's file (or a hash collision) is a miss."""
    backend, cache = CountingBackend(), ProbeCache(tmp_path)
    probe(backend, cache)
    (path,) = tmp_path.glob("Conv-*.json")
    other = replace(NO_FLOAT64, when={"dtype": "float64", "spatial_rank": 1})
    key = probe_cache.probe_key(backend=backend, facts=FACTS, op="Conv", entry=other, max_examples=CI.max_examples)
    cache.path(key).write_text(path.read_text())
    runs = backend.runs
    assert not probe(backend, cache, entry=other).cached and backend.runs > runs


def test_workers_writing_at_once_never_leave_a_partial_file(tmp_path):
    cache = ProbeCache(tmp_path)
    key = {"op": "Conv", "n": 1}
    seen: list = []

    def write(number):
        for _ in range(30):
            cache.store(key, {"reproduced": False, "examples": number, "message": "m" * 10_000, "witness": None}, None)

    def read():
        for _ in range(200):
            seen.append(cache.load(key))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)] + [threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(s is None or s["verdict"]["message"] == "m" * 10_000 for s in seen)
    assert cache.load(key) is not None and [p.name for p in tmp_path.iterdir()] == [cache.path(key).name]


def test_an_unwritable_cache_warns_and_the_probe_stands(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.warns(UserWarning, match="probe cache: cannot write"):
        result = probe(CountingBackend(), ProbeCache(blocker / "probes"))
    assert result.reproduced and not result.cached


def test_a_cached_verdict_is_shown_as_such_and_left_out_when_reports_are_compared(tmp_path):
    cache = ProbeCache(tmp_path)
    results = [certify(get_declaration("Conv"), CountingBackend(), CI, divergences=[NO_FLOAT64], facts=FACTS,
                       probe_cache=cache) for _ in range(2)]
    assert [r.divergences[0].cached for r in results] == [False, True]
    assert "known divergence counting-no-float64: reproduced (cached)" in result_text(results[1])
    rows = [{"op": "Conv", "backend": "counting", **result_json(r)} for r in results]
    fresh, kept = (without_timing({"results": [row]})["results"][0]["known_divergences"] for row in rows)
    assert fresh == kept


def test_probes_are_derandomized_whatever_the_seed_so_a_random_profile_reuses_them(tmp_path):
    backend, cache = CountingBackend(), ProbeCache(tmp_path)
    dev = profile_settings("dev", examples=25)
    first = certify(get_declaration("Conv"), backend, dev, divergences=[NO_FLOAT64], facts=FACTS, seed=1,
                    probe_cache=cache)
    second = certify(get_declaration("Conv"), backend, dev, divergences=[NO_FLOAT64], facts=FACTS, seed=2,
                     probe_cache=cache)
    assert second.divergences[0].cached
    assert second.divergences[0].witness.description == first.divergences[0].witness.description


CONVOLUTION_ENTRIES = [e for e in load_manifest() if e.region and e.op in ("Conv", "ConvTranspose")]


@pytest.mark.parametrize("entry", CONVOLUTION_ENTRIES, ids=lambda e: e.id)
def test_a_probe_draws_its_cases_inside_the_condition(entry):
    """The convolutions declare aims for every derived feature their entries name: every drawn
    case lies inside the condition (a probe used to draw 2 to 7% there for the Conv3D SAME and
    oneDNN single-column entries)."""
    declaration = get_declaration(entry.op)
    cases = drawn_cases(declaration.cases(pins=probe_pins(declaration, entry)), 30, f"inside {entry.id}")
    assert len(cases) == 30
    assert all(entry.matches(declaration.features(case)) for case in cases)


@pytest.mark.parametrize("declaration", [d for d in declarations().values() if d.aims], ids=lambda d: d.op_type)
def test_each_aim_agrees_with_the_feature_it_aims_at(declaration):
    """An aim computes a feature from the draws; where the draws decide it, it is the feature, and
    its reach (from fewer draws) holds it."""
    decided = {name: 0 for name in declaration.aims}
    for case in drawn_cases(declaration.cases(), 150, f"{declaration.op_type} aims"):
        features = declaration.features(case)
        for name, aim in declaration.aims.items():
            if aim.reach is not None:
                low, high = aim.reach(case.draws)
                assert low <= features[name] <= high, (name, case.describe())
            try:
                value = aim.value(case.draws)
            except KeyError:
                continue
            decided[name] += 1
            assert value == features[name], (name, case.describe())
    assert all(decided.values()), decided


def test_a_pin_the_strategy_cannot_draw_rejects_the_case_instead_of_making_an_invalid_one():
    """BatchNormalization draws no 1-D X at opset 7: pinned to rank 1, those draws are rejected."""
    declaration = get_declaration("BatchNormalization")
    cases = drawn_cases(declaration.cases(pins={"rank": 1}), 60, "rank 1")
    assert cases and all(case.inputs["X"].ndim == 1 and case.opset >= 9 for case in cases)


def test_a_range_pins_a_labelled_draw():
    declaration = get_declaration("BatchNormalization")
    cases = drawn_cases(declaration.cases(pins={"training": True, "momentum": {"min": 0.05, "max": 0.5}}), 40, "range")
    assert cases and all(0.05 <= case.draws["momentum"] <= 0.5 for case in cases)
