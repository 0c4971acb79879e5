"""nn-conformance: a conformance suite and differential testing harness for NN operators."""

from conformance.errors import BackendUnavailable, ConformanceError, Unsupported

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable",
    "ConformanceError",
    "Unsupported",
    "__version__",
    "check_model",
    "load_backend",
]


def load_backend(spec: str):
    """The backend a spec string names (see ``conformance.backends``)."""
    from conformance.backends import load_backend as load

    return load(spec)


def check_model(model, backends, inputs=None, **options):
    """Judge every node of ``model`` on ``backends`` (see ``conformance.model.check.check_model``);
    ``inputs`` drawn from the input types (seed 0) when not given."""
    from conformance.model.check import check_model as check

    return check(model, backends, inputs, **options)
