"""Benchmark: the bytes a web app downloads. Issue 14's tables, in one run.

    .venv/bin/python bench/delivery.py [--dir /tmp] [--models mobilenetv2,efficientnetb0] [--keep]

1. auto quantization: MobileNetV2 (96x96) and EfficientNetB0 (128x128), ten-class softmax
   heads, random weights (Keras' initialisers; batch-norm statistics from one training-mode
   pass over random images, so activations neither vanish nor explode), each built by
   ``tfjs-build build`` with ``quantize:`` none (float32), float16, uint8 and auto, all with
   ``accuracy: {max_error: 0.01}``. Per row: transfer bytes (gzip, from tfjs.lock), the ratio
   to float32, the max abs error and whether it passes, and build seconds against uint8's.
   Goals: auto passes, is no larger than the smallest passing fixed setting, and where
   uint8 fails is at least 40% smaller than float16.
2. head-only update, the shard layer's share: MobileNetV2 built (float32 and uint8; 4 MiB
   and 1 MiB shards), then only its Dense head's weights changed and rebuilt: the bytes of
   shards with new names (content-named shards: what a client must fetch again) over all
   shard bytes. The publish/browser-cache table of the issue comes with shared shards.
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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
MAX_ERROR = 0.01
SETTINGS = ("none", "float16", "uint8", "auto")
MODELS = {"mobilenetv2": ("MobileNetV2", 96), "efficientnetb0": ("EfficientNetB0", 128)}


def make_model(kind: str, path: Path, *, head_seed: int | None = None) -> None:
    """A random-weight Keras application with realistic batch-norm statistics, saved as .keras."""
    import keras
    import numpy as np

    constructor, size = MODELS[kind]
    keras.utils.set_random_seed(0)
    net = getattr(keras.applications, constructor)(weights=None, input_shape=(size, size, 3), classes=10)
    for layer in net.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0  # the one training-mode pass below sets the moving statistics
    net(np.random.default_rng(0).standard_normal((16, size, size, 3)).astype("float32"), training=True)
    if head_seed is not None:  # a fine-tuned head: only the last Dense layer's weights move
        head = net.layers[-1]
        rng = np.random.default_rng(head_seed)
        head.set_weights([w + rng.standard_normal(w.shape).astype("float32") * 0.01 for w in head.get_weights()])
    net.save(path)


def write_project(root: Path, models: dict[str, str]) -> None:
    """tfjs.yaml with one model per entry: name -> extra settings (flow-style YAML)."""
    lines = ["version: 1", "output_dir: dist", "models:"]
    lines += [f"  {name}: {{source: {name.split('-')[0]}.keras, format: graph, {extra}}}" for name, extra in models.items()]
    (root / "tfjs.yaml").write_text("\n".join(lines) + "\n")


def build(root: Path, *names: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tfjs_build", "--no-color", "-C", str(root), "build", "--jobs", "1",
                           *names], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"build failed in {root}:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - start


def lock(root: Path) -> dict:
    return json.loads((root / "tfjs.lock").read_text())["models"]


def auto_table(work: Path, kinds: list[str]) -> list[str]:
    """Rows of table 1, and the goal verdicts."""
    rows, verdicts = [], []
    for kind in kinds:
        root = work / f"auto-{kind}"
        root.mkdir()
        make_model(kind, root / f"{kind}.keras")
        models = {f"{kind}-{s}": f"quantize: {s}, accuracy: {{max_error: {MAX_ERROR}}}" for s in SETTINGS}
        write_project(root, models)
        seconds = {name: build(root, name) for name in models}
        entries = lock(root)
        figures = {}
        for setting in SETTINGS:
            entry = entries[f"{kind}-{setting}"]
            error = (entry["accuracy"] or {}).get("max_abs_error", 0.0)
            figures[setting] = (entry["transfer"], error, error <= MAX_ERROR, seconds[f"{kind}-{setting}"])
        base = figures["none"][0]
        for setting, (transfer, error, ok, secs) in figures.items():
            rows.append(f"{kind:<15} {'float32' if setting == 'none' else setting:<8} {transfer:>11,} {transfer / base:>6.2f}"
                        f" {error:>10.2e} {'pass' if ok else 'FAIL':>5} {secs / seconds[f'{kind}-uint8']:>6.1f}x")
        verdicts += _verdicts(kind, figures)
    return rows + [""] + verdicts


def _verdicts(kind: str, figures: dict[str, tuple[int, float, bool, float]]) -> list[str]:
    auto, uint8, float16 = figures["auto"], figures["uint8"], figures["float16"]
    smallest = min(transfer for setting, (transfer, _, ok, _) in figures.items() if ok and setting != "auto")
    out = [f"{kind}: auto passes: {'yes' if auto[2] else 'NO'}; auto {auto[0]:,} B vs smallest passing fixed "
           f"{smallest:,} B: {'ok' if auto[0] <= smallest else 'LARGER'}"]
    if not uint8[2]:
        saving = 1 - auto[0] / float16[0]
        out.append(f"{kind}: uint8 fails; auto is {saving:.1%} smaller than float16 (goal >= 40%): "
                   f"{'ok' if saving >= 0.4 else 'MISSED'}")
    return out


def update_table(work: Path) -> list[str]:
    """Table 2: share of shard bytes a head-only change rewrites."""
    root = work / "update"
    root.mkdir()
    make_model("mobilenetv2", root / "mobilenetv2.keras")
    variants = {f"mobilenetv2-{dtype}-{size.lower()}": f"quantize: {quantize}, shard_size: {size}"
                for dtype, quantize in (("f32", "none"), ("u8", "uint8")) for size in ("4MiB", "1MiB")}
    write_project(root, variants)
    build(root)
    before = lock(root)
    make_model("mobilenetv2", root / "mobilenetv2.keras", head_seed=1)
    build(root)
    after = lock(root)
    rows = []
    for name in variants:
        old = {f["path"] for f in before[name]["files"]}
        shards = [f for f in after[name]["files"] if f["path"] != "model.json"]
        new = [f for f in shards if f["path"] not in old]
        total = sum(f["size"] for f in shards)
        changed = sum(f["size"] for f in new)
        rows.append(f"{name:<22} {len(new):>3} of {len(shards):<3} shards  {changed:>10,} of {total:>11,} B"
                    f"  {changed / total:>6.1%}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument("--keep", action="store_true", help="keep the projects")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-delivery-", dir=args.dir))
    try:
        print(f"auto quantization, max_error {MAX_ERROR} (transfer = gzip bytes of model.json + shards)")
        print(f"{'model':<15} {'setting':<8} {'transfer':>11} {'/f32':>6} {'max err':>10} {'gate':>5} {'time':>7}")
        print("\n".join(auto_table(work, args.models.split(","))))
        print("\nhead-only change (MobileNetV2, new Dense head weights): shards with new names")
        print("\n".join(update_table(work)))
    finally:
        if args.keep:
            print(f"\nprojects kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
