"""Sample inputs for the accuracy gate and the error figures it reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tfjs_build.checks.accuracy import DYNAMIC_DIM, compare_outputs, sample_inputs
from tfjs_build.errors import TfjsBuildError

SPECS = [("image", "float32", (None, 4, 4, 3)), ("ids", "int32", (-1, None)), ("mask", "bool", (2,)),
         ("text", "string", (None,)), ("wide", "int64", (1, 3))]


def test_generated_inputs_follow_dtypes_and_shapes() -> None:
    samples = sample_inputs(SPECS, samples=3)
    assert len(samples) == 3
    for sample in samples:
        assert list(sample) == ["image", "ids", "mask", "text", "wide"]
        assert sample["image"].shape == (1, 4, 4, 3) and sample["image"].dtype == np.float32
        assert sample["ids"].shape == (1, DYNAMIC_DIM) and sample["ids"].dtype == np.int32
        assert sample["ids"].min() >= 0 and sample["ids"].max() < 10
        assert sample["mask"].dtype == bool and sample["mask"].shape == (2,)
        assert sample["text"].shape == (1,) and isinstance(sample["text"][0], bytes)
        assert sample["wide"].dtype == np.int64
    assert not np.array_equal(samples[0]["image"], samples[1]["image"])


def test_generated_inputs_are_reproducible_from_the_seed() -> None:
    def as_bytes(samples: list[dict[str, np.ndarray]]) -> list[bytes]:
        return [v.tobytes() if v.dtype != object else b"|".join(v.tolist()) for s in samples for v in s.values()]

    assert as_bytes(sample_inputs(SPECS, 2, seed=5)) == as_bytes(sample_inputs(SPECS, 2, seed=5))
    assert as_bytes(sample_inputs(SPECS, 2, seed=5)) != as_bytes(sample_inputs(SPECS, 2, seed=6))


def test_npz_rows_become_samples(tmp_path: Path) -> None:
    path = tmp_path / "inputs.npz"
    image = np.arange(2 * 4 * 4 * 3, dtype=np.float64).reshape(2, 4, 4, 3)
    np.savez(path, image=image, ids=np.array([[1, 2], [3, 4]]), mask=np.ones((2, 2), bool),
             text=np.array(["a", "b"]), wide=np.zeros((2, 3), np.int64))
    specs = [("image", "float32", (None, 4, 4, 3)), ("ids", "int32", (None, None)), ("mask", "bool", (None, 2)),
             ("text", "string", (None,)), ("wide", "int64", (1, 3))]
    samples = sample_inputs(specs, samples=8, npz=path)
    assert len(samples) == 2
    assert samples[1]["image"].shape == (1, 4, 4, 3) and samples[1]["image"].dtype == np.float32
    np.testing.assert_array_equal(samples[1]["image"][0], image[1])
    assert samples[0]["ids"].tolist() == [[1, 2]] and samples[0]["ids"].dtype == np.int32
    assert samples[1]["text"].tolist() == ["b"]


def test_npz_with_wrong_names_says_which(tmp_path: Path) -> None:
    path = tmp_path / "inputs.npz"
    np.savez(path, imgae=np.zeros((1, 4, 4, 3)))
    with pytest.raises(TfjsBuildError, match=r"holds arrays \['imgae'\] but the model's inputs are \['image'\]"):
        sample_inputs([("image", "float32", (None, 4, 4, 3))], 1, npz=path)
    where = "tfjs.yaml:9:15: models.net.accuracy.inputs"
    with pytest.raises(TfjsBuildError, match=rf"^{where}: {path}: holds arrays"):
        sample_inputs([("image", "float32", (None, 4, 4, 3))], 1, npz=path, where=where)


def test_npz_with_wrong_shape_or_dtype_or_rows_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "inputs.npz"
    np.savez(path, image=np.zeros((2, 5, 4, 3)))
    with pytest.raises(TfjsBuildError, match=r"rows of shape \(1, 5, 4, 3\), but input 'image' has shape \(-1, 4, 4, 3\)"):
        sample_inputs([("image", "float32", (None, 4, 4, 3))], 1, npz=path)
    np.savez(path, ids=np.zeros((2, 3), np.float32))
    with pytest.raises(TfjsBuildError, match="input 'ids' takes int32 but the array holds float32"):
        sample_inputs([("ids", "int32", (None, 3))], 1, npz=path)
    np.savez(path, a=np.zeros((2, 1)), b=np.zeros((3, 1)))
    with pytest.raises(TfjsBuildError, match="same number of samples"):
        sample_inputs([("a", "float32", (None, 1)), ("b", "float32", (None, 1))], 1, npz=path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(TfjsBuildError, match="cannot read sample inputs"):
        sample_inputs([("a", "float32", (None, 1))], 1, npz=tmp_path / "junk.npz")


def test_errors_and_top1_agreement() -> None:
    reference = [{"probs": np.array([[0.1, 0.9], [0.7, 0.3]], np.float32), "box": np.array([10.0, -20.0, 0.0])},
                 {"probs": np.array([[0.5, 0.4]], np.float32), "box": np.array([1.0, 2.0, 4.0])}]
    candidate = [{"probs": np.array([[0.15, 0.85], [0.4, 0.6]], np.float32), "box": np.array([10.5, -20.0, 0.0])},
                 {"probs": np.array([[0.5, 0.4]], np.float32), "box": np.array([1.0, 2.0, 4.25])}]
    figures = compare_outputs(reference, candidate)
    assert figures.max_abs_error == pytest.approx(0.5)  # box of sample 1
    assert figures.max_rel_error == pytest.approx(0.3 / 0.9, rel=1e-5)  # probs of sample 1: 0.3 / max|ref|
    assert figures.top1_agreement == pytest.approx(2 / 3)
    assert figures.samples == 2


def test_no_classifier_output_means_no_top1() -> None:
    same = [{"features": np.ones((1, 8, 8, 4), np.float32), "score": np.ones((3, 1), np.float32)}]
    figures = compare_outputs(same, same)
    assert (figures.max_abs_error, figures.max_rel_error, figures.top1_agreement) == (0.0, 0.0, None)


def test_nan_and_infinity_count_as_the_worst_error_but_stay_valid_json() -> None:
    reference = [{"y": np.array([1.0, np.nan, np.inf, 0.0])}]
    assert compare_outputs(reference, [{"y": np.array([1.0, np.nan, np.inf, 0.0])}]).max_abs_error == 0.0
    for bad in ([np.nan, np.nan, np.inf, 0.0], [1.0, np.nan, -np.inf, 0.0], [1.0, np.nan, np.inf, np.inf]):
        figures = compare_outputs(reference, [{"y": np.array(bad)}])
        assert figures.max_abs_error == figures.max_rel_error == sys.float_info.max
        json.dumps([figures.max_abs_error, figures.max_rel_error], allow_nan=False)


def test_error_against_an_all_zero_reference_is_the_worst_relative_error() -> None:
    figures = compare_outputs([{"y": np.zeros(3, np.float32)}], [{"y": np.float32([0, 1e-3, 0])}])
    assert figures.max_abs_error == pytest.approx(1e-3)
    assert figures.max_rel_error == sys.float_info.max


def test_integer_outputs_are_compared_and_strings_skipped() -> None:
    figures = compare_outputs([{"k": np.array([3, 4], np.int32), "s": np.array([b"a"], object)}],
                              [{"k": np.array([3, 6], np.int32), "s": np.array([b"b"], object)}])
    assert figures.max_abs_error == 2.0 and figures.max_rel_error == 0.5


def test_mismatched_outputs_are_a_bug_not_a_figure() -> None:
    with pytest.raises(ValueError, match="shape"):
        compare_outputs([{"y": np.zeros(2)}], [{"y": np.zeros(3)}])
    with pytest.raises(ValueError, match="output names differ"):
        compare_outputs([{"y": np.zeros(2)}], [{"z": np.zeros(2)}])
