"""The build: plan, then restore each stale model from the cache or convert it in a worker, then lock.

Order of effects for each model, chosen so that a kill -9 at any point leaves a
state the next build recovers from: output written to a temp folder beside its
final place -> stored in the cache -> swapped into place (one atomic rename
exchange on Linux) -> its lock entry written (the whole lock, atomically). Killed
before the swap: old output and old lock entry stand. Killed between swap and lock:
the output no longer matches the lock, so the next build restores it from the cache.
Restored models are locked together, once all are in place: a kill before that leaves
outputs the lock does not describe yet, which the next build restores again (a copy,
where one whole-lock write per model made restoring n models O(n^2) in lock writes).

A source edited while its model converts must not be locked under the fingerprint
planned before the edit (the lock and the cache would pair the old fingerprint with
the new weights, and reverting the file would then restore the wrong ones). So after
a worker succeeds, and before anything is stored or locked, the model's inputs are
listed and stat'ed again and compared with the stamps (device, inode, size, mtime,
ctime) taken before they were hashed: any write, truncate or rename over a file
changes its ctime, which utime cannot set back, so even an edit that restores the old
bytes and mtime shows. A file whose ctime was too recent to trust is re-hashed as well.
On any difference the output is discarded and the model fails (exit 2); its previous
output and lock entry stand, and the next build converts what is there then. This
costs a stat per input file, where converting from a private snapshot of the source
would copy every source byte (GBs for a large SavedModel) on every conversion.

TensorFlow is imported only in spawned worker processes, and only when a model
has to be converted, so a no-op build never loads it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import tfjs_build
from tfjs_build.config import Config, ModelConfig
from tfjs_build.engine.fingerprint import changed_input
from tfjs_build.engine.local_cache import CorruptEntry, LocalCache
from tfjs_build.engine.lockfile import Lock, LockedWeight, LockEntry, read_lock, write_lock
from tfjs_build.engine.output_facts import OutputFacts
from tfjs_build.engine.placement import (
    REFUSAL_FIX,
    BuildMutex,
    ForeignFilesError,
    ownership_problem,
    place,
    remove_leftovers,
    temp_dir,
)
from tfjs_build.engine.plan import Step, current_plan
from tfjs_build.engine.progress import Progress
from tfjs_build.engine.shards import (
    ORDINARY,
    Fanout,
    estimated_cost,
    input_bytes,
    shard_of,
    split_steps,
    verified_backends,
)
from tfjs_build.errors import EXIT_CHECK_FAILED, EXIT_USER_ERROR, EnvironmentFault, environment_fault
from tfjs_build.project import READ_ONLY_ERRNOS
from tfjs_build.terminal import Console
from tfjs_build.util.tensorflow_extra import require_tensorflow
from tfjs_build.util.units import format_size

if TYPE_CHECKING:
    from tfjs_build.convert.result import ConvertResult
    from tfjs_build.engine.remote_store import Remote
    from tfjs_build.engine.worker import ConvertFn, Job, Outcome

T = TypeVar("T")


@dataclass
class BuildSummary:
    fresh: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, int]] = field(default_factory=list)  # (model, message, exit code)

    @property
    def exit_code(self) -> int:
        return max((code for _, _, code in self.failed), default=0)


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
        weights=tuple(LockedWeight(w.name, w.dtype, w.nbytes) for w in result.weights),
        quantization=dict(sorted(result.quantization.items())),
        accuracy=result.accuracy,
        rewrites=tuple(result.rewrites),
        cost=estimated_cost(input_bytes(step.inputs), len(result.weights), verified_backends(model)),
        verified=result.verified,
    )


class _Build:
    """The state of one build run: the lock entries so far, and where things go."""

    def __init__(self, config: Config, console: Console, lock: Lock) -> None:
        self.config = config
        self.console = console
        self.entries = dict(lock.models)
        self.cache = LocalCache(config.cache.dir)
        self.work_root = config.paths.work_dir
        self.summary = BuildSummary()
        self._remote: Remote | None = None
        self._remote_broken = False
        self._remote_lacks: set[str] = set()  # fingerprints ``prefetch`` asked the remote for and it lacked

    def commit(self, name: str, entry: LockEntry, tmp: Path, lock_now: bool = True) -> None:
        """Swap the built folder into place, then record it in the lock (``lock_now=False``: at the next
        ``write_lock``, which restores use: one lock write for all of them, not one per model)."""
        try:
            place(tmp, self.config.model_output_dir(name), self.owned(name))
        except ForeignFilesError:  # files appeared since refuse_foreign looked: keep them, drop ours
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.entries[name] = entry
        if lock_now:
            self.write_lock()

    def owned(self, name: str) -> tuple[str, ...]:
        """The files of ``name``'s output folder that its current lock entry says a build wrote."""
        entry = self.entries.get(name)
        return tuple(f.path for f in entry.files) if entry is not None else ()

    def refuse_foreign(self, step: Step) -> bool:
        """True (and the model failed) when its output folder holds files no build wrote: checked before any
        work, so that neither a conversion nor a restore is wasted on a folder that must not be replaced."""
        model = self.config.model(step.model)
        out = self.config.model_output_dir(model.name)
        problem = ownership_problem(out, self.owned(model.name))
        if problem is None:
            return False
        shown = out.relative_to(self.config.root).as_posix() if out.is_relative_to(self.config.root) else str(out)
        refusal = ForeignFilesError(f"{model.where()}: its output folder {shown}/ {problem}, and a build replaces "
                                    f"that folder whole; {REFUSAL_FIX}")
        self.summary.failed.append((model.name, str(refusal), refusal.exit_code))
        return True

    def write_lock(self) -> None:
        write_lock(self.config.lock_path, Lock(dict(self.entries)))

    def with_remote(self, action: Callable[[Remote], T]) -> T | None:
        """Run ``action`` on the remote cache, if there is one that works; one warning when it fails."""
        if self.config.cache.remote is None or self._remote_broken:
            return None
        from tfjs_build.engine.remote_cache import RemoteCacheError  # requests (or boto3): only when used
        from tfjs_build.engine.remote_store import open_remote

        try:
            if self._remote is None:
                self._remote = open_remote(self.config.cache, self.cache)
            return action(self._remote)
        except RemoteCacheError as exc:
            self.console.warn(f"remote cache: {exc}; continuing without it")
            self._remote_broken = True
            return None

    def close(self) -> None:
        if self._remote is not None:
            self._remote.close()

    def prefetch(self, steps: list[Step]) -> None:
        """Fetch the stale models the local cache lacks from the remote all at once (Remote.fetch_all), so that
        ``restore`` finds them here; an assemble step restores every model, and the fetches' round trips overlap."""
        wanted = [s.inputs.fingerprint for s in steps if not s.fresh and not self.cache.has_entry(s.inputs.fingerprint)]
        if wanted and self.config.cache.remote is not None:
            found = self.with_remote(lambda remote: remote.fetch_all(wanted))
            self._remote_lacks.update(set(wanted) - (found or set()))

    def restore(self, step: Step) -> bool:
        fingerprint = step.inputs.fingerprint
        if not self.cache.has_entry(fingerprint) and (fingerprint in self._remote_lacks
                                                      or not self.with_remote(lambda r: r.fetch(fingerprint))):
            return False
        tmp = temp_dir(self.config.output_dir, step.model)
        try:
            entry = self.cache.restore(fingerprint, tmp)
        except CorruptEntry as exc:
            self.console.warn(f"{step.model}: {exc}; discarded it, converting again")
            entry = None
        if entry is None:
            shutil.rmtree(tmp)
            return False
        self.commit(step.model, entry, tmp, lock_now=False)  # _run writes the lock after the restores
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
        if (changed := changed_input(job.model, step.inputs, self.config.root)) is not None:
            shutil.rmtree(job.out_dir, ignore_errors=True)
            self.summary.failed.append((step.model, self.changed_message(job.model, changed), EXIT_USER_ERROR))
            return "FAILED"
        for warning in outcome.result.warnings:
            self.console.warn(f"{step.model}: {warning}")
        entry = lock_entry(step, job.model, outcome.result, outcome.facts)
        try:
            self.cache.store(entry, job.out_dir)
        except OSError as exc:  # the cache only saves time: a full or broken one must not lose the model
            self.console.warn(f"{step.model}: built, but not stored in the cache: {environment_fault(exc) or exc}")
        else:
            self.with_remote(lambda remote: remote.push(entry))
        self.commit(step.model, entry, job.out_dir)
        self.summary.built.append(step.model)
        return f"built, {len(entry.files)} files, {format_size(entry.size)}"

    def changed_message(self, model: ModelConfig, changed: Path) -> str:
        """Why a converted model was thrown away: the converter may have read the edit, not what was planned."""
        source = model.source_path
        what = "source" if source is not None and changed.is_relative_to(source) else "input"
        root = self.config.root
        shown = changed.relative_to(root).as_posix() if changed.is_relative_to(root) else str(changed)
        return (f"its {what} changed while it was being converted ({shown}); "
                "the output was discarded and tfjs.lock not updated; run the build again")

    def convert_all(self, steps: list[Step], jobs: int, convert_fn: ConvertFn | None) -> None:
        from tfjs_build.engine.worker_pool import WorkerPool  # imported here: a no-op build never starts a process

        progress = Progress(self.console, len(steps))
        by_model = {step.model: step for step in steps}
        with WorkerPool(min(jobs, len(steps)), progress) as pool:
            for job, outcome in pool.run([self._job(step, convert_fn) for step in steps]):
                step = by_model[job.model.name]
                progress.finish(step.model, self.finish(step, job, outcome))

    def _job(self, step: Step, convert_fn: ConvertFn | None) -> Job:
        from tfjs_build.engine.worker import Job

        model = self.config.model(step.model)
        return Job(
            model=model,
            out_dir=temp_dir(self.config.output_dir, model.name),
            work_dir=temp_dir(self.work_root, model.name),
            download_dir=self.config.cache.dir,
            convert_fn=convert_fn,
        )


def build(
    config: Config,
    console: Console,
    names: Iterable[str] = (),
    force: bool = False,
    jobs: int | None = None,
    convert_fn: ConvertFn | None = None,
    fanout: Fanout = ORDINARY,
) -> BuildSummary:
    """Bring every named model (all when none) up to date; see the module docstring for the order.
    ``fanout``: one shard's models only, and/or restore without converting (engine/shards.py)."""
    names = list(names)
    try:
        mutex = BuildMutex(config.paths, console)
    except OSError as exc:
        if exc.errno not in READ_ONLY_ERRNOS:
            raise
        return _read_only_build(config, names, force, exc)
    with mutex:
        run = _Build(config, console, read_lock(config.lock_path))
        try:
            _run(run, names, force, jobs, convert_fn, fanout)
        finally:
            run.close()
    return run.summary


def _not_cached(model: str, groups: list[list[str]]) -> str:
    """Why --restore-only could not bring ``model`` up to date, and which build job should have."""
    shard = shard_of(groups, model)
    job = f"shard {shard} (build --shard {shard})" if shard else "the build job that covers it"
    return (f"in neither the local nor the remote cache, and --restore-only never converts; {job} should have "
            "built it: check that its job succeeded and pushed (cache.remote set, cache.push not false)")


def _read_only_build(config: Config, names: list[str], force: bool, fault: OSError) -> BuildSummary:
    """A build where nothing can be written (a read-only checkout): fine when there is nothing to write."""
    lock = read_lock(config.lock_path)
    steps = current_plan(config, lock, names, force)
    stale = [step.model for step in steps if not step.fresh]
    gone = sorted(set(lock.models) - {m.name for m in config.models}) if not names else []
    if stale or gone:
        why = f"stale: {', '.join(stale)}" if stale else f"tfjs.lock still lists {', '.join(gone)}"
        raise EnvironmentFault(f"{environment_fault(fault) or fault} ({why})") from None
    return BuildSummary(fresh=[step.model for step in steps])


def _run(run: _Build, names: list[str], force: bool, jobs: int | None, convert_fn: ConvertFn | None,
         fanout: Fanout) -> None:
    config = run.config
    remove_leftovers(config.output_dir, config.paths)
    run.cache.remove_leftovers()
    steps = current_plan(config, Lock(dict(run.entries)), names, force)
    groups = split_steps(steps, Lock(dict(run.entries)), fanout.count, config) if fanout.count else []
    if fanout.shard is not None:  # only this runner's group: the other runners build the rest
        mine = groups[fanout.shard.index - 1]
        steps = [step for step in steps if step.fresh or step.model in mine]
    gone = set(run.entries) - {m.name for m in config.models}
    if gone and not names:  # a full build also forgets models removed from tfjs.yaml
        for name in gone:
            del run.entries[name]
        run.write_lock()
    to_convert = []
    if not force:
        run.prefetch(steps)
    for step in steps:
        if step.fresh:
            run.summary.fresh.append(step.model)
            continue
        run.console.detail(f"{step.model}: stale ({'; '.join(step.reasons)})")
        if run.refuse_foreign(step):
            continue
        if force or not run.restore(step):
            if fanout.restore_only:
                run.summary.failed.append((step.model, _not_cached(step.model, groups), EXIT_CHECK_FAILED))
            else:
                to_convert.append(step)
    if run.summary.restored:
        run.write_lock()
    if to_convert:
        if convert_fn is None:  # the real converter: without the tensorflow extra, stop before any worker starts
            require_tensorflow(f"converting {', '.join(s.model for s in to_convert)}")
        run.convert_all(to_convert, jobs or os.cpu_count() or 1, convert_fn)
    if run.summary.built:  # only new conversions grow the cache
        run.cache.gc(config.cache.max_size)
    order = {m.name: i for i, m in enumerate(config.models)}
    for done in (run.summary.restored, run.summary.built):
        done.sort(key=order.__getitem__)  # workers finish in any order; report in tfjs.yaml's
    run.summary.failed.sort(key=lambda failure: order[failure[0]])
