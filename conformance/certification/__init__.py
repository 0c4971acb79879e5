"""The certification tests, shipped in the package: one module per operator family
(``test_<family>.py``), each certifying the family's declared operators on every selected backend
and probing the known divergences that name them.

``pytest --conformance`` collects them from wherever the package is installed, with no test file
in the user's project (``conformance.pytest_entry``); this repository's ``cases/`` modules import
them, so that the two cannot drift apart. A module's ``OPERATORS`` are the operators its family's
module in ``conformance.ops`` declares: a new operator is certified without touching this package,
and a new family needs a module here (a self-test checks that every family has one).
"""

from __future__ import annotations

from pathlib import Path


def family_operators(family: str) -> tuple[str, ...]:
    """The operators ``conformance.ops.<family>`` declares, in declaration order."""
    from conformance.ops import declarations

    table = declarations()
    return tuple(op for op in table if table.family(op) == family)


def directory() -> Path:
    """Where the certification modules are installed (what ``pytest --conformance`` collects)."""
    return Path(__file__).parent
