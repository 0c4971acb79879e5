"""A project's own settings: the ``[tool.conformance]`` table of its ``pyproject.toml``.

A team that certifies its runtime in its own CI writes, beside its code::

    [tool.conformance]
    backends = ["my_runtime.conformance:Backend"]      # the specs to certify (default: the built-in ones)
    ops = ["Conv", "LRN", "BatchNormalization"]       # the operators (default: every declared one)
    profile = "ci"                                    # the Hypothesis profile (default: ci)
    known-divergences = ["known_divergences.toml"]    # the project's manifest(s), added to the shipped one
    baseline = "conformance/baseline.json"            # the report CI diffs against
    models = ["models/*.onnx"]                        # ONNX models to check, one test per model and backend

so that plain ``pytest --conformance``, ``conformance report`` and ``conformance diff`` do the right
thing there. Paths are relative to the ``pyproject.toml``. The command line wins over the table:
``--backend``, ``--conformance-ops``/``--ops``, ``--hypothesis-profile``/``--profile`` (pytest,
``certify`` and ``report``), ``--baseline``; ``--known-divergences`` adds to the table's manifests. The table is read from the
nearest ``pyproject.toml`` at or above the working directory (pytest: its rootdir); a table that
is malformed is one ``error:`` line naming the key.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from conformance.errors import ConformanceError

TABLE = "tool.conformance"
KEYS = ("backends", "ops", "profile", "known-divergences", "baseline", "models")


@dataclass(frozen=True)
class ProjectSettings:
    """The table's settings (empty where it does not say); ``source``: the file, or None."""

    source: Path | None = None
    backends: tuple[str, ...] = ()
    ops: tuple[str, ...] = ()
    profile: str | None = None
    known_divergences: tuple[Path, ...] = ()
    baseline: Path | None = None
    models: tuple[str, ...] = ()  # glob patterns, relative to ``root``

    @property
    def root(self) -> Path | None:
        """The folder of the pyproject.toml, which the table's paths are relative to."""
        return self.source.parent if self.source is not None else None

    def model_files(self) -> list[Path]:
        """The ONNX files the ``models`` patterns match, sorted; ConformanceError for a pattern
        that matches none (a typo would otherwise certify nothing, silently)."""
        found: list[Path] = []
        for pattern in self.models:
            try:
                matched = sorted(p for p in self.root.glob(pattern) if p.is_file())
            except (NotImplementedError, ValueError):  # Path.glob's refusal of "/abs/*.onnx" and of ""
                raise ConformanceError(f"{self.source}: [{TABLE}] models: {pattern!r} is not a relative glob"
                                       " pattern") from None
            if not matched:
                raise ConformanceError(f"{self.source}: [{TABLE}] models: {pattern!r} matches no file")
            found += [p for p in matched if p not in found]
        return found


def project_settings(start: Path | str | None = None) -> ProjectSettings:
    """The settings of the nearest ``pyproject.toml`` at or above ``start`` (the working directory);
    empty if there is none, or it has no ``[tool.conformance]``. ConformanceError if malformed."""
    return _settings_of(_nearest_pyproject(Path(start or Path.cwd()).resolve()))


def settings_in(pyproject: Path | str) -> ProjectSettings:
    """The settings of this ``pyproject.toml`` (empty if it has no table)."""
    return _settings_of(Path(pyproject).resolve())


def _nearest_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _settings_of(path: Path | None) -> ProjectSettings:
    if path is None or not path.is_file():
        return ProjectSettings()
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise ConformanceError(f"{path}: cannot read it ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConformanceError(f"{path}: not valid TOML ({error})") from None
    table = data.get("tool", {}).get("conformance")
    if table is None:
        return ProjectSettings()
    where = f"{path}: [{TABLE}]"
    if not isinstance(table, dict):
        raise ConformanceError(f"{where} must be a table")
    for key in table:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConformanceError(f"{where}: unknown key {key!r}{hint} (the keys are {', '.join(KEYS)})")
    root = path.parent
    profile = table.get("profile")
    if profile is not None and not isinstance(profile, str):
        raise ConformanceError(f"{where}: profile must be a string, such as \"ci\" or \"thorough\"")
    baseline = table.get("baseline")
    if baseline is not None and not isinstance(baseline, str):
        raise ConformanceError(f"{where}: baseline must be a path (a string)")
    return ProjectSettings(
        source=path,
        backends=_strings(table, "backends", where),
        ops=_operators(table, where),
        profile=profile,
        known_divergences=tuple(root / p for p in _strings(table, "known-divergences", where)),
        baseline=root / baseline if baseline is not None else None,
        models=_strings(table, "models", where),
    )


def _strings(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConformanceError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _operators(table: dict[str, Any], where: str) -> tuple[str, ...]:
    ops = _strings(table, "ops", where)
    try:
        return declared_operators(ops)
    except ConformanceError as error:
        raise ConformanceError(f"{where}: ops: {error}") from None


def declared_operators(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` (each a declared operator, or several separated by commas), checked: a
    ConformanceError that suggests close names for one that is not declared."""
    from conformance.ops import get_declaration

    found = [name.strip() for text in names for name in text.split(",") if name.strip()]
    return tuple(dict.fromkeys(get_declaration(name).op_type for name in found))
