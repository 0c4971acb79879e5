"""``conformance bench model [NAME]``: what the model check costs, against merely running the model.

One of the light models the ``onnx`` wheel ships (``resnet50`` by default), its constants folded and
weights drawn (``--random-weights 0``), input drawn (seed 0), is measured in fresh processes:

- onnx.reference running it once (the first run, as a user's would be);
- ``conformance.model.check_model`` on the backends (reference, onnxruntime and tensorflow by
  default), after they are loaded and imported (their start-up is not the check's): its wall time,
  and the process's peak resident memory.

The ratio of the two times is the figure the model check is held to (at most 5x); each is the
fastest of ``REPEATS`` processes (one with ``--quick``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from conformance.errors import ConformanceError

BACKENDS = ("reference", "onnxruntime", "tensorflow")
DEFAULT_MODEL = "resnet50"
REPEATS = 3  # fresh processes per measurement, the fastest kept


def light_models() -> dict[str, Path]:
    """The light models of the onnx wheel, by name (``resnet50``, ``bvlc_alexnet``, ...)."""
    import onnx

    folder = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
    return {p.stem.removeprefix("light_"): p for p in sorted(folder.glob("light_*.onnx"))}


def run_model_benchmark(name: str = DEFAULT_MODEL, backends: Sequence[str] = BACKENDS,
                        repeats: int = REPEATS) -> dict:
    """Each measurement ``repeats`` times, a fresh process each, the fastest kept (this machine's
    speed varies by tens of percent from one run to the next); the largest peak memory."""
    models = light_models()
    if name not in models:
        raise ConformanceError(f"no light model {name!r}; the onnx wheel ships {', '.join(models)}")
    references = [_child("onnx-reference", models[name], ()) for _ in range(repeats)]
    checks = [_child("check", models[name], backends) for _ in range(repeats)]
    reference, check = min(references, key=lambda r: r["seconds"]), min(checks, key=lambda r: r["seconds"])
    return {"model": name, "backends": list(backends), "repeats": repeats,
            "onnx_reference_seconds": reference["seconds"], "check_seconds": check["seconds"],
            "ratio": check["seconds"] / reference["seconds"],
            "check_peak_rss_bytes": max(c["peak_rss_bytes"] for c in checks), "statuses": check["statuses"]}


def format_model_benchmark(results: dict) -> str:
    return "\n".join([
        f"{results['model']} (light, random weights 0), checked on {', '.join(results['backends'])}"
        f" (the fastest of {results['repeats']} fresh processes each):",
        f"  onnx.reference, one run:      {results['onnx_reference_seconds']:.2f} s",
        f"  conformance model check:      {results['check_seconds']:.2f} s"
        f" ({results['ratio']:.1f}x; the goal is at most 5x)",
        f"  check's peak resident memory: {results['check_peak_rss_bytes'] / 2**30:.2f} GiB (the goal: under 2 GiB)",
        "  verdicts: " + ", ".join(f"{b} {s}" for b, s in results["statuses"].items()),
    ])


def _child(mode: str, path: Path, backends: Sequence[str]) -> dict:
    done = subprocess.run([sys.executable, "-m", __name__, mode, str(path), *backends], capture_output=True,
                          text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if done.returncode != 0:
        raise ConformanceError(f"bench model ({mode}) failed: {' '.join(done.stderr.split()[-40:])}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure(mode: str, path: str, specs: Sequence[str]) -> dict:
    from conformance.model.inputs import drawn_inputs
    from conformance.model.load import load_model_file
    from conformance.model.weights import fold_constants, randomize_weights

    model = load_model_file(path)
    fold_constants(model)
    randomize_weights(model, 0)
    inputs = drawn_inputs(model)
    if mode == "onnx-reference":
        from onnx.reference import ReferenceEvaluator

        evaluator = ReferenceEvaluator(model)
        started = time.perf_counter()
        evaluator.run(None, inputs)
        return {"seconds": time.perf_counter() - started}
    from conformance.backends import load_backend
    from conformance.case import Case
    from conformance.environment import execution_facts
    from conformance.model.check import check_model

    backends = [load_backend(spec) for spec in specs]
    warm_up = Case("Relu", {"X": np.ones((1, 2), np.float32)})
    for backend in backends:  # start-up, not the check: facts probed, TensorFlow imported, first kernels built
        execution_facts(backend)
        backend.run(warm_up.model, warm_up.feeds)
    started = time.perf_counter()
    result = check_model(model, backends, inputs, name=Path(path).stem)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_bytes": _peak_rss_bytes(),
            "statuses": {r.backend: r.status for r in result.results}}


def _peak_rss_bytes() -> int:
    """This process's peak resident memory: Linux's VmHWM, the high-water mark of its own address
    space. ``getrusage``'s ru_maxrss is not: a process forked from a larger one and then exec'd
    starts from its parent's peak (a pytest worker's, say)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux; elsewhere a bound


if __name__ == "__main__":
    print(json.dumps(_measure(sys.argv[1], sys.argv[2], sys.argv[3:])))
