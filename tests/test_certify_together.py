"""``certify_together``: each case drawn once, the reference evaluated once, judged on every backend;
the verdicts are those of ``certify`` on each backend alone."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest
from hypothesis import find, settings

from conformance import Unsupported, load_backend
from conformance.case import Case
from conformance import certify as certify_module
from conformance.certify import certify, certify_together, shard_examples
from conformance.divergences import load_manifest
from conformance.ops import get_declaration
from conformance.ops.declaration import OpDeclaration
from conformance.profiles import profile_settings
from tests import planted

CI = profile_settings("ci")
CONV = get_declaration("Conv")


class Counting(planted.RoundedOnce):
    """A correct backend that counts its runs."""

    def __init__(self, name: str = "counting"):
        self.name, self.runs = name, 0

    def run(self, model, inputs):
        self.runs += 1
        return super().run(model, inputs)


class OnlyDtype(Counting):
    """A correct backend that supports one dtype only."""

    def __init__(self, dtype: str):
        super().__init__(f"only-{dtype}")
        self.dtype = dtype

    def run(self, model, inputs):
        if Case.from_model(model, inputs).dtype != np.dtype(self.dtype):
            raise Unsupported(f"{self.name} supports {self.dtype} only")
        return super().run(model, inputs)


class FailsOnce(Counting):
    """Gives one wrong answer, its first, then computes correctly: a failure no later search meets."""

    def __init__(self):
        super().__init__("fails-once")
        self.failed = False

    def run(self, model, inputs):
        outputs = super().run(model, inputs)
        if self.failed:
            return outputs
        self.failed = True
        return [o + 1.0 for o in outputs]


def test_each_case_is_drawn_once_evaluated_once_and_run_once_on_each_backend(monkeypatch):
    evaluations, drawn = [], []
    evaluate = OpDeclaration.expected

    def expected(self, case, variants=()):
        if not variants:  # the reference's answer, not a variant's (the diagnosis')
            evaluations.append(case)
        return evaluate(self, case, variants)

    monkeypatch.setattr(OpDeclaration, "expected", expected)
    first, second = Counting("first"), Counting("second")
    results = certify_together(CONV, [first, second], CI, on_example=lambda: drawn.append(1))
    assert [r.status for r in results] == ["agree", "agree"], [r.message for r in results]
    assert all(r.judged >= CI.max_examples for r in results)
    assert first.runs == second.runs == len(evaluations) == len(drawn) == results[0].draws


def test_a_failing_backend_gets_the_shrunk_case_and_diagnosis_of_its_own_search(tmp_path):
    correct, flipped = certify_together(CONV, [Counting(), planted.FlippedKernel()], CI, failures_dir=tmp_path)
    alone = certify(CONV, planted.FlippedKernel(), CI, failures_dir=tmp_path)
    assert correct.status == "agree" and correct.judged >= CI.max_examples, correct.message
    assert flipped.status == alone.status == "disagree"
    assert flipped.diagnosis == alone.diagnosis == ["flipped_kernel"]
    assert flipped.counterexample.description == alone.counterexample.description


def test_a_backend_left_short_by_the_others_rejections_is_certified_alone():
    only32, only64 = OnlyDtype("float32"), OnlyDtype("float64")
    results = certify_together(CONV, [only32, only64], CI)
    for result in results:
        assert result.status == "agree" and result.judged >= CI.max_examples, result.message
        assert result.unsupported > 0


def test_a_failure_that_its_own_search_does_not_meet_again_still_fails_the_cell(tmp_path):
    fails_once = FailsOnce()
    correct, failing = certify_together(CONV, [Counting(), fails_once], CI, failures_dir=tmp_path)
    assert correct.status == "agree"
    assert failing.status == "disagree" and failing.counterexample is not None, failing.message
    assert not failing.passed


def test_one_backend_together_is_certify_alone_known_divergences_included():
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    (together,) = certify_together(CONV, [load_backend("onnxruntime")], CI, divergences=load_manifest())
    alone = certify(CONV, load_backend("onnxruntime"), CI, divergences=load_manifest())
    assert together.status == alone.status == "known_divergence", together.message
    assert (together.judged, together.draws, together.excused) == (alone.judged, alone.draws, alone.excused)


# Split searches: shards with seeds of their own, taken by this process and by workers that are ready.

@pytest.mark.parametrize("examples, sizes", [(25, [25]), (100, [100]), (101, [51, 50]), (350, [88, 88, 87, 87])])
def test_a_long_search_is_split_into_shards_of_at_most_shard_examples(examples, sizes):
    assert shard_examples(examples) == sizes


@pytest.fixture
def small_shards(monkeypatch):
    """Shards of 10 examples, so that a ci search (25) has three."""
    monkeypatch.setattr(certify_module, "SHARD_EXAMPLES", 10)


def test_a_split_search_adds_its_shards_up(small_shards):
    drawn = []
    first, second = Counting("first"), Counting("second")  # instances, not specs: every shard runs here
    results = certify_together(CONV, [first, second], CI, on_example=lambda: drawn.append(1), jobs=3)
    assert [r.status for r in results] == ["agree", "agree"], [r.message for r in results]
    assert all(r.judged >= CI.max_examples for r in results), [r.judged for r in results]
    assert first.runs == second.runs == len(drawn) == results[0].draws
    assert len(results[0].error_ratios) == results[0].judged


def test_the_shards_seeds_are_their_own(small_shards, monkeypatch):
    (split, _) = certify_together(CONV, [Counting(), Counting()], CI)
    monkeypatch.setattr(certify_module, "SHARD_EXAMPLES", 100)
    (unsplit, _) = certify_together(CONV, [Counting(), Counting()], CI)
    assert sorted(split.error_ratios) != sorted(unsplit.error_ratios), "the other shards drew the same cases"


def test_a_planted_bug_met_in_any_shard_is_caught_and_diagnosed(small_shards, tmp_path):
    correct, flipped = certify_together(CONV, [Counting(), planted.FlippedKernel()], CI, failures_dir=tmp_path,
                                        jobs=4)
    assert correct.status == "agree" and correct.judged >= CI.max_examples, correct.message
    assert flipped.status == "disagree" and flipped.diagnosis == ["flipped_kernel"], flipped.message


def test_a_shards_failure_survives_being_sent_between_processes():
    from conformance.certify import Outcome, _Failure

    case = find(CONV.cases(), lambda _: True, settings=settings(CI, max_examples=5))
    failure = _Failure(case, Outcome("disagree", message="planted"), [(case, Outcome("disagree"))])
    copy = pickle.loads(pickle.dumps(failure))
    assert (copy.outcome.message, copy.case.describe(), len(copy.earlier)) == ("planted", case.describe(), 1)


@pytest.fixture
def shards_run_here(small_shards, monkeypatch) -> list[int]:
    """The shards this process searched itself (a worker's are not seen here), each taking a
    second, so that a worker, ready in a few, takes some."""
    from conformance import shards

    if shards.spare_cores() == 0:
        pytest.skip("one core: no worker would run")
    ran, search = [], certify_module.shared_search

    def slowly(declaration, tallies, settings_, seed, shard, on_example=None):
        ran.append(shard)
        time.sleep(1.0)
        return search(declaration, tallies, settings_, seed, shard, on_example)

    monkeypatch.setattr(certify_module, "shared_search", slowly)
    monkeypatch.setattr(certify_module, "SHARD_EXAMPLES", 2)  # 13 shards
    return ran


@pytest.mark.slow_check
def test_a_split_search_is_the_same_on_workers_and_here(shards_run_here, monkeypatch):
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    from conformance import shards

    specs = ["reference", "onnxruntime"]  # loaded from specs, so workers can load them too
    on_workers = certify_together(CONV, [load_backend(s) for s in specs], CI, divergences=load_manifest(), jobs=2)
    by_workers = sorted(set(range(13)) - set(shards_run_here))
    assert by_workers and by_workers == list(range(by_workers[0], 13)), \
        f"shards run here: {shards_run_here}; a worker should have taken the last ones"
    monkeypatch.setattr(shards, "spare_cores", lambda: 0)
    here = certify_together(CONV, [load_backend(s) for s in specs], CI, divergences=load_manifest(), jobs=2)
    assert [_tallied(r) for r in on_workers] == [_tallied(r) for r in here]
    assert [r.status for r in here] == ["agree", "known_divergence"], [r.message for r in here]


@pytest.mark.slow_check
def test_a_worker_that_dies_leaves_its_shards_to_this_process(shards_run_here, monkeypatch):
    from conformance import shards

    taken_from_the_back, results = [], shards.ShardWorkers.results

    def seen(self, on_example=None):  # the worker is dead, so the shards it took are the claims not made here
        taken_from_the_back.extend(range(self.pool.claims[1] + 1, len(self.sizes)))
        return results(self, on_example)

    monkeypatch.setattr(shards.ShardWorkers, "results", seen)
    backends = [load_backend("reference"), load_backend("tests.misbehaving:CrashesInAWorker")]
    results = certify_together(CONV, backends, CI, jobs=2)
    claimed_here = sorted(set(range(13)) - set(taken_from_the_back))
    assert taken_from_the_back and sorted(shards_run_here) == list(range(13)), \
        f"shards run here: {shards_run_here}, claimed here: {claimed_here}; the worker should have taken some"
    assert [r.status for r in results] == ["agree", "agree"], [r.message for r in results]
    assert all(r.judged >= CI.max_examples for r in results), [r.judged for r in results]


def _tallied(result):
    return (result.status, result.draws, result.judged, result.examples, result.unsupported, result.excused,
            result.max_error_ratio, result.max_ulp, result.error_ratios, result.corners)
