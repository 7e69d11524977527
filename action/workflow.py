"""The GitHub Actions runner's file and log protocols: outputs, job summary, annotations.

Kept apart from what the action does so each rule (heredoc delimiters, the 1 MiB summary
cap, 10 annotations per level, escaping) is written once.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

SUMMARY_CAP = 1024 * 1024 - 1024  # the runner rejects a step summary over 1 MiB; keep a margin
MAX_ANNOTATIONS = 10  # per level and step, the runner shows no more
# "tfjs.yaml:12:5: models.x.budgets.size: ..." anywhere in a line (plain, markdown list, error: prefix)
LOCATED = re.compile(r"(?P<file>[^\s`'\"|:]+):(?P<line>\d+):(?P<col>\d+):\s*(?P<message>.+)")


@dataclass(frozen=True)
class Annotation:
    level: str  # error | warning | notice
    file: str
    line: int
    col: int
    title: str
    message: str

    def command(self) -> str:
        props = f"file={_prop(self.file)},line={self.line},col={self.col},title={_prop(self.title)}"
        return f"::{self.level} {props}::{_data(self.message)}"


def set_output(name: str, value: str) -> None:
    """Append ``name`` to $GITHUB_OUTPUT, multi-line safe (a random heredoc delimiter)."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(markdown: str) -> None:
    """Append to $GITHUB_STEP_SUMMARY, cut to the runner's cap with a note when too long."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    data = markdown.encode("utf-8")
    if len(data) > SUMMARY_CAP:
        markdown = data[:SUMMARY_CAP].decode("utf-8", "ignore") + "\n\n_(cut: the report exceeds the 1 MiB job summary limit)_\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown.rstrip("\n") + "\n\n")


def annotations(text: str, level: str, title: str, workspace: Path) -> list[Annotation]:
    """One annotation per distinct located message in ``text``, at most MAX_ANNOTATIONS."""
    found: dict[tuple[str, int, int, str], Annotation] = {}
    for raw in text.splitlines():
        match = LOCATED.search(raw)
        if not match:
            continue
        file = _relative(match["file"], workspace)
        item = Annotation(level, file, int(match["line"]), int(match["col"]), title, match["message"].strip())
        found.setdefault((item.file, item.line, item.col, item.message), item)
    return list(found.values())[:MAX_ANNOTATIONS]


def _relative(file: str, workspace: Path) -> str:
    path = Path(file)
    if path.is_absolute() and path.is_relative_to(workspace):
        return path.relative_to(workspace).as_posix()
    return file


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
