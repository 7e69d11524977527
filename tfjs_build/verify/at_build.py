"""``verify:`` in tfjs.yaml: the model just built, run in TF.js on each of its backends against TensorFlow.

It runs in the build's worker process, right after the conversion: TensorFlow is loaded
there already (the build's own process never loads it), models verify in parallel as they
convert, and a mismatch fails the model like a conversion error, before anything is stored,
placed or locked, so its previous output and tfjs.lock entry stand. The comparison and its
limit are the ``verify`` command's (``verify.run.compare_in_tfjs``). webgl runs in headless
Chromium, as ``verify.runner`` does everywhere.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tfjs_build.config import ModelConfig
from tfjs_build.convert.result import ConvertResult
from tfjs_build.errors import EXIT_CHECK_FAILED, SourceError, TfjsBuildError
from tfjs_build.verify.run import Verdict, compare_in_tfjs
from tfjs_build.verify.runner import TFJS_VERSION, TfjsRuntimeError


class VerificationFailed(TfjsBuildError):
    """TF.js does not compute what TensorFlow computes on a backend the model declares: a check that failed."""

    exit_code = EXIT_CHECK_FAILED


def verify_built(model: ModelConfig, source: Path, out_dir: Path, work_dir: Path, result: ConvertResult
                 ) -> ConvertResult:
    """``result`` with each backend's figures; VerificationFailed naming every backend that differs."""
    from tfjs_build.convert.reference import reference_run  # noqa: PLC0415  (TensorFlow: workers only)

    try:
        inputs, expected = reference_run(model, source, work_dir, model.verify.samples)
    except SourceError as exc:
        raise SourceError(f"{model.where('verify')}: cannot run TensorFlow's side of the check: {exc}; "
                          "set verify: false for this model") from None
    verdicts: list[Verdict] = []
    failures: list[str] = []
    for backend in model.backends:
        try:
            verdicts.append(compare_in_tfjs(model, out_dir, inputs, expected, backend, result.accuracy))
        except TfjsRuntimeError as exc:
            failures.append(f"{backend}: TF.js failed to {exc.stage} the model ({exc.js_message})")
    failures[:0] = [f"{v.backend}: {v.summary()}" for v in verdicts if not v.ok]
    if failures:
        raise VerificationFailed(
            f"{model.where('verify')}: TF.js {TFJS_VERSION} does not compute what TensorFlow computes on "
            f"{'; on '.join(failures)}. The new output was discarded; the previous output and tfjs.lock entry "
            f"stand. Fix: drop the failing backend from {model.where('backends')}, or change the model "
            "(a difference the converter caused is a tfjs-build bug: please report it)")
    return dataclasses.replace(result, verified={v.backend: v.figures for v in verdicts})
