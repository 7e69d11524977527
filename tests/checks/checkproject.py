"""A project on disk (tfjs.yaml, stand-in sources, tfjs.lock written with lock.write_lock), no TF needed.

A uniquely named module (not conftest) so test folders never import each other's helpers.
"""

from __future__ import annotations

import argparse
import io
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

from tfjs_build.cli import Context
from tfjs_build.config import load_config
from tfjs_build.convert.result import AccuracyFigures
from tfjs_build.engine.lockfile import LOCK_NAME, Lock, LockedWeight, LockEntry, OutputFile, write_lock
from tfjs_build.terminal import Console


def entry(size: int = 3_400_000, transfer: int = 3_100_000, shards: int = 1, params: int = 850_000,
          ops: tuple[str, ...] = ("Conv2D", "Identity", "MatMul", "Relu"), accuracy: dict | None = None,
          quantize: dict | None = None, weights: tuple[tuple[str, str, int], ...] = (),
          files: tuple[OutputFile, ...] = (), fmt: str = "graph") -> LockEntry:
    """A lock entry with the figures a build would record; every figure can be overridden (``accuracy``: the
    AccuracyFigures fields, ``max_abs_error`` at least; ``weights``: (name, dtype, bytes) triples).

    Without ``files`` it lists a model.json, as every entry must (the model folder itself is left unbuilt)."""
    files = files or (OutputFile("model.json", 0, "0" * 64),)
    figures = None if accuracy is None else AccuracyFigures(**{"max_rel_error": 0.0, "top1_agreement": None,
                                                               "samples": 8, **accuracy})
    return LockEntry(
        fingerprint="f" * 64, converter="1", inputs={}, settings={"format": fmt, "quantize": quantize or {}},
        files=files, size=size, transfer=transfer, transfer_brotli=transfer - 100_000, shards=shards,
        params=params, ops=ops, weights=tuple(LockedWeight(*w) for w in weights), accuracy=figures,
    )


@dataclass
class Project:
    root: Path

    def write_config(self, text: str) -> None:
        (self.root / "tfjs.yaml").write_text(textwrap.dedent(text), encoding="utf-8")

    def write_lock(self, models: dict[str, LockEntry]) -> None:
        """Settings as a build of the current tfjs.yaml records them, except those the entry sets itself."""
        config = {m.name: m for m in load_config(self.root / "tfjs.yaml").models}
        built = {name: replace(e, settings={**config[name].output_settings(), **e.settings}) if name in config else e
                 for name, e in models.items()}
        write_lock(self.root / LOCK_NAME, Lock(built))

    def source(self, name: str) -> str:
        """A stand-in SavedModel folder: config validation only looks for saved_model.pb."""
        folder = self.root / "models" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "saved_model.pb").write_bytes(b"")
        return f"models/{name}"

    def run(self, command: str, *argv: str) -> tuple[int, str]:
        """Run a command module as the CLI does (parser from its add_arguments), capturing stdout."""
        module = __import__(f"tfjs_build.commands.{command}", fromlist=["run"])
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        out = io.StringIO()
        ctx = Context(directory=self.root, config_path=self.root / "tfjs.yaml", console=Console(stream=out))
        code = module.run(parser.parse_args(list(argv)), ctx)
        return code, out.getvalue()
