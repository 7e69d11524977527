"""A tiny built project (tfjs.yaml, dist/tfjs/NAME files, tfjs.lock) made by hand, no converter.

Publishing reads only what a build leaves behind, so tests write exactly that: the
output files and a lock entry whose hashes match them.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from tfjs_build import CONVERTER_VERSION
from tfjs_build.cli import main
from tfjs_build.config import load_config
from tfjs_build.engine.fingerprint import ModelInputs
from tfjs_build.engine.lockfile import Lock, LockEntry, OutputFile, read_lock, write_lock
from tfjs_build.engine.plan import current_plan
from tfjs_build.tfjs_format.shards import shard_name


@dataclass
class Project:
    root: Path

    def write_config(self, publish_yaml: str, models: tuple[str, ...] = ("alpha", "beta"), model_yaml: str = "") -> None:
        """tfjs.yaml with ``models`` (plus ``model_yaml`` lines in each) and the given publish targets."""
        lines = ["version: 1", "models:"]
        for name in models:
            lines += [f"  {name}:", "    source: model.keras"] + ([f"    {model_yaml}"] if model_yaml else [])
        (self.root / "model.keras").write_bytes(b"not read by publish")
        (self.root / "tfjs.yaml").write_text("\n".join(lines) + "\npublish:\n" + publish_yaml)

    def build(self, name: str, seed: int = 0, shards: int = 2) -> dict[str, bytes]:
        """NAME's output with shards named as before content naming (``group1-shardKofN.bin``): the digest layout."""
        rng = random.Random(f"{name}-{seed}")
        files = {f"group1-shard{i}of{shards}.bin": rng.randbytes(1000 + 37 * i) for i in range(1, shards + 1)}
        manifest = [{"paths": sorted(files), "weights": [{"name": "w", "shape": [1], "dtype": "float32"}]}]
        files["model.json"] = json.dumps({"format": "graph-model", "seed": seed, "weightsManifest": manifest}).encode()
        return self.build_files(name, files)

    def build_shards(self, name: str, shards: list[bytes], tag: str = "") -> dict[str, bytes]:
        """NAME's output with content-named shards (``w-<16 hex>.bin``, as the converter writes them), in this
        manifest order; ``tag`` goes into model.json. Returns {file name: bytes}, shards in manifest order."""
        files = {shard_name(hashlib.sha256(data).hexdigest()): data for data in shards}
        manifest = [{"paths": list(files), "weights": [{"name": "w", "shape": [1], "dtype": "float32"}]}]
        files["model.json"] = json.dumps({"format": "graph-model", "tag": tag, "weightsManifest": manifest}).encode()
        return self.build_files(name, files)

    def build_files(self, name: str, files: dict[str, bytes]) -> dict[str, bytes]:
        """Write ``files`` as NAME's output folder and record them in tfjs.lock, as a build would."""
        out = self.root / "dist" / "tfjs" / name
        out.mkdir(parents=True, exist_ok=True)
        for old in out.iterdir():
            old.unlink()
        for file_name, data in files.items():
            (out / file_name).write_bytes(data)
        config = load_config(self.root / "tfjs.yaml")
        lock_path = self.root / "tfjs.lock"
        models = dict(read_lock(lock_path).models)
        inputs = current_plan(config, Lock({}), [name])[0].inputs  # what a real build would record
        models[name] = lock_entry(config.model(name).output_settings(), files, inputs)
        write_lock(lock_path, Lock(models))
        return files

    def publish(self, *args: str) -> int:
        return main(["-C", str(self.root), "publish", *args])


def lock_entry(settings: dict, files: dict[str, bytes], inputs: ModelInputs) -> LockEntry:
    outputs = tuple(OutputFile(path=n, size=len(d), sha256=hashlib.sha256(d).hexdigest()) for n, d in sorted(files.items()))
    return LockEntry(
        fingerprint=inputs.fingerprint, converter=CONVERTER_VERSION, inputs=dict(inputs.digests), settings=settings,
        files=outputs,
        size=sum(len(d) for d in files.values()), transfer=0, transfer_brotli=None,
        shards=len(files) - 1, params=1, ops=(),
    )
