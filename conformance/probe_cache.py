"""The probe-verdict cache: a known divergence's probe, reused where nothing it depends on changed.

Probing a known divergence (``conformance.certify.probe_divergence``) runs a search on the backend;
its verdict (reproduced or not, the examples run, the message, the witness) depends only on the
entry, the backend, the machine and the search. So ``conformance certify``, ``conformance report``
and pytest's ``test_known_divergence`` keep each verdict in ``.conformance/probes/`` (relative to
the working directory, like ``.conformance/failures``; ``CONFORMANCE_PROBE_CACHE`` names another
directory), and a later run under the same key reuses it instead of probing again. ``--fresh-probes``
(``ProbeCache(fresh=True)``) probes again and stores the new verdict. The key (``probe_key``):

- the backend's name and version, and the source of its class when it comes from outside this
  package (a plug-in edited in place keeps its version);
- its execution facts (``conformance.environment``): the CPU's flags, TensorFlow's oneDNN path, ...
  (those that can change a verdict: the CPU's model name is not one);
- the operator, and the entry's content: its id (which seeds the probe's search), condition,
  status and what it looks like (message, diagnosis, bounds); not its reason or link, which are
  shown from the manifest as it stands;
- the search: the profile's examples, which set its budget (a probe's search is derandomized from
  the entry's id, whatever the run's seed, so the seed is no part of it);
- the harness: its version and a hash of the source of every module of ``conformance`` and
  ``reference`` that can change a verdict (the strategies, the reference, the bounds, the
  comparison, the probe itself, TensorFlow's lowerings), so that an edit there makes every
  verdict stale, and the versions of Python, NumPy, onnx and Hypothesis, which draw the cases and
  compute the reference. Modules that only drive a run or show its results (the command line, the report,
  the pytest plugin, text) are left out: editing them reuses the verdicts.

A verdict is one JSON file, named for the operator and the key's hash, holding the key itself
(checked on reading), the probe's fields and the witness case's files (``model.onnx``,
``inputs.npz``, ``case.json``), so that a reused verdict can save its witness wherever the run
saves failures, as a fresh probe would. Files are written atomically (a temporary file renamed
over the old one), so that workers of a report can write side by side; a file that cannot be read
or does not match its key (truncated, edited, from another format) is a miss, and the probe runs.
The cache is the working directory's: never commit it (``.conformance/`` is in ``.gitignore``).
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import os
import platform
import tempfile
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Mapping

from conformance.case import INPUTS_FILE, METADATA_FILE, MODEL_FILE

FORMAT = 1
CASE_FILES = (MODEL_FILE, INPUTS_FILE, METADATA_FILE)  # a witness, as conformance.case saves it
DEFAULT_DIRECTORY = Path(".conformance") / "probes"
ENVIRONMENT_VARIABLE = "CONFORMANCE_PROBE_CACHE"
# Modules (relative to the conformance package) that never decide a verdict: editing them keeps the cache.
PRESENTATION = ("__main__.py", "cli.py", "summary.py", "bench.py", "bench_certify.py", "bench_model.py", "coverage.py", "pytest_plugin.py",
                "pytest_entry.py", "project.py", "certification/", "report/")
# The entry's fields that change what its probe finds.
ENTRY_FIELDS = ("id", "op", "when", "status", "message", "diagnosis", "max_error_ratio", "max_ulp", "max_abs_error")
PACKAGES = ("numpy", "onnx", "hypothesis")


def default_directory() -> Path:
    """``CONFORMANCE_PROBE_CACHE`` if set, else ``.conformance/probes`` in the working directory."""
    return Path(os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_DIRECTORY)


@dataclass(frozen=True)
class ProbeCache:
    """Where verdicts are kept; ``fresh``: probe again whatever is kept (and keep the new verdict)."""

    directory: Path
    fresh: bool = False

    def load(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The verdict kept under ``key`` (``verdict``, and ``files``: the witness's, or None), or
        None: none kept, ``fresh``, or a file that is not a verdict for this key."""
        if self.fresh:
            return None
        try:
            data = json.loads(self.path(key).read_text())
            if data["format"] != FORMAT or _canonical(data["key"]) != _canonical(key):
                return None
            verdict, files = data["verdict"], data["files"]
            if not isinstance(verdict, dict) or not isinstance(verdict["reproduced"], bool):
                return None
            if verdict["reproduced"] != (files is not None):
                return None
            decoded = {name: base64.b64decode(text, validate=True) for name, text in files.items()} if files else None
            if decoded is not None and set(decoded) != set(CASE_FILES):
                return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing, truncated, edited or from another format: probe again
        return {"verdict": verdict, "files": decoded}

    def store(self, key: Mapping[str, Any], verdict: Mapping[str, Any], files: Mapping[str, bytes] | None) -> None:
        """Keep ``verdict`` (JSON-ready) and its witness's ``files`` under ``key``, atomically. A cache
        that cannot be written is warned about, never fatal."""
        path = self.path(key)
        data = {
            "format": FORMAT,
            "key": dict(key),
            "verdict": dict(verdict),
            "files": {name: base64.b64encode(content).decode() for name, content in files.items()} if files else None,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
            try:
                with os.fdopen(handle, "w") as file:
                    json.dump(data, file, indent=1)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            warnings.warn(f"probe cache: cannot write {path} ({error.strerror or error}); the verdict is not kept",
                          stacklevel=2)

    def path(self, key: Mapping[str, Any]) -> Path:
        digest = hashlib.sha256(_canonical(key).encode()).hexdigest()[:32]
        return self.directory / f"{key.get('op', 'op')}-{digest}.json"


def probe_key(*, backend: Any, facts: Mapping[str, Any], op: str, entry: Any, max_examples: int) -> dict[str, Any]:
    """The key a probe's verdict is kept under (see the module docstring); JSON-ready."""
    from conformance import __version__
    from conformance.environment import comparable

    return {
        "backend": backend.name,
        "backend_version": backend.version,
        "backend_source": _outside_source(type(backend)),
        "facts": comparable(facts),
        "op": op,
        "entry": {name: getattr(entry, name) for name in ENTRY_FIELDS},
        "search": {"max_examples": max_examples},
        "harness": {"nn_conformance": __version__, "source": harness_source(), "python": platform.python_version(),
                    **{name: _version(name) for name in PACKAGES}},
    }


@cache
def harness_source() -> str:
    """A hash of the source of every module of ``conformance`` and ``reference`` that can change a
    verdict (``PRESENTATION`` left out); read once per process."""
    import conformance
    import reference

    digest = hashlib.sha256()
    for package in (conformance, reference):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            name = path.relative_to(root).as_posix()
            if package is conformance and (name in PRESENTATION or name.split("/")[0] + "/" in PRESENTATION):
                continue
            digest.update(f"{package.__name__}/{name}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _outside_source(cls: type) -> str | None:
    """A hash of the source files of ``cls`` and its bases that lie outside ``conformance`` (a
    plug-in's), or None when there are none."""
    import conformance

    inside = Path(conformance.__file__).parent
    digest, found = hashlib.sha256(), False
    for base in cls.__mro__:
        try:
            path = Path(inspect.getsourcefile(base) or "")
        except TypeError:  # a built-in class
            continue
        if not path.is_file() or inside in path.resolve().parents:
            continue
        digest.update(path.read_bytes())
        found = True
    return digest.hexdigest() if found else None


def _version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
