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

from projects import record_build

from tfjs_build.cli import main
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
        return record_build(self.root, name, files)

    def publish(self, *args: str) -> int:
        return main(["-C", str(self.root), "publish", *args])

