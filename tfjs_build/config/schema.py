"""The JSON Schema of tfjs.yaml (tfjs_build/config/tfjs.schema.json), written from the records' field table.

Editors validate and complete tfjs.yaml with it; since each key's schema comes from the
same kind that validates it (bounds included), the two cannot disagree.
scripts/gen_schema.py writes the file; tests/config/test_schema.py checks it is current.
"""

from __future__ import annotations

from typing import Any

from tfjs_build.config.fields import keys_of
from tfjs_build.config.kinds import Section
from tfjs_build.config.load import TOP_LEVEL_KEYS
from tfjs_build.config.records import DEFAULT_OUTPUT_DIR, MAX_MODEL_NAME, MODEL_NAME, PUBLISH_TYPES, CacheConfig, ModelConfig


def json_schema() -> dict[str, Any]:
    """The JSON Schema of tfjs.yaml, derived from the same table the validator uses."""
    table = keys_of(ModelConfig)
    model_props = {name: spec.schema() for name, spec in table.items()}
    required = [name for name, spec in table.items() if spec.required]
    properties = {
        "version": {"const": 1},
        "output_dir": {"type": "string", "default": DEFAULT_OUTPUT_DIR},
        "defaults": {"type": "object", "additionalProperties": False, "properties": model_props},
        "models": {
            "type": "object",
            "propertyNames": {"pattern": MODEL_NAME.pattern, "maxLength": MAX_MODEL_NAME},
            "additionalProperties": {
                "type": "object", "additionalProperties": False, "required": required, "properties": model_props,
            },
        },
        "publish": {
            "type": "object",
            "additionalProperties": {
                "type": "object", "required": ["type"], "properties": {"type": {"enum": list(PUBLISH_TYPES)}},
            },
        },
        "cache": Section(CacheConfig).schema(),
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "tfjs-build configuration (tfjs.yaml)",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "models"],
        "properties": {key: properties[key] for key in TOP_LEVEL_KEYS},
    }
