"""No-op build time and cold hashing throughput on a 50-model, >= 1 GB project.

    .venv/bin/python bench/noop.py [--dir /tmp] [--models 50] [--mib 21] [--keep]

Creates SavedModel-shaped folders of random bytes (a real SavedModel is not needed:
the engine only hashes them), then measures, in this one run:

1. cold hashing: the engine's ``model_inputs`` with an empty stat cache, against
   plain single-thread ``hashlib.sha256`` reading the same files (best of 2 each; the
   files are in the page cache for both), reported as a throughput ratio;
2. the wall time of ``tfjs-build build`` as a separate process when nothing is stale
   (the project is first built once with a tiny stand-in converter: the figure is
   about the engine, not about TensorFlow), of ``tfjs-build --version``, and of a bare
   ``python -c pass`` as the baseline (the floor any Python CLI pays), median of 15
   runs each, interleaved so that a burst of load hits all three alike. Targets:
   no-op build <= 0.10 s, --version <= 0.08 s. The commands run as users run them:
   the installed ``tfjs-build`` script beside this Python, with bytecode kept.
Run it on a disk-backed folder such as /tmp; it deletes the project afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tfjs_build.config import ModelConfig, load_config
from tfjs_build.convert.result import ConvertResult
from tfjs_build.engine.build import build
from tfjs_build.engine.fingerprint import model_inputs, open_stat_cache
from tfjs_build.project import ProjectPaths
from tfjs_build.terminal import Console


def tiny_convert(model: ModelConfig, source: Path, out_dir: Path, work_dir: Path) -> ConvertResult:
    """A stand-in converter for the one setup build: writes a small valid-looking output."""
    manifest = [{"paths": ["group1-shard1of1.bin"], "weights": [{"name": "w", "shape": [4], "dtype": "float32"}]}]
    (out_dir / "group1-shard1of1.bin").write_bytes(model.name.encode().ljust(16, b"\0")[:16])
    (out_dir / "model.json").write_text(json.dumps({"format": "graph-model", "weightsManifest": manifest}))
    return ConvertResult(params=4, ops=("Const",))


def make_project(root: Path, models: int, mib: int) -> int:
    """Write the project; returns the bytes of source weights."""
    total = 0
    lines = ["version: 1", "models:"]
    for i in range(models):
        folder = root / "models" / f"m{i:02d}"
        (folder / "variables").mkdir(parents=True)
        (folder / "saved_model.pb").write_bytes(os.urandom(64 * 1024))
        (folder / "variables" / "variables.index").write_bytes(os.urandom(1024))
        with open(folder / "variables" / "variables.data-00000-of-00001", "wb") as data:
            for _ in range(mib):
                data.write(os.urandom(1 << 20))
        total += (64 + 1) * 1024 + (mib << 20)
        lines += [f"  m{i:02d}:", f"    source: models/m{i:02d}"]
    (root / "tfjs.yaml").write_text("\n".join(lines) + "\n")
    age(root)
    return total


def age(root: Path) -> None:
    """Date files back so the stat cache does not treat them as racily modified."""
    past = time.time() - 60
    for path in root.rglob("*"):
        os.utime(path, (past, past))


def hash_speeds() -> str:
    """In-memory MB/s of the candidate stdlib hashes on this CPU (why the engine uses sha256)."""
    data = os.urandom(128 << 20)
    speeds = []
    for name in ("sha256", "blake2b", "sha512"):
        started = time.perf_counter()
        hashlib.new(name, data).hexdigest()
        speeds.append(f"{name} {len(data) / (time.perf_counter() - started) / 1e6:.0f}")
    return ", ".join(speeds) + " MB/s"


def plain_hashlib(files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        digest.hexdigest()
    return time.perf_counter() - started


def engine_cold(root: Path) -> float:
    ProjectPaths(root).stat_cache.unlink(missing_ok=True)
    config = load_config(root / "tfjs.yaml")
    started = time.perf_counter()
    with open_stat_cache(ProjectPaths(root)) as stats:
        model_inputs(config.models, stats, config.root)
    return time.perf_counter() - started


def timed(command: list[str]) -> tuple[float, str]:
    """Wall seconds and stdout of one run, as installed: Python keeps its bytecode (a sandbox's
    PYTHONDONTWRITEBYTECODE would time compiling instead)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return time.perf_counter() - started, done.stdout.strip()


def start_up_times(root: Path, models: int, runs: int = 15) -> dict[str, list[float]]:
    """Interleaved runs of the bare interpreter, ``--version`` and a no-op build."""
    script = Path(sys.executable).with_name("tfjs-build")
    tool = [str(script)] if script.exists() else [sys.executable, "-m", "tfjs_build"]
    commands = {"python -c pass": [sys.executable, "-c", "pass"], "tfjs-build --version": [*tool, "--version"],
                "no-op tfjs-build build": [*tool, "-C", str(root), "build"]}
    timed(commands["no-op tfjs-build build"])  # the first no-op records the (now old enough) outputs in the stat cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            seconds, output = timed(command)
            if name.startswith("no-op"):
                assert output == f"{models} fresh", output
            times[name].append(seconds)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--mib", type=int, default=21, help="MiB of variables data per model")
    parser.add_argument("--keep", action="store_true", help="keep the project folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tfjs-bench-", dir=args.dir))
    try:
        total = make_project(root, args.models, args.mib)
        files = sorted(p for p in (root / "models").rglob("*") if p.is_file())
        print(f"project: {root}, {args.models} models, {len(files)} files, {total / 1e9:.2f} GB of sources")
        print(f"stdlib hashes in memory: {hash_speeds()}")
        baseline = min(plain_hashlib(files) for _ in range(2))
        cold = min(engine_cold(root) for _ in range(2))
        print(f"hashlib sha256, one thread: {total / baseline / 1e6:7.0f} MB/s ({baseline:.2f} s)")
        print(f"engine cold hashing:        {total / cold / 1e6:7.0f} MB/s ({cold:.2f} s), "
              f"ratio {baseline / cold:.2f} (target >= 0.9) on {os.cpu_count()} cores")
        build(load_config(root / "tfjs.yaml"), Console(verbosity=-1), convert_fn=tiny_convert)
        age(root / "dist")
        times = start_up_times(root, args.models)
        base = statistics.median(times["python -c pass"])
        targets = {"tfjs-build --version": 0.08, "no-op tfjs-build build": 0.10}
        for name, runs in times.items():
            median = statistics.median(runs)
            goal = ""
            if name in targets:
                goal = f", target <= {targets[name]:.2f} s: {'met' if median <= targets[name] else 'MISSED'}"
            print(f"{name:24} median {median:.3f} s, best {min(runs):.3f} s, {median / base:4.1f}x bare Python "
                  f"over {len(runs)} runs{goal}")
    finally:
        if not args.keep:
            shutil.rmtree(root)


if __name__ == "__main__":
    main()
