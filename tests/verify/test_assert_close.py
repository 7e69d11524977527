"""The shared tolerance check: |a - b| <= rtol * (1 + max|b|), exactly at its bound."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest


def test_passes_within_the_bound_scaled_by_the_largest_expected_value(assert_close: Callable) -> None:
    expected = np.array([100.0, -3.0, 0.5])
    assert_close(expected + np.array([0.0101, -0.0101, 0.0]), expected)  # bound 1e-4 * 101 = 0.0101


def test_fails_just_past_the_bound_and_says_by_how_much(assert_close: Callable) -> None:
    expected = np.array([100.0, -3.0, 0.5])
    with pytest.raises(AssertionError, match=r"max \|a-b\| = 0.0102 > 0.0101 = 0.0001 \* \(1 \+ max\|b\|\)"):
        assert_close(expected + np.array([0.0, 0.0102, 0.0]), expected)


def test_fails_on_shape_mismatch_and_nan(assert_close: Callable) -> None:
    with pytest.raises(AssertionError, match=r"shape \(2,\) != expected \(1, 2\)"):
        assert_close(np.zeros(2), np.zeros((1, 2)))
    with pytest.raises(AssertionError):
        assert_close(np.array([np.nan]), np.array([0.0]))


def test_rtol_is_a_parameter(assert_close: Callable) -> None:
    assert_close(np.array([1.5]), np.array([1.0]), rtol=0.25)
    with pytest.raises(AssertionError):
        assert_close(np.array([1.5]), np.array([1.0]), rtol=0.2)
