"""The committed JSON Schema is the one the validator's field table produces."""

import importlib.util
import json
from pathlib import Path

from tfjs_build.config import MODEL_FIELDS, TOP_LEVEL_KEYS, json_schema

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_schema", ROOT / "scripts" / "gen_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (ROOT / "tfjs_build" / "config" / "tfjs.schema.json").read_text()
    assert committed == module.render(), "run: python scripts/gen_schema.py"


def test_schema_lists_every_key_the_validator_accepts() -> None:
    schema = json_schema()
    assert set(schema["properties"]) == set(TOP_LEVEL_KEYS)
    model = schema["properties"]["models"]["additionalProperties"]
    assert set(model["properties"]) == set(MODEL_FIELDS)
    assert model["additionalProperties"] is False and json.dumps(schema)
