"""``tfjs-build verify``: the built files, run in real TF.js, against TensorFlow on the source.

Per model and backend, TF.js must reproduce TensorFlow within the tolerance
|a - b| <= TOLERANCE * (1 + max|b|) (the relative error of ``compare_outputs``),
widened for quantized models by the error the accuracy gate already measured (the
figures in tfjs.lock): TF.js must not lose more than quantization did. Only stale or
unbuilt models are refused; TensorFlow is imported only here, inside
``tfjs_build.convert.reference``, never by the other commands. ``compare_in_tfjs`` is the one
comparison: the build's ``verify:`` step (``at_build``) holds TF.js to the same figures.
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

    def summary(self) -> str:
        figures = self.figures
        top1 = "" if figures.top1_agreement is None else f", top-1 agreement {figures.top1_agreement:.0%}"
        return (f"max abs error {figures.max_abs_error:.3g}, max rel error {figures.max_rel_error:.3g} "
                f"(limit {self.limit:.3g}){top1}, {figures.samples} samples")


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

    with tempfile.TemporaryDirectory(prefix="tfjs-build-verify-") as work, stderr_into(Path(work) / "tf.log"):
        inputs, expected = reference_run(model, local_source(model, config.cache.dir), Path(work), samples)
    return compare_in_tfjs(model, config.model_output_dir(model.name), inputs, expected, backend, entry.accuracy)


def compare_in_tfjs(model: ModelConfig, out_dir: Path, inputs: list[dict[str, np.ndarray]],
                    expected: list[dict[str, np.ndarray]], backend: str, accuracy: AccuracyFigures | None) -> Verdict:
    """The built files in ``out_dir``, run by TF.js on ``backend``, against TensorFlow's ``expected`` outputs;
    ``accuracy`` is what quantizing already cost (the accuracy gate's figures), which the limit allows for."""
    from tfjs_build.verify.runner import run_in_tfjs

    actual = [run_in_tfjs(out_dir, sample, backend, format=model.format) for sample in inputs]
    figures = compare_outputs(expected, [_keyed_like(reference, got) for reference, got in zip(expected, actual, strict=True)])
    quantization_error = accuracy.max_rel_error if accuracy is not None else 0.0
    return Verdict(model.name, backend, figures, TOLERANCE + 1.1 * quantization_error)


def _keyed_like(reference: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TF.js names layers outputs after their layers, Keras by position: pair them by order."""
    if set(reference) == set(got):
        return got
    if len(reference) != len(got):
        raise TfjsBuildError(f"TF.js returned outputs {sorted(got)} but TensorFlow returned {sorted(reference)}")
    return dict(zip(reference, got.values(), strict=True))


def _describe(verdict: Verdict, console: Console) -> str:
    state = console.paint("ok", "green") if verdict.ok else console.paint("FAILED", "red")
    return f"{verdict.model} [{verdict.backend}]: {verdict.summary()}: {state}"
