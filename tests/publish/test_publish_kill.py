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


def origin_problems(folder: Path, named: list[dict] | None = None) -> list[str]:
    """What a reader of the model's folder could trip over: a version named (by default: by latest.json and
    versions.json) with a file missing or other bytes, a model-DIGEST.json online before its shards."""
    if named is None:
        named = [json.loads((folder / "latest.json").read_bytes())] if (folder / "latest.json").is_file() else []
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


def kill_after(command: list[str], log: Path, marker: str, requests: int) -> bool:
    """Run ``command``; SIGKILL it once nginx has logged ``requests`` more lines containing ``marker``
    (e.g. '"PUT /prefix/'); whether it was killed before it ended."""
    before = log.read_text().count(marker)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None:
        if log.read_text().count(marker) >= before + requests:
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
    # the 12 new shards, then model.json, versions.json, latest.json
    killed = kill_after(publish, nginx.log, f'"PUT /kill{seed}/', requests=[1, 4, 8, 12, 13, 14][seed])
    folder = nginx.root / f"kill{seed}" / "alpha"
    assert origin_problems(folder) == []

    latest = json.loads((folder / "latest.json").read_bytes())["digest"]
    assert latest == v2 or killed  # a publish not killed finished

    assert project.publish() == 0
    assert json.loads((folder / "latest.json").read_bytes())["digest"] == v2
    assert origin_problems(folder) == []


@pytest.mark.slow
@pytest.mark.parametrize("deletes", [1, 2, 4])
def test_kill_9_during_a_prune_leaves_the_kept_versions_whole(project, nginx, deletes):
    """v1..v3 share some shards; pruning to 1 deletes v1's and v2's model.json first, then the shards only they
    used, the index last: killed after 1, 2 or 4 DELETEs, v3 (kept, current) is whole and no model.json left
    online misses a shard; the next prune finishes."""
    rng = random.Random(deletes)
    project.write_config(origin_yaml(f"{nginx.url}/prune{deletes}"), models=("alpha",))
    shards = [rng.randbytes(50_000) for _ in range(6)]
    for tag, used in (("v1", shards[:4]), ("v2", shards[1:5]), ("v3", shards[2:])):
        project.build_shards("alpha", used, tag=tag)
        assert project.publish() == 0
    folder = nginx.root / f"prune{deletes}" / "alpha"
    current = json.loads((folder / "latest.json").read_bytes())

    prune = [sys.executable, "-m", "tfjs_build", "-C", str(project.root), "publish", "--prune", "1"]
    assert kill_after(prune, nginx.log, f'"DELETE /prune{deletes}/', requests=deletes)
    assert origin_problems(folder, [current]) == []

    assert project.publish("--prune", "1") == 0
    assert origin_problems(folder) == []
    assert sorted(p.name for p in folder.glob("w-*.bin")) == sorted(f["name"] for f in current["files"][:-1])
