"""A real WebDAV origin for the publish tests: Debian's nginx with ``dav_methods PUT`` and gzip on for JSON.

Each test session starts its own nginx on 127.0.0.1 (temp prefix and config, not a
daemon) and stops it; its access log is the server's own record of what was uploaded.
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

CONF = """\
daemon off;
master_process on;
worker_processes 1;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    types {{ application/json json; application/octet-stream bin; text/html html; application/javascript js; }}
    gzip on;  # as a CDN origin would: HEAD with Accept-Encoding: gzip then has no Content-Length
    gzip_types application/json;
    gzip_min_length 1;
    access_log {prefix}/access.log;
    map $uri $tfjs_cache_control {{  # what docs/frontdoors.md asks of an origin
        default "";
        "~/w-[0-9a-f]{{16}}[.]bin$" "public, max-age=31536000, immutable";
        "~/model-[0-9a-f]{{16}}[.]json$" "public, max-age=31536000, immutable";
        "~/[0-9a-f]{{16}}/[^/]+$" "public, max-age=31536000, immutable";
        "~/(latest|versions)[.]json$" "no-cache";
    }}
    add_header Cache-Control $tfjs_cache_control;
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


@contextmanager
def running_nginx(prefix: Path) -> Iterator[Origin]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is missing: apt-get install -y nginx")
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
                raise RuntimeError(f"nginx exited: {proc.stdout.read().decode()}") from None
            time.sleep(0.05)
    try:
        yield Origin(url, prefix / "www", prefix / "access.log")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def origin_yaml(url: str, extra: str = "") -> str:
    return f"  origin:\n    type: http\n    url: {url}\n" + extra
