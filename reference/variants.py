"""Named variants and readings: the other ways an operator is computed, wrong or permitted.

A **variant** is a convention that differs from the ONNX specification (a flipped kernel, swapped
padding): the diagnosis names it when a backend disagrees. A **reading** is one of several
computations the specification itself allows, where its text is silent or contradicts itself
(pooling's ``pad_shape`` formula goes negative where its ``pads`` cannot): a backend that follows
any reading agrees, and the verdict names the reading. The reference computes its default
reading; the others are selected like variants.

A reference function that knows variants or readings is decorated with `with_variants`; callers
select them by name with the keyword argument ``variants`` (any iterable of names, combinable).
The declaration lives on the function itself (``fn.variants``, ``fn.readings``), beside the code
that implements it, so an operator's whole story stays in one place.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping


@dataclass(frozen=True)
class Variant:
    """A convention that differs from the ONNX specification, and where it occurs."""

    name: str
    description: str
    link: str = ""


@dataclass(frozen=True)
class Reading:
    """One computation the specification allows where its text leaves the answer open.

    ``citation`` quotes, in one line, the spec text that leaves it open; ``default`` marks the
    reading the reference computes without being asked (its name selects nothing).
    """

    name: str
    description: str
    citation: str
    link: str = ""
    default: bool = False


def with_variants(*declared: Variant | Reading) -> Callable[[Callable], Callable]:
    """Declare the variants and readings a reference function implements and validate ``variants=`` calls.

    Readings come as groups: a default one and its alternatives, all selectable by name.
    """
    table: Mapping[str, Variant | Reading] = {v.name: v for v in declared}

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def checked(*args, variants: Iterable[str] = (), **kwargs):
            chosen = frozenset(variants)
            unknown = sorted(chosen - table.keys())
            if unknown:
                known = ", ".join(table) or "none"
                raise ValueError(
                    f"{function.__name__}: unknown variant(s) {', '.join(unknown)}; known: {known}"
                )
            return function(*args, variants=chosen, **kwargs)

        checked.variants = {name: v for name, v in table.items() if isinstance(v, Variant)}
        checked.readings = {name: r for name, r in table.items() if isinstance(r, Reading)}
        return checked

    return decorate
