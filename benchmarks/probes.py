"""What a known divergence's probe costs: cases drawn, how many fell inside the condition, backend
runs, seconds.

Each known divergence that applies to a backend is probed as ``conformance certify OP --backend SPEC
--examples N`` would probe it (``conformance.certify.probe_divergence``, without the
probe-verdict cache), with its draws, the declaration's ``features`` and the backend's ``run``
counted:

- *draws*: cases the probe drew (every case of its batches, those it never looked at included);
- *looked*: cases whose features it computed, to tell whether they lie inside the condition;
- *inside*: of those, the cases inside the condition (the hit rate is inside / looked);
- *runs*: backend runs (cases inside the condition, until one shows the divergence or the budget
  is spent).

The first probe on TensorFlow also pays for its first call (a few seconds), which a certification
pays in its main search instead. Run from the repository root:

    python -m benchmarks.probes                                  # Conv on reference, onnxruntime, tensorflow
    python -m benchmarks.probes --op ConvTranspose --examples 50 --backend onnx-reference

``--draws-only N`` measures each entry's aimed strategy alone (``conformance.certify.probe_pins``),
without any backend: the share of N drawn cases that lie inside the condition.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Iterator

import conformance.certify as certify_module
from conformance.backends import load_backend
from conformance.certify import drawn_cases, probe_divergence, probe_pins
from conformance.divergences import load_manifest
from conformance.environment import execution_facts
from conformance.ops import get_declaration
from conformance.profiles import profile_settings


@dataclass
class ProbeCost:
    entry: str
    backend: str
    draws: int = 0
    looked: int = 0
    inside: int = 0
    runs: int = 0
    reproduced: bool = False
    seconds: float = 0.0

    @property
    def hit_rate(self) -> float:
        return self.inside / self.looked if self.looked else 0.0


def measure(op: str, specs: list[str], examples: int | None, profile: str) -> list[ProbeCost]:
    """Probe every applicable divergence of ``op`` on each backend, counting draws, hits and runs."""
    declaration = get_declaration(op)
    settings_ = profile_settings(profile, examples)
    entries = [e for e in load_manifest() if e.region]
    costs = []
    for spec in specs:
        backend = load_backend(spec)
        facts = execution_facts(backend)
        for entry in (e for e in entries if e.applies_to(backend.name, backend.version, op, facts)):
            cost = ProbeCost(entry.id, backend.name)

            def features(case, cost=cost, entry=entry):
                found = declaration.features(case)
                cost.looked += 1
                cost.inside += entry.matches(found)
                return found

            run = backend.run

            def counted(model, inputs, cost=cost, run=run):
                cost.runs += 1
                return run(model, inputs)

            backend.run = counted
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as failures, _counting_draws(cost):
                probe = probe_divergence(replace(declaration, features=features), backend, entry, settings_,
                                         failures_dir=failures)
            cost.seconds = time.perf_counter() - started
            cost.reproduced = probe.reproduced
            backend.run = run
            costs.append(cost)
    return costs


@contextmanager
def _counting_draws(cost: ProbeCost) -> Iterator[None]:
    """Count the cases the probe draws (``conformance.certify.drawn_cases``), without changing them."""
    original = certify_module.drawn_cases

    def counted(strategy, count, label):
        drawn = original(strategy, count, label)
        cost.draws += len(drawn)
        return drawn

    certify_module.drawn_cases = counted
    try:
        yield
    finally:
        certify_module.drawn_cases = original


def strategy_hit_rates(op: str, draws: int) -> list[tuple[str, int, int]]:
    """(entry, inside, drawn) for ``draws`` cases from each entry's aimed strategy, no backend run."""
    declaration = get_declaration(op)
    rates = []
    for entry in (e for e in load_manifest() if e.region and e.op == op):
        cases = drawn_cases(declaration.cases(pins=probe_pins(declaration, entry)), draws, f"{op} {entry.id} hit rate")
        rates.append((entry.id, sum(entry.matches(declaration.features(c)) for c in cases), len(cases)))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--op", default="Conv")
    parser.add_argument("--backend", action="append", default=[], metavar="SPEC")
    parser.add_argument("--examples", type=int, default=350, help="the profile's examples, which set the budget")
    parser.add_argument("--profile", default="dev")
    parser.add_argument("--draws-only", type=int, metavar="N",
                        help="only the aimed strategies' hit rates, over N draws")
    args = parser.parse_args()
    if args.draws_only:
        for entry, inside, drawn in strategy_hit_rates(args.op, args.draws_only):
            print(f"{entry:62s} {inside:4d}/{drawn:<4d} inside ({inside / max(1, drawn):.0%})")
        return
    costs = measure(args.op, args.backend or ["reference", "onnxruntime", "tensorflow"], args.examples, args.profile)
    print(f"{'entry':62s} {'backend':12s} {'draws':>6s} {'looked':>6s} {'inside':>6s} {'hit':>5s} {'runs':>5s}"
          f" {'seconds':>8s}  reproduced")
    for c in costs:
        print(f"{c.entry:62s} {c.backend:12s} {c.draws:6d} {c.looked:6d} {c.inside:6d} {c.hit_rate:5.0%} {c.runs:5d}"
              f" {c.seconds:8.2f}  {c.reproduced}")
    print(f"{'total':62s} {'':12s} {sum(c.draws for c in costs):6d} {sum(c.looked for c in costs):6d}"
          f" {sum(c.inside for c in costs):6d} {'':5s} {sum(c.runs for c in costs):5d}"
          f" {sum(c.seconds for c in costs):8.2f}")


if __name__ == "__main__":
    main()
