"""The pytest side of the harness: backend parametrization, certification fixtures, known divergences.

Loaded by ``-p conformance.pytest_plugin`` (this repository's ``addopts``), or by ``pytest
--conformance`` in any project that has the package installed (``conformance.pytest_entry``). A
certification module (``conformance.certification``) declares the operators it covers and asks for
fixtures:

    OPERATORS = ("Conv", "ConvTranspose")

    def test_conv(backend, certify):
        certify("Conv", backend)

    def test_known_divergence(known_divergence, certify_divergence):
        certify_divergence(known_divergence)

``--conformance-ops Conv,LRN`` certifies only those operators (the other certifications and their
divergences' probes are deselected). The project's ``[tool.conformance]`` table
(``conformance.project``) gives the defaults: backends, operators, Hypothesis profile, and manifests
added to the shipped one.

``pytest --conformance-report DIR`` also writes the parity report (``parity.json``, ``.md``,
``.html``) of the certifications the run made, the same report ``conformance report`` writes, so
a team that runs pytest in CI gets it without a second run.

``backend`` is parametrized over every selected backend (ids such as ``test_conv[tensorflow]``).
An unavailable backend that was named with ``--backend`` is skipped with the reason; a default one
(no ``--backend`` given) fails as inconclusive: nothing was judged on a backend the run was meant
to certify. A cell judged on too few examples fails as inconclusive too, unless the manifest
accepts it (an entry of status ``inconclusive``): then it is skipped, with the entry's reason. A test that asks for ``op`` is parametrized
over the module's ``OPERATORS`` too (``test_pooling[MaxPool-tensorflow]``), so one test can
certify a whole family. ``known_divergence`` is parametrized over the manifest entries for the
module's operators and the selected backends they name (``KnownDivergenceOn``: the entry and the
spec to probe it on; the spec joins the test id, ``[entry-id@tensorflow[onednn=off]]``, when the
entry names several selected backends), and marked as a strict expected failure. An entry whose
``environment`` does not hold for the backend's execution facts is skipped, with both shown: it
neither excuses nor expects anything there.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import settings
from hypothesis.errors import InvalidArgument

from conformance.backends import BackendStatus, backend_status, default_specs, load_backend, spec_of, supports
from conformance.certify import CertifyResult, DivergenceProbe
from conformance.certify import certify as run_certification
from conformance.certify import probe_divergence
from conformance.divergences import KnownDivergence, load_manifest
from conformance.environment import execution_facts, facts_text
from conformance.errors import BackendUnavailable, ConformanceError
from conformance.ops import get_declaration
from conformance.probe_cache import DEFAULT_DIRECTORY, ProbeCache, default_directory
from conformance.profiles import DEFAULT_PROFILE, PROFILES, register_profiles
from conformance.project import ProjectSettings, declared_operators, settings_in
from conformance.summary import counterexample_text, result_text

DEFAULT_FAILURES_DIR = Path(".conformance") / "failures"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "operator conformance certification")
    group.addoption("--backend", action="append", default=[], metavar="SPEC",
                    help="certify this backend (built-in name, entry-point name or module.path:Attr, with"
                         " options such as tensorflow[onednn=off]); repeatable; default: [tool.conformance]"
                         " backends in pyproject.toml, else every built-in backend, TensorFlow on both CPU paths,"
                         " and every registered backend")
    group.addoption("--conformance-ops", action="append", default=[], metavar="OP,OP,...",
                    help="certify only these operators (comma-separated; repeatable); default: [tool.conformance]"
                         " ops in pyproject.toml, else every declared operator")
    group.addoption("--known-divergences", action="append", default=[], metavar="FILE",
                    help="an extra known-divergences manifest (TOML), added to the shipped one and to"
                         " [tool.conformance] known-divergences; repeatable")
    group.addoption("--conformance-failures", default=None, metavar="DIR",
                    help="where shrunk failing cases are saved as model.onnx + inputs.npz"
                         f" (default: {DEFAULT_FAILURES_DIR}, or DIR/failures with --conformance-report DIR)")
    group.addoption("--conformance-report", default=None, metavar="DIR",
                    help="also write the parity report of this run's certifications (parity.json, parity.md,"
                         " parity.html) into DIR")
    group.addoption("--fresh-probes", action="store_true", default=False,
                    help="probe every known divergence again instead of reusing the verdicts kept from earlier"
                         f" runs (conformance certify, conformance report, pytest) in {DEFAULT_DIRECTORY}/ (or"
                         " $CONFORMANCE_PROBE_CACHE), and keep the new ones")


@dataclass
class _ReportCollector:
    """The certifications and divergence probes a pytest run made, for ``--conformance-report``."""

    directory: Path
    profile: str
    started: float = field(default_factory=time.perf_counter)
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    results: dict[tuple[str, str], tuple[str, CertifyResult]] = field(default_factory=dict)  # (op, spec) ->
    probes: dict[tuple[str, str, str], list[DivergenceProbe]] = field(default_factory=dict)  # (op, name, version) ->
    written: list[Path] = field(default_factory=list)

    def report(self, config: pytest.Config) -> dict:
        from conformance.ops import declarations
        from conformance.report import report_from_results

        order = list(declarations())
        specs = _selected_specs(config)
        cells = sorted(self.results.items(), key=lambda item: (
            order.index(item[0][0]) if item[0][0] in order else len(order), item[0][0],
            specs.index(item[0][1]) if item[0][1] in specs else len(specs), item[0][1]))
        results = []
        for _, (spec, result) in cells:
            probes = self.probes.get((result.op, result.backend, result.backend_version), [])
            results.append(_with_probes(result, probes))
        seed = config.getoption("hypothesis_seed", default=None)
        return report_from_results(results, [spec for _, (spec, _) in cells], self.profile, None,
                                   int(seed) if seed is not None else None,
                                   {s: _status(s).reason for s in specs if not _status(s).available},
                                   started=self.started_at, seconds=time.perf_counter() - self.started)


def _with_probes(result: CertifyResult, probes: list[DivergenceProbe]) -> CertifyResult:
    """The result as ``certify`` with probing would have made it (see ``conformance.certify``)."""
    result.divergences = list(probes)
    if result.status == "agree" and any(p.reproduced for p in probes):
        result.status = "known_divergence"
        result.message = "; ".join(f"{p.id}: {p.reason} ({p.link})" for p in probes)
    return result


_COLLECTOR = pytest.StashKey[_ReportCollector]()


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """``--conformance-report`` gathers every cell's result in the process that writes the report, so
    it runs the tests in that one process: pytest-xdist's workers (``-n``) are turned off."""
    if config.getoption("conformance_report", default=None) and getattr(config.option, "numprocesses", None):
        # Before or after xdist's own hook has read -n: either way, no workers.
        config.option.numprocesses, config.option.dist, config.option.tx = 0, "no", []
        config.stash[_ONE_PROCESS] = True


_ONE_PROCESS = pytest.StashKey[bool]()
_PROJECT = pytest.StashKey[ProjectSettings]()
_OPS = pytest.StashKey[tuple]()  # the operators to certify; empty: every declared one


def _project_settings(config: pytest.Config) -> ProjectSettings:
    """The ``[tool.conformance]`` table of the project pytest runs in: its ``pyproject.toml``
    (pytest's configuration file, or the one in its rootdir)."""
    inipath = config.inipath
    return settings_in(inipath if inipath is not None and inipath.name == "pyproject.toml"
                       else config.rootpath / "pyproject.toml")


def _profile_source(project: ProjectSettings) -> str:
    if os.environ.get("CONFORMANCE_PROFILE"):
        return "$CONFORMANCE_PROFILE"
    return f"[tool.conformance] in {project.source}"


def pytest_configure(config: pytest.Config) -> None:
    register_profiles()
    try:
        project = config.stash[_PROJECT] = _project_settings(config)
        config.stash[_OPS] = declared_operators(config.getoption("conformance_ops")) or project.ops
        _manifest(_manifest_files(config))  # a malformed manifest is a usage error, before collection
        project.model_files()  # and so is a models pattern that matches nothing
    except ConformanceError as error:
        raise pytest.UsageError(str(error)) from None
    profile = config.getoption("hypothesis_profile", default=None)
    if not profile:
        profile = os.environ.get("CONFORMANCE_PROFILE") or project.profile or DEFAULT_PROFILE
        try:
            settings.load_profile(profile)
        except InvalidArgument:
            raise pytest.UsageError(f"no Hypothesis profile {profile!r} (from {_profile_source(project)});"
                                    f" the profiles are {', '.join(PROFILES)}") from None
    directory = config.getoption("conformance_report", default=None)
    if directory:
        config.stash[_COLLECTOR] = _ReportCollector(Path(directory), profile)


def _failures_dir(config: pytest.Config) -> str:
    explicit = config.getoption("conformance_failures", default=None)
    if explicit:
        return explicit
    collector = config.stash.get(_COLLECTOR, None)
    return str(collector.directory / "failures") if collector is not None else str(DEFAULT_FAILURES_DIR)


def pytest_sessionfinish(session: pytest.Session) -> None:
    collector = session.config.stash.get(_COLLECTOR, None)
    if collector is None or not collector.results:
        return
    from conformance.report import write_report
    from conformance.report.schema import validate_report

    report = collector.report(session.config)
    validate_report(report, where="the pytest parity report")
    collector.written = write_report(report, collector.directory)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    collector = config.stash.get(_COLLECTOR, None)
    if collector is None:
        return
    if config.stash.get(_ONE_PROCESS, False):
        terminalreporter.write_line("conformance report: the tests ran in one process (-n is ignored with"
                                    " --conformance-report)")
    if collector.written:
        terminalreporter.write_line("conformance report: " + ", ".join(str(p) for p in collector.written))
    else:
        terminalreporter.write_line("conformance report: no certification ran, so no report was written")


def _selected_specs(config: pytest.Config) -> list[str]:
    project = config.stash.get(_PROJECT, None)
    return (list(dict.fromkeys(config.getoption("backend"))) or list(project.backends if project else ())
            or default_specs())


def _manifest_files(config: pytest.Config) -> tuple[str, ...]:
    """The manifests added to the shipped one: the project's, then ``--known-divergences``."""
    project = config.stash.get(_PROJECT, None)
    return (*(str(p) for p in (project.known_divergences if project else ())),
            *config.getoption("known_divergences"))


class KnownDivergenceOn(NamedTuple):
    """A manifest entry and the backend spec its probe runs on (``known_divergence``'s values)."""

    entry: KnownDivergence
    spec: str


@cache
def _manifest(extra: tuple[str, ...]) -> tuple[KnownDivergence, ...]:
    entries = load_manifest()
    for path in extra:
        entries += load_manifest(path)
    return tuple(entries)


@cache
def _status(spec: str) -> BackendStatus:
    return backend_status(spec)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    specs = _selected_specs(metafunc.config)
    if _ours(metafunc, "op"):
        operators = getattr(metafunc.module, "OPERATORS", ())
        metafunc.parametrize("op", operators, ids=list(operators))
    if _ours(metafunc, "model_file"):
        metafunc.parametrize("model_file", _model_params(metafunc.config))
    if _ours(metafunc, "backend"):
        metafunc.parametrize("backend", specs, ids=specs, indirect=True)
    if "known_divergence" in metafunc.fixturenames:
        operators = getattr(metafunc.module, "OPERATORS", ())
        params = []
        for entry in _manifest(_manifest_files(metafunc.config)):
            if not entry.region:
                continue  # an accepted inconclusive cell: nothing to probe
            named = [s for s in specs if entry.op in operators and entry.names(_status(s).name)]
            params += [
                # raises=AssertionError: only a reproduction is the expected failure; a probe that met no
                # case in the condition (pytest.fail) is a real failure, not a silent XFAIL.
                pytest.param(KnownDivergenceOn(entry, spec), id=entry.id if len(named) == 1 else f"{entry.id}@{spec}",
                             marks=pytest.mark.xfail(strict=True, raises=AssertionError,
                                                     reason=f"{entry.reason} <{entry.link}>"))
                for spec in named
            ]
        if not params:
            params = [pytest.param(None, id="none", marks=pytest.mark.skip(
                reason=f"no known divergence of {', '.join(operators) or 'these operators'} applies to the selected backends"))]
        metafunc.parametrize("known_divergence", params)


def _model_params(config: pytest.Config) -> list:
    """The project's model files (``[tool.conformance] models``), with ids relative to its folder."""
    project = config.stash.get(_PROJECT, None)
    files = project.model_files() if project is not None and project.models else []
    if not files:
        return [pytest.param(None, id="none", marks=pytest.mark.skip(
            reason="no models listed in [tool.conformance] models of the project's pyproject.toml"))]
    return [pytest.param(path, id=path.relative_to(project.root).as_posix()) for path in files]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the certifications of operators ``--conformance-ops`` (or ``[tool.conformance] ops``)
    leaves out, and their known divergences."""
    selected = config.stash.get(_OPS, ())
    if not selected:
        return
    kept, dropped = [], []
    for item in items:
        (dropped if _certifies_other_operators(item, selected) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _certifies_other_operators(item: pytest.Item, selected: tuple[str, ...]) -> bool:
    """Whether ``item`` is a certification (it asks for ``certify`` or ``certify_divergence``) of
    operators none of which is ``selected``; False where that cannot be told."""
    fixtures = getattr(item, "fixturenames", ())
    if "certify" not in fixtures and "certify_divergence" not in fixtures:
        return False
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "op" in params:
        return params["op"] not in selected
    if "known_divergence" in params:
        target = params["known_divergence"]
        if target is None:  # the module's placeholder: no divergence applies
            return not set(getattr(item.module, "OPERATORS", ())) & set(selected)
        return target.entry.op not in selected
    return False


def _ours(metafunc: pytest.Metafunc, name: str) -> bool:
    """Whether ``name`` is an argument for this plugin to parametrize (the test does not itself)."""
    if name not in metafunc.fixturenames:
        return False
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", ())
        if name in ([n.strip() for n in names.split(",")] if isinstance(names, str) else names):
            return False
    return True


@pytest.fixture(scope="session")
def _backends() -> dict:
    return {}


@pytest.fixture
def backend(request: pytest.FixtureRequest, _backends: dict):
    """The backend under certification, loaded once per session; skipped when unavailable."""
    spec = request.param
    if spec not in _backends:
        try:
            _backends[spec] = load_backend(spec)
        except BackendUnavailable as error:
            _backends[spec] = error
        except ConformanceError as error:
            raise pytest.UsageError(str(error)) from None
    loaded = _backends[spec]
    if isinstance(loaded, BackendUnavailable):
        if not request.config.getoption("backend"):
            pytest.fail(f"inconclusive: default backend {spec} is unavailable ({loaded.reason}); install it, or"
                        f" name the backends to certify with --backend", pytrace=False)
        pytest.skip(f"backend {spec} is unavailable: {loaded.reason}")
    return loaded


@pytest.fixture
def certify(request: pytest.FixtureRequest, _backends: dict):
    """``certify(op_type, backend)``: fail with a full account unless the backend agrees.

    Cases inside known divergences are left to ``test_known_divergence``; a backend that does not
    implement the operator, or can express none of the drawn cases, is skipped with the reason.
    """
    config = request.config
    collector = config.stash.get(_COLLECTOR, None)

    def run(op_type: str, backend) -> None:
        declaration = get_declaration(op_type)
        spec = next((s for s, b in _backends.items() if b is backend), None) or spec_of(backend)
        if not supports(backend, declaration.op_type):
            if collector is not None:
                collector.results[(declaration.op_type, spec)] = (spec, CertifyResult(
                    declaration.op_type, backend.name, backend.version, status="unsupported",
                    message=f"{backend.name} does not implement {declaration.op_type}"))
            pytest.skip(f"{backend.name} does not implement {declaration.op_type}")
        result = run_certification(
            declaration, backend, settings.default,
            divergences=_manifest(_manifest_files(config)),
            failures_dir=_failures_dir(config),
            probe=False,  # each divergence is probed by test_known_divergence, as a strict xfail
        )
        if collector is not None:
            collector.results[(declaration.op_type, spec)] = (spec, result)
        if result.status == "inconclusive" and result.accepted:
            pytest.skip(f"inconclusive, accepted: {result.message}; {result.accepted}")
        if result.status in ("disagree", "error", "inconclusive"):
            pytest.fail(result_text(result), pytrace=False)
        if result.status == "unsupported":
            pytest.skip(f"{backend.name} cannot express any drawn {op_type} case: {result.message}")

    return run


@pytest.fixture
def check_model_file(request: pytest.FixtureRequest, _backends: dict):
    """``check_model_file(path, backend)``: fail with the first divergence unless every node of the
    model agrees on the backend (``conformance.model``: constants folded, inputs drawn, seed 0);
    skipped, with the reason, where the backend cannot run a node."""
    config = request.config

    def run(path, backend) -> None:
        from conformance.model.check import check_model
        from conformance.model.load import load_model_file
        from conformance.model.summary import check_text
        from conformance.model.weights import fold_constants

        try:
            model = load_model_file(path)
        except ConformanceError as error:
            pytest.fail(f"error: {error}", pytrace=False)
        fold_constants(model)
        checked = check_model(model, [backend], name=Path(path).stem, divergences=_manifest(_manifest_files(config)),
                              failures_dir=_failures_dir(config))
        result = checked.results[0]
        if result.status in ("disagree", "error"):
            pytest.fail(check_text(checked), pytrace=False)
        if result.status == "unsupported":
            unsupported = [n for n in result.nodes if n.status == "unsupported"]
            pytest.skip(f"{backend.name} cannot run {len(unsupported)} nodes of {Path(path).name}, the first"
                        f" {unsupported[0].node} ({unsupported[0].op}): {unsupported[0].message}")

    return run


@pytest.fixture
def certify_divergence(request: pytest.FixtureRequest, _backends: dict):
    """``certify_divergence(known_divergence)``: assert agreement inside a known divergence's condition.

    The test is a strict expected failure: it fails (XFAIL) while the divergence reproduces,
    and passes (XPASS, reported as a failure) once the backend is fixed upstream. A verdict kept
    from an earlier run under the same key is reused (``conformance.probe_cache``; ``--fresh-probes``
    probes again), so that a CI's pytest step after its ``conformance report`` step probes nothing
    twice.
    """
    config = request.config

    def run(target: KnownDivergenceOn) -> None:
        entry, spec = target
        try:
            backend = _backends.get(spec) or load_backend(spec)
        except BackendUnavailable as error:
            pytest.skip(f"backend {spec} is unavailable: {error.reason}")
        _backends.setdefault(spec, backend)
        if not entry.applies_to(backend.name, backend.version, entry.op):
            pytest.skip(f"{entry.id} applies to {backend.name} {entry.versions}, not {backend.version}")
        facts = execution_facts(backend)
        if not entry.holds_in(facts):
            pytest.skip(f"{entry.id} holds where {entry.environment_text()}; here"
                        f" {facts_text(facts, entry.environment) or 'those facts are not reported'}")
        probe = probe_divergence(get_declaration(entry.op), backend, entry, settings.default,
                                 failures_dir=_failures_dir(config), facts=facts,
                                 cache=ProbeCache(default_directory(), fresh=config.getoption("fresh_probes")))
        collector = config.stash.get(_COLLECTOR, None)
        if collector is not None:
            collector.probes.setdefault((entry.op, backend.name, backend.version), []).append(probe)
        if probe.reproduced:
            kept = " (a verdict kept from an earlier run; --fresh-probes probes again)" if probe.cached else ""
            lines = [f"{entry.id} still reproduces on {backend.name} {backend.version}{kept}:"]
            lines += counterexample_text(entry.op, probe.witness)
            raise AssertionError("\n".join(lines))
        if probe.examples == 0:
            pytest.fail(f"{entry.id}: no drawn case met the condition {entry.when}; the probe proves nothing",
                        pytrace=False)

    return run
