"""Harness errors a user (or a test) can cause: each is a TfjsBuildError that says how to fix it."""

from __future__ import annotations

import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tfjs_build.errors import TfjsBuildError
from tfjs_build.verify.runner import _serve, decode_tensor, encode_tensors, run_in_tfjs, run_request

from .handmade import dense_graph_model


@pytest.fixture()
def dense_dir(tmp_path: Path) -> Path:
    return dense_graph_model(tmp_path / "dense", np.ones((3, 2), np.float32), np.zeros(2, np.float32))


def test_missing_node_modules_names_the_install_command(dense_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TFJS_BUILD_NODE_DIR", str(tmp_path / "empty"))
    expected = (r"\$TFJS_BUILD_NODE_DIR=.*empty: no @tensorflow/tfjs there; point it at a node_modules folder "
                r"with @tensorflow/tfjs 4.22.0 \(or unset it and tfjs-build installs its own\)")
    with pytest.raises(TfjsBuildError, match=expected):
        run_in_tfjs(dense_dir, {"features": np.zeros((1, 3))}, "cpu")


def test_other_tfjs_version_is_refused(dense_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "node_modules" / "@tensorflow" / "tfjs" / "package.json"
    package.parent.mkdir(parents=True)
    package.write_text('{"name": "@tensorflow/tfjs", "version": "4.21.0"}')
    monkeypatch.setenv("TFJS_BUILD_NODE_DIR", str(tmp_path / "node_modules"))
    with pytest.raises(TfjsBuildError, match=r"it has @tensorflow/tfjs 4.21.0, tfjs-build needs exactly 4.22.0; point it at"):
        run_in_tfjs(dense_dir, {"features": np.zeros((1, 3))}, "cpu")


def test_missing_chromium_names_the_fix(dense_dir: Path, monkeypatch: pytest.MonkeyPatch, tfjs_available: Path) -> None:
    monkeypatch.setenv("TFJS_BUILD_CHROMIUM", "/nonexistent/chromium")
    expected = r"\$TFJS_BUILD_CHROMIUM=/nonexistent/chromium: no such file; point it at a Chromium or Chrome binary"
    with pytest.raises(TfjsBuildError, match=expected):
        run_in_tfjs(dense_dir, {"features": np.zeros((1, 3))}, "webgl")


def test_unknown_backend_and_missing_model(dense_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(TfjsBuildError, match="unknown TF.js backend 'webgpu': expected one of cpu, wasm, webgl"):
        run_in_tfjs(dense_dir, {}, "webgpu")
    with pytest.raises(TfjsBuildError, match="no model.json to run in TF.js; build the model first"):
        run_in_tfjs(tmp_path, {}, "cpu")


def test_graph_layers_mix_up_says_which_format_to_use(dense_dir: Path) -> None:
    expected = r"model.json: format is 'graph-model', not the layers-model asked for; run it with format='graph'"
    with pytest.raises(TfjsBuildError, match=expected):
        run_in_tfjs(dense_dir, {"features": np.zeros((1, 3))}, "cpu", format="layers")


@pytest.mark.slow
@pytest.mark.node
def test_timeout_is_reported(dense_dir: Path, tfjs_available: Path) -> None:
    with pytest.raises(TfjsBuildError, match=r"TF.js runner run_model.mjs \(cpu\) timed out after 0s"):
        run_in_tfjs(dense_dir, {"features": np.zeros((1, 3))}, "cpu", timeout=0.05)


def test_inputs_are_narrowed_to_tfjs_dtypes() -> None:
    specs = encode_tensors({"f": np.arange(3, dtype=np.float64), "i": np.arange(2, dtype=np.uint8), "b": np.array([True])})
    assert [(s["name"], s["dtype"]) for s in specs] == [("f", "float32"), ("i", "int32"), ("b", "bool")]
    assert decode_tensor(specs[0]).dtype == np.float32
    np.testing.assert_array_equal(decode_tensor(specs[1]), [0, 1])
    assert decode_tensor(specs[2]).tolist() == [True]


def test_inputs_tfjs_cannot_hold_are_refused() -> None:
    with pytest.raises(TfjsBuildError, match="input 'big': integer values outside int32"):
        encode_tensors({"big": np.array([2**40])})
    with pytest.raises(TfjsBuildError, match=r"input 'c': dtype complex128 has no TF.js equivalent"):
        encode_tensors({"c": np.array([1j])})


def test_server_only_serves_its_mounts(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("no")
    with _serve({"model": tmp_path / "model"}) as base:
        assert urllib.request.urlopen(f"{base}/model/model.json").read() == b"{}"
        for path in ("/model/../secret.txt", "/model/%2e%2e/secret.txt", "/secret.txt", "/other/model.json"):
            with pytest.raises(urllib.error.HTTPError, match="404"):
                urllib.request.urlopen(base + path)


def _chromium_pids_using(path: Path) -> set[int]:
    """Processes whose command line names ``path`` (the runner's fresh Chromium profile lives there)."""
    pids = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(path).encode() in cmdline.read_bytes():
                pids.add(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


@pytest.mark.slow
@pytest.mark.browser
def test_webgl_timeout_leaves_no_chromium_behind(
    dense_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chromium: str
) -> None:
    """Chromium runs in a process group of its own: a timeout must still close it."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(profiles))
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            seen.update(_chromium_pids_using(profiles))

    watcher = threading.Thread(target=watch)
    watcher.start()
    endless = {"action": "time", "format": "graph", "executeAsync": None, "timing": {"warmup": 1, "runs": 10**9}}
    try:
        with pytest.raises(TfjsBuildError, match=r"run_webgl.mjs \(webgl\) timed out after 8s"):
            run_request(dense_dir, {"features": np.zeros((1, 3), np.float32)}, "webgl", endless, timeout=8)
    finally:
        done.set()
        watcher.join()
    assert seen, "Chromium never started, so the test proved nothing"
    assert _chromium_pids_using(profiles) == set()
