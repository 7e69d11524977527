"""Regenerate tfjs_build/config/tfjs.schema.json from the validator's own field table.

Run after changing a key in tfjs_build/config/records.py (or a kind in kinds.py): python scripts/gen_schema.py
(tests/config/test_schema.py fails while the committed file is out of date).
"""

import json
from pathlib import Path

from tfjs_build.config import json_schema

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "tfjs_build" / "config" / "tfjs.schema.json"


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
