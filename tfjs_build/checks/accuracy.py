"""The accuracy gate's two halves that need no TensorFlow: sample inputs and error figures.

The converters run the float and the quantized model on ``sample_inputs(...)`` and hand
both output lists to ``compare_outputs``. Definitions (also in the README):

- Generated inputs use ``numpy.random.default_rng(seed)``: floats standard normal,
  integers uniform in [0, 10), bools fair coins, strings short lowercase words. A
  dynamic (None or -1) first dimension becomes 1 (the batch), any other dynamic
  dimension becomes ``DYNAMIC_DIM`` (32: enough for strided conv stacks and sequences).
- ``inputs: file.npz``: one array per input name, stacked along axis 0; each row is
  one sample (batch of 1), so ``samples:`` is ignored and every row is used.
- max absolute error: the largest |candidate - reference| over every element of every
  numeric output and sample.
- max relative error: the largest, over outputs and samples, of
  max|candidate - reference| / max|reference| (relative to the output's scale, so
  values near zero do not blow it up; 0/0 is 0).
- top-1 agreement: over outputs shaped (batch, classes) with classes >= 2 and a float
  dtype (classifier logits or probabilities), the fraction of rows whose argmax is the
  same in both; None when no output has that shape.
- NaN where the reference is NaN (or an equal infinity) counts as equal; NaN or Infinity anywhere else counts
  as the largest finite float error, so figures stay valid JSON and fail any limit.
- Non-numeric (string) outputs are not compared.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tfjs_build.convert.result import AccuracyFigures
from tfjs_build.errors import TfjsBuildError

DYNAMIC_DIM = 32
INT_RANGE = (0, 10)
WORDS = ("the", "a", "model", "tensor", "flow", "web", "js", "ok", "yes", "no", "cat", "dog")
WORST = sys.float_info.max

InputSpec = tuple[str, str, Sequence[int | None]]


def sample_inputs(
    specs: Sequence[InputSpec], samples: int, seed: int = 0, npz: Path | None = None, where: str = ""
) -> list[dict[str, np.ndarray]]:
    """Sample inputs for a model whose inputs are ``(name, dtype, shape)``.

    ``dtype`` is a numpy name ("float32", "int64", "bool") or "string". Errors about
    ``npz`` are prefixed with ``where`` (e.g. ``model.where("accuracy.inputs")``).
    """
    if npz is not None:
        try:
            return _load_npz(specs, npz)
        except TfjsBuildError as exc:
            if not where:
                raise
            raise TfjsBuildError(f"{where}: {exc}") from None
    rng = np.random.default_rng(seed)
    return [{name: _generate(rng, dtype, _concrete(shape)) for name, dtype, shape in specs} for _ in range(samples)]


def compare_outputs(reference: list[dict[str, np.ndarray]], candidate: list[dict[str, np.ndarray]]) -> AccuracyFigures:
    """Error figures of ``candidate`` outputs against ``reference`` (see module docstring)."""
    if len(reference) != len(candidate):
        raise ValueError(f"{len(reference)} reference samples but {len(candidate)} candidate samples")
    max_abs = max_rel = 0.0
    agree = rows = 0
    for ref_sample, cand_sample in zip(reference, candidate, strict=True):
        if ref_sample.keys() != cand_sample.keys():
            raise ValueError(f"output names differ: {sorted(ref_sample)} vs {sorted(cand_sample)}")
        for key, ref in ref_sample.items():
            ref, cand = np.asarray(ref), np.asarray(cand_sample[key])
            if ref.shape != cand.shape:
                raise ValueError(f"output {key!r}: shape {cand.shape} differs from the reference's {ref.shape}")
            if ref.dtype.kind not in "biufc":
                continue
            abs_err, scale = _abs_error(ref, cand)
            max_abs = max(max_abs, abs_err)
            max_rel = max(max_rel, _relative(abs_err, scale))
            if ref.ndim == 2 and ref.shape[1] >= 2 and ref.dtype.kind == "f":
                agree += int(np.sum(np.argmax(ref, axis=1) == np.argmax(cand, axis=1)))
                rows += ref.shape[0]
    return AccuracyFigures(
        max_abs_error=max_abs,
        max_rel_error=max_rel,
        top1_agreement=agree / rows if rows else None,
        samples=len(reference),
    )


# ---------------------------------------------------------------- figures


def _abs_error(ref: np.ndarray, cand: np.ndarray) -> tuple[float, float]:
    """max|cand - ref| and max|ref| over finite reference values, in float64."""
    ref64 = ref.astype(np.complex128 if ref.dtype.kind == "c" else np.float64)
    cand64 = cand.astype(ref64.dtype)
    same = (cand64 == ref64) | (np.isnan(ref64) & np.isnan(cand64))  # also equal infinities
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(np.where(same, 0, cand64 - ref64))
    if diff.size == 0:
        return 0.0, 0.0
    finite_ref = np.abs(ref64[np.isfinite(ref64)])
    scale = float(finite_ref.max()) if finite_ref.size else 0.0
    worst = float(diff.max()) if not np.isnan(diff).any() else WORST
    return min(worst, WORST), scale


def _relative(abs_err: float, scale: float) -> float:
    if abs_err == 0.0:
        return 0.0
    if scale == 0.0 or abs_err >= WORST:
        return WORST
    return min(abs_err / scale, WORST)


# ---------------------------------------------------------------- inputs


def _concrete(shape: Sequence[int | None]) -> tuple[int, ...]:
    dims = []
    for axis, dim in enumerate(shape):
        dynamic = dim is None or dim < 0
        dims.append((1 if axis == 0 else DYNAMIC_DIM) if dynamic else int(dim))  # type: ignore[arg-type]
    return tuple(dims)


def _generate(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    if dtype == "string":
        words = np.empty(shape, dtype=object)
        words.reshape(-1)[:] = [WORDS[i].encode() for i in rng.integers(0, len(WORDS), words.size)]
        return words
    kind = np.dtype(dtype).kind
    if kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if kind in "iu":
        return rng.integers(*INT_RANGE, shape).astype(dtype)
    if kind in "fc":
        return rng.standard_normal(shape).astype(dtype)
    raise ValueError(f"cannot generate inputs of dtype {dtype!r}")


def _load_npz(specs: Sequence[InputSpec], path: Path) -> list[dict[str, np.ndarray]]:
    """Split the arrays of ``path`` into per-sample dicts, checking names and shapes."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as exc:
        raise TfjsBuildError(f"{path}: cannot read sample inputs ({exc}); save them with numpy.savez") from None
    expected = [name for name, _, _ in specs]
    if sorted(arrays) != sorted(expected):
        raise TfjsBuildError(
            f"{path}: holds arrays {sorted(arrays)} but the model's inputs are {sorted(expected)}; "
            "save one array per input, named after the input (numpy.savez(file, **inputs))"
        )
    rows = {len(array) if array.ndim else 0 for array in arrays.values()}
    if len(rows) != 1 or 0 in rows:
        raise TfjsBuildError(
            f"{path}: every array needs the same number of samples along axis 0 "
            f"(got {sorted(arrays[k].shape for k in arrays)}); stack one row per sample"
        )
    for name, dtype, shape in specs:
        arrays[name] = _checked(path, name, dtype, shape, arrays[name])
    return [{name: arrays[name][i:i + 1] for name in expected} for i in range(rows.pop())]


def _checked(path: Path, name: str, dtype: str, shape: Sequence[int | None], array: np.ndarray) -> np.ndarray:
    """``array`` cast to the input's dtype, after checking its row shape fits ``shape``."""
    row = (1,) + array.shape[1:]
    fits = len(row) == len(shape) and all(d is None or d < 0 or d == r for d, r in zip(shape, row, strict=True))
    if not fits:
        want = tuple(-1 if d is None else d for d in shape)
        raise TfjsBuildError(
            f"{path}: array {name!r} has rows of shape {row}, but input {name!r} has shape {want} "
            "(-1 = any); reshape the array so each row is one input"
        )
    if dtype == "string":
        if array.dtype.kind not in "SU":
            raise TfjsBuildError(f"{path}: input {name!r} takes strings but the array holds {array.dtype}")
        return array.astype(object)
    target = np.dtype(dtype)
    if not np.can_cast(array.dtype, target, casting="same_kind") and not (
        array.dtype.kind in "iub" and target.kind in "iuf"
    ):
        raise TfjsBuildError(f"{path}: input {name!r} takes {dtype} but the array holds {array.dtype}; convert it")
    return array.astype(target)
