"""Fetch a URL model source into the cache: download, verify sha256, extract safely.

Archives come from the internet, so extraction trusts nothing: absolute paths, ``..``
components, links that resolve outside the folder and device files are refused with
the offending member named (tar via the stdlib ``data`` filter, zip checked here).
Downloads and extractions are keyed by the pinned sha256 and renamed into place only
when complete, so an interrupted build never leaves a half archive that looks valid.
Extraction is bounded while it runs (bytes actually written and members, not what
headers claim): a small archive cannot fill the disk or the cache.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import requests

from tfjs_build.config import ModelConfig
from tfjs_build.engine.fingerprint import hash_file
from tfjs_build.errors import SourceError
from tfjs_build.sources.detect import KERAS_SUFFIXES, detect_input_format, keras_file_problem
from tfjs_build.util.atomic import atomic_path

CHUNK = 1 << 20
TIMEOUT = (15.0, 120.0)  # connect, read (seconds)
# Model weights compress poorly (float32 noise: about 1.1x), so a ratio far beyond that is a bomb.
MAX_EXPANSION = 100  # extracted bytes per archive byte...
MIN_EXTRACT_LIMIT = 64 << 20  # ...but a small archive may always expand to this much
MAX_MEMBERS = 100_000


class _ExtractBudget:
    """What an archive may still write; refuses (naming the archive and the limit) once it is spent."""

    def __init__(self, model: ModelConfig, archive: Path) -> None:
        self.model = model
        self.limit = max(MAX_EXPANSION * archive.stat().st_size, MIN_EXTRACT_LIMIT)
        self.written = 0
        self.members = 0

    def member(self, name: str) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise self._refusal(f"holds more than {MAX_MEMBERS:,} members (at {name!r})")

    def data(self, count: int) -> None:
        self.written += count
        if self.written > self.limit:
            raise self._refusal(f"expands to more than {self.limit:,} bytes")

    def _refusal(self, what: str) -> SourceError:
        return SourceError(
            f"{self.model.where('source')}: refusing to extract {self.model.source_url}: it {what}; an archive may "
            f"expand to {MAX_EXPANSION}x its size (at least {MIN_EXTRACT_LIMIT >> 20} MiB) and hold "
            f"{MAX_MEMBERS:,} members; check that the URL points at the model archive you meant"
        )


def local_source(model: ModelConfig, cache_dir: Path) -> Path:
    """What a converter reads: the configured local path, or the URL source fetched into ``cache_dir``.

    A Keras file is checked here, before TensorFlow starts: Keras reports a truncated or misnamed file
    as "file not found"."""
    source = model.source_path if model.source_path is not None else fetch_source(model, cache_dir)
    if source.is_file() and source.suffix.lower() in KERAS_SUFFIXES and (problem := keras_file_problem(source)):
        raise SourceError(f"{model.where('source')}: {source}: {problem}")
    return source


def fetch_source(model: ModelConfig, cache_dir: Path) -> Path:
    """The local path of ``model``'s URL source, downloaded and extracted under ``cache_dir``."""
    if not model.source_url or not model.sha256:
        raise ValueError(f"model {model.name!r} has no URL source")
    archive = _download(model, model.source_url, cache_dir / "downloads")
    root = cache_dir / "sources" / model.sha256
    if not root.is_dir():
        _extract(model, archive, root)
    source = _source_in(root)
    if model.input_format == "auto":
        kind, found = detect_input_format(source)
        if kind is None:
            raise SourceError(
                f"{model.where('source')}: cannot tell the input format of the archive's content: found {found}; "
                "set `input_format:` or point the URL at an archive of a SavedModel, Keras file or frozen graph"
            )
    return source


# ---------------------------------------------------------------- download


def _download(model: ModelConfig, url: str, folder: Path) -> Path:
    name = PurePosixPath(url.split("?")[0]).name
    suffix = ".zip" if name.endswith(".zip") else ".tar.gz"
    target = folder / f"{model.sha256}{suffix}"
    if target.is_file() and hash_file(target) == model.sha256:
        return target
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            digest = _stream(model, url, handle)
        if digest != model.sha256:
            raise SourceError(
                f"{model.where('sha256')}: {model.source_url} has sha256 {digest}, expected {model.sha256}; "
                "if the file changed on purpose, update `sha256:` (sha256sum of the archive)"
            )
    return target


def _stream(model: ModelConfig, url: str, handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=TIMEOUT) as response:
            response.raise_for_status()
            for chunk in response.iter_content(CHUNK):
                digest.update(chunk)
                handle.write(chunk)
    except requests.RequestException as exc:
        raise SourceError(
            f"{model.where('source')}: cannot download {model.source_url}: {exc}; "
            "check the URL and your network (downloads are cached after the first success)"
        ) from None
    return digest.hexdigest()


# ---------------------------------------------------------------- extraction


def _extract(model: ModelConfig, archive: Path, root: Path) -> None:
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}-"))
    try:
        if archive.name.endswith(".zip"):
            _extract_zip(model, archive, tmp)
        else:
            _extract_tar(model, archive, tmp)
        os.replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _refuse(model: ModelConfig, member: str, why: str) -> SourceError:
    return SourceError(
        f"{model.where('source')}: refusing to extract {model.source_url}: member {member!r} {why}; "
        "archives must only hold plain files and folders below their root"
    )


def _extract_tar(model: ModelConfig, archive: Path, dest: Path) -> None:
    budget = _ExtractBudget(model, archive)

    def bounded(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
        """The stdlib data filter, counting members and bytes (a tar member writes exactly its size)."""
        member = tarfile.data_filter(member, path)
        budget.member(member.name)
        budget.data(member.size if member.isfile() else 0)
        return member

    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:  # the data filter would silently strip a leading "/"
                budget.member(member.name)
                if member.name.startswith(("/", "\\")):
                    raise _refuse(model, member.name, "has an absolute path")
            budget.members = 0
            tar.extractall(dest, filter=bounded)
    except tarfile.FilterError as exc:
        name = exc.tarinfo.name if exc.tarinfo is not None else "?"
        raise _refuse(model, name, _filter_reason(exc)) from None
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as exc:  # not disk faults: those are OSError
        raise SourceError(
            f"{model.where('source')}: {model.source_url} is not a readable .tar.gz archive "
            f"({str(exc).splitlines()[0].rstrip(':')}); point `source:` at a .tar.gz of the model and update `sha256:`"
        ) from None


def _filter_reason(exc: tarfile.FilterError) -> str:
    reasons = {
        tarfile.AbsolutePathError: "has an absolute path",
        tarfile.OutsideDestinationError: "would be written outside the folder (..)",
        tarfile.SpecialFileError: "is a device file, FIFO or other special file",
        tarfile.AbsoluteLinkError: "is a link to an absolute path",
        tarfile.LinkOutsideDestinationError: "is a link that leads outside the folder",
    }
    return next((text for kind, text in reasons.items() if isinstance(exc, kind)), str(exc))


def _extract_zip(model: ModelConfig, archive: Path, dest: Path) -> None:
    budget = _ExtractBudget(model, archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                budget.member(info.filename)
                _check_zip_member(model, info)
            for info in zf.infolist():
                _write_zip_member(zf, info, dest, budget)
    except zipfile.BadZipFile as exc:
        raise SourceError(
            f"{model.where('source')}: {model.source_url} is not a readable .zip archive ({exc}); "
            "point `source:` at a .zip of the model and update `sha256:`"
        ) from None


def _write_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, budget: _ExtractBudget) -> None:
    """Copy one checked member, counting the bytes really inflated (a header's file_size can lie)."""
    target = dest / info.filename.replace("\\", "/")
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(info) as source, open(target, "wb") as out:
        while block := source.read(CHUNK):
            budget.data(len(block))
            out.write(block)


def _check_zip_member(model: ModelConfig, info: zipfile.ZipInfo) -> None:
    name = info.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise _refuse(model, name, "has an absolute path")
    if ".." in path.parts:
        raise _refuse(model, name, "would be written outside the folder (..)")
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver stored no Unix type
    if kind == stat.S_IFLNK:
        raise _refuse(model, name, "is a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _refuse(model, name, "is a device file, FIFO or other special file")


def _source_in(root: Path) -> Path:
    """Descend into a single top-level folder; a folder holding one model file is that file."""
    entries = [p for p in root.iterdir() if p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir():
        root = entries[0]
        entries = list(root.iterdir())
    if len(entries) == 1 and entries[0].is_file():
        return entries[0]
    return root
