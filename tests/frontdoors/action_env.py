"""The machine the simulated runner (gha_runner.py) plays: its PATH, Python and GitHub API (the stand-in).

Two runner images: ``preinstalled`` has a ``python3`` with tfjs-build[tensorflow] (this
checkout's venv), for tests that run our action with ``install: false`` forced; ``pep668``
has a ``python3`` that refuses ``pip install`` like Debian's and Ubuntu's externally managed
Pythons (a stand-in: a shell script in front of the base interpreter), for the install step.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

from github_standin import TOKEN

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
PAYLOAD = HERE / "pull_request_synchronize.json"  # octokit/webhooks' example payload of a real event (MIT)
REPOSITORY = "Codertocat/Hello-World"  # the repository of that payload
PEP668_MESSAGE = "error: externally-managed-environment"


def shim(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "python3"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return folder


def preinstalled_python(folder: Path) -> Path:
    """A python3 that is this checkout's venv (tfjs-build and TensorFlow installed)."""
    return shim(folder, f'exec "{sys.executable}" "$@"')


def externally_managed_python(folder: Path) -> Path:
    """A python3 (the base interpreter, no tfjs-build) that refuses ``-m pip install`` outside a venv (PEP 668)."""
    base = Path(sys.base_prefix) / "bin" / "python3"
    return shim(folder, f'case " $* " in *" -m pip install "*) echo "{PEP668_MESSAGE}" >&2; exit 1;; esac\n'
                        f'exec "{base}" "$@"')


def runner_env(python_dir: Path, pythonpath: Path, api_url: str) -> dict[str, str]:
    """The process environment of every step: no GITHUB_* of the real machine, our python3 first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "PIP_", "VIRTUAL_ENV"))}
    return env | {"PATH": f"{python_dir}{os.pathsep}{env['PATH']}", "PYTHONPATH": str(pythonpath),
                  "GITHUB_API_URL": api_url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPOSITORY,
                  "NO_COLOR": "1"}


def pull_request_event(number: int | None = None, base_sha: str | None = None, head_sha: str | None = None,
                       fork: bool = False) -> dict[str, Any]:
    """The real payload, with the numbers and commits of the test's repository when given."""
    event = copy.deepcopy(json.loads(PAYLOAD.read_text(encoding="utf-8")))
    pull = event["pull_request"]
    if number is not None:
        event["number"] = pull["number"] = number
    if base_sha:
        pull["base"]["sha"] = base_sha
    if head_sha:
        pull["head"]["sha"] = event["after"] = head_sha
    if fork:
        pull["head"]["repo"]["full_name"] = "someone/Hello-World"
        pull["head"]["repo"]["fork"] = True
    return event
