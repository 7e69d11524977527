"""tfjs.yaml: read it with line numbers, validate it, and return frozen typed records.

Reading keeps the position of every key and value so that every error can say
``tfjs.yaml:12:14: models.mobilenet.quantize: expected ..., got ... (did you mean ...?)``.
Each model key is described once in ``MODEL_FIELDS`` (parser, default, JSON Schema),
so validation, ``defaults:`` and the published JSON Schema cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tfjs_build.engine.lockfile import LOCK_NAME
from tfjs_build.errors import ConfigError
from tfjs_build.sources.detect import INPUT_FORMATS, detect_input_format
from tfjs_build.util.units import parse_size

CONFIG_NAME = "tfjs.yaml"
OUTPUT_FORMATS = ("graph", "layers")
BACKENDS = ("cpu", "wasm", "webgl")
QUANT_DTYPES = ("uint8", "uint16", "float16")
PUBLISH_TYPES = ("s3", "github", "http")
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Budgets:
    """Limits checked by ``tfjs-build check``; None means unlimited."""

    size: int | None = None
    transfer: int | None = None
    shards: int | None = None
    params: int | None = None


@dataclass(frozen=True)
class Accuracy:
    """The quantization accuracy gate. ``inputs`` is an .npz of sample inputs."""

    max_error: float | None = None
    samples: int = 8
    inputs: Path | None = None


@dataclass(frozen=True)
class Quantize:
    """Which float32 weights to quantize to which dtype, as (dtype, glob patterns) pairs.

    ``quantize: uint8`` is ``(("uint8", ("*",)),)``; ``none`` is empty.
    """

    patterns: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.patterns)


@dataclass(frozen=True)
class ModelConfig:
    """One entry of ``models:``, with defaults applied and paths resolved."""

    name: str
    source: str
    source_path: Path | None  # absolute, for local sources
    source_url: str | None  # for https sources
    sha256: str | None
    input_format: str  # "auto" only for URL sources, resolved after download
    format: str
    signature: str
    tags: tuple[str, ...]
    outputs: tuple[str, ...]
    quantize: Quantize
    shard_size: int
    backends: tuple[str, ...]
    strip_debug_ops: bool
    control_flow_v2: bool
    split_weights_by_layer: bool
    metadata: tuple[tuple[str, Path], ...]
    budgets: Budgets
    accuracy: Accuracy
    # "models.NAME.key" -> "tfjs.yaml:LINE:COL", for messages raised after loading.
    locations: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def where(self, key: str = "") -> str:
        """``file:line:col: models.NAME.key`` for a message about this model's ``key``."""
        path = f"models.{self.name}" + (f".{key}" if key else "")
        for candidate in (path, f"defaults.{key}", f"models.{self.name}"):
            if candidate in self.locations:
                return f"{self.locations[candidate]}: {path}"
        return path

    def output_settings(self) -> dict[str, Any]:
        """Every setting that changes the built files, as plain JSON data (for fingerprints)."""
        return {
            "source": self.source_url or "",
            "sha256": self.sha256 or "",
            "input_format": self.input_format,
            "format": self.format,
            "signature": self.signature,
            "tags": list(self.tags),
            "outputs": list(self.outputs),
            "quantize": {dtype: list(globs) for dtype, globs in self.quantize.patterns},
            "shard_size": self.shard_size,
            "backends": list(self.backends),
            "strip_debug_ops": self.strip_debug_ops,
            "control_flow_v2": self.control_flow_v2,
            "split_weights_by_layer": self.split_weights_by_layer,
            "metadata": sorted(key for key, _ in self.metadata),
            "accuracy": {"samples": self.accuracy.samples, "inputs": bool(self.accuracy.inputs)},
        }


@dataclass(frozen=True)
class PublishTarget:
    """A named place to publish to; ``options`` are checked by the target's own module."""

    name: str
    type: str
    options: tuple[tuple[str, Any], ...]
    # "publish.NAME.key" -> "tfjs.yaml:LINE:COL", for option errors raised by the target's module.
    locations: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def where(self, key: str = "") -> str:
        """``file:line:col: publish.NAME.key`` for a message about this target's ``key``."""
        path = f"publish.{self.name}" + (f".{key}" if key else "")
        for candidate in (path, f"publish.{self.name}"):
            if candidate in self.locations:
                return f"{self.locations[candidate]}: {path}"
        return path


@dataclass(frozen=True)
class CacheConfig:
    dir: Path
    max_size: int = 5 * 1024**3
    remote: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path  # the tfjs.yaml file
    root: Path  # the project: the folder that holds tfjs.yaml
    version: int
    output_dir: Path
    models: tuple[ModelConfig, ...]
    publish: tuple[PublishTarget, ...]
    cache: CacheConfig

    def model(self, name: str) -> ModelConfig:
        for model in self.models:
            if model.name == name:
                return model
        names = [m.name for m in self.models]
        hint = did_you_mean(name, names) or f"; the models are: {', '.join(names) or '(none)'}"
        raise ConfigError(f"{display_path(self.path)}: no model named {name!r}{hint}")

    def select(self, names: Iterable[str] = ()) -> tuple[ModelConfig, ...]:
        """The models a command line names (each once, in tfjs.yaml order), or all of them when it names none.

        Every command that takes MODEL... goes through here, so all treat an unknown
        name the same way: a ConfigError with a "did you mean".
        """
        wanted = {self.model(name).name for name in names}
        return tuple(model for model in self.models if not wanted or model.name in wanted)

    def model_output_dir(self, name: str) -> Path:
        return self.output_dir / name

    @property
    def lock_path(self) -> Path:
        """tfjs.lock, beside tfjs.yaml: every command reads the same project lock."""
        return self.root / LOCK_NAME


# ---------------------------------------------------------------- reading


@dataclass
class _Doc:
    """Parsed YAML plus the position of every key path (for error messages)."""

    file: str
    value_marks: dict[str, tuple[int, int]]
    key_marks: dict[str, tuple[int, int]]

    def where(self, path: str, at_key: bool = False) -> str:
        marks = self.key_marks if at_key else self.value_marks
        while path and path not in marks:
            path = path.rpartition(".")[0]
        line, col = marks.get(path, (1, 1))
        return f"{self.file}:{line}:{col}"

    def error(self, path: str, message: str, at_key: bool = False) -> ConfigError:
        return ConfigError(f"{self.where(path, at_key)}: {path}: {message}")


def display_path(path: Path) -> str:
    """A path relative to the working directory when it is below it, else absolute."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def did_you_mean(word: object, choices: list[str] | tuple[str, ...]) -> str:
    matches = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def _read_yaml(path: Path) -> tuple[Any, _Doc]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{display_path(path)}: no such file; run `tfjs-build init` to create one, "
            "or pass -c FILE / -C DIR"
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{display_path(path)}: is a folder; pass the config file itself with -c FILE, or its folder with -C DIR"
        ) from None
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        column = exc.start - (exc.object.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{display_path(path)}:{line}:{column}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{display_path(path)}: cannot read: {exc.strerror}; check that it is readable") from None
    doc = _Doc(display_path(path), {}, {})
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = _to_python(loader, node, "", doc) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{doc.file}:{mark.line + 1}:{mark.column + 1}" if mark else doc.file
        raise ConfigError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{doc.file}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, doc


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _to_python(loader: yaml.SafeLoader, node: yaml.Node, path: str, doc: _Doc) -> Any:
    doc.value_marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
        raise doc.error(path, f"YAML tag {node.tag!r} is not allowed; use plain mappings and lists")
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            child = f"{path}.{key}" if path else str(key)
            doc.key_marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key, str):
                raise doc.error(child, f"keys must be strings, got {key!r}", at_key=True)
            if key in result:
                raise doc.error(child, "duplicate key; each key may appear once", at_key=True)
            result[key] = _to_python(loader, value_node, child, doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(loader, item, f"{path}[{i}]", doc) for i, item in enumerate(node.value)]
    return loader.construct_object(node)


# ---------------------------------------------------------------- value parsers
# Each parser takes (doc, key path, raw value, project) and returns the parsed value
# or raises doc.error(...). ``project`` is the resolved project root.

Parser = Callable[[_Doc, str, Any, Path], Any]


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return repr(value)


def _string(doc: _Doc, path: str, value: Any, project: Path) -> str:
    if not isinstance(value, str) or not value:
        raise doc.error(path, f"expected a non-empty string, got {_describe(value)}")
    return value


def _boolean(doc: _Doc, path: str, value: Any, project: Path) -> bool:
    if not isinstance(value, bool):
        raise doc.error(path, f"expected true or false, got {_describe(value)}")
    return value


def _positive_int(doc: _Doc, path: str, value: Any, project: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise doc.error(path, f"expected a whole number >= 1, got {_describe(value)}")
    return value


def _size(doc: _Doc, path: str, value: Any, project: Path) -> int:
    try:
        size = parse_size(value)
    except ValueError as exc:
        raise doc.error(path, f"{exc}, got {_describe(value)}") from None
    if size < 1:
        raise doc.error(path, f"expected a size > 0, got {_describe(value)}")
    return size


def _error_limit(doc: _Doc, path: str, value: Any, project: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise doc.error(path, f"expected a number >= 0 such as 0.01, got {_describe(value)}")
    return float(value)


def _choice(choices: tuple[str, ...]) -> Parser:
    def parse(doc: _Doc, path: str, value: Any, project: Path) -> str:
        if value not in choices:
            raise doc.error(
                path,
                f"expected one of {', '.join(choices)}, got {_describe(value)}{did_you_mean(value, choices)}",
            )
        return value

    return parse


def _list_of(item: Parser) -> Parser:
    def parse(doc: _Doc, path: str, value: Any, project: Path) -> tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise doc.error(path, f"expected a list, got {_describe(value)}")
        return tuple(item(doc, f"{path}[{i}]", v, project) for i, v in enumerate(value))

    return parse


def _project_path(doc: _Doc, path: str, value: Any, project: Path) -> Path:
    text = _string(doc, path, value, project)
    resolved = (project / text).resolve()
    if not resolved.is_relative_to(project):
        raise doc.error(
            path,
            f"path {text!r} leads outside the project ({project}); "
            "keep models and files inside the folder that holds tfjs.yaml",
        )
    return resolved


def _existing_path(doc: _Doc, path: str, value: Any, project: Path) -> Path:
    resolved = _project_path(doc, path, value, project)
    if not resolved.exists():
        raise doc.error(path, f"no such file or directory: {value!r} (looked for {resolved}); "
                        "paths are relative to the folder that holds tfjs.yaml")
    return resolved


def _existing_file(doc: _Doc, path: str, value: Any, project: Path) -> Path:
    resolved = _existing_path(doc, path, value, project)
    if not resolved.is_file():
        kind = "a directory" if resolved.is_dir() else "not a regular file (a FIFO or device?)"
        raise doc.error(path, f"{value!r} is {kind}, expected a file ({resolved}); name the file itself")
    return resolved


def _sha256(doc: _Doc, path: str, value: Any, project: Path) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise doc.error(path, "YAML read this digest as a number; put it in quotes")
    if not isinstance(value, str) or not SHA256.match(value.lower()):
        raise doc.error(path, f"expected 64 hexadecimal digits (sha256sum of the file), got {_describe(value)}")
    return value.lower()


def _quantize(doc: _Doc, path: str, value: Any, project: Path) -> Quantize:
    if value in (None, "none", False):
        return Quantize()
    if isinstance(value, str):
        if value not in QUANT_DTYPES:
            choices = ("none",) + QUANT_DTYPES
            raise doc.error(
                path,
                f"expected one of {', '.join(choices)} or a mapping of dtype to weight-name globs, "
                f"got {value!r}{did_you_mean(value, choices)}",
            )
        return Quantize(((value, ("*",)),))
    if not isinstance(value, dict):
        raise doc.error(path, f"expected none, uint8, uint16, float16 or a mapping, got {_describe(value)}")
    patterns = []
    for dtype, globs in value.items():
        _check_known_key(doc, path, dtype, QUANT_DTYPES)
        parsed = _list_of(_string)(doc, f"{path}.{dtype}", globs, project)
        patterns.append((dtype, parsed))
    return Quantize(tuple(patterns))


def _sub_mapping(fields: dict[str, Parser]) -> Parser:
    """A mapping with known keys; returns only the keys given (merged with defaults later)."""

    def parse(doc: _Doc, path: str, value: Any, project: Path) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise doc.error(path, f"expected a mapping with keys {', '.join(fields)}, got {_describe(value)}")
        parsed = {}
        for key, raw in value.items():
            _check_known_key(doc, path, key, tuple(fields))
            parsed[key] = fields[key](doc, f"{path}.{key}", raw, project)
        return parsed

    return parse


def _metadata(doc: _Doc, path: str, value: Any, project: Path) -> dict[str, Path]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error(path, f"expected a mapping of name to JSON file, got {_describe(value)}")
    return {key: _existing_file(doc, f"{path}.{key}", raw, project) for key, raw in value.items()}


def _check_known_key(doc: _Doc, path: str, key: str, known: tuple[str, ...]) -> None:
    if key not in known:
        child = f"{path}.{key}" if path else key
        raise doc.error(
            child,
            f"unknown key{did_you_mean(key, known)}; expected one of {', '.join(known)}",
            at_key=True,
        )


# ---------------------------------------------------------------- the schema table


@dataclass(frozen=True)
class Field:
    parse: Parser
    default: Any
    schema: dict[str, Any]


_SIZE_SCHEMA = {
    "oneOf": [
        {"type": "integer", "minimum": 1},
        {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*([kKmMgG]i?[bB]?|[bB])?\s*$"},
    ]
}
_STR_LIST = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}

BUDGET_FIELDS: dict[str, Parser] = {"size": _size, "transfer": _size, "shards": _positive_int, "params": _positive_int}
ACCURACY_FIELDS: dict[str, Parser] = {"max_error": _error_limit, "samples": _positive_int, "inputs": _existing_file}

MODEL_FIELDS: dict[str, Field] = {
    "source": Field(_string, None, {"type": "string", "description": "SavedModel dir, .h5, .keras, .pb, TF Hub module dir, or https URL of a .tar.gz/.zip"}),
    "sha256": Field(_sha256, None, {"type": "string", "pattern": "^[0-9a-fA-F]{64}$", "description": "required for URL sources"}),
    "input_format": Field(_choice(INPUT_FORMATS), "auto", {"enum": list(INPUT_FORMATS)}),
    "format": Field(_choice(OUTPUT_FORMATS), "graph", {"enum": list(OUTPUT_FORMATS), "description": "graph: tf.loadGraphModel; layers: tf.loadLayersModel"}),
    "signature": Field(_string, "serving_default", {"type": "string"}),
    "tags": Field(_list_of(_string), ("serve",), _STR_LIST),
    "outputs": Field(_list_of(_string), (), {**_STR_LIST, "description": "output node names (frozen_graph only)"}),
    "quantize": Field(_quantize, Quantize(), {
        "oneOf": [
            {"enum": ["none", *QUANT_DTYPES, None]},
            {"type": "object", "additionalProperties": False,
             "properties": {d: _STR_LIST for d in QUANT_DTYPES}},
        ]
    }),
    "shard_size": Field(_size, 4 * 1024 * 1024, _SIZE_SCHEMA),
    "backends": Field(_list_of(_choice(BACKENDS)), BACKENDS, {"type": "array", "items": {"enum": list(BACKENDS)}}),
    "strip_debug_ops": Field(_boolean, True, {"type": "boolean"}),
    "control_flow_v2": Field(_boolean, False, {"type": "boolean"}),
    "split_weights_by_layer": Field(_boolean, False, {"type": "boolean", "description": "layers format: one weight group per layer"}),
    "metadata": Field(_metadata, {}, {"type": "object", "additionalProperties": {"type": "string"}}),
    "budgets": Field(_sub_mapping(BUDGET_FIELDS), {}, {
        "type": "object", "additionalProperties": False,
        "properties": {"size": _SIZE_SCHEMA, "transfer": _SIZE_SCHEMA,
                       "shards": {"type": "integer", "minimum": 1}, "params": {"type": "integer", "minimum": 1}},
    }),
    "accuracy": Field(_sub_mapping(ACCURACY_FIELDS), {}, {
        "type": "object", "additionalProperties": False,
        "properties": {"max_error": {"type": "number", "minimum": 0}, "samples": {"type": "integer", "minimum": 1},
                       "inputs": {"type": "string", "description": ".npz of sample inputs"}},
    }),
}
MERGED_MAPPINGS = ("budgets", "accuracy", "metadata")  # defaults and model merge key by key
TOP_LEVEL_KEYS = ("version", "output_dir", "defaults", "models", "publish", "cache")
CACHE_KEYS = ("dir", "max_size", "remote")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of tfjs.yaml, derived from the same table the validator uses."""
    model_props = {key: f.schema for key, f in MODEL_FIELDS.items()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "tfjs-build configuration (tfjs.yaml)",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "models"],
        "properties": {
            "version": {"const": 1},
            "output_dir": {"type": "string", "default": "dist/tfjs"},
            "defaults": {"type": "object", "additionalProperties": False, "properties": model_props},
            "models": {
                "type": "object",
                "propertyNames": {"pattern": MODEL_NAME.pattern},
                "additionalProperties": {
                    "type": "object", "additionalProperties": False,
                    "required": ["source"], "properties": model_props,
                },
            },
            "publish": {
                "type": "object",
                "additionalProperties": {
                    "type": "object", "required": ["type"],
                    "properties": {"type": {"enum": list(PUBLISH_TYPES)}},
                },
            },
            "cache": {
                "type": "object", "additionalProperties": False,
                "properties": {"dir": {"type": "string"}, "max_size": _SIZE_SCHEMA,
                               "remote": {"type": "string", "format": "uri"}},
            },
        },
    }


# ---------------------------------------------------------------- validation


def load_config(path: Path) -> Config:
    """Read and validate ``path`` (a tfjs.yaml). Raises ConfigError naming file:line:col and key."""
    path = Path(path).absolute()
    data, doc = _read_yaml(path)
    return parse_config(data, doc, path)


def parse_config(data: Any, doc: _Doc, path: Path) -> Config:
    project = path.parent.resolve()
    if not isinstance(data, dict):
        raise ConfigError(f"{doc.file}:1:1: expected a mapping with keys version and models, got {_describe(data)}")
    for key in data:
        _check_known_key(doc, "", key, TOP_LEVEL_KEYS)
    if "version" not in data:
        raise ConfigError(f"{doc.file}:1:1: version: missing; add `version: 1` at the top")
    if data["version"] != 1:
        raise doc.error("version", f"expected 1 (the only schema version this tfjs-build reads), got {_describe(data['version'])}; "
                        "a newer tfjs-build wrote this file: upgrade tfjs-build (pip install -U tfjs-build)")
    if "models" not in data:
        raise ConfigError(f"{doc.file}:1:1: models: missing; add a `models:` mapping (see `tfjs-build init`)")
    if not isinstance(data["models"], dict):
        raise doc.error("models", f"expected a mapping of model name to settings, got {_describe(data['models'])}")
    output_dir = _project_path(doc, "output_dir", data.get("output_dir", "dist/tfjs"), project)
    _check_output_dir_not_reserved(doc, data.get("output_dir"), output_dir, project)
    defaults = _parse_model_keys(doc, "defaults", data.get("defaults") or {}, project, require_source=False)
    models = tuple(
        _parse_model(doc, name, raw, defaults, project) for name, raw in data["models"].items()
    )
    config = Config(
        path=path,
        root=project,
        version=1,
        output_dir=output_dir,
        models=models,
        publish=_parse_publish(doc, data.get("publish"), project),
        cache=_parse_cache(doc, data.get("cache"), project),
    )
    _check_outputs_clear(doc, config)
    return config


# Folders a build must never write into: git's repository (any, submodules too) and tfjs-build's own state
# (fingerprint.STATE_DIR, which imports this module).
RESERVED_DIRS = (".git", ".tfjs-build")


def _check_output_dir_not_reserved(doc: _Doc, text: Any, output_dir: Path, project: Path) -> None:
    """Model folders replaced inside .git would break the repository (``output_dir: .git``, a model ``objects``)."""
    reserved = next((part for part in output_dir.relative_to(project).parts if part in RESERVED_DIRS), None)
    if reserved is not None:
        raise doc.error("output_dir", f"{text!r} is inside {reserved}/, whose files a "
                        "build would replace; choose a folder of its own such as dist/tfjs")


def _check_outputs_clear(doc: _Doc, config: Config) -> None:
    """A build replaces each model's output folder wholesale: it must not hold (or sit in) anything it would lose.

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


def _parse_model_keys(doc: _Doc, path: str, raw: Any, project: Path, require_source: bool) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise doc.error(path, f"expected a mapping of model settings, got {_describe(raw)}")
    for key in raw:
        _check_known_key(doc, path, key, tuple(MODEL_FIELDS))
    if require_source and "source" not in raw:
        raise doc.error(path, "missing required key 'source' (a model file, SavedModel folder or https URL)")
    parsed = {}
    for key, value in raw.items():
        if key == "source":
            continue  # parsed by _parse_source: it needs sha256 and input_format too
        parsed[key] = MODEL_FIELDS[key].parse(doc, f"{path}.{key}", value, project)
    if "source" in raw:
        parsed["source"] = _string(doc, f"{path}.source", raw["source"], project)
    return parsed


def _parse_model(doc: _Doc, name: Any, raw: Any, defaults: dict[str, Any], project: Path) -> ModelConfig:
    path = f"models.{name}"
    if not isinstance(name, str) or not MODEL_NAME.match(name):
        raise doc.error(
            path,
            "model names must match [a-z0-9][a-z0-9._-]* (lower case; they become folder names)",
            at_key=True,
        )
    own = _parse_model_keys(doc, path, raw, project, require_source=True)
    merged = {key: f.default for key, f in MODEL_FIELDS.items()}
    merged.update(defaults)
    merged.update(own)
    for key in MERGED_MAPPINGS:
        merged[key] = {**defaults.get(key, {}), **own.get(key, {})}
    origin = {key: (path if key in own else "defaults") for key in MODEL_FIELDS}

    source_path, source_url, input_format = _parse_source(doc, path, merged, origin, project)
    if merged["outputs"] and input_format != "frozen_graph":
        raise doc.error(f"{origin['outputs']}.outputs", "only used with input_format: frozen_graph; remove it")
    if input_format == "frozen_graph" and not merged["outputs"]:
        raise doc.error(f"{path}.source", "a frozen graph needs `outputs:` (the names of its output nodes)")
    if merged["format"] == "layers" and input_format not in ("keras", "auto"):
        raise doc.error(
            f"{origin['format']}.format",
            f"format: layers needs a Keras model (.keras or .h5) but this source is a {input_format}; use format: graph",
        )
    locations = {
        key: doc.where(key) for key in doc.value_marks if key.startswith((path, "defaults"))
    }
    locations[path] = doc.where(path, at_key=True)
    return ModelConfig(
        name=name,
        source=merged["source"],
        source_path=source_path,
        source_url=source_url,
        sha256=merged["sha256"],
        input_format=input_format,
        format=merged["format"],
        signature=merged["signature"],
        tags=tuple(merged["tags"]),
        outputs=tuple(merged["outputs"]),
        quantize=merged["quantize"],
        shard_size=merged["shard_size"],
        backends=tuple(dict.fromkeys(merged["backends"])),
        strip_debug_ops=merged["strip_debug_ops"],
        control_flow_v2=merged["control_flow_v2"],
        split_weights_by_layer=merged["split_weights_by_layer"],
        metadata=tuple(sorted(merged["metadata"].items())),
        budgets=Budgets(**merged["budgets"]),
        accuracy=Accuracy(**merged["accuracy"]),
        locations=locations,
    )


def _parse_source(
    doc: _Doc, path: str, merged: dict[str, Any], origin: dict[str, str], project: Path
) -> tuple[Path | None, str | None, str]:
    source = merged["source"]
    key = f"{origin['source']}.source"
    if "://" in source:
        if not source.startswith("https://"):
            raise doc.error(key, f"only https:// URLs are supported, got {source!r}")
        if not merged["sha256"]:
            raise doc.error(key, "a URL source needs `sha256:` (run sha256sum on the file) so downloads are verified")
        if not source.split("?")[0].endswith((".tar.gz", ".tgz", ".zip")):
            raise doc.error(key, "a URL source must point to a .tar.gz, .tgz or .zip archive")
        return None, source, merged["input_format"]
    source_path = _existing_path(doc, key, source, project)
    detected, found = detect_input_format(source_path)
    declared = merged["input_format"]
    if declared == "auto":
        if detected is None:
            raise doc.error(
                key,
                f"cannot tell the input format: found {found}; set input_format to one of "
                f"{', '.join(INPUT_FORMATS[1:])}",
            )
        return source_path, None, detected
    if declared == "tf_hub" and detected == "saved_model":
        return source_path, None, declared
    if detected is not None and detected != declared:
        raise doc.error(
            f"{origin['input_format']}.input_format",
            f"says {declared} but the source is {found}; use input_format: {detected} or auto",
        )
    return source_path, None, declared


def _parse_publish(doc: _Doc, raw: Any, project: Path) -> tuple[PublishTarget, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise doc.error("publish", f"expected a mapping of target name to settings, got {_describe(raw)}")
    targets = []
    for name, settings in raw.items():
        path = f"publish.{name}"
        if not isinstance(settings, dict):
            raise doc.error(path, f"expected a mapping with a `type:` key, got {_describe(settings)}")
        if "type" not in settings:
            raise doc.error(path, f"missing required key 'type' (one of {', '.join(PUBLISH_TYPES)})")
        kind = _choice(PUBLISH_TYPES)(doc, f"{path}.type", settings["type"], project)
        options = tuple(sorted((k, v) for k, v in settings.items() if k != "type"))
        locations = {key: doc.where(key) for key in doc.value_marks if key.startswith(f"{path}.")}
        locations[path] = doc.where(path, at_key=True)
        targets.append(PublishTarget(name=name, type=kind, options=options, locations=locations))
    return tuple(targets)


def _parse_cache(doc: _Doc, raw: Any, project: Path) -> CacheConfig:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise doc.error("cache", f"expected a mapping with keys {', '.join(CACHE_KEYS)}, got {_describe(raw)}")
    for key in raw:
        _check_known_key(doc, "cache", key, CACHE_KEYS)
    cache = CacheConfig(dir=_project_path(doc, "cache.dir", raw.get("dir", ".tfjs-build/cache"), project))
    if "max_size" in raw:
        cache = dataclasses.replace(cache, max_size=_size(doc, "cache.max_size", raw["max_size"], project))
    if "remote" in raw:
        remote = _string(doc, "cache.remote", raw["remote"], project)
        if not remote.startswith(("https://", "http://")):
            raise doc.error("cache.remote", f"expected an http(s):// URL of a GET/PUT store, got {remote!r}")
        cache = dataclasses.replace(cache, remote=remote.rstrip("/"))
    return cache


def find_config(directory: Path, explicit: Path | None = None) -> Path:
    """The config to use: ``-c FILE`` (relative to ``-C DIR``) or DIR/tfjs.yaml."""
    return (directory / explicit) if explicit else (directory / CONFIG_NAME)
