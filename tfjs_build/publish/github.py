"""Publish each model version as a GitHub release: draft first, assets next, publish last.

One release per model digest (tag ``{model}-{digest}`` by default), so a release never
changes once published and publishing the same build again finds it complete and
uploads nothing. An interrupted run leaves a draft, which the next run finds by listing
(drafts have no tag yet) and completes; an asset name the API already has (422
``already_exists``) is skipped when its size matches.

    publish:
      release:
        type: github
        repo: owner/name           # default: $GITHUB_REPOSITORY
        tag: "{model}-v{digest}"   # must contain {digest}
        token_env: GITHUB_TOKEN    # default
        prerelease: false
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from tfjs_build.config import PublishTarget
from tfjs_build.config.kinds import Boolean, EnvName, Text, Url
from tfjs_build.publish.base import Log, Outcome, Planned, Pruned
from tfjs_build.publish.bundle import IMMUTABLE, MODEL_JSON, Bundle, PublishFile
from tfjs_build.publish.github_api import REPO, GitHubApi
from tfjs_build.publish.options import Options, option
from tfjs_build.publish.transport import PublishError, server_message
from tfjs_build.util.urls import redact

FIELDS = ("model", "digest")


@dataclass(frozen=True)
class GitHubOptions:
    repo: str | None = field(default=None, metadata=option(Text()))  # default: $GITHUB_REPOSITORY
    tag: str = field(default="{model}-{digest}", metadata=option(Text()))
    name: str = field(default="{model} {digest}", metadata=option(Text()))
    token_env: str = field(default="GITHUB_TOKEN", metadata=option(EnvName()))
    api_url: str | None = field(default=None, metadata=option(Url("an http:// or https:// URL")))
    prerelease: bool = field(default=False, metadata=option(Boolean()))
    target: str | None = field(default=None, metadata=option(Text()))  # default: $GITHUB_SHA


class GitHubTarget:
    def __init__(self, target: PublishTarget) -> None:
        self.options = Options(target, GitHubOptions)
        self.where = target.where()
        repo = self.options.record.repo or os.environ.get("GITHUB_REPOSITORY")
        if not repo or not REPO.match(repo):
            raise self.options.error("repo", f"expected owner/name of a GitHub repository, got {repo!r} "
                                             "(set `repo:` or run inside GitHub Actions, which sets GITHUB_REPOSITORY)")
        self.repo: str = repo
        self.tag = self._template("tag", self.options.record.tag)
        if "{digest}" not in self.tag:
            raise self.options.error("tag", "must contain {digest}, so each built version gets its own immutable release")
        self.title = self._template("name", self.options.record.name)
        self.api_url = self.options.record.api_url
        self.prerelease = self.options.record.prerelease
        self.commitish = self.options.record.target or os.environ.get("GITHUB_SHA")
        self._api: GitHubApi | None = None

    def plan(self, bundle: Bundle) -> list[Planned]:
        tag = self.tag.format(model=bundle.model, digest=bundle.digest)
        return [Planned(f"github:{self.repo}@{tag}/{f.name}", f.size, IMMUTABLE, f.name == MODEL_JSON)
                for f in bundle.files]

    def publish(self, bundle: Bundle, log: Log) -> Outcome:
        try:
            return self._publish(bundle, log)
        except PublishError as exc:
            raise PublishError(f"{self.where}: {exc}") from None

    def prune(self, model: str, keep: int, dry_run: bool, log: Log) -> Pruned:
        raise PublishError(
            f"{self.where}: --prune works on s3 and http targets only; a github target keeps one immutable release "
            "per version and has no latest.json to protect: delete old releases on GitHub "
            "(`gh release delete TAG --cleanup-tag`)"
        )

    def close(self) -> None:
        if self._api is not None:
            self._api.close()

    # ------------------------------------------------------------ the release transaction

    def _publish(self, bundle: Bundle, log: Log) -> Outcome:
        api = self._connect()
        tag = self.tag.format(model=bundle.model, digest=bundle.digest)
        release = self._published(api, tag) or self._draft(api, tag) or self._create(api, tag, bundle)
        outcome = Outcome(bundle.model, redact(str(release.get("html_url") or f"github:{self.repo}@{tag}")))
        assets = {a["name"]: a for a in api.list(f"releases/{release['id']}/assets")}
        for item in bundle.files:
            self._ensure_asset(api, release, assets.get(item.name), item, outcome, log)
        if release.get("draft"):
            api.call("PATCH", f"releases/{release['id']}", json={"draft": False})
            log(f"  published release {tag}")
        return outcome

    def _published(self, api: GitHubApi, tag: str) -> dict[str, Any] | None:
        response = api.call("GET", f"releases/tags/{tag}", ok=(200, 404))
        return response.json() if response.status_code == 200 else None

    def _draft(self, api: GitHubApi, tag: str) -> dict[str, Any] | None:
        return next((r for r in api.list("releases") if r.get("tag_name") == tag and r.get("draft")), None)

    def _create(self, api: GitHubApi, tag: str, bundle: Bundle) -> dict[str, Any]:
        body = {"tag_name": tag, "name": self.title.format(model=bundle.model, digest=bundle.digest),
                "body": _release_notes(bundle), "draft": True, "prerelease": self.prerelease}
        if self.commitish:
            body["target_commitish"] = self.commitish
        return api.call("POST", "releases", ok=(201,), json=body).json()

    def _ensure_asset(self, api: GitHubApi, release: dict[str, Any], asset: dict[str, Any] | None,
                      item: PublishFile, outcome: Outcome, log: Log) -> None:
        if asset is not None and asset.get("size") == item.size and asset.get("state", "uploaded") == "uploaded":
            outcome.skipped.append(item.name)
            log(f"  = {item.name} (already in the release)")
            return
        if not release.get("draft"):
            raise PublishError(
                f"release {release.get('tag_name')} is published but its {item.name} is missing or differs; "
                "a published release is immutable: delete it on GitHub and publish again"
            )
        if asset is not None:
            api.call("DELETE", f"releases/assets/{asset['id']}", ok=(204,))
        upload_url = release["upload_url"].split("{", 1)[0]
        response = api.call("POST", upload_url, ok=(201, 422), params={"name": item.name}, data=item.read(),
                            headers={"Content-Type": item.content_type})
        if response.status_code == 422:
            self._check_existing(api, release, item, response)
            outcome.skipped.append(item.name)
            log(f"  = {item.name} (already in the release)")
            return
        outcome.uploaded.append(item.name)
        outcome.uploaded_bytes += item.size
        log(f"  + {item.name} ({item.size} bytes)")

    def _check_existing(self, api: GitHubApi, release: dict[str, Any], item: PublishFile, response: Any) -> None:
        """A 422 on upload: fine when an identical asset is there (a concurrent or earlier run)."""
        if "already_exists" not in response.text:
            raise PublishError(f"uploading {item.name}: HTTP 422: {server_message(response, api.transport.secrets)}")
        sizes = {a["name"]: a.get("size") for a in api.list(f"releases/{release['id']}/assets")}
        if sizes.get(item.name) != item.size:
            raise PublishError(f"uploading {item.name}: the release already has a different {item.name}; "
                               "delete that asset on GitHub and publish again")

    def _template(self, key: str, template: str) -> str:
        try:
            template.format(**{name: "x" for name in FIELDS})
        except (KeyError, IndexError, ValueError) as exc:
            raise self.options.error(key, f"bad template ({exc}); use only {{model}} and {{digest}}") from None
        return template

    def _connect(self) -> GitHubApi:
        if self._api is None:
            token = self.options.secret("token_env", required=True)
            self._api = GitHubApi(self.repo, token, self.api_url)
        return self._api


def _release_notes(bundle: Bundle) -> str:
    rows = "\n".join(f"| `{f.name}` | {f.size} | `{f.sha256}` |" for f in bundle.files)
    return (f"TensorFlow.js model **{bundle.model}**, version `{bundle.digest}`, published by tfjs-build "
            f"from the files recorded in tfjs.lock.\n\n| file | bytes | sha256 |\n| --- | --- | --- |\n{rows}\n")
