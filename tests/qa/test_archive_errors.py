"""A pinned URL archive that is not a readable archive (truncated, corrupt, not an archive at all) is a source
error naming the tfjs.yaml line, with the fix; the archive is taken from the download cache, as on a rebuild."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from tfjs_build.config import load_config
from tfjs_build.errors import SourceError
from tfjs_build.sources.download import fetch_source


def _tar_gz() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = bytes(range(256)) * 64
        info = tarfile.TarInfo("model/saved_model.pb")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _corrupt(data: bytes) -> bytes:
    return data[:-100] + bytes(8) + data[-92:]  # late in the deflate stream: gzip's CRC check catches it


@pytest.mark.parametrize(("make", "detail"), [
    (lambda: _tar_gz()[:-200], "Compressed file ended before the end-of-stream marker"),
    (lambda: _corrupt(_tar_gz()), "CRC check failed"),
    (lambda: b"<html>Sign in</html>", "could not be opened successfully"),
])
def test_unreadable_archive(tmp_path: Path, make, detail: str) -> None:
    data = make()
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "tfjs.yaml").write_text(
        f"version: 1\nmodels:\n  remote:\n    source: https://example.com/m.tar.gz\n    sha256: \"{sha}\"\n",
        encoding="utf-8",
    )
    cache = tmp_path / "cache"
    (cache / "downloads").mkdir(parents=True)
    (cache / "downloads" / f"{sha}.tar.gz").write_bytes(data)
    with pytest.raises(SourceError) as caught:
        fetch_source(load_config(tmp_path / "tfjs.yaml").model("remote"), cache)
    message = str(caught.value)
    assert "tfjs.yaml:4:13: models.remote.source: https://example.com/m.tar.gz is not a readable" in message
    assert detail in message and "\n" not in message
    assert message.endswith("point `source:` at a .tar.gz of the model and update `sha256:`")
