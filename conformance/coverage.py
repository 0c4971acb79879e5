"""How much of an operator's draws each known divergence takes out of certification.

A known divergence's region is a condition on case features, so its share of the drawn cases
can be measured without any backend: draw the operator's cases as a search would, and count the
ones inside each region. An excused case is certified only against what its entry says the
divergence looks like, so a wide region is weaker evidence; ``conformance divergences
--coverage`` shows each entry's share, and the union of a backend's entries for an operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from conformance.certify import drawn_cases
from conformance.divergences import KnownDivergence
from conformance.ops import get_declaration

DEFAULT_COVERAGE_DRAWS = 200


@dataclass(frozen=True)
class Coverage:
    """An entry's share of its operator's draws, and the share all of its backend's entries take."""

    entry: KnownDivergence
    draws: int
    inside: int
    backend_inside: int  # draws inside any region of the same backend and operator

    @property
    def share(self) -> float:
        return self.inside / self.draws if self.draws else 0.0

    @property
    def backend_share(self) -> float:
        return self.backend_inside / self.draws if self.draws else 0.0


def coverage(entries: Sequence[KnownDivergence], draws: int = DEFAULT_COVERAGE_DRAWS) -> list[Coverage]:
    """Each region entry's share of ``draws`` drawn cases of its operator (entries of undeclared
    operators are left out)."""
    from conformance.ops import declared

    regions = [e for e in entries if e.region and declared(e.op)]
    results = []
    for op in dict.fromkeys(e.op for e in regions):
        declaration = get_declaration(op)
        features = [declaration.features(case) for case in drawn_cases(declaration.cases(), draws, f"{op} coverage")]
        of_op = [e for e in regions if e.op == op]
        inside = {e.id: [e.matches(f) for f in features] for e in of_op}
        for entry in of_op:
            siblings = [inside[e.id] for e in of_op if set(e.backend) & set(entry.backend)]
            backend_inside = sum(any(column) for column in zip(*siblings))
            results.append(Coverage(entry, len(features), sum(inside[entry.id]), backend_inside))
    return results
