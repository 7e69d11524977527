"""kill -9 at seeded moments of a publish of v2 over a published v1 (content-named shards, the nginx origin).

Right after the kill, every version the origin names (latest.json, versions.json) has all its files with
the right bytes, and no model-DIGEST.json is online before its shards; the next publish finishes v2.
Each seed kills after another number of uploads nginx has logged (one more may be in flight).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nginx_origin import origin_yaml

from tfjs_build.engine.lockfile import read_lock
from tfjs_build.publish.bundle import model_digest


def origin_problems(folder: Path) -> list[str]:
    """What a reader of the model's folder could trip over."""
    named = []
    if (folder / "latest.json").is_file():
        named.append(json.loads((folder / "latest.json").read_bytes()))
    if (folder / "versions.json").is_file():
        named += json.loads((folder / "versions.json").read_bytes())["versions"]
    problems = []
    for version in named:
        base = folder / posixpath.dirname(version["model_json"])
        for item in version["files"]:
            path = base / item["name"]
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != item["sha256"]:
                problems.append(f"version {version['digest']}: {item['name']} missing or other bytes")
    for model_json in folder.glob("model-*.json"):
        for path in json.loads(model_json.read_bytes())["weightsManifest"][0]["paths"]:
            if not (folder / path).is_file():
                problems.append(f"{model_json.name} is online before its shard {path}")
    return problems


def kill_after_puts(command: list[str], log: Path, marker: str, puts: int) -> bool:
    """Run ``command``; SIGKILL it once nginx has logged ``puts`` more PUTs containing ``marker`` (the 12 new shards, then
    model.json, versions.json, latest.json); whether it was killed before it ended."""
    before = log.read_text().count(marker)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None:
        if log.read_text().count(marker) >= before + puts:
            process.kill()
            process.wait()
            return True
        time.sleep(0.002)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_kill_9_during_an_update_leaves_every_named_version_whole(project, nginx, seed):
    rng = random.Random(seed)
    project.write_config(origin_yaml(f"{nginx.url}/kill{seed}"), models=("alpha",))
    shards = [rng.randbytes(150_000) for _ in range(24)]
    project.build_shards("alpha", shards, tag="v1")
    assert project.publish() == 0
    project.build_shards("alpha", shards[:12] + [rng.randbytes(150_000) for _ in range(12)], tag="v2")
    v2 = model_digest(read_lock(project.root / "tfjs.lock").models["alpha"])

    publish = [sys.executable, "-m", "tfjs_build", "-C", str(project.root), "publish"]
    killed = kill_after_puts(publish, nginx.log, f'"PUT /kill{seed}/', puts=[1, 4, 8, 12, 13, 14][seed])
    folder = nginx.root / f"kill{seed}" / "alpha"
    assert origin_problems(folder) == []

    latest = json.loads((folder / "latest.json").read_bytes())["digest"]
    assert latest == v2 or killed  # a publish not killed finished

    assert project.publish() == 0
    assert json.loads((folder / "latest.json").read_bytes())["digest"] == v2
    assert origin_problems(folder) == []
