"""fetch_source against a real HTTPS server on 127.0.0.1 (self-signed certificate, trusted via
REQUESTS_CA_BUNDLE): download, sha256 check, cache reuse, and refusal of unsafe archives."""

from __future__ import annotations

import hashlib
import io
import json
import ssl
import subprocess
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tfjs_build.config import ModelConfig, load_config
from tfjs_build.errors import SourceError
from tfjs_build.sources import download
from tfjs_build.sources.download import fetch_source


class _Server:
    """Serves ``files`` (URL path -> bytes) and counts requests per path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: dict[str, int] = {}
        self.base = ""


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    state = _Server()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            state.hits[self.path] = state.hits.get(self.path, 0) + 1
            body = state.files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.base = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        yield state
    server.shutdown()
    server.server_close()


def _model(tmp_path: Path, url: str, sha: str) -> ModelConfig:
    (tmp_path / "tfjs.yaml").write_text(
        f"version: 1\nmodels:\n  remote:\n    source: {url}\n    sha256: \"{sha}\"\n", encoding="utf-8"
    )
    return load_config(tmp_path / "tfjs.yaml").model("remote")


def _publish(server: _Server, name: str, data: bytes) -> tuple[str, str]:
    server.files[f"/{name}"] = data
    return f"{server.base}/{name}", hashlib.sha256(data).hexdigest()


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    return info


def _zip(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_downloads_verifies_extracts_and_reuses_the_cache(https: _Server, tmp_path: Path) -> None:
    data = _tar([(_entry("mobilenet/saved_model.pb"), b"graph"), (_entry("mobilenet/variables/v.index"), b"i")])
    url, sha = _publish(https, "mobilenet.tar.gz", data)
    model = _model(tmp_path, url, sha)
    source = fetch_source(model, tmp_path / "cache")
    assert source == tmp_path / "cache" / "sources" / sha / "mobilenet"  # single top folder descended
    assert (source / "saved_model.pb").read_bytes() == b"graph"
    assert fetch_source(model, tmp_path / "cache") == source
    assert https.hits["/mobilenet.tar.gz"] == 1  # the second call used the cache


def test_a_zip_holding_one_model_file_gives_that_file(https: _Server, tmp_path: Path) -> None:
    url, sha = _publish(https, "net.zip", _zip({"net.keras": b"keras zip"}))
    source = fetch_source(_model(tmp_path, url, sha), tmp_path / "cache")
    assert source.name == "net.keras" and source.read_bytes() == b"keras zip"


def test_wrong_sha256_is_refused_and_nothing_is_kept(https: _Server, tmp_path: Path) -> None:
    url, sha = _publish(https, "changed.tar.gz", _tar([(_entry("saved_model.pb"), b"x")]))
    wrong = "0" * 64
    with pytest.raises(SourceError) as info:
        fetch_source(_model(tmp_path, url, wrong), tmp_path / "cache")
    message = str(info.value)
    assert "tfjs.yaml:5:" in message and "models.remote.sha256" in message
    assert f"has sha256 {sha}, expected {wrong}" in message
    assert not list((tmp_path / "cache" / "downloads").iterdir())


def test_http_errors_name_the_url(https: _Server, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"models.remote.source: cannot download .*missing.tar.gz.*404"):
        fetch_source(_model(tmp_path, f"{https.base}/missing.tar.gz", "1" * 64), tmp_path / "cache")


@pytest.mark.parametrize(
    ("member", "why"),
    [
        (_entry("../evil.txt"), "outside the folder"),
        (_entry("/etc/evil.txt"), "absolute path"),
        (_entry("model/link", tarfile.SYMTYPE, "../../../etc/passwd"), "link that leads outside"),
        (_entry("model/abs", tarfile.SYMTYPE, "/etc/passwd"), "link to an absolute path"),
        (_entry("model/tty", tarfile.CHRTYPE), "device file"),
    ],
    ids=["dotdot", "absolute", "symlink-escape", "symlink-absolute", "device"],
)
def test_unsafe_tar_members_are_refused(https: _Server, tmp_path: Path, member: tarfile.TarInfo, why: str) -> None:
    data = _tar([(_entry("model/saved_model.pb"), b"ok"), (member, b"bad")])
    url, sha = _publish(https, f"unsafe-{hashlib.md5(data).hexdigest()}.tar.gz", data)
    with pytest.raises(SourceError) as info:
        fetch_source(_model(tmp_path, url, sha), tmp_path / "cache")
    assert f"member {member.name!r}" in str(info.value) and why in str(info.value)
    assert not (tmp_path / "cache" / "sources" / sha).exists()
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "cache" / "evil.txt").exists()


@pytest.mark.parametrize(
    ("members", "symlink", "why"),
    [
        ({"../evil.txt": b"x"}, None, "outside the folder"),
        ({"/abs.txt": b"x"}, None, "absolute path"),
        ({"saved_model.pb": b"x"}, "link", "symbolic link"),
    ],
    ids=["dotdot", "absolute", "symlink"],
)
def test_unsafe_zip_members_are_refused(
    https: _Server, tmp_path: Path, members: dict[str, bytes], symlink: str | None, why: str
) -> None:
    data = _zip(members, symlink)
    url, sha = _publish(https, f"unsafe-{hashlib.md5(data).hexdigest()}.zip", data)
    with pytest.raises(SourceError, match=why):
        fetch_source(_model(tmp_path, url, sha), tmp_path / "cache")
    assert not (tmp_path / "cache" / "sources" / sha).exists()


def test_an_archive_without_a_model_asks_for_input_format(https: _Server, tmp_path: Path) -> None:
    url, sha = _publish(https, "docs.tar.gz", _tar([(_entry("docs/readme.txt"), b"hi"), (_entry("docs/b.txt"), b"")]))
    with pytest.raises(SourceError, match="cannot tell the input format .* set `input_format:`"):
        fetch_source(_model(tmp_path, url, sha), tmp_path / "cache")


@pytest.mark.slow
def test_a_downloaded_saved_model_converts_with_input_format_auto(https: _Server, tmp_path: Path) -> None:
    import tensorflow as tf

    from tfjs_build.convert import convert_model

    class Double(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def __call__(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"y": x * 2.0}

    module = Double()
    tf.saved_model.save(module, str(tmp_path / "double"), signatures=module.__call__.get_concrete_function())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "double", arcname="double")
    url, sha = _publish(https, "double.tar.gz", buffer.getvalue())
    model = _model(tmp_path, url, sha)
    assert model.input_format == "auto"
    source = fetch_source(model, tmp_path / "cache")
    out = tmp_path / "out"
    out.mkdir()
    result = convert_model(model, source, out, tmp_path / "work")
    signature = json.loads((out / "model.json").read_text(encoding="utf-8"))["signature"]
    assert list(signature["inputs"]) == ["x"] and list(signature["outputs"]) == ["y"]
    assert "Mul" in result.ops


def _zip_deflated(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_an_archive_that_expands_too_far_is_refused_and_nothing_is_kept(
    https: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setattr(download, "MIN_EXTRACT_LIMIT", 1 << 20)
    bomb = bytes(8 << 20)  # 8 MiB of zeros: a few kB compressed, far past 100x
    data = _tar([(_entry("saved_model.pb"), bomb)]) if kind == "tar.gz" else _zip_deflated({"saved_model.pb": bomb})
    url, sha = _publish(https, f"bomb.{kind}", data)
    with pytest.raises(SourceError, match=r"refusing to extract .*bomb.* it expands to more than 1,048,576 bytes; an "
                                          r"archive may expand to 100x its size"):
        fetch_source(_model(tmp_path, url, sha), tmp_path / "cache")
    assert not list((tmp_path / "cache" / "sources").iterdir())  # no partial extraction stays in the cache


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_an_archive_with_too_many_members_is_refused(
    https: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setattr(download, "MAX_MEMBERS", 10)
    files = {f"m/{i}.txt": b"x" for i in range(11)}
    data = _tar([(_entry(n), d) for n, d in files.items()]) if kind == "tar.gz" else _zip_deflated(files)
    url, sha = _publish(https, f"many.{kind}", data)
    with pytest.raises(SourceError, match=r"it holds more than 10 members"):
        fetch_source(_model(tmp_path, url, sha), tmp_path / "cache")
