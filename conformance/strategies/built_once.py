"""``hypothesis.strategies``, with the common strategies built once per arguments.

The declarations build their strategies inside the draw (``d("N", st.integers(1, 4))``), so every
drawn case used to build every one anew, and Hypothesis then validated each new object and
computed its labels and emptiness again: about a third of the cost of drawing a case. Built once
and reused, a strategy draws exactly the same choices (the same kind of object with the same
arguments), so derandomized runs draw the same cases.

Use it as ``from conformance.strategies import built_once as st``. Arguments are compared with
their types (``sampled_from((0, 1))`` is not ``sampled_from((False, True))``); a call with an
argument that cannot be hashed (a list) builds its strategy anew, as before. Everything else is
``hypothesis.strategies`` itself.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from hypothesis import strategies as _hypothesis

CACHE_LIMIT = 20_000  # strategies kept per factory; past it the cache starts again


def _key(value: Any) -> Any:
    """A key that tells apart equal values of other types (1, 1.0 and True); TypeError if unhashable."""
    if isinstance(value, tuple):
        return tuple, tuple(_key(v) for v in value)
    if isinstance(value, (list, dict, set)):
        raise TypeError(f"unhashable {type(value).__name__}")
    hash(value)
    return type(value), value


def _built_once(factory: Callable[..., Any]) -> Callable[..., Any]:
    cache: dict[Any, Any] = {}

    @functools.wraps(factory)
    def built(*args: Any, **kwargs: Any) -> Any:
        try:
            key = (_key(args), _key(tuple(sorted(kwargs.items()))))
        except TypeError:
            return factory(*args, **kwargs)
        strategy = cache.get(key)
        if strategy is None:
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            strategy = cache[key] = factory(*args, **kwargs)
        return strategy

    return built


booleans = _built_once(_hypothesis.booleans)
floats = _built_once(_hypothesis.floats)
integers = _built_once(_hypothesis.integers)
just = _built_once(_hypothesis.just)
lists = _built_once(_hypothesis.lists)
sampled_from = _built_once(_hypothesis.sampled_from)
tuples = _built_once(_hypothesis.tuples)


def __getattr__(name: str) -> Any:
    return getattr(_hypothesis, name)
