"""tfjs.yaml -> Config: the top level, `defaults:` merged into each model, sources resolved, publish targets.

Keys and their kinds come from the records' field table; this module adds only what
involves several keys at once (a URL source needs sha256, a frozen graph needs outputs,
output folders must not overlap inputs). Every step is linear in the file's size: a
model reads its own keys and the marks below it, never the whole document.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tfjs_build.config import fields
from tfjs_build.config.kinds import Choice, ExistingPath, ProjectPath, Section
from tfjs_build.config.overlap import check_output_dir, check_outputs_clear
from tfjs_build.config.records import (
    CONFIG_NAME,
    DEFAULT_OUTPUT_DIR,
    INPUT_FORMATS,
    MAX_MODEL_NAME,
    MODEL_NAME,
    PUBLISH_TYPES,
    CacheConfig,
    Config,
    ModelConfig,
    PublishTarget,
)
from tfjs_build.config.yaml_reader import Doc, read_yaml
from tfjs_build.errors import ConfigError
from tfjs_build.hints import describe
from tfjs_build.sources.detect import detect_input_format

TOP_LEVEL_KEYS = ("version", "output_dir", "defaults", "models", "publish", "cache")


def load_config(path: Path) -> Config:
    """Read and validate ``path`` (a tfjs.yaml). Raises ConfigError naming file:line:col and key."""
    path = Path(path).absolute()
    data, doc = read_yaml(path)
    return parse_config(data, doc, path)


def find_config(directory: Path, explicit: Path | None = None) -> Path:
    """The config to use: ``-c FILE`` (relative to ``-C DIR``) or DIR/tfjs.yaml."""
    return (directory / explicit) if explicit else (directory / CONFIG_NAME)


def parse_config(data: Any, doc: Doc, path: Path) -> Config:
    _check_top_level(data, doc)
    output_dir = ProjectPath().parse(doc, "output_dir", data.get("output_dir", DEFAULT_OUTPUT_DIR))
    check_output_dir(doc, data.get("output_dir"), output_dir)
    defaults = _model_keys(doc, "defaults", data.get("defaults") or {}, require=False)
    shared = _locations(doc, "defaults", data.get("defaults"))
    models = tuple(_parse_model(doc, name, raw, defaults, shared) for name, raw in data["models"].items())
    config = Config(
        path=path,
        root=doc.project,
        version=1,
        output_dir=output_dir,
        models=models,
        publish=_parse_publish(doc, data.get("publish")),
        cache=_parse_cache(doc, data.get("cache")),
    )
    check_outputs_clear(doc, config)
    return config


def _parse_cache(doc: Doc, raw: Any) -> CacheConfig:
    cache = Section(CacheConfig)
    return cache.finish(cache.parse(doc, "cache", raw or {}))  # `cache:` left empty (or false) means the defaults


def _check_top_level(data: Any, doc: Doc) -> None:
    if not isinstance(data, dict):
        raise ConfigError(f"{doc.file}:1:1: expected a mapping with keys version and models, got {describe(data)}")
    for key in data:
        fields.check_known(doc, "", key, TOP_LEVEL_KEYS)
    if "version" not in data:
        raise ConfigError(f"{doc.file}:1:1: version: missing; add `version: 1` at the top")
    if data["version"] != 1:
        raise doc.error("version", f"expected 1 (the only schema version this tfjs-build reads), "
                        f"got {describe(data['version'])}; a newer tfjs-build wrote this file: "
                        "upgrade tfjs-build (pip install -U tfjs-build)")
    if "models" not in data:
        raise ConfigError(f"{doc.file}:1:1: models: missing; add a `models:` mapping (see `tfjs-build init`)")
    if not isinstance(data["models"], dict):
        raise doc.error("models", f"expected a mapping of model name to settings, got {describe(data['models'])}")


def _model_keys(doc: Doc, path: str, raw: Any, require: bool) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise doc.error(path, f"expected a mapping of model settings, got {describe(raw)}")
    return fields.read_keys(doc, path, raw, ModelConfig, require=require)


def _paths(value: Any, path: str) -> Iterator[str]:
    """Every key path inside ``value`` (as the reader recorded them), in linear time."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, f"{path}[{i}]")


def _locations(doc: Doc, path: str, raw: Any) -> dict[str, str]:
    """``file:line:col`` of every value below ``path``, and of ``path``'s own key."""
    locations = {p: doc.where(p) for p in _paths(raw, path)} if raw is not None else {}
    if path in doc.key_marks:
        locations[path] = doc.where(path, at_key=True)
    return locations


def _parse_model(doc: Doc, name: Any, raw: Any, defaults: dict[str, Any], shared: dict[str, str]) -> ModelConfig:
    path = f"models.{name}"
    _check_name(doc, path, name)
    own = _model_keys(doc, path, raw, require=True)
    merged, origin = _merge(path, defaults, own)
    source_path, source_url, input_format = _resolve_source(doc, merged, origin)
    _check_format(doc, path, merged, origin, input_format)
    model = fields.build(
        ModelConfig, merged, name=name, source_path=source_path, source_url=source_url,
        input_format=input_format, locations=ChainMap(_locations(doc, path, raw), shared),
    )
    _check_auto_quantize(doc, path, model, origin)
    return model


def _check_name(doc: Doc, path: str, name: Any) -> None:
    """Model names become folder names: a safe alphabet, and short enough for any file system."""
    if not isinstance(name, str) or not MODEL_NAME.match(name):
        raise doc.error(path, "model names must match [a-z0-9][a-z0-9._-]* (lower case; they become folder names)",
                        at_key=True)
    if len(name) > MAX_MODEL_NAME:
        raise ConfigError(f"{doc.where(path, at_key=True)}: {path[:40]}...: a model name of {len(name)} characters; "
                          f"at most {MAX_MODEL_NAME} (it becomes a folder name)")


class _Settings(dict[str, Any]):
    """A model's parsed keys; one it does not give reads as the record's default (for checks across keys)."""

    def __missing__(self, name: str) -> Any:
        return fields.default_of(ModelConfig, name)


def _merge(path: str, defaults: dict[str, Any], own: dict[str, Any]) -> tuple[_Settings, dict[str, str]]:
    """The model's keys over `defaults:` (mappings key by key), and where each came from (for messages)."""
    merged = _Settings({**defaults, **own})
    for name, spec in fields.keys_of(ModelConfig).items():
        if spec.kind.merges and name in defaults and name in own:
            merged[name] = {**defaults[name], **own[name]}
    origin = {name: (path if name in own else "defaults") for name in fields.keys_of(ModelConfig)}
    return merged, origin


def _resolve_source(doc: Doc, merged: dict[str, Any], origin: dict[str, str]) -> tuple[Path | None, str | None, str]:
    """(local path, URL, input format): a local source must exist and match its declared format."""
    source, key = merged["source"], f"{origin['source']}.source"
    declared = merged["input_format"]
    if "://" in source:
        if not source.startswith("https://"):
            raise doc.error(key, f"only https:// URLs are supported, got {source!r}")
        if not merged["sha256"]:
            raise doc.error(key, "a URL source needs `sha256:` (run sha256sum on the file) so downloads are verified")
        if not source.split("?")[0].endswith((".tar.gz", ".tgz", ".zip")):
            raise doc.error(key, "a URL source must point to a .tar.gz, .tgz or .zip archive")
        return None, source, declared
    source_path = ExistingPath().parse(doc, key, source)
    detected, found = detect_input_format(source_path)
    if declared == "auto":
        if detected is None:
            raise doc.error(key, f"cannot tell the input format: found {found}; set input_format to one of "
                                 f"{', '.join(INPUT_FORMATS[1:])}")
        return source_path, None, detected
    if detected is not None and detected != declared and not (declared == "tf_hub" and detected == "saved_model"):
        raise doc.error(f"{origin['input_format']}.input_format",
                        f"says {declared} but the source is {found}; use input_format: {detected} or auto")
    return source_path, None, declared


def _check_format(doc: Doc, path: str, merged: dict[str, Any], origin: dict[str, str], input_format: str) -> None:
    outputs, output_format = merged["outputs"], merged["format"]
    if outputs and input_format != "frozen_graph":
        raise doc.error(f"{origin['outputs']}.outputs", "only used with input_format: frozen_graph; remove it")
    if input_format == "frozen_graph" and not outputs:
        raise doc.error(f"{path}.source", "a frozen graph needs `outputs:` (the names of its output nodes)")
    if output_format == "layers" and input_format not in ("keras", "auto"):
        raise doc.error(f"{origin['format']}.format", "format: layers needs a Keras model (.keras or .h5) but this "
                                                      f"source is a {input_format}; use format: graph")


def _check_auto_quantize(doc: Doc, path: str, model: ModelConfig, origin: dict[str, str]) -> None:
    """``quantize: auto`` spends the accuracy budget, so it needs one; only the graph converter has it."""
    if not model.quantize.auto:
        return
    key = f"{origin['quantize']}.quantize"
    if model.format == "layers":
        raise doc.error(key, f"auto (for {path}) chooses dtypes for format: graph only; for format: layers "
                             "name a dtype or map dtypes to weight-name globs")
    if model.accuracy.max_error is None:
        raise doc.error(key, f"auto (for {path}) picks the smallest dtype per weight within accuracy.max_error, "
                             "which is not set; add e.g. `accuracy: {max_error: 0.01}`")


def _parse_publish(doc: Doc, raw: Any) -> tuple[PublishTarget, ...]:
    """Targets with their type checked; their options are checked by the target's module when it is used."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise doc.error("publish", f"expected a mapping of target name to settings, got {describe(raw)}")
    targets = []
    for name, settings in raw.items():
        path = f"publish.{name}"
        if not isinstance(settings, dict):
            raise doc.error(path, f"expected a mapping with a `type:` key, got {describe(settings)}")
        if "type" not in settings:
            raise doc.error(path, f"missing required key 'type' (one of {', '.join(PUBLISH_TYPES)})")
        kind = Choice(PUBLISH_TYPES).parse(doc, f"{path}.type", settings["type"])
        options = tuple(sorted((k, v) for k, v in settings.items() if k != "type"))
        targets.append(PublishTarget(name=name, type=kind, options=options, locations=_locations(doc, path, settings)))
    return tuple(targets)
