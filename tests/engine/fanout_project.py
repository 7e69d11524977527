"""Helpers for the fan-out tests: a project of models of mixed sizes, and the CLI as a separate "runner" process.

``runner`` runs the real command line with the stand-in converter (tests/engine/stand_in_cli.py) in
its workers, in its own process with its own environment: one CI runner of a fan-out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine_project import age

HERE = Path(__file__).parent
SIZES = (5000, 90_000, 20_000, 60_000, 1000, 40_000)


def mixed_project(root: Path, sizes: tuple[int, ...] = SIZES, extra: str = "") -> Path:
    """Models m0..mK, each a frozen graph of ``sizes[i]`` bytes (content distinct per model); ``extra`` ends tfjs.yaml."""
    lines = ["version: 1", "models:"]
    for i, size in enumerate(sizes):
        folder = root / "models" / f"m{i}"
        folder.mkdir(parents=True)
        (folder / "model.pb").write_bytes(bytes([i]) * size)
        lines += [f"  m{i}:", f"    source: models/m{i}/model.pb", "    input_format: frozen_graph",
                  "    outputs: [out]"]
    (root / "tfjs.yaml").write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    age(root)
    return root


def runner(root: Path, *args: str, env: dict[str, str] | None = None, pythonpath: Path | None = None,
           timeout: float = 180) -> subprocess.CompletedProcess:
    """``tfjs-build -C ROOT ARGS`` with the stand-in converter, as its own process (``pythonpath`` goes first)."""
    environ = {**os.environ, **(env or {})}
    if pythonpath is not None:
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, str(HERE / "stand_in_cli.py"), "--no-color", "-C", str(root), *args],
                          capture_output=True, text=True, timeout=timeout, env=environ)
