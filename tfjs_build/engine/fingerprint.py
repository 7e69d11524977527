"""Content digests of a model's inputs, and the model fingerprint built from them.

A fingerprint hashes what decides the output and nothing else: the source content
(a file, or every file of a SavedModel tree), metadata files, the accuracy inputs,
``ModelConfig.output_settings()``, ``tfjs_build.CONVERTER_VERSION`` and the measured tables the
converter consults (``CONVERTER_TABLES``: a regenerated one re-converts). Inputs are keyed by
their *role* ("source/variables/variables.index", "metadata/labels"), never by an
absolute path, so moving the project or cloning it elsewhere keeps models fresh.

sha256 is the hash: on this CPU (SHA-NI) hashlib's sha256 runs at ~1.4 GB/s against
~0.75 GB/s for blake2b, and the lock needs sha256 of outputs anyway. Unchanged files
are never re-read thanks to the stat cache (``statcache.py``); files that must be
read are hashed on a thread pool, since hashlib releases the GIL on large buffers.

Each input file's stat signature is kept too, taken before the file is hashed or looked
up, so that the build can prove after a conversion that the converter read what was
fingerprinted (``changed_input``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG
from typing import Any, NamedTuple

import tfjs_build
from tfjs_build.checks.packaged import table_bytes
from tfjs_build.config import ModelConfig
from tfjs_build.engine.source_files import source_files
from tfjs_build.engine.stat_cache import RACY_NS, StatCache
from tfjs_build.errors import SourceError
from tfjs_build.project import READ_ONLY_ERRNOS, ProjectPaths

HASH_NAME = "sha256"
_BUFFER = 1 << 20
FINGERPRINT_FORMAT = 1  # bumped if the fingerprint's own layout changes
# Package data of tfjs_build.checks that decides conversions (which ops are rewritten, fused or refused).
CONVERTER_TABLES = ("op_support.json", "fusion_support.json", "op_defects.json")


def open_stat_cache(paths: ProjectPaths) -> StatCache:
    """The project's stat cache. In a read-only project it lives in memory: every file is hashed, nothing kept."""
    try:
        paths.ensure_state_dir()
    except OSError as exc:
        if exc.errno not in READ_ONLY_ERRNOS:
            raise  # a file where .tfjs-build/ goes: the user should hear of it
    return StatCache(paths.stat_cache, HASH_NAME)


def hash_file(path: Path) -> str:
    """Hex digest of one file, read in 1 MiB blocks into one reused buffer.

    Opened without blocking and checked to be a regular file first: a FIFO put where a file was
    (after it was listed) would otherwise block the read forever."""
    digest = hashlib.new(HASH_NAME)
    buffer = bytearray(_BUFFER)
    view = memoryview(buffer)
    with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb", buffering=0) as handle:
        if not S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise SourceError(f"{path}: not a regular file (a FIFO or device?); replace it with the file it should be")
        while count := handle.readinto(buffer):
            digest.update(view[:count])
    return digest.hexdigest()


def list_files(folder: Path) -> list[str]:
    """Every file below ``folder`` (a built output: sources go through ``source_files``), as sorted
    "/"-separated relative paths."""
    found: list[str] = []
    for parent, _, names in os.walk(folder):
        found.extend((Path(parent) / name).relative_to(folder).as_posix() for name in names)
    return sorted(found)


def hash_json(data: Any) -> str:
    """Digest of canonical JSON (sorted keys, no spaces): equal data, equal digest."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.new(HASH_NAME, text.encode("utf-8")).hexdigest()


# st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns: utime can set mtime back, but not ctime, so any
# write, truncate or rename over the file changes this, even one that restores the old bytes.
Signature = tuple[int, int, int, int, int]


class Stamp(NamedTuple):
    """A file's signature when it was fingerprinted. ``racy``: its ctime was too recent to trust, since a
    second write within the same timestamp tick leaves the signature as it was; such a file is re-hashed."""

    signature: Signature
    racy: bool


def signature(stat: os.stat_result) -> Signature:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def stamp_and_digest_files(paths: Iterable[Path], stats: StatCache) -> tuple[dict[Path, str], dict[Path, Stamp]]:
    """Digest of each path (from the stat cache when its stat is unchanged, else hashed in parallel), and its stamp,
    taken from the very stat the digest was looked up or hashed by."""
    stamps: dict[Path, Stamp] = {}
    stated: list[tuple[Path, os.stat_result]] = []
    for path in paths:
        looked_ns = time.time_ns()
        try:
            stat = path.stat()
        except OSError as exc:
            raise SourceError(f"{path}: cannot read: {exc.strerror}") from None
        stamps[path] = Stamp(signature(stat), racy=stat.st_ctime_ns > looked_ns - RACY_NS)
        stated.append((path, stat))
    return digest_stated(stated, stats), stamps


def digest_stated(stated: list[tuple[Path, os.stat_result]], stats: StatCache) -> dict[Path, str]:
    """The digests of files already stat-ed by the caller (a folder scan: one stat per file in all)."""
    digests: dict[Path, str] = {}
    misses: list[tuple[Path, os.stat_result]] = []
    for path, stat in stated:
        known = stats.lookup(path, stat)
        if known is None:
            misses.append((path, stat))
        else:
            digests[path] = known
    # Largest first, so one big file started last does not leave a core idle.
    misses.sort(key=lambda item: -item[1].st_size)
    for (path, stat), digest in zip(misses, _hash_all([path for path, _ in misses]), strict=True):
        stats.record(path, stat, digest)
        digests[path] = digest
    return digests


def _hash_all(paths: list[Path]) -> list[str]:
    workers = min(len(paths), os.cpu_count() or 1)
    if workers <= 1:
        return [hash_file(path) for path in paths]
    from concurrent.futures import ThreadPoolExecutor  # only when there is hashing to do

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(hash_file, paths))


# ---------------------------------------------------------------- model inputs


@dataclass(frozen=True)
class ModelInputs:
    """What a model's output depends on: role -> digest (stored in the lock), and the fingerprint."""

    model: str
    digests: dict[str, str]  # "source", "source/<rel>", "metadata/<key>", "accuracy.inputs"
    fingerprint: str
    # Each local input file's stamp, for ``changed_input``: read by the build process only, not part of the
    # model's identity (a copy of the project has other inodes but the same fingerprint).
    stamps: dict[Path, Stamp] = field(default_factory=dict, compare=False, repr=False)


def input_paths(model: ModelConfig, root: Path) -> list[tuple[str, Path]]:
    """(role, absolute path) of every local file the model depends on, in a stable order (``root``: the project,
    which links in a SavedModel folder may not leave)."""
    found: list[tuple[str, Path]] = []
    if model.source_path is not None:
        found.extend(_source_files(model, model.source_path, root))
    found.extend((f"metadata/{key}", path) for key, path in model.metadata)
    if model.accuracy.inputs is not None:
        found.append(("accuracy.inputs", model.accuracy.inputs))
    return found


def _source_files(model: ModelConfig, source: Path, root: Path) -> list[tuple[str, Path]]:
    if source.is_file():
        return [("source", source)]
    if not source.is_dir():
        state = "is not a regular file or folder (a FIFO or device?)" if source.exists() else "no longer exists"
        raise SourceError(f"{model.where('source')}: {source} {state}; restore it or fix the path in tfjs.yaml")
    return [(f"source/{rel}", source / rel) for rel in source_files(model, source, root)]


def model_inputs(models: Iterable[ModelConfig], stats: StatCache, root: Path) -> dict[str, ModelInputs]:
    """Inputs and fingerprint of each model of the project in ``root``; every file is hashed at most once, all
    in one pool."""
    models = list(models)
    listed = {model.name: input_paths(model, root) for model in models}
    digests, stamps = stamp_and_digest_files(sorted({path for files in listed.values() for _, path in files}), stats)
    result = {}
    for model in models:
        roles = {role: digests[path] for role, path in listed[model.name]}
        if model.source_url is not None:  # its download is checked against this sha256 before it is converted
            roles["source"] = model.sha256 or ""
        own_stamps = {path: stamps[path] for _, path in listed[model.name]}
        result[model.name] = ModelInputs(model.name, roles, fingerprint(model, roles), own_stamps)
    return result


def changed_input(model: ModelConfig, inputs: ModelInputs, root: Path) -> Path | None:
    """The first of ``model``'s input files that is no longer as ``inputs`` fingerprinted it, or None.

    Lists the inputs again, so a file added to or removed from a SavedModel folder counts, and
    re-stats each one; only the files whose stamp was racy are read again."""
    try:
        listed = input_paths(model, root)
    except SourceError:  # the source itself is gone or is no longer a file or folder
        return model.source_path
    racy: list[tuple[str, Path]] = []
    for role, path in listed:
        stamp = inputs.stamps.get(path)
        if stamp is None or _signature_differs(path, stamp):
            return path
        if stamp.racy:
            racy.append((role, path))
    gone = inputs.stamps.keys() - {path for _, path in listed}
    if gone:
        return min(gone)
    return _first_rehash_mismatch(racy, inputs.digests)


def _signature_differs(path: Path, stamp: Stamp) -> bool:
    """A stat failing counts as a change: the file was removed or replaced since it was listed."""
    try:
        return signature(path.stat()) != stamp.signature
    except OSError:
        return True


def _first_rehash_mismatch(files: list[tuple[str, Path]], digests: dict[str, str]) -> Path | None:
    """Re-hash files whose stat cannot vouch for them (all in one pool, as planning hashed them)."""
    try:
        rehashed = _hash_all([path for _, path in files])
    except OSError:  # one of them vanished meanwhile; say which
        return next((path for _, path in files if not path.is_file()), files[0][1])
    return next((path for (role, path), digest in zip(files, rehashed, strict=True) if digest != digests.get(role)), None)


@lru_cache(maxsize=1)
def converter_tables() -> str:
    """One digest of ``CONVERTER_TABLES`` (under 60 KB, read once per process)."""
    digest = hashlib.new(HASH_NAME)
    for name in CONVERTER_TABLES:
        data = table_bytes(name)
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def fingerprint(model: ModelConfig, roles: dict[str, str]) -> str:
    return hash_json({
        "format": FINGERPRINT_FORMAT,
        "converter": tfjs_build.CONVERTER_VERSION,
        "tables": converter_tables(),
        "settings": model.output_settings(),
        "inputs": roles,
    })
