"""Benchmark: the bytes a web app downloads. Issue 14's tables, in one run.

    .venv/bin/python bench/delivery.py [--dir /tmp] [--models mobilenetv2,efficientnetb0] [--tables auto,update]
                                       [--no-imagenet] [--keep]

1. auto quantization: MobileNetV2 (96x96) and EfficientNetB0 (128x128), ten-class softmax
   heads, random weights (Keras' initialisers; batch-norm statistics from one training-mode
   pass over random images, so activations neither vanish nor explode), each built by
   ``tfjs-build build`` with ``quantize:`` none (float32), float16, uint8 and auto, all with
   ``accuracy: {max_error: 0.01}``. Per row: transfer bytes (gzip, from tfjs.lock), the ratio
   to float32, the max abs error and whether it passes, and build seconds against uint8's.
   Goals: auto passes, is no larger than the smallest passing fixed setting, and where
   uint8 fails is at least 40% smaller than float16.
2. head-only update, the shard layer's share: MobileNetV2 96x96 built (float32 and uint8;
   4 MiB, 1 MiB and 256 KiB shards; ``imagenethead-*``: the same network with a 1000-class
   head, about a third of its bytes), then only its Dense head's weights changed and rebuilt:
   the bytes of shards with new names (what a client must fetch again) over all shard bytes.
3. update cost (delivery_publish.py): each build published (v1, then v2) to a moto S3-API
   server and to nginx (WebDAV; immutable Cache-Control for shards and versioned model.json,
   no-cache for latest.json), each loaded by one headless Chromium page through latest.json:
   v1 cold, then v2 with v1 in the HTTP cache. Per model: objects and bytes the stores got for
   v2 (read from the stores), requests and bytes nginx sent the page (its access log). Goal:
   v2 costs <= 10% of the model's bytes. A head-only change cannot cost less than the head:
   for the 1000-class head that floor is about a third of the model.
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


def make_model(kind: str, path: Path, *, head_seed: int | None = None, classes: int = 10) -> None:
    """A random-weight Keras application with realistic batch-norm statistics, saved as .keras."""
    import keras
    import numpy as np

    constructor, size = MODELS[kind]
    keras.utils.set_random_seed(0)
    net = getattr(keras.applications, constructor)(weights=None, input_shape=(size, size, 3), classes=classes)
    for layer in net.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0  # the one training-mode pass below sets the moving statistics
    net(np.random.default_rng(0).standard_normal((16, size, size, 3)).astype("float32"), training=True)
    if head_seed is not None:  # a fine-tuned head: only the last Dense layer's weights move
        head = net.layers[-1]
        rng = np.random.default_rng(head_seed)
        head.set_weights([w + rng.standard_normal(w.shape).astype("float32") * 0.01 for w in head.get_weights()])
    net.save(path)


def write_project(root: Path, models: dict[str, str], publish: str = "") -> None:
    """tfjs.yaml with one model per entry: name -> extra settings (flow-style YAML), and publish targets."""
    lines = ["version: 1", "output_dir: dist", "models:"]
    lines += [f"  {name}: {{source: {name.split('-')[0]}.keras, format: graph, {extra}}}" for name, extra in models.items()]
    (root / "tfjs.yaml").write_text("\n".join(lines) + "\n" + publish)


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


UPDATE_VARIANTS = {  # model -> (quantize, shard_size); the source is the name's first part
    "mobilenetv2-f32-4mib": ("none", "4MiB"), "mobilenetv2-f32-1mib": ("none", "1MiB"),
    "mobilenetv2-f32-256kib": ("none", "256KiB"), "mobilenetv2-u8-4mib": ("uint8", "4MiB"),
    "mobilenetv2-u8-1mib": ("uint8", "1MiB"), "imagenethead-f32-1mib": ("none", "1MiB"),
    "imagenethead-f32-256kib": ("none", "256KiB"),
}


def update_tables(work: Path, imagenet: bool) -> list[str]:
    """Tables 2 and 3: MobileNetV2 built, published (S3 API, nginx) and loaded in Chromium; its head changed,
    rebuilt, published and loaded again in the same page."""
    from delivery_publish import Servers, loaded_rows

    root = work / "update"
    root.mkdir()
    variants = {n: v for n, v in UPDATE_VARIANTS.items() if imagenet or not n.startswith("imagenethead")}
    make_model("mobilenetv2", root / "mobilenetv2.keras")
    if imagenet:
        make_model("mobilenetv2", root / "imagenethead.keras", classes=1000)
    with Servers(work) as servers:
        write_project(root, {n: f"quantize: {q}, shard_size: {size}" for n, (q, size) in variants.items()},
                      servers.publish_yaml())
        build(root)
        before = lock(root)
        first = servers.publish_and_load(root, variants)
        make_model("mobilenetv2", root / "mobilenetv2.keras", head_seed=1)
        if imagenet:
            make_model("mobilenetv2", root / "imagenethead.keras", classes=1000, head_seed=1)
        build(root)
        after = lock(root)
        second = servers.publish_and_load(root, variants)
    return shard_rows(before, after) + [""] + loaded_rows(variants, after, first, second)


def shard_rows(before: dict, after: dict) -> list[str]:
    """Table 2: share of shard bytes a head-only change rewrites."""
    rows = ["head-only change: shards with new names (what a client must fetch again)"]
    for name in after:
        old = {f["path"] for f in before[name]["files"]}
        shards = [f for f in after[name]["files"] if f["path"] != "model.json"]
        new = [f for f in shards if f["path"] not in old]
        total = sum(f["size"] for f in shards)
        changed = sum(f["size"] for f in new)
        rows.append(f"{name:<24} {len(new):>3} of {len(shards):<3} shards  {changed:>10,} of {total:>11,} B"
                    f"  {changed / total:>6.1%}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument("--tables", default="auto,update", help="comma-separated: auto, update")
    parser.add_argument("--no-imagenet", action="store_true", help="skip the 1000-class head variants of the update tables")
    parser.add_argument("--keep", action="store_true", help="keep the projects")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-delivery-", dir=args.dir))
    try:
        if "auto" in args.tables:
            print(f"auto quantization, max_error {MAX_ERROR} (transfer = gzip bytes of model.json + shards)")
            print(f"{'model':<15} {'setting':<8} {'transfer':>11} {'/f32':>6} {'max err':>10} {'gate':>5} {'time':>7}")
            print("\n".join(auto_table(work, args.models.split(","))))
        if "update" in args.tables:
            print("\n" + "\n".join(update_tables(work, imagenet=not args.no_imagenet)))
    finally:
        if args.keep:
            print(f"\nprojects kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
