"""``publish --prune KEEP``: remove a model's versions beyond the newest KEEP from an object store.

Kept: the newest KEEP versions of the index (history.py) and, whatever KEEP says, the one
``latest.json`` names. Every other version goes, with every object no kept version uses:
shards a kept version shares stay. Deletion order keeps every kept version loadable at every
moment, and never shows a removed version half-gone: first each removed version's model.json
(after which nothing points at its shards), then the objects only removed versions used, and
last the index, rewritten without them (a prune interrupted before that finds the same
versions again and deletes what is left; a key already gone is fine).
"""

from __future__ import annotations

from tfjs_build.publish.base import Log, ObjectStore, Pruned, put_if_changed
from tfjs_build.publish.history import current_version, read_history
from tfjs_build.publish.layout import INDEX, Version, index_bytes


def prune_store(store: ObjectStore, prefix: str, model: str, keep: int, *, dry_run: bool, log: Log) -> Pruned:
    base = f"{prefix}{model}/"
    history = read_history(store, base)
    current = current_version(store, base)
    kept = _kept(history.versions, current, keep)
    kept_digests = {v.digest for v in kept}
    removed = [v for v in history.versions if v.digest not in kept_digests]
    result = Pruned(model, [v.digest for v in kept], [v.digest for v in removed])
    sizes = {f.key: f.size for v in removed for f in v.files}
    for key in deletion_order(removed, kept):
        result.deleted.append(base + key)
        result.freed_bytes += sizes[key]
        if not dry_run:
            store.delete(base + key)
        log(f"  {'would delete' if dry_run else '-'} {store.url(base + key)} ({sizes[key]} bytes)")
    if not dry_run and (removed or history.raw is not None):  # a model never published gets no index
        put_if_changed(store, base + INDEX, index_bytes(model, kept), history.raw, log)
    return result


def _kept(versions: list[Version], current: Version | None, keep: int) -> list[Version]:
    """The newest ``keep`` versions plus the current one, oldest first."""
    digests = {v.digest for v in versions[-keep:]} | ({current.digest} if current else set())
    kept = [v for v in versions if v.digest in digests]
    if current is not None and current.digest not in {v.digest for v in versions}:
        kept.append(current)  # named by latest.json but missing from the index: kept, and indexed again
    return kept


def deletion_order(removed: list[Version], kept: list[Version]) -> list[str]:
    """Keys to delete: removed versions' model.json files first, then what only removed versions use."""
    in_use = set().union(*(v.keys for v in kept))
    order = [v.model_json for v in removed] + [f.key for v in removed for f in v.files]
    return [key for key in dict.fromkeys(order) if key not in in_use]
