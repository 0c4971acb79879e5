"""Running a report's cells, one (operator, backend) certification each, in worker processes.

Cells run in a ``concurrent.futures.ProcessPoolExecutor`` of ``jobs`` workers (spawned, not
forked: TensorFlow's threads do not survive a fork), each of which loads its own backends once.
A backend that misbehaves costs its cell, never the run:

- a cell that takes longer than ``timeout`` seconds is stopped by killing its worker, and
  recorded as ``timeout``, with the case the backend was running when it was stopped;
- a worker that dies (a segmentation fault in a backend's native code, ``os._exit``, the OOM
  killer) is recorded as ``error`` for the cell it was running, with what ``faulthandler``
  printed. When several cells were in flight, each is rerun alone to find the one that crashes.

Either way the pool is replaced and the other cells in flight are run again. The results are
the same whatever ``jobs`` is: every cell's search is seeded on its own.

``jobs=0`` runs every cell in this process instead, with neither timeout nor isolation (for a
debugger, and for callers that already own their process).
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import queue as queue_module
import shlex
import shutil
import signal
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from conformance.backends import Backend, load_backend, supports
from conformance.case import Case, save_case
from conformance.certify import CertifyResult, Counterexample, certify
from conformance.divergences import KnownDivergence
from conformance.ops import get_declaration
from conformance.probe_cache import ProbeCache
from conformance.profiles import profile_settings

POLL_SECONDS = 0.1
# A worker must report that it started a cell within this many seconds of the cell's submission,
# on top of the cell's own timeout (spawning a worker and importing NumPy and onnx takes a few).
STARTUP_SECONDS = 120.0
# A backend call running longer than this (or a quarter of the timeout, if shorter) has its case
# saved by the worker's watchdog thread, so that a cell stopped for a timeout can be replayed.
SLOW_CALL_SECONDS = 5.0
REPLAY_HINT = "conformance replay {dir} --backend {backend}"


@dataclass(frozen=True)
class Cell:
    """One (operator, backend) certification to run; ``index`` is its place in the report."""

    index: int
    op: str
    spec: str
    backend: str
    backend_version: str


@dataclass(frozen=True)
class Search:
    """How every cell searches: the Hypothesis profile, example count and seed, the manifest, each
    backend spec's execution facts (measured once, by the parent, rather than by every worker), and
    where probe verdicts are kept (workers may write it at once: each verdict is one file, replaced
    atomically)."""

    profile: str | None
    examples: int | None
    seed: int | None
    divergences: Sequence[KnownDivergence] = ()
    failures_dir: str | None = None
    facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    probe_cache: ProbeCache | None = None


@dataclass
class Events:
    """Callbacks for progress displays; each receives the cell."""

    started: Callable[[Cell], None] = lambda cell: None
    example: Callable[[Cell], None] = lambda cell: None
    finished: Callable[[Cell, CertifyResult], None] = lambda cell, result: None


def run_cells(cells: Sequence[Cell], search: Search, backends: dict[str, Backend] | None = None, *, jobs: int = 1,
              timeout: float | None = None, events: Events | None = None) -> list[CertifyResult]:
    """Certify every cell; results in the cells' order (see the module docstring)."""
    events = events or Events()
    if jobs == 0:
        return [_run_here(cell, search, backends or {}, events) for cell in cells]
    return _Scheduler(cells, search, jobs, timeout, events).run()


def unsupported_result(cell: Cell) -> CertifyResult:
    """The result of a cell whose backend does not implement its operator (nothing is drawn)."""
    return CertifyResult(cell.op, cell.backend, cell.backend_version, status="unsupported",
                         message=f"{cell.backend} does not implement {cell.op}")


def _run_here(cell: Cell, search: Search, backends: dict[str, Backend], events: Events) -> CertifyResult:
    backend = backends.get(cell.spec) or load_backend(cell.spec)
    backends[cell.spec] = backend
    events.started(cell)
    result = _certify(cell, backend, search, on_example=lambda: events.example(cell))
    events.finished(cell, result)
    return result


def _certify(cell: Cell, backend: Backend, search: Search, on_example: Callable[[], None]) -> CertifyResult:
    if not supports(backend, cell.op):
        return unsupported_result(cell)
    settings_ = profile_settings(search.profile, search.examples, search.seed)
    # The spec the cell was loaded from, not one guessed from the backend (a plug-in may borrow a built-in's name).
    replay_hint = REPLAY_HINT.replace("{backend}", shlex.quote(cell.spec))
    return certify(get_declaration(cell.op), backend, settings_, divergences=search.divergences, seed=search.seed,
                   failures_dir=search.failures_dir, replay_hint=replay_hint, on_example=on_example,
                   facts=search.facts.get(cell.spec), probe_cache=search.probe_cache)


# -- the worker side ---------------------------------------------------------------------------


@dataclass
class _WorkerState:
    """What one worker process holds: its backends (loaded once) and the parent's event queue."""

    events: Any
    search: Search
    timeout: float | None
    backends: dict[str, Backend] = field(default_factory=dict)
    call: dict[str, Any] = field(default_factory=dict)  # the backend call in progress, for the watchdog
    originals: dict[int, Callable] = field(default_factory=dict)  # id(backend) -> its own run method


_WORKER: dict[str, _WorkerState] = {}  # this process's state, set once by _start_worker


def _start_worker(events, search: Search, timeout: float | None, crash_dir: str) -> None:
    # Ctrl-C is the parent's to handle; it stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A crash in native code leaves no Python exception: faulthandler's account is all there is.
    log = open(Path(crash_dir) / f"{os.getpid()}.log", "w")  # noqa: SIM115 - open for the process's life
    faulthandler.enable(file=log, all_threads=False)
    state = _WorkerState(events, search, timeout)
    _WORKER["state"] = state
    threading.Thread(target=_watchdog, args=(state,), daemon=True, name="conformance-watchdog").start()


def _work(cell: Cell) -> CertifyResult:
    state = _WORKER["state"]
    state.events.put(("started", cell.index, os.getpid()))
    backend = state.backends.get(cell.spec)
    if backend is None:
        backend = state.backends[cell.spec] = load_backend(cell.spec)
    _watch_calls(backend, cell, state)
    try:
        return _certify(cell, backend, state.search, on_example=lambda: state.events.put(("example", cell.index)))
    finally:
        state.call.clear()


def _watch_calls(backend: Backend, cell: Cell, state: _WorkerState) -> None:
    """Note each backend call (model, inputs, start time) for the watchdog, on this instance only."""
    run = state.originals.setdefault(id(backend), backend.run)

    def watched(model, inputs):
        state.call.update(cell=cell, model=model, inputs=inputs, started=time.monotonic(), saved=None)
        try:
            return run(model, inputs)
        finally:
            saved = state.call.get("saved")
            state.call.clear()
            if saved:  # the call was slow but returned: its case is no evidence of a hang
                shutil.rmtree(saved, ignore_errors=True)

    try:
        backend.run = watched
    except (AttributeError, TypeError):
        pass  # an immutable backend: a timeout is still recorded, without the case


def _watchdog(state: _WorkerState) -> None:
    """Save the case of a backend call that runs too long, and tell the parent where it is.

    It also ends the worker when the parent is gone (killed, say), which a worker stuck in a
    backend would otherwise never notice.
    """
    limit = SLOW_CALL_SECONDS if state.timeout is None else min(SLOW_CALL_SECONDS, state.timeout / 4)
    parent = os.getppid()
    while True:
        time.sleep(min(0.25, limit / 2))
        if os.getppid() != parent:
            os._exit(1)
        call = dict(state.call)
        if not call or call.get("saved") is not None or time.monotonic() - call["started"] < limit:
            continue
        cell: Cell = call["cell"]
        try:
            case = Case.from_model(call["model"], call["inputs"])
            description = case.describe()
            saved = ""
            if state.search.failures_dir is not None:
                directory = Path(state.search.failures_dir) / f"{cell.op}-{_slug(cell.backend)}-timeout"
                saved = str(save_case(case, directory, {"backend": cell.spec, "backend_name": cell.backend,
                                                        "backend_version": cell.backend_version,
                                                        "status": "timeout"}))
        except Exception as error:  # a case the harness cannot describe still leaves the timeout itself
            description, saved = f"(the case could not be saved: {error})", ""
        state.call["saved"] = saved
        state.events.put(("slow", cell.index, description, saved))


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "_.-" else "_" for c in text).strip("_")


# -- the parent side ---------------------------------------------------------------------------


@dataclass
class _InFlight:
    cell: Cell
    submitted: float
    alone: bool = False  # a suspect of a crash, run with nothing beside it
    started: float | None = None
    pid: int | None = None
    slow_case: tuple[str, str] | None = None  # (description, saved directory) from the watchdog


class _Scheduler:
    """Feeds cells to a pool, watches deadlines, and replaces the pool when a worker dies."""

    FRUITLESS_POOLS = 3  # pools in a row that die before finishing any cell: the workers cannot start

    def __init__(self, cells: Sequence[Cell], search: Search, jobs: int, timeout: float | None, events: Events):
        self.cells, self.search, self.jobs, self.timeout, self.events = list(cells), search, jobs, timeout, events
        self.context = multiprocessing.get_context("spawn")
        self.crash_dir = tempfile.mkdtemp(prefix="conformance-workers-")
        self.pending: deque[tuple[Cell, bool]] = deque((cell, False) for cell in cells)  # (cell, run alone)
        self.results: dict[int, CertifyResult] = {}
        self.in_flight: dict[Future, _InFlight] = {}
        self.fruitless = 0

    def run(self) -> list[CertifyResult]:
        try:
            while self.pending:
                self._run_pool()
        finally:
            shutil.rmtree(self.crash_dir, ignore_errors=True)
        return [self.results[cell.index] for cell in self.cells]

    def _run_pool(self) -> None:
        """Run cells on a fresh pool until they are done, or a worker dies or is killed."""
        # A fresh event queue per pool: a worker killed while writing to one may leave its lock held.
        self.queue = self.context.Queue()
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=self.context, initializer=_start_worker,
                                   initargs=(self.queue, self.search, self.timeout, self.crash_dir))
        finished_before = len(self.results)
        broken = killed = False
        try:
            while (self.pending or self.in_flight) and not (broken or killed):
                self._submit(pool)
                self._drain_events()
                done, _ = wait(list(self.in_flight), timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    broken |= self._collect(future)
                killed = self._stop_overdue()
        except BaseException:
            self._kill_in_flight()
            raise
        finally:
            if broken or killed:
                self._drain_events()
                self._kill_in_flight()
            pool.shutdown(wait=True, cancel_futures=True)
            self.queue.close()
        if broken or killed:
            self._recover(crashed=broken and not killed)
            self.fruitless = 0 if len(self.results) > finished_before else self.fruitless + 1
            if self.fruitless >= self.FRUITLESS_POOLS:
                from conformance.errors import ConformanceError

                raise ConformanceError("the report's worker processes die before finishing any cell"
                                       " (run with -j 0 to see the error in this process)")

    def _submit(self, pool: ProcessPoolExecutor) -> None:
        while self.pending and len(self.in_flight) < self.jobs:
            cell, alone = self.pending[0]
            if any(f.alone for f in self.in_flight.values()) or (alone and self.in_flight):
                return
            self.pending.popleft()
            self.in_flight[pool.submit(_work, cell)] = _InFlight(cell, time.monotonic(), alone)

    def _flight(self, index: int) -> _InFlight | None:
        return next((f for f in self.in_flight.values() if f.cell.index == index), None)

    def _drain_events(self) -> None:
        while True:
            try:
                event = self.queue.get(timeout=0.001)
            except (queue_module.Empty, OSError, EOFError, ValueError):
                return
            kind, index, *rest = event
            flight = self._flight(index)
            if flight is None:
                continue  # a late event from a cell that already finished
            if kind == "started":
                flight.started, flight.pid = time.monotonic(), rest[0]
                self.events.started(flight.cell)
            elif kind == "example":
                self.events.example(flight.cell)
            elif kind == "slow":
                flight.slow_case = (rest[0], rest[1])

    def _collect(self, future: Future) -> bool:
        """Record a finished future; True if the pool broke under it."""
        flight = self.in_flight.get(future)
        if flight is None:
            return False
        try:
            result = future.result()
        except BrokenProcessPool:
            return True
        except Exception as error:  # the harness's own failure in the worker (a reference raising, say)
            cell = flight.cell
            result = CertifyResult(cell.op, cell.backend, cell.backend_version, status="error",
                                   message=f"the harness failed, not the backend: {type(error).__name__}: {error}")
        self._finish(future, result)
        return False

    def _finish(self, future: Future | None, result: CertifyResult, flight: _InFlight | None = None) -> None:
        flight = self.in_flight.pop(future) if future is not None else flight
        self.results[flight.cell.index] = result
        self.events.finished(flight.cell, result)

    def _stop_overdue(self) -> bool:
        """Kill the worker of every cell past its deadline and record a timeout; True if any."""
        if self.timeout is None:
            return False
        now, stopped = time.monotonic(), False
        for future, flight in list(self.in_flight.items()):
            deadline = (flight.started + self.timeout if flight.started is not None
                        else flight.submitted + STARTUP_SECONDS + self.timeout)
            if now < deadline or future.done():
                continue
            self._drain_events()  # the watchdog's last word on which case hung
            if flight.pid is not None:
                _kill(flight.pid)
            self._finish(future, self._timeout_result(flight))
            stopped = True
        return stopped

    def _timeout_result(self, flight: _InFlight) -> CertifyResult:
        cell = flight.cell
        message = f"no answer within {self.timeout:g} s: the worker running it was stopped"
        result = CertifyResult(cell.op, cell.backend, cell.backend_version, status="timeout", message=message)
        if flight.slow_case is not None:
            description, saved = flight.slow_case
            result.message += f"; it was running {description}"
            result.counterexample = Counterexample(
                case={}, description=description, status="timeout", message=message, max_error_ratio=None,
                max_ulp=None, diagnosis=[], saved_to=saved,
                replay=REPLAY_HINT.format(dir=saved, backend=shlex.quote(cell.spec)) if saved else "",
            )
        result.seconds = time.monotonic() - (flight.started or flight.submitted)
        return result

    def _kill_in_flight(self) -> None:
        for flight in self.in_flight.values():
            if flight.pid is not None:
                _kill(flight.pid)

    def _recover(self, crashed: bool) -> None:
        """After a worker died: blame the cell it ran, or rerun the suspects one at a time.

        Cells that were merely running beside a killed or crashed worker run again.
        """
        suspects = sorted(self.in_flight.values(), key=lambda f: f.cell.index)
        self.in_flight.clear()
        started = [f for f in suspects if f.pid is not None]
        culprit = None
        if crashed:
            # faulthandler writes only on a fatal signal, so a log names the worker that crashed.
            # Blame a lone suspect only if nothing else was in flight: a worker that crashed before
            # reporting its pid is not among ``started``, and must not pass its crash to another.
            logged = [f for f in started if self._crash_log(f.pid)]
            if len(logged) == 1:
                culprit = logged[0]
            elif len(suspects) == 1 and started:
                culprit = started[0]
        if culprit is not None:
            self._finish(None, self._crash_result(culprit), culprit)
        alone = crashed and culprit is None and len(started) > 1
        for flight in reversed(suspects):
            if flight is not culprit:
                self.pending.appendleft((flight.cell, alone and flight.pid is not None))
        for flight in started:
            (Path(self.crash_dir) / f"{flight.pid}.log").unlink(missing_ok=True)

    def _crash_log(self, pid: int) -> str:
        try:
            return (Path(self.crash_dir) / f"{pid}.log").read_text().strip()
        except OSError:
            return ""

    def _crash_result(self, flight: _InFlight) -> CertifyResult:
        cell = flight.cell
        log = self._crash_log(flight.pid) if flight.pid is not None else ""
        first = log.splitlines()[0] if log else "no Python traceback (killed by a signal, or os._exit)"
        message = f"the worker process died while running this cell: {first}"
        if flight.slow_case is not None:
            message += f"; it was running {flight.slow_case[0]}"
        frames = [line.strip() for line in log.splitlines() if line.strip().startswith("File ")][:3]
        if frames:
            message += "; innermost frames: " + " <- ".join(frames)
        result = CertifyResult(cell.op, cell.backend, cell.backend_version, status="error", message=message)
        result.seconds = time.monotonic() - (flight.started or flight.submitted)
        return result


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
