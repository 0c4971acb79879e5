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

An entry also says what the divergence looks like, and only an example that looks like it is
excused; anything else inside the region is judged like any other case, so a second, larger bug
there is caught. An ``error`` entry gives a ``message`` regular expression; a ``disagree`` entry
gives at least one of:

    diagnosis = "flipped_kernel"   # the reference under this variant (or operand precision) explains it
    max_error_ratio = 8.0          # the error stays within 8x the operator's bound
    max_ulp = 3                    # the error stays within 3 ULP (accuracy entries)
    max_abs_error = 1e-7           # the error stays within 1e-7 (an absolute accuracy)
    message = "has shape"          # the verdict's message matches (a wrong shape, say)

All that are given must hold. Examples in the region that agree within the ordinary bound count as
judged evidence like any other. Each divergence is also probed separately: it must still
reproduce in its region. When it no longer does (an upstream fix), that is reported as an
unexpected pass, so the manifest never hides a fix.

An entry of status ``inconclusive`` (no ``when``) accepts, with a reason, that a backend's cell
for an operator is judged on fewer examples than the floor (``conformance.certify.JUDGED_FLOOR``):
one that truly cannot express most drawn cases. The cell stays ``inconclusive`` in every report,
but does not fail the run.

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

STATUSES = ("disagree", "error", "inconclusive")
KEYS = {"id", "backend", "op", "when", "status", "message", "reason", "link", "versions", "environment",
        "diagnosis", "max_error_ratio", "max_ulp", "max_abs_error"}
REQUIRED = ("backend", "op", "status", "reason", "link")
# What a disagreement looks like; a disagree entry gives at least one.
LOOKS = ("diagnosis", "max_error_ratio", "max_ulp", "max_abs_error", "message")
BOUNDS = ("max_error_ratio", "max_ulp", "max_abs_error")


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
    diagnosis: str = ""  # a candidate the diagnosis names: variant, variants joined by +, operand precision
    max_error_ratio: float | None = None
    max_ulp: float | None = None
    max_abs_error: float | None = None

    @property
    def region(self) -> bool:
        """Whether the entry excuses cases in a region (``disagree``, ``error``), rather than accepting
        an inconclusive cell."""
        return self.status != "inconclusive"

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
            if not satisfies(features[key], wanted):
                return False
        return True

    def pins(self) -> dict[str, Any]:
        """The condition as pins (``conformance.strategies.Draws``), for aiming a search at it: every
        value, list and range, each constraining the labelled draw of the same name where the
        operator's strategy has one (a feature derived from several draws pins nothing)."""
        return dict(self.when)

    def reproduced_by(self, status: str, message: str, verdict: Any = None) -> bool:
        """Whether an example's outcome looks like this divergence: its status and message, and, for
        the error bounds, its ``verdict`` (a ``conformance.compare.Verdict``). The ``diagnosis`` is
        the caller's to check (it needs the operator's declaration)."""
        if status != self.status:
            return False
        if self.message and re.search(self.message, message) is None:
            return False
        limits = {key: getattr(self, key) for key in BOUNDS if getattr(self, key) is not None}
        if not limits:
            return True
        if verdict is None or verdict.problem != "bound":
            return False  # NaN, infinity or shape: not the inaccuracy the entry describes
        return all(getattr(verdict, key) <= limit for key, limit in limits.items())

    def looks_text(self) -> str:
        """What the entry says the divergence looks like, for messages."""
        parts = [f"{self.status}"]
        if self.diagnosis:
            parts.append(f"explained by {self.diagnosis}")
        if self.max_error_ratio is not None:
            parts.append(f"error at most {self.max_error_ratio:g}x the bound")
        if self.max_ulp is not None:
            parts.append(f"error at most {self.max_ulp:g} ULP")
        if self.max_abs_error is not None:
            parts.append(f"absolute error at most {self.max_abs_error:g}")
        if self.message:
            parts.append(f"message matching {self.message!r}")
        return ", ".join(parts)

    def describe(self) -> str:
        return f"{self.id}: {self.reason} ({self.link})"


def satisfies(value: Any, wanted: Any) -> bool:
    """Whether a feature's ``value`` meets one condition of ``when``: a value, a list or a range."""
    if isinstance(wanted, list):
        return value in wanted
    if isinstance(wanted, dict):
        return wanted.get("min", value) <= value <= wanted.get("max", value)
    return value == wanted


def reachable(interval: tuple[float, float], wanted: Any) -> bool:
    """Whether a feature that can still take any value in ``interval`` (inclusive) may meet one
    condition of ``when`` (a value, a list or a range)."""
    low, high = interval
    if isinstance(wanted, list):
        return any(reachable(interval, w) for w in wanted)
    if isinstance(wanted, dict):
        return max(low, wanted.get("min", low)) <= min(high, wanted.get("max", high))
    try:
        return low <= wanted <= high
    except TypeError:  # not a number: no interval tells
        return True


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
    _check_looks(raw, where)
    backends = raw["backend"] if isinstance(raw["backend"], list) else [raw["backend"]]
    if not all(isinstance(b, str) and b for b in backends):
        raise ConformanceError(f"{where}: backend must be a backend name or a list of names")
    identifier = raw.get("id") or f"{backends[0]}/{raw['op']}/{number}"
    return KnownDivergence(
        id=identifier, backend=tuple(backends), op=raw["op"], status=raw["status"], reason=raw["reason"],
        link=raw["link"], when=dict(when), message=raw.get("message", ""), versions=raw.get("versions", ""),
        environment=dict(raw.get("environment", {})), diagnosis=raw.get("diagnosis", ""),
        max_error_ratio=_optional_float(raw.get("max_error_ratio")), max_ulp=_optional_float(raw.get("max_ulp")),
        max_abs_error=_optional_float(raw.get("max_abs_error")),
    )


def _check_looks(raw: Mapping[str, Any], where: str) -> None:
    """An entry must say what its divergence looks like, in a way its status can show."""
    given = [k for k in LOOKS if raw.get(k) not in (None, "")]
    status = raw["status"]
    if status == "inconclusive":
        extra = [k for k in (*LOOKS, "when") if k in raw]
        if extra:
            raise ConformanceError(f"{where}: an inconclusive entry accepts a whole cell; it takes no {', '.join(extra)}")
        return
    if status == "disagree" and not given:
        raise ConformanceError(
            f"{where}: a disagree entry must say what the divergence looks like: diagnosis (a variant of"
            f" the operator), max_error_ratio, max_ulp, max_abs_error or message"
        )
    if status == "error" and set(given) - {"message"}:
        raise ConformanceError(f"{where}: an error entry is described by its message only")
    for key in BOUNDS:
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
            raise ConformanceError(f"{where}: {key} must be a positive number, not {value!r}")
    if "max_error_ratio" in raw and raw["max_error_ratio"] <= 1:
        raise ConformanceError(f"{where}: max_error_ratio must exceed 1 (1 is the bound every agreement meets)")
    if "diagnosis" in raw:
        _check_diagnosis(raw["op"], raw["diagnosis"], where)


def _check_diagnosis(op: str, diagnosis: Any, where: str) -> None:
    from conformance.diagnosis import OPERAND_PRECISIONS
    from conformance.ops import declared

    if not isinstance(diagnosis, str) or not diagnosis:
        raise ConformanceError(f"{where}: diagnosis must be a variant name, such as 'flipped_kernel'")
    if not declared(op):
        return  # another project's operator: its variants are not known here
    from conformance.ops import get_declaration

    variants = get_declaration(op).variants
    unknown = [n for n in diagnosis.split("+") if n not in variants] if diagnosis not in OPERAND_PRECISIONS else []
    if unknown:
        choices = ", ".join([*variants, *OPERAND_PRECISIONS]) or "none"
        raise ConformanceError(f"{where}: {op} has no variant {', '.join(map(repr, unknown))}; its candidates: {choices}")


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
