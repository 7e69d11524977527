"""The cases of scripts/gen_op_defects.py: a generator per TF op (and per variant of its attributes,
so a defect names what triggers it), each drawing one random instance: its inputs and the TF
function of them, built from ``tf.raw_ops`` so the frozen graph holds exactly that op.
"""

from __future__ import annotations

import numpy as np
from op_cases_shapes import (
    STRIDED_SLICES,
    Generator,
    Rng,
    broadcast_to,
    concat,
    const,
    conv,
    conv_transpose,
    depth_to_space,
    expand_dims,
    floats,
    gather,
    gather_nd,
    ints,
    pack,
    pad,
    pool,
    random_shape,
    reduced_shape,
    reshape,
    resize,
    reverse_case,
    slice_case,
    slice_then_cumsum,
    space_to_batch,
    split,
    squeeze,
    strided_slice,
    tile,
    transpose,
    unpack,
)

from tfjs_build.verify.cases import Sample, raw_op

# Unary float ops and the input range each is defined on.
UNARY = {
    "Abs": (-3, 3), "Acos": (-0.99, 0.99), "Acosh": (1.01, 4), "Asin": (-0.99, 0.99), "Asinh": (-3, 3),
    "Atan": (-3, 3), "Atanh": (-0.95, 0.95), "Ceil": (-3, 3), "Cos": (-3, 3), "Cosh": (-3, 3), "Elu": (-3, 3),
    "Erf": (-3, 3), "Exp": (-3, 3), "Expm1": (-3, 3), "Floor": (-3, 3), "Log": (0.05, 5), "Log1p": (-0.9, 5),
    "Neg": (-3, 3), "Relu": (-3, 3), "Relu6": (-3, 9), "Rsqrt": (0.05, 5), "Selu": (-3, 3), "Sigmoid": (-6, 6),
    "Sign": (-3, 3), "Sin": (-3, 3), "Sinh": (-3, 3), "Softplus": (-6, 6), "Sqrt": (0, 5), "Square": (-3, 3),
    "Tan": (-1.4, 1.4), "Tanh": (-3, 3), "Reciprocal": (0.2, 3), "IsFinite": (-3, 3), "IsInf": (-3, 3),
    "IsNan": (-3, 3),
}

# Binary ops, with the range of each input (None: small integers as floats, so equal values occur).

BINARY = {
    "Add": None, "AddV2": None, "Sub": None, "Mul": None, "Maximum": None, "Minimum": None,
    "SquaredDifference": None, "Equal": None, "NotEqual": None, "Greater": None, "GreaterEqual": None,
    "Less": None, "LessEqual": None, "RealDiv": ((-3, 3), (0.3, 3)), "Div": ((-3, 3), (0.3, 3)),
    "DivNoNan": ((-3, 3), (0.3, 3)), "FloorDiv": ((-9, 9), (0.7, 4)), "FloorMod": ((-9, 9), (0.7, 4)),
    "Mod": ((-9, 9), (0.7, 4)), "Pow": ((0.1, 3), (-2, 2)), "Atan2": ((-3, 3), (-3, 3)),
}

INT_BINARY = ("FloorDiv", "FloorMod", "Mod", "Maximum", "Minimum", "Add", "Mul", "Sub")

REDUCTIONS = ("Sum", "Mean", "Max", "Min", "Prod", "EuclideanNorm", "All", "Any")

def _unary(op: str) -> Generator:
    low, high = UNARY[op]

    def make(rng: Rng) -> Sample:
        x = floats(rng, random_shape(rng), low, high)
        if op == "Reciprocal":
            x *= rng.choice([-1, 1], size=x.shape).astype(np.float32)
        if op.startswith("Is"):
            x.flat[rng.integers(x.size)] = rng.choice([np.inf, -np.inf, np.nan])
        return [x], lambda t: raw_op(op, t)
    return make

def _broadcast_pair(rng: Rng, high_rank: int = 4) -> tuple[list[int], list[int]]:
    """Two shapes that broadcast: the second is a suffix of the first with some dims set to 1 (either order)."""
    a = random_shape(rng, 1, high_rank)
    b = reduced_shape(rng, a)
    return (a, b) if rng.random() < 0.5 else (b, a)

def _binary(op: str, dtype: str = "float32") -> Generator:
    def make(rng: Rng) -> Sample:
        sa, sb = _broadcast_pair(rng)
        ranges = BINARY[op]
        if dtype == "int32":
            a = rng.integers(-9, 10, size=sa).astype(np.int32)
            b = rng.integers(1, 5, size=sb).astype(np.int32) * rng.choice([-1, 1], size=sb).astype(np.int32)
        elif ranges is None:
            a, b = (rng.integers(-2, 3, size=s).astype(np.float32) for s in (sa, sb))
        else:
            a, b = floats(rng, sa, *ranges[0]), floats(rng, sb, *ranges[1])
            if op in ("FloorDiv", "FloorMod", "Mod"):
                b *= rng.choice([-1, 1], size=b.shape).astype(np.float32)
        return [a, b], lambda x, y: raw_op(op, x, y)
    return make

def _reduction(op: str) -> Generator:
    def make(rng: Rng) -> Sample:
        shape = random_shape(rng)
        rank = len(shape)
        axes = [a - rank * int(rng.integers(0, 2)) for a in sorted({int(a) for a in rng.integers(0, rank, size=rank)})]
        keep = bool(rng.integers(0, 2))
        low, high = (0.5, 1.5) if op == "Prod" else (-3, 3)
        x = rng.random(size=shape) < 0.7 if op in ("All", "Any") else floats(rng, shape, low, high)
        return [x], lambda t: raw_op(op, t, const(axes), keep_dims=keep)
    return make

def _arg(op: str) -> Generator:
    def make(rng: Rng) -> Sample:
        shape = random_shape(rng)
        axis = int(rng.integers(-len(shape), len(shape)))
        return [floats(rng, shape)], lambda t: raw_op(op, t, const(axis), output_type="int32")
    return make

def _scan(op: str, negative_axis: bool) -> Generator:
    def make(rng: Rng) -> Sample:
        shape = random_shape(rng)
        axis = int(rng.integers(-len(shape), 0) if negative_axis else rng.integers(0, len(shape)))
        exclusive, reverse = bool(rng.integers(0, 2)), bool(rng.integers(0, 2))
        x = floats(rng, shape, 0.5, 1.5) if op == "Cumprod" else floats(rng, shape)
        return [x], lambda t: raw_op(op, t, const(axis), exclusive=exclusive, reverse=reverse)
    return make

def _one_hot(last_axis: bool, out_of_range: bool = False) -> Generator:
    def make(rng: Rng) -> Sample:
        depth = int(rng.integers(2, 6))
        indices = rng.integers(0, depth, size=random_shape(rng, 1, 3)).astype(np.int32)
        if out_of_range:  # TF gives such an index a row of off_value
            indices.flat[rng.integers(indices.size)] = int(rng.choice([-1, depth]))
        axis = -1 if last_axis else int(rng.integers(0, indices.ndim))
        on, off = (const(np.float32(v), "float32") for v in rng.normal(size=2))
        return [indices], lambda i: raw_op("OneHot", i, const(depth), on, off, axis=axis)
    return make

def _batch_matmul(rng: Rng) -> Sample:
    n, k, m = ints(rng, (1, 4), (1, 4), (1, 4))
    batch_a, batch_b = _broadcast_pair(rng, 2)
    adj_x, adj_y = (bool(v) for v in rng.integers(0, 2, size=2))
    a = floats(rng, [*batch_a, *((k, n) if adj_x else (n, k))])
    b = floats(rng, [*batch_b, *((m, k) if adj_y else (k, m))])
    return [a, b], lambda x, y: raw_op("BatchMatMulV2", x, y, adj_x=adj_x, adj_y=adj_y)

def _softmax(op: str) -> Generator:
    return lambda rng: ([floats(rng, random_shape(rng), -5, 5)], lambda t: raw_op(op, t))

def _topk(rng: Rng) -> Sample:
    shape = random_shape(rng)
    k = int(rng.integers(1, shape[-1] + 1))
    x = rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float32)  # no ties: TF and TF.js may order them apart
    return [x], lambda t: list(raw_op("TopKV2", t, const(k), sorted=True))

def _select(rng: Rng) -> Sample:
    sa, sb = _broadcast_pair(rng)
    return [rng.random(size=sa) < 0.5, floats(rng, sb), floats(rng, sa)], lambda c, x, y: raw_op("SelectV2", c, x, y)

def _cast(rng: Rng) -> Sample:
    return [floats(rng, random_shape(rng), -4, 4)], lambda t: raw_op("Cast", t, DstT="int32")

def _clip(rng: Rng) -> Sample:
    low, high = sorted(rng.normal(size=2))
    return [floats(rng, random_shape(rng))], lambda t: raw_op("ClipByValue", t, const(np.float32(low), "float32"),
                                                         const(np.float32(high), "float32"))

def _matmul(rng: Rng) -> Sample:
    n, k, m = ints(rng, (1, 5), (1, 5), (1, 5))
    ta, tb = (bool(v) for v in rng.integers(0, 2, size=2))
    a, b = floats(rng, (k, n) if ta else (n, k)), floats(rng, (m, k) if tb else (k, m))
    return [a, b], lambda x, y: raw_op("MatMul", x, y, transpose_a=ta, transpose_b=tb)

def _add_n(rng: Rng) -> Sample:
    shape = random_shape(rng)
    return [floats(rng, shape) for _ in range(int(rng.integers(2, 5)))], lambda *ts: raw_op("AddN", list(ts))

def _leaky(rng: Rng) -> Sample:
    alpha = float(np.round(rng.uniform(0.01, 0.5), 2))
    return [floats(rng, random_shape(rng))], lambda t: raw_op("LeakyRelu", t, alpha=alpha)

def _bias_add(rng: Rng) -> Sample:
    shape = random_shape(rng, 2, 4)
    return [floats(rng, shape), floats(rng, shape[-1:])], lambda x, b: raw_op("BiasAdd", x, b)

def _range(rng: Rng) -> Sample:
    start, delta = float(rng.integers(-5, 5)), float(rng.choice([-1.5, -1, 0.5, 1, 2]))
    limit = start + delta * int(rng.integers(1, 8))
    values = [np.float32(start), np.float32(limit), np.float32(delta)]
    return values, lambda a, b, c: raw_op("Range", a, b, c)

def single_cases() -> dict[str, Generator]:
    """Case name ("Op" or "Op (variant)") -> generator, for the ops with a generator of their own."""
    return {
        "Transpose": transpose, "Reshape": reshape, "Tile": tile, "ConcatV2": concat, "Pack": pack,
        "GatherV2": gather, "GatherNd": gather_nd, "OneHot (axis -1)": _one_hot(True),
        "OneHot (other axis)": _one_hot(False),
        "OneHot (index out of range)": _one_hot(True, True), "ReverseV2": reverse_case, "BatchMatMulV2": _batch_matmul,
        "TopKV2": _topk, "SelectV2": _select, "Cast": _cast, "ClipByValue": _clip,
        "Squeeze": squeeze, "ExpandDims": expand_dims, "BroadcastTo": broadcast_to, "Slice": slice_case,
        "MatMul": _matmul, "Conv2D": conv("Conv2D"), "DepthwiseConv2dNative": conv("DepthwiseConv2dNative"),
        "Conv2DBackpropInput": conv_transpose, "DepthToSpace": depth_to_space, "AddN": _add_n, "Unpack": unpack,
        "LeakyRelu": _leaky, "BiasAdd": _bias_add, "Range": _range, "SpaceToBatchND": space_to_batch,
    }

def cases() -> dict[str, tuple[Generator, tuple[str, ...]]]:
    """Case name -> (generator of one random instance, the TF ops it needs)."""
    table: dict[str, tuple[Generator, tuple[str, ...]]] = {}
    table |= {op: (_unary(op), (op,)) for op in UNARY}
    table |= {op: (_binary(op), (op,)) for op in BINARY}
    table |= {f"{op} (int32)": (_binary(op, "int32"), (op,)) for op in INT_BINARY}
    table |= {op: (_reduction(op), (op,)) for op in REDUCTIONS}
    table |= {op: (_arg(op), (op,)) for op in ("ArgMax", "ArgMin")}
    for op in ("Cumsum", "Cumprod"):
        table |= {f"{op} (axis {sign} 0)": (_scan(op, sign == "<"), (op,)) for sign in ("<", ">=")}
    table |= {f"StridedSlice ({variant})": (strided_slice(variant), ("StridedSlice",)) for variant in STRIDED_SLICES}
    table |= {op: (pad(op), (op,)) for op in ("Pad", "PadV2", "MirrorPad")}
    table |= {op: (split(op), (op,)) for op in ("Split", "SplitV")}
    table |= {op: (pool(op), (op,)) for op in ("AvgPool", "MaxPool")}
    table |= {op: (resize(op), (op,)) for op in ("ResizeBilinear", "ResizeNearestNeighbor")}
    table |= {op: (_softmax(op), (op,)) for op in ("Softmax", "LogSoftmax")}
    table |= {name: (make, (name.split(" (")[0],)) for name, make in single_cases().items()}
    table["StridedSlice -> Cumsum (axis -1)"] = (slice_then_cumsum, ("StridedSlice", "Cumsum"))
    return table
