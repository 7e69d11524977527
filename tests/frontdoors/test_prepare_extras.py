"""Which extras the Action installs: TensorFlow only for a command that may convert."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "action"))

from prepare import extras_for  # noqa: E402  (the Action's own script, not a package)


@pytest.mark.parametrize(("command", "args", "extras"), [
    ("check", "", []),
    ("publish", "cdn", []),
    ("build", "", ["tensorflow"]),
    ("verify", "--backend wasm", ["tensorflow"]),
    ("build", "--restore-only --shards 3", []),
    ("build", "--shard 2/3", ["tensorflow"]),
])
def test_tensorflow_only_where_a_model_may_be_converted(command: str, args: str, extras: list[str]) -> None:
    assert extras_for(command, "", args) == extras


def test_user_extras_are_kept_and_checked() -> None:
    assert extras_for("build", "s3, hook", "--restore-only") == ["hook", "s3"]
    with pytest.raises(SystemExit, match="not an extra name"):
        extras_for("check", "s3;rm -rf /")
