"""``tfjs-build init``: find the models in a folder and write a commented tfjs.yaml for them."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tfjs_build.config import MODEL_NAME, load_config
from tfjs_build.errors import EXIT_OK, TfjsBuildError
from tfjs_build.hints import display_path
from tfjs_build.sources.detect import KERAS_SUFFIXES, detect_input_format
from tfjs_build.util.atomic import atomic_write_text

if TYPE_CHECKING:
    from tfjs_build.cli import Context


SKIP_DIRS = {"node_modules", "dist", "build", "__pycache__", "venv"}

HEADER = """\
# tfjs-build configuration: every model listed here is built into {output_dir}/NAME/.
# Reference: https://github.com/tfjs-build/tfjs-build#tfjsyaml  (JSON Schema: tfjs.schema.json)
version: 1
output_dir: {output_dir}

# Settings applied to every model (each model may override them).
defaults:
  format: graph            # graph -> tf.loadGraphModel, layers -> tf.loadLayersModel
  backends: [cpu, wasm, webgl]
  shard_size: 4MiB
  quantize: none           # none | uint8 | uint16 | float16 | {{uint8: ["*/kernel"]}}
  # budgets: {{size: 5MiB, transfer: 4MiB}}
  # accuracy: {{max_error: 0.01, samples: 8}}

models:
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", type=Path, default=Path("."),
                        help="folder to scan for models (default: the project folder)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing tfjs.yaml")
    parser.add_argument("--output-dir", default="dist/tfjs", help="where built models go (default: dist/tfjs)")


def run(args: argparse.Namespace, ctx: Context) -> int:
    config_path = ctx.config_path
    if config_path.exists() and not args.force:
        raise TfjsBuildError(f"{display_path(config_path)} already exists; pass --force to overwrite it")
    folder = (ctx.directory / args.folder).resolve()
    if not folder.is_dir():
        raise TfjsBuildError(f"{args.folder}: no such folder to scan")
    project = config_path.parent.resolve()
    if not folder.is_relative_to(project):
        raise TfjsBuildError(f"{args.folder}: the folder to scan must be inside the project ({project})")
    found = find_models(folder)
    text = render_config(found, project, args.output_dir)
    atomic_write_text(config_path, text)
    load_config(config_path)  # what we write must be valid: fail loudly here, not at the next build
    ctx.console.info(f"wrote {display_path(config_path)} with {len(found)} model(s)")
    for path, kind in found:
        ctx.console.info(f"  {os.path.relpath(path, project)}  ({kind})")
    if not found:
        ctx.console.info("no models found: add them under `models:` (see the comments in the file)")
    return EXIT_OK


def find_models(folder: Path) -> list[tuple[Path, str]]:
    """Every model source below ``folder``, sorted; a SavedModel folder is not searched further."""
    found: list[tuple[Path, str]] = []
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        kind, _ = detect_input_format(here)
        if kind is not None:
            found.append((here, kind))
            dirs.clear()
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        for name in sorted(files):
            if name.lower().endswith(KERAS_SUFFIXES + (".pb",)):
                kind, _ = detect_input_format(here / name)
                if kind:
                    found.append((here / name, kind))
    return sorted(found)


def model_name(path: Path, taken: set[str]) -> str:
    stem = path.name.split(".")[0] or "model"
    base = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._") or "model"
    if not MODEL_NAME.match(base):
        base = f"m{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def render_config(found: list[tuple[Path, str]], project: Path, output_dir: str) -> str:
    lines = [HEADER.format(output_dir=output_dir).rstrip("\n")]
    if not found:
        lines[0] += " {}"
        lines += ["  # mymodel:", "  #   source: models/mymodel.keras"]
    taken: set[str] = set()
    for path, kind in found:
        lines.append(f"  {model_name(path, taken)}:")
        lines.append(f"    source: {path.relative_to(project).as_posix()}   # {kind}")
        if kind == "frozen_graph":
            lines.append("    outputs: [CHANGE_ME]   # names of the graph's output nodes")
        if kind == "keras":
            lines.append("    # format: layers     # a trainable tf.LayersModel instead of a graph model")
    return "\n".join(lines) + "\n"
