"""Session fixtures shared by every test folder: the real TF.js runtime and a tolerance check.

TF.js is never optional: when its node modules are missing, tests that need it FAIL with the
install command (CI always installs them), they are not skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from no_tensorflow import PoisonedTensorflow, poison_tensorflow

from tfjs_build.errors import TfjsBuildError
from tfjs_build.verify.runner import CHROMIUM_ENV, chromium_path, node_modules_dir, run_in_tfjs


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--chromium", metavar="PATH", help=f"Chromium for webgl tests (default: ${CHROMIUM_ENV} or PATH)")


def pytest_configure(config: pytest.Config) -> None:
    chromium = config.getoption("--chromium")
    if chromium:
        os.environ[CHROMIUM_ENV] = chromium


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-4) -> None:
    """The project's accuracy bar: |a - b| <= rtol * (1 + max|b|), with equal shapes."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    bound = rtol * (1.0 + float(np.max(np.abs(expected), initial=0.0)))
    worst = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64)), initial=0.0))
    assert worst <= bound, f"max |a-b| = {worst:.3g} > {bound:.3g} = {rtol} * (1 + max|b|)"


@pytest.fixture(name="assert_close", scope="session")
def assert_close_fixture() -> Callable[..., None]:
    return assert_close


@pytest.fixture(scope="session")
def tfjs_available() -> Path:
    """The node_modules holding TF.js 4.22; fails (never skips) with the install hint."""
    try:
        return node_modules_dir()
    except TfjsBuildError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def chromium(tfjs_available: Path) -> str:
    """Chromium for webgl; fails with the install hint when absent."""
    try:
        return chromium_path()
    except TfjsBuildError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def run_tfjs(tfjs_available: Path) -> Callable[..., dict[str, np.ndarray]]:
    """``run_in_tfjs`` once the runtime is known to be installed."""
    return run_in_tfjs


@pytest.fixture
def poisoned_tensorflow(tmp_path: Path) -> PoisonedTensorflow:
    """A ``tensorflow`` stand-in for PYTHONPATH that marks and fails any import (see no_tensorflow.py)."""
    return poison_tensorflow(tmp_path)
