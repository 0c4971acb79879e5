"""The backend contract, the built-in backends, and loading backends from spec strings.

A backend is any object with

- ``name: str`` and ``version: str``, and
- ``run(model: onnx.ModelProto, inputs: dict[str, numpy.ndarray]) -> list[numpy.ndarray]``
  returning the graph outputs in order,

that raises ``conformance.Unsupported(reason)`` for a case it cannot express by design. It may
also define ``supports(op_type: str) -> bool``; without it every operator is assumed supported.

A spec string names a backend the same way everywhere (``--backend``, the API, reports):

- a built-in name: ``reference``, ``onnxruntime``, ``tensorflow``, ``onnx-reference``;
- the name of an entry point in the group ``conformance.backends``;
- ``module.path:Attr``, where Attr is a backend class (instantiated without arguments), a backend
  instance, or an ``onnx.backend.base.Backend`` subclass (wrapped in an adapter). The current
  directory is importable, as with ``python -m``.

Any of them may end in options, ``[key=value,...]``, passed to the backend class as keyword
arguments: ``tensorflow[onednn=off]``. A backend with options names itself with them, so that
reports keep its columns apart; known divergences written for ``tensorflow`` apply to every
``tensorflow[...]`` (``base_name``), under the conditions on execution facts they state.

A backend may also report ``execution_facts() -> dict``: the facts of its set-up that change
its answers (``conformance.environment``), and set ``evaluates_node_by_node = True`` when it runs
a graph one node at a time, as written: marking every node's output as a graph output then
changes nothing it computes, so the model check (``conformance.model``) runs a model on it once
for both its outputs and its intermediate tensors, instead of twice (a runtime that rewrites its
graph computes its outputs otherwise when every tensor must exist). A runtime that rewrites its
graph may offer ``run_unoptimized(model, inputs)``, which the model check uses for that second run
(onnxruntime: every graph optimization off).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import onnx

from conformance.errors import BackendUnavailable, ConformanceError

ENTRY_POINT_GROUP = "conformance.backends"
SPEC = re.compile(r"^(?P<target>[^\[\]]+?)\s*(?:\[(?P<options>[^\[\]]*)\])?$")
# What commands certify when no backend is named: TensorFlow on both of its CPU paths, so that
# a run certifies the same columns on every machine rather than the path its CPU selects.
DEFAULT_BUILT_INS = ("reference", "onnxruntime", "tensorflow[onednn=on]", "tensorflow[onednn=off]", "onnx-reference")


@runtime_checkable
class Backend(Protocol):
    name: str
    version: str

    def run(self, model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class BuiltIn:
    """A built-in backend: where its class lives and which modules it needs."""

    name: str
    target: str
    requires: tuple[str, ...]


BUILT_INS = {
    b.name: b
    for b in (
        BuiltIn("reference", "conformance.backends.reference:ReferenceBackend", ()),
        BuiltIn("onnxruntime", "conformance.backends.onnxruntime:OnnxRuntimeBackend", ("onnxruntime",)),
        BuiltIn("tensorflow", "conformance.backends.tensorflow:TensorFlowBackend", ("tensorflow",)),
        BuiltIn("onnx-reference", "conformance.backends.onnx_reference:OnnxReferenceBackend", ("onnx.reference",)),
    )
}


@dataclass(frozen=True)
class BackendStatus:
    """What ``conformance backends`` shows for one backend."""

    name: str
    version: str
    available: bool
    reason: str = ""
    facts: dict[str, Any] | None = None  # execution facts, when asked for (conformance.environment)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "available": self.available, "reason": self.reason,
                "facts": self.facts}


def load_backend(spec: str) -> Backend:
    """The backend a spec string names; BackendUnavailable or ConformanceError with a clear message."""
    spec = spec.strip()
    if not spec:
        raise ConformanceError("empty backend spec")
    target, options = parse_spec(spec)
    if target in BUILT_INS:
        built_in = BUILT_INS[target]
        missing = [m for m in built_in.requires if not _importable(m)]
        if missing:
            raise BackendUnavailable(spec, f"Python package {missing[0].split('.')[0]!r} is not installed")
        return _loaded_from(_instantiate(_import_attribute(built_in.target), spec, options), spec)
    if ":" in target:
        return _loaded_from(_instantiate(_import_attribute(target), spec, options), spec)
    entry_points = {e.name: e for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    if target in entry_points:
        return _loaded_from(_instantiate(_import_attribute(entry_points[target].value), spec, options), spec)
    known = ", ".join([*BUILT_INS, *entry_points])
    raise ConformanceError(
        f"unknown backend {target!r}: use a built-in or registered name ({known}) or module.path:Attr"
    )


LOADED_FROM = "_conformance_spec"


def _loaded_from(backend: Backend, spec: str) -> Backend:
    """``backend``, marked with the spec it was loaded from (``loaded_spec``), where it takes attributes."""
    try:
        setattr(backend, LOADED_FROM, spec)
    except (AttributeError, TypeError):
        pass
    return backend


def loaded_spec(backend: Backend) -> str | None:
    """The spec ``load_backend`` loaded this backend from, so that another process can load the same
    one; None for a backend built otherwise (a test's instance, say), which only this process has."""
    return getattr(backend, LOADED_FROM, None)


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """A spec's target (name or module.path:Attr) and its options: ``tensorflow[onednn=off]``."""
    match = SPEC.match(spec.strip())
    if match is None:
        raise ConformanceError(f"backend spec {spec!r}: options go in one trailing [key=value,...]")
    options: dict[str, str] = {}
    for item in (match.group("options") or "").split(","):
        if not item.strip():
            continue
        key, equals, value = (part.strip() for part in item.partition("="))
        if not equals or not key or not value:
            raise ConformanceError(f"backend spec {spec!r}: options are key=value pairs, not {item.strip()!r}")
        options[key] = value
    return match.group("target"), options


def base_name(name: str) -> str:
    """A backend's name without its options: ``tensorflow`` for ``tensorflow[onednn=off]``."""
    return name.split("[", 1)[0].strip()


def known_specs() -> list[str]:
    """Built-in backend names, then the names registered under the entry-point group."""
    return [*BUILT_INS, *(name for name in _registered() if name not in BUILT_INS)]


def default_specs() -> list[str]:
    """What commands certify when no backend is named: the built-ins, TensorFlow on both CPU
    paths (``DEFAULT_BUILT_INS``), then the names registered under the entry-point group."""
    return [*DEFAULT_BUILT_INS, *(name for name in _registered() if name not in BUILT_INS)]


def _registered() -> list[str]:
    return sorted(e.name for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def backend_status(spec: str, facts: bool = False) -> BackendStatus:
    """Load a backend to report whether it is available (and, with ``facts``, its execution facts),
    never raising for a missing package or a failing probe."""
    from conformance.environment import execution_facts

    try:
        backend = load_backend(spec)
    except BackendUnavailable as error:
        return BackendStatus(spec, "", False, error.reason)
    except ConformanceError as error:
        return BackendStatus(spec, "", False, str(error))
    if not facts:
        return BackendStatus(backend.name, backend.version, True)
    try:
        return BackendStatus(backend.name, backend.version, True, facts=execution_facts(backend))
    except ConformanceError as error:
        return BackendStatus(backend.name, backend.version, True, reason=f"execution facts unknown: {error}")


def spec_of(backend: Backend) -> str:
    """A spec string that loads this backend again (its name, options included, for built-ins and adapters)."""
    if base_name(backend.name) in BUILT_INS or getattr(backend, "onnx_backend", None) is not None:
        return backend.name
    cls = type(backend)
    return f"{cls.__module__}:{cls.__qualname__}"


def supports(backend: Backend, op_type: str) -> bool:
    """Whether a backend claims ``op_type`` (backends without ``supports`` claim everything)."""
    check = getattr(backend, "supports", None)
    return True if check is None else bool(check(op_type))


def distribution_version(*names: str) -> str:
    """The installed version of the first of ``names`` that is installed, without importing it."""
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def _check_options(obj: Any, spec: str, options: dict[str, str]) -> None:
    """ConformanceError unless ``obj`` is a class whose constructor takes every option by name."""
    from conformance.backends.onnx_backend import is_onnx_backend

    if not isinstance(obj, type) or is_onnx_backend(obj):
        raise ConformanceError(f"backend spec {spec!r}: this backend takes no options")
    parameters = inspect.signature(obj).parameters
    accepted = [p.name for p in parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return
    unknown = [key for key in options if key not in accepted]
    if unknown:
        takes = f"it takes {', '.join(accepted)}" if accepted else "it takes no options"
        raise ConformanceError(f"backend spec {spec!r}: unknown option {', '.join(unknown)}; {takes}")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _import_attribute(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConformanceError(f"backend spec {target!r} is not of the form module.path:Attr")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: plug-ins may live beside the user's project
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConformanceError(f"backend spec {target!r}: cannot import {module_name!r} ({error})") from None
    obj = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConformanceError(f"backend spec {target!r}: {module_name!r} has no attribute {attribute!r}") from None
    return obj


def _instantiate(obj: Any, spec: str, options: dict[str, str]) -> Backend:
    from conformance.backends.onnx_backend import OnnxBackendAdapter, is_onnx_backend

    if options:
        _check_options(obj, spec, options)
    if is_onnx_backend(obj):
        return OnnxBackendAdapter(obj, spec)
    if isinstance(obj, type):
        try:
            obj = obj(**options)
        except ConformanceError:
            raise
        except Exception as error:
            raise ConformanceError(f"backend spec {spec!r}: {obj.__name__}() failed: {error}") from None
    missing = [a for a in ("name", "version", "run") if not hasattr(obj, a)]
    if missing or not callable(obj.run):
        raise ConformanceError(
            f"backend spec {spec!r} is not a backend: it lacks {', '.join(missing) or 'a callable run'}"
            " (a backend has name, version and run(model, inputs))"
        )
    return obj
