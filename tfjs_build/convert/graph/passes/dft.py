"""``RFFT`` of a static length as real matmuls with cosine and sine matrices (TF.js's wasm backend has no FFT).

``tf.signal.stft`` (spectrogram front ends) is framing, a window and ``RFFT``, usually followed by
``ComplexAbs`` (``tf.abs``) or by ``Real``/``Imag`` (``keras.ops.stft``); none has a wasm kernel.
For frames of static length L and a constant FFT length n, the spectrum is the DFT
``X[k] = sum_t x[t] (cos(2 pi t k / n) - i sin(2 pi t k / n))`` for k <= n/2: two real matmuls
against [L, n/2 + 1] matrices (rows t >= n are zero, which is RFFT's cropping; t < L <= n its
zero padding). The angles use ``t*k mod n`` in float64, so the matrices are exact to float32
rounding. The complex result never exists: each consumer becomes real ops of the two products
(``ComplexAbs`` -> ``Sqrt(re^2 + im^2)``, ``Real``/``Imag`` -> one of them); an RFFT read by
anything else is left alone.
"""

from __future__ import annotations

import numpy as np

from tfjs_build.convert.graph.editor import GraphEditor, Node, split_input
from tfjs_build.convert.graph.passes.builder import INT32, Builder, DType
from tfjs_build.convert.graph.passes.shapes import Shapes

FLOAT32, COMPLEX64 = 1, 8
CONSUMERS = ("ComplexAbs", "Real", "Imag")


def rewrite_consumer(ed: GraphEditor, node: Node, shapes: Shapes) -> bool:
    """A ComplexAbs/Real/Imag met before its RFFT: rewrite that RFFT (and so this node) now."""
    producer = ed.producer(node, 0)
    return producer is not None and producer.op == "RFFT" and rewrite_rfft(ed, producer, shapes)


def rewrite_rfft(ed: GraphEditor, node: Node, shapes: Shapes) -> bool:
    signal = [ref for ref in node.input if not ref.startswith("^")][0]
    length = ed.const(ed.producer(node, 1))
    dims = shapes.of(signal)
    uses = ed.uses(node.name)
    if (length is None or length.shape != (1,) or dims is None or not dims or dims[-1] is None
            or node.attr["Treal"].type != FLOAT32 or node.attr["Tcomplex"].type != COMPLEX64
            or node.name in ed.protected or not uses
            or any(control or port or reader.op not in CONSUMERS for reader, port, control in uses)):
        return False
    cosines, sines = dft_matrices(int(dims[-1]), int(length[0]))
    build = Builder(ed, node)
    build.dtype = DType(FLOAT32)
    real = _times(build, "real", signal, len(dims), cosines)
    imag = _times(build, "imag", signal, len(dims), -sines)
    for reader in {id(r): r for r, _, _ in uses}.values():
        _replace(ed, reader, real, imag)
    ed.remove([node.name])
    return True


def dft_matrices(frame: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of 2 pi t k / length for t < frame, k <= length/2 (zero rows where t >= length)."""
    t = np.arange(frame, dtype=np.int64)[:, None]
    k = np.arange(length // 2 + 1, dtype=np.int64)[None, :]
    angle = 2.0 * np.pi * ((t * k) % length).astype(np.float64) / length
    inside = (t < length).astype(np.float64)
    return (np.cos(angle) * inside).astype(np.float32), (np.sin(angle) * inside).astype(np.float32)


def _times(build: Builder, suffix: str, signal: str, rank: int, matrix: np.ndarray) -> str:
    """``signal @ matrix`` over the last axis, for any rank >= 1."""
    weights = build.const(f"{suffix}/dft", matrix, dtype=np.float32)
    if rank == 2:
        return build.op(suffix, "MatMul", [signal, weights], T=build.dtype, transpose_a=False, transpose_b=False)
    if rank > 2:
        return build.op(suffix, "BatchMatMulV2", [signal, weights], T=build.dtype, adj_x=False, adj_y=False)
    row = build.op(f"{suffix}/row", "ExpandDims", [signal, build.const(f"{suffix}/row_axis", 0)], T=build.dtype,
                   Tdim=DType(INT32))
    product = build.op(f"{suffix}/product", "MatMul", [row, weights], T=build.dtype, transpose_a=False, transpose_b=False)
    squeezed = build.op(suffix, "Squeeze", [product], T=build.dtype)
    build.ed.nodes[squeezed].attr["squeeze_dims"].list.i.append(0)
    return squeezed


def _replace(ed: GraphEditor, reader: Node, real: str, imag: str) -> None:
    """Turn ``reader`` (same name) into the real-valued op it stands for."""
    controls = [ref for ref in reader.input if ref.startswith("^")]
    op = reader.op
    reader.ClearField("attr")
    reader.attr["T"].type = FLOAT32
    if op == "ComplexAbs":
        squares = []
        for part in (real, imag):
            square = ed.add_node(f"{reader.name}/{split_input(part)[0].rsplit('/', 1)[-1]}_squared", "Square", [part], reader)
            square.attr["T"].type = FLOAT32
            squares.append(square.name)
        total = ed.add_node(f"{reader.name}/sum_of_squares", "AddV2", squares, reader)
        total.attr["T"].type = FLOAT32
        reader.op, inputs = "Sqrt", [total.name]
    else:
        reader.op, inputs = "Identity", [real if op == "Real" else imag]
    reader.input[:] = [*inputs, *controls]
    ed.reindex()
