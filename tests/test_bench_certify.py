"""``conformance bench certify``: the arithmetic and the runs it asks for, on a stand-in command
whose wall times are known; and one real ``certify`` run, so that the JSON it reads is the real one."""

from __future__ import annotations

import pytest

from conformance.bench_certify import (Timed, certify_command, format_certify_benchmark, marginal_rate,
                                       run_certify_benchmark, run_command)
from conformance.cli import main
from conformance.errors import ConformanceError


class StandIn:
    """A certify command that takes 1 s to start, 10 ms per example per backend, and 2 s of probes on
    an empty cache (0.1 s on the verdicts kept): what each run was asked, recorded."""

    def __init__(self):
        self.calls: list[tuple[list[str], str]] = []
        self.kept: set[str] = set()

    def __call__(self, command, cache, failures):
        self.calls.append((list(command), cache))
        backends = [command[i + 1] for i, word in enumerate(command) if word == "--backend"]
        examples = int(command[command.index("--examples") + 1])
        probes = 0.1 if cache in self.kept else 2.0
        self.kept.add(cache)
        return Timed(1.0 + 0.01 * examples * len(backends) + probes, probes, ("agree",) * len(backends))


def test_each_backend_alone_and_all_together_at_two_counts_first_on_an_empty_cache_then_again():
    stand_in = StandIn()
    results = run_certify_benchmark("Conv", ["a", "b", "c"], (350, 50), repeats=2, runner=stand_in)
    assert results["counts"] == [50, 350]
    assert [row["backends"] for row in results["rows"]] == [["a"], ["b"], ["c"], ["a", "b", "c"]]
    assert len(stand_in.calls) == 4 * 2 * (1 + 2)
    caches = [cache for _, cache in stand_in.calls]
    assert caches[0::3] == caches[1::3] == caches[2::3] and len(set(caches)) == 8, \
        "second runs reuse their first run's cache, and only theirs"
    alone, together = results["rows"][0], results["rows"][3]
    assert alone["second"]["marginal_examples_per_second"] == pytest.approx(100.0)
    assert together["second"]["marginal_examples_per_second"] == pytest.approx(100.0 / 3)
    assert together["first"]["probe_share"][0] == pytest.approx(2.0 / (1.0 + 1.5 + 2.0))
    assert together["second"]["probe_share"][0] == pytest.approx(0.1 / (1.0 + 1.5 + 0.1))
    text = format_certify_benchmark(results)
    assert "a + b + c" in text and "33.3" in text and "100.0" in text


def test_the_marginal_rate_is_none_where_more_examples_were_not_slower():
    assert marginal_rate(50, 10.0, 350, 12.0) == pytest.approx(150.0)
    assert marginal_rate(50, 10.0, 350, 9.0) is None
    with pytest.raises(ConformanceError, match="two different"):
        run_certify_benchmark("Conv", ["a"], (50, 50), runner=StandIn())


def test_the_command_timed_is_the_real_certify_and_its_json_gives_the_probes_time(tmp_path):
    timed = run_command(certify_command("Relu", ["reference"], 3), str(tmp_path / "probes"), str(tmp_path / "f"))
    assert timed.statuses == ("agree",) and timed.seconds > timed.probe_seconds >= 0.0


@pytest.mark.parametrize("argv, message", [
    (["bench", "certify", "Nope"], "unknown operator"),
    (["bench", "certify", "Conv", "Relu"], "one operator"),
    (["bench", "Conv", "--counts", "5", "15"], "belongs to `conformance bench certify`"),
])
def test_bench_usage_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_fastest_second_run_is_kept():
    times = iter([9.0, 5.0, 3.0, 4.0, 19.0, 15.0, 6.0, 14.0])  # per count: a first run, then three second runs

    def runner(command, cache, failures):
        return Timed(next(times), 0.0, ("agree",))

    (row,) = run_certify_benchmark("Relu", ["a"], (10, 40), repeats=3, runner=runner)["rows"]
    assert row["first"]["seconds"] == [9.0, 19.0] and row["second"]["seconds"] == [3.0, 6.0]
    assert row["second"]["marginal_examples_per_second"] == pytest.approx(10.0)
