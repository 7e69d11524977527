"""A build replaces output_dir/NAME wholesale, so a config in which that folder holds (or sits inside) a source,
a metadata file, tfjs.yaml or tfjs.lock is refused before anything is written: the user's model must survive."""

from __future__ import annotations

from pathlib import Path

import pytest
from qa_cli import assert_user_error, tfjs_build


@pytest.mark.parametrize(("config", "message"), [
    ("output_dir: models\nmodels:\n  net:\n    source: models/net",
     "tfjs.yaml:4:3: models.net: its output folder models/net/ (output_dir/NAME, replaced by every build) "
     "overlaps models/net, the source of models.net; set output_dir to a folder of its own"),
    ("output_dir: .\nmodels:\n  models:\n    source: models/net",
     "models.models: its output folder models/ (output_dir/NAME, replaced by every build) overlaps models/net"),
    ("output_dir: models/net/out\nmodels:\n  a:\n    source: models/net",
     "models.a: its output folder models/net/out/a/ (output_dir/NAME, replaced by every build) overlaps models/net"),
    ("output_dir: .\nmodels:\n  tfjs.yaml:\n    source: models/net",
     "models.tfjs.yaml: its output folder tfjs.yaml/ (output_dir/NAME, replaced by every build) overlaps tfjs.yaml, "
     "the config file"),
    ("output_dir: .\nmodels:\n  a:\n    source: models/net\n    metadata: {labels: b/labels.json}\n  b:\n"
     "    source: models/net",
     "models.b: its output folder b/ (output_dir/NAME, replaced by every build) overlaps b/labels.json, "
     "models.a.metadata.labels"),
])
@pytest.mark.parametrize("command", ["status", "build"])
def test_output_folder_that_would_replace_an_input(tmp_path: Path, config: str, message: str, command: str) -> None:
    (tmp_path / "models" / "net").mkdir(parents=True)
    (tmp_path / "models" / "net" / "saved_model.pb").write_bytes(b"keep me")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "labels.json").write_text("[]", encoding="utf-8")
    (tmp_path / "tfjs.yaml").write_text(f"version: 1\n{config}\n", encoding="utf-8")
    assert_user_error(tfjs_build(tmp_path, command), message)
    assert (tmp_path / "models" / "net" / "saved_model.pb").read_bytes() == b"keep me"
