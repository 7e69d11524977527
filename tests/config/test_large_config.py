"""Loading is linear in the number of models (issue 13: 16k models took 279 s, each scanning every key's position).

Counted, not timed: the Python calls made while loading N and 4N models (profiler
events, deterministic for a given input) must grow about 4 times, not 16.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tfjs_build.config import load_config


def _calls_to_load(project: Path, models: int) -> int:
    """Profiler events (Python and C calls and returns) while loading ``models`` URL-sourced models."""
    (project / "tfjs.yaml").write_text("version: 1\ndefaults: {budgets: {size: 1MiB}}\nmodels:\n" + "".join(
        f"  m{i}: {{source: 'https://example.com/m{i}.tar.gz', sha256: '{i:064x}', tags: [a, b]}}\n"
        for i in range(models)))
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        calls += 1

    sys.setprofile(count)
    try:
        config = load_config(project / "tfjs.yaml")
    finally:
        sys.setprofile(None)
    assert len(config.models) == models and f"tfjs.yaml:{models + 3}:" in config.model(f"m{models - 1}").where("tags")
    return calls


@pytest.mark.timeout(300)
def test_loading_grows_linearly_with_the_number_of_models(tmp_path: Path) -> None:
    small, large = _calls_to_load(tmp_path, 250), _calls_to_load(tmp_path, 1000)
    assert large < 4.5 * small, f"{small} calls for 250 models, {large} for 1000: not linear"
