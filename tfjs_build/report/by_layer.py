"""Where the bytes go, by layer: a layer is a weight name up to its last '/' (``dense/kernel`` -> ``dense``).

Weights come from the lock's ``weights`` list, so the base ref's layers are as cheap to
read as the current ones, and a PR report can say which layers grew.
"""

from __future__ import annotations

from collections import defaultdict

from tfjs_build.engine.lockfile import LockedWeight

Weights = tuple[LockedWeight, ...]  # manifest order


def layer_of(weight: str) -> str:
    return weight.rpartition("/")[0] or weight


def layer_bytes(weights: Weights) -> list[tuple[str, str, int]]:
    """(layer, its stored dtypes joined by ',', bytes), heaviest first, ties by name."""
    sizes: dict[str, int] = defaultdict(int)
    dtypes: dict[str, set[str]] = defaultdict(set)
    for name, dtype, nbytes in weights:
        sizes[layer_of(name)] += nbytes
        dtypes[layer_of(name)].add(dtype)
    ranked = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))
    return [(layer, ",".join(sorted(dtypes[layer])), size) for layer, size in ranked]


def layer_changes(weights: Weights, base: Weights) -> list[tuple[str, int, int]]:
    """(layer, bytes before, bytes after) for layers whose bytes changed, biggest change first."""
    after = {layer: size for layer, _, size in layer_bytes(weights)}
    before = {layer: size for layer, _, size in layer_bytes(base)}
    moved = [(layer, before.get(layer, 0), after.get(layer, 0)) for layer in after.keys() | before.keys()]
    changed = [item for item in moved if item[1] != item[2]]
    return sorted(changed, key=lambda item: (-abs(item[2] - item[1]), item[0]))
