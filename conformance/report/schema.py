"""The JSON Schema of ``parity.json`` (``parity.schema.json``, shipped with the package) and validation."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Mapping

from conformance.errors import ConformanceError

SCHEMA_FILE = "parity.schema.json"


@cache
def parity_schema() -> dict[str, Any]:
    """The schema as a dict (draft 2020-12)."""
    return json.loads((resources.files("conformance.report") / SCHEMA_FILE).read_text())


def schema_errors(report: Any) -> list[str]:
    """Every way ``report`` breaks the schema, as ``path: message`` lines (empty when valid)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(parity_schema())
    errors = sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}" for e in errors]


UPGRADABLE = {2, 3}  # older schema versions ``upgraded`` reads


def upgraded(report: Any) -> Any:
    """A report of an older schema version in the current form, where that loses nothing a reader
    relies on (anything else is returned unchanged, for ``validate_report`` to refuse).

    Version 2 gave the CPU as a model name and no execution facts: the CPU becomes
    ``{"model": name}`` with the rest null, and the facts are unknown (``execution`` empty). It
    did not count judged examples: ``judged`` and ``unjudged_elements`` are null. Versions 2 and 3
    did not count draws, excused draws per known divergence, readings nor backend warnings: ``draws``,
    ``excused``, ``readings`` and ``warnings`` are null, and no inconclusive cell was ``accepted``.
    """
    if not isinstance(report, dict) or report.get("schema_version") not in UPGRADABLE:
        return report

    def environment(env: Any) -> Any:
        if not isinstance(env, dict) or not isinstance(env.get("cpu"), str):
            return env
        cpu = {"vendor": None, "model": env["cpu"], "microarchitecture": None, "flags": None}
        return {**env, "cpu": cpu, "execution": env.get("execution", {})}

    report = {**report, "schema_version": parity_schema()["properties"]["schema_version"]["const"],
              "environment": environment(report.get("environment"))}
    missing = {"draws": None, "judged": None, "unjudged_elements": None, "excused": None, "accepted": "",
               "readings": None, "warnings": None, "first_warning": ""}
    if isinstance(report.get("results"), list):
        report["results"] = [{**missing, **row} if isinstance(row, dict) else row for row in report["results"]]
    if isinstance(report.get("runs"), list):
        report["runs"] = [{**run, "environment": environment(run.get("environment"))} if isinstance(run, dict) else run
                          for run in report["runs"]]
    return report


def validate_report(report: Mapping[str, Any], where: str = "report") -> None:
    """ConformanceError naming the first problem (and how many more) unless ``report`` is valid."""
    if not isinstance(report, dict):
        raise ConformanceError(f"{where}: not a parity report (a JSON object with schema_version and results)")
    version = report.get("schema_version")
    if version != parity_schema()["properties"]["schema_version"]["const"]:
        raise ConformanceError(f"{where}: schema_version {version!r} is not the one this nn-conformance reads"
                               f" ({parity_schema()['properties']['schema_version']['const']}); rerun the report")
    errors = schema_errors(report)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConformanceError(f"{where}: not a valid parity report: {errors[0]}{more}")
