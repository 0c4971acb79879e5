"""The known-divergences manifest: real backends' documented disagreements with the specification.

The shipped manifest is the directory ``conformance/known_divergences/``, one TOML file per
operator family. Each ``[[divergence]]`` entry names a backend (or a list of backend names,
for one engine reached through several backends), an operator, a condition
on the case's features (``when``), what happens there (``status``: ``disagree`` or ``error``,
with an optional ``message`` regular expression for errors), a reason and a link. Optional:
``versions``, a PEP 440 specifier of the backend versions it applies to, ``environment``, the
execution facts it holds under, and ``id``.

A backend name covers the backend under every option: an entry for ``tensorflow`` applies to
``tensorflow[onednn=off]`` too. Where an answer depends on the machine or the backend's set-up
rather than on its version, ``environment`` says so, as conditions on the execution facts
(``conformance.environment``; ``conformance backends --json`` lists a backend's):

    environment = { onednn = false }                          # TensorFlow's Eigen kernels
    environment = { onednn_dtypes = { excludes = "float16" } } # float16 does not reach oneDNN
    environment = { cpu_flags = ["avx512f"] }                  # the CPU has AVX-512

Where the facts do not hold, the entry neither excuses a case nor expects one: its cases are
certified like any other, and its probe is not run (so it cannot be an unexpected pass).

Cases inside a divergence's condition are left out of the backend's certification and probed
separately: the divergence must still reproduce there. When it no longer does (an upstream fix),
that is reported as an unexpected pass, so the manifest never hides a fix.

Conditions are data, never code: each key of ``when`` is a feature of the operator's cases
(``conformance ops --json`` lists them), and each value is a value to equal, a list of values,
or a range ``{ min = 2 }``, ``{ max = 3 }``, ``{ min = 1, max = 4 }`` (inclusive).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from conformance.backends import base_name
from conformance.environment import check_condition, condition_text, holds
from conformance.errors import ConformanceError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

STATUSES = ("disagree", "error")
KEYS = {"id", "backend", "op", "when", "status", "message", "reason", "link", "versions", "environment"}
REQUIRED = ("backend", "op", "status", "reason", "link")


@dataclass(frozen=True)
class KnownDivergence:
    id: str
    backend: tuple[str, ...]
    op: str
    status: str
    reason: str
    link: str
    when: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""
    versions: str = ""
    environment: Mapping[str, Any] = field(default_factory=dict)

    def applies_to(self, backend: str, version: str, op: str, facts: Mapping[str, Any] | None = None) -> bool:
        """Whether the entry covers this backend (by name, under any options), version and operator,
        and holds under its execution ``facts`` (unknown facts, None, are taken to hold)."""
        if not self.names(backend) or op != self.op:
            return False
        if self.versions:
            try:
                if Version(version) not in SpecifierSet(self.versions):
                    return False
            except InvalidVersion:
                pass
        return self.holds_in(facts)

    def names(self, backend: str) -> bool:
        """Whether the entry is about this backend (``tensorflow`` names ``tensorflow[onednn=off]``)."""
        return backend in self.backend or base_name(backend) in self.backend

    def holds_in(self, facts: Mapping[str, Any] | None) -> bool:
        """Whether the execution facts satisfy the entry's ``environment``."""
        return holds(self.environment, facts)

    def environment_text(self) -> str:
        return condition_text(self.environment)

    def matches(self, features: Mapping[str, Any]) -> bool:
        """Whether a case with these features lies inside the divergence's condition."""
        for key, wanted in self.when.items():
            if key not in features:
                raise ConformanceError(
                    f"known divergence {self.id!r}: {self.op} cases have no feature {key!r};"
                    f" known features: {', '.join(sorted(features))}"
                )
            if not _satisfies(features[key], wanted):
                return False
        return True

    def pins(self) -> dict[str, Any]:
        """The condition's exact values and lists, for aiming a search at it (ranges are left out)."""
        return {k: v for k, v in self.when.items() if not isinstance(v, dict)}

    def reproduced_by(self, status: str, message: str) -> bool:
        """Whether an example's outcome is this divergence showing itself."""
        if status != self.status:
            return False
        return not self.message or re.search(self.message, message) is not None

    def describe(self) -> str:
        return f"{self.id}: {self.reason} ({self.link})"


def _satisfies(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, list):
        return value in wanted
    if isinstance(wanted, dict):
        return wanted.get("min", value) <= value <= wanted.get("max", value)
    return value == wanted


def shipped_manifest() -> Path:
    return Path(str(resources.files("conformance") / "known_divergences"))


def load_manifest(path: Path | str | None = None) -> list[KnownDivergence]:
    """Parse and validate a manifest file, or every ``*.toml`` of a directory (the shipped one by
    default); ConformanceError if malformed, or if two entries share an id."""
    path = Path(path) if path is not None else shipped_manifest()
    files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
    entries: list[KnownDivergence] = []
    for file in files:
        entries += _load_file(file)
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise ConformanceError(f"{path}: duplicate divergence id {entry.id!r}")
        seen.add(entry.id)
    return entries


def _load_file(path: Path) -> list[KnownDivergence]:
    try:
        data = tomllib.loads(path.read_text())
    except OSError as error:
        raise ConformanceError(f"{path}: cannot read the known-divergences manifest ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConformanceError(f"{path}: not valid TOML ({error})") from None
    unknown_tables = set(data) - {"divergence"}
    if unknown_tables:
        raise ConformanceError(f"{path}: unknown top-level keys {sorted(unknown_tables)}; entries are [[divergence]] tables")
    return [_entry(path, number, raw) for number, raw in enumerate(data.get("divergence", []), start=1)]


def _entry(path: Path, number: int, raw: Mapping[str, Any]) -> KnownDivergence:
    where = f"{path}: divergence #{number}"
    unknown = set(raw) - KEYS
    if unknown:
        raise ConformanceError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(KEYS)}")
    missing = [k for k in REQUIRED if not raw.get(k)]
    if missing:
        raise ConformanceError(f"{where}: missing {', '.join(missing)}")
    if raw["status"] not in STATUSES:
        raise ConformanceError(f"{where}: status must be one of {', '.join(STATUSES)}, not {raw['status']!r}")
    if not str(raw["link"]).startswith(("https://", "http://")):
        raise ConformanceError(f"{where}: link must be an http(s) URL, not {raw['link']!r}")
    when = raw.get("when", {})
    ranges_ok = all(
        set(v) <= {"min", "max"} and v and all(isinstance(b, (int, float)) for b in v.values())
        for v in when.values() if isinstance(v, dict)
    ) if isinstance(when, dict) else False
    if not isinstance(when, dict) or not ranges_ok:
        raise ConformanceError(
            f"{where}: when must map feature names to a value, a list of values, or {{ min = .., max = .. }}"
        )
    if raw.get("message"):
        try:
            re.compile(raw["message"])
        except re.error as error:
            raise ConformanceError(f"{where}: message is not a valid regular expression ({error})") from None
    if raw.get("versions"):
        try:
            SpecifierSet(raw["versions"])
        except InvalidSpecifier:
            raise ConformanceError(f"{where}: versions {raw['versions']!r} is not a version specifier such as '<1.20'") from None
    check_condition(raw.get("environment", {}), where)
    backends = raw["backend"] if isinstance(raw["backend"], list) else [raw["backend"]]
    if not all(isinstance(b, str) and b for b in backends):
        raise ConformanceError(f"{where}: backend must be a backend name or a list of names")
    identifier = raw.get("id") or f"{backends[0]}/{raw['op']}/{number}"
    return KnownDivergence(
        id=identifier, backend=tuple(backends), op=raw["op"], status=raw["status"], reason=raw["reason"],
        link=raw["link"], when=dict(when), message=raw.get("message", ""), versions=raw.get("versions", ""),
        environment=dict(raw.get("environment", {})),
    )
