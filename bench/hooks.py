"""The pre-commit hooks: first-run install time, and wall time on an unchanged project of 50 models.

    .venv/bin/python bench/hooks.py [--models 50] [--mib 1] [--cold-pip] [--dir /tmp]

1. ``pre-commit install-hooks`` with an empty PRE_COMMIT_HOME installs tfjs-build (the light
   core) from a git snapshot of this checkout into pre-commit's own virtualenv; pip's download
   cache is used as it is (``--cold-pip``: an empty one, so every wheel is downloaded).
2. Each hook's command, run from that virtualenv exactly as pre-commit runs it, on a built,
   unchanged project (bench/noop.py's project, built once with its tiny stand-in converter):
   median of 7 runs, against ``python -c pass`` from the same virtualenv measured in the same
   run (Python's own start). Goal: < 0.5 s per hook, Python start included.
3. ``pre-commit run HOOK`` as a user's commit runs it (pre-commit's own start added), for reference.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "frontdoors"))

from hook_repo import GIT_ENV, git, snapshot_repo, write_precommit_config  # noqa: E402
from noop import age, make_project, tiny_convert  # noqa: E402

from tfjs_build.config import load_config  # noqa: E402
from tfjs_build.engine.build import build  # noqa: E402
from tfjs_build.terminal import Console  # noqa: E402

PRE_COMMIT = str(Path(sys.executable).parent / "pre-commit")
HOOKS = {"tfjs-build-check": ["check"], "tfjs-build-fresh": ["plan", "--check"]}
RUNS = 7


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def median_of(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    return statistics.median(timed(argv, cwd, env) for _ in range(RUNS))


def built_project(root: Path, models: int, mib: int) -> None:
    make_project(root, models, mib)
    build(load_config(root / "tfjs.yaml"), Console(verbosity=-1), convert_fn=tiny_convert)
    age(root / "dist")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "models")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--mib", type=int, default=1, help="MiB of variables data per model")
    parser.add_argument("--cold-pip", action="store_true", help="install with an empty pip cache")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tfjs-bench-hooks-", dir=args.dir))
    try:
        (work / "repo").mkdir()
        rev = snapshot_repo(work / "repo")
        root = work / "project"
        root.mkdir()
        built_project(root, args.models, args.mib)
        write_precommit_config(root, work / "repo", rev)
        env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(work / "pre-commit-home"), "NO_COLOR": "1"}
        if args.cold_pip:
            env["PIP_CACHE_DIR"] = str(work / "pip-cache")
        install = timed([PRE_COMMIT, "install-hooks"], root, env)
        print(f"first-run hook install (pre-commit install-hooks, {'empty' if args.cold_pip else 'warm'} pip cache): "
              f"{install:.1f} s")
        venv_bin = next((work / "pre-commit-home").glob("repo*/py_env-*/bin"))
        python_start = median_of([str(venv_bin / "python"), "-c", "pass"], root, env)
        print(f"baseline: `python -c pass` in the hook venv: {python_start:.3f} s")
        for hook, argv in HOOKS.items():
            command = [str(venv_bin / "tfjs-build"), *argv]
            timed(command, root, env)  # the first run fills the stat cache
            seconds = median_of(command, root, env)
            print(f"{hook} (`tfjs-build {' '.join(argv)}`, {args.models} unchanged models): {seconds:.3f} s "
                  f"= {seconds / python_start:.1f}x Python start (goal < 0.5 s)")
            via = median_of([PRE_COMMIT, "run", hook, "--all-files"], root, env)
            print(f"  `pre-commit run {hook}` (pre-commit's own start included): {via:.3f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
