"""Certifying one operator on one backend: Hypothesis search, verdicts, diagnosis, saved failures.

``certify`` is the engine behind ``pytest``, ``conformance certify`` and ``conformance report``:

1. Hypothesis draws cases from the operator's declaration; each runs on the backend and is
   compared with the float64 reference under the operator's error bound. A case inside a known
   divergence's region whose outcome looks like the divergence (its entry says how: a diagnosis,
   a widened bound, a message) is excused; any other outcome there is judged like any other case.
   Only judged cases count towards the profile's examples: excused, unsupported and undetermined
   ones are rejected, so Hypothesis draws others in their place. A disagreement or an error stops
   the search, and Hypothesis shrinks it to a minimal counterexample, which is diagnosed and saved.
2. Each known divergence that applies is probed (``probe_divergence``): cases drawn inside its
   condition must reproduce it there, within a budget of draws and runs. One that no longer
   reproduces is an unexpected pass. A probe's verdict may be kept and reused
   (``conformance.probe_cache``) where nothing it depends on changed.
3. A cell that would agree on fewer judged examples than ``JUDGED_FLOOR`` of the profile's is
   ``inconclusive``, and fails unless a manifest entry of status ``inconclusive`` accepts it.

``certify_together`` certifies several backends at once (``conformance certify OP`` with more than
one ``--backend``): each case is drawn once, the reference evaluated once, and the case judged on
every backend; a backend that fails, or is left short of judged examples, is then certified alone,
so that every verdict and shrunk counterexample is the one ``certify`` gives.

A known divergence applies when it names the backend, its version and the operator, and the
backend's execution facts (``conformance.environment``) satisfy its ``environment``: one that
holds on another CPU path only is neither excused nor probed here. The facts are kept in the
result, so that a report says under which facts each verdict was reached.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
import shlex
import time
import traceback
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from hypothesis import HealthCheck, Phase, assume, given, reporting, settings
from hypothesis import errors as hypothesis_errors
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from conformance.backends import Backend, spec_of
from conformance.case import Case, case_files, save_case, write_case_files
from conformance.compare import Verdict
from conformance.diagnosis import Example, diagnose_all, disambiguate, explains, region_pins
from conformance.divergences import KnownDivergence, reachable, satisfies
from conformance.environment import execution_facts
from conformance.errors import Unsupported
from conformance.ops.declaration import OpDeclaration, corner_reached
from conformance.probe_cache import ProbeCache, probe_key
from conformance.profiles import without_local_constants
from conformance.strategies import Pins

STATUSES = ("agree", "disagree", "unsupported", "error", "known_divergence", "inconclusive")
FAILING = ("disagree", "error", "inconclusive")
# A cell agrees only on evidence: at least this share of the profile's examples judged.
JUDGED_FLOOR = 0.8
# A probe's budget (see probe_divergence): it gives up after this many draws (factor times the
# profile's examples, at least the minimum), or this many backend runs of cases inside the condition
# that the backend can express, whichever comes first. Draws and runs, not seconds: a verdict must
# not depend on the machine's load.
PROBE_DRAWS_FACTOR, PROBE_DRAWS_MINIMUM = 20, 2000
PROBE_RUNS_FACTOR, PROBE_RUNS_MINIMUM = 4, 100
# Its cases are drawn in batches, doubling from the first size to the largest.
PROBE_BATCH_FIRST, PROBE_BATCH_LARGEST = 8, 128
CACHED = " (cached)"  # ends the message of a probe verdict reused from the cache


@dataclass(frozen=True)
class Outcome:
    """What one example gave: agree, disagree, error or unsupported."""

    status: str
    verdict: Verdict | None = None
    message: str = ""
    outputs: Sequence[np.ndarray] | None = None
    warnings: tuple[str, ...] = ()  # what the backend warned while it ran the case


def run_example(declaration: OpDeclaration, backend: Backend, case: Case,
                expected: Sequence[np.ndarray] | None = None) -> Outcome:
    """Run ``case`` on ``backend`` and judge it against the reference (``expected``, if the caller
    has evaluated it already).

    Warnings the backend raises while it runs (NumPy's overflow in onnx.reference's exp, say) are
    the case's, not the run's: they are kept in the outcome instead of reaching the terminal.
    """
    if expected is None:
        expected = declaration.expected(case)  # a failure here is the harness's, and must not be blamed on the backend
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outputs = backend.run(case.model, case.feeds)
        except Unsupported as unsupported:
            return Outcome("unsupported", message=unsupported.reason, warnings=_texts(caught))
        except Exception as error:  # any other exception is the backend's error verdict, message kept
            return Outcome("error", message=_error_message(error), warnings=_texts(caught))
    if not isinstance(outputs, (list, tuple)):
        return Outcome("error", message=f"run() returned {type(outputs).__name__}; a list of arrays is the contract",
                       warnings=_texts(caught))
    verdict = declaration.verdict(case, outputs, expected=expected)
    return Outcome("agree" if verdict.ok else "disagree", verdict, verdict.message, outputs, _texts(caught))


def _texts(caught: Sequence[warnings.WarningMessage]) -> tuple[str, ...]:
    return tuple(f"{w.category.__name__}: {w.message} ({Path(w.filename).name}:{w.lineno})" for w in caught)


@dataclass
class Counterexample:
    """The minimal failing case, as shown to a user and written to reports."""

    case: dict[str, Any]
    description: str
    status: str
    message: str
    max_error_ratio: float | None
    max_ulp: float | None
    diagnosis: list[str]
    saved_to: str = ""
    replay: str = ""


@dataclass
class DivergenceProbe:
    """A known divergence's probe: whether it reproduced, on how many cases inside its condition
    (run and supported), and its witness (the first case that showed it, saved for replay)."""

    id: str
    reason: str
    link: str
    reproduced: bool
    examples: int
    message: str = ""
    witness: Counterexample | None = None

    @property
    def cached(self) -> bool:
        """Whether the verdict was reused from the probe cache (its message says so)."""
        return self.message.endswith(CACHED)


@dataclass
class CertifyResult:
    op: str
    backend: str
    backend_version: str
    status: str = "agree"
    draws: int = 0  # cases drawn by the main search
    examples: int = 0  # supported and not excused by a known divergence: run and compared
    judged: int = 0  # of which at least one element was held to a finite bound (see compare)
    unjudged_elements: int = 0  # output elements no bound decides, over the examples run
    unsupported: int = 0
    in_known_divergence: int = 0  # excused: inside a known divergence's region, and looking like it
    excused: dict[str, int] = field(default_factory=dict)  # by divergence id
    accepted: str = ""  # why an inconclusive cell is accepted (a manifest entry), if it is
    warnings: int = 0  # warnings the backend raised while running the drawn cases (kept, not shown)
    first_warning: str = ""
    max_error_ratio: float | None = None
    max_ulp: float | None = None
    diagnosis: list[str] = field(default_factory=list)
    counterexample: Counterexample | None = None
    message: str = ""
    unsupported_reasons: dict[str, int] = field(default_factory=dict)
    divergences: list[DivergenceProbe] = field(default_factory=list)
    corners: dict[str, int] = field(default_factory=dict)
    readings: dict[str, int] = field(default_factory=dict)  # judged examples that agreed under an alternative reading
    error_ratios: list[float] = field(default_factory=list)
    facts: dict[str, Any] | None = None  # the execution facts the verdict was reached under
    seconds: float = 0.0
    probe_seconds: float = 0.0  # of which the known divergences' probes took (reused verdicts included)

    @property
    def unexpected_passes(self) -> list[DivergenceProbe]:
        return [d for d in self.divergences if not d.reproduced]

    @property
    def passed(self) -> bool:
        """Agreement, a reproduced known divergence, nothing the backend could express, or an
        inconclusive cell the manifest accepts."""
        failing = self.status in FAILING and not (self.status == "inconclusive" and self.accepted)
        return not failing and not self.unexpected_passes

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["unexpected_passes"] = [d.id for d in self.unexpected_passes]
        return data


class _Failure(Exception):
    def __init__(self, case: Case, outcome: Outcome, earlier: Sequence[tuple[Case, Outcome]] = ()):
        super().__init__(outcome.message)
        self.case, self.outcome, self.earlier = case, outcome, list(earlier)

    def __reduce__(self):  # sent from a shard's worker process (``conformance.shards``)
        return _Failure, (self.case, self.outcome, self.earlier)


EARLIER_FAILURES = 3  # failing examples kept from before shrinking, to disambiguate the diagnosis


def certify(
    declaration: OpDeclaration,
    backend: Backend,
    settings_: settings,
    *,
    divergences: Iterable[KnownDivergence] = (),
    seed: int | None = None,
    failures_dir: Path | str | None = None,
    replay_hint: str = "conformance replay {dir} --backend {backend}",
    on_example: Callable[[], None] | None = None,
    probe: bool = True,
    facts: Mapping[str, Any] | None = None,
    probe_cache: ProbeCache | None = None,
) -> CertifyResult:
    """Certify ``declaration``'s operator on ``backend`` (see the module docstring).

    ``on_example`` is called after every example of the main search (for progress bars).
    ``probe=False`` skips step 2, for callers that probe the divergences separately (pytest).
    ``facts``: the backend's execution facts, if the caller has them (else they are measured).
    ``probe_cache``: where probe verdicts are reused and kept (None: every divergence is probed).
    """
    started = time.perf_counter()
    tally = _Tally(declaration, backend, divergences, facts)

    def check(case: Case) -> None:
        # A case that is not judged is rejected (assume), so that Hypothesis draws another: the
        # profile's examples count judged ones, whatever share of the draws the known divergences,
        # the backend's unsupported cases and undetermined outputs take.
        if on_example is not None:
            on_example()
        failure = tally.take(case, declaration.features(case), run_example(declaration, backend, case))
        if failure is not None:
            raise failure
        if not tally.judged_last:
            reject()

    failure = _search(declaration.cases(), check, settings_, seed, label=declaration.op_type)
    return tally.finish(failure, settings_, started, seed=seed, failures_dir=failures_dir, replay_hint=replay_hint,
                        probe=probe, probe_cache=probe_cache)


def certify_together(
    declaration: OpDeclaration,
    backends: Sequence[Backend],
    settings_: settings,
    *,
    divergences: Iterable[KnownDivergence] = (),
    seed: int | None = None,
    failures_dir: Path | str | None = None,
    replay_hint: str = "conformance replay {dir} --backend {backend}",
    on_example: Callable[[], None] | None = None,
    probe_cache: ProbeCache | None = None,
    jobs: int = 1,
) -> list[CertifyResult]:
    """Certify one operator on several backends, each case drawn once and judged on all of them.

    One search draws the cases (derandomized from the operator, as ``certify``'s is), evaluates
    the reference once per case, and runs each case on every backend still open: one that has not
    failed, and is short of the profile's examples. A case counts towards the profile's examples
    only where every open backend judged it (so each gets at least the profile's judged examples,
    as alone); the others are still tallied for the backends that judged them. The search does not shrink: a backend that fails is closed,
    and then certified alone (``certify``), whose own search finds and shrinks its failure, as
    does a backend left short of judged examples by the others' rejections. Should that search meet
    no failure, the one found here is the counterexample, unshrunk. The verdicts are ``certify``'s;
    the examples differ only in that a backend's cases are not redrawn where another rejects them.

    A search of more than ``SHARD_EXAMPLES`` examples is split into shards (``shard_examples``),
    each its own search with its own seed (``_shard_seed``), whose tallies are added up in order. The
    shards depend on the seed and the example count only; up to ``jobs`` processes take them at
    once, this one from the front and spawned workers (``conformance.shards``), once ready, from the
    back. A shard a worker cannot run (a backend only this process has, a crash, other execution
    facts) is run here, to the same result.

    Returns a result per backend, in order; ``on_example`` is called once per drawn case.
    """
    from conformance.shards import ShardWorkers

    started = time.perf_counter()
    sizes = shard_examples(settings_.max_examples)
    shared = settings(settings_, phases=[phase for phase in settings_.phases if phase != Phase.shrink])
    # The facts first: workers then read those a probe measured here (TensorFlow's are kept on disk).
    tallies = [_Tally(declaration, backend, divergences) for backend in backends]

    def run_here(shard: int, advance: Callable[[], None] | None) -> list[dict[str, Any]]:
        here = [_Tally(declaration, t.backend, divergences, facts=t.result.facts) for t in tallies]
        shared_search(declaration, here, settings(shared, max_examples=sizes[shard]), seed, shard, advance)
        return [t.snapshot() for t in here]

    tallied: dict[int, list[dict[str, Any]]] = {}
    with ShardWorkers(declaration, backends, shared, sizes, divergences=divergences, seed=seed,
                      jobs=jobs) as workers:
        advance = workers.progress(on_example)
        while (shard := workers.claim()) is not None:
            tallied[shard] = run_here(shard, advance)
        if workers.remote:  # while they finish: the probes a backend that has not failed will need
            for tally, snapshot in zip(tallies, tallied.get(0, [])):
                if snapshot["failure"] is None:
                    tally.probe(settings_, failures_dir=failures_dir, replay_hint=replay_hint,
                                probe_cache=probe_cache)
        for shard, snapshots in workers.results(on_example):
            if [s["facts"] for s in snapshots] == [t.result.facts for t in tallies]:
                tallied[shard] = snapshots
    for shard in range(len(sizes)):  # a dead worker's, or one measured under other facts
        if shard not in tallied:
            tallied[shard] = run_here(shard, on_example)
    for shard in sorted(tallied):
        for tally, snapshot in zip(tallies, tallied[shard]):
            tally.absorb(snapshot)
    results = []
    floor = judged_floor(settings_)
    for tally in tallies:
        if tally.failure is None and tally.result.judged >= floor:
            results.append(tally.finish(None, settings_, started, seed=seed, failures_dir=failures_dir,
                                        replay_hint=replay_hint, probe=True, probe_cache=probe_cache))
            continue
        alone = certify(declaration, tally.backend, settings_, divergences=divergences, seed=seed,
                        failures_dir=failures_dir, replay_hint=replay_hint, facts=tally.result.facts,
                        probe_cache=probe_cache)
        if tally.failure is not None and alone.passed and alone.status == "agree":
            # Its own search met no failure: the one found here stands, unshrunk.
            alone = tally.finish(tally.failure, settings_, started, seed=seed, failures_dir=failures_dir,
                                 replay_hint=replay_hint, probe=True, probe_cache=probe_cache)
        results.append(alone)
    return results


# A shared search of more examples than this is split into shards of at most as many (the
# profiles' ci and dev searches are not split). Smaller shards would share a long run out more
# finely, but each search starts again from Hypothesis's simplest cases.
SHARD_EXAMPLES = 100


def shard_examples(examples: int) -> list[int]:
    """The examples of each shard of a shared search of ``examples``: as few shards as
    ``SHARD_EXAMPLES`` allows, their sizes differing by one at most."""
    shards = max(1, math.ceil(examples / SHARD_EXAMPLES))
    return [examples // shards + (1 if index < examples % shards else 0) for index in range(shards)]


def _shard_seed(seed: int | None, shard: int) -> int | None:
    """Shard 0 searches as an unsplit search does; the others from seeds of their own."""
    if seed is None or shard == 0:
        return seed
    return int.from_bytes(hashlib.sha256(f"{seed}/shard {shard}".encode()).digest()[:4], "big")


def shared_search(declaration: OpDeclaration, tallies: Sequence[_Tally], settings_: settings, seed: int | None,
                  shard: int, on_example: Callable[[], None] | None = None) -> None:
    """One shard of ``certify_together``'s search: each case drawn once, the reference evaluated
    once, and the case run on every backend still open, its outcome taken by that backend's tally."""

    def check(case: Case) -> None:
        # Open: not failed, and short of the shard's examples (one that has them needs no more runs).
        open_tallies = [t for t in tallies if t.failure is None and t.result.judged < settings_.max_examples]
        if not open_tallies:
            raise _NothingLeft()
        if on_example is not None:
            on_example()
        features = declaration.features(case)
        expected = declaration.expected(case)
        for tally in open_tallies:
            outcome = run_example(declaration, tally.backend, case, expected=expected)
            tally.failure = tally.take(case, features, outcome)
        if not all(t.judged_last for t in open_tallies):
            reject()

    label = declaration.op_type if shard == 0 else f"{declaration.op_type}/shard {shard}"
    _search(declaration.cases(), check, settings_, _shard_seed(seed, shard), label=label)


class _NothingLeft(Exception):
    """Every backend of a shared search has failed or has its examples: nothing is left to judge."""


class _Tally:
    """What one backend's certification has met so far (``certify``'s step 1), and how it ends."""

    def __init__(self, declaration: OpDeclaration, backend: Backend, divergences: Iterable[KnownDivergence],
                 facts: Mapping[str, Any] | None = None):
        self.declaration, self.backend = declaration, backend
        facts = dict(facts) if facts is not None else execution_facts(backend)
        self.applicable = [d for d in divergences
                           if d.applies_to(backend.name, backend.version, declaration.op_type, facts)]
        self.regions = [d for d in self.applicable if d.region]
        self.result = CertifyResult(declaration.op_type, backend.name, backend.version, facts=facts)
        self.reasons: Counter[str] = Counter()
        self.excused: Counter[str] = Counter()
        self.corners: Counter[str] = Counter()
        self.earlier: list[tuple[Case, Outcome]] = []
        self.judged_last = False  # whether the last case taken was judged
        self.failure: _Failure | None = None  # a shared search's failure for this backend
        self.probed: dict[str, DivergenceProbe] = {}  # the known divergences' probe verdicts, by id

    # What a shard's search adds up: counts, and the largest errors met.
    _SUMMED = ("draws", "examples", "judged", "unjudged_elements", "unsupported", "in_known_divergence", "warnings")
    _LARGEST = ("max_error_ratio", "max_ulp")

    def snapshot(self) -> dict[str, Any]:
        """What this tally met, to be sent from a worker's shard and added to another (``absorb``)."""
        result = self.result
        return {"facts": result.facts, "counts": {name: getattr(result, name) for name in self._SUMMED},
                "largest": {name: getattr(result, name) for name in self._LARGEST},
                "first_warning": result.first_warning, "readings": dict(result.readings),
                "error_ratios": list(result.error_ratios), "reasons": dict(self.reasons),
                "excused": dict(self.excused), "corners": dict(self.corners), "earlier": list(self.earlier),
                "failure": self.failure}

    def absorb(self, shard: Mapping[str, Any]) -> None:
        """Add another shard's tally (``snapshot``) to this one; its failure stands if this has none."""
        result = self.result
        for name, count in shard["counts"].items():
            setattr(result, name, getattr(result, name) + count)
        for name, value in shard["largest"].items():
            mine = getattr(result, name)
            setattr(result, name, value if mine is None else mine if value is None else max(mine, value))
        result.first_warning = result.first_warning or shard["first_warning"]
        result.error_ratios += shard["error_ratios"]
        for name, count in shard["readings"].items():
            result.readings[name] = result.readings.get(name, 0) + count
        self.reasons.update(shard["reasons"])
        self.excused.update(shard["excused"])
        self.corners.update(shard["corners"])
        self.earlier = (self.earlier + shard["earlier"])[:EARLIER_FAILURES]
        self.failure = self.failure or shard["failure"]

    def take(self, case: Case, features: Mapping[str, Any], outcome: Outcome) -> _Failure | None:
        """Count one example: unsupported, excused, undetermined or judged; its failure, if it fails."""
        result = self.result
        self.judged_last = False
        result.draws += 1
        if outcome.warnings:
            result.warnings += len(outcome.warnings)
            result.first_warning = result.first_warning or outcome.warnings[0]
        if outcome.status == "unsupported":
            result.unsupported += 1
            self.reasons[outcome.message] += 1
            return None
        inside = [d for d in self.regions if d.matches(features)]
        if inside and outcome.status != "agree":
            excusing = excused_by(inside, self.declaration, case, outcome)
            if excusing:
                result.in_known_divergence += 1
                self.excused.update(d.id for d in excusing)
                return None
            # inside a region, but not what its entry describes: another bug, judged as such
            outcome = replace(outcome, message=f"{outcome.message} [inside {', '.join(d.id for d in inside)}, but"
                                               f" not like it: {'; '.join(d.looks_text() for d in inside)}]")
        result.examples += 1
        verdict = outcome.verdict
        if verdict is not None:
            result.unjudged_elements += verdict.elements - verdict.judged_elements
        if outcome.status == "agree" and not verdict.judged:
            return None  # nothing decided: no evidence of agreement, no corner reached
        result.judged += 1
        self.judged_last = True
        if verdict is not None and verdict.reading:
            result.readings[verdict.reading] = result.readings.get(verdict.reading, 0) + 1
        self.corners.update(c for c in self.declaration.corners if corner_reached(c, features))
        if verdict is not None and np.isfinite(verdict.max_error_ratio):
            result.error_ratios.append(verdict.max_error_ratio)
            result.max_error_ratio = max(result.max_error_ratio or 0.0, verdict.max_error_ratio)
            result.max_ulp = max(result.max_ulp or 0.0, verdict.max_ulp)
        if outcome.status in FAILING:
            if len(self.earlier) < EARLIER_FAILURES and outcome.status == "disagree":
                self.earlier.append((case, outcome))
            return _Failure(case, outcome, self.earlier)
        return None

    def probe(self, settings_: settings, *, failures_dir, replay_hint: str, probe_cache: ProbeCache | None) -> None:
        """Probe the known divergences not probed yet (``certify``'s step 2), timed in ``probe_seconds``.
        ``certify_together`` calls it early, while its workers search, and ``finish`` then reuses these."""
        started = time.perf_counter()
        for divergence in self.regions:
            if divergence.id not in self.probed:
                self.probed[divergence.id] = probe_divergence(
                    self.declaration, self.backend, divergence, settings_, failures_dir=failures_dir,
                    replay_hint=replay_hint, cache=probe_cache, facts=self.result.facts)
        self.result.probe_seconds += time.perf_counter() - started

    def finish(self, failure: _Failure | str | None, settings_: settings, started: float, *, seed: int | None,
               failures_dir, replay_hint: str, probe: bool, probe_cache: ProbeCache | None) -> CertifyResult:
        """The verdict (``certify``'s steps 2 and 3): the search's ``failure`` (the shrunk failure, an
        error text, or None) diagnosed and saved, the divergences probed, the judged floor applied."""
        declaration, backend, result, regions = self.declaration, self.backend, self.result, self.regions
        result.unsupported_reasons = dict(self.reasons.most_common())
        result.excused = {d.id: self.excused[d.id] for d in regions}
        result.corners = {c: self.corners[c] for c in declaration.corners}
        if isinstance(failure, _Failure):
            result.status = failure.outcome.status
            result.counterexample = _counterexample(declaration, backend, failure, failures_dir, replay_hint,
                                                    search_around=regions, seed=seed)
            result.diagnosis = result.counterexample.diagnosis
            result.message = failure.outcome.message
        elif isinstance(failure, str):
            result.status, result.message = "error", failure
        elif result.readings:
            result.message = "agree (reading: " + ", ".join(
                f"{name} on {count} of {result.judged} examples" for name, count in result.readings.items()) + ")"
        elif result.examples == 0 and result.unsupported:
            result.status = "unsupported"
            result.message = f"every drawn case was unsupported: {next(iter(self.reasons))}"
        if probe:
            self.probe(settings_, failures_dir=failures_dir, replay_hint=replay_hint, probe_cache=probe_cache)
            result.divergences = [self.probed[d.id] for d in regions]
        if result.status == "agree" and any(d.reproduced for d in result.divergences):
            result.status = "known_divergence"
            result.message = "; ".join(d.describe() for d in regions)
        floor = judged_floor(settings_)
        if result.status in ("agree", "known_divergence") and result.judged < floor:
            result.message = (f"only {result.judged} examples judged, fewer than {floor} ({JUDGED_FLOOR:.0%} of"
                              f" {settings_.max_examples}), in {result.draws} draws: {_thin_text(result)}")
            result.status = "inconclusive"
            accepted = next((d for d in self.applicable if not d.region), None)
            if accepted is not None:
                result.accepted = f"{accepted.id}: {accepted.reason} ({accepted.link})"
        result.seconds = time.perf_counter() - started
        return result


def judged_floor(settings_: settings) -> int:
    """The judged examples a cell needs to agree: ``JUDGED_FLOOR`` of the profile's examples."""
    return math.ceil(JUDGED_FLOOR * settings_.max_examples)


def _thin_text(result: CertifyResult) -> str:
    """Where the other draws went."""
    return (f"{result.in_known_divergence} excused by known divergences, {result.unsupported} unsupported,"
            f" {result.examples - result.judged} undetermined")


def excused_by(inside: Sequence[KnownDivergence], declaration: OpDeclaration, case: Case,
               outcome: Outcome) -> list[KnownDivergence]:
    """The known divergences, of those whose regions hold ``case``, that its outcome shows: one
    that looks like it alone, else (where two regions overlap, as a Softmax-11 case with an
    underflow) the disagree entries whose diagnoses, combined, explain it; empty if none."""
    for divergence in inside:
        if looks_like(divergence, declaration, case, outcome):
            return [divergence]
    diagnosed = [d for d in inside if d.diagnosis and d.status == outcome.status == "disagree"]
    if len(diagnosed) > 1:
        combined = "+".join(dict.fromkeys(n for d in diagnosed for n in d.diagnosis.split("+")))
        if explains(declaration, case, outcome.outputs, combined):
            return diagnosed
    return []


def looks_like(divergence: KnownDivergence, declaration: OpDeclaration, case: Case, outcome: Outcome) -> bool:
    """Whether an example's outcome is ``divergence`` showing itself: its status, message and error
    bounds (``KnownDivergence.reproduced_by``), and its diagnosis, if it names one."""
    if not divergence.reproduced_by(outcome.status, outcome.message, outcome.verdict):
        return False
    return not divergence.diagnosis or explains(declaration, case, outcome.outputs, divergence.diagnosis)


def reject() -> None:
    """Reject the case at hand: Hypothesis draws another, and does not count this one."""
    assume(False)


def probe_divergence(
    declaration: OpDeclaration,
    backend: Backend,
    divergence: KnownDivergence,
    settings_: settings,
    *,
    failures_dir: Path | str | None = None,
    replay_hint: str = "conformance replay {dir} --backend {backend}",
    cache: ProbeCache | None = None,
    facts: Mapping[str, Any] | None = None,
) -> DivergenceProbe:
    """Search the divergence's condition for a case that still shows it (a witness).

    Cases are built inside the condition (``probe_pins``): the labelled draws it names take its
    values, lists and ranges, and the draws that decide the derived features the declaration can
    aim at (``OpDeclaration.aims``: ``dilated``, an output size) keep only values that meet it. A
    condition on any other derived feature is met by chance, so its cases are drawn until they fall
    inside. Only the cases inside the condition run on the backend, and the first that looks like
    the divergence ends the search: it is the witness, as drawn. It is not shrunk: a witness
    proves that the divergence still holds, and need not be minimal (a certification's
    counterexamples are shrunk).

    The search is derandomized from the divergence's id, whatever the run's seed: a probe answers
    whether the divergence still holds, which must not change from run to run, and so its verdict
    can be kept (a random profile draws a new seed for every run).

    The budget: ``PROBE_DRAWS_FACTOR`` times the profile's examples in draws (at least
    ``PROBE_DRAWS_MINIMUM``), and ``PROBE_RUNS_FACTOR`` times them (at least ``PROBE_RUNS_MINIMUM``)
    in backend runs of cases inside the condition that the backend can express (the examples); a
    divergence that no longer reproduces spends it. Draws and runs, not seconds, so that the
    verdict does not depend on the machine's load.

    With a ``cache``, a verdict kept under the same key (``conformance.probe_cache``) is reused: its
    message ends in " (cached)", and its witness is saved into ``failures_dir`` as a fresh probe
    would save it. A new verdict is kept. ``facts``: the backend's execution facts, part of the key
    (measured if not given).
    """
    key = None
    if cache is not None:
        facts = facts if facts is not None else execution_facts(backend)
        key = probe_key(backend=backend, facts=facts, op=declaration.op_type, entry=divergence,
                        max_examples=settings_.max_examples)
        kept = cache.load(key)
        if kept is not None:
            reused = _cached_probe(declaration, backend, divergence, kept, failures_dir, replay_hint)
            if reused is not None:
                return reused
    failure, examples = _probe_search(declaration, backend, divergence, settings_.max_examples)
    probe = DivergenceProbe(divergence.id, divergence.reason, divergence.link, failure is not None, examples)
    files = None
    if failure is not None:
        probe.witness = _counterexample(declaration, backend, failure, failures_dir, replay_hint,
                                        suffix=_slug(divergence.id))
        probe.message = failure.outcome.message
        files = case_files(failure.case, _case_metadata(backend, failure.outcome, probe.witness.diagnosis, seed=None))
    elif examples == 0:
        probe.message = "no drawn case met the divergence's condition (and ran on the backend)"
    else:
        probe.message = f"{examples} cases in the condition agreed: the divergence no longer reproduces"
    if cache is not None:
        verdict = {"reproduced": probe.reproduced, "examples": probe.examples, "message": probe.message,
                   "witness": _kept_witness(probe.witness)}
        cache.store(key, verdict, files)
    return probe


def _probe_search(declaration: OpDeclaration, backend: Backend, divergence: KnownDivergence,
                  max_examples: int) -> tuple[_Failure | None, int]:
    """The first case inside the divergence's condition that shows it (None if none within the
    budget for ``max_examples``), and the supported cases inside the condition that ran (see
    ``probe_divergence``).

    Cases are drawn in batches (generation only), doubling from ``PROBE_BATCH_FIRST`` to
    ``PROBE_BATCH_LARGEST``, each derandomized from the divergence and the batch's number.
    """
    draws = max(PROBE_DRAWS_FACTOR * max_examples, PROBE_DRAWS_MINIMUM)
    runs = max(PROBE_RUNS_FACTOR * max_examples, PROBE_RUNS_MINIMUM)
    label = f"{declaration.op_type} {divergence.id} probe"
    aimed = declaration.cases(pins=probe_pins(declaration, divergence))
    seen: set[str] = set()
    examples, size = 0, PROBE_BATCH_FIRST
    for batch in itertools.count():
        if draws <= 0 or runs <= 0:
            return None, examples
        count = min(size, draws)
        cases = drawn_cases(aimed, count, f"{label} batch {batch}")
        if not cases:
            return None, examples  # nothing can be drawn: the pins leave the region empty
        draws -= count
        size = min(2 * size, PROBE_BATCH_LARGEST)
        for case in cases:
            identity = repr(sorted(case.draws.items()))  # each batch starts from the simplest case again
            if identity in seen or not divergence.matches(declaration.features(case)):
                continue
            seen.add(identity)
            outcome = run_example(declaration, backend, case)
            if looks_like(divergence, declaration, case, outcome):
                return _Failure(case, outcome), examples + 1
            if outcome.status != "unsupported":  # a case the backend cannot express is no evidence either way
                examples += 1
                runs -= 1
                if runs <= 0:
                    break
    return None, examples


def probe_pins(declaration: OpDeclaration, divergence: KnownDivergence) -> Pins:
    """Pins aimed at the divergence's condition: its values, lists and ranges on the labelled draws
    of the same name (``KnownDivergence.pins``), and its conditions on the derived features the
    declaration can aim at (``OpDeclaration.aims``)."""
    aimed = [name for name in divergence.when if name in declaration.aims]
    return Pins({k: v for k, v in divergence.pins().items() if k not in aimed},
                [(declaration.aims[name], functools.partial(satisfies, wanted=divergence.when[name]),
                  functools.partial(reachable, wanted=divergence.when[name])) for name in aimed])


def _cached_probe(declaration: OpDeclaration, backend: Backend, divergence: KnownDivergence, kept: Mapping[str, Any],
                  failures_dir, replay_hint: str) -> DivergenceProbe | None:
    """The probe verdict ``kept`` in the cache, its witness saved into ``failures_dir``; None if it
    is not one (a file of another shape)."""
    verdict = kept["verdict"]
    try:
        witness = Counterexample(**verdict["witness"]) if verdict["witness"] is not None else None
        probe = DivergenceProbe(divergence.id, divergence.reason, divergence.link, verdict["reproduced"],
                                int(verdict["examples"]), str(verdict["message"]) + CACHED, witness)
    except (KeyError, TypeError, ValueError):
        return None
    if witness is not None and failures_dir is not None:
        directory = write_case_files(kept["files"], _case_directory(declaration, backend, failures_dir,
                                                                     _slug(divergence.id)))
        witness.saved_to = str(directory)
        witness.replay = replay_hint.format(dir=shlex.quote(str(directory)), backend=shlex.quote(spec_of(backend)))
    return probe


def _kept_witness(witness: Counterexample | None) -> dict[str, Any] | None:
    """A witness as the cache keeps it: without where this run saved it."""
    if witness is None:
        return None
    return {**asdict(witness), "saved_to": "", "replay": ""}


def _search(strategy, check, settings_: settings, seed: int | None, label: str) -> _Failure | str | None:
    """Run ``check`` over cases drawn from ``strategy``; the shrunk failure, an error text, or None.

    A derandomized search (the ``ci`` profile) is seeded from ``label``, the operator (and the
    divergence probed): Hypothesis would otherwise derive its seed from the source of ``check``,
    so that editing this module would draw other cases for every operator.
    """
    test = settings(settings_)(given(strategy)(check))
    if seed is None and settings_.derandomize:
        seed = int.from_bytes(hashlib.sha256(label.encode()).digest()[:4], "big")
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    try:
        with reporting.with_reporter(lambda _: None), without_local_constants():
            test()
    except _Failure as failure:
        return failure
    except (hypothesis_errors.Unsatisfiable, _NothingLeft):
        return None
    except hypothesis_errors.FlakyFailure as error:
        return f"the backend is flaky: a failing case passed when rerun ({_error_message(error)})"
    return None


def _counterexample(declaration, backend, failure: _Failure, failures_dir, replay_hint, suffix: str = "",
                    search_around: Sequence[KnownDivergence] | None = None,
                    seed: int | None = None) -> Counterexample:
    """The failure as shown and saved, with its diagnosis (``_diagnosis``; ``search_around``: the
    divergences excused in the search, whose cases the search around the failure leaves out, or
    None for no such search, as for a divergence's witness). The saved case records the search's
    ``seed`` (None: derandomized), so that the search that found it can be repeated."""
    case, outcome = failure.case, failure.outcome
    diagnosis = _diagnosis(declaration, backend, failure, search_around)
    verdict = outcome.verdict
    example = Counterexample(
        case=case.summary(),
        description=case.describe(),
        status=outcome.status,
        message=outcome.message,
        max_error_ratio=_finite(verdict.max_error_ratio) if verdict else None,
        max_ulp=_finite(verdict.max_ulp) if verdict else None,
        diagnosis=diagnosis,
    )
    if failures_dir is not None:
        directory = save_case(case, _case_directory(declaration, backend, failures_dir, suffix),
                              _case_metadata(backend, outcome, diagnosis, seed))
        example.saved_to = str(directory)
        example.replay = replay_hint.format(dir=shlex.quote(str(directory)), backend=shlex.quote(spec_of(backend)))
    return example


def _case_directory(declaration: OpDeclaration, backend: Backend, failures_dir, suffix: str = "") -> Path:
    """Where a failing case of ``backend`` is saved: ``<op>-<backend>[-<suffix>]`` in ``failures_dir``."""
    return Path(failures_dir) / "-".join(filter(None, (declaration.op_type, _slug(backend.name), suffix)))


def _case_metadata(backend: Backend, outcome: Outcome, diagnosis: Sequence[str], seed: int | None) -> dict[str, Any]:
    """What a saved case's ``case.json`` records beside the case."""
    return {"backend": spec_of(backend), "backend_name": backend.name, "backend_version": backend.version,
            "status": outcome.status, "message": outcome.message, "diagnosis": list(diagnosis), "seed": seed}


# After the first failure, cases drawn around the failing ones (``region_pins``) run on the backend,
# and the disagreements a known divergence does not excuse, up to a limit, join the
# failing examples the diagnosis must explain. Most cases around a failure fail too, so few draws
# suffice; drawing is most of the cost.
AROUND_DRAWS, AROUND_FAILURES = 40, 6
# Cases drawn to tell candidate diagnoses apart, around the failures and anywhere (only the telling ones run).
DISAMBIGUATION_DRAWS_AROUND, DISAMBIGUATION_DRAWS = 200, 300


def _diagnosis(declaration: OpDeclaration, backend: Backend, failure: _Failure,
               search_around: Sequence[KnownDivergence] | None) -> list[str]:
    """The candidates that explain every failing example met, told apart where several do.

    The examples: the shrunk failure, the failures before it, and the disagreements found by a
    search around them. A shrunk case often fits several conventions by accident (zeros, a kernel
    of two taps), and an error or a failure without outputs cannot be diagnosed at all; the
    disagreements near it can, since they keep the attributes that made it fail.
    """
    failing = [(failure.case, failure.outcome)] + [(c, o) for c, o in failure.earlier if c is not failure.case]
    anchors = [case for case, _ in failing]
    excused = search_around or ()

    def disagreements() -> list[Example]:
        return [(c, o.outputs) for c, o in failing if o.status == "disagree" and o.outputs is not None]

    def run_until_enough(cases: Iterable[Case]) -> None:
        met = 0
        for case in cases:
            if met >= AROUND_FAILURES:
                return
            inside = [d for d in excused if d.matches(declaration.features(case))]
            outcome = run_example(declaration, backend, case)
            if outcome.status == "disagree" and not excused_by(inside, declaration, case, outcome):
                failing.append((case, outcome))
                met += 1

    if search_around is not None:
        run_until_enough(_around(declaration, anchors, AROUND_DRAWS, "around"))
        if not disagreements():  # only errors so far: disagreements anywhere, as the search would meet them
            run_until_enough(drawn_cases(declaration.cases(), AROUND_DRAWS, f"{declaration.op_type} after an error"))
    examples = disagreements()
    if not examples:
        return []
    diagnosis = diagnose_all(declaration, examples)
    if len(diagnosis) > 1:
        # Cases around the failures first: they keep what made them fail and vary what tells conventions apart.
        drawn = (_around(declaration, anchors, DISAMBIGUATION_DRAWS_AROUND, "disambiguation around")
                 + drawn_cases(declaration.cases(), DISAMBIGUATION_DRAWS, f"{declaration.op_type} disambiguation"))
        diagnosis = _disambiguated(declaration, backend, diagnosis, drawn, excused)
    return diagnosis


def _around(declaration: OpDeclaration, anchors: Sequence[Case], count: int, label: str) -> list[Case]:
    """``count`` cases drawn from the regions around ``anchors`` (``region_pins``)."""
    pins = [p for anchor in anchors for p in region_pins(anchor)]
    return drawn_cases(st.sampled_from(pins).flatmap(lambda chosen: declaration.cases(pins=chosen)), count,
                  f"{declaration.op_type} {label}")


def drawn_cases(strategy, count: int, label: str) -> list[Case]:
    """``count`` cases drawn from ``strategy`` (generation only, derandomized from ``label``)."""
    drawn: list[Case] = []

    def collect(case: Case) -> None:
        drawn.append(case)

    _search(strategy, collect, settings(max_examples=count, derandomize=True, database=None, deadline=None,
                                        phases=[Phase.generate], suppress_health_check=list(HealthCheck)),
            None, label=label)
    return drawn


def _disambiguated(declaration: OpDeclaration, backend: Backend, candidates: list[str], drawn: Sequence[Case],
                   excused: Sequence[KnownDivergence]) -> list[str]:
    """The candidates left once cases of ``drawn`` that tell them apart have run on the backend
    (``disambiguate``); cases inside an excused divergence tell nothing about the candidates."""

    def run(case: Case) -> Sequence[np.ndarray] | None:
        if any(d.matches(declaration.features(case)) for d in excused):
            return None
        try:
            outputs = backend.run(case.model, case.feeds)
        except Exception:  # noqa: BLE001 - a case the backend cannot run tells nothing here
            return None
        return outputs if isinstance(outputs, (list, tuple)) else None

    return disambiguate(declaration, candidates, drawn, run)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def _error_message(error: BaseException) -> str:
    text = " ".join(str(error).split())
    if not text:
        frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
        text = f"at {frame[0].filename}:{frame[0].lineno}" if frame else ""
    return f"{type(error).__name__}: {text}"[:2000]
