"""Random einsum equations with shapes TensorFlow accepts: broadcasting ``...``, repeated labels (diagonals),
labels summed within one operand, contractions over several labels, and dims unknown until run time.

Test data only (numpy): tests turn each case into a TF graph and compare TF with the rewrite and TF.js.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np

# The equations real models emit: EinsumDense (BERT/GPT-2/Llama projections), attention scores and values.
MODEL_EQUATIONS = (
    ("abc,cde->abde", [(2, 8, 32), (32, 2, 16)]),
    ("abcd,cde->abe", [(2, 8, 2, 16), (2, 16, 32)]),
    ("aecd,abcd->acbe", [(2, 8, 2, 16), (2, 8, 2, 16)]),
    ("acbe,aecd->abcd", [(2, 2, 8, 8), (2, 8, 2, 16)]),
    ("btnh,bsnh->bnts", [(2, 5, 2, 4), (2, 6, 2, 4)]),
    ("bnts,bsnh->btnh", [(2, 2, 5, 6), (2, 6, 2, 4)]),
    ("bqhd,bkhd->bhqk", [(1, 3, 2, 4), (1, 5, 2, 4)]),
)


@dataclass(frozen=True)
class Case:
    equation: str
    shapes: tuple[tuple[int, ...], ...]  # the shapes fed
    specs: tuple[tuple[int | None, ...], ...]  # the shapes the graph declares (None: known only at run time)


def model_cases() -> list[Case]:
    return [Case(eq, tuple(shapes), tuple(shapes)) for eq, shapes in MODEL_EQUATIONS]


def random_cases(count: int, seed: int) -> list[Case]:
    """``count`` random equations; some operands declare dims unknown (never those of repeated labels)."""
    rng = np.random.default_rng(seed)
    return [_random_case(rng) for _ in range(count)]


def _random_case(rng: np.random.Generator) -> Case:
    pool = list(string.ascii_letters[:8])
    sizes = {label: int(rng.integers(1, 5)) for label in pool}
    operands = 1 if rng.random() < 0.15 else 2
    ellipsis = rng.random() < 0.3
    widths = [int(rng.integers(0, 3)) if ellipsis else 0 for _ in range(operands)]
    ellipsis_sizes = [int(rng.integers(2, 4)) for _ in range(max(widths, default=0))]
    terms, shapes = [], []
    for width in widths:
        labels = list(rng.choice(pool, size=int(rng.integers(0, 4)), replace=True))
        term = "".join(labels)
        ell = [s if rng.random() < 0.7 else 1 for s in ellipsis_sizes[len(ellipsis_sizes) - width:]]  # broadcasting
        at = int(rng.integers(0, len(term) + 1))
        shape = [sizes[x] for x in term[:at]] + ell + [sizes[x] for x in term[at:]]
        terms.append(term[:at] + "..." + term[at:] if ellipsis else term)
        shapes.append(tuple(shape))
    used = sorted(set("".join(terms).replace(".", "")))
    kept = [x for x in used if rng.random() < 0.5]
    rng.shuffle(kept)
    out = "".join(kept)
    if ellipsis:
        at = int(rng.integers(0, len(out) + 1))
        out = out[:at] + "..." + out[at:]
    equation = ",".join(terms) + "->" + out
    specs = tuple(_declared(rng, term, shape) for term, shape in zip(terms, shapes, strict=True))
    return Case(equation, tuple(shapes), specs)


def _declared(rng: np.random.Generator, term: str, shape: tuple[int, ...]) -> tuple[int | None, ...]:
    """Leave some dims unknown in the graph, except where the term repeats a label (diagonals need sizes)."""
    if len(set(term.replace("...", ""))) != len(term.replace("...", "")) or rng.random() < 0.6:
        return shape
    return tuple(None if rng.random() < 0.5 else d for d in shape)
