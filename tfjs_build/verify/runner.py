"""Run a built model in real TF.js and get its outputs back as numpy arrays.

Why real TF.js: a converted model is only correct if TF.js itself loads and computes it, so
checks and tests run the model exactly as users will: fetched over HTTP by
``tf.loadGraphModel``/``tf.loadLayersModel`` in node (cpu, wasm) or in headless Chromium
(webgl, through SwiftShader). One JSON request goes to a JS runner on stdin and one JSON
response comes back on stdout; tensor bytes travel base64-encoded. numpy only, no tensorflow.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tfjs_build.errors import TfjsBuildError
from tfjs_build.verify.provision import (  # noqa: F401  (lookups re-exported: tests use them)
    CHROMIUM_ENV,
    NODE_DIR_ENV,
    TFJS_VERSION,
    chromium_path,
    node_modules_dir,
)

JS_DIR = Path(__file__).parent / "js"
NODE_BACKENDS = ("cpu", "wasm")
BROWSER_BACKENDS = ("webgl",)
INT32 = np.iinfo(np.int32)
STOP_GRACE_SECONDS = 10.0


class TfjsRuntimeError(TfjsBuildError):
    """TF.js could not load or run the model; ``js_message`` is TF.js's own error text."""

    def __init__(self, message: str, *, backend: str, stage: str, js_message: str) -> None:
        super().__init__(message)
        self.backend = backend
        self.stage = stage
        self.js_message = js_message


@dataclass(frozen=True)
class TfjsResponse:
    """What one run returned: outputs by key, the backend TF.js really used, and how it ran
    (``execute``, ``executeAsync``, ``predict`` or ``fit``)."""

    outputs: dict[str, np.ndarray]
    backend: str
    mode: str


@dataclass(frozen=True)
class FitResult:
    """One ``model.fit`` step in TF.js: the loss before and after, and the weights after."""

    loss_before: float
    loss_after: float
    weights: dict[str, np.ndarray]


def run_in_tfjs(
    model_dir: Path,
    inputs: dict[str, np.ndarray],
    backend: str,
    *,
    format: str = "graph",
    outputs: list[str] | None = None,
    execute_async: bool | None = None,
    timeout: float = 300.0,
) -> dict[str, np.ndarray]:
    """Outputs of the model in ``model_dir`` on ``backend``, keyed by signature key (graph) or
    output name (layers). ``execute_async=None`` uses ``execute`` and falls back to
    ``executeAsync`` when TF.js reports dynamic ops."""
    request = {"action": "predict", "format": format, "outputs": outputs, "executeAsync": execute_async}
    return run_request(model_dir, inputs, backend, request, timeout=timeout).outputs


def fit_in_tfjs(
    model_dir: Path,
    inputs: dict[str, np.ndarray],
    targets: dict[str, np.ndarray],
    backend: str,
    *,
    loss: str = "meanSquaredError",
    learning_rate: float = 0.01,
    timeout: float = 300.0,
) -> FitResult:
    """Compile a layers model with SGD and ``loss``, run one ``fit`` step on ``inputs``/``targets``
    (keyed by output name) and report the losses and updated weights."""
    fit = {"targets": encode_tensors(targets), "loss": loss, "learningRate": learning_rate}
    request = {"action": "fit_one_step", "format": "layers", "outputs": None, "executeAsync": None, "fit": fit}
    got = dict(run_request(model_dir, inputs, backend, request, timeout=timeout).outputs)
    before, after = got.pop("loss_before"), got.pop("loss_after")
    return FitResult(loss_before=float(before), loss_after=float(after), weights=got)


def time_in_tfjs(
    model_dir: Path,
    inputs: dict[str, np.ndarray],
    backend: str,
    *,
    format: str = "graph",
    warmup: int = 3,
    runs: int = 10,
    timeout: float = 600.0,
) -> list[float]:
    """Milliseconds of each of ``runs`` inferences (outputs read back) after ``warmup`` discarded
    ones (at least one, which also settles execute vs executeAsync), all in one TF.js process."""
    timing = {"warmup": max(1, warmup), "runs": runs}
    request = {"action": "time", "format": format, "outputs": None, "executeAsync": None, "timing": timing}
    times = run_request(model_dir, inputs, backend, request, timeout=timeout).outputs["times_ms"]
    return [float(t) for t in times]


def run_request(
    model_dir: Path, inputs: dict[str, np.ndarray], backend: str, request: dict[str, Any], *, timeout: float
) -> TfjsResponse:
    """The one mechanism behind every single-model entry point: serve, run the JS runner, decode its answer."""
    _check_backend(backend)
    _check_model_json(Path(model_dir), request.get("format", "graph"))
    request = {**request, "inputs": encode_tensors(inputs)}
    response = _exchange({"model": Path(model_dir)}, backend, timeout, lambda base: {
        **request, "modelUrl": f"{base}/model/model.json"})
    return _decode_response(response, model_dir, backend)


def run_batch_in_tfjs(
    models: Sequence[tuple[Path, dict[str, np.ndarray]]], backend: str, *, timeout: float = 600.0
) -> list[dict[str, np.ndarray] | TfjsRuntimeError]:
    """Outputs (or TF.js's error) of each graph model in ``models``, all run by ONE TF.js process.

    Starting node (or Chromium) costs more than running a small model, so differential tests of
    many small patterns (``scripts/gen_fusion_support.py``) batch them here. A model that fails
    does not stop the others: its slot holds the error.
    """
    _check_backend(backend)
    for model_dir, _ in models:
        _check_model_json(Path(model_dir), "graph")
    items = [{"inputs": encode_tensors(inputs)} for _, inputs in models]
    request = {"action": "batch", "format": "graph", "outputs": None, "executeAsync": None}
    mounts = {f"m{i}": Path(model_dir) for i, (model_dir, _) in enumerate(models)}
    response = _exchange(mounts, backend, timeout, lambda base: {
        **request, "items": [{**item, "modelUrl": f"{base}/m{i}/model.json"} for i, item in enumerate(items)]})
    if not response.get("ok"):  # the backend itself failed: every model fails with it
        response = {**response, "results": [response] * len(models)}
    results: list[dict[str, np.ndarray] | TfjsRuntimeError] = []
    for (model_dir, _), item in zip(models, response["results"], strict=False):
        try:
            results.append(_decode_response(item, model_dir, backend).outputs)
        except TfjsRuntimeError as exc:
            results.append(exc)
    if response.get("stopped"):  # the backend broke: go on in a fresh process, from the model that saw it
        # unless it ran first here, it may suffer from an earlier model's damage: it runs again
        keep = len(results) if len(results) == 1 else len(results) - 1
        results = results[:keep] + run_batch_in_tfjs(models[keep:], backend, timeout=timeout)
    return results


def _check_backend(backend: str) -> None:
    if backend not in NODE_BACKENDS + BROWSER_BACKENDS:
        raise TfjsBuildError(f"unknown TF.js backend {backend!r}: expected one of cpu, wasm, webgl")


def _exchange(
    mounts: dict[str, Path], backend: str, timeout: float, request_at: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    """Serve ``mounts`` (+ node_modules and the runner) and run ``request_at(base URL)`` on ``backend``."""
    node_dir = node_modules_dir()
    with _serve({**mounts, "node_modules": node_dir, "runner": JS_DIR}) as base:
        request = {**request_at(base), "backend": backend, "nodeDir": str(node_dir.resolve())}
        if backend in NODE_BACKENDS:
            return _run_node(JS_DIR / "run_model.mjs", request, timeout)
        with tempfile.TemporaryDirectory(prefix="tfjs-chromium-") as profile:
            request |= {"pageUrl": f"{base}/runner/page.html", "chromium": chromium_path(), "userDataDir": profile}
            return _run_node(JS_DIR / "run_webgl.mjs", request, timeout)


def _decode_response(response: dict[str, Any], model_dir: Path, backend: str) -> TfjsResponse:
    if not response.get("ok"):
        stage, js_message = response.get("stage", "?"), response.get("error", "")
        raise TfjsRuntimeError(
            f"{model_dir}: TF.js {TFJS_VERSION} ({backend}) failed to {stage} the model: {js_message}",
            backend=backend,
            stage=stage,
            js_message=js_message,
        )
    broken = [spec for spec in response["outputs"] if not all(isinstance(d, int) for d in spec["shape"])]
    if broken:  # TF.js itself computed a shape it cannot hold (seen: [null, 1] from StridedSlice -> Cumsum)
        shapes = ", ".join(f"{spec['name']} has shape {json.dumps(spec['shape'])}" for spec in broken)
        raise TfjsRuntimeError(f"{model_dir}: TF.js {TFJS_VERSION} ({backend}) returned an invalid output: {shapes}",
                               backend=backend, stage="shape the output of", js_message=f"output {shapes}")
    outputs = {spec["name"]: decode_tensor(spec) for spec in response["outputs"]}
    return TfjsResponse(outputs=outputs, backend=response["backend"], mode=response["mode"])


def _check_model_json(model_dir: Path, format: str) -> None:
    """Catch a graph/layers mix-up here: TF.js's own error for it does not say what is wrong."""
    path = model_dir / "model.json"
    if not path.is_file():
        raise TfjsBuildError(f"{model_dir}: no model.json to run in TF.js; build the model first")
    declared = json.loads(path.read_text(encoding="utf-8")).get("format")
    if declared != f"{format}-model":
        other = declared.removesuffix("-model") if isinstance(declared, str) else None
        hint = f"run it with format={other!r}" if other in ("graph", "layers") else "rebuild the model"
        raise TfjsBuildError(f"{path}: format is {declared!r}, not the {format}-model asked for; {hint}")


# ---------------------------------------------------------------- tensors <-> JSON


def encode_tensors(arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """JSON specs of numpy inputs, narrowed to the dtypes TF.js has (float32, int32, bool, string)."""
    return [_encode_tensor(name, np.asarray(value)) for name, value in arrays.items()]


def _encode_tensor(name: str, array: np.ndarray) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "shape": list(array.shape)}
    kind = array.dtype.kind
    if kind in "SUO":
        items = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in array.reshape(-1).tolist()]
        return spec | {"dtype": "string", "strings": [base64.b64encode(b).decode("ascii") for b in items]}
    if kind in "iu" and array.size and (array.min() < INT32.min or array.max() > INT32.max):
        raise TfjsBuildError(f"input {name!r}: integer values outside int32, which is the only integer dtype TF.js has")
    targets = {"f": ("float32", "<f4"), "i": ("int32", "<i4"), "u": ("int32", "<i4"), "b": ("bool", "u1")}
    if kind not in targets:
        raise TfjsBuildError(f"input {name!r}: dtype {array.dtype} has no TF.js equivalent (float32, int32, bool, string)")
    dtype, np_dtype = targets[kind]
    data = np.ascontiguousarray(array, dtype=np_dtype).tobytes()
    return spec | {"dtype": dtype, "data": base64.b64encode(data).decode("ascii")}


def decode_tensor(spec: dict[str, Any]) -> np.ndarray:
    """A numpy array from a runner's output spec; strings come back as an object array of bytes."""
    shape = tuple(spec["shape"])
    if spec["dtype"] == "string":
        items = [base64.b64decode(s) for s in spec["strings"]]
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape(shape)
    np_dtype = {"float32": "<f4", "int32": "<i4", "bool": "u1"}[spec["dtype"]]
    array = np.frombuffer(base64.b64decode(spec["data"]), dtype=np_dtype).reshape(shape)
    return array.astype(bool) if spec["dtype"] == "bool" else array.astype(np_dtype[1:])


# ---------------------------------------------------------------- processes and serving


def _run_node(script: Path, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        raise TfjsBuildError("TF.js runtime needs node (>= 18) on PATH; install Node.js")
    proc = subprocess.Popen(
        [node, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(json.dumps(request).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise TfjsBuildError(f"TF.js runner {script.name} ({request['backend']}) timed out after {timeout:.0f}s") from None
    except BaseException:  # Ctrl-C reaches only us: node runs in its own session
        _stop(proc)
        raise
    try:
        response: dict[str, Any] = json.loads(stdout)
        return response
    except json.JSONDecodeError:
        tail = stderr.decode("utf-8", "replace").strip()[-2000:]
        raise TfjsBuildError(f"TF.js runner {script.name} exited {proc.returncode} without a result:\n{tail}") from None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM first: puppeteer's handler then closes Chromium, which runs in a process group of
    its own; only if node does not exit, SIGKILL node's own session."""
    proc.terminate()
    try:
        proc.communicate(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


class _MountHandler(SimpleHTTPRequestHandler):
    """Static files from several folders, chosen by the first path segment (/model/, /runner/, ...)."""

    mounts: ClassVar[dict[str, Path]] = {}
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript", ".wasm": "application/wasm"}

    def translate_path(self, path: str) -> str:
        mount, _, rest = path.lstrip("/").partition("/")
        root = self.mounts.get(mount)
        if root is None:
            return ""
        self.directory = str(root)
        return super().translate_path("/" + rest)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a test run must not fill stderr with access logs."""


@contextmanager
def _serve(mounts: dict[str, Path]) -> Iterator[str]:
    """An HTTP server on a random loopback port, in a thread, for the duration of one run."""
    handler = type("Handler", (_MountHandler,), {"mounts": {k: v.resolve() for k, v in mounts.items()}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    # shutdown() waits up to one poll interval: the default 0.5 s was a third of a small run.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), name="tfjs-model-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
