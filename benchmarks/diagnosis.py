"""How often a certification names a planted convention bug, and names it alone.

Each planted convention-bug backend (``tests/planted*.py``) is certified on its operator as
``conformance certify OP --backend SPEC --seed S`` does (profile ``dev`` unless told otherwise, the
shipped known-divergences manifest, which names no planted backend), once per seed 1..N. A run
counts as *found* when its search met a failure, *named* when its diagnosis contains the variant the
bug commits, and *alone* when the diagnosis is exactly that variant; *shrunk* counts the runs whose
shrunk case alone would have been diagnosed as exactly that variant (without the other failing
examples and the cases that tell candidates apart). Run from the repository root (the planted backends live in
``tests``):

    python -m benchmarks.diagnosis            # seeds 1, 2, 3
    python -m benchmarks.diagnosis --runs 10 --bug ceil_mode_ignored

Accuracy is measured here, over repeated random searches; ``tests/test_diagnosis.py`` asserts it
on a few fixed seeds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from conformance.backends import load_backend
from conformance.case import load_case
from conformance.certify import FAILING, CertifyResult, certify
from conformance.diagnosis import diagnose
from conformance.divergences import load_manifest
from conformance.ops import get_declaration
from conformance.profiles import profile_settings


@dataclass(frozen=True)
class PlantedBug:
    op: str
    backend: str  # a backend spec, as --backend takes it
    variant: str  # the declared variant the bug commits


BUGS = (
    PlantedBug("Conv", "tests.planted:FlippedKernel", "flipped_kernel"),
    PlantedBug("Conv", "tests.planted:SameUpperLowerSwapped", "same_upper_lower_swapped"),
    PlantedBug("BatchNormalization", "tests.planted_normalization:EpsOutsideSqrt", "eps_outside_sqrt"),
    PlantedBug("BatchNormalization", "tests.planted_normalization:MomentumComplement", "momentum_complement"),
    PlantedBug("LRN", "tests.planted_normalization:AlphaNotDividedBySize", "alpha_not_divided_by_size"),
    PlantedBug("AveragePool", "tests.planted_pooling:CountIncludePadInverted", "count_include_pad_inverted"),
    PlantedBug("MaxPool", "tests.planted_pooling:CeilModeIgnored", "ceil_mode_ignored"),
)
# The same bugs on the other operators that declare their variant (--extended).
ALSO_ON = {
    "flipped_kernel": ("ConvTranspose",),
    "same_upper_lower_swapped": ("ConvTranspose", "MaxPool", "AveragePool", "LpPool"),
    "ceil_mode_ignored": ("AveragePool", "LpPool"),
}
EXTENDED = tuple(replace(bug, op=op) for bug in BUGS for op in ALSO_ON.get(bug.variant, ())) + (
    # Its first failure is often an error (it refuses batches): the diagnosis must look past it.
    PlantedBug("MaxPool", "tests.planted_pooling:CeilModeIgnoredNoBatches", "ceil_mode_ignored"),
)


def certify_planted(bug: PlantedBug, seed: int, profile: str = "dev", examples: int | None = None,
                    failures_dir: Path | None = None) -> CertifyResult:
    """One certification of ``bug``'s backend, as the command line runs it with ``--seed seed``."""
    return certify(get_declaration(bug.op), load_backend(bug.backend), profile_settings(profile, examples, seed),
                   divergences=load_manifest(), seed=seed, failures_dir=failures_dir)


def shrunk_only(bug: PlantedBug, result: CertifyResult) -> list[str]:
    """What the shrunk case alone would have been diagnosed as (``diagnose`` on its saved copy
    rerun on the backend): the baseline that the other failing examples and the disambiguation
    improve on. Nothing for an error, which has no outputs."""
    if result.counterexample is None or not result.counterexample.saved_to:
        return []
    case, _ = load_case(result.counterexample.saved_to)
    try:
        outputs = load_backend(bug.backend).run(case.model, case.feeds)
    except Exception:  # noqa: BLE001 - an error has no outputs to diagnose
        return []
    return diagnose(get_declaration(bug.op), case, outputs)


def _shown(result: CertifyResult) -> str:
    """The diagnosis as a list, prefixed by the status where it is not a disagreement."""
    shown = "[" + ", ".join(result.diagnosis) + "]"
    return shown if result.status == "disagree" else f"{result.status} {shown}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="seeds 1..RUNS per bug (default 3)")
    parser.add_argument("--profile", default="dev", choices=("ci", "dev", "thorough"))
    parser.add_argument("--examples", type=int, default=None, help="examples per search (default: the profile's)")
    parser.add_argument("--bug", action="append", default=[], metavar="VARIANT", help="only this bug (repeatable)")
    parser.add_argument("--extended", action="store_true", help="also the same bugs on the other operators")
    args = parser.parse_args(argv)
    bugs = [b for b in BUGS + EXTENDED * args.extended if not args.bug or b.variant in args.bug]
    totals = dict.fromkeys(("found", "named", "alone", "shrunk"), 0)
    print(f"{'operator':<18} {'backend':<48} {'expected':<26} {'found':>5} {'named':>5} {'alone':>5} {'shrunk':>6}"
          f" {'s/run':>5}  other diagnoses (seeds)")
    with tempfile.TemporaryDirectory() as failures:
        for bug in bugs:
            counts = dict.fromkeys(totals, 0)
            others: dict[str, list[int]] = {}
            seconds = 0.0
            for seed in range(1, args.runs + 1):
                result = certify_planted(bug, seed, args.profile, args.examples, Path(failures))
                seconds += result.seconds
                counts["found"] += result.status in FAILING
                counts["named"] += bug.variant in result.diagnosis
                counts["alone"] += result.diagnosis == [bug.variant]
                counts["shrunk"] += shrunk_only(bug, result) == [bug.variant]
                if result.diagnosis != [bug.variant]:
                    others.setdefault(_shown(result), []).append(seed)
            totals = {k: totals[k] + counts[k] for k in totals}
            wrong = "; ".join(f"{shown} ({', '.join(map(str, seeds))})" for shown, seeds in others.items())
            print(f"{bug.op:<18} {bug.backend:<48} {bug.variant:<26} {counts['found']:>5} {counts['named']:>5}"
                  f" {counts['alone']:>5} {counts['shrunk']:>6} {seconds / args.runs:>5.1f}  {wrong}", flush=True)
    runs = args.runs * len(bugs)
    print(f"{runs} runs: a failure found in {totals['found']}; the bug named in {totals['named']}, named alone in"
          f" {totals['alone']} ({totals['alone'] / max(runs, 1):.0%}); the shrunk case alone would have named it alone"
          f" in {totals['shrunk']}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
