"""One sticky PR comment, found again by its hidden marker and edited instead of re-posted.

A fork PR's token is read-only (403), and a comment is a nicety: every failure here
becomes a warning and a note in the job summary, never a failed build.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tfjs_build.publish.github_api import GitHubApi

MARKER = "<!-- tfjs-build -->"
BODY_CAP = 65536  # GitHub refuses longer comment bodies


def pull_request_number(event_path: str | None) -> int | None:
    """The PR number of a pull_request(_target) event, else None (push, schedule, ...)."""
    if not event_path or not Path(event_path).is_file():
        return None
    event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    number = (event.get("pull_request") or {}).get("number")
    return int(number) if number else None


def comment_body(report: str) -> str:
    body = f"{MARKER}\n{report.strip()}\n"
    if len(body) > BODY_CAP:
        note = "\n\n_(cut: the full report is in the job summary)_\n"
        body = body[: BODY_CAP - len(note)] + note
    return body


def upsert_comment(repo: str, number: int, report: str, token: str) -> str:
    """Create or update the sticky comment; return "created" or "updated"; raises PublishError."""
    api = GitHubApi(repo, token, os.environ.get("GITHUB_API_URL"))
    try:
        body = comment_body(report)
        mine = [c for c in api.list(f"issues/{number}/comments") if MARKER in (c.get("body") or "")]
        if mine:
            api.call("PATCH", f"issues/comments/{mine[0]['id']}", json={"body": body})
            return "updated"
        api.call("POST", f"issues/{number}/comments", ok=(201,), json={"body": body})
        return "created"
    finally:
        api.close()
