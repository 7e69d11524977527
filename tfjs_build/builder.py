"""The build: plan, then restore each stale model from the cache or convert it in a worker, then lock.

Order of effects for each model, chosen so that a kill -9 at any point leaves a
state the next build recovers from: output written to a temp folder beside its
final place -> stored in the cache -> swapped into place (one atomic rename
exchange on Linux) -> its lock entry written (the whole lock, atomically). Killed
before the swap: old output and old lock entry stand. Killed between swap and lock:
the output no longer matches the lock, so the next build restores it from the cache.

TensorFlow is imported only in spawned worker processes, and only when a model
has to be converted, so a no-op build never loads it.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TypeVar

import tfjs_build
from tfjs_build.cache import CorruptEntry, LocalCache
from tfjs_build.config import Config, ModelConfig
from tfjs_build.console import Console
from tfjs_build.errors import EXIT_INTERNAL_ERROR, TfjsBuildError
from tfjs_build.fingerprint import STATE_DIR
from tfjs_build.lock import LOCK_NAME, Lock, LockEntry, read_lock, write_lock
from tfjs_build.outputs import OutputFacts, describe_output
from tfjs_build.plan import Step, current_plan
from tfjs_build.records import ConvertResult
from tfjs_build.units import format_size

if TYPE_CHECKING:
    from tfjs_build.remote_cache import RemoteCache

T = TypeVar("T")
# (model, local source, empty output folder, scratch folder) -> result; tests pass stand-ins.
ConvertFn = Callable[[ModelConfig, Path, Path, Path], ConvertResult]
BUILD_LOCK_NAME = "build.lock"


@dataclass
class BuildSummary:
    fresh: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, int]] = field(default_factory=list)  # (model, message, exit code)

    @property
    def exit_code(self) -> int:
        return max((code for _, _, code in self.failed), default=0)


# ---------------------------------------------------------------- the worker side


@dataclass(frozen=True)
class Job:
    model: ModelConfig
    out_dir: Path
    work_dir: Path
    download_dir: Path
    convert_fn: ConvertFn | None


@dataclass(frozen=True)
class Outcome:
    model: str
    result: ConvertResult | None = None
    facts: OutputFacts | None = None
    error: str = ""
    exit_code: int = 0


def run_job(job: Job) -> Outcome:
    """Runs in a worker process: fetch the source if remote, convert, measure the output."""
    try:
        source = job.model.source_path
        if source is None:
            from tfjs_build.download import fetch_source

            source = fetch_source(job.model, job.download_dir)
        convert = job.convert_fn
        if convert is None:
            from tfjs_build.convert import convert_model as convert
        result = convert(job.model, source, job.out_dir, job.work_dir)
        return Outcome(job.model.name, result, describe_output(job.out_dir))
    except TfjsBuildError as exc:
        return Outcome(job.model.name, error=str(exc), exit_code=exc.exit_code)
    except Exception:  # a bug: keep the worker's traceback, it is all we will get
        return Outcome(job.model.name, error=traceback.format_exc(), exit_code=EXIT_INTERNAL_ERROR)


def _init_worker() -> None:
    """Worker initializer: quiet TF's C++ logs; if the build is killed (even -9), its workers die too."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    prctl = getattr(ctypes.CDLL(None), "prctl", None)
    if prctl is not None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


# ---------------------------------------------------------------- placing outputs


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def place(tmp: Path, final: Path) -> None:
    """Put the folder ``tmp`` at ``final``, replacing what is there; readers never see a mix."""
    if final.is_dir() and not final.is_symlink():
        if not _exchange(tmp, final):
            old = tmp.with_name(tmp.name + ".old")
            os.rename(final, old)
            os.rename(tmp, final)
            tmp = old
        shutil.rmtree(tmp)
        return
    if final.exists() or final.is_symlink():
        final.unlink()
    os.rename(tmp, final)


def _temp_dir(parent: Path, name: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.tmp-"))
    path.chmod(0o755)  # mkdtemp makes it private; a published model folder must be readable
    return path


def _remove_leftovers(output_dir: Path, work_root: Path) -> None:
    """Temp folders of a build that was killed: safe to delete, we hold the build lock."""
    for leftover in list(output_dir.glob(".*.tmp-*")) + list(work_root.glob(".*.tmp-*")):
        shutil.rmtree(leftover, ignore_errors=True)


# ---------------------------------------------------------------- the build lock


class BuildLock:
    """An exclusive lock on .tfjs-build/build.lock; the kernel releases it if the process dies."""

    def __init__(self, state_dir: Path, console: Console) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / BUILD_LOCK_NAME
        self.console = console
        self._fd = -1

    def __enter__(self) -> "BuildLock":
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "?"
            self.console.info(f"waiting for another build to finish (pid {holder}, lock {self.path})")
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)  # closing releases the flock


# ---------------------------------------------------------------- progress


class Progress:
    """One line per finished model when piped; a live status line on a terminal."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.running: dict[str, float] = {}

    def start(self, name: str) -> None:
        self.running[name] = time.monotonic()
        if not self.console.is_tty:
            self.console.detail(f"converting {name}")
        self.tick()

    def finish(self, name: str, text: str) -> None:
        self.done += 1
        began = self.running.pop(name, time.monotonic())
        self._clear()
        self.console.info(f"[{self.done}/{self.total}] {name}: {text} ({time.monotonic() - began:.1f}s)")
        self.tick()

    def tick(self) -> None:
        if self.console.is_tty and self.running and self.console.verbosity >= 0:
            names = ", ".join(sorted(self.running))
            line = f"[{self.done}/{self.total}] converting {names}  {time.monotonic() - self.started:.0f}s"
            self.console.stream.write("\r\033[K" + line[:200])
            self.console.stream.flush()

    def _clear(self) -> None:
        if self.console.is_tty:
            self.console.stream.write("\r\033[K")


# ---------------------------------------------------------------- the build


def lock_entry(step: Step, model: ModelConfig, result: ConvertResult, facts: OutputFacts) -> LockEntry:
    return LockEntry(
        fingerprint=step.inputs.fingerprint,
        converter=tfjs_build.CONVERTER_VERSION,
        inputs=dict(step.inputs.digests),
        settings=model.output_settings(),
        files=facts.files,
        size=facts.size,
        transfer=facts.transfer,
        transfer_brotli=facts.transfer_brotli,
        shards=facts.shards,
        params=result.params,
        ops=tuple(result.ops),
        weights=tuple((w.name, w.dtype, w.nbytes) for w in result.weights),
        quantization={k: {"before": v.before, "after": v.after} for k, v in sorted(result.quantization.items())},
        accuracy=asdict(result.accuracy) if result.accuracy is not None else None,
        rewrites=tuple(result.rewrites),
    )


class _Build:
    """The state of one build run: the lock entries so far, and where things go."""

    def __init__(self, config: Config, console: Console, lock: Lock) -> None:
        self.config = config
        self.console = console
        self.entries = dict(lock.models)
        self.cache = LocalCache(config.cache.dir)
        self.work_root = config.root / STATE_DIR / "work"
        self.summary = BuildSummary()
        self.stored = False
        self._remote: RemoteCache | None = None
        self._remote_broken = False

    def commit(self, name: str, entry: LockEntry, tmp: Path) -> None:
        """Swap the built folder into place, then record it in the lock."""
        place(tmp, self.config.model_output_dir(name))
        self.entries[name] = entry
        self.write_lock()

    def write_lock(self) -> None:
        write_lock(self.config.root / LOCK_NAME, Lock(dict(self.entries)))

    def with_remote(self, action: Callable[[RemoteCache], T]) -> T | None:
        """Run ``action`` on the remote cache, if there is one that works; one warning when it fails."""
        if self.config.cache.remote is None or self._remote_broken:
            return None
        from tfjs_build.remote_cache import RemoteCache, RemoteCacheError  # requests: only when used

        if self._remote is None:
            self._remote = RemoteCache(self.config.cache.remote, self.cache)
        try:
            return action(self._remote)
        except RemoteCacheError as exc:
            self.console.warn(f"remote cache: {exc}; continuing without it")
            self._remote_broken = True
            return None

    def close(self) -> None:
        if self._remote is not None:
            self._remote.close()

    def restore(self, step: Step) -> bool:
        fingerprint = step.inputs.fingerprint
        if not self.cache.has_entry(fingerprint) and not self.with_remote(lambda r: r.fetch(fingerprint)):
            return False
        tmp = _temp_dir(self.config.output_dir, step.model)
        try:
            entry = self.cache.restore(fingerprint, tmp)
        except CorruptEntry as exc:
            self.console.warn(f"{step.model}: {exc}; discarded it, converting again")
            entry = None
        if entry is None:
            shutil.rmtree(tmp)
            return False
        self.commit(step.model, entry, tmp)
        self.summary.restored.append(step.model)
        self.console.info(f"{step.model}: restored from cache")
        return True

    def finish(self, step: Step, job: Job, outcome: Outcome) -> str:
        """Handle one worker's outcome; returns the progress text."""
        shutil.rmtree(job.work_dir, ignore_errors=True)
        if outcome.result is None or outcome.facts is None:
            shutil.rmtree(job.out_dir, ignore_errors=True)
            self.summary.failed.append((step.model, outcome.error, outcome.exit_code))
            return "FAILED"
        for warning in outcome.result.warnings:
            self.console.warn(f"{step.model}: {warning}")
        entry = lock_entry(step, job.model, outcome.result, outcome.facts)
        self.cache.store(entry, job.out_dir)
        self.with_remote(lambda remote: remote.push(entry))
        self.stored = True
        self.commit(step.model, entry, job.out_dir)
        self.summary.built.append(step.model)
        return f"built, {len(entry.files)} files, {format_size(entry.size)}"

    def convert_all(self, steps: list[Step], jobs: int, convert_fn: ConvertFn | None) -> None:
        progress = Progress(self.console, len(steps))
        context = multiprocessing.get_context("spawn")
        workers = max(1, min(jobs, len(steps)))
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
            pending: dict[Future[Outcome], tuple[Step, Job]] = {}
            for step in steps:
                job = self._job(step, convert_fn)
                pending[pool.submit(run_job, job)] = (step, job)
                progress.start(step.model)
            try:
                for future, (step, job) in _as_completed(pending, progress):
                    progress.finish(step.model, self.finish(step, job, _outcome(future, step.model)))
            except KeyboardInterrupt:
                pool.shutdown(wait=False, cancel_futures=True)
                raise

    def _job(self, step: Step, convert_fn: ConvertFn | None) -> Job:
        model = self.config.model(step.model)
        return Job(
            model=model,
            out_dir=_temp_dir(self.config.output_dir, model.name),
            work_dir=_temp_dir(self.work_root, model.name),
            download_dir=self.config.cache.dir,
            convert_fn=convert_fn,
        )


def _as_completed(
    pending: dict[Future[Outcome], tuple[Step, Job]], progress: Progress
) -> Iterator[tuple[Future[Outcome], tuple[Step, Job]]]:
    """Like concurrent.futures.as_completed, but refreshes the progress line every second."""
    waiting = set(pending)
    while waiting:
        done, waiting = wait(waiting, timeout=1.0, return_when=FIRST_COMPLETED)
        for future in done:
            yield future, pending[future]
        progress.tick()


def _outcome(future: Future[Outcome], model: str) -> Outcome:
    try:
        return future.result()
    except Exception as exc:  # the worker process died (out of memory, a crash in native code)
        return Outcome(model, error=f"the worker process converting it died: {exc!r}", exit_code=EXIT_INTERNAL_ERROR)


def build(
    config: Config,
    console: Console,
    names: Iterable[str] = (),
    force: bool = False,
    jobs: int | None = None,
    convert_fn: ConvertFn | None = None,
) -> BuildSummary:
    """Bring every named model (all when none) up to date; see the module docstring for the order."""
    names = list(names)
    with BuildLock(config.root / STATE_DIR, console):
        run = _Build(config, console, read_lock(config.root / LOCK_NAME))
        try:
            _run(run, names, force, jobs, convert_fn)
        finally:
            run.close()
    return run.summary


def _run(run: _Build, names: list[str], force: bool, jobs: int | None, convert_fn: ConvertFn | None) -> None:
    config = run.config
    _remove_leftovers(config.output_dir, run.work_root)
    steps = current_plan(config, Lock(dict(run.entries)), names, force)
    gone = set(run.entries) - {m.name for m in config.models}
    if gone and not names:  # a full build also forgets models removed from tfjs.yaml
        for name in gone:
            del run.entries[name]
        run.write_lock()
    to_convert = []
    for step in steps:
        if step.fresh:
            run.summary.fresh.append(step.model)
            continue
        run.console.detail(f"{step.model}: stale ({'; '.join(step.reasons)})")
        if force or not run.restore(step):
            to_convert.append(step)
    if to_convert:
        run.convert_all(to_convert, jobs or os.cpu_count() or 1, convert_fn)
    if run.stored:
        run.cache.gc(config.cache.max_size)
    order = {m.name: i for i, m in enumerate(config.models)}
    for done in (run.summary.restored, run.summary.built):
        done.sort(key=order.__getitem__)  # workers finish in any order; report in tfjs.yaml's
    run.summary.failed.sort(key=lambda failure: order[failure[0]])
