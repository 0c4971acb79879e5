"""``conformance diff OLD.json NEW.json``: what changed between two parity reports.

Cells are matched by operator and backend name (and version, when a report holds several
versions of one backend), so an upgrade of TensorFlow compares TensorFlow's answers before and
after. A **regression** is

- a cell that agreed (or matched its known divergences, or was unsupported) and now disagrees,
  errs or times out; or a failing cell that now fails differently (another status or diagnosis);
- newly unsupported cases: a cell that became unsupported, or more unsupported cases among the
  same draws (counts are compared only when both reports drew the same cases: same profile, seed
  and example count);
- an error ratio that grew more than ``ratio_factor`` times (ratios below ``ratio_floor`` count
  as ``ratio_floor``, so that a change far inside the bound, such as exact results becoming
  rounded ones, is not a regression);
- less evidence: a cell judged on fewer examples than before, or a known divergence that excuses
  a share of the cell's draws more than ``SHARE_MARGIN`` larger than before (a widened entry, or a
  new one, that takes cases out of certification). Both only where the reports drew alike.

A cell that is ``inconclusive`` but accepted by the manifest fails neither report.

A disagreement or error that the known-divergences manifest lists is not a regression: a cell
whose status is ``known_divergence``, or whose minimal counterexample lies inside the condition
of a manifest entry for its backend, operator and status. **Fixes** are failing cells that now
pass, newly supported cases, and known divergences that no longer reproduce. Operators and
backends that appeared or vanished are listed too. Only regressions make the exit status 1.

A cell whose execution facts differ between the reports (another CPU, oneDNN on one side and off
on the other: ``conformance.environment``) and whose answer changed is neither a regression nor a
fix: it is listed as **changed with the environment**, with the facts that differ, since the
backend may not have changed at all. So a baseline made on one machine can be checked on
another. Which facts differ, backend by backend, is listed once too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from conformance.divergences import KnownDivergence
from conformance.environment import differences
from conformance.report.build import cell_facts
from conformance.summary import ratio_text

BAD = ("inconclusive", "disagree", "error", "timeout")
DEFAULT_RATIO_FACTOR = 10.0
DEFAULT_RATIO_FLOOR = 0.01
COMPARABLE_DRAWS = ("profile", "seed", "max_examples")
SHARE_MARGIN = 0.1  # excused draws are counted per cell: a few draws more is noise, a tenth is not


@dataclass
class Change:
    """One line of a diff: a cell (or operator, or backend) and what happened to it."""

    op: str
    backend: str
    old: str
    new: str
    text: str


@dataclass
class Diff:
    """Everything that changed from the ``old`` report to the ``new`` one; only regressions fail."""

    old: str
    new: str
    regressions: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    known: list[Change] = field(default_factory=list)  # new failures the manifest lists
    environment: list[Change] = field(default_factory=list)  # changed answers whose execution facts changed too
    environment_changes: list[str] = field(default_factory=list)  # which facts differ, backend by backend
    appeared: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)  # backend version changes
    notes: list[str] = field(default_factory=list)
    ratio_factor: float = DEFAULT_RATIO_FACTOR

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "regressed": self.regressed}


def diff_reports(old: Mapping[str, Any], new: Mapping[str, Any], divergences: Sequence[KnownDivergence] = (), *,
                 old_name: str = "old", new_name: str = "new", ratio_factor: float = DEFAULT_RATIO_FACTOR,
                 ratio_floor: float = DEFAULT_RATIO_FLOOR) -> Diff:
    """Compare two reports (see the module docstring)."""
    diff = Diff(old_name, new_name, ratio_factor=ratio_factor)
    by_version = _several_versions(old) or _several_versions(new)
    old_cells, new_cells = _cells(old, by_version), _cells(new, by_version)
    comparable = _draws(old) == _draws(new) and _draws(old) is not None
    if not comparable:
        diff.notes.append("the reports drew different cases (profile, seed or example count differ), so"
                          " unsupported counts are not compared")
    _appeared_and_vanished(diff, old, new, old_cells, new_cells)
    for key in old_cells.keys() & new_cells.keys():
        o, n = old_cells[key], new_cells[key]
        old_facts, new_facts = cell_facts(old, o), cell_facts(new, n)
        changed = differences(old_facts, new_facts)
        cell = Diff(diff.old, diff.new, ratio_factor=ratio_factor)
        _compare(cell, o, n, divergences, new_facts, comparable, ratio_factor, ratio_floor)
        diff.known += cell.known
        _note_environment(diff, n["backend"], changed)
        if changed:
            diff.environment += [Change(c.op, c.backend, c.old, c.new, f"{c.text}; environment: {'; '.join(changed)}")
                                 for c in cell.regressions + cell.fixes]
        else:
            diff.regressions += cell.regressions
            diff.fixes += cell.fixes
    for changes in (diff.regressions, diff.fixes, diff.known, diff.environment):
        changes.sort(key=lambda c: (c.op, c.backend))
    return diff


def _note_environment(diff: Diff, backend: str, changed: list[str]) -> None:
    """Record once which facts differ: the CPU's for the whole report, the rest per backend."""
    for line in changed:
        text = line if line.startswith("cpu_") else f"{backend}: {line}"
        if text not in diff.environment_changes:
            diff.environment_changes.append(text)


def _several_versions(report: Mapping[str, Any]) -> bool:
    versions: dict[str, set[str]] = {}
    for r in report["results"]:
        versions.setdefault(r["backend"], set()).add(r["backend_version"])
    return any(len(v) > 1 for v in versions.values())


def _cells(report: Mapping[str, Any], by_version: bool) -> dict[tuple[str, ...], Mapping[str, Any]]:
    return {(r["op"], r["backend"], r["backend_version"]) if by_version else (r["op"], r["backend"]): r
            for r in report["results"]}


def _draws(report: Mapping[str, Any]) -> tuple | None:
    env = report.get("environment") or {}
    if not all(k in env for k in COMPARABLE_DRAWS):
        return None
    return tuple(env[k] for k in COMPARABLE_DRAWS)


def _label(r: Mapping[str, Any]) -> str:
    return f"{r['backend']} {r['backend_version']}"


def _appeared_and_vanished(diff: Diff, old, new, old_cells, new_cells) -> None:
    old_ops, new_ops = _unique(r["op"] for r in old["results"]), _unique(r["op"] for r in new["results"])
    old_backends = _unique(r["backend"] for r in old["results"])
    new_backends = _unique(r["backend"] for r in new["results"])
    diff.appeared += [f"operator {op}" for op in new_ops if op not in old_ops]
    diff.vanished += [f"operator {op}" for op in old_ops if op not in new_ops]
    diff.appeared += [f"backend {b}" for b in new_backends if b not in old_backends]
    diff.vanished += [f"backend {b}" for b in old_backends if b not in new_backends]
    # Cells of operators and backends present in both reports, but not together in one of them.
    for key in new_cells.keys() - old_cells.keys():
        r = new_cells[key]
        if r["op"] in old_ops and r["backend"] in old_backends:
            diff.appeared.append(f"cell {r['op']} on {_label(r)}")
    for key in old_cells.keys() - new_cells.keys():
        r = old_cells[key]
        if r["op"] in new_ops and r["backend"] in new_backends:
            diff.vanished.append(f"cell {r['op']} on {_label(r)}")
    old_versions = {(r["backend"], r["backend_version"]) for r in old["results"]}
    new_versions = {(r["backend"], r["backend_version"]) for r in new["results"]}
    for backend in [b for b in new_backends if b in old_backends]:
        before = sorted(v for b, v in old_versions if b == backend)
        after = sorted(v for b, v in new_versions if b == backend)
        if before != after:
            diff.versions.append(f"{backend} {', '.join(before)} → {', '.join(after)}")


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _compare(diff: Diff, o: Mapping[str, Any], n: Mapping[str, Any], divergences, facts, comparable: bool,
             ratio_factor: float, ratio_floor: float) -> None:
    where = _label(o) if o["backend_version"] == n["backend_version"] else f"{_label(o)} → {n['backend_version']}"

    def change(kind: list[Change], text: str) -> None:
        kind.append(Change(n["op"], where, o["status"], n["status"], f"{n['op']} on {where}: {text}"))

    before, after = _status_text(o), _status_text(n)
    if _bad(n) and (not _bad(o) or before != after):
        entry = _listed(n, divergences, facts)
        if entry is not None:
            change(diff.known, f"{before} → {after}, listed in the manifest as {entry.id} ({entry.link})")
        else:
            change(diff.regressions, f"{before} → {after}" + _why(n))
        return
    whole_cell = True  # a change of the whole cell's standing; the unsupported counts then say nothing more
    if _bad(o) and not _bad(n):
        change(diff.fixes, f"{before} → {after}")
    elif o["status"] != "unsupported" and n["status"] == "unsupported" and not n["examples"]:
        change(diff.regressions, f"{before} → newly unsupported" + _why(n))
    elif o["status"] == "unsupported" and not o["examples"] and n["examples"]:
        change(diff.fixes, f"newly supported: {after}")
    else:
        whole_cell = False
        if o["status"] == "agree" and n["status"] == "known_divergence":
            names = ", ".join(p["id"] for p in n["known_divergences"] if p["reproduced"])
            change(diff.known, f"agree → known divergence ({names})")
    for name in n.get("unexpected_passes") or []:
        if name not in (o.get("unexpected_passes") or []):
            change(diff.fixes, f"known divergence {name} no longer reproduces (update the manifest)")
    if comparable and not whole_cell and not _bad(n) and not _bad(o):
        _compare_unsupported(o, n, change, diff)
        _compare_evidence(o, n, change, diff)
    old_ratio, new_ratio = o.get("max_error_ratio"), n.get("max_error_ratio")
    if old_ratio is not None and new_ratio is not None and not _bad(n):
        if new_ratio > ratio_factor * max(old_ratio, ratio_floor):
            change(diff.regressions, f"largest error grew from {ratio_text(old_ratio)}× to {ratio_text(new_ratio)}×"
                                     f" its bound (more than {ratio_factor:g} times)")


def _compare_unsupported(o, n, change, diff: Diff) -> None:
    if n["unsupported"] > o["unsupported"]:
        reasons = [r for r in n.get("unsupported_reasons") or {} if r not in (o.get("unsupported_reasons") or {})]
        change(diff.regressions, f"newly unsupported cases: {o['unsupported']} → {n['unsupported']} of the same draws"
                                 + (f" ({'; '.join(reasons)})" if reasons else ""))
    elif n["unsupported"] < o["unsupported"]:
        change(diff.fixes, f"newly supported cases: {o['unsupported']} → {n['unsupported']} unsupported")


def _compare_evidence(o, n, change, diff: Diff) -> None:
    """Fewer judged examples, or a larger share of draws excused by a known divergence."""
    if o.get("judged") is not None and n.get("judged") is not None and n["judged"] < o["judged"]:
        change(diff.regressions, f"judged on fewer examples: {o['judged']} → {n['judged']}")
    if not n.get("draws") or n.get("excused") is None or o.get("excused") is None or not o.get("draws"):
        return
    for name, count in n["excused"].items():
        old_share, new_share = o["excused"].get(name, 0) / o["draws"], count / n["draws"]
        if new_share > old_share + SHARE_MARGIN:
            change(diff.regressions, f"known divergence {name} excuses {new_share:.0%} of the draws, up from"
                                     f" {old_share:.0%}: its region takes more cases out of certification")


def _bad(r: Mapping[str, Any]) -> bool:
    """Whether a cell fails its run (an inconclusive cell the manifest accepts does not)."""
    return r["status"] in BAD and not (r["status"] == "inconclusive" and r.get("accepted"))


def _status_text(r: Mapping[str, Any]) -> str:
    text = r["status"].replace("_", " ")
    if r.get("diagnosis"):
        text += f" ({', '.join(r['diagnosis'])})"
    return text


def _why(r: Mapping[str, Any]) -> str:
    parts = []
    example = r.get("counterexample")
    if example:
        parts.append(f"on `{example['description']}`")
    elif r.get("message"):
        parts.append(r["message"][:200])
    if r.get("replay"):
        parts.append(f"replay: `{r['replay']}`")
    return "; " + "; ".join(parts) if parts else ""


def _listed(r: Mapping[str, Any], divergences: Sequence[KnownDivergence],
            facts: Mapping[str, Any] | None) -> KnownDivergence | None:
    """The manifest entry that explains a failing cell, judged on its saved minimal counterexample
    and the execution facts it was reached under."""
    entries = [d for d in divergences if d.applies_to(r["backend"], r["backend_version"], r["op"], facts)
               and d.status == r["status"]]
    example = r.get("counterexample") or {}
    if not entries or not example.get("saved_to"):
        return None
    features = _saved_features(example["saved_to"])
    if features is None:
        return None
    for entry in entries:
        if entry.matches(features) and entry.reproduced_by(example["status"], example["message"]):
            return entry
    return None


def _saved_features(directory: str) -> Mapping[str, Any] | None:
    from conformance.case import load_case
    from conformance.errors import ConformanceError
    from conformance.ops import get_declaration

    try:
        case, _ = load_case(directory)
        return get_declaration(case.op_type).features(case)
    except ConformanceError:
        return None


# -- formats -------------------------------------------------------------------------------------


def diff_text(diff: Diff) -> str:
    """The diff for a terminal: a verdict line, then each non-empty section."""
    lines = [f"conformance diff: {diff.old} → {diff.new}", _verdict(diff)]
    for title, changes in _sections(diff):
        if changes:
            lines.append(f"{title} ({len(changes)}):")
            lines += [f"  {c.text}" if isinstance(c, Change) else f"  {c}" for c in changes]
    return "\n".join(lines) + "\n"


def diff_markdown(diff: Diff) -> str:
    """The diff as GitHub Markdown, for CI logs and pull requests."""
    lines = [f"## Parity diff: `{diff.old}` → `{diff.new}`", "", f"**{_verdict(diff)}**"]
    for title, changes in _sections(diff):
        if changes:
            lines += ["", f"### {title[0].upper()}{title[1:]} ({len(changes)})", ""]
            lines += [f"- {c.text}" if isinstance(c, Change) else f"- {c}" for c in changes]
    return "\n".join(lines) + "\n"


def diff_json(diff: Diff) -> str:
    """The diff as JSON: every section, and ``regressed``."""
    return json.dumps(diff.as_dict(), indent=2) + "\n"


def _verdict(diff: Diff) -> str:
    text = (f"{len(diff.regressions)} regression{'s' if len(diff.regressions) != 1 else ''}." if diff.regressed
            else "No regression.")
    if diff.environment:
        count = len(diff.environment)
        text += f" {count} answer{'s' if count != 1 else ''} changed with the environment."
    return text


def _sections(diff: Diff) -> list[tuple[str, list]]:
    return [
        ("regressions", diff.regressions),
        ("fixes", diff.fixes),
        ("known divergences (listed in the manifest, not regressions)", diff.known),
        ("changed with the environment (not regressions: the execution facts differ)", diff.environment),
        ("environment", diff.environment_changes),
        ("appeared", diff.appeared),
        ("vanished", diff.vanished),
        ("backend versions", diff.versions),
        ("notes", diff.notes),
    ]
