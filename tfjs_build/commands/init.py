"""``tfjs-build init``: find the models in a folder and write a commented tfjs.yaml for them."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tfjs_build import __version__
from tfjs_build.commands import add_switches
from tfjs_build.config import MODEL_NAME, load_config
from tfjs_build.errors import EXIT_OK, TfjsBuildError
from tfjs_build.hints import display_path
from tfjs_build.sources.detect import KERAS_SUFFIXES, detect_input_format
from tfjs_build.sources.graph_outputs import proposed_outputs
from tfjs_build.util.atomic import atomic_write_text

if TYPE_CHECKING:
    from tfjs_build.cli import Context


SKIP_DIRS = {"node_modules", "dist", "build", "__pycache__", "venv"}
WEIGHTS_ONLY = (".weights.h5", ".weights.hdf5")  # Keras 3 save_weights(): no architecture to convert
# Folder and file names that say nothing about which model it is: the name comes from a folder further up.
GENERIC_NAMES = {"model", "models", "saved_model", "savedmodel", "saved-model", "export", "exports", "keras", "tf",
                 "tf2", "weights", "frozen", "frozen_graph", "frozen_model", "graph", "output", "outputs", "serving"}
PREFERENCE = ("saved-model", "keras", "h5", "frozen")  # the one export of a model that init lists

HEADER = """\
# tfjs-build configuration: every model listed here is built into {output_dir}/NAME/.
# Written by tfjs-build {version} (`tfjs-build init`). Every key: the "tfjs.yaml" section of its README
# (`pip show tfjs-build` names the project page), and the JSON Schema shipped with it, which editors use:
# yaml-language-server: $schema={schema}
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
    add_switches(parser, {"--force": "overwrite an existing tfjs.yaml"})
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
    models = group_models(find_models(folder))
    atomic_write_text(config_path, render_config(models, project, args.output_dir))
    load_config(config_path)  # what we write must be valid: fail loudly here, not at the next build
    ctx.console.info(f"wrote {display_path(config_path)} with {len(models)} model(s)")
    for model in models:
        others = ", ".join(flavour(p) for p, _ in model.alternatives)
        also = f"; also found: {others} (commented out)" if others else ""
        ctx.console.info(f"  {model.name}: {os.path.relpath(model.path, project)}  ({model.kind}{also})")
    if not models:
        ctx.console.info("no models found: add them under `models:` (see the comments in the file)")
    return EXIT_OK


def find_models(folder: Path) -> list[tuple[Path, str]]:
    """Every model source below ``folder``, sorted; a SavedModel folder is not searched further, and
    Keras 3 weights-only files (``*.weights.h5``: no architecture, nothing to convert) are left out."""
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
            lower = name.lower()
            if lower.endswith(KERAS_SUFFIXES + (".pb",)) and not lower.endswith(WEIGHTS_ONLY):
                kind, _ = detect_input_format(here / name)
                if kind:
                    found.append((here / name, kind))
    return sorted(found)


@dataclass
class Proposed:
    """One model of the new tfjs.yaml, and the other exports of it found beside it (written as comments)."""

    name: str
    path: Path
    kind: str
    alternatives: list[tuple[Path, str]] = field(default_factory=list)


def flavour(path: Path) -> str:
    """How a source is told apart in a name: saved-model, keras, h5, frozen."""
    if path.is_dir():
        return "saved-model"
    return {".keras": "keras", ".pb": "frozen"}.get(path.suffix.lower(), "h5")


def identity(path: Path) -> tuple[str, Path]:
    """(name, the folder or file it comes from): the first non-generic of the source's own name and its
    folders' names, so unet/saved_model/, unet/model.keras and unet/model.h5 are all "unet"."""
    for candidate in (path, *path.parents[:2]):
        stem = candidate.name.split(".")[0].lower()
        if stem and stem not in GENERIC_NAMES and not stem.isdigit():
            return stem, candidate
    return "model", path.parent


def group_models(found: list[tuple[Path, str]]) -> list[Proposed]:
    """One model per identity: the preferred export (SavedModel, .keras, .h5, frozen graph), others as alternatives;
    names clash only between different models, which then get their format: unet, unet-keras."""
    groups: dict[tuple[str, Path], list[tuple[Path, str]]] = {}
    for path, kind in found:
        groups.setdefault(identity(path), []).append((path, kind))
    taken: set[str] = set()
    models = []
    for (stem, _), sources in sorted(groups.items(), key=lambda item: item[1][0][0]):
        chosen, *others = sorted(sources, key=lambda s: PREFERENCE.index(flavour(s[0])))
        models.append(Proposed(unique_name(stem, flavour(chosen[0]), taken), chosen[0], chosen[1], others))
    return models


def unique_name(stem: str, kind: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9._-]+", "-", stem).strip("-._") or "model"
    if not MODEL_NAME.match(base):
        base = f"m{base}"
    candidates = [base, f"{base}-{kind}"] + [f"{base}-{kind}-{n}" for n in range(2, 1000)]
    name = next(c for c in candidates if c not in taken)
    taken.add(name)
    return name


def render_config(models: list[Proposed], project: Path, output_dir: str) -> str:
    lines = [HEADER.format(output_dir=output_dir, version=__version__, schema=schema_reference(project)).rstrip("\n")]
    if not models:
        lines[0] += " {}"
        lines += ["  # mymodel:", "  #   source: models/mymodel.keras"]
    for model in models:
        lines.append(f"  {model.name}:")
        lines.append(f"    source: {model.path.relative_to(project).as_posix()}   # {model.kind}")
        if model.kind == "frozen_graph":
            outputs = proposed_outputs(model.path)
            shown = ", ".join(outputs) if outputs else "CHANGE_ME"
            why = "the nodes no other node reads; check them" if outputs else "names of the graph's output nodes"
            lines.append(f"    outputs: [{shown}]   # {why}")
        if model.kind == "keras":
            lines.append("    # format: layers     # a trainable tf.LayersModel instead of a graph model")
        for path, kind in model.alternatives:
            lines.append(f"    # also exported as {path.relative_to(project).as_posix()} ({kind}): "
                         f"use it as source instead, or build it too as `{model.name}-{flavour(path)}`")
    return "\n".join(lines) + "\n"


def schema_reference(project: Path) -> str:
    """Where the JSON Schema shipped with this tfjs-build lies: relative when it is inside the project (a venv there)."""
    schema = Path(__file__).resolve().parents[1] / "config" / "tfjs.schema.json"
    return os.path.relpath(schema, project) if schema.is_relative_to(project) else schema.as_uri()
