"""A wrong accuracy.inputs .npz fails the build at its tfjs.yaml line, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from projects import quickstart, snapshot
from qa_cli import assert_user_error, tfjs_build

pytestmark = pytest.mark.slow


def test_npz_without_the_models_input_names_the_config_line(tmp_path: Path) -> None:
    root = quickstart(tmp_path / "p", "    quantize: uint8\n    accuracy: {max_error: 0.1, inputs: samples.npz}\n")
    np.savez(root / "samples.npz", pixels=np.zeros((2, 28, 28, 1), np.float32))  # the input is called "image"
    before = snapshot(root, "dist")
    run = tfjs_build(root, "build")
    assert_user_error(run, "tfjs.yaml:8:40: models.digits-layers.accuracy.inputs: ", "image")
    assert snapshot(root, "dist") == before
