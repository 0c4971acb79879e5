"""The shards of ``certify_together``'s search, run in worker processes while the caller runs the first.

A search split into shards (``certify.shard_examples``) is the same work on one process or many:
each shard is its own seeded search, so where it runs does not change its cases. Workers are
spawned (TensorFlow and onnxruntime do not survive a fork), at most one per spare core, each
loading the operator's declaration and the backends from the specs they were loaded from
(``backends.loaded_spec``). A shard goes to a worker only when that reproduces this process's
search: the declaration is the registered one and every backend was loaded from a spec. Otherwise,
or when a worker fails (a crash, an exception, a backend it cannot load), the caller runs the shard
itself; ``certify_together`` also does so where a worker's execution facts differ from its own.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Iterator, Mapping, Sequence

from hypothesis import settings

from conformance.backends import Backend, load_backend, loaded_spec
from conformance.divergences import KnownDivergence
from conformance.ops import get_declaration
from conformance.ops.declaration import OpDeclaration

POLL_SECONDS = 0.1  # how often the progress shown is brought up to date while workers run

_drawn = None  # in a worker: the cases drawn by every worker, shown as progress by the caller


def spare_cores() -> int:
    """Cores this process may use beyond its own."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, cores - 1)


class ShardWorkers:
    """Shards 1.. of a shared search, started in worker processes on entry; ``results`` gives their tallies."""

    def __init__(self, declaration: OpDeclaration, backends: Sequence[Backend], settings_: settings,
                 sizes: Sequence[int], *, divergences: Sequence[KnownDivergence], seed: int | None):
        self.shards = list(range(1, len(sizes)))
        specs = [loaded_spec(backend) for backend in backends]
        workers = min(len(self.shards), spare_cores())
        self.remote = workers > 0 and None not in specs and _registered(declaration)
        self.futures: dict[int, Future] = {}
        self.pool: ProcessPoolExecutor | None = None
        self.seen = 0
        if not self.remote:
            return
        search = {name: getattr(settings_, name) for name in ("derandomize", "phases", "deadline", "database",
                                                              "suppress_health_check")}
        try:
            context = multiprocessing.get_context("spawn")
            self.drawn = context.Value("q", 0)
            self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                            initargs=(self.drawn,))
            for shard in self.shards:
                self.futures[shard] = self.pool.submit(
                    _run_shard, declaration.op_type, specs, {**search, "max_examples": sizes[shard]},
                    list(divergences), seed, shard)
        except (OSError, RuntimeError):  # no processes to be had here (limits, no /dev/shm): all shards run here
            self.__exit__(None, None, None)
            self.remote, self.futures, self.pool = False, {}, None

    def __enter__(self) -> ShardWorkers:
        return self

    def __exit__(self, error_type: Any, *_: Any) -> None:
        if self.pool is None:
            return
        if error_type is not None:  # interrupted, or failed here: the workers' shards are not wanted
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.terminate()
        self.pool.shutdown(wait=error_type is None, cancel_futures=True)

    def progress(self, on_example: Callable[[], None] | None) -> Callable[[], None] | None:
        """``on_example`` for the caller's own shard, which also shows the cases the workers drew meanwhile."""
        if on_example is None or not self.remote:
            return on_example

        def advance() -> None:
            on_example()
            self._catch_up(on_example)

        return advance

    def results(self, on_example: Callable[[], None] | None = None) -> Iterator[tuple[int, list[Mapping] | None]]:
        """Each shard's tallies (``_Tally.snapshot``), in order; None for one the caller must run itself."""
        for shard in self.shards:
            future = self.futures.get(shard)
            if future is None:
                yield shard, None
                continue
            while True:
                try:
                    tallied = future.result(timeout=POLL_SECONDS)
                except FutureTimeout:
                    if on_example is not None:
                        self._catch_up(on_example)
                    continue
                except Exception:  # the worker crashed, or the shard raised: run it here instead
                    tallied = None
                break
            if on_example is not None:
                self._catch_up(on_example)
            yield shard, tallied

    def _catch_up(self, on_example: Callable[[], None]) -> None:
        drawn = self.drawn.value
        for _ in range(drawn - self.seen):
            on_example()
        self.seen = drawn


def _registered(declaration: OpDeclaration) -> bool:
    try:
        return get_declaration(declaration.op_type) is declaration
    except Exception:
        return False


def _start_worker(drawn) -> None:
    global _drawn
    _drawn = drawn


def _count_draw() -> None:
    with _drawn.get_lock():
        _drawn.value += 1


def _run_shard(op_type: str, specs: Sequence[str], search: Mapping[str, Any], divergences: Sequence[KnownDivergence],
               seed: int | None, shard: int) -> list[Mapping[str, Any]]:
    """In a worker: one shard's search, and what each backend's tally met."""
    from conformance.certify import _Tally, shared_search

    declaration = get_declaration(op_type)
    backends = [load_backend(spec) for spec in specs]
    tallies = [_Tally(declaration, backend, divergences) for backend in backends]
    shared_search(declaration, tallies, settings(**search), seed, shard, on_example=_count_draw)
    return [tally.snapshot() for tally in tallies]
