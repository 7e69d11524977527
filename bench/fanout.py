"""Fan-out figures (issue 11): modelled wall time of a build split over N = 1, 2, 4 CI runners, the balance
of the split, and the assemble step (build --restore-only) against a one-machine build.

Real conversions, not stand-ins: 12 Keras MLPs of mixed sizes (20 KB .. 12 MB of weights) are
written as .keras files and built by the real CLI. Per-model build seconds are measured by
building each model alone (``tfjs-build build MODEL -j 1``, one fresh process: what a model
costs a runner, TensorFlow start included) after one warm-up build. A shard's modelled time is
the sum of its models' seconds (one runner converts its group with -j 1 here); the fan-out's
wall time is its slowest shard. The split is the real one (``plan --shards N``, costed on
input bytes as on a first fan-out). Then, measured: a one-machine build of all 12 (-j 1) and the
assemble step on a fresh copy whose local cache holds every entry (as after the shards pushed),
with TensorFlow never imported.

    .venv/bin/python bench/fanout.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTHS = (16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)  # hidden units: weights ~ 3 * w^2 floats


def make_models(root: Path) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    lines = ["version: 1", "models:"]
    for width in WIDTHS:
        model = keras.Sequential([keras.Input((width,)), *(keras.layers.Dense(width, activation="relu")
                                                            for _ in range(3)), keras.layers.Dense(10)])
        (root / "models").mkdir(parents=True, exist_ok=True)
        model.save(root / "models" / f"mlp{width}.keras")
        lines += [f"  mlp{width}:", f"    source: models/mlp{width}.keras", "    quantize: none"]
    (root / "tfjs.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def cli(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "tfjs_build", "--no-color", "-C", str(root), *args],
                            capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=1800)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"tfjs-build {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return seconds, result


def fresh_copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src / "models", dest / "models")
    shutil.copy(src / "tfjs.yaml", dest / "tfjs.yaml")
    return dest


def per_model_seconds(base: Path, work: Path, names: list[str]) -> dict[str, float]:
    """Each model built alone in a fresh copy (no cache), after one warm-up build (disk caches, .pyc)."""
    cli(fresh_copy(base, work / "warmup"), "build", names[0], "-j", "1")
    return {name: cli(fresh_copy(base, work / f"one-{name}"), "build", name, "-j", "1")[0] for name in names}


def poisoned_tensorflow(work: Path) -> tuple[str, Path]:
    package, mark = work / "poison" / "tensorflow", work / "tensorflow-was-imported"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"open({str(mark)!r}, 'w').close()\nraise RuntimeError('tensorflow')\n")
    return str(package.parent), mark


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="fanout-bench-"))
    base = work / "base"
    make_models(base)
    names = [f"mlp{w}" for w in WIDTHS]
    seconds = per_model_seconds(base, work, names)

    print(f"{len(names)} real Keras models; per-model build seconds (alone, -j 1, TensorFlow start included):")
    for name in names:
        size = (base / "models" / f"{name}.keras").stat().st_size
        print(f"  {name:8s} {size / 1e6:7.2f} MB source  {seconds[name]:6.2f} s")

    solo = fresh_copy(base, work / "solo")
    solo_seconds = cli(solo, "build", "-j", "1")[0]
    print(f"\none-machine build of all {len(names)} (-j 1): {solo_seconds:.2f} s measured")
    print("\nN  shards (models)                      modelled wall  speed-up  balance (secs)  balance (cost)")
    for count in (1, 2, 4):
        rows = json.loads(cli(base, "plan", "--json", "--shards", str(count))[1].stdout)["include"]
        loads = [sum(seconds[m] for m in row["models"]) for row in rows] + [0.0] * (count - len(rows))
        from tfjs_build.engine.shards import balance

        costs = [(m, (base / "models" / f"{m}.keras").stat().st_size) for m in names]
        groups = [row["models"] for row in rows]
        sizes = "/".join(str(len(row["models"])) for row in rows)
        wall = max(loads)
        print(f"{count}  {sizes:37s} {wall:8.2f} s  {loads and sum(loads) / wall:7.2f}x  "
              f"{max(loads) / (sum(loads) / count):14.3f}  {balance(costs, groups):14.3f}")

    assemble = fresh_copy(base, work / "assemble")
    shutil.copytree(solo / ".tfjs-build" / "cache", assemble / ".tfjs-build" / "cache")  # as the shards pushed
    pythonpath, mark = poisoned_tensorflow(work)
    assemble_seconds, result = cli(assemble, "build", "--restore-only", "--json", env={"PYTHONPATH": os.pathsep.join(
        filter(None, [pythonpath, os.environ.get("PYTHONPATH")]))})
    restored = len(json.loads(result.stdout)["restored"])
    same = (assemble / "tfjs.lock").read_bytes() == (solo / "tfjs.lock").read_bytes()
    print(f"\nassemble (build --restore-only, {restored} restored, TensorFlow imported: {mark.exists()}, "
          f"lock identical: {same}): {assemble_seconds:.2f} s = {100 * assemble_seconds / solo_seconds:.1f}% "
          f"of the one-machine build (goal <= 5%)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
