"""bench/delivery.py's update-cost table: publish to real servers and load in a real browser, count at the servers.

A moto S3-API server and nginx (WebDAV, gzip for JSON, the Cache-Control headers docs/frontdoors.md asks of
an origin: tests/publish/nginx_origin.py) on 127.0.0.1, and one headless Chromium page (delivery_browser.mjs)
whose HTTP cache lives for the whole run. What was uploaded is read from the stores (objects new or changed
between two listings); what the browser fetched, from nginx's access log (requests and body bytes sent).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
for folder in (TESTS, TESTS / "publish"):
    sys.path.insert(0, str(folder))
BUCKET = "delivery"
_LOG_LINE = re.compile(r'"(\w+) (\S+) [^"]*" (\d{3}) (\d+|-)')


@dataclass
class Phase:
    """One version of one model: what reached each store, and what the browser fetched loading it."""

    s3: tuple[int, int]  # objects new or changed in the bucket, their bytes
    nginx: tuple[int, int]  # files new or changed at the origin, their bytes
    puts: int  # PUT requests nginx logged
    loaded: tuple[int, int]  # requests nginx logged while the page loaded the model, body bytes sent
    answer: dict[str, Any]


class Servers:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.stack = ExitStack()

    def __enter__(self) -> Servers:
        import boto3
        from nginx_origin import running_nginx
        from s3_server import running_moto

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
        self.endpoint = self.stack.enter_context(running_moto())
        (self.work / "nginx").mkdir()
        self.origin = self.stack.enter_context(running_nginx(self.work / "nginx"))
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")
        self.s3.create_bucket(Bucket=BUCKET)
        self.browser = self._start_browser()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.browser.poll() is None:
            self.browser.communicate("\n", timeout=60)
        self.stack.close()

    def _start_browser(self) -> subprocess.Popen:
        from tfjs_build.verify.provision import chromium_path, node_modules_dir

        modules = node_modules_dir()
        shutil.copy(modules / "@tensorflow/tfjs/dist/tf.min.js", self.origin.root / "tf.min.js")
        (self.origin.root / "page.html").write_text('<!doctype html><script src="/tf.min.js"></script>\n')
        script = Path(__file__).with_name("delivery_browser.mjs")
        return subprocess.Popen(["node", str(script), str(modules), chromium_path(), f"{self.origin.url}/page.html",
                                 str(self.work / "profile")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def publish_yaml(self) -> str:
        return (f"publish:\n  cdn: {{type: s3, bucket: {BUCKET}, prefix: models/, endpoint_url: {self.endpoint}, "
                f"region: us-east-1, addressing_style: path}}\n  origin: {{type: http, url: {self.origin.url}/models}}\n")

    def publish_and_load(self, root: Path, models: dict[str, object]) -> dict[str, Phase]:
        """Publish every model to both stores, then load each in the page; per model, what each step cost."""
        s3_before, www_before, log_before = self._bucket(), self._www(), self._log_size()
        for target in ("cdn", "origin"):
            done = subprocess.run([sys.executable, "-m", "tfjs_build", "-C", str(root), "publish", target],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"publish {target} failed:\n{done.stdout}{done.stderr}")
        s3_after, www_after = self._bucket(), self._www()
        puts = [path for method, path, _, _ in self._log_since(log_before) if method == "PUT"]
        phases = {}
        for name in models:
            mark = self._log_size()
            self.browser.stdin.write(f"{self.origin.url}/models/{name}\n")
            self.browser.stdin.flush()
            answer = json.loads(self.browser.stdout.readline() or '{"error": "the browser driver stopped"}')
            if "error" in answer:
                raise SystemExit(f"loading {name} in Chromium failed: {answer['error']}")
            got = [(path, sent) for _, path, _, sent in self._log_since(mark) if path.startswith(f"/models/{name}/")]
            phases[name] = Phase(_changed(s3_before, s3_after, f"models/{name}/"),
                                 _changed(www_before, www_after, f"models/{name}/"),
                                 sum(p.startswith(f"/models/{name}/") for p in puts),
                                 (len(got), sum(sent for _, sent in got)), answer)
        return phases

    def _bucket(self) -> dict[str, tuple[str, int]]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return {o["Key"]: (o["ETag"], o["Size"]) for page in pages for o in page.get("Contents", [])}

    def _www(self) -> dict[str, tuple[int, int]]:
        root = self.origin.root
        return {p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.stat().st_size)
                for p in root.rglob("*") if p.is_file()}

    def _log_size(self) -> int:
        time.sleep(0.2)  # nginx logs a request just after answering it
        return self.origin.log.stat().st_size if self.origin.log.exists() else 0

    def _log_since(self, offset: int) -> list[tuple[str, str, int, int]]:
        time.sleep(0.2)
        with open(self.origin.log, "rb") as log:
            log.seek(offset)
            lines = log.read().decode("utf-8", "replace").splitlines()
        hits = (_LOG_LINE.search(line) for line in lines)
        return [(m[1], m[2], int(m[3]), 0 if m[4] == "-" else int(m[4])) for m in hits if m]


def _changed(before: dict[str, tuple[Any, int]], after: dict[str, tuple[Any, int]], prefix: str) -> tuple[int, int]:
    keys = [k for k, v in after.items() if k.startswith(prefix) and before.get(k) != v]
    return len(keys), sum(after[k][1] for k in keys)


def loaded_rows(models: dict[str, tuple[str, str]], lock: dict, first: dict[str, Phase],
                second: dict[str, Phase]) -> list[str]:
    """Table 3, the update cost of a head-only change, and the goal's verdict per model."""
    rows = ["update cost of the head-only change (v2 after v1): uploaded to each store, and fetched by a browser "
            "whose HTTP cache holds v1",
            f"{'model':<24} {'shard':>6} {'model B':>11} | {'S3 up: obj':>10} {'bytes':>10} {'%':>6} | "
            f"{'nginx up':>8} {'bytes':>10} {'%':>6} | {'v1 cold: req':>12} {'bytes':>11} | "
            f"{'v2 warm: req':>12} {'bytes':>10} {'% of v1':>7}"]
    for name, (_, shard_size) in models.items():
        size, v1, v2 = lock[name]["size"], first[name], second[name]
        rows.append(
            f"{name:<24} {shard_size:>6} {size:>11,} | {v2.s3[0]:>10} {v2.s3[1]:>10,} {v2.s3[1] / size:>6.1%} | "
            f"{v2.nginx[0]:>8} {v2.nginx[1]:>10,} {v2.nginx[1] / size:>6.1%} | {v1.loaded[0]:>12} {v1.loaded[1]:>11,} | "
            f"{v2.loaded[0]:>12} {v2.loaded[1]:>10,} {v2.loaded[1] / v1.loaded[1]:>7.1%}")
    rows.append("")
    for name in models:
        v2, size = second[name], lock[name]["size"]
        worst = max(v2.s3[1] / size, v2.nginx[1] / size, v2.loaded[1] / first[name].loaded[1])
        head = sum(nbytes for weight, _, nbytes in lock[name]["weights"] if "/predictions" in weight)
        ran = "ran v2" if v2.answer["digest"] != first[name].answer["digest"] else "DID NOT GET A NEW VERSION"
        rows.append(f"{name}: v2 costs at most {worst:.1%} of v1 (goal <= 10%): {'ok' if worst <= 0.10 else 'MISSED'}; "
                    f"floor (the head's own {head:,} B): {head / size:.1%}; PUTs logged by nginx: {v2.puts}; "
                    f"the page {ran} ({v2.answer['outputs']} outputs, {'finite' if v2.answer['finite'] else 'NOT FINITE'})")
    return rows
