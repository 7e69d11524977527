"""``tfjs-build init`` on folders of real exports: names from folders, one model per folder, no weights-only files,
and a frozen graph's proposed outputs read from its GraphDef without TensorFlow."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from cli_process import run_cli

from tfjs_build.config import load_config
from tfjs_build.sources.graph_outputs import proposed_outputs

HDF5 = b"\x89HDF\r\n\x1a\n" + bytes(64)


def keras_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")


def saved_model(folder: Path) -> None:
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"\x00")


def frozen_graph(path: Path) -> None:
    """x -> MatMul(x, w) -> out, plus a NoOp reading out by control edge: outputs are [out]. Made with
    TensorFlow's own GraphDef message (this test process may import it; the init command may not)."""
    from tensorflow.core.framework import graph_pb2

    graph = graph_pb2.GraphDef()
    for name, op, inputs in (("x", "Placeholder", []), ("w", "Const", []), ("mm", "MatMul", ["x", "w:0"]),
                             ("out", "Identity", ["mm"]), ("init", "NoOp", ["^out"]), ("probe", "Identity", ["mm:0"])):
        node = graph.node.add(name=name, op=op)
        node.input.extend(inputs)
        node.attr["T"].type = 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph.SerializeToString())


def init(root: Path, poison) -> subprocess.CompletedProcess:
    return run_cli("init", cwd=root, env={"PYTHONPATH": str(poison.pythonpath), "NO_COLOR": "1"}, timeout=120)


def test_init_names_models_after_their_folders_and_lists_each_once(tmp_path, poisoned_tensorflow):
    root = tmp_path / "project"
    saved_model(root / "exports" / "unet" / "saved_model")
    keras_file(root / "exports" / "unet" / "model.keras")
    (root / "exports" / "unet" / "model.h5").write_bytes(HDF5)
    (root / "exports" / "unet" / "model.weights.h5").write_bytes(HDF5)  # Keras 3 weights only
    keras_file(root / "exports" / "resnet" / "model.keras")
    saved_model(root / "exports" / "mobilenet" / "1")  # a versioned SavedModel export
    saved_model(root / "exports" / "yolo")
    keras_file(root / "exports" / "yolo.keras")  # another model with the same name: gets its format
    frozen_graph(root / "exports" / "detector" / "frozen_graph.pb")

    result = init(root, poisoned_tensorflow)
    assert result.returncode == 0, result.stderr
    assert not poisoned_tensorflow.imported
    config = load_config(root / "tfjs.yaml")
    assert [m.name for m in config.models] == ["detector", "mobilenet", "resnet", "unet", "yolo", "yolo-keras"]
    assert config.model("unet").source_path == root / "exports" / "unet" / "saved_model"
    assert config.model("detector").outputs == ("out", "probe")
    text = (root / "tfjs.yaml").read_text()
    assert "weights.h5" not in text
    assert ("# also exported as exports/unet/model.keras (keras): use it as source instead, "
            "or build it too as `unet-keras`") in text
    assert "# also exported as exports/unet/model.h5 (keras)" in text
    assert "github.com" not in text and "# yaml-language-server: $schema=" in text
    schema = text.split("$schema=")[1].split("\n")[0]
    assert Path(schema.removeprefix("file://")).is_file(), "the schema link points at the installed schema"


def test_a_file_that_is_not_a_graphdef_gets_no_proposal(tmp_path):
    (tmp_path / "broken.pb").write_bytes(b"\x0a\xff\xff\xff\xff\x0f")
    assert proposed_outputs(tmp_path / "broken.pb") == []


def test_a_graphdef_node_written_as_a_number_gets_no_proposal(tmp_path):
    """Field 1 (node) as a varint, not a message: no proposal rather than a crash."""
    (tmp_path / "number.pb").write_bytes(b"\x08\x01")
    assert proposed_outputs(tmp_path / "number.pb") == []
