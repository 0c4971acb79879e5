"""The ``[tool.conformance]`` table: read from the nearest pyproject.toml, checked key by key, used by
the command line and by the pytest plugin, and a malformed one is one ``error:`` line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cli import main
from conformance.errors import ConformanceError
from conformance.project import ProjectSettings, declared_operators, project_settings, settings_in

TABLE = '''
[project]
name = "my-runtime"

[tool.conformance]
backends = ["my_runtime:Backend", "onnxruntime"]
ops = ["Conv", "LRN,BatchNormalization"]
profile = "thorough"
known-divergences = ["conformance/known.toml"]
baseline = "conformance/baseline.json"
'''

MANIFEST = '''
[[divergence]]
id = "my-runtime-lrn-float64"
backend = "my-runtime"
op = "LRN"
when = { dtype = "float64" }
status = "error"
reason = "our LRN has no float64 kernel"
link = "https://example.org/lrn"
'''


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text(text)
    return path


def test_the_table_is_read_with_paths_relative_to_its_file(tmp_path):
    path = _write(tmp_path / "project", TABLE)
    found = project_settings(tmp_path / "project" / "src" / "deep")  # the nearest pyproject.toml above
    assert found == ProjectSettings(
        source=path.resolve(), backends=("my_runtime:Backend", "onnxruntime"),
        ops=("Conv", "LRN", "BatchNormalization"), profile="thorough",
        known_divergences=(path.resolve().parent / "conformance" / "known.toml",),
        baseline=path.resolve().parent / "conformance" / "baseline.json",
    )


def test_no_table_or_no_file_says_nothing(tmp_path):
    _write(tmp_path / "plain", '[project]\nname = "x"\n')
    assert project_settings(tmp_path / "plain") == ProjectSettings()
    assert settings_in(tmp_path / "nowhere" / "pyproject.toml") == ProjectSettings()


@pytest.mark.parametrize(("table", "message"), [
    ('backend = ["a:B"]', "unknown key 'backend'; did you mean 'backends'?"),
    ("ops = [1, 2]", "ops must be a list of strings"),
    ('ops = ["Cnov"]', "ops: unknown operator 'Cnov'; did you mean Conv?"),
    ("profile = 3", "profile must be a string"),
    ("baseline = [1]", "baseline must be a path"),
    ('known-divergences = [""]', "known-divergences must be a list of strings"),
])
def test_a_malformed_table_names_the_key(tmp_path, table, message):
    _write(tmp_path, f"[tool.conformance]\n{table}\n")
    with pytest.raises(ConformanceError, match="tool.conformance") as raised:
        settings_in(tmp_path / "pyproject.toml")
    assert message in str(raised.value)


def test_operators_are_checked_and_comma_lists_split():
    assert declared_operators(["Conv, LRN", "Conv"]) == ("Conv", "LRN")
    with pytest.raises(ConformanceError, match="did you mean .*Relu"):
        declared_operators(["relu6"])


@settings(max_examples=200)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
       | st.sampled_from(TABLE.splitlines()).flatmap(lambda line: st.just((TABLE + "\n" + line).encode())))
def test_fuzzed_files_are_read_or_refused_never_crash(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "pyproject.toml").write_bytes(data)
    try:
        settings_in(folder / "pyproject.toml")
    except ConformanceError:
        pass


@pytest.fixture
def in_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_command_line_takes_its_manifest_from_the_table(in_project, capsys):
    (in_project / "conformance").mkdir()
    (in_project / "conformance" / "known.toml").write_text(MANIFEST)
    _write(in_project, TABLE)
    assert main(["divergences", "--op", "LRN", "--json"]) == 0
    ids = [row["id"] for row in json.loads(capsys.readouterr().out)]
    assert "my-runtime-lrn-float64" in ids


def test_the_command_line_refuses_a_malformed_table_in_one_line(in_project, capsys):
    _write(in_project, "[tool.conformance]\nprofile = \"fast\"\n")
    assert main(["certify", "Relu", "--backend", "reference", "--examples", "5"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and "profile must be one of" in error


def test_a_table_profile_and_operators_drive_the_report(in_project, capsys):
    _write(in_project, '[tool.conformance]\nbackends = ["reference"]\nops = ["Relu"]\nprofile = "dev"\n'
                       'baseline = "base/line.json"\n')
    assert main(["report", "--examples", "3", "-j", "0", "--update-baseline", "--out", "out"]) == 0
    report = json.loads((in_project / "base" / "line.json").read_text())
    assert [(cell["op"], cell["backend"]) for cell in report["results"]] == [("Relu", "reference")]
    assert report["environment"]["profile"] == "dev"  # not report's own default, ci


@pytest.fixture
def pytester(pytester):
    """pytester, with this process's Hypothesis profile restored after the run inside it loads another."""
    profile = settings.get_current_profile_name()
    yield pytester
    settings.load_profile(profile)


def test_pytest_refuses_a_malformed_table(pytester):
    pytester.makepyprojecttoml('[tool.conformance]\nops = ["Conv2d"]\n')
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest("-p", "conformance.pytest_plugin", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown operator 'Conv2d'; did you mean Conv*"])


def test_pytest_takes_backends_and_operators_from_the_table(pytester):
    pytester.makepyprojecttoml('[tool.conformance]\nbackends = ["reference"]\nops = ["Relu", "Sigmoid"]\nprofile = "dev"\n')
    pytester.makepyfile(test_certify='''
        OPERATORS = ("Relu", "Conv", "Sigmoid")

        def test_family(op, backend, certify):
            certify(op, backend)
    ''')
    result = pytester.runpytest("-p", "conformance.pytest_plugin", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2, deselected=1)
    result.stdout.fnmatch_lines(["hypothesis profile 'dev'*", "*test_family?Relu-reference? PASSED*",
                                 "*test_family?Sigmoid-reference? PASSED*"])


def test_pytest_checks_the_projects_models_one_test_per_model_and_backend(pytester):
    from tests.models import chain_model

    (pytester.path / "models").mkdir()
    (pytester.path / "models" / "chain.onnx").write_bytes(chain_model([("Relu", {})]).SerializeToString())
    pytester.makepyprojecttoml('[tool.conformance]\nmodels = ["models/*.onnx"]\nbackends = ["tests.planted_models:Careful",'
                               ' "tests.planted_models:FlippedConvKernels"]\nops = ["Relu"]\n')
    pytester.makepyfile(test_my_models="from conformance.certification.test_models import *  # noqa: F403\n")
    result = pytester.runpytest("-p", "conformance.pytest_plugin", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_my_models.py::test_model?models/chain.onnx-tests.planted_models:Careful? PASSED*",
                                 "*test_model?models/chain.onnx-tests.planted_models:FlippedConvKernels? FAILED*",
                                 "*first divergence: node 0 'conv' (Conv): disagree*", "*diagnosis: flipped_kernel*"])


def test_a_models_pattern_that_matches_nothing_is_a_usage_error(pytester):
    pytester.makepyprojecttoml('[tool.conformance]\nmodels = ["modles/*.onnx"]\n')
    pytester.makepyfile(test_my_models="from conformance.certification.test_models import *  # noqa: F403\n")
    result = pytester.runpytest("-p", "conformance.pytest_plugin", "-p", "no:cacheprovider", "--backend", "reference")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*models: 'modles/*.onnx' matches no file*"])


@pytest.mark.parametrize(("pattern", "message"), [("/abs/*.onnx", "is not a relative glob pattern"),
                                                  ("models/*.onnx", "matches no file")])
def test_a_models_pattern_must_be_relative_and_match_a_file(tmp_path, pattern, message):
    _write(tmp_path, f'[tool.conformance]\nmodels = ["{pattern}"]\n')
    with pytest.raises(ConformanceError, match=message):
        settings_in(tmp_path / "pyproject.toml").model_files()
