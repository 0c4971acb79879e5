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
    "load_model",
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


def load_model(path, *, weights=None):
    """The model at ``path`` as an ``onnx.ModelProto``: an ONNX file, or a Keras file in any format
    (told by its content: ``.keras``, HDF5, or an architecture's JSON with its ``weights`` file),
    read without Keras or TensorFlow and without running anything it holds."""
    from conformance.model.load import load_any_model

    return load_any_model(path, weights=weights)
