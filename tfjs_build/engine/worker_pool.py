"""The build's worker processes: each runs one conversion at a time, over a pipe of its own.

Not concurrent.futures.ProcessPoolExecutor, for two reasons found by a hostile probe: when one
of its workers dies (the out-of-memory killer, a crash in native code, kill -9) it fails every
queued job with BrokenProcessPool and terminates the other workers mid-conversion; and on Ctrl-C
its shutdown waits for the running conversions (11 s measured), since TensorFlow's native code
does not see the signal. Here the build knows which job each worker runs: a dead worker fails
only its own model, and the queue goes on in a fresh worker; an interrupt kills every worker at
once (their half-written temp folders are removed by the next build). Workers ignore SIGINT:
a terminal's Ctrl-C reaches the whole process group, and only the build decides what stops.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnProcess

from tfjs_build.engine.progress import Progress
from tfjs_build.engine.worker import Job, Outcome, init_worker, run_job
from tfjs_build.errors import EXIT_INTERNAL_ERROR

TICK = 1.0  # seconds between progress refreshes while waiting


def serve(conn: Connection, build_pid: int) -> None:
    """A worker's life: convert each job the build sends, answer with its Outcome; stop at None or EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    init_worker(build_pid)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        conn.send(run_job(job))


class _Worker:
    def __init__(self, context: multiprocessing.context.SpawnContext) -> None:
        ours, theirs = context.Pipe()
        self.process: SpawnProcess = context.Process(target=serve, args=(theirs, os.getpid()), name="tfjs-build worker")
        self.process.start()
        theirs.close()
        self.conn = ours
        self.job: Job | None = None


class WorkerPool:
    """``with WorkerPool(n, progress) as pool: for job, outcome in pool.run(jobs): ...``; leaving the block by an
    exception (Ctrl-C, SIGTERM) kills the workers at once, leaving it normally lets them exit."""

    def __init__(self, size: int, progress: Progress) -> None:
        self.size = max(1, size)
        self.progress = progress
        self.workers: list[_Worker] = []
        self._context = multiprocessing.get_context("spawn")

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, Outcome]]:
        """Each job with its outcome, as they finish; a job whose worker died gets an internal-error outcome."""
        queue = deque(jobs)
        while queue or self._busy():
            yield from self._hand_out(queue)
            busy = self._busy()
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=TICK))
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    yield self._collect(worker)
            self.progress.tick()

    def _busy(self) -> list[_Worker]:
        return [worker for worker in self.workers if worker.job is not None]

    def _hand_out(self, queue: deque[Job]) -> Iterator[tuple[Job, Outcome]]:
        """Give queued jobs to idle workers (started as needed); a worker found dead on handing out is its job's
        death too, since the job may have reached it."""
        while queue and len(self._busy()) < self.size:
            worker = next((w for w in self.workers if w.job is None), None)
            if worker is None:
                worker = _Worker(self._context)
                self.workers.append(worker)
            worker.job = queue.popleft()
            self.progress.start(worker.job.model.name)
            try:
                worker.conn.send(worker.job)
            except OSError:
                yield self._collect(worker)

    def _collect(self, worker: _Worker) -> tuple[Job, Outcome]:
        """The outcome ``worker`` sent for its job, or, if it died instead, an outcome that says so."""
        job, worker.job = worker.job, None
        assert job is not None
        try:
            if worker.conn.poll():
                outcome: Outcome = worker.conn.recv()
                if not worker.process.is_alive():
                    self._discard(worker)
                return job, outcome
        except (EOFError, OSError):
            pass  # it died while answering
        death = _death(worker.process)
        self._discard(worker)
        return job, Outcome(job.model.name, exit_code=EXIT_INTERNAL_ERROR,
                            error=f"the worker process converting it died ({death}); "
                                  "if it ran out of memory, build fewer models at once (--jobs 1)")

    def _discard(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.join()
        worker.conn.close()
        self.workers.remove(worker)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:  # all done: let the idle workers exit on their own, as a clean process does
            for worker in self.workers:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass  # already gone
            for worker in self.workers:
                worker.process.join(timeout=10)
        for worker in list(self.workers):  # interrupted, or one that did not exit: stop it now
            self._discard(worker)


def _death(process: SpawnProcess) -> str:
    process.join(timeout=5)
    code = process.exitcode
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
