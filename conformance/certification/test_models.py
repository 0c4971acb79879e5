"""Certification of the project's own models (``[tool.conformance] models``) on every selected
backend: each model checked node by node (``conformance model check``), one test per model and backend."""


def test_model(model_file, backend, check_model_file):
    check_model_file(model_file, backend)
