"""Shape, layout and window op cases of scripts/gen_op_defects.py (and the random helpers every case
uses): each generator draws one random instance, its inputs and the TF function of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tfjs_build.verify.cases import Sample, raw_op

Rng = np.random.Generator
Generator = Callable[[Rng], Sample]

def random_shape(rng: Rng, low_rank: int = 1, high_rank: int = 4) -> list[int]:
    return [int(d) for d in rng.integers(1, 5, size=int(rng.integers(low_rank, high_rank + 1)))]

def floats(rng: Rng, shape: Sequence[int], low: float = -3, high: float = 3) -> np.ndarray:
    return rng.uniform(low, high, size=shape).astype(np.float32)

def const(value: Any, dtype: str = "int32") -> Any:
    import tensorflow as tf

    return tf.constant(np.asarray(value, dtype=dtype))

def ints(rng: Rng, *ranges: tuple[int, int]) -> list[int]:
    return [int(rng.integers(low, high + 1)) for low, high in ranges]

def reduced_shape(rng: Rng, shape: Sequence[int]) -> list[int]:
    """A shape that broadcasts to ``shape``: a suffix of it with some dims set to 1."""
    return [1 if rng.random() < 0.3 else d for d in shape][int(rng.integers(0, len(shape))):]

STRIDED_SLICES = ("positive strides", "negative strides", "begin_mask and end_mask", "shrink_axis_mask",
                  "begin or end out of range", "negative strides, begin out of range")

def strided_slice(variant: str) -> Generator:
    """StridedSlice, one kind of spec per variant (so a defect names what triggers it)."""
    def make(rng: Rng) -> Sample:
        shape = random_shape(rng)
        begin, end, strides, masks = [], [], [], {"begin_mask": 0, "end_mask": 0, "shrink_axis_mask": 0}
        for i, d in enumerate(shape):
            lo, hi = sorted(int(v) for v in rng.integers(0, d + 1, size=2))
            if variant.startswith("negative strides"):  # TF clamps a begin past the end to the last element
                first = hi + int(rng.integers(1, 3)) if variant.endswith("out of range") else min(hi, d - 1)
                begin.append(first), end.append(lo - 1 if lo > 0 else -d - 1), strides.append(-1)
                continue
            if variant == "begin or end out of range":
                lo, hi = lo - int(rng.integers(0, 3)) - d, hi + int(rng.integers(0, 3))
            begin.append(lo), end.append(hi), strides.append(int(rng.integers(1, 3)))
            if variant == "begin_mask and end_mask":
                masks["begin_mask"] |= int(rng.integers(0, 2)) << i
                masks["end_mask"] |= int(rng.integers(0, 2)) << i
            if variant == "shrink_axis_mask" and rng.random() < 0.5:
                begin[i], end[i], strides[i] = int(rng.integers(-d, d)), 0, 1
                masks["shrink_axis_mask"] |= 1 << i
        return [floats(rng, shape)], lambda t: raw_op("StridedSlice", t, const(begin), const(end), const(strides), **masks)
    return make

def slice_then_cumsum(rng: Rng) -> Sample:
    """The chain issue 10 saw go wrong ([null, 1] instead of [1, 10]): a StridedSlice feeding a Cumsum
    over its last axis (``Cumsum (axis < 0)`` alone shows what is to blame)."""
    rows, cols = ints(rng, (2, 4), (3, 12))
    axis = -1
    x = floats(rng, [rows, cols])
    return [x], lambda t: raw_op("Cumsum", raw_op("StridedSlice", t, const([0, 0]), const([1, 0]), const([1, 1]),
                                                  end_mask=2), const(axis))

def transpose(rng: Rng) -> Sample:
    shape = random_shape(rng, 2, 5)
    perm = [int(p) for p in rng.permutation(len(shape))]
    return [floats(rng, shape)], lambda t: raw_op("Transpose", t, const(perm))

def reshape(rng: Rng) -> Sample:
    shape = random_shape(rng, 1, 4)
    target = [int(np.prod(shape))]
    if target[0] % 2 == 0 and rng.random() < 0.7:
        target = [2, -1] if rng.random() < 0.5 else [-1, 2]
    return [floats(rng, shape)], lambda t: raw_op("Reshape", t, const(target))

def tile(rng: Rng) -> Sample:
    shape = random_shape(rng)
    multiples = [int(m) for m in rng.integers(1, 4, size=len(shape))]
    return [floats(rng, shape)], lambda t: raw_op("Tile", t, const(multiples))

def pad(op: str) -> Generator:
    def make(rng: Rng) -> Sample:
        shape = [int(d) for d in rng.integers(2, 5, size=int(rng.integers(1, 5)))]
        limit = {"MirrorPad": 1}.get(op, 3)
        pads = [[int(v) for v in rng.integers(0, limit + 1, size=2)] for _ in shape]
        attrs = {"mode": str(rng.choice(["REFLECT", "SYMMETRIC"]))} if op == "MirrorPad" else {}
        extra = [const(np.float32(rng.normal()), "float32")] if op == "PadV2" else []
        return [floats(rng, shape)], lambda t: raw_op(op, t, const(pads), *extra, **attrs)
    return make

def concat(rng: Rng) -> Sample:
    shape = random_shape(rng)
    axis = int(rng.integers(-len(shape), len(shape)))
    parts = []
    for _ in range(int(rng.integers(2, 4))):
        part = list(shape)
        part[axis] = int(rng.integers(1, 4))
        parts.append(floats(rng, part))
    return parts, lambda *ts: raw_op("ConcatV2", list(ts), const(axis))

def pack(rng: Rng) -> Sample:
    shape = random_shape(rng, 0, 3)
    axis = int(rng.integers(-len(shape) - 1, len(shape) + 1))
    parts = [floats(rng, shape) for _ in range(int(rng.integers(2, 4)))]
    return parts, lambda *ts: raw_op("Pack", list(ts), axis=axis)

def gather(rng: Rng) -> Sample:
    shape = random_shape(rng, 1, 4)
    axis = int(rng.integers(0, len(shape)))
    indices = rng.integers(0, shape[axis], size=random_shape(rng, 0, 2)).astype(np.int32)
    return [floats(rng, shape), indices], lambda t, i: raw_op("GatherV2", t, i, const(axis))

def gather_nd(rng: Rng) -> Sample:
    shape = random_shape(rng, 1, 4)
    depth = int(rng.integers(1, len(shape) + 1))
    count = random_shape(rng, 1, 2)
    indices = np.stack([rng.integers(0, shape[k], size=count) for k in range(depth)], axis=-1).astype(np.int32)
    return [floats(rng, shape), indices], lambda t, i: raw_op("GatherNd", t, i)

def split(op: str) -> Generator:
    def make(rng: Rng) -> Sample:
        shape = random_shape(rng)
        axis = int(rng.integers(0, len(shape)))
        shape[axis] *= 2
        if op == "Split":
            return [floats(rng, shape)], lambda t: raw_op("Split", const(axis), t, num_split=2)
        sizes = [1, shape[axis] - 1] if shape[axis] > 1 else [1]
        return [floats(rng, shape)], lambda t: raw_op("SplitV", t, const(sizes), const(axis), num_split=len(sizes))
    return make

def reverse_case(rng: Rng) -> Sample:
    shape = random_shape(rng)
    axes = sorted({int(a) for a in rng.integers(0, len(shape), size=int(rng.integers(1, len(shape) + 1)))})
    return [floats(rng, shape)], lambda t: raw_op("ReverseV2", t, const(axes))

def squeeze(rng: Rng) -> Sample:
    shape = [int(d) if rng.random() < 0.6 else 1 for d in rng.integers(1, 4, size=int(rng.integers(2, 5)))]
    ones = [i for i, d in enumerate(shape) if d == 1] or [0]
    shape[ones[0]] = 1
    axes = [i - len(shape) * int(rng.integers(0, 2)) for i in ones if rng.random() < 0.7] or [ones[0]]
    return [floats(rng, shape)], lambda t: raw_op("Squeeze", t, axis=axes)

def expand_dims(rng: Rng) -> Sample:
    shape = random_shape(rng, 0, 3)
    axis = int(rng.integers(-len(shape) - 1, len(shape) + 1))
    return [floats(rng, shape)], lambda t: raw_op("ExpandDims", t, const(axis))

def broadcast_to(rng: Rng) -> Sample:
    target = random_shape(rng)
    return [floats(rng, reduced_shape(rng, target))], lambda t: raw_op("BroadcastTo", t, const(target))

def slice_case(rng: Rng) -> Sample:
    shape = random_shape(rng)
    begin = [int(rng.integers(0, d)) for d in shape]
    size = [int(rng.integers(1, d - b + 1)) if rng.random() < 0.7 else -1 for d, b in zip(shape, begin, strict=True)]
    return [floats(rng, shape)], lambda t: raw_op("Slice", t, const(begin), const(size))

def depth_to_space(rng: Rng) -> Sample:
    block = int(rng.integers(2, 4))
    x = floats(rng, [int(rng.integers(1, 3)), *ints(rng, (1, 3), (1, 3)), block * block * int(rng.integers(1, 3))])
    return [x], lambda t: raw_op("DepthToSpace", t, block_size=block)

def unpack(rng: Rng) -> Sample:
    shape = random_shape(rng, 1, 3)
    axis = int(rng.integers(-len(shape), len(shape)))
    return [floats(rng, shape)], lambda t: list(raw_op("Unpack", t, num=shape[axis], axis=axis))

def space_to_batch(rng: Rng) -> Sample:
    block = ints(rng, (1, 3), (1, 3))
    pads = [[int(v) for v in rng.integers(0, 3, size=2)] for _ in block]
    spatial = [b * int(rng.integers(1, 3)) - sum(p) for b, p in zip(block, pads, strict=True)]
    spatial = [s + b * 2 if s < 1 else s for s, b in zip(spatial, block, strict=True)]
    x = floats(rng, [int(rng.integers(1, 3)), *spatial, int(rng.integers(1, 3))])
    return [x], lambda t: raw_op("SpaceToBatchND", t, const(block), const(pads))

def pool(op: str) -> Generator:
    def make(rng: Rng) -> Sample:
        k, s = ints(rng, (1, 3), (1, 2))
        padding = str(rng.choice(["SAME", "VALID"]))
        x = floats(rng, [int(rng.integers(1, 3)), *ints(rng, (k, 7), (k, 7)), int(rng.integers(1, 4))])
        return [x], lambda t: raw_op(op, t, ksize=[1, k, k, 1], strides=[1, s, s, 1], padding=padding)
    return make

def resize(op: str) -> Generator:
    def make(rng: Rng) -> Sample:
        x = floats(rng, [int(rng.integers(1, 3)), *ints(rng, (2, 6), (2, 6)), int(rng.integers(1, 4))])
        size = ints(rng, (1, 9), (1, 9))
        align = bool(rng.integers(0, 2))
        return [x], lambda t: raw_op(op, t, const(size), align_corners=align, half_pixel_centers=not align)
    return make

def conv(op: str) -> Generator:
    def make(rng: Rng) -> Sample:
        k, stride, cin, cout = ints(rng, (1, 3), (1, 2), (1, 4), (1, 4))
        dilation = int(rng.integers(1, 3)) if stride == 1 else 1
        padding = str(rng.choice(["SAME", "VALID"]))
        x = floats(rng, [int(rng.integers(1, 3)), *ints(rng, (k * dilation, 7), (k * dilation, 7)), cin])
        w = const(floats(rng, (k, k, cin, cout if op == "Conv2D" else int(rng.integers(1, 3)))), "float32")
        attrs = {"strides": [1, stride, stride, 1], "padding": padding, "dilations": [1, dilation, dilation, 1]}
        return [x], lambda t: raw_op(op, t, w, **attrs)
    return make

def conv_transpose(rng: Rng) -> Sample:
    k, stride, cin, cout = ints(rng, (1, 3), (1, 2), (1, 4), (1, 4))
    n, h, w = ints(rng, (1, 2), (2, 5), (2, 5))
    padding = str(rng.choice(["SAME", "VALID"]))
    out_h, out_w = ((h * stride, w * stride) if padding == "SAME" else ((h - 1) * stride + k, (w - 1) * stride + k))
    filt = const(floats(rng, (k, k, cout, cin)), "float32")
    return [floats(rng, [n, h, w, cin])], lambda t: raw_op(
        "Conv2DBackpropInput", const([n, out_h, out_w, cout]), filt, t, strides=[1, stride, stride, 1], padding=padding)
