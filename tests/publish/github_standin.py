"""A stand-in for the GitHub REST API (NOT GitHub): the few endpoints tfjs-build calls, in memory.

Releases (create, list, by tag, publish), release assets (list, upload, delete, 422
``already_exists`` on a duplicate name), issue comments (list, create, edit), pagination
with ``Link`` headers, a bearer token check, a one-shot 403 rate limit with
``retry-after``, a read-only mode like a fork PR's token, and a one-shot error with any body
(a proxy or a server that echoes request headers back). Used by the publish tests
and the GitHub Action tests.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghs_standin_token_value"


@dataclass
class State:
    repo: str = "octo/models"
    page_size: int = 2  # small, so pagination is exercised
    releases: dict[int, dict[str, Any]] = field(default_factory=dict)
    assets: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    throttle: int = 0  # answer the next N requests with 403 + retry-after
    read_only: bool = False  # writes answer 403 "Resource not accessible by integration"
    hide_assets_once: bool = False  # the next asset listing is empty (GitHub lists lag behind)
    fail_once: tuple[str, int, bytes] | None = None  # (path part, status, raw body): the next such request
    next_id: int = 100

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class StandIn:
    def __init__(self) -> None:
        self.state = State()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        handler.base = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def requests(self, method: str | None = None) -> list[str]:
        return [path for m, path in self.state.log if method in (None, m)]


class _Handler(BaseHTTPRequestHandler):
    state: State
    base: str

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # ------------------------------------------------------------ plumbing

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        self.query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("content-length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.state.log.append((method, parts.path + (f"?name={self.query['name']}" if "name" in self.query else "")))
        if self.headers.get("authorization") != f"Bearer {TOKEN}":
            return self._send(401, {"message": "Bad credentials"})
        if self.state.fail_once is not None and self.state.fail_once[0] in parts.path:
            (_, status, body), self.state.fail_once = self.state.fail_once, None
            return self._send_raw(status, body)
        if self.state.throttle:
            self.state.throttle -= 1
            return self._send(403, {"message": "API rate limit exceeded"}, {"retry-after": "1"})
        repo = re.escape(self.state.repo)
        for verb, pattern, action in _ROUTES:
            match = re.fullmatch(pattern.replace("REPO", repo), parts.path)
            if verb == method and match:
                return action(self, *match.groups())
        self._send(404, {"message": "Not Found"})

    def _send(self, status: int, data: Any = None, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, b"" if data is None else json.dumps(data).encode(), headers)

    def _send_raw(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _json(self) -> dict[str, Any]:
        return json.loads(self.body or b"{}")

    def _page(self, items: list[dict[str, Any]]) -> None:
        size = min(int(self.query.get("per_page", 30)), self.state.page_size)
        page = int(self.query.get("page", 1))
        headers = {}
        if page * size < len(items):
            path = urlsplit(self.path).path
            headers["link"] = f'<{self.base}{path}?per_page={size}&page={page + 1}>; rel="next"'
        self._send(200, items[(page - 1) * size: page * size], headers)

    def _forbidden_when_read_only(self) -> bool:
        if self.state.read_only:
            self._send(403, {"message": "Resource not accessible by integration"})
        return self.state.read_only

    # ------------------------------------------------------------ releases

    def _release_view(self, release: dict[str, Any]) -> dict[str, Any]:
        rid = release["id"]
        return {**release, "upload_url": f"{self.base}/uploads/repos/{self.state.repo}/releases/{rid}/assets{{?name,label}}",
                "html_url": f"https://github.invalid/{self.state.repo}/releases/tag/{release['tag_name']}"}

    def get_release_by_tag(self, tag: str) -> None:
        for release in self.state.releases.values():
            if release["tag_name"] == tag and not release["draft"]:
                return self._send(200, self._release_view(release))
        self._send(404, {"message": "Not Found"})

    def list_releases(self) -> None:
        self._page([self._release_view(r) for r in sorted(self.state.releases.values(), key=lambda r: -r["id"])])

    def create_release(self) -> None:
        data = self._json()
        if any(r["tag_name"] == data["tag_name"] for r in self.state.releases.values()):
            return self._send(422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]})
        release = {"id": self.state.new_id(), "tag_name": data["tag_name"], "name": data.get("name"),
                   "body": data.get("body"), "draft": bool(data.get("draft")),
                   "prerelease": bool(data.get("prerelease")), "target_commitish": data.get("target_commitish")}
        self.state.releases[release["id"]] = release
        self._send(201, self._release_view(release))

    def update_release(self, rid: str) -> None:
        release = self.state.releases[int(rid)]
        release.update({k: v for k, v in self._json().items() if k in ("draft", "name", "body")})
        self._send(200, self._release_view(release))

    def list_assets(self, rid: str) -> None:
        if self.state.hide_assets_once:
            self.state.hide_assets_once = False
            return self._page([])
        items = [_asset_view(a) for a in self.state.assets.values() if a["release_id"] == int(rid)]
        self._page(sorted(items, key=lambda a: a["id"]))

    def upload_asset(self, rid: str) -> None:
        name = self.query["name"]
        if any(a["release_id"] == int(rid) and a["name"] == name for a in self.state.assets.values()):
            return self._send(422, {"message": "Validation Failed",
                                    "errors": [{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}]})
        asset = {"id": self.state.new_id(), "release_id": int(rid), "name": name, "data": self.body,
                 "content_type": self.headers.get("content-type"), "state": "uploaded"}
        self.state.assets[asset["id"]] = asset
        self._send(201, _asset_view(asset))

    def delete_asset(self, aid: str) -> None:
        self.state.assets.pop(int(aid))
        self._send(204)

    # ------------------------------------------------------------ issue comments

    def list_comments(self, number: str) -> None:
        self._page([{"id": cid, "body": c["body"]} for cid, c in sorted(self.state.comments.items())
                    if c["issue"] == int(number)])

    def create_comment(self, number: str) -> None:
        if self._forbidden_when_read_only():
            return
        cid = self.state.new_id()
        self.state.comments[cid] = {"issue": int(number), "body": self._json()["body"]}
        self._send(201, {"id": cid, "body": self.state.comments[cid]["body"]})

    def update_comment(self, cid: str) -> None:
        if self._forbidden_when_read_only():
            return
        self.state.comments[int(cid)]["body"] = self._json()["body"]
        self._send(200, {"id": int(cid), "body": self.state.comments[int(cid)]["body"]})


def _asset_view(asset: dict[str, Any]) -> dict[str, Any]:
    return {"id": asset["id"], "name": asset["name"], "size": len(asset["data"]), "state": asset["state"],
            "content_type": asset["content_type"]}


_ROUTES = (
    ("GET", r"/repos/REPO/releases/tags/(.+)", _Handler.get_release_by_tag),
    ("GET", r"/repos/REPO/releases", _Handler.list_releases),
    ("POST", r"/repos/REPO/releases", _Handler.create_release),
    ("PATCH", r"/repos/REPO/releases/(\d+)", _Handler.update_release),
    ("GET", r"/repos/REPO/releases/(\d+)/assets", _Handler.list_assets),
    ("POST", r"/uploads/repos/REPO/releases/(\d+)/assets", _Handler.upload_asset),
    ("DELETE", r"/repos/REPO/releases/assets/(\d+)", _Handler.delete_asset),
    ("GET", r"/repos/REPO/issues/(\d+)/comments", _Handler.list_comments),
    ("POST", r"/repos/REPO/issues/(\d+)/comments", _Handler.create_comment),
    ("PATCH", r"/repos/REPO/issues/comments/(\d+)", _Handler.update_comment),
)
