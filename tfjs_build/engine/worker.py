"""What runs in a build's worker processes: fetch a remote source, convert, verify (``verify:``), measure the output.

Workers are spawned (not forked), so TensorFlow is loaded only in them, and only once
one of them converts. Everything a worker returns is a plain picklable record; a
failure comes back as a message (a user error) or a traceback (a bug), never as an
exception object that might not survive pickling.
"""

from __future__ import annotations

import ctypes
import os
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tfjs_build.config import ModelConfig
from tfjs_build.convert.result import ConvertResult
from tfjs_build.engine.output_facts import OutputFacts, describe_output
from tfjs_build.errors import EXIT_INTERNAL_ERROR, TfjsBuildError, environment_fault
from tfjs_build.util.stderr_log import log_tail, stderr_into

# (model, local source, empty output folder, scratch folder) -> result; tests pass stand-ins.
ConvertFn = Callable[[ModelConfig, Path, Path, Path], ConvertResult]


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
    log = job.work_dir / "converter.log"
    job.work_dir.mkdir(parents=True, exist_ok=True)
    with stderr_into(log):
        outcome = _convert(job)
    if outcome.exit_code == EXIT_INTERNAL_ERROR:
        outcome = Outcome(outcome.model, error=outcome.error + log_tail(log), exit_code=outcome.exit_code)
    return outcome


def _convert(job: Job) -> Outcome:
    try:
        from tfjs_build.sources.download import local_source

        source = local_source(job.model, job.download_dir)
        convert = job.convert_fn
        if convert is None:
            from tfjs_build.convert import convert_model  # TensorFlow loads on its first call

            convert = convert_model
        result = convert(job.model, source, job.out_dir, job.work_dir)
        if job.model.verify.enabled:  # here, where TensorFlow is loaded already (verify/at_build.py)
            from tfjs_build.verify.at_build import verify_built

            result = verify_built(job.model, source, job.out_dir, job.work_dir, result)
        return Outcome(job.model.name, result, describe_output(job.out_dir))
    except TfjsBuildError as exc:
        return Outcome(job.model.name, error=str(exc), exit_code=exc.exit_code)
    except Exception as exc:  # a bug (keep the worker's traceback), unless the machine refused a file operation
        if (fault := environment_fault(exc)) is not None:
            return Outcome(job.model.name, error=str(fault), exit_code=fault.exit_code)
        return Outcome(job.model.name, error=traceback.format_exc(), exit_code=EXIT_INTERNAL_ERROR)


def init_worker(build_pid: int) -> None:
    """Worker initializer: quiet TF's C++ logs; if the build is killed (even -9), its workers die too."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    prctl = getattr(ctypes.CDLL(None), "prctl", None)
    if prctl is not None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != build_pid:  # the build died before prctl took effect (it may be pid 1 in a container)
        os._exit(1)
