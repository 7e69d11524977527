"""The frozen records tfjs.yaml is read into. Their ``key(...)``-tagged fields are the field table.

Each tfjs.yaml key is declared once, on the record field that holds it: its kind (parsing,
bounds, JSON Schema), its default (the field's), its description and whether it changes
the built files (``output=True``: part of ``output_settings()`` and so of the fingerprint).
Fields without ``key`` are derived while loading (``source_path``, ``locations``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tfjs_build.config import fields
from tfjs_build.config.fields import key
from tfjs_build.config.kinds import (
    Boolean,
    Choice,
    Count,
    EnvName,
    ExistingFile,
    FileMap,
    GiB,
    KiB,
    Limit,
    ListOf,
    PerBackend,
    ProjectPath,
    QuantizeRules,
    Section,
    Sha256,
    Size,
    Text,
    TiB,
    Timing,
    Toggle,
    Url,
)
from tfjs_build.errors import ConfigError
from tfjs_build.hints import did_you_mean, display_path
from tfjs_build.project import DEFAULT_CACHE_DIR, ProjectPaths
from tfjs_build.sources.detect import INPUT_FORMATS

CONFIG_NAME = "tfjs.yaml"
OUTPUT_FORMATS = ("graph", "layers")
BACKENDS = ("cpu", "wasm", "webgl")
QUANT_DTYPES = ("uint8", "uint16", "float16")
PUBLISH_TYPES = ("s3", "github", "http")
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_MODEL_NAME = 100  # a folder name, below every file system's 255-byte limit with room for the build's temp suffixes
DEFAULT_OUTPUT_DIR = "dist/tfjs"


@dataclass(frozen=True)
class TimeLimit:
    """A latency budget: milliseconds, or ``x``: multiples of ``bench --calibrate``'s reference workload."""

    amount: float
    unit: str  # "ms" or "x"

    def __str__(self) -> str:
        return f"{self.amount:g}{self.unit}"


_PER_BACKEND_TIME = "per backend: 40ms, 1.5s, or 12x (times bench --calibrate's reference workload)"


@dataclass(frozen=True)
class Budgets:
    """Limits checked by ``tfjs-build check``; None means unlimited. Budgets never change the built files.
    Latency, first inference and memory are judged on ``tfjs-build bench``'s record (tfjs.bench.json)."""

    size: int | None = field(default=None, metadata=key(Size(1, TiB), "bytes of model.json + shards"))
    transfer: int | None = field(default=None, metadata=key(Size(1, TiB), "gzip-compressed bytes"))
    shards: int | None = field(default=None, metadata=key(Count(100_000), "number of weight files"))
    params: int | None = field(default=None, metadata=key(Count(10**12), "number of weight elements"))
    latency: tuple[tuple[str, TimeLimit], ...] = field(default=(), metadata=key(
        PerBackend(Timing(TimeLimit), BACKENDS), f"median inference time {_PER_BACKEND_TIME}"))
    first_inference: tuple[tuple[str, TimeLimit], ...] = field(default=(), metadata=key(
        PerBackend(Timing(TimeLimit), BACKENDS), f"cold first inference {_PER_BACKEND_TIME}"))
    memory: int | None = field(default=None, metadata=key(Size(1, TiB), "peak TF.js memory of one inference"))


@dataclass(frozen=True)
class Accuracy:
    """The quantization accuracy gate. ``inputs`` is an .npz of sample inputs."""

    max_error: float | None = field(default=None, metadata=key(Limit(1_000_000)))
    # All samples are held in memory at once: the bound keeps a typo from exhausting it.
    samples: int = field(default=8, metadata=key(Count(256), output=True))
    inputs: Path | None = field(default=None, metadata=key(ExistingFile(), ".npz of sample inputs", output=True))


@dataclass(frozen=True)
class Quantize:
    """Which float32 weights to quantize to which dtype, as (dtype, glob patterns) pairs.

    ``quantize: uint8`` is ``(("uint8", ("*",)),)``; ``none`` is empty. ``auto`` lets the
    converter choose per weight within ``accuracy.max_error``; ``float32`` keeps weights as they are.
    """

    patterns: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.patterns)

    @property
    def auto(self) -> bool:
        return any(dtype == "auto" for dtype, _ in self.patterns)


@dataclass(frozen=True)
class Verify:
    """Proof at build time (``verify: true``): after converting, the model runs in TF.js on each of its
    backends against TensorFlow on ``samples`` inputs, and a mismatch fails its build."""

    enabled: bool = False
    samples: int = field(default=2, metadata=key(Count(256)))


_SOURCE = "SavedModel dir, .h5, .keras, .pb, TF Hub module dir, or https URL of a .tar.gz/.zip"
_STRINGS = ListOf(Text())


@dataclass(frozen=True)
class ModelConfig:
    """One entry of ``models:``, with defaults applied and paths resolved."""

    name: str
    source: str = field(metadata=key(Text(), _SOURCE, required="(a model file, SavedModel folder or https URL)",
                                     output=True, output_of="source_url"))
    source_path: Path | None  # absolute, for local sources
    source_url: str | None  # for https sources
    sha256: str | None = field(default=None, metadata=key(Sha256(), "required for URL sources", output=True))
    # As loaded: the detected format ("auto" only for URL sources, resolved after download).
    input_format: str = field(default="auto", metadata=key(Choice(INPUT_FORMATS), output=True))
    format: str = field(default="graph", metadata=key(
        Choice(OUTPUT_FORMATS), "graph: tf.loadGraphModel; layers: tf.loadLayersModel", output=True))
    signature: str = field(default="serving_default", metadata=key(Text(), output=True))
    tags: tuple[str, ...] = field(default=("serve",), metadata=key(_STRINGS, output=True))
    outputs: tuple[str, ...] = field(default=(), metadata=key(_STRINGS, "output node names (frozen_graph only)", output=True))
    quantize: Quantize = field(default=Quantize(), metadata=key(
        QuantizeRules(Quantize, (*QUANT_DTYPES, "float32", "auto")), output=True))
    # Below 1KiB a model would be cut into thousands of files; a shard is read into one browser buffer.
    shard_size: int = field(default=4 * 1024 * 1024, metadata=key(Size(KiB, GiB), output=True))
    backends: tuple[str, ...] = field(default=BACKENDS, metadata=key(ListOf(Choice(BACKENDS), unique=True), output=True))
    strip_debug_ops: bool = field(default=True, metadata=key(Boolean(), output=True))
    control_flow_v2: bool = field(default=False, metadata=key(Boolean(), output=True))
    split_weights_by_layer: bool = field(default=False, metadata=key(
        Boolean(), "layers format: one weight group per layer", output=True))
    metadata: tuple[tuple[str, Path], ...] = field(default=(), metadata=key(FileMap(), output=True))
    budgets: Budgets = field(default=Budgets(), metadata=key(Section(Budgets)))
    accuracy: Accuracy = field(default=Accuracy(), metadata=key(Section(Accuracy), output=True))
    verify: Verify = field(default=Verify(), metadata=key(Toggle(Verify), "after converting, run the model in TF.js "
                                                          "on its backends against TensorFlow"))
    # "models.NAME.key" -> "tfjs.yaml:LINE:COL", for messages raised after loading (the model's own keys, then defaults').
    locations: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def where(self, key: str = "") -> str:
        """``file:line:col: models.NAME.key`` for a message about this model's ``key``."""
        path = f"models.{self.name}" + (f".{key}" if key else "")
        for candidate in (path, f"defaults.{key}", f"models.{self.name}"):
            if candidate in self.locations:
                return f"{self.locations[candidate]}: {path}"
        return path

    def output_settings(self) -> dict[str, Any]:
        """Every setting that changes the built files, as plain JSON data (for fingerprints)."""
        settings = fields.output_settings(self)
        if self.verify.enabled:  # what tfjs.lock records changes; absent when off, so locks without it stand
            settings["verify"] = {"samples": self.verify.samples}
        if self.quantize.auto:  # auto spends the accuracy budget: the limit shapes the files
            settings["accuracy"]["max_error"] = self.accuracy.max_error
        return settings


@dataclass(frozen=True)
class PublishTarget:
    """A named place to publish to; ``options`` are checked by the target's own module (publish/options.py)."""

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
    dir: Path = field(metadata=key(ProjectPath(), default=DEFAULT_CACHE_DIR))
    max_size: int = field(default=5 * GiB, metadata=key(Size(1, TiB)))
    remote: str | None = field(default=None, metadata=key(Url(
        "an http(s):// URL of a GET/PUT store or s3://BUCKET/PREFIX", ("https://", "http://", "s3://"))))
    push: bool = field(default=True, metadata=key(Boolean(), "upload what this machine builds to the remote "
                                                  "(false: read-only, e.g. fork pull requests; $TFJS_BUILD_CACHE_PUSH=0)"))
    # For an s3:// remote, as an s3 publish target takes them (R2, MinIO, GCS).
    endpoint_url: str | None = field(default=None, metadata=key(Url("an http:// or https:// URL")))
    region: str | None = field(default=None, metadata=key(Text()))
    addressing_style: str = field(default="auto", metadata=key(Choice(("auto", "path", "virtual"))))
    access_key_id_env: str | None = field(default=None, metadata=key(EnvName()))
    secret_access_key_env: str | None = field(default=None, metadata=key(EnvName()))


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
        model = self._by_name.get(name)
        if model is not None:
            return model
        names = [m.name for m in self.models]
        hint = did_you_mean(name, names) or f"; the models are: {', '.join(names) or '(none)'}"
        raise ConfigError(f"{display_path(self.path)}: no model named {name!r}{hint}")

    @cached_property
    def _by_name(self) -> dict[str, ModelConfig]:
        """Built once: commands look up every model of a large project by name."""
        return {m.name: m for m in self.models}

    def select(self, names: Iterable[str] = ()) -> tuple[ModelConfig, ...]:
        """The models a command line names (each once, in tfjs.yaml order), or all of them when it names none.

        Every command that takes MODEL... goes through here, so all treat an unknown
        name the same way: a ConfigError with a "did you mean".
        """
        wanted = {self.model(name).name for name in names}
        return tuple(model for model in self.models if not wanted or model.name in wanted)

    def model_output_dir(self, name: str) -> Path:
        return self.output_dir / name

    @cached_property
    def paths(self) -> ProjectPaths:
        """Every file tfjs-build owns in this project (tfjs.lock, .tfjs-build/...)."""
        return ProjectPaths(self.root)

    @property
    def lock_path(self) -> Path:
        """tfjs.lock, beside tfjs.yaml: every command reads the same project lock."""
        return self.paths.lock


MODEL_FIELDS = fields.keys_of(ModelConfig)  # every model key (also valid under `defaults:`), in message order
