"""Where built models may go: never into git's or tfjs-build's own folders, never over an input.

A build replaces each model's output folder (``output_dir/NAME``) wholesale, so the
folder must not hold, or sit inside, anything the build would lose.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfjs_build.project import STATE_DIR_NAME

if TYPE_CHECKING:
    from tfjs_build.config.records import Config
    from tfjs_build.config.yaml_reader import Doc

# Folders a build must never write into: git's repository (any, submodules too) and tfjs-build's own state.
RESERVED_DIRS = (".git", STATE_DIR_NAME)


def check_output_dir(doc: Doc, text: Any, output_dir: Path) -> None:
    """Model folders replaced inside .git would break the repository (``output_dir: .git``, a model ``objects``)."""
    reserved = next((part for part in output_dir.relative_to(doc.project).parts if part in RESERVED_DIRS), None)
    if reserved is not None:
        raise doc.error("output_dir", f"{text!r} is inside {reserved}/, whose files a "
                        "build would replace; choose a folder of its own such as dist/tfjs")


def check_outputs_clear(doc: Doc, config: Config) -> None:
    """No model's output folder holds or sits in the config, the lock, the cache or any model's inputs.

    Set lookups over ancestors, not pairwise path comparisons: this runs on every no-op command."""
    kept = {config.path.resolve(): "the config file", config.lock_path.resolve(): "the lock file",
            config.cache.dir.resolve(): "the cache (cache.dir)"}
    for model in config.models:  # parsed paths are already resolved
        if model.source_path is not None:
            kept.setdefault(model.source_path, f"the source of models.{model.name}")
        for key, file in model.metadata:
            kept.setdefault(file, f"models.{model.name}.metadata.{key}")
        if model.accuracy.inputs is not None:
            kept.setdefault(model.accuracy.inputs, f"models.{model.name}.accuracy.inputs")
    holders = {folder: path for path in kept for folder in (path, *path.parents)}
    for model in config.models:
        out = config.model_output_dir(model.name)
        path = holders.get(out) or next((p for p in out.parents if p in kept), None)
        if path is not None:
            raise doc.error(
                f"models.{model.name}",
                f"its output folder {_shown(out, config.root)}/ (output_dir/NAME, replaced by every build) overlaps "
                f"{_shown(path, config.root)}, {kept[path]}; set output_dir to a folder of its own (e.g. dist/tfjs) "
                "or rename the model",
                at_key=True,
            )


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
