"""nn-conformance: a conformance suite and differential testing harness for NN operators."""

from conformance.errors import BackendUnavailable, ConformanceError, Unsupported

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable",
    "ConformanceError",
    "Unsupported",
    "__version__",
    "load_backend",
]


def load_backend(spec: str):
    """The backend a spec string names (see ``conformance.backends``)."""
    from conformance.backends import load_backend as load

    return load(spec)
