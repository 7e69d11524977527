#!/usr/bin/env python3
"""Run single TF ops (and known op chains) with random shapes and attributes in TensorFlow and in
TF.js on every backend; write tfjs_build/checks/op_defects.json.

Rerun when TF.js or the converter's rewrites change:  python scripts/gen_op_defects.py

``op_support.json`` says which ops a backend has kernels for; this says which of them compute what
TensorFlow computes. Each case below draws SAMPLES instances (shapes, attributes, values) from a
generator seeded by its name, freezes them into one graph, converts it with tfjs-build for the
backends that have the op, and runs it there (one TF.js process per backend, ``verify/cases.py``).
A case is right on a backend when every output matches TensorFlow (|tfjs - tf| <= 1e-4 * (1 + max|tf|),
integers and booleans exactly, same shape, same infinities); otherwise the table says what went
wrong. The converter rewrites or refuses what the table finds wrong (``passes/op_defects.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from op_cases import cases  # noqa: E402  (scripts/op_cases.py)

from tfjs_build.checks import op_support  # noqa: E402
from tfjs_build.convert.graph.passes import op_defects  # noqa: E402
from tfjs_build.errors import TfjsBuildError  # noqa: E402
from tfjs_build.verify.cases import TOLERANCE, Verdict, convert_case, freeze_case, run_converted  # noqa: E402
from tfjs_build.verify.runner import TFJS_VERSION  # noqa: E402

BACKENDS = ("cpu", "wasm", "webgl")
SEED = 0
SAMPLES = 3
OUT = ROOT / "tfjs_build" / "checks" / "op_defects.json"
def measure(names: Sequence[str], seed: int = SEED) -> dict[str, dict[str, Verdict | None]]:
    """Backend -> case -> verdict (None: right; absent: the backend lacks a kernel, see op_support)."""
    table = cases()
    unknown = sorted({op for name in names for op in table[name][1] if op not in op_support.load().op_kernels})
    if unknown:
        raise SystemExit(f"cases name ops TF.js's converter does not know: {unknown}")
    # measuring(): the converter's op-defect rewrites stay off, so the table sees TF.js's own ops
    with TemporaryDirectory(prefix="tfjs-op-defects-") as tmp, op_defects.measuring():
        converted, refused = [], {}
        for i, name in enumerate(names):
            make, ops = table[name]
            rngs = [np.random.default_rng([seed, zlib.crc32(name.encode()), s]) for s in range(SAMPLES)]
            case = freeze_case(name, [make(rng) for rng in rngs])
            backends = [b for b in BACKENDS if all(op_support.is_supported(op, [b]) for op in ops)]
            try:
                converted.append(convert_case(case, Path(tmp) / f"c{i}", backends))
            except TfjsBuildError as exc:
                refused[name] = {b: f"tfjs-build refused it: {str(exc).splitlines()[0][:200]}" for b in backends}
        runs = run_converted(converted, BACKENDS)
    found: dict[str, dict[str, Verdict | None]] = {b: {} for b in BACKENDS}
    for backend in BACKENDS:
        for c, got in zip(converted, runs[backend], strict=True):
            if backend in c.backends:
                found[backend][c.case.name] = got
        for name, reasons in refused.items():
            if backend in reasons:
                found[backend][name] = reasons[backend]
    return found


def table_data(measured: dict[str, dict[str, Verdict | None]], seed: int = SEED) -> dict[str, Any]:
    return {
        "tfjs_version": TFJS_VERSION,
        "generated_by": "scripts/gen_op_defects.py",
        "seed": seed,
        "rule": f"right: every output within {TOLERANCE:g} * (1 + max|tf|) of TensorFlow, integers exactly",
        "backends": {
            backend: {
                "right": sorted(name for name, why in entries.items() if why is None),
                "wrong": {name: why for name, why in sorted(entries.items()) if why is not None},
            }
            for backend, entries in sorted(measured.items())
        },
    }


def main(argv: Iterable[str] | None = None) -> int:
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUT)
    args = parser.parse_args(list(argv) if argv is not None else None)
    data = table_data(measure(sorted(cases())))
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, args.output)
    wrong = {b: sorted(entry["wrong"]) for b, entry in data["backends"].items()}
    print(f"wrote {args.output}: {len(cases())} cases; wrong: {wrong}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
