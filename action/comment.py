"""One sticky PR comment per use of the Action, found again by its hidden marker and edited in place.

The marker holds a key (command, working-directory, optional comment-id), so a ``plan`` step
or a second project's ``check`` in the same workflow keeps a comment of its own instead of
replacing the first report. A comment whose body would not change is left alone (no PATCH).
A fork PR's token is read-only (403), and a comment is a nicety: every failure here becomes
a warning and a note in the job summary, never a failed build.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from tfjs_build.publish.github_api import GitHubApi

BODY_CAP = 65536  # GitHub refuses longer comment bodies


def comment_key(command: str, directory: str, comment_id: str = "") -> str:
    """``check .``, ``plan models``, ``check models nightly``: safe inside an HTML comment."""
    folder = Path(directory.strip() or ".").as_posix().strip("/") or "."
    parts = [command, folder, comment_id.strip()]
    return re.sub(r"[^A-Za-z0-9._/ -]", "-", " ".join(p for p in parts if p))


def marker(key: str) -> str:
    return f"<!-- tfjs-build: {key} -->"


def pull_request_number(event_path: str | None) -> int | None:
    """The PR number of a pull_request(_target) event, else None (push, schedule, ...)."""
    if not event_path or not Path(event_path).is_file():
        return None
    event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    number = (event.get("pull_request") or {}).get("number")
    return int(number) if number else None


def comment_body(key: str, report: str) -> str:
    body = f"{marker(key)}\n{report.strip()}\n"
    if len(body) > BODY_CAP:
        note = "\n\n_(cut: the full report is in the job summary)_\n"
        body = body[: BODY_CAP - len(note)] + note
    return body


def upsert_comment(repo: str, number: int, key: str, report: str, token: str) -> str:
    """Create, update or keep the sticky comment; returns "created", "updated" or "unchanged"; raises PublishError."""
    api = GitHubApi(repo, token, os.environ.get("GITHUB_API_URL"))
    try:
        body = comment_body(key, report)
        mine = [c for c in api.list(f"issues/{number}/comments") if (c.get("body") or "").splitlines()[:1] == [marker(key)]]
        if mine and _same_text(mine[0].get("body") or "", body):
            return "unchanged"
        if mine:
            api.call("PATCH", f"issues/comments/{mine[0]['id']}", json={"body": body})
            return "updated"
        api.call("POST", f"issues/{number}/comments", ok=(201,), json={"body": body})
        return "created"
    finally:
        api.close()


def _same_text(stored: str, body: str) -> bool:
    """Equal up to what GitHub may normalize in a stored body: line endings and the ends' whitespace."""
    return stored.replace("\r\n", "\n").strip() == body.strip()
