"""TensorFlow's execution facts: whether it runs oneDNN, which oneDNN instruction set, for which dtypes.

TensorFlow decides at import whether to run its oneDNN kernels: ``TF_ENABLE_ONEDNN_OPTS`` if
set, else by CPU (on Linux, only CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX;
``DefaultOneDnnPolicy`` in ``tensorflow/core/util/port.cc``). Even then a dtype goes to oneDNN
only where the CPU has the instructions TensorFlow asks for it (float16 wants AVX512_FP16, AMX-FP16
or AVX-NE-CONVERT: ``IsDataTypeSupportedByOneDNNOnThisCPU`` in ``tensorflow/core/util/util.cc``),
and the rest run on Eigen, whose kernels differ (Eigen's CPU Conv3D refuses dilations). oneDNN
itself uses the best instruction set the CPU has, capped by ``ONEDNN_MAX_CPU_ISA``.

Rather than reimplement those rules, a probe measures them: a fresh Python process with the
backend's environment and ``ONEDNN_VERBOSE=1`` runs a small Conv2D in each float dtype, and
oneDNN's own log says its version, its instruction set, and which dtypes reached its kernels:

- ``onednn``: whether TensorFlow's oneDNN operations are on (``IsMklEnabled``);
- ``onednn_isa``: the instruction set oneDNN uses (its ``ONEDNN_MAX_CPU_ISA`` name, such as
  ``avx2`` or ``avx512_core_bf16``). It matters with the oneDNN operations off too: Eigen's
  float32 matrix products, inside its convolutions, call oneDNN's sgemm (measured: the log shows
  ``gemm_api`` calls with ``TF_ENABLE_ONEDNN_OPTS=0``). None if oneDNN never ran;
- ``onednn_dtypes``: the dtypes whose Conv2D ran on oneDNN's convolution (the others run on
  Eigen's); empty when the oneDNN operations are off;
- ``onednn_version``: the version oneDNN logs, or None.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable, Mapping

from conformance.errors import ConformanceError

PROBE_TIMEOUT_SECONDS = 300
MARKER = "conformance-facts:"
# oneDNN's names for its instruction sets, as its verbose log spells them out
# (``isa_info_t::get_name`` in oneDNN's src/cpu/x64/cpu_isa_traits.cpp).
ONEDNN_ISA_NAMES = {
    "Intel AVX-512 with float16, Intel DL Boost and bfloat16 support and Intel AMX with bfloat16, float16"
    " and 8-bit integer support (preview support)": "avx512_core_amx_fp16",
    "Intel AVX-512 with float16, Intel DL Boost and bfloat16 support and Intel AMX with bfloat16 and 8-bit"
    " integer support": "avx512_core_amx",
    "Intel AVX-512 with float16, Intel DL Boost and bfloat16 support": "avx512_core_fp16",
    "Intel AVX-512 with Intel DL Boost and bfloat16 support on Ymm/Zmm": "avx512_core_bf16_ymm",
    "Intel AVX-512 with Intel DL Boost and bfloat16 support": "avx512_core_bf16",
    "Intel AVX-512 with Intel DL Boost": "avx512_core_vnni",
    "Intel AVX-512 with AVX512BW, AVX512VL, and AVX512DQ extensions": "avx512_core",
    "Intel AVX2 with Intel DL Boost, float16 and bfloat16 support (preview support)": "avx2_vnni_2",
    "Intel AVX2 with Intel DL Boost": "avx2_vnni",
    "Intel AVX2": "avx2",
    "Intel AVX": "avx",
    "Intel SSE4.1": "sse41",
    "Intel 64": "any",
}
ONEDNN_DTYPES = {"f16": "float16", "bf16": "bfloat16", "f32": "float32", "f64": "float64"}
FACT_NAMES = ("onednn", "onednn_isa", "onednn_dtypes", "onednn_version")
PROBED_DTYPES = ("float16", "bfloat16", "float32", "float64")


def tensorflow_facts(environment: Mapping[str, str], while_probing: Callable[[], object] | None = None) -> dict:
    """The facts of a TensorFlow imported with ``environment`` added to this process's, probed once
    per process, and kept on disk (``_kept_path``) for the next process on the same machine and set-up.
    ``while_probing`` runs while the probe's process does: importing TensorFlow here, say, which
    the probe's own import would otherwise delay by as long again (4 to 5 s each)."""
    key = tuple(sorted(environment.items()))
    if key not in _PROBED:
        kept = _kept_path(environment)
        facts = _read_kept(kept)
        if facts is None:
            probe = _start_probe(environment)
            if while_probing is not None:
                while_probing()
            facts = _probe_result(probe)
            _keep(kept, facts)
        _PROBED[key] = facts
    return dict(_PROBED[key])


_PROBED: dict[tuple[tuple[str, str], ...], dict] = {}  # facts by environment, for this process
# What else decides TensorFlow's kernels, besides the CPU: its variables and oneDNN's, OpenMP's, the loader's;
# not its logging's, which ``import_tensorflow`` sets (a process that imported TensorFlow must find the same facts).
DECIDING_VARIABLES = ("TF_", "ONEDNN_", "DNNL_", "MKL", "OMP_", "KMP_", "LD_PRELOAD", "LD_LIBRARY_PATH")
LOGGING_VARIABLES = ("TF_CPP_MIN_LOG_LEVEL", "TF_CPP_MAX_VLOG_LEVEL", "TF_CPP_VMODULE", "ONEDNN_VERBOSE",
                     "DNNL_VERBOSE")


def _kept_path(environment: Mapping[str, str]) -> Path:
    """Where the facts probed under this set-up are kept: in the probe cache's directory
    (``conformance.probe_cache``), named by a hash of everything the probe's answer depends on: the
    CPU (vendor, microarchitecture and every feature flag), the TensorFlow installed and the
    Python running it, the variables TensorFlow and oneDNN read, the backend's environment, and
    this probe's source. Anything else changed, another file is read, or the probe runs again."""
    import archspec.cpu

    from conformance.backends import distribution_version
    from conformance.probe_cache import default_directory

    detected = archspec.cpu.detect.detected_info()
    deciding = {k: v for k, v in os.environ.items()
                if k.startswith(DECIDING_VARIABLES) and k not in LOGGING_VARIABLES}
    material = {
        "cpu": [detected.vendor, archspec.cpu.host().name, sorted(detected.features)],
        "tensorflow": distribution_version("tensorflow-cpu", "tensorflow", "tensorflow-intel"),
        "python": sys.executable,
        "environment": sorted({**deciding, **environment}.items()),
        "probe": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:24]
    return default_directory() / "facts" / f"tensorflow-{digest}.json"


def _read_kept(path: Path) -> dict | None:
    try:
        facts = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return facts if isinstance(facts, dict) and set(facts) == set(FACT_NAMES) else None


def _keep(path: Path, facts: dict) -> None:
    """Write atomically (a report's workers probe at once); a directory that cannot be written keeps nothing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(facts, sort_keys=True))
        os.replace(partial, path)
    except OSError:
        pass


def _start_probe(environment: Mapping[str, str]) -> subprocess.Popen:
    env = {**os.environ, **environment, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("DNNL_VERBOSE", None)
    return subprocess.Popen([sys.executable, "-m", __name__], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _probe_result(probe: subprocess.Popen) -> dict:
    try:
        stdout, stderr = probe.communicate(timeout=PROBE_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.communicate()
        raise ConformanceError(f"TensorFlow's facts probe took more than {PROBE_TIMEOUT_SECONDS} s") from None
    facts = parse_probe_output(stdout)
    if facts is None:
        tail = " ".join((stderr or stdout).split()[-60:])
        raise ConformanceError(f"TensorFlow's facts probe failed (exit status {probe.returncode}): {tail}")
    return facts


def parse_probe_output(stdout: str) -> dict | None:
    """The facts from the probe's standard output (oneDNN's log and the probe's line), or None."""
    reported = None
    version, isa, dtypes = None, None, set()
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            reported = json.loads(line[len(MARKER):])
            continue
        if not line.startswith(("onednn_verbose,", "dnnl_verbose,")):
            continue
        fields = line.split(",")
        found = re.search(r"\b(?:oneDNN|DNNL) v(\d+\.\d+(?:\.\d+)?)", line)
        if found:
            version = found.group(1)
        if "isa:" in line or "Detected ISA is" in line:
            text = re.split(r"isa:|Detected ISA is", line, maxsplit=1)[1].strip()
            isa = ONEDNN_ISA_NAMES.get(text) or re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
        if "exec" in fields and "convolution" in fields:
            source = re.search(r"\bsrc_?[a-z]*:([a-z0-9]+):", line)
            if source and source.group(1) in ONEDNN_DTYPES:
                dtypes.add(ONEDNN_DTYPES[source.group(1)])
    if reported is None:
        return None
    return {"onednn": bool(reported["onednn"]), "onednn_isa": isa, "onednn_dtypes": sorted(dtypes),
            "onednn_version": version}


def _main() -> None:
    """The probe itself: run with ``ONEDNN_VERBOSE=1``; oneDNN logs to standard output."""
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    for dtype in PROBED_DTYPES:
        try:
            x = tf.constant(np.ones((1, 4, 4, 2)), dtype=dtype)
            w = tf.constant(np.ones((2, 2, 2, 2)), dtype=dtype)
            tf.nn.conv2d(x, w, strides=1, padding="VALID").numpy()
        except Exception:  # noqa: BLE001 - a dtype without a CPU kernel is simply not one oneDNN runs
            pass
    sys.stdout.flush()
    print(MARKER + json.dumps({"onednn": bool(_pywrap_util_port.IsMklEnabled())}), flush=True)


if __name__ == "__main__":
    _main()
