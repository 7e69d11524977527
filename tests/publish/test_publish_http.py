"""Publishing to a real WebDAV origin (nginx with gzip on for JSON, see nginx_origin.py) through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import requests
from nginx_origin import BASIC, origin_yaml
from no_tensorflow import poison_tensorflow

from tfjs_build.config import load_config
from tfjs_build.engine.lockfile import read_lock
from tfjs_build.publish.bundle import collect_bundle, model_digest
from tfjs_build.publish.layout import pointer_bytes, upload_plan


def test_publish_puts_every_file_and_a_second_run_puts_nothing(project, nginx, capsys):
    project.write_config(origin_yaml(f"{nginx.url}/first"))
    built = {model: project.build(model) for model in ("alpha", "beta")}
    lock = read_lock(project.root / "tfjs.lock")

    assert project.publish() == 0
    for model, files in built.items():
        digest = model_digest(lock.models[model])
        for name, data in files.items():
            assert requests.get(f"{nginx.url}/first/{model}/{digest}/{name}", timeout=5).content == data
        pointer = requests.get(f"{nginx.url}/first/{model}/latest.json", timeout=5).json()
        assert pointer["model_json"] == f"{digest}/model.json"
    puts = [p for p in nginx.requests("PUT") if p.startswith("/first/")]
    assert len(puts) == 10  # (2 shards + model.json + versions.json + latest.json) x 2
    assert puts.index("/first/alpha/latest.json") > puts.index(f"/first/alpha/{model_digest(lock.models['alpha'])}/model.json")
    capsys.readouterr()

    assert project.publish() == 0
    assert [p for p in nginx.requests("PUT") if p.startswith("/first/")] == puts
    out = capsys.readouterr().out
    assert out.count("(0 uploaded, 0 B; 5 already there)") == 2


def test_a_partly_published_model_gets_only_what_is_missing(project, nginx):
    project.write_config(origin_yaml(f"{nginx.url}/partial"), models=("alpha",))
    project.build("alpha")
    assert project.publish() == 0
    digest = model_digest(read_lock(project.root / "tfjs.lock").models["alpha"])
    (nginx.root / "partial/alpha" / digest / "group1-shard2of2.bin").unlink()
    before = len(nginx.requests("PUT"))
    assert project.publish() == 0
    assert nginx.requests("PUT")[before:] == [f"/partial/alpha/{digest}/group1-shard2of2.bin"]


def test_basic_auth_comes_from_the_named_variable(project, nginx, monkeypatch, capsys):
    project.write_config(origin_yaml(f"{nginx.url}/private", "    basic_auth_env: ORIGIN_AUTH\n"), models=("alpha",))
    project.build("alpha")
    monkeypatch.setenv("ORIGIN_AUTH", "publisher:wrong")
    assert project.publish() == 2
    err = capsys.readouterr().err
    assert f"publish.origin: HEAD {nginx.url}/private/alpha/" in err and "HTTP 401" in err
    assert "wrong" not in err
    monkeypatch.setenv("ORIGIN_AUTH", BASIC)
    assert project.publish() == 0


def test_dry_run_lists_uploads_without_contacting_the_origin(project, capsys):
    project.write_config(origin_yaml("http://127.0.0.1:9/models"), models=("alpha",))
    files = project.build("alpha")
    entry = read_lock(project.root / "tfjs.lock").models["alpha"]
    config = load_config(project.root / "tfjs.yaml")
    version, _ = upload_plan(collect_bundle(config, config.model("alpha"), entry))
    digest, pointer_size = model_digest(entry), len(pointer_bytes("alpha", version))
    assert project.publish("--dry-run") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"origin: alpha {digest} (dry run, nothing uploaded)"
    assert out[1:] == [
        f"  would upload http://127.0.0.1:9/models/alpha/{digest}/group1-shard1of2.bin "
        f"({len(files['group1-shard1of2.bin'])} bytes)",
        f"  would upload http://127.0.0.1:9/models/alpha/{digest}/group1-shard2of2.bin "
        f"({len(files['group1-shard2of2.bin'])} bytes)",
        f"  would upload http://127.0.0.1:9/models/alpha/{digest}/model.json ({len(files['model.json'])} bytes)",
        "  would upload http://127.0.0.1:9/models/alpha/versions.json (adds this version)",
        f"  would upload http://127.0.0.1:9/models/alpha/latest.json ({pointer_size} bytes)",
        "  (Cache-Control is the origin's to set: an upload carries no stored headers)",  # a PUT stores no headers
    ]


def test_a_model_whose_config_changed_since_its_build_is_refused(project, nginx, capsys):
    project.write_config(origin_yaml(f"{nginx.url}/stale"), models=("alpha",))
    project.build("alpha")
    project.write_config(origin_yaml(f"{nginx.url}/stale"), models=("alpha",), model_yaml="quantize: uint8")
    before = len(nginx.requests("PUT"))
    assert project.publish() == 2
    err = capsys.readouterr().err
    assert "tfjs.yaml:3:3: models.alpha: alpha is stale (config changed: quantize)" in err
    assert "run `tfjs-build build alpha` before publishing" in err
    assert len(nginx.requests("PUT")) == before


def test_publish_never_imports_tensorflow(project, nginx, tmp_path):
    """Run in a fresh process with a poisoned ``tensorflow`` first on the path: any import leaves a mark."""
    pythonpath, mark = poison_tensorflow(tmp_path)
    project.write_config(origin_yaml(f"{nginx.url}/notf"), models=("alpha",))
    project.build("alpha")
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    result = subprocess.run([sys.executable, "-m", "tfjs_build", "-C", str(project.root), "publish"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "(5 uploaded" in result.stdout
    assert not mark.exists()


def test_the_origin_gzips_json_so_a_head_that_accepts_gzip_has_no_length(project, nginx):
    """The setup the tests above run against is the one from issue 13: nginx with gzip on for JSON."""
    project.write_config(origin_yaml(f"{nginx.url}/gz"), models=("alpha",))
    project.build("alpha")
    assert project.publish() == 0
    url = f"{nginx.url}/gz/alpha/{model_digest(read_lock(project.root / 'tfjs.lock').models['alpha'])}/model.json"
    gzipped = requests.head(url, headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert gzipped.headers.get("content-encoding") == "gzip" and "content-length" not in gzipped.headers
    assert requests.head(url, headers={"Accept-Encoding": "identity"}, timeout=5).headers["content-length"]


def test_an_object_under_a_digest_path_is_never_overwritten(project, nginx, capsys):
    """nginx reports no content hash (its ETag is mtime-size), so a same-size object is trusted on its size;
    a different size is fetched, compared by sha256 and refused (S3, whose ETag is the MD5, catches both)."""
    project.write_config(origin_yaml(f"{nginx.url}/immutable"), models=("alpha",))
    project.build("alpha")
    assert project.publish() == 0
    digest = model_digest(read_lock(project.root / "tfjs.lock").models["alpha"])
    remote = nginx.root / "immutable/alpha" / digest / "model.json"
    remote.write_bytes(remote.read_bytes() + b" ")  # someone else wrote this version's model.json
    other = remote.read_bytes()
    before = len(nginx.requests("PUT"))
    assert project.publish() == 2
    err = capsys.readouterr().err
    assert f"publish.origin: {nginx.url}/immutable/alpha/{digest}/model.json already exists with other bytes" in err, err
    assert "never overwritten" in err and "Traceback" not in err
    assert remote.read_bytes() == other
    assert nginx.requests("PUT")[before:] == []
