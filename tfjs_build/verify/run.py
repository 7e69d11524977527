"""``tfjs-build verify``: the built files, run in real TF.js, against TensorFlow on the source.

Per model and backend, TF.js must reproduce TensorFlow within the tolerance
|a - b| <= TOLERANCE * (1 + max|b|) (the relative error of ``compare_outputs``),
widened for quantized models by the error the accuracy gate already measured (the
figures in tfjs.lock): TF.js must not lose more than quantization did. Only stale or
unbuilt models are refused; TensorFlow is imported only here, inside
``tfjs_build.convert.reference``, never by the other commands.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfjs_build.checks.accuracy import compare_outputs
from tfjs_build.config import Config, ModelConfig
from tfjs_build.convert.result import AccuracyFigures
from tfjs_build.engine.lockfile import LockEntry, read_lock
from tfjs_build.engine.plan import require_fresh
from tfjs_build.errors import EXIT_CHECK_FAILED, EXIT_OK, TfjsBuildError
from tfjs_build.terminal import Console
from tfjs_build.util.stderr_log import stderr_into

TOLERANCE = 1e-4
NODE_BACKENDS = ("cpu", "wasm")


@dataclass(frozen=True)
class Verdict:
    model: str
    backend: str
    figures: AccuracyFigures
    limit: float

    @property
    def ok(self) -> bool:
        return self.figures.max_rel_error <= self.limit


def verify_models(config: Config, names: list[str], backends: list[str] | None, console: Console,
                  samples: int = 2) -> int:
    models = config.select(names)
    lock = read_lock(config.lock_path)
    require_fresh(config, lock, models, before="verifying")
    verdicts = []
    for model in models:
        for backend in backends or [b for b in model.backends if b in NODE_BACKENDS]:
            verdict = verify_model(config, model, lock.models[model.name], backend, samples)
            console.out(_describe(verdict, console))
            verdicts.append(verdict)
    return EXIT_OK if all(v.ok for v in verdicts) else EXIT_CHECK_FAILED


def verify_model(config: Config, model: ModelConfig, entry: LockEntry, backend: str, samples: int) -> Verdict:
    from tfjs_build.convert.reference import reference_run
    from tfjs_build.sources.download import local_source
    from tfjs_build.verify.runner import run_in_tfjs

    with tempfile.TemporaryDirectory(prefix="tfjs-build-verify-") as work, stderr_into(Path(work) / "tf.log"):
        inputs, expected = reference_run(model, local_source(model, config.cache.dir), Path(work), samples)
    out_dir = config.model_output_dir(model.name)
    actual = [run_in_tfjs(out_dir, sample, backend, format=model.format) for sample in inputs]
    figures = compare_outputs(expected, [_keyed_like(reference, got) for reference, got in zip(expected, actual, strict=True)])
    quantization_error = entry.accuracy.max_rel_error if entry.accuracy is not None else 0.0
    return Verdict(model.name, backend, figures, TOLERANCE + 1.1 * quantization_error)


def _keyed_like(reference: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TF.js names layers outputs after their layers, Keras by position: pair them by order."""
    if set(reference) == set(got):
        return got
    if len(reference) != len(got):
        raise TfjsBuildError(f"TF.js returned outputs {sorted(got)} but TensorFlow returned {sorted(reference)}")
    return dict(zip(reference, got.values(), strict=True))


def _describe(verdict: Verdict, console: Console) -> str:
    figures = verdict.figures
    state = console.paint("ok", "green") if verdict.ok else console.paint("FAILED", "red")
    top1 = "" if figures.top1_agreement is None else f", top-1 agreement {figures.top1_agreement:.0%}"
    return (f"{verdict.model} [{verdict.backend}]: max abs error {figures.max_abs_error:.3g}, "
            f"max rel error {figures.max_rel_error:.3g} (limit {verdict.limit:.3g}){top1}, "
            f"{figures.samples} samples: {state}")
