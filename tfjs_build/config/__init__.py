"""tfjs.yaml: read it with the position of every key, validate it, and return frozen typed records.

Every error can say ``tfjs.yaml:12:14: models.mobilenet.quantize: expected ..., got ...
(did you mean ...?)``. The package, in reading order:

- ``records``: Config, ModelConfig and the rest; their ``key(...)``-tagged fields are the
  field table (each key's kind, default, bounds, description, and whether it changes output).
- ``fields``: the mechanism that reads a mapping against a record's table (also used by
  publish targets for their options); ``kinds``: value kinds (parsing, bounds, JSON Schema).
- ``yaml_reader``: YAML with positions, bounded against hostile input (depth, aliases).
- ``load``: load_config: the top level, `defaults:` merged into models, sources resolved;
  ``overlap``: output folders kept off inputs and reserved folders.
- ``schema``: the JSON Schema export (tfjs.schema.json).

Importing this package stays cheap: the records come at once; loading, the schema and yaml
only when first used (a worker that unpickles a ModelConfig never reads YAML).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tfjs_build.config.records import (
    BACKENDS,
    CONFIG_NAME,
    MAX_MODEL_NAME,
    MODEL_FIELDS,
    MODEL_NAME,
    OUTPUT_FORMATS,
    PUBLISH_TYPES,
    QUANT_DTYPES,
    Accuracy,
    Budgets,
    CacheConfig,
    Config,
    ModelConfig,
    PublishTarget,
    Quantize,
)
from tfjs_build.hints import did_you_mean, display_path

if TYPE_CHECKING:
    from tfjs_build.config.load import TOP_LEVEL_KEYS, find_config, load_config, parse_config
    from tfjs_build.config.overlap import RESERVED_DIRS
    from tfjs_build.config.schema import json_schema

_LATER = {"TOP_LEVEL_KEYS": "load", "find_config": "load", "load_config": "load", "parse_config": "load",
          "RESERVED_DIRS": "overlap", "json_schema": "schema"}

__all__ = [
    "BACKENDS", "CONFIG_NAME", "MAX_MODEL_NAME", "MODEL_FIELDS", "MODEL_NAME", "OUTPUT_FORMATS", "PUBLISH_TYPES",
    "QUANT_DTYPES", "RESERVED_DIRS", "TOP_LEVEL_KEYS", "Accuracy", "Budgets", "CacheConfig", "Config", "ModelConfig",
    "PublishTarget", "Quantize", "did_you_mean", "display_path", "find_config", "json_schema", "load_config",
    "parse_config",
]


def __getattr__(name: str) -> Any:
    """The names of ``load``, ``overlap`` and ``schema``, imported on first use."""
    if name not in _LATER:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LATER[name]}"), name)
    globals()[name] = value
    return value
