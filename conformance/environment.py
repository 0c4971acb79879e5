"""Execution facts: what about the machine and a backend's set-up changes the backend's answers.

The same backend version can answer differently on another machine: TensorFlow runs oneDNN
kernels or its own Eigen kernels depending on the CPU and on ``TF_ENABLE_ONEDNN_OPTS``, oneDNN
picks its kernels by the instruction sets it may use, NumPy dispatches its loops by CPU feature.
So every backend may report such facts (an ``execution_facts()`` method returning a flat
mapping), the CPU's facts are added to them, reports record them, and a known divergence can
state the facts it holds under (its ``environment``, see ``conformance.divergences``).

A fact is a scalar (bool, int, str or None) or a sorted list of strings. The CPU's facts:

- ``cpu_vendor`` and ``cpu_model``, as the CPU names itself;
- ``cpu_microarchitecture``, archspec's name for it (``icelake``, ``zen4``, or a generic level
  such as ``x86_64_v4`` when a hypervisor hides the flags that would tell);
- ``cpu_flags``, those of ``CPU_FLAGS`` the CPU has: the instruction sets numeric kernels
  dispatch on, under Linux's names.

The CPU is read with archspec (Spack's CPU detection), not a parser of our own.
"""

from __future__ import annotations

import platform
from functools import cache
from pathlib import Path
from typing import Any, Mapping

from conformance.errors import ConformanceError

# The instruction sets that decide which kernels oneDNN, MLAS, Eigen and NumPy run. Names are
# Linux's /proc/cpuinfo flags, which archspec reports on every platform it knows.
CPU_FLAGS = (
    # x86-64
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c",
    "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
    "avx_vnni", "avx_ne_convert", "amx_tile", "amx_bf16", "amx_int8", "amx_fp16",
    # AArch64
    "asimd", "asimdhp", "asimddp", "bf16", "i8mm", "sve", "sve2", "svebf16", "sme",
)
CPU_FACTS = ("cpu_vendor", "cpu_model", "cpu_microarchitecture", "cpu_flags")
# Facts that name a machine without changing what it computes: a different model name with the
# same flags is the same environment to a verdict.
DESCRIPTIVE_FACTS = ("cpu_model",)

Fact = bool | int | float | str | None | list[str]


def available_cores() -> int:
    """The cores this process may use (its CPU affinity, where the platform has one)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@cache
def cpu_facts() -> dict[str, Fact]:
    """The CPU's facts (see the module docstring); read once per process."""
    import archspec.cpu
    from archspec.cpu import detect

    detected = detect.detected_info()
    return {
        "cpu_vendor": detected.vendor or None,
        "cpu_model": archspec.cpu.brand_string() or _proc_cpuinfo_model() or platform.processor() or None,
        "cpu_microarchitecture": archspec.cpu.host().name,
        "cpu_flags": sorted(set(CPU_FLAGS) & set(detected.features)),
    }


def _proc_cpuinfo_model() -> str | None:
    """The model name Linux gives (archspec has a brand string for x86-64 and macOS only)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model")):
                return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return None


@cache
def numpy_facts() -> dict[str, Fact]:
    """``numpy_simd``: the SIMD targets NumPy dispatches its loops to on this CPU (exp, log and
    friends round differently under AVX-512); ``NPY_DISABLE_CPU_FEATURES`` changes them."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as umath
    features = getattr(umath, "__cpu_features__", {})
    dispatch = getattr(umath, "__cpu_dispatch__", [])
    return {"numpy_simd": sorted(target for target in dispatch if features.get(target))}


def execution_facts(backend: Any) -> dict[str, Fact]:
    """The CPU's facts and the backend's own (``execution_facts()``, if it has one)."""
    facts: dict[str, Fact] = dict(cpu_facts())
    own = getattr(backend, "execution_facts", None)
    if own is None:
        return facts
    reported = own()
    for key, value in reported.items():
        if key in CPU_FACTS:
            raise ConformanceError(f"backend {backend.name!r} reports {key!r}, a CPU fact the harness measures itself")
        if not _is_fact(value):
            raise ConformanceError(f"backend {backend.name!r}: execution fact {key!r} = {value!r} is neither a scalar"
                                   " nor a list of strings")
        facts[key] = sorted(value) if isinstance(value, (list, tuple)) else value
    return facts


def backend_facts(facts: Mapping[str, Fact]) -> dict[str, Fact]:
    """The facts a backend reported itself (the CPU's left out, as reports keep those once)."""
    return {k: v for k, v in facts.items() if k not in CPU_FACTS}


def comparable(facts: Mapping[str, Fact]) -> dict[str, Fact]:
    """The facts that can change a verdict (descriptive ones, like the CPU's model name, left out)."""
    return {k: v for k, v in facts.items() if k not in DESCRIPTIVE_FACTS}


def _is_fact(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, str) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


# -- conditions on facts -------------------------------------------------------------------------


def check_condition(condition: Any, where: str) -> None:
    """ConformanceError unless ``condition`` is a well-formed environment condition (see ``holds``)."""
    if not isinstance(condition, dict):
        raise ConformanceError(f"{where}: environment must map execution facts to the values they must have")
    for key, wanted in condition.items():
        if isinstance(wanted, dict):
            sets, ranges = set(wanted) <= {"includes", "excludes"}, set(wanted) <= {"min", "max"}
            values_ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in wanted.values())
            if not wanted or not (sets or (ranges and values_ok)):
                raise ConformanceError(
                    f"{where}: environment.{key} must be a value, a list of values, {{ includes = .., excludes = .. }}"
                    " (for a list fact such as cpu_flags) or { min = .., max = .. }"
                )


def holds(condition: Mapping[str, Any], facts: Mapping[str, Fact] | None) -> bool:
    """Whether ``facts`` satisfy ``condition``; True when the facts are unknown (None).

    Each key names a fact. For a scalar fact the value is a value to equal, a list of values
    (one of them), or a range ``{ min = .., max = .. }``. For a list fact (``cpu_flags``,
    ``onednn_dtypes``) a string or a list names members it must include; ``{ includes = [..],
    excludes = [..] }`` also names members it must not. A fact the backend does not report does
    not hold: the condition describes a set-up other than this backend's.
    """
    if facts is None:
        return True
    return all(key in facts and _fact_satisfies(facts[key], wanted) for key, wanted in condition.items())


def _fact_satisfies(value: Fact, wanted: Any) -> bool:
    if isinstance(value, list):
        if isinstance(wanted, dict):
            includes, excludes = _as_list(wanted.get("includes", [])), _as_list(wanted.get("excludes", []))
        else:
            includes, excludes = _as_list(wanted), []
        return all(v in value for v in includes) and not any(v in value for v in excludes)
    if isinstance(wanted, list):
        return value in wanted
    if isinstance(wanted, dict):
        if "includes" in wanted or "excludes" in wanted or value is None or isinstance(value, (bool, str)):
            return False
        return wanted.get("min", value) <= value <= wanted.get("max", value)
    return value == wanted


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def condition_text(condition: Mapping[str, Any]) -> str:
    """``onednn = false, cpu_flags includes avx512f``: a condition for people to read."""
    parts = []
    for key, wanted in condition.items():
        if isinstance(wanted, dict):
            parts += [f"{key} {op} {_value_text(wanted[op])}" for op in ("includes", "excludes") if op in wanted]
            if "min" in wanted:
                parts.append(f"{key} >= {wanted['min']}")
            if "max" in wanted:
                parts.append(f"{key} <= {wanted['max']}")
        elif isinstance(wanted, list):
            parts.append(f"{key} in {_value_text(wanted)}")
        else:
            parts.append(f"{key} = {_value_text(wanted)}")
    return ", ".join(parts)


def facts_text(facts: Mapping[str, Fact], keys: Any = None) -> str:
    """``onednn = true, onednn_isa = avx512_core_bf16``: facts (or those named by ``keys``) for people."""
    return ", ".join(fact_lines(facts, keys))


def fact_lines(facts: Mapping[str, Fact], keys: Any = None) -> list[str]:
    """``["onednn = true", ...]``: one text per fact (or per fact named by ``keys``)."""
    keys = facts.keys() if keys is None else [k for k in keys if k in facts]
    return [f"{k} = {_value_text(facts[k])}" for k in keys]


def _value_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)


def differences(old: Mapping[str, Fact] | None, new: Mapping[str, Fact] | None) -> list[str]:
    """What changed between two sets of facts, one line per fact (empty when either is unknown).

    List facts show what was added and removed (``cpu_flags +avx512_fp16 -amx_tile``).
    """
    if old is None or new is None:
        return []
    old, new = comparable(old), comparable(new)
    lines = []
    for key in [*old, *(k for k in new if k not in old)]:
        before, after = old.get(key, "absent"), new.get(key, "absent")
        if before == after:
            continue
        if isinstance(before, list) and isinstance(after, list):
            changes = [f"+{v}" for v in after if v not in before] + [f"-{v}" for v in before if v not in after]
            lines.append(f"{key} {' '.join(changes)}")
        else:
            lines.append(f"{key} {_value_text(before)} → {_value_text(after)}")
    return lines
