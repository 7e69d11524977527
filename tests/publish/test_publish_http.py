"""Publishing to a real WebDAV origin: Debian's nginx with ``dav_methods PUT`` on 127.0.0.1.

Each module run starts its own nginx (temp prefix and config, not a daemon) and stops
it; the access log is the server's own record of what was uploaded.
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tfjs_build.lock import read_lock
from tfjs_build.config import load_config
from tfjs_build.publish.bundle import collect_bundle, model_digest

CONF = """\
daemon off;
master_process on;
worker_processes 1;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/www;
        location /private/ {{
            if ($http_authorization != "Basic {basic}") {{ return 401; }}
            dav_methods PUT DELETE;
            create_full_put_path on;
            client_max_body_size 64m;
        }}
        location / {{
            dav_methods PUT DELETE;
            create_full_put_path on;
            client_max_body_size 64m;
        }}
    }}
}}
"""
BASIC = "publisher:open-sesame"


@dataclass
class Origin:
    url: str
    root: Path
    log: Path

    def requests(self, method: str) -> list[str]:
        """Paths the server logged for ``method`` (its own access log, not our client's claims).

        nginx logs a request just after answering it, so wait until the log stops growing.
        """
        text, previous = "", None
        while text != previous:
            previous, text = text, self.log.read_text() if self.log.exists() else ""
            time.sleep(0.05)
        lines = text.splitlines()
        return [line.split('"')[1].split()[1] for line in lines if f'"{method} ' in line]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Origin]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.fail("nginx is missing: apt-get install -y nginx")
    prefix = tmp_path_factory.mktemp("nginx")
    (prefix / "www").mkdir()
    port = _free_port()
    basic = base64.b64encode(BASIC.encode()).decode()
    (prefix / "nginx.conf").write_text(CONF.format(prefix=prefix, port=port, basic=basic))
    proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.head(url, timeout=1)
            break
        except requests.ConnectionError:
            if proc.poll() is not None:
                pytest.fail(f"nginx exited: {proc.stdout.read().decode()}")
            time.sleep(0.05)
    yield Origin(url, prefix / "www", prefix / "access.log")
    proc.terminate()
    proc.wait(timeout=10)


def origin_yaml(url: str, extra: str = "") -> str:
    return f"  origin:\n    type: http\n    url: {url}\n" + extra


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
    assert len(puts) == 8
    assert puts.index("/first/alpha/latest.json") > puts.index(f"/first/alpha/{model_digest(lock.models['alpha'])}/model.json")
    capsys.readouterr()

    assert project.publish() == 0
    assert [p for p in nginx.requests("PUT") if p.startswith("/first/")] == puts
    out = capsys.readouterr().out
    assert out.count("(0 uploaded, 0 B; 4 already there)") == 2


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
    digest, pointer_size = model_digest(entry), len(collect_bundle(config, config.model("alpha"), entry).pointer())
    assert project.publish("--dry-run") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"origin: alpha {digest} (dry run, nothing uploaded)"
    assert out[1:] == [
        f"  would upload http://127.0.0.1:9/models/alpha/{digest}/group1-shard1of2.bin "
        f"({len(files['group1-shard1of2.bin'])} bytes, public, max-age=31536000, immutable)",
        f"  would upload http://127.0.0.1:9/models/alpha/{digest}/group1-shard2of2.bin "
        f"({len(files['group1-shard2of2.bin'])} bytes, public, max-age=31536000, immutable)",
        f"  would upload http://127.0.0.1:9/models/alpha/{digest}/model.json "
        f"({len(files['model.json'])} bytes, public, max-age=31536000, immutable)",
        f"  would upload http://127.0.0.1:9/models/alpha/latest.json ({pointer_size} bytes, no-cache)",
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
