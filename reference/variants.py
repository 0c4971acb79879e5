"""Named variants: the other conventions an operator is computed with in the wild.

A reference function that knows variants is decorated with `with_variants`; callers select
variants by name with the keyword argument ``variants`` (any iterable of names, combinable).
The declaration lives on the function itself (``fn.variants``), beside the code that
implements it, so an operator's whole story stays in one place.
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


def with_variants(*declared: Variant) -> Callable[[Callable], Callable]:
    """Declare the variants a reference function implements and validate ``variants=`` calls."""
    table: Mapping[str, Variant] = {v.name: v for v in declared}

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

        checked.variants = dict(table)
        return checked

    return decorate
