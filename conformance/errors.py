"""The exceptions of the harness and of the backend contract."""

from __future__ import annotations


class ConformanceError(Exception):
    """A problem the user can act on (bad spec, unknown operator, malformed file).

    The command line prints it as a single ``error: ...`` line and exits with status 2.
    """


class Unsupported(Exception):
    """Raised by a backend for a case it cannot express by design.

    Example: TensorFlow has no SAME_LOWER padding. Unsupported cases are counted and reported,
    never failures. Any other exception a backend raises is an ``error`` verdict.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class BackendUnavailable(ConformanceError):
    """A backend that cannot be loaded here, usually because its package is not installed."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"backend {name!r} is unavailable: {reason}")
        self.name = name
        self.reason = reason
