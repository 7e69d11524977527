"""Shared shards across versions, the previous (digest) layout, and ``publish --prune``, on both object stores.

Each test runs against a real moto S3-API server and the real nginx WebDAV origin on 127.0.0.1.
What the stores hold is read back from the stores themselves (boto3 listing, nginx's folder).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from nginx_origin import Origin, origin_yaml
from s3_server import running_moto

from tfjs_build.engine.lockfile import read_lock
from tfjs_build.publish.base import ObjectStore
from tfjs_build.publish.bundle import model_digest
from tfjs_build.tfjs_format.shards import shard_name

KEYS = {"AWS_ACCESS_KEY_ID": "testing-key", "AWS_SECRET_ACCESS_KEY": "x"}


@dataclass
class Store:
    """One object store as the tests see it: its target yaml, and its objects read back directly."""

    kind: str
    yaml: str
    objects: Any  # () -> {key under the model prefix: bytes}
    write: Any  # (key, bytes) -> None: an object written by someone else (an earlier release)
    cache_control: Any  # key -> the Cache-Control a reader gets with it

    def get(self, key: str) -> bytes:
        return self.objects()[key]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


@pytest.fixture(params=["s3", "nginx"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, nginx: Origin) -> Iterator[Store]:
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50]
    if request.param == "nginx":
        folder = nginx.root / name

        def files() -> dict[str, bytes]:
            return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

        def put(key: str, data: bytes) -> None:
            (folder / key).parent.mkdir(parents=True, exist_ok=True)
            (folder / key).write_bytes(data)

        def cache(key: str) -> str | None:
            return requests.head(f"{nginx.url}/{name}/{key}", timeout=5).headers.get("cache-control")

        yield Store("nginx", origin_yaml(f"{nginx.url}/{name}"), files, put, cache)
        return
    endpoint = request.getfixturevalue("endpoint")
    for key, value in KEYS.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)

    def objects() -> dict[str, bytes]:
        listed = client.list_objects_v2(Bucket=name).get("Contents", [])
        return {o["Key"]: client.get_object(Bucket=name, Key=o["Key"])["Body"].read() for o in listed}

    yield Store("s3", f"  cdn:\n    type: s3\n    bucket: {name}\n    endpoint_url: {endpoint}\n"
                      "    region: us-east-1\n    addressing_style: path\n", objects,
                lambda key, data: client.put_object(Bucket=name, Key=key, Body=data),
                lambda key: client.head_object(Bucket=name, Key=key).get("CacheControl"))
    client.close()


@pytest.fixture
def puts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Keys every store target PUTs, in order (the real upload still happens)."""
    from tfjs_build.publish.http import HttpTarget
    from tfjs_build.publish.s3 import S3Target

    seen: list[str] = []
    for cls in (S3Target, HttpTarget):
        real = cls.put

        def spy(self: ObjectStore, key: str, data: bytes, content_type: str, cache_control: str, real=real) -> None:
            seen.append(key)
            real(self, key, data, content_type, cache_control)

        monkeypatch.setattr(cls, "put", spy)
    return seen


def shards(*seeds: int) -> list[bytes]:
    return [hashlib.sha256(f"shard-{s}".encode()).digest() * (40 + s) for s in seeds]


def name_of(data: bytes) -> str:
    return shard_name(hashlib.sha256(data).hexdigest())


def publish_version(project, shard_seeds: tuple[int, ...], tag: str, *args: str) -> str:
    project.build_shards("alpha", shards(*shard_seeds), tag=tag)
    assert project.publish(*args) == 0
    return model_digest(read_lock(project.root / "tfjs.lock").models["alpha"])


def test_a_head_only_change_uploads_only_the_new_shard_then_model_json_index_and_pointer(project, store, puts):
    project.write_config(store.yaml, models=("alpha",))
    v1 = publish_version(project, (1, 2, 3), "v1")
    online = store.objects()
    assert set(online) == {f"alpha/{name_of(s)}" for s in shards(1, 2, 3)} | {
        f"alpha/model-{v1}.json", "alpha/versions.json", "alpha/latest.json"}
    puts.clear()

    v2 = publish_version(project, (1, 2, 4), "v2")  # only the last shard (the head) changed
    assert puts == [f"alpha/{name_of(shards(4)[0])}", f"alpha/model-{v2}.json", "alpha/versions.json",
                    "alpha/latest.json"]
    online = store.objects()
    assert json.loads(online[f"alpha/model-{v2}.json"])["weightsManifest"][0]["paths"] == [
        name_of(s) for s in shards(1, 2, 4)]  # the built bytes: paths beside model.json, no ../
    assert json.loads(online["alpha/latest.json"])["model_json"] == f"model-{v2}.json"
    assert [v["digest"] for v in json.loads(online["alpha/versions.json"])["versions"]] == [v1, v2]
    assert f"alpha/model-{v1}.json" in online and f"alpha/{name_of(shards(3)[0])}" in online  # v1 stays whole

    puts.clear()
    assert project.publish() == 0
    assert puts == []  # the same build again: nothing at all


def test_shards_and_versions_are_cached_for_good_the_index_and_pointer_never(project, store):
    """S3 stores the headers with each object; nginx sets them by name (nginx_origin.py, as docs/frontdoors.md says)."""
    project.write_config(store.yaml, models=("alpha",))
    v1 = publish_version(project, (1,), "v1")
    keys = [f"alpha/{name_of(shards(1)[0])}", f"alpha/model-{v1}.json", "alpha/latest.json", "alpha/versions.json"]
    forever = "public, max-age=31536000, immutable"
    assert [store.cache_control(key) for key in keys] == [forever, forever, "no-cache", "no-cache"]


def test_prune_keeps_the_newest_and_removes_only_what_no_kept_version_uses(project, store, capsys):
    project.write_config(store.yaml, models=("alpha",))
    v1 = publish_version(project, (1, 2, 3), "v1")
    v2 = publish_version(project, (1, 2, 4), "v2")
    v3 = publish_version(project, (1, 5, 4), "v3")
    before = store.objects()
    capsys.readouterr()

    assert project.publish("--prune", "2", "--dry-run") == 0
    out = capsys.readouterr().out
    assert store.objects() == before
    assert "alpha: would remove 1 versions, 2 objects" in out
    would = [line.split()[2] for line in out.splitlines() if "would delete" in line]
    assert [w.rsplit("/", 1)[1] for w in would] == [f"model-{v1}.json", name_of(shards(3)[0])]

    assert project.publish("--prune", "2", "--dry-run", "--json") == 0
    report = json.loads(capsys.readouterr().out)["pruned"][0]
    assert (report["kept"], report["removed"]) == ([v2, v3], [v1])
    assert [key.rsplit("/", 1)[1] for key in report["deleted"]] == [w.rsplit("/", 1)[1] for w in would]

    assert project.publish("--prune", "2") == 0
    after = store.objects()
    assert set(before) - set(after) == {f"alpha/model-{v1}.json", f"alpha/{name_of(shards(3)[0])}"}
    assert [v["digest"] for v in json.loads(after["alpha/versions.json"])["versions"]] == [v2, v3]
    assert project.publish("--prune", "2") == 0  # nothing more to do
    assert set(store.objects()) == set(after)


def test_prune_never_removes_the_version_latest_json_names(project, store):
    project.write_config(store.yaml, models=("alpha",))
    v1 = publish_version(project, (1, 2), "v1")
    pointer_v1 = store.get("alpha/latest.json")
    v2 = publish_version(project, (1, 3), "v2")
    v3 = publish_version(project, (1, 4), "v3")
    store.write("alpha/latest.json", pointer_v1)  # rolled back by hand: the old pointer put back

    assert project.publish("--prune", "1") == 0
    after = store.objects()
    assert f"alpha/model-{v1}.json" in after and f"alpha/{name_of(shards(2)[0])}" in after
    assert f"alpha/model-{v2}.json" not in after and f"alpha/{name_of(shards(3)[0])}" not in after
    assert [v["digest"] for v in json.loads(after["alpha/versions.json"])["versions"]] == [v1, v3]


def old_release_publish(store: Store, digest: str, files: dict[str, bytes]) -> None:
    """What tfjs-build wrote before shared shards (commit 2d10afe): MODEL/DIGEST/FILE, then this latest.json."""
    for name, data in files.items():
        store.write(f"alpha/{digest}/{name}", data)
    pointer = {"model": "alpha", "digest": digest, "model_json": f"{digest}/model.json",
               "files": [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()]}
    store.write("alpha/latest.json", (json.dumps(pointer, indent=2, sort_keys=True) + "\n").encode())


def test_versions_of_the_previous_layout_stay_readable_and_are_pruned(project, store):
    project.write_config(store.yaml, models=("alpha",))
    old0 = {"group1-shard1of1.bin": b"zero" * 100, "model.json": b'{"old": 0}'}
    old1 = {"group1-shard1of1.bin": b"one" * 100, "model.json": b'{"old": 1}'}
    old_release_publish(store, "00000000000000a0", old0)
    old_release_publish(store, "00000000000000a1", old1)
    v2 = publish_version(project, (1, 2), "v2")
    online = store.objects()
    for digest, files in (("00000000000000a0", old0), ("00000000000000a1", old1)):
        assert {n: online[f"alpha/{digest}/{n}"] for n in files} == files  # untouched, still where apps find them
    listed = [v["digest"] for v in json.loads(online["alpha/versions.json"])["versions"]]
    # S3 lists the older folder too; a plain HTTP origin cannot list, so only the one latest.json named is known
    assert listed == (["00000000000000a0"] if store.kind == "s3" else []) + ["00000000000000a1", v2]

    assert project.publish("--prune", "1") == 0
    left = store.objects()
    assert not any(key.startswith("alpha/00000000000000a1/") for key in left)
    assert any(key.startswith("alpha/00000000000000a0/") for key in left) == (store.kind == "nginx")
    assert f"alpha/model-{v2}.json" in left


def test_an_interrupted_publish_leaves_the_published_version_whole(project, store, monkeypatch):
    """The upload dies after the new version's first shard: latest.json still names v1, whole; the next run
    finishes v2 (what it finds uploaded is not uploaded again)."""
    from tfjs_build.publish.http import HttpTarget
    from tfjs_build.publish.s3 import S3Target

    project.write_config(store.yaml, models=("alpha",))
    v1 = publish_version(project, (1, 2, 3), "v1")
    project.build_shards("alpha", shards(1, 4, 5), tag="v2")
    cls = S3Target if store.kind == "s3" else HttpTarget
    real, calls = cls.put, []

    def dying(self: ObjectStore, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        calls.append(key)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a Ctrl-C or a kill between two uploads
        real(self, key, data, content_type, cache_control)

    monkeypatch.setattr(cls, "put", dying)
    assert project.publish() == 130
    online = store.objects()
    assert json.loads(online["alpha/latest.json"])["digest"] == v1
    v1_files = json.loads(online[f"alpha/model-{v1}.json"])["weightsManifest"][0]["paths"]
    assert all(f"alpha/{name}" in online for name in v1_files)
    assert not any(key.startswith("alpha/model-") and key != f"alpha/model-{v1}.json" for key in online)

    monkeypatch.setattr(cls, "put", real)
    assert project.publish() == 0
    assert json.loads(store.get("alpha/latest.json"))["model_json"] != f"model-{v1}.json"


def test_pruning_a_model_never_published_writes_nothing(project, store):
    project.write_config(store.yaml, models=("alpha",))
    assert project.publish("--prune", "1") == 0
    assert store.objects() == {}


def test_a_garbled_latest_json_is_a_clear_error(project, store, capsys):
    project.write_config(store.yaml, models=("alpha",))
    store.write("alpha/latest.json", b'{"digest": "../../etc", "model_json": "../x", "files": []}')
    assert project.publish("--prune", "1") == 2
    err = capsys.readouterr().err
    assert "alpha/latest.json: not a version record" in err and "Traceback" not in err


def test_prune_checks_keep_and_is_refused_on_a_github_target(project, capsys, monkeypatch):
    project.write_config("  release:\n    type: github\n    repo: o/r\n", models=("alpha",))
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with pytest.raises(SystemExit) as exited:  # argparse's own usage error
        project.publish("--prune", "0")
    assert exited.value.code == 2
    assert "expected a whole number of versions to keep, at least 1, got '0'" in capsys.readouterr().err
    assert project.publish("--prune", "3") == 2
    assert "--prune works on s3 and http targets only" in capsys.readouterr().err
