"""The whole fan-out on this machine, against real servers: moto's S3 API and nginx WebDAV on 127.0.0.1.

Each "runner" is a separate copy of a six-model project with its own local cache, driven
through the CLI in its own process; conversions are the stand-in converter's (tests/engine/
stand_in_converter.py: instant and TensorFlow-free; the fan-out does not care what a
converter does). The assembler runs the real CLI with a poisoned ``tensorflow`` first on
its path. Its tfjs.lock and outputs must equal a one-machine build's byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile_server import Fault, hostile_cache
from projects import mixed_project, snapshot
from stand_in_runs import stand_in_cli as runner

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parents[1] / "publish"))
from nginx_origin import running_nginx  # noqa: E402  (the publish tests' nginx)
from no_tensorflow import poison_tensorflow  # noqa: E402
from s3_server import running_moto  # noqa: E402

KEYS = {"FANOUT_KEY_ID": "fanout-key", "FANOUT_SECRET": "fanout-s3cr3t-never-printed"}


@dataclass
class Store:
    """One remote cache server: the tfjs.yaml lines that use it, and what it holds (key -> bytes)."""

    kind: str
    yaml: str
    listing: Callable[[], dict[str, bytes]]
    url_for_hostile: Callable[[str], str]  # a stand-in server's URL -> tfjs.yaml cache lines pointing at it

    def objects(self) -> dict[str, bytes]:
        return self.listing()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with running_moto() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory):
    with running_nginx(tmp_path_factory.mktemp("nginx")) as origin:
        yield origin


def _s3_yaml(endpoint: str, bucket: str) -> str:
    return (f"cache:\n  remote: s3://{bucket}/team-cache\n  endpoint_url: {endpoint}\n  region: us-east-1\n"
            "  addressing_style: path\n  access_key_id_env: FANOUT_KEY_ID\n  secret_access_key_env: FANOUT_SECRET\n")


@pytest.fixture(params=["s3", "webdav"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    if request.param == "webdav":
        origin = request.getfixturevalue("nginx")
        folder = origin.root / tmp_path.name

        def files() -> dict[str, bytes]:
            return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

        return Store("webdav", f"cache:\n  remote: {origin.url}/{tmp_path.name}\n", files,
                     lambda url: f"cache:\n  remote: {url}\n")
    import boto3

    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = tmp_path.name.lower().replace("_", "-")[:50].strip("-")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=KEYS["FANOUT_KEY_ID"], aws_secret_access_key=KEYS["FANOUT_SECRET"])
    client.create_bucket(Bucket=bucket)

    def objects() -> dict[str, bytes]:
        listed = client.list_objects_v2(Bucket=bucket, Prefix="team-cache/").get("Contents", [])
        return {o["Key"].removeprefix("team-cache/"): client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                for o in listed}

    return Store("s3", _s3_yaml(endpoint, bucket), objects, lambda url: _s3_yaml(url.rsplit("/", 1)[0], bucket))


def _complete_entries(objects: dict[str, bytes]) -> tuple[int, list[str]]:
    """(entries, blobs some entry lists that are not there): the invariant a killed push must keep."""
    entries = [json.loads(data) for key, data in objects.items() if key.startswith("ac/")]
    missing = [f["sha256"] for entry in entries for f in entry["files"] if f"cas/{f['sha256']}" not in objects]
    return len(entries), missing


def _solo(tmp_path: Path) -> dict[str, bytes]:
    """A one-machine build of the same project (no remote at all)."""
    solo = mixed_project(tmp_path / "solo")
    result = runner(solo, "build")
    assert result.returncode == 0, result.stderr
    return snapshot(solo)


def test_three_runners_and_an_assembler_without_tensorflow_equal_one_machine(tmp_path: Path, store: Store) -> None:
    clones = [mixed_project(tmp_path / name, extra=store.yaml) for name in ("r1", "r2", "r3", "assemble")]
    rows = json.loads(runner(clones[0], "plan", "--json", "--shards", "3").stdout)["include"]
    assert [row["shard"] for row in rows] == ["1/3", "2/3", "3/3"]
    for clone, row in zip(clones[:3], rows, strict=True):
        result = runner(clone, "build", "--shard", row["shard"], "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["built"] == row["models"]
        assert KEYS["FANOUT_SECRET"] not in result.stdout + result.stderr
    assert _complete_entries(store.objects()) == (6, [])

    poison = poison_tensorflow(tmp_path)
    result = subprocess.run([sys.executable, "-m", "tfjs_build", "--no-color", "-C", str(clones[3]), "build",
                             "--restore-only", "--shards", "3", "--json"], capture_output=True, text=True,
                            timeout=180, env={**os.environ, "PYTHONPATH": str(poison.pythonpath)})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["restored"] == [f"m{i}" for i in range(6)] and summary["built"] == []
    assert not poison.imported
    assert snapshot(clones[3]) == _solo(tmp_path)


def test_restore_only_names_the_missing_models_and_their_shard(tmp_path: Path, store: Store) -> None:
    clones = [mixed_project(tmp_path / name, extra=store.yaml) for name in ("r1", "assemble")]
    rows = json.loads(runner(clones[0], "plan", "--json", "--shards", "2").stdout)["include"]
    assert runner(clones[0], "build", "--shard", "1/2").returncode == 0  # shard 2's runner never ran
    result = runner(clones[1], "build", "--restore-only", "--shards", "2", "--json")
    assert result.returncode == 1
    failed = {f["model"]: f["message"] for f in json.loads(result.stdout)["failed"]}
    assert sorted(failed) == sorted(rows[1]["models"])
    assert all("shard 2/2 (build --shard 2/2) should have built it" in m for m in failed.values())


def test_a_runner_killed_mid_push_leaves_no_entry_without_its_blobs(tmp_path: Path, store: Store) -> None:
    hook = tmp_path / "kill_hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_KILL_AFTER_FIRST_BLOB, encoding="utf-8")
    clone = mixed_project(tmp_path / "r1", extra=store.yaml)
    killed = runner(clone, "build", "--shard", "1/3", pythonpath=hook)
    assert killed.returncode == -9, killed.stderr
    count, missing = _complete_entries(store.objects())
    assert missing == [] and count == 0 and store.objects()  # a blob went up, its entry did not
    again = runner(clone, "build", "--shard", "1/3")  # the rerun pushes the rest
    assert again.returncode == 0, again.stderr
    assert _complete_entries(store.objects())[1] == []


# Kills the runner (SIGKILL, as a cancelled CI job or an OOM kill would) right after its first blob PUT.
_KILL_AFTER_FIRST_BLOB = """
import os, signal
from tfjs_build.engine import remote_cache, remote_s3
for cls in (remote_cache.RemoteCache, remote_s3.S3RemoteCache):
    def make(real):
        def request(self, method, key, *args, **kwargs):
            status = real(self, method, key, *args, **kwargs)
            if method == "PUT" and key.startswith("cas/"):
                os.kill(os.getpid(), signal.SIGKILL)
            return status
        return request
    cls._request = make(cls.__dict__["_request"])
"""


@pytest.mark.parametrize("kind", ["http-500", "hang"])
def test_a_failing_remote_costs_one_warning_and_a_local_conversion(tmp_path: Path, store: Store, kind: str) -> None:
    with hostile_cache() as server:
        server.fault = Fault(kind)
        clone = mixed_project(tmp_path / "r1", extra=store.url_for_hostile(server.url))
        result = runner(clone, "build", env={"TFJS_BUILD_CACHE_DEADLINE": "2"})
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("remote cache:") == 1 and "continuing without it" in result.stderr
    assert server.log  # it was asked
    assert snapshot(clone) == _solo(tmp_path)


@pytest.mark.parametrize("how", ["config", "env"])
def test_a_read_only_runner_reads_but_never_writes(tmp_path: Path, store: Store, how: str) -> None:
    writer = mixed_project(tmp_path / "writer", sizes=(5000, 90_000), extra=store.yaml)
    assert runner(writer, "build", "m0").returncode == 0
    before = store.objects()
    extra = store.yaml + ("  push: false\n" if how == "config" else "")
    reader = mixed_project(tmp_path / "fork", sizes=(5000, 90_000), extra=extra)
    result = runner(reader, "build", "--json", env={"TFJS_BUILD_CACHE_PUSH": "0"} if how == "env" else {})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["restored"] == ["m0"] and summary["built"] == ["m1"]
    assert store.objects() == before


def test_the_assembler_fetches_the_models_from_the_remote_at_once(tmp_path: Path) -> None:
    """The assemble step's requests overlap (Remote.fetch_all) instead of waiting out one round trip each: the
    stand-in server holds each entry request until three are in flight (or GATHER_WAIT passes)."""
    with hostile_cache() as server:
        yaml = f"cache:\n  remote: {server.url}\n"
        built = mixed_project(tmp_path / "r1", extra=yaml)
        assert runner(built, "build").returncode == 0
        server.gather = 3
        clone = mixed_project(tmp_path / "assemble", extra=yaml)
        result = runner(clone, "build", "--restore-only", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["restored"] == [f"m{i}" for i in range(6)]
    assert server.max_in_flight >= 3 and snapshot(clone) == snapshot(built)


def test_models_the_remote_lacks_are_asked_for_once_then_converted(tmp_path: Path) -> None:
    with hostile_cache() as server:
        yaml = f"cache:\n  remote: {server.url}\n"
        half = mixed_project(tmp_path / "r1", extra=yaml)
        assert runner(half, "build", "m0", "m1", "m2").returncode == 0
        server.log.clear()
        clone = mixed_project(tmp_path / "r2", extra=yaml)
        result = runner(clone, "build", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["restored"], summary["built"]) == (["m0", "m1", "m2"], ["m3", "m4", "m5"])
    asked = [line for line in server.log if line.startswith("GET") and "/ac/" in line]
    assert len(asked) == len(set(asked)) == 6  # each entry once: a miss is not asked for again before converting
