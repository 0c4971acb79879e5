"""The backend contract: loading by spec, plug-ins, entry points, adapters, unavailable packages."""

from __future__ import annotations

import re
import sys
import textwrap

import numpy as np
import pytest

from conformance import BackendUnavailable, ConformanceError, Unsupported, load_backend
from conformance.backends import (
    BUILT_INS,
    BuiltIn,
    backend_status,
    base_name,
    default_specs,
    known_specs,
    parse_spec,
    spec_of,
    supports,
)
from conformance.case import Case
from conformance.certify import run_example
from conformance.ops import get_declaration
from tests import planted

CONV = get_declaration("Conv")


def small_conv(**attributes) -> Case:
    rng = np.random.default_rng(0)
    return Case("Conv", {"X": rng.standard_normal((2, 3, 5, 5)).astype(np.float32),
                         "W": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
                         "B": rng.standard_normal(4).astype(np.float32)}, attributes)


@pytest.mark.parametrize("name", list(BUILT_INS))
def test_built_in_backends_load_and_run_a_conv(name):
    backend = load_backend(name)
    assert backend.name == name and backend.version
    outcome = run_example(CONV, backend, small_conv(pads=[1, 0, 1, 2], strides=[2, 1]))
    assert outcome.status == "agree", outcome.message


def test_module_attr_specs_accept_a_class_or_an_instance(tmp_path, monkeypatch):
    (tmp_path / "my_backends.py").write_text(textwrap.dedent("""
        from tests.planted import FlippedKernel
        Flipped = FlippedKernel
        flipped = FlippedKernel()
        class NotABackend:
            name = "no-run"
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_backend("my_backends:Flipped").name == "planted-flipped-kernel"
    assert load_backend("my_backends:flipped").name == "planted-flipped-kernel"
    with pytest.raises(ConformanceError, match="is not a backend: it lacks version, run"):
        load_backend("my_backends:NotABackend")
    with pytest.raises(ConformanceError, match="has no attribute 'Missing'"):
        load_backend("my_backends:Missing")
    sys.modules.pop("my_backends", None)


@pytest.mark.parametrize("spec, message", [
    ("nope", "unknown backend 'nope'"),
    ("", "empty backend spec"),
    ("no_such_module_xyz:Backend", "cannot import 'no_such_module_xyz'"),
    (":Backend", "not of the form module.path:Attr"),
])
def test_bad_specs_give_one_clear_line(spec, message):
    with pytest.raises(ConformanceError, match=message) as raised:
        load_backend(spec)
    assert "\n" not in str(raised.value)


def test_entry_point_backends_are_found_by_name(tmp_path, monkeypatch):
    dist = tmp_path / "fake_backend-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-backend\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[conformance.backends]\nfake-flipped = tests.planted:FlippedKernel\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "fake-flipped" in known_specs()
    assert load_backend("fake-flipped").name == "planted-flipped-kernel"


def test_a_backend_whose_package_is_missing_is_unavailable_with_the_reason(monkeypatch):
    monkeypatch.setitem(BUILT_INS, "ghost", BuiltIn("ghost", "ghost_pkg_xyz:Backend", ("ghost_pkg_xyz",)))
    with pytest.raises(BackendUnavailable, match="'ghost_pkg_xyz' is not installed"):
        load_backend("ghost")
    status = backend_status("ghost", facts=True)
    assert status.as_dict() == {"name": "ghost", "version": "", "available": False,
                                "reason": "Python package 'ghost_pkg_xyz' is not installed", "facts": None}
    monkeypatch.setitem(BUILT_INS, "ghost", BuiltIn("ghost", "ghost_pkg_xyz:Backend", ("ghost_pkg_xyz",)))
    with pytest.raises(BackendUnavailable, match="backend 'ghost\\[x=1\\]' is unavailable"):
        load_backend("ghost[x=1]")


class Configurable(planted.FlippedKernel):
    """A plug-in with options: ``Configurable[mode=fast]``."""

    def __init__(self, mode: str = "exact"):
        if mode not in ("exact", "fast"):
            raise ConformanceError(f"mode must be exact or fast, not {mode!r}")
        self.name = f"configurable[mode={mode}]"


def test_spec_options_reach_the_backend_class_as_keyword_arguments():
    assert load_backend(f"{__name__}:Configurable[mode=fast]").name == "configurable[mode=fast]"
    assert load_backend(f"{__name__}:Configurable [ mode = fast ]").name == "configurable[mode=fast]"
    assert load_backend(f"{__name__}:Configurable[]").name == "configurable[mode=exact]"
    assert parse_spec("tensorflow[onednn=off,isa=avx2]") == ("tensorflow", {"onednn": "off", "isa": "avx2"})
    assert base_name("tensorflow[onednn=off]") == "tensorflow" and base_name("reference") == "reference"


@pytest.mark.parametrize("spec, message", [
    ("tests.test_backends:Configurable[speed=fast]", "unknown option speed; it takes mode"),
    ("tests.test_backends:Configurable[mode=slow]", "mode must be exact or fast, not 'slow'"),
    ("tests.test_backends:Configurable[mode]", "options are key=value pairs, not 'mode'"),
    ("tests.test_backends:Configurable[mode=fast]x", "options go in one trailing"),
    ("reference[onednn=off]", "unknown option onednn; it takes no options"),
    ("tensorflow[onednn=maybe]", "onednn must be on or off, not 'maybe'"),
    ("tensorflow[isa=AVX2]", "isa must be a oneDNN instruction set"),
    ("onnxruntime.backend.backend:OnnxRuntimeBackend[x=1]", "this backend takes no options"),
])
def test_bad_options_give_one_clear_line(spec, message):
    with pytest.raises(ConformanceError, match=re.escape(message)) as raised:
        load_backend(spec)
    assert "\n" not in str(raised.value)


def test_a_backend_with_options_names_itself_with_them_and_reloads_from_that_name():
    pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    backend = load_backend("tensorflow[onednn=on,isa=avx2]")
    assert backend.name == "tensorflow[onednn=on,isa=avx2]" and spec_of(backend) == backend.name
    assert backend.environment == {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    assert load_backend("tensorflow").environment == {}
    assert "tensorflow[onednn=on]" in default_specs() and "tensorflow[onednn=off]" in default_specs()


def test_onnx_backend_api_adapter_certifies_onnxruntimes_own_backend():
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    backend = load_backend("onnxruntime.backend.backend:OnnxRuntimeBackend")
    assert backend.name == "onnxruntime.backend.backend:OnnxRuntimeBackend"
    assert backend.version == load_backend("onnxruntime").version
    assert run_example(CONV, backend, small_conv(auto_pad="SAME_UPPER")).status == "agree"


def test_onnxruntime_sessions_are_cached_per_model():
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    backend = load_backend("onnxruntime")
    case = small_conv()
    for _ in range(3):
        backend.run(case.model, case.feeds)
    assert len(backend._sessions) == 1


def test_tensorflow_says_what_it_cannot_express():
    pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    rng = np.random.default_rng(0)
    four_d = Case("Conv", {"X": rng.standard_normal((1, 1, 3, 3, 3, 3)).astype(np.float32),
                           "W": rng.standard_normal((1, 1, 2, 2, 2, 2)).astype(np.float32)}, {})
    outcome = run_example(CONV, load_backend("tensorflow"), four_d)
    assert outcome.status == "unsupported" and "1 to 3 spatial axes, not 4" in outcome.message
    assert supports(load_backend("tensorflow"), "Conv") and not supports(load_backend("tensorflow"), "NoSuchOp")


class Raising:
    name, version = "raising", "0"

    def __init__(self, error):
        self.error = error

    def run(self, model, inputs):
        raise self.error


def test_any_exception_but_unsupported_is_an_error_verdict_with_its_message():
    assert run_example(CONV, Raising(Unsupported("no such thing")), small_conv()).status == "unsupported"
    outcome = run_example(CONV, Raising(RuntimeError("kernel refused")), small_conv())
    assert outcome.status == "error" and outcome.message == "RuntimeError: kernel refused"


def test_a_backend_returning_something_else_than_a_list_is_an_error():
    class ReturnsArray:
        name, version = "array", "0"

        def run(self, model, inputs):
            return np.zeros(3)

    assert "a list of arrays is the contract" in run_example(CONV, ReturnsArray(), small_conv()).message


def test_backends_receive_read_only_inputs_so_the_reference_sees_what_they_saw():
    class Mutating:
        name, version = "mutating", "0"

        def run(self, model, inputs):
            inputs["X"][...] = 0
            return planted.RoundedOnce().run(model, inputs)

    outcome = run_example(CONV, Mutating(), small_conv())
    assert outcome.status == "error" and "read-only" in outcome.message
