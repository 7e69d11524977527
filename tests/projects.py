"""A project on disk, for every test folder: tfjs.yaml, stand-in sources, tfjs.lock entries, file ages, snapshots.

Lock entries come two ways: ``entry`` (figures a check reads, no files behind them) and ``record_build``
(output files written and recorded as a build of the current tfjs.yaml would). A uniquely named module
at tests/ (on every test's path through the root conftest), so folders never import each other's helpers.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import textwrap
import time
from dataclasses import dataclass, replace
from pathlib import Path

from tfjs_build import CONVERTER_VERSION
from tfjs_build.cli import Context
from tfjs_build.config import Config, load_config
from tfjs_build.convert.result import AccuracyFigures
from tfjs_build.engine.lockfile import LOCK_NAME, Lock, LockedWeight, LockEntry, OutputFile, read_lock, write_lock
from tfjs_build.engine.plan import current_plan
from tfjs_build.terminal import Console

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
DATA_FILE = "variables/variables.data-00000-of-00001"  # a SavedModel's variables, in pair_project's models
MIXED_SIZES = (5000, 90_000, 20_000, 60_000, 1000, 40_000)
FRESH_CONFIG = """\
version: 1
output_dir: dist
models:
  digits:
    source: models/digits
    metadata: {labels: labels.json}
"""


def write_config(root: Path, text: str) -> Path:
    """``text`` (dedented) as ROOT/tfjs.yaml."""
    path = root / "tfjs.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def stand_in_source(root: Path, name: str) -> str:
    """An empty SavedModel folder models/NAME (config validation only looks for saved_model.pb); its tfjs.yaml path."""
    folder = root / "models" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "saved_model.pb").write_bytes(b"")
    return f"models/{name}"


def quickstart(root: Path, extra: str = "") -> Path:
    """The bundled example's real Keras model (tens of KB), built as a layers model into dist/; ``extra`` is
    appended to tfjs.yaml."""
    (root / "models").mkdir(parents=True)
    shutil.copy(QUICKSTART / "models" / "digits.keras", root / "models" / "digits.keras")
    config = "version: 1\noutput_dir: dist\nmodels:\n  digits-layers:\n    source: models/digits.keras\n    format: layers\n"
    write_config(root, config + extra)
    return root


def fresh_project(root: Path) -> Path:
    """One model, ``digits`` (a stand-in SavedModel with metadata labels.json; output_dir dist), its model.json
    written and recorded in tfjs.lock so that it is fresh, as a build would leave it (no converter needed)."""
    stand_in_source(root, "digits")
    (root / "labels.json").write_text('["zero", "one"]', encoding="utf-8")
    write_config(root, FRESH_CONFIG)
    record_build(root, "digits", {"model.json": b'{"format": "graph-model", "modelTopology": {}, "weightsManifest": []}'})
    return root


def pair_project(root: Path, sizes: tuple[int, int] = (200_000, 50_000), quantize: str = "uint8") -> Path:
    """Models alpha and beta: SavedModel folders (saved_model.pb, variables of random bytes of ``sizes``) that
    the engine tests' stand-in converter reads, listed by ``write_pair_config``; aged."""
    for name, size in zip(("alpha", "beta"), sizes, strict=True):
        folder = root / "models" / name
        (folder / "variables").mkdir(parents=True)
        (folder / "saved_model.pb").write_bytes(name.encode() * 100)
        (folder / "variables" / "variables.index").write_bytes(b"index-" + name.encode())
        (folder / DATA_FILE).write_bytes(os.urandom(size))
    write_pair_config(root, quantize)
    age(root)
    return root


def write_pair_config(root: Path, quantize: str = "uint8") -> None:
    """tfjs.yaml of ``pair_project``: beta quantized with ``quantize``."""
    write_config(root, f"""\
        version: 1
        models:
          alpha:
            source: models/alpha
          beta:
            source: models/beta
            quantize: {quantize}
        """)


def mixed_project(root: Path, sizes: tuple[int, ...] = MIXED_SIZES, extra: str = "") -> Path:
    """Models m0..mK, each a frozen graph of ``sizes[i]`` bytes (content distinct per model), for the fan-out's
    split by cost; ``extra`` ends tfjs.yaml; aged."""
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


def age(path: Path, seconds: float = 60) -> None:
    """Date every file below ``path`` back, so the stat cache trusts them (not "racily clean")."""
    past = time.time() - seconds
    for file in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(file, (past, past))


def copy_project(root: Path, dest: Path) -> Path:
    """ROOT's tfjs.yaml and models/ (not its outputs, lock or cache) copied to ``dest``, aged."""
    shutil.copytree(root / "models", dest / "models")
    shutil.copy(root / "tfjs.yaml", dest / "tfjs.yaml")
    age(dest)
    return dest


def snapshot(root: Path, output_dir: str = "dist/tfjs") -> dict[str, bytes]:
    """tfjs.lock (when there is one) and every file of the model folders in ``output_dir``, by path from ``root``:
    what a build leaves (not the builder's hidden temp folders beside the model folders: the next build removes
    them)."""
    out = root / output_dir
    files = {LOCK_NAME: (root / LOCK_NAME).read_bytes()} if (root / LOCK_NAME).is_file() else {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and not path.relative_to(out).parts[0].startswith("."):
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


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


def built_entry(config: Config, name: str, files: dict[str, bytes]) -> LockEntry:
    """The entry a build of the current tfjs.yaml and sources records for NAME's output ``files``, so the model
    is fresh (its fingerprint and input digests as planned now; no conversion)."""
    inputs = current_plan(config, Lock({}), [name])[0].inputs
    outputs = tuple(OutputFile(n, len(data), hashlib.sha256(data).hexdigest()) for n, data in sorted(files.items()))
    size = sum(len(data) for data in files.values())
    return LockEntry(
        fingerprint=inputs.fingerprint, converter=CONVERTER_VERSION, inputs=dict(inputs.digests),
        settings=config.model(name).output_settings(), files=outputs, size=size, transfer=size, transfer_brotli=None,
        shards=sum(n.endswith(".bin") for n in files), params=0, ops=(),
    )


def record_build(root: Path, name: str, files: dict[str, bytes]) -> dict[str, bytes]:
    """Write ``files`` as NAME's output folder (replacing what it held) and its ``built_entry`` into tfjs.lock."""
    config = load_config(root / "tfjs.yaml")
    out = config.model_output_dir(name)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    for file_name, data in files.items():
        (out / file_name).write_bytes(data)
    lock = read_lock(config.lock_path)
    write_lock(config.lock_path, Lock({**lock.models, name: built_entry(config, name, files)}))
    return files


@dataclass
class Project:
    """A project in ``root`` whose models have stand-in sources and lock entries made by hand (no TF needed)."""

    root: Path

    def write_config(self, text: str) -> None:
        write_config(self.root, text)

    def write_models(self, *names: str, keys: str = "") -> None:
        """tfjs.yaml listing ``names``, each with a stand-in source (``source``) and the YAML lines ``keys``."""
        extra = "".join(f"    {line}\n" for line in textwrap.dedent(keys).splitlines())
        models = "".join(f"  {name}:\n    source: {self.source(name)}\n{extra}" for name in names)
        self.write_config(f"version: 1\nmodels:\n{models}")

    def source(self, name: str) -> str:
        return stand_in_source(self.root, name)

    def write_lock(self, models: dict[str, LockEntry]) -> None:
        """Settings as a build of the current tfjs.yaml records them, except those the entry sets itself."""
        config = {m.name: m for m in load_config(self.root / "tfjs.yaml").models}
        built = {name: replace(e, settings={**config[name].output_settings(), **e.settings}) if name in config else e
                 for name, e in models.items()}
        write_lock(self.root / LOCK_NAME, Lock(built))

    def run(self, command: str, *argv: str) -> tuple[int, str]:
        """Run a command module as the CLI does (parser from its add_arguments), capturing stdout."""
        module = __import__(f"tfjs_build.commands.{command}", fromlist=["run"])
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        out = io.StringIO()
        ctx = Context(directory=self.root, config_path=self.root / "tfjs.yaml", console=Console(stream=out))
        code = module.run(parser.parse_args(list(argv)), ctx)
        return code, out.getvalue()
