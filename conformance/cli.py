"""The ``conformance`` command line."""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from conformance import __version__
from conformance.environment import available_cores
from conformance.errors import BackendUnavailable, ConformanceError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_FAILURES = Path(".conformance") / "failures"
DEFAULT_PROBE_CACHE = Path(".conformance") / "probes"  # conformance.probe_cache's, without importing it
DEFAULT_BASELINE = Path("reports") / "baseline.json"
DEFAULT_CELL_TIMEOUT = 600.0
DEFAULT_RATIO_FACTOR, DEFAULT_RATIO_FLOOR = 10.0, 0.01  # conformance.report.diff's, without importing it
DEFAULT_COVERAGE_DRAWS = 200  # conformance.coverage's
DEFAULT_BACKENDS_HELP = ("certify this backend, e.g. tensorflow[onednn=off] (repeatable; default: [tool.conformance]"
                         " backends in pyproject.toml, else every available backend, TensorFlow on both CPU paths:"
                         " tensorflow[onednn=on] and tensorflow[onednn=off])")
MANIFEST_HELP = ("an extra known-divergences manifest (TOML), added to the shipped one and to [tool.conformance]"
                 " known-divergences (repeatable)")
PROFILE_HELP = ("Hypothesis profile: ci (25 derandomized examples), dev (100 random), thorough (1000 random)")

DESCRIPTION = """\
Certify that neural-network operators mean the same thing on every backend.

Each operator's cases are drawn by Hypothesis, run on the backends, and compared with a float64
NumPy reference written from the ONNX specification, within error bounds from numerical analysis.
A disagreement is shrunk to a minimal case, diagnosed (which known convention the backend
follows instead) and saved for replay.

Backends are named by spec strings: a built-in name (reference, onnxruntime, tensorflow,
onnx-reference), a name registered under the entry-point group conformance.backends, or
module.path:Attr (a backend class or instance, or an onnx.backend.base.Backend subclass), each
with options in brackets if it takes any. TensorFlow's choose its CPU path on any machine:
tensorflow[onednn=on], tensorflow[onednn=off], tensorflow[onednn=on,isa=avx2] (oneDNN capped at
AVX2, as on a CPU without AVX-512). Without --backend, commands certify reference, onnxruntime,
TensorFlow on both paths, onnx-reference and every registered backend.

Known divergences may hold on one CPU path only: each backend reports its execution facts
(conformance backends --json), and a manifest entry applies where its environment condition holds.
"""

EXIT_HELP = """\
exit status: 0 when every backend agrees, matches a known divergence, or cannot express the
drawn cases (unsupported); 1 on a disagreement, an error, a known divergence that no longer
reproduces, or an inconclusive cell (too few examples judged, unless the manifest accepts it; or
a default backend that is unavailable: install it, or name the backends with --backend);
2 on a usage error (unknown operator or backend, malformed file)."""


def main(argv: Sequence[str] | None = None) -> int:
    # A termination request unwinds like Ctrl-C, so that a report stops its worker processes.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        _with_project_defaults(args)
        return args.handler(args)
    except ConformanceError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _with_project_defaults(args) -> None:
    """Fill what the command line left unsaid from the project's ``[tool.conformance]`` table
    (``conformance.project``), else from the command's own defaults: backends, operators, profile,
    baseline. Its manifests join the shipped one in ``_divergences``."""
    from conformance.project import project_settings

    project = project_settings()
    args.project_manifests = list(project.known_divergences)
    if getattr(args, "backend", None) == [] and args.command in ("certify", "report", "model check"):
        args.backend = list(project.backends)
    if hasattr(args, "profile"):
        args.profile = args.profile or project.profile or args.default_profile
        _check_profile(args.profile, project)
    if getattr(args, "ops", "none") is None and project.ops:
        args.ops = list(project.ops)
    if hasattr(args, "baseline"):
        args.baseline = args.baseline or project.baseline or DEFAULT_BASELINE


def _check_profile(profile: str, project) -> None:
    from conformance.profiles import PROFILES

    if profile not in PROFILES:
        raise ConformanceError(f"{project.source}: [tool.conformance] profile must be one of"
                               f" {', '.join(PROFILES)}, not {profile!r}")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance", description=DESCRIPTION, epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nn-conformance {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, handler, help_text: str, description: str = "") -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=description or help_text, epilog=EXIT_HELP,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(handler=handler, command=name)
        return sub

    backends = command(
        "backends", cmd_backends, "list backends, their versions, their execution facts, and why one is unavailable",
        "List every built-in backend (TensorFlow as this environment sets it up, and on both CPU paths) and every"
        " registered one: version, availability, and the execution facts that change its answers (the CPU's,"
        " TensorFlow's oneDNN path and instruction set, onnxruntime's provider and threads, NumPy's SIMD"
        " targets). Reading TensorFlow's facts starts a probe process per configuration (a few seconds each).",
    )
    _backend_option(backends, "also list these backend specs")
    _json_option(backends, 'a list of {"name", "version", "available", "reason", "facts"}')

    ops = command("ops", cmd_ops, "list the declared operators and the backends that support them")
    _backend_option(ops, "backends to check support on (default: every available one)")
    _json_option(ops, 'a list of {"op", "summary", "backends", "variants", "readings", "features", "corners"}')

    certify = command(
        "certify", cmd_certify, "certify one operator on backends",
        "Certify OP on every available backend (or the --backend ones) against the float64 reference."
        " With several backends, each case is drawn once, the reference evaluated once, and the case judged"
        " on every backend; a backend that fails is then certified alone, so that its counterexample is"
        " shrunk and its verdict is what it would be alone.",
    )
    certify.add_argument("op", metavar="OP", help="operator type, e.g. Conv (see `conformance ops`)")
    _backend_option(certify, DEFAULT_BACKENDS_HELP)
    _search_options(certify, default_profile="dev")
    certify.add_argument("-j", "--jobs", type=_positive, default=available_cores(), metavar="N",
                         help="with several backends, processes that search at once (this one and spawned"
                              " workers) where the search is split into shards of 100 examples, each its own"
                              " seeded search; the cases depend on the seed and --examples, never on N"
                              " (default: the cores this process may use)")
    certify.add_argument("-v", "--verbose", action="store_true",
                         help="also show the warnings each backend raised while running the cases (counted,"
                              " with the first; --json always has them)")
    _json_option(certify, 'an object {"op", "results": [{"backend", "status", "examples", "max_error_ratio",'
                          ' "max_ulp", "diagnosis", "counterexample", ...}]}')

    replay = command(
        "replay", cmd_replay, "rerun a saved case (model.onnx + inputs.npz) on backends",
        "Rerun the case saved in DIR on backends (default: the backend that failed, else every available"
        " one) and judge it against the reference.",
    )
    replay.add_argument("directory", metavar="DIR", help="a directory holding model.onnx and inputs.npz")
    _backend_option(replay, "replay on this backend (repeatable)")
    _json_option(replay, "verdicts per backend")

    report = command(
        "report", cmd_report, "certify every operator on every backend and write a parity report",
        "Certify every declared operator (or --ops) on every available backend (or --backend) and write"
        " parity.json, parity.md and parity.html into --out. Cells run in worker processes: a backend"
        " that crashes or hangs on one operator is recorded as error or timeout for that cell, and the"
        " run goes on. With --merge, no certification runs: the given reports (made on different"
        " framework versions, say) are merged into one matrix with a column per backend version.",
    )
    report.add_argument("--ops", nargs="+", metavar="OP",
                        help="only these operators (default: [tool.conformance] ops, else every declared one)")
    _backend_option(report, DEFAULT_BACKENDS_HELP)
    _search_options(report, default_profile="ci", failures_default=None)
    report.add_argument("-j", "--jobs", type=_natural, default=1, metavar="N",
                        help="worker processes running cells in parallel (default: 1; 0: run in this process,"
                             " without timeout or crash isolation)")
    report.add_argument("--timeout", type=_seconds, default=DEFAULT_CELL_TIMEOUT, metavar="SECONDS",
                        help=f"most seconds one (operator, backend) cell may take before its worker is stopped"
                             f" and the cell recorded as timeout (default: {DEFAULT_CELL_TIMEOUT:g}; 0: no limit)")
    report.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                        help="where parity.json, parity.md, parity.html and failing cases go (default: reports)")
    report.add_argument("--update-baseline", action="store_true",
                        help="also write the report (without timing) to --baseline: the answers CI compares with")
    report.add_argument("--baseline", type=Path, metavar="FILE",
                        help=f"the baseline that --update-baseline writes (default: [tool.conformance] baseline,"
                             f" else {DEFAULT_BASELINE})")
    report.add_argument("--merge", nargs="+", type=Path, metavar="REPORT",
                        help="merge these parity.json files into one matrix (a column per backend version)"
                             " instead of running")

    diff = command(
        "diff", cmd_diff, "compare two parity reports: regressions, fixes, what appeared or vanished",
        "List what changed from OLD to NEW (two parity.json files): regressions (a cell that agreed and"
        " now disagrees, errs or times out; newly unsupported cases; an error ratio that grew more than"
        " --ratio-factor times), fixes, and operators or backends that appeared or vanished. A failure"
        " listed in the known-divergences manifest is not a regression.",
    )
    diff.add_argument("old", type=Path, metavar="OLD", help="the earlier report (e.g. reports/baseline.json)")
    diff.add_argument("new", type=Path, metavar="NEW", help="the later report")
    diff.add_argument("--format", choices=("text", "md", "json"), default="text",
                      help="text (default), md (GitHub Markdown, for CI logs and pull requests) or json")
    diff.add_argument("--ratio-factor", type=_factor, default=DEFAULT_RATIO_FACTOR, metavar="F",
                      help=f"an error ratio that grew more than F times is a regression (default: {DEFAULT_RATIO_FACTOR:g})")
    diff.add_argument("--ratio-floor", type=float, default=DEFAULT_RATIO_FLOOR, metavar="R",
                      help=f"ratios below R count as R when measuring growth (default: {DEFAULT_RATIO_FLOOR:g})")
    diff.add_argument("--known-divergences", action="append", default=[], type=Path, metavar="FILE",
                      help=MANIFEST_HELP)
    diff.add_argument("--no-known-divergences", action="store_true",
                      help="ignore every manifest: a listed divergence that appears is a regression too")
    diff.epilog = ("exit status: 0 when nothing regressed; 1 on a regression; 2 on a usage error (a file that is"
                   " not a parity report).")

    divergences = command(
        "divergences", cmd_divergences, "list the known divergences: what each excuses, and how much",
        "List the known-divergences manifest (the shipped one and any --known-divergences): each entry's"
        " backend, operator, region, what the divergence looks like (an excused case must look like it:"
        " a diagnosis, a widened bound, a message) and where it holds. With --coverage, also each entry's"
        " share of its operator's drawn cases, and the share all entries of that backend take together:"
        " measured by drawing cases, without running any backend.",
    )
    divergences.add_argument("--op", action="append", default=[], metavar="OP", help="only these operators (repeatable)")
    divergences.add_argument("--coverage", action="store_true", help="measure each entry's share of the drawn cases")
    divergences.add_argument("--draws", type=_positive, default=DEFAULT_COVERAGE_DRAWS, metavar="N",
                             help=f"cases drawn per operator for --coverage (default: {DEFAULT_COVERAGE_DRAWS})")
    divergences.add_argument("--known-divergences", action="append", default=[], type=Path, metavar="FILE",
                             help=MANIFEST_HELP)
    divergences.set_defaults(no_known_divergences=False)
    _json_option(divergences, 'a list of {"id", "backend", "op", "status", "when", "looks_like", "environment",'
                              ' "reason", "link", "share", "backend_share"}')

    model = commands.add_parser(
        "model", help="check whole models: the first node each backend computes wrongly",
        description="Whole models. `conformance model check MODEL.onnx` judges every node of the model on its own,"
                    " fed the reference's inputs, on each backend, and names the first node a backend computes"
                    " wrongly: its operator, attributes, shapes, error and diagnosis, saved as a case that"
                    " `conformance replay` reruns.",
    )
    model_commands = model.add_subparsers(title="model commands", metavar="COMMAND")
    model.set_defaults(handler=lambda args: (model.print_help(), EXIT_USAGE)[1], command="model")
    check = model_commands.add_parser(
        "check", help="find the first node of a model that a backend computes wrongly",
        description="Check MODEL (an ONNX file, or a Keras file in any format: see `conformance model convert`)"
                    " node by node. The float64 reference walks the graph; each node whose"
                    " operator is declared becomes a single-node case on the reference's values upstream (rounded"
                    " to the model's types), run on every backend and judged by the operator's bound, known"
                    " divergences included (isolated). The first node a backend fails is reported, diagnosed and"
                    " saved. Each backend also runs the whole model, for the end-to-end deviation of every tensor"
                    " (measured, not judged). Constant subgraphs (Constant, ConstantOfShape) are folded first."
                    " Loading never executes code, and external data must lie in the model's folder.",
        epilog=EXIT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.set_defaults(handler=cmd_model_check, command="model check")
    check.add_argument("model", type=Path, metavar="MODEL",
                       help="an ONNX model, or a Keras model (.keras, .h5, config.json or to_json()'s JSON), told by"
                            " its content")
    check.add_argument("--weights", type=Path, metavar="W",
                       help="the weights file of a Keras architecture saved alone (.weights.h5, or save_weights()'s .h5)")
    given = check.add_mutually_exclusive_group()
    given.add_argument("--inputs", type=Path, metavar="FILE.npz", help="the input arrays, by input name")
    given.add_argument("--test-data", type=Path, metavar="DIR",
                       help="an ONNX test data set's folder: its input_N.pb, in graph-input order, and its"
                            " output_N.pb, which the reference's outputs and each backend's are compared with")
    check.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE",
                       help="the size of a symbolic dimension, for drawn inputs (repeatable; one named batch, as a Keras"
                            " model's is, defaults to 1)")
    check.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the drawn inputs (default: 0)")
    check.add_argument("--random-weights", type=int, metavar="SEED",
                       help="redraw every floating-point weight from SEED: a normal scaled by fan-in, valid for its"
                            " role (variances positive)")
    _backend_option(check, DEFAULT_BACKENDS_HELP)
    check.add_argument("--known-divergences", action="append", default=[], type=Path, metavar="FILE",
                       help=MANIFEST_HELP)
    check.add_argument("--no-known-divergences", action="store_true",
                       help="ignore every manifest: a known divergence is a plain disagreement")
    check.add_argument("--failures-dir", type=Path, default=DEFAULT_FAILURES, metavar="DIR",
                       help=f"where each backend's first divergence is saved (default: {DEFAULT_FAILURES})")
    check.add_argument("--out", type=Path, metavar="DIR",
                       help="also write model.json and model.html (a self-contained page: verdicts, first divergences"
                            " with their replay commands, each node's isolated error and end-to-end deviation"
                            " plotted in graph order, the nodes table) into DIR")
    _json_option(check, '{"model", "environment", "results": [{"backend", "status", "first_divergence", "nodes"}]}')

    convert = model_commands.add_parser(
        "convert", help="write a Keras model as the ONNX model the check reads",
        description="Convert PATH, a Keras model, to ONNX, as `conformance model check` reads it: one group of nodes"
                    " per Keras layer (each node's name starts with the layer's name), faithful to the Keras"
                    " version and backend that wrote the file. Formats, told by content: Keras 3's .keras; a"
                    " whole model in HDF5 written by Keras 1, 2 or 3; an architecture in JSON (Keras 3's"
                    " config.json, Keras 1/2's to_json()) with its weights file (--weights). Read with json,"
                    " zipfile and h5py alone: neither Keras nor TensorFlow is imported, and no code stored in the"
                    " file is run (a Lambda layer is an error).",
        epilog="exit status: 0 when written; 2 when the file cannot be read or holds a layer this importer does"
               " not convert (one error: line).",
    )
    convert.set_defaults(handler=cmd_model_convert, command="model convert")
    convert.add_argument("path", type=Path, metavar="PATH", help="the Keras model (or an ONNX model, rewritten checked)")
    convert.add_argument("--weights", type=Path, metavar="W", help="the weights file of an architecture saved alone")
    convert.add_argument("--out", type=Path, required=True, metavar="MODEL.onnx", help="where to write the ONNX model")

    bench = command(
        "bench", cmd_bench, "measure the harness's speed (examples per second, reference vs onnx.reference)",
        "`conformance bench [OP]` measures the harness's parts on OP (default: Conv): differential examples"
        " per backend, certification's search and probes, a naive harness, and the reference against"
        " onnx.reference. `conformance bench certify [OP]` measures what a user waits for: the wall time of"
        " the real `conformance certify OP` command, a fresh process each, for each --backend alone and all"
        " together, at two --counts, each on an empty probe cache and again (the fastest of three); it reports the marginal examples"
        " per second between the counts and the probes' share of the time (several minutes for the defaults)."
        " `conformance bench draws` measures what drawing one case costs, per operator family (--examples"
        " cases of each operator, default 100). `conformance bench model [NAME]` times `conformance model check`"
        " on a light model of the onnx wheel (random weights; --backend, default reference, onnxruntime and"
        " tensorflow) against onnx.reference running it once, each the fastest of three fresh processes (one with --quick), and its peak memory.",
    )
    bench.add_argument("target", metavar="[certify] OP | draws | model [NAME]", nargs="*",
                       help="operator to benchmark (default: Conv), after `certify` to time the certify command; or"
                            " `draws`, the cost of drawing cases; or `model`, the model check of one of the onnx"
                            " wheel's light models (default: resnet50) against one onnx.reference run of it")
    bench.add_argument("--examples", type=_positive, metavar="N",
                       help="cases per backend (default: 200), or per operator for `draws` (default: 100)")
    bench.add_argument("--quick", action="store_true", help="a few seconds' smoke run with fewer cases and repeats")
    bench.add_argument("--counts", type=_positive, nargs=2, metavar=("N1", "N2"),
                       help="bench certify: the two example counts (default: 50 350; with --quick, 5 15)")
    _backend_option(bench, "bench certify and bench model: a backend to time (repeatable; default: reference,"
                           " onnxruntime and tensorflow; certify times each alone and all together)")
    _json_option(bench, "all figures")
    return parser


def _backend_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--backend", action="append", default=[], metavar="SPEC", help=help_text)


def _json_option(parser: argparse.ArgumentParser, shape: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print JSON instead of text: {shape}")


def _search_options(parser: argparse.ArgumentParser, default_profile: str,
                    failures_default: Path | None = DEFAULT_FAILURES) -> None:
    parser.add_argument("--profile", choices=("ci", "dev", "thorough"),
                        help=f"{PROFILE_HELP} (default: [tool.conformance] profile, else {default_profile})")
    parser.set_defaults(default_profile=default_profile)
    parser.add_argument("--examples", type=_positive, metavar="N", help="examples per backend (overrides the profile)")
    parser.add_argument("--seed", type=int, metavar="S", help="random seed, for a reproducible random search")
    parser.add_argument("--known-divergences", action="append", default=[], type=Path, metavar="FILE",
                        help=MANIFEST_HELP)
    parser.add_argument("--no-known-divergences", action="store_true",
                        help="ignore every manifest: report known divergences as plain disagreements")
    parser.add_argument("--failures-dir", type=Path, default=failures_default, metavar="DIR",
                        help="where shrunk failing cases are saved (default: "
                             + (f"{failures_default})" if failures_default else "OUT/failures)"))
    parser.add_argument("--fresh-probes", action="store_true",
                        help="probe every known divergence again instead of reusing the verdicts kept from earlier"
                             f" runs in {DEFAULT_PROBE_CACHE}/ (or $CONFORMANCE_PROBE_CACHE), and keep the new ones;"
                             " a kept verdict is reused only where the backend, its version and execution facts,"
                             " the manifest entry, the example count and the harness's source are unchanged, and"
                             " is marked (cached)")


def _natural(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def _seconds(text: str) -> float | None:
    """Seconds, 0 meaning no limit (None)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 (no limit) or more")
    return value or None


def _factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 1:
        raise argparse.ArgumentTypeError(f"{text} must be more than 1")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


# -- commands ----------------------------------------------------------------------------------


def cmd_backends(args) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from conformance.backends import backend_status, default_specs, known_specs
    from conformance.environment import CPU_FACTS, backend_facts, cpu_facts, fact_lines, facts_text

    specs = list(dict.fromkeys([*known_specs(), *default_specs(), *args.backend]))
    with ThreadPoolExecutor(max_workers=len(specs)) as pool:  # TensorFlow's probes run side by side
        statuses = list(pool.map(lambda spec: backend_status(spec, facts=True), specs))
    if args.json:
        _print_json([s.as_dict() for s in statuses])
        return EXIT_OK
    table = _table("backend", "version", "available", "execution facts", "reason")
    for s in statuses:
        facts = "\n".join(fact_lines(backend_facts(s.facts))) if s.facts else ""
        table.add_row(*map(_plain, (s.name, s.version or "-", "yes" if s.available else "no", facts, s.reason)))
    console = _console()
    console.print(table)
    console.print(_plain(f"CPU: {facts_text(cpu_facts(), CPU_FACTS)}"), highlight=False)
    return EXIT_OK


def cmd_ops(args) -> int:
    from conformance.backends import supports
    from conformance.ops import declarations

    backends, _ = _load_backends(args.backend)
    entries = []
    for op, declaration in declarations().items():
        entries.append({
            "op": op,
            "summary": declaration.summary,
            "backends": [b.name for b in backends if supports(b, op)],
            "variants": [{"name": v.name, "description": v.description, "link": v.link}
                         for v in declaration.variants.values()],
            "readings": [{"name": r.name, "description": r.description, "citation": r.citation, "link": r.link,
                          "default": r.default} for r in declaration.readings.values()],
            "features": sorted(_feature_names(declaration)) if args.json else [],
            "corners": list(declaration.corners),
        })
    if args.json:
        _print_json(entries)
        return EXIT_OK
    table = _table("operator", "summary", "backends", "variants")
    for e in entries:
        table.add_row(*map(_plain, (e["op"], e["summary"], ", ".join(e["backends"]),
                                    ", ".join(v["name"] for v in e["variants"]))))
    _console().print(table)
    return EXIT_OK


def cmd_certify(args) -> int:
    from conformance.certify import shard_examples
    from conformance.ops import get_declaration
    from conformance.shards import start_workers, stop_workers

    args.seed = _run_seed(args)
    settings_ = _settings(args)
    specs = list(dict.fromkeys(args.backend or _default_specs()))
    if len(specs) > 1:  # the search's workers import and warm up their backends while this process does
        start_workers(args.op, specs, len(shard_examples(settings_.max_examples)), args.jobs)
    try:
        return _certify_and_print(args, get_declaration(args.op), settings_)
    finally:
        stop_workers()


def _certify_and_print(args, declaration, settings_) -> int:
    from conformance.certify import certify, certify_together
    from conformance.summary import result_json, result_text

    backends, unavailable = _load_backends(args.backend, explicit=bool(args.backend))
    divergences = _divergences(args)
    results = []
    with _progress(enabled=not args.json) as progress:
        if backends:
            names = ", ".join(b.name for b in backends)
            advance = progress(_plain(f"{declaration.op_type} on {names}"), settings_.max_examples)
            options = dict(divergences=divergences, seed=args.seed, failures_dir=args.failures_dir,
                           on_example=advance, probe_cache=_probe_cache(args))
            if len(backends) == 1:
                results = [certify(declaration, backends[0], settings_, **options)]
            else:  # each case drawn once and judged on every backend
                results = certify_together(declaration, backends, settings_, jobs=args.jobs, **options)
    if args.json:
        _print_json({"op": declaration.op_type, "profile": args.profile, "seed": args.seed,
                     "results": [result_json(r) for r in results], "unavailable": unavailable})
    else:
        print(_seed_text(args))
        for result in results:
            print(result_text(result, verbose=args.verbose))
        for spec, reason in unavailable.items():
            print(f"{spec}: {UNAVAILABLE_TEXT} ({reason})")
    return EXIT_OK if all(r.passed for r in results) and not unavailable else EXIT_FAILED


def cmd_replay(args) -> int:
    from conformance.case import load_case
    from conformance.certify import run_example
    from conformance.diagnosis import diagnose
    from conformance.ops import get_declaration
    from conformance.summary import jsonable, ratio_text, variant_text

    case, metadata = load_case(args.directory)
    declaration = get_declaration(case.op_type)
    specs = args.backend or ([metadata["backend"]] if metadata.get("backend") else [])
    backends, unavailable = _load_backends(specs, explicit=bool(specs))
    verdicts, failed = [], False
    for backend in backends:
        outcome = run_example(declaration, backend, case)
        diagnosis = diagnose(declaration, case, outcome.outputs) if outcome.status == "disagree" else []
        failed |= outcome.status in ("disagree", "error")
        verdict = outcome.verdict
        verdicts.append({
            "backend": backend.name, "backend_version": backend.version, "status": outcome.status,
            "message": outcome.message, "diagnosis": diagnosis,
            "max_error_ratio": verdict.max_error_ratio if verdict else None,
            "max_ulp": verdict.max_ulp if verdict else None,
        })
    if args.json:
        _print_json(jsonable({"case": case.summary(), "results": verdicts, "unavailable": unavailable}))
    else:
        print(f"case: {case.describe()}")
        for v in verdicts:
            print(f"{v['backend']} {v['backend_version']}: {v['status']}"
                  + (f" (max error {ratio_text(v['max_error_ratio'])}x bound)" if v["max_error_ratio"] is not None else ""))
            if v["message"]:
                print(f"  {v['message']}")
            if v["status"] == "disagree":
                print(f"  diagnosis: {variant_text(case.op_type, v['diagnosis']) or 'no declared variant explains the output'}")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_report(args) -> int:
    from conformance.ops import declarations, get_declaration
    from conformance.report import ReportRun, failing_rows, load_report, run_report, write_report
    from conformance.report.build import without_timing
    from conformance.report.merge import merge_reports
    from conformance.report.schema import validate_report

    if args.merge:
        report = merge_reports([(str(path), load_report(path)) for path in args.merge])
    else:
        ops = [get_declaration(op).op_type for op in args.ops] if args.ops else list(declarations())
        specs = list(dict.fromkeys(args.backend))
        backends, unavailable = _load_backends(specs, explicit=bool(specs))
        args.seed = _run_seed(args)
        print(_seed_text(args))
        run = ReportRun(ops, backends, args.profile, args.examples, args.seed, _divergences(args), unavailable,
                        specs=[s for s in (specs or _default_specs()) if s not in unavailable],
                        timeout=args.timeout, jobs=args.jobs, probe_cache=_probe_cache(args))
        settings_ = _settings(args)
        failures = args.failures_dir if args.failures_dir is not None else args.out / "failures"
        with _report_progress(len(ops) * len(backends), settings_.max_examples) as events:
            report = run_report(run, failures, events)
    validate_report(report, where="the report written")  # the harness's own output must match its schema
    paths = write_report(report, args.out)
    if args.update_baseline and not args.merge:
        args.baseline.parent.mkdir(parents=True, exist_ok=True)
        args.baseline.write_text(json.dumps(without_timing(report), indent=2) + "\n")
        paths.append(args.baseline)
    _print_summary(report)
    print("wrote " + ", ".join(str(p) for p in paths))
    unavailable = {} if args.merge else report["environment"]["unavailable_backends"]
    for spec, reason in unavailable.items():
        print(f"{spec}: {UNAVAILABLE_TEXT} ({reason})")
    return EXIT_FAILED if (failing_rows(report) or unavailable) and not args.merge else EXIT_OK


def cmd_diff(args) -> int:
    from conformance.report import load_report
    from conformance.report.diff import diff_json, diff_markdown, diff_reports, diff_text

    old, new = load_report(args.old), load_report(args.new)
    diff = diff_reports(old, new, _divergences(args), old_name=str(args.old), new_name=str(args.new),
                        ratio_factor=args.ratio_factor, ratio_floor=args.ratio_floor)
    print({"text": diff_text, "md": diff_markdown, "json": diff_json}[args.format](diff), end="")
    return EXIT_FAILED if diff.regressed else EXIT_OK


def cmd_divergences(args) -> int:
    from conformance.coverage import coverage
    from conformance.ops import get_declaration

    ops = {get_declaration(op).op_type for op in args.op}
    entries = [e for e in _divergences(args) if not ops or e.op in ops]
    shares = {c.entry.id: c for c in coverage(entries, args.draws)} if args.coverage else {}
    rows = []
    for e in entries:
        measured = shares.get(e.id)
        rows.append({
            "id": e.id, "backend": list(e.backend), "op": e.op, "status": e.status, "when": dict(e.when),
            "looks_like": e.looks_text() if e.region else "", "environment": dict(e.environment),
            "reason": e.reason, "link": e.link,
            "share": measured.share if measured else None, "backend_share": measured.backend_share if measured else None,
        })
    if args.json:
        _print_json(rows)
        return EXIT_OK
    table = _table("op", "region", "looks like", *(("share", "backend's share") if args.coverage else ()))
    table.add_column("id", no_wrap=True)  # an id is what a user copies: whole, never wrapped
    for r in rows:
        region = ", ".join(f"{k}={v}" for k, v in r["when"].items()) or ("whole cell" if r["status"] == "inconclusive" else "every case")
        shares_text = [f"{r['share']:.0%}", f"{r['backend_share']:.0%}"] if r["share"] is not None else ["-", "-"]
        table.add_row(*map(_plain, (r["op"], region, r["looks_like"] or r["status"],
                                    *(shares_text if args.coverage else ()), r["id"])))
    _console().print(table)
    return EXIT_OK


def cmd_model_check(args) -> int:
    from conformance.model.check import check_model
    from conformance.model.inputs import data_set_inputs, drawn_inputs, npz_inputs, parse_dims
    from conformance.model.load import load_any_model
    from conformance.model.summary import check_json, check_text
    from conformance.model.weights import fold_constants, randomize_weights

    model = load_any_model(args.model, weights=args.weights)
    fold_constants(model)
    if args.random_weights is not None:
        randomize_weights(model, args.random_weights)
    expected_outputs = None
    if args.inputs is not None:
        inputs = npz_inputs(model, args.inputs)
    elif args.test_data is not None:
        inputs, expected_outputs = data_set_inputs(model, args.test_data)
        if args.random_weights is not None:
            expected_outputs = None  # the data set's outputs are for the model's own weights
    else:
        inputs = drawn_inputs(model, args.seed, parse_dims(args.dim))
    backends, unavailable = _load_backends(args.backend, explicit=bool(args.backend))
    with _progress(enabled=not args.json) as progress:
        advance = progress(_plain(f"{args.model.name} on {', '.join(b.name for b in backends)}"), len(model.graph.node))
        checked = check_model(model, backends, inputs, name=args.model.stem, divergences=_divergences(args),
                              failures_dir=args.failures_dir, on_node=lambda done, total: advance(),
                              expected_outputs=expected_outputs or None)
    document = check_json(checked, backends, unavailable)
    if args.out is not None:
        from conformance.model.page import model_page

        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "model.json").write_text(json.dumps(document, indent=2) + "\n")
        (args.out / "model.html").write_text(model_page(document))
    if args.json:
        _print_json(document)
    else:
        print(check_text(checked))
        for spec, reason in unavailable.items():
            print(f"{spec}: {UNAVAILABLE_TEXT} ({reason})")
    failed = any(r.status in ("disagree", "error") for r in checked.results)
    return EXIT_FAILED if failed or unavailable else EXIT_OK


def cmd_model_convert(args) -> int:
    from conformance.model.load import load_any_model

    model = load_any_model(args.path, weights=args.weights)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(model.SerializeToString())
    except OSError as error:
        raise ConformanceError(f"{args.out}: cannot write it ({error.strerror or error})") from None
    layers = len({node.name.split("/")[0] for node in model.graph.node})
    print(f"wrote {args.out}: {len(model.graph.node)} nodes from {layers} layers ({model.producer_name})")
    return EXIT_OK


def cmd_bench(args) -> int:
    from conformance.bench import format_benchmark, run_benchmark

    if args.target[:1] == ["model"]:
        return _bench_model(args)
    certify_mode = args.target[:1] == ["certify"]
    words = args.target[1:] if certify_mode else args.target
    if len(words) > 1:
        raise ConformanceError(f"bench takes one operator, got {' '.join(words)}")
    op = words[0] if words else "Conv"
    if certify_mode:
        return _bench_certify(args, op)
    if args.target == ["draws"]:
        from conformance.bench import format_draw_benchmark, run_draw_benchmark

        results = run_draw_benchmark(args.examples or (10 if args.quick else 100))
        if args.json:
            _print_json(results)
        else:
            print(format_draw_benchmark(results))
        return EXIT_OK
    if args.counts or args.backend:
        raise ConformanceError("--counts belongs to `conformance bench certify`, --backend to `bench certify` and `bench model`")
    results = run_benchmark(op, examples=args.examples or 200, quick=args.quick)
    if args.json:
        _print_json(results)
    else:
        print(format_benchmark(results))
    return EXIT_OK


def _bench_model(args) -> int:
    from conformance.bench_model import (BACKENDS, DEFAULT_MODEL, REPEATS, format_model_benchmark,
                                         run_model_benchmark)

    names = args.target[1:] or [DEFAULT_MODEL]
    if len(names) > 1:
        raise ConformanceError(f"bench model takes one model, got {' '.join(names)}")
    results = run_model_benchmark(names[0], args.backend or BACKENDS, 1 if args.quick else REPEATS)
    if args.json:
        _print_json(results)
    else:
        print(format_model_benchmark(results))
    return EXIT_OK


def _bench_certify(args, op: str) -> int:
    from conformance.bench_certify import (BACKENDS, COUNTS, QUICK_COUNTS, REPEATS, format_certify_benchmark,
                                          run_certify_benchmark)
    from conformance.ops import get_declaration

    get_declaration(op)  # an unknown operator is a usage error before minutes of timing
    counts = args.counts or (QUICK_COUNTS if args.quick else COUNTS)
    progress = None if args.json else (lambda text: print(f"timing {text}...", file=sys.stderr, flush=True))
    results = run_certify_benchmark(op, args.backend or BACKENDS, counts, 1 if args.quick else REPEATS,
                                    progress=progress)
    if args.json:
        _print_json(results)
    else:
        print(format_certify_benchmark(results))
    return EXIT_OK


# -- helpers -----------------------------------------------------------------------------------


UNAVAILABLE_TEXT = "inconclusive: a default backend that is unavailable, so nothing was judged on it"


def _load_backends(specs: Sequence[str], explicit: bool = False):
    """Load the named backends (or the default ones); unavailable ones are returned with reasons.

    A backend the user named explicitly must load; a default one may be unavailable.
    """
    from conformance.backends import default_specs, load_backend

    loaded, unavailable = [], {}
    for spec in dict.fromkeys(specs or default_specs()):
        try:
            loaded.append(load_backend(spec))
        except BackendUnavailable as error:
            if explicit:
                raise
            unavailable[spec] = error.reason
    if not loaded:
        raise ConformanceError("no backend is available: " + "; ".join(f"{k}: {v}" for k, v in unavailable.items()))
    return loaded, unavailable


def _run_seed(args) -> int | None:
    """The run's seed: the one given, else a fresh one for a random profile (printed and recorded,
    so that ``--seed`` repeats the run after the fact); None for a derandomized profile (``ci``),
    whose cases are the same on every run."""
    from conformance.profiles import profile_settings

    if args.seed is not None or profile_settings(args.profile, args.examples).derandomize:
        return args.seed
    return secrets.randbits(32)


def _probe_cache(args):
    """Where probe verdicts are kept and reused (``conformance.probe_cache``)."""
    from conformance.probe_cache import ProbeCache, default_directory

    return ProbeCache(default_directory(), fresh=args.fresh_probes)


def _seed_text(args) -> str:
    if args.seed is None:
        return f"seed: none needed (the {args.profile} profile is derandomized: the same cases on every run)"
    return f"seed: {args.seed} (--seed {args.seed} repeats this run)"


def _settings(args):
    from conformance.profiles import profile_settings

    return profile_settings(args.profile, args.examples, args.seed)


def _divergences(args):
    from conformance.divergences import load_manifest

    if args.no_known_divergences:
        return []
    entries = load_manifest()
    for path in [*args.project_manifests, *args.known_divergences]:
        entries += load_manifest(path)
    return entries


def _feature_names(declaration) -> set[str]:
    """The features of the operator's cases, read off its minimal case."""
    from hypothesis import find, settings

    from conformance.profiles import register_profiles

    register_profiles()
    minimal = find(declaration.cases(), lambda _: True, settings=settings(settings.get_profile("ci"), max_examples=10))
    return set(declaration.features(minimal))


def _console():
    from rich.console import Console

    return Console()


def _plain(text: str) -> str:
    """Text shown as it is by rich, whose markup would eat ``[onednn=off]``."""
    from rich.markup import escape

    return escape(text)


def _table(*columns: str):
    from rich.table import Table

    table = Table(*columns)
    return table


def _print_json(data) -> None:
    print(json.dumps(data, indent=2))


def _default_specs() -> list[str]:
    from conformance.backends import default_specs

    return default_specs()


STATUS_STYLES = {"agree": "green", "known_divergence": "yellow", "unsupported": "dim", "inconclusive": "bold yellow",
                 "disagree": "bold red",
                 "error": "bold magenta", "timeout": "bold dark_orange"}


def _print_summary(report) -> None:
    """On a terminal, the matrix as a coloured table; elsewhere (CI logs), the Markdown matrix."""
    from rich.console import Console

    from conformance.report.build import columns, operators, status_counts
    from conformance.report.markdown import judged_count, markdown
    from conformance.summary import ratio_text

    console = Console()
    if not console.is_terminal:
        print(markdown(report))
        return
    cols = columns(report)
    cells = {(r["op"], r["backend"], r["backend_version"]): r for r in report["results"]}
    table = _table("operator", *(_plain(f"{b} {v}") for b, v in cols))
    for op in operators(report):
        texts = []
        for b, v in cols:
            r = cells.get((op, b, v))
            if r is None:
                texts.append("")
                continue
            text = f"[{STATUS_STYLES.get(r['status'], '')}]{r['status'].replace('_', ' ')}[/]"
            if r["examples"]:
                text += f" {judged_count(r)} judged, {ratio_text(r['max_error_ratio'])}×"
            if r.get("diagnosis"):
                text += f"\n{_plain(', '.join(r['diagnosis']))}"
            if r.get("unexpected_passes"):
                text += "\n[bold red]unexpected pass[/]"
            texts.append(text)
        table.add_row(op, *texts)
    console.print(table)
    counts = ", ".join(f"[{STATUS_STYLES[s]}]{n} {s.replace('_', ' ')}[/]" for s, n in status_counts(report).items() if n)
    console.print(f"{len(report['results'])} cells: {counts}")


@contextmanager
def _report_progress(cells: int, examples: int) -> Iterator:
    """Report events driving a rich progress display on a terminal: cells done, and each running cell."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from conformance.report import Events

    console = Console(stderr=True)
    if not console.is_terminal:
        yield Events()
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        overall = progress.add_task("cells", total=cells)
        running: dict[int, object] = {}

        def started(cell) -> None:
            running[cell.index] = progress.add_task(_plain(f"  {cell.op} on {cell.backend}"), total=examples)

        def example(cell) -> None:
            if cell.index in running:
                progress.advance(running[cell.index])

        def finished(cell, result) -> None:
            task = running.pop(cell.index, None)
            if task is not None:
                progress.remove_task(task)
            progress.advance(overall)

        yield Events(started, example, finished)


@contextmanager
def _progress(enabled: bool) -> Iterator:
    """Yields ``add(description, total) -> advance``; a rich progress bar on a terminal, else silent."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not (enabled and console.is_terminal):
        yield lambda description, total: (lambda: None)
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        def add(description: str, total: int):
            task = progress.add_task(description, total=total)
            return lambda: progress.advance(task)

        yield add


if __name__ == "__main__":
    sys.exit(main())
