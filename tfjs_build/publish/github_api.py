"""A minimal GitHub REST client: JSON calls under /repos/OWNER/NAME, pagination, back-off.

Shared by the release publisher and the GitHub Action's sticky PR comment, so both
get the same rate-limit handling and the same rule: the token is a header, never text.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any

import requests

from tfjs_build.publish.transport import Transport
from tfjs_build.util.urls import join_url

DEFAULT_API_URL = "https://api.github.com"
REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubApi:
    def __init__(self, repo: str, token: str | None, api_url: str | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.repo = repo
        self.api_url = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": "tfjs-build"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.transport = Transport(headers, sleep=sleep)

    def repo_url(self, path: str) -> str:
        return join_url(self.api_url, f"repos/{self.repo}/{path.lstrip('/')}")

    def call(self, method: str, path_or_url: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any) -> requests.Response:
        url = path_or_url if "://" in path_or_url else self.repo_url(path_or_url)
        return self.transport.request(method, url, ok=ok, **kwargs)

    def list(self, path: str) -> list[dict[str, Any]]:
        """Every item of a paginated list endpoint, following ``Link: rel="next"``."""
        items: list[dict[str, Any]] = []
        url: str | None = self.repo_url(path)
        params: dict[str, Any] | None = {"per_page": 100}  # the next links carry it on
        while url:
            response = self.call("GET", url, params=params)
            items.extend(response.json())
            url, params = response.links.get("next", {}).get("url"), None
        return items

    def close(self) -> None:
        self.transport.close()
