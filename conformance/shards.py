"""Workers for ``certify_together``'s shards: spawned processes that take shards while the caller does.

A shared search of many examples is split into shards (``certify.shard_examples``), each its own
seeded search, so that where a shard runs does not change its cases: the verdicts depend on the
seed and the example count, never on the number of processes or the machine. The caller takes
shards from the front and the workers, once ready, from the back, each claiming one at a time
under a lock, so that neither waits for the other: a run that ends before a worker is ready (a
worker imports the backends, TensorFlow alone in 4 to 5 s) never waits for it, and a long run is
shared out.

Workers are spawned (TensorFlow and onnxruntime do not survive a fork), at most one per spare
core, and load the operator's declaration and the backends from the specs they were loaded from
(``backends.loaded_spec``): a search goes to workers only where that reproduces it, the declaration
being the registered one and every backend loaded from a spec. A worker that dies leaves its
shards to the caller. The command line starts the workers first thing (``start_workers``), so that
they import and warm up their backends while the caller does the same.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterator, Mapping, Sequence

from hypothesis import settings

from conformance.backends import Backend, load_backend, loaded_spec
from conformance.divergences import KnownDivergence
from conformance.environment import available_cores
from conformance.ops import get_declaration
from conformance.ops.declaration import OpDeclaration

POLL_SECONDS = 0.1  # how often the progress shown is brought up to date while workers run

_shared: dict[str, Any] = {}  # in a worker: the claims and the count of drawn cases, shared with the caller
_started: dict[str, Any] | None = None  # workers started ahead of the search (``start_workers``)


def spare_cores() -> int:
    """Cores this process may use beyond its own."""
    return max(0, available_cores() - 1)


def start_workers(op_type: str, specs: Sequence[str], shards: int, jobs: int) -> None:
    """Start now the workers a search of ``shards`` shards will want (``jobs`` processes in all,
    this one included), each importing the backends of ``specs`` and running the operator's
    smallest case on them meanwhile; the search's ``ShardWorkers`` adopts them."""
    global _started
    workers = min(shards - 1, jobs - 1, spare_cores())
    if _started is None and workers > 0:
        _started = _Pool.start(workers, op_type, specs)


def stop_workers() -> None:
    """Stop workers started ahead that no search adopted (a backend did not load, say)."""
    global _started
    if _started is not None:
        _started.stop()
        _started = None


class ShardWorkers:
    """The workers of one search: ``claim`` gives the caller its next shard, ``results`` the workers'."""

    def __init__(self, declaration: OpDeclaration, backends: Sequence[Backend], settings_: settings,
                 sizes: Sequence[int], *, divergences: Sequence[KnownDivergence], seed: int | None, jobs: int):
        global _started
        self.sizes = list(sizes)
        self.pool: _Pool | None = None
        self.futures: list[Future] = []
        self.seen = 0
        self._next = 0  # the caller's next shard, where no worker shares the claims
        specs = [loaded_spec(backend) for backend in backends]
        workers = min(len(sizes) - 1, jobs - 1, spare_cores())
        if workers <= 0 or None in specs or not _registered(declaration):
            return
        if _started is not None and _started.workers >= workers and _started.op_type == declaration.op_type:
            self.pool, _started = _started, None
        else:
            self.pool = _Pool.start(workers, declaration.op_type, specs)
        if self.pool is None:
            return
        self.pool.reset_claims(len(sizes))
        search = {name: getattr(settings_, name) for name in ("derandomize", "phases", "deadline", "database",
                                                              "suppress_health_check")}
        try:
            self.futures = [self.pool.executor.submit(_take_shards, declaration.op_type, specs, search, self.sizes,
                                                      list(divergences), seed) for _ in range(self.pool.workers)]
        except RuntimeError:  # the pool broke already: every shard runs here
            self.pool.stop()
            self.pool, self.futures = None, []

    def __enter__(self) -> ShardWorkers:
        return self

    def __exit__(self, error_type: Any, *_: Any) -> None:
        if self.pool is not None:
            self.pool.stop()

    def claim(self) -> int | None:
        """The caller's next shard, from the front; None when every shard is taken."""
        if self.pool is None:
            shard, self._next = self._next, self._next + 1
            return shard if shard < len(self.sizes) else None
        return self.pool.claim_front()

    @property
    def remote(self) -> bool:
        """Whether a worker took a shard."""
        return self.pool is not None and self.pool.claimed_by_workers(len(self.sizes)) > 0

    def progress(self, on_example: Callable[[], None] | None) -> Callable[[], None] | None:
        """``on_example`` for the caller's shards, which also shows the cases the workers drew meanwhile."""
        if on_example is None or self.pool is None:
            return on_example

        def advance() -> None:
            on_example()
            self._catch_up(on_example)

        return advance

    def results(self, on_example: Callable[[], None] | None = None) -> Iterator[tuple[int, list[Mapping]]]:
        """The workers' shards and their tallies (``_Tally.snapshot``), once the caller has taken its
        last; a worker that has taken none is not waited for. Shards a dead worker took are missing."""
        if self.pool is None or not self.remote:
            return
        pending = set(self.futures)
        while pending:
            done, pending = wait(pending, timeout=POLL_SECONDS)
            if on_example is not None:
                self._catch_up(on_example)
            for future in done:
                try:
                    yield from future.result()
                except Exception:  # noqa: BLE001 - a worker died or failed: its shards are run by the caller
                    pass

    def _catch_up(self, on_example: Callable[[], None]) -> None:
        drawn = self.pool.drawn.value
        for _ in range(drawn - self.seen):
            on_example()
        self.seen = drawn


class _Pool:
    """Spawned workers, the claims on a search's shards, and the count of cases they drew."""

    def __init__(self, executor: ProcessPoolExecutor, workers: int, op_type: str, claims, drawn):
        self.executor, self.workers, self.op_type, self.claims, self.drawn = executor, workers, op_type, claims, drawn

    @classmethod
    def start(cls, workers: int, op_type: str, specs: Sequence[str]) -> _Pool | None:
        """Spawn ``workers`` processes, each warming up; None where processes cannot be had."""
        try:
            context = multiprocessing.get_context("spawn")
            claims = context.Array("i", [0, -1])  # the front's next shard, the back's; empty until a search resets
            drawn = context.Value("q", 0, lock=False)
            executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                           initargs=(claims, drawn))
            for _ in range(workers):
                executor.submit(_warm_up, op_type, list(specs))
        except (OSError, RuntimeError):  # process limits, no /dev/shm
            return None
        return cls(executor, workers, op_type, claims, drawn)

    def reset_claims(self, shards: int) -> None:
        with self.claims.get_lock():
            self.claims[0], self.claims[1] = 0, shards - 1

    def claim_front(self) -> int | None:
        with self.claims.get_lock():
            front, back = self.claims[0], self.claims[1]
            if front > back:
                return None
            self.claims[0] = front + 1
            return front

    def claimed_by_workers(self, shards: int) -> int:
        with self.claims.get_lock():
            return shards - 1 - self.claims[1]

    def stop(self) -> None:
        """End the workers now: whatever they still do is not wanted."""
        with self.claims.get_lock():
            self.claims[0], self.claims[1] = 0, -1
        for process in list((getattr(self.executor, "_processes", None) or {}).values()):
            process.terminate()
        self.executor.shutdown(wait=False, cancel_futures=True)


def _registered(declaration: OpDeclaration) -> bool:
    try:
        return get_declaration(declaration.op_type) is declaration
    except Exception:  # noqa: BLE001 - a declaration of the caller's own: only the caller has it
        return False


def _start_worker(claims, drawn) -> None:
    _shared.update(claims=claims, drawn=drawn)


def _claim_back() -> int | None:
    claims = _shared["claims"]
    with claims.get_lock():
        front, back = claims[0], claims[1]
        if front > back:
            return None
        claims[1] = back - 1
        return back


def _count_draw() -> None:
    _shared["drawn"].value += 1  # one writer per worker; a lost increment only delays the progress shown


def _warm_up(op_type: str, specs: Sequence[str]) -> None:
    """In a new worker: import the backends and run the operator's smallest case on each
    (TensorFlow imports itself and builds its first kernels), whatever the outcome."""
    from hypothesis import HealthCheck, Phase, find

    try:
        case = find(get_declaration(op_type).cases(), lambda _: True,
                    settings=settings(max_examples=1, derandomize=True, database=None, phases=[Phase.generate],
                                      suppress_health_check=list(HealthCheck)))
    except Exception:  # noqa: BLE001 - warming up is an optimization
        return
    for spec in specs:
        try:
            load_backend(spec).run(case.model, case.feeds)
        except Exception:  # noqa: BLE001 - a backend that does not load or run this fails its shard itself
            pass


def _take_shards(op_type: str, specs: Sequence[str], search: Mapping[str, Any], sizes: Sequence[int],
                 divergences: Sequence[KnownDivergence], seed: int | None) -> list[tuple[int, list[Mapping]]]:
    """In a worker: shards claimed from the back, one at a time until none is left, and what each
    backend's tally met in each."""
    from conformance.certify import _Tally, shared_search

    declaration = get_declaration(op_type)
    backends = [load_backend(spec) for spec in specs]
    taken = []
    while (shard := _claim_back()) is not None:
        tallies = [_Tally(declaration, backend, divergences) for backend in backends]
        shared_search(declaration, tallies, settings(**search, max_examples=sizes[shard]), seed, shard,
                      on_example=_count_draw)
        taken.append((shard, [tally.snapshot() for tally in tallies]))
    return taken
