"""Step ``prep`` of the Action: what to install, where, and the cache keys of that install.

Runs with the runner's ``python3`` (any 3.8+, standard library only), before anything is
installed. The command decides the extras: only build and verify convert or run TensorFlow,
so only they get ``[tensorflow]``; check, diff, status, plan and publish get the light core.
tfjs-build goes into a virtualenv of the action's own under $RUNNER_TEMP: a PEP 668
("externally managed") system Python refuses ``pip install``, and a venv is cacheable.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import sys
from pathlib import Path

from workflow import set_output

CONVERTING_COMMANDS = ("build", "verify")  # the only ones that need the tensorflow extra
NEVER_CONVERTS = "--restore-only"  # a fan-out's assemble step: build that only restores from caches
EXTRA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def extras_for(command: str, requested: str, args: str = "") -> list[str]:
    """The extras to install: the user's (comma or space separated) plus tensorflow when the command converts."""
    names = [e for e in re.split(r"[,\s]+", requested.strip()) if e]
    bad = [e for e in names if not EXTRA_NAME.match(e)]
    if bad:
        raise SystemExit(f"::error title=tfjs-build::extras: {', '.join(bad)} is not an extra name (e.g. s3)")
    if command in CONVERTING_COMMANDS and NEVER_CONVERTS not in args.split():
        names.append("tensorflow")
    return sorted(set(names))


def package_version(action_path: Path) -> str:
    """tfjs-build's version from the action's pyproject.toml (no tomllib: Python 3.8+)."""
    text = (action_path / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return found.group(1) if found else "unknown"


def venv_python(venv: Path) -> Path:
    return venv / "Scripts" / "python.exe" if os.name == "nt" else venv / "bin" / "python"


def main() -> int:
    env = os.environ
    action_path = Path(env["GITHUB_ACTION_PATH"])
    command = env.get("TFJS_BUILD_COMMAND", "check").strip() or "check"
    extras = extras_for(command, env.get("TFJS_BUILD_EXTRAS", ""), env.get("TFJS_BUILD_ARGS", ""))
    install = env.get("TFJS_BUILD_INSTALL", "true").strip().lower() == "true"
    slug = "-".join(extras) or "core"
    temp = Path(env.get("RUNNER_TEMP") or "/tmp")
    venv = temp / f"tfjs-build-venv-{slug}"
    version = package_version(action_path)
    interpreter = f"py{platform.python_version()}-{hashlib.sha256(sys.executable.encode()).hexdigest()[:8]}"
    project = hashlib.sha256((action_path / "pyproject.toml").read_bytes()).hexdigest()[:12]
    prefix = f"tfjs-build-venv-{env.get('RUNNER_OS', platform.system())}-{platform.machine()}-{interpreter}-{slug}-"
    set_output("extras", ",".join(extras))
    set_output("spec", f"{action_path}[{','.join(extras)}]" if extras else str(action_path))
    set_output("venv", str(venv))
    set_output("pip-cache", str(temp / "tfjs-build-pip-cache"))
    set_output("python", str(venv_python(venv)) if install else "python3")
    set_output("venv-key", f"{prefix}{version}-{project}")
    set_output("venv-restore-key", prefix)
    set_output("version", version)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
