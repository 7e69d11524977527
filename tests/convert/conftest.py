"""Fixtures of the converter zoo: every model of zoo_models.py built and converted once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from zoo_models import BUILDERS, EXTRA, VARIANTS, ZooModel, convert_into, write_config

from tfjs_build.config import load_config


@pytest.fixture(scope="session")
def zoo_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[dict, dict]]]:
    """Build every zoo model once: the project folder and each model's (inputs, TF outputs)."""
    project = tmp_path_factory.mktemp("zoo")
    rng = np.random.default_rng(0)
    sources, data = {}, {}
    for name, build in BUILDERS.items():
        source, inputs, expected = build(project, rng)
        sources[name] = source
        data[name] = (inputs, expected())
    extra = dict(EXTRA)
    for name, (base, settings) in VARIANTS.items():
        sources[name] = sources[base]
        data[name] = data[base]
        extra[name] = settings
    write_config(project, sources, extra)
    return project, data


@pytest.fixture(scope="session")
def zoo(zoo_project: tuple[Path, dict[str, tuple[dict, dict]]]) -> dict[str, ZooModel]:
    """Every zoo model converted once (session-wide)."""
    project, data = zoo_project
    config = load_config(project / "tfjs.yaml")
    converted = {}
    for model in config.models:
        out_dir = project / "out" / model.name
        result = convert_into(model, out_dir)
        inputs, expected = data[model.name]
        converted[model.name] = ZooModel(model.name, model, out_dir, result, inputs, expected)
    return converted
