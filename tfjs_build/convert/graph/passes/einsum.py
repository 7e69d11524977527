"""Every one- or two-operand ``Einsum`` as Transpose, Reshape, GatherV2, Sum and BatchMatMulV2.

TF.js 4.22's wasm backend has no Einsum kernel; Keras's EinsumDense and MultiHeadAttention (so
BERT, GPT-2, Llama, ...) are built on it (``abc,cde->abde``, ``aecd,abcd->acbe``, ...). The
rewrite follows the definition, in steps that are each exact:

1. ``...`` becomes fresh labels, right-aligned (operand ranks from shape inference).
2. A label repeated in one operand is its diagonal: those axes go last, are reshaped into one of
   size n^r and gathered at multiples of (n^r - 1) / (n - 1).
3. A label in one operand only and not in the output is summed out.
4. Then labels are batch (both operands and the output), rows (left and output), columns
   (right and output) or contracted (both operands only). The operands are transposed to
   ``batch + rows + contracted`` and ``batch + contracted + columns`` (or the adjoint orders,
   when they already are), each group reshaped into one dim, multiplied by BatchMatMulV2 (which
   broadcasts size-1 batch dims, as ``...`` does), reshaped back and transposed to the output.

Sizes unknown when converting are read at run time. The result replaces the node under its name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tfjs_build.convert.graph.editor import GraphEditor, Node
from tfjs_build.convert.graph.passes.builder import INT32, Builder, Dims, DType
from tfjs_build.convert.graph.passes.shapes import Shapes

ELLIPSIS_LABELS = "0123456789"  # never letters, so they cannot clash with the equation's own


@dataclass
class Operand:
    """A tensor in the chain being built, its labels (one per axis) and its static dims."""

    ref: str
    labels: str
    dims: Dims

    def permuted(self, labels: str) -> Dims:
        return tuple(self.dims[self.labels.index(label)] for label in labels)


def equation_of(node: Node) -> str:
    return node.attr["equation"].s.decode("utf-8", "replace") if "equation" in node.attr else ""


def applies(node: Node) -> bool:
    """Einsum with one or two operands and a well-formed equation (ranks are checked when rewriting)."""
    data = [ref for ref in node.input if not ref.startswith("^")]
    return len(data) in (1, 2) and split_equation(equation_of(node), len(data)) is not None


def split_equation(equation: str, operands: int) -> tuple[list[str], str | None] | None:
    """(input terms, output term or None when implicit); None when malformed."""
    text = equation.replace(" ", "")
    inputs, arrow, out = text.partition("->")
    terms = inputs.split(",")
    if len(terms) != operands or any(not _well_formed(term) for term in [*terms, out]):
        return None
    if arrow and (len(set(out.replace("...", ""))) != len(out.replace("...", "")) or
                  set(out.replace("...", "")) - set("".join(terms).replace("...", ""))):
        return None
    return terms, (out if arrow else None)


def _well_formed(term: str) -> bool:
    body = term.replace("...", "", 1)
    return body.isalpha() or body == ""


def expand(terms: list[str], out: str | None, ranks: list[int | None]) -> tuple[list[str], str] | None:
    """Equation with ``...`` replaced by fresh labels (right-aligned) and an explicit output."""
    widths = []
    for term, rank in zip(terms, ranks, strict=True):
        if "..." not in term:
            widths.append(0)
            if rank is not None and rank != len(term):
                return None
            continue
        if rank is None or rank < len(term) - 3:
            return None
        widths.append(rank - (len(term) - 3))
    widest = max(widths)
    fresh = ELLIPSIS_LABELS[:widest] if widest <= len(ELLIPSIS_LABELS) else None
    if fresh is None:
        return None
    expanded = [term.replace("...", fresh[widest - width:]) for term, width in zip(terms, widths, strict=True)]
    if out is None:
        counts = Counter("".join(term.replace("...", "") for term in terms))
        out = "..." + "".join(sorted(label for label, count in counts.items() if count == 1))
    if "..." not in out and widest:
        return None  # TF refuses dropping the ellipsis dims, so nothing converts this anyway
    return expanded, out.replace("...", fresh)


def rewrite(ed: GraphEditor, node: Node, shapes: Shapes) -> bool:
    """Replace ``node`` by the steps in the module docstring; False when a rank or a diagonal's size is unknown."""
    data = [ref for ref in node.input if not ref.startswith("^")]
    split = split_equation(equation_of(node), len(data))
    dims = [shapes.of(ref) for ref in data]
    expanded = expand(split[0], split[1], [None if d is None else len(d) for d in dims]) if split else None
    if expanded is None:
        return False
    terms, out = expanded
    dims = [(None,) * len(term) if d is None else d for d, term in zip(dims, terms, strict=True)]
    build = Builder(ed, node)
    operands = [Operand(ref, term, d) for ref, term, d in zip(data, terms, dims, strict=True)]  # type: ignore[arg-type]
    for i, operand in enumerate(operands):
        diagonal = _diagonals(build, f"in{i}", operand)
        if diagonal is None:
            return False
        others = set(out).union(*(o.labels for j, o in enumerate(operands) if j != i))
        operands[i] = _sum_out(build, f"in{i}", diagonal, others)
    result = operands[0] if len(operands) == 1 else _contract(build, operands[0], operands[1], out)
    return build.finish(build.transpose("out", result.ref, [result.labels.index(label) for label in out]))


def _diagonals(build: Builder, suffix: str, operand: Operand) -> Operand | None:
    """``operand`` with every repeated label reduced to its diagonal (static sizes only)."""
    for label, count in Counter(operand.labels).items():
        size = operand.dims[operand.labels.index(label)]
        if count == 1:
            continue
        if size is None:
            return None
        kept = "".join(x for x in operand.labels if x != label)
        order = [i for i, x in enumerate(operand.labels) if x != label] + [i for i, x in enumerate(operand.labels) if x == label]
        moved = build.transpose(f"{suffix}/{label}_last", operand.ref, order)
        dims = tuple(operand.dims[i] for i in order)
        parts = [(moved, dims, [i]) for i in range(len(kept))] + [(moved, dims, list(range(len(kept), len(dims))))]
        flat = build.reshape(f"{suffix}/{label}_flat", moved, build.shape_vector(f"{suffix}/{label}_shape", parts))
        stride = sum(size**k for k in range(count))  # flat index of (i, i, ..., i)
        indices = build.const(f"{suffix}/{label}_indices", [i * stride for i in range(size)])
        gathered = build.op(f"{suffix}/{label}_diagonal", "GatherV2",
                            [flat, indices, build.const(f"{suffix}/{label}_axis", len(kept))],
                            Tparams=build.dtype, Tindices=DType(INT32), Taxis=DType(INT32), batch_dims=0)
        operand = Operand(gathered, kept + label, (*dims[:len(kept)], size))
    return operand


def _sum_out(build: Builder, suffix: str, operand: Operand, others: set[str]) -> Operand:
    lonely = [i for i, label in enumerate(operand.labels) if label not in others]
    if not lonely:
        return operand
    kept = [i for i in range(len(operand.labels)) if i not in lonely]
    return Operand(
        build.reduce_sum(f"{suffix}/sum", operand.ref, lonely),
        "".join(operand.labels[i] for i in kept),
        tuple(operand.dims[i] for i in kept),
    )


def _contract(build: Builder, lhs: Operand, rhs: Operand, out: str) -> Operand:
    """The batched matmul of step 4; returns the result labelled ``batch + rows + cols``."""
    batch = "".join(label for label in out if label in lhs.labels and label in rhs.labels)
    rows = "".join(label for label in lhs.labels if label in out and label not in rhs.labels)
    cols = "".join(label for label in rhs.labels if label in out and label not in lhs.labels)
    summed = "".join(label for label in lhs.labels if label in rhs.labels and label not in out)
    adj_x = lhs.labels == batch + summed + rows and lhs.labels != batch + rows + summed
    adj_y = rhs.labels == batch + cols + summed and rhs.labels != batch + summed + cols
    x = _as_matrix(build, "lhs", lhs, batch, (summed, rows) if adj_x else (rows, summed))
    y = _as_matrix(build, "rhs", rhs, batch, (cols, summed) if adj_y else (summed, cols))
    if any(label in ELLIPSIS_LABELS and (None in (a, b) or a != b)  # only `...` dims broadcast
           for label, a, b in zip(batch, lhs.permuted(batch), rhs.permuted(batch), strict=True)):
        x, y = build.broadcast_batch("lhs", x, y, len(batch)), build.broadcast_batch("rhs", y, x, len(batch))
    product = build.op("matmul", "BatchMatMulV2", [x, y], T=build.dtype, adj_x=adj_x, adj_y=adj_y)
    batch_dims = tuple(_broadcast(a, b) for a, b in zip(lhs.permuted(batch), rhs.permuted(batch), strict=True))
    if len(rows) == 1 and len(cols) == 1:
        return Operand(product, batch + rows + cols, (*batch_dims, *lhs.permuted(rows), *rhs.permuted(cols)))
    nb = len(batch)
    product_dims = (*batch_dims, None, None)
    parts = [(product, product_dims, [i]) for i in range(nb)]
    parts += [(lhs.ref, lhs.dims, [lhs.labels.index(label)]) for label in rows]
    parts += [(rhs.ref, rhs.dims, [rhs.labels.index(label)]) for label in cols]
    target = build.shape_vector("out_shape", parts)
    dims = (*batch_dims, *lhs.permuted(rows), *rhs.permuted(cols))
    return Operand(build.reshape("unflatten", product, target), batch + rows + cols, dims)


def _as_matrix(build: Builder, suffix: str, operand: Operand, batch: str, groups: tuple[str, str]) -> str:
    """``operand`` transposed to ``batch + groups[0] + groups[1]`` and each group merged into one dim."""
    order = batch + groups[0] + groups[1]
    moved = build.transpose(f"{suffix}/transpose", operand.ref, [operand.labels.index(label) for label in order])
    if len(groups[0]) == 1 and len(groups[1]) == 1:
        return moved
    dims = operand.permuted(order)
    nb, first = len(batch), len(groups[0])
    parts = [(moved, dims, [i]) for i in range(nb)]
    parts += [(moved, dims, list(range(nb, nb + first))), (moved, dims, list(range(nb + first, len(order))))]
    return build.reshape(f"{suffix}/merge", moved, build.shape_vector(f"{suffix}/merged_shape", parts))


def _broadcast(a: int | None, b: int | None) -> int | None:
    if a == 1:
        return b
    if b == 1 or a == b:
        return a
    return None if a is None or b is None else max(a, b)
