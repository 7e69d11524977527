#!/usr/bin/env python3
"""Generate tfjs_build/checks/op_support.json from the @tensorflow npm packages of one TF.js version.

Rerun when TF.js releases:  python scripts/gen_op_support.py --tfjs-version 4.23.0

Why each fact comes from where it does:

* **Converter ops** (what ``tf.loadGraphModel`` can execute at all): the ``tfOpName`` entries of
  ``@tensorflow/tfjs-converter/dist/operations/op_list/*.js``, with their category.
* **Kernels per TF op**: a TF op is executed by a case of an executor
  (``dist/operations/executors/*_executor.js``) that calls tfjs-core op functions (``ops.conv2d``,
  ``ops.fused.matMul``...). Each core op function file runs kernels with
  ``ENGINE.runKernel(KernelName, ...)``; a composite op without its own ``runKernel`` is followed into
  the core ops it imports (gradient helpers excluded), so an op lowered to several kernels needs all of
  them (a dtype branch for complex64 tensors counts only for the complex/FFT ops). Executor cases
  that call no core op (Const, Identity, control flow, hash tables) run in the graph executor itself
  and need no kernel. This is a static over-approximation: an op is reported unsupported on a
  backend only when a kernel it may run is missing there.
* **Registered kernels per backend**: asked from TF.js itself, by running node with
  ``tf.getKernelsForBackend(name)`` after importing @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm
  (webgl kernels register on import even without a GPU).
* **Fused activations**: not here. Which fusions a backend computes right is proven by running each
  one through the converter on every backend (``scripts/gen_fusion_support.py`` ->
  ``fusion_support.json``): a source can name an activation its kernel then gets wrong.
* **Fused bias rank**: wasm's fused kernels reject any bias that is not rank 1 (read from the source,
  verified by running a rank-4 bias on cpu and wasm).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGES = (
    "@tensorflow/tfjs",
    "@tensorflow/tfjs-backend-wasm",
    "@tensorflow/tfjs-converter",
    "@tensorflow/tfjs-core",
    "@tensorflow/tfjs-backend-cpu",
    "@tensorflow/tfjs-backend-webgl",
)
BACKENDS = ("cpu", "wasm", "webgl")
# Core ops branch on dtype to these kernels only for complex64 tensors, which only these TF ops make.
COMPLEX_KERNELS = frozenset({"Complex", "ComplexAbs", "Real", "Imag"})
COMPLEX_OPS = re.compile(r"^(Complex\w*|Real|Imag|I?R?FFT\w*)$")
OUT = Path(__file__).resolve().parent.parent / "tfjs_build" / "checks" / "op_support.json"

PROBE_JS = r"""
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
async function probe(backend) {
  await tf.setBackend(backend); await tf.ready();
  const x = tf.ones([1, 3, 3, 2]), f = tf.ones([1, 1, 2, 2]);
  let rank4 = true;
  try { await tf.fused.conv2d({x, filter: f, strides: 1, pad: 'same', bias: tf.ones([1, 1, 1, 2])}).data(); }
  catch (e) { rank4 = false; }
  return {rank4Bias: rank4};
}
(async () => {
  const out = {version: tf.version.tfjs, kernels: {}, probes: {}};
  for (const b of ['cpu', 'wasm', 'webgl']) out.kernels[b] = tf.getKernelsForBackend(b).map(k => k.kernelName).sort();
  for (const b of ['cpu', 'wasm']) out.probes[b] = await probe(b);
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
"""


def install(version: str, prefix: Path) -> Path:
    """npm-install the pinned packages into ``prefix``; return its node_modules/@tensorflow."""
    specs = [f"{name}@{version}" for name in PACKAGES]
    subprocess.run(["npm", "install", "--no-save", "--prefix", str(prefix), *specs], check=True,
                   stdout=subprocess.DEVNULL)
    return prefix / "node_modules" / "@tensorflow"


def strip_js(text: str) -> str:
    """Drop the inline source map (it embeds the TypeScript source, which would double every match)."""
    return re.sub(r"//# sourceMappingURL=.*", "", text)


def read_js(path: Path) -> str:
    return strip_js(path.read_text(encoding="utf-8"))


def converter_ops(tf_dir: Path) -> dict[str, str]:
    """tfOpName -> category, from the converter's op lists."""
    ops: dict[str, str] = {}
    for path in sorted((tf_dir / "tfjs-converter/dist/operations/op_list").glob("*.js")):
        text = read_js(path)
        for name, category in re.findall(r"'tfOpName':\s*'(\w+)',\s*'category':\s*'(\w+)'", text):
            ops[name] = category
    return ops


def executor_calls(tf_dir: Path) -> dict[str, set[str]]:
    """tfOpName -> the core op functions (``fused.conv2d``) its executor case calls."""
    calls: dict[str, set[str]] = {}
    for path in sorted((tf_dir / "tfjs-converter/dist/operations/executors").glob("*_executor.js")):
        text = read_js(path)
        body = text[text.index("switch (node.op)"):]
        pending: list[str] = []
        for chunk in re.split(r"(case '\w+':)", body):
            match = re.fullmatch(r"case '(\w+)':", chunk)
            if match:
                pending.append(match.group(1))
                continue
            if not chunk.strip() or not pending:
                continue
            used = set(re.findall(r"\bops\.((?:\w+\.)?\w+)\(", chunk))
            for name in pending:
                calls.setdefault(name, set()).update(used)
            pending = []
    return calls


class CoreOps:
    """Resolves a tfjs-core op function to the kernels it may run."""

    def __init__(self, tf_dir: Path) -> None:
        self.ops_dir = tf_dir / "tfjs-core/dist/ops"
        names = read_js(tf_dir / "tfjs-core/dist/kernel_names.js")
        self.kernel_names = dict(re.findall(r"export const (\w+) = '(\w+)';", names))
        self.files = self._function_files()
        self._memo: dict[Path, frozenset[str]] = {}

    def _function_files(self) -> dict[str, Path]:
        files: dict[str, Path] = {}
        for path in sorted(self.ops_dir.rglob("*.js")):
            for name in re.findall(r"export (?:const|function) (\w+)", read_js(path)):
                files.setdefault(name, path)
        ops_js = read_js(self.ops_dir / "ops.js")
        for name, rel in re.findall(r"import \{ (\w+) \} from '(\./[\w/]+)'", ops_js):
            files[name] = self.ops_dir / f"{rel}.js"
        for name, rel in re.findall(r"export \{ (\w+) \} from '(\./[\w/]+)'", ops_js):
            files[name] = self.ops_dir / f"{rel}.js"
        for name, rel in re.findall(r"import \{ (\w+) \} from '(\./[\w/]+)'", read_js(self.ops_dir / "fused_ops.js")):
            files[f"fused.{name}"] = self.ops_dir / f"{rel}.js"
        return files

    def kernels_of_call(self, call: str) -> frozenset[str]:
        name = call.rpartition(".")[2] if not call.startswith("fused.") else call
        path = self.files.get(name)
        if path is None:  # tensor constructors (tensor1d, scalar) need no kernel
            return frozenset()
        return self._kernels_of_file(path, set())

    def _kernels_of_file(self, path: Path, seen: set[Path]) -> frozenset[str]:
        if path in self._memo:
            return self._memo[path]
        if path in seen:
            return frozenset()
        seen.add(path)
        text = read_js(path)
        direct = {self.kernel_names.get(const, const) for const in re.findall(r"runKernel\('?(\w+)", text)}
        if direct:
            result = frozenset(direct)
        else:
            found: set[str] = set()
            for names, rel in re.findall(r"import \{ ([\w, ]+) \} from '(\.\.?/[\w/]+)'", text):
                target = (path.parent / f"{rel}.js").resolve()
                if not target.is_relative_to(self.ops_dir.resolve()):
                    continue
                if any(re.search(rf"\b{re.escape(n.strip())}\(", text) for n in names.split(",")):
                    found |= self._kernels_of_file(target, seen)
            result = frozenset(found)
        self._memo[path] = result
        return result


def kernels_needed(op: str, calls: set[str], core: CoreOps) -> list[str]:
    """Kernels a TF op may run; complex64-only branches count only for the complex/FFT ops."""
    kernels = set().union(*(core.kernels_of_call(call) for call in sorted(calls)))
    if not COMPLEX_OPS.match(op):
        kernels -= COMPLEX_KERNELS
    return sorted(kernels)


def probe(tf_prefix: Path) -> dict:
    """Run TF.js in node: registered kernels per backend and the fused-bias-rank probe."""
    with tempfile.TemporaryDirectory(prefix="tfjs-probe-") as tmp:
        script = Path(tmp) / "probe.js"
        script.write_text(PROBE_JS, encoding="utf-8")
        env = {**os.environ, "NODE_PATH": str(tf_prefix / "node_modules")}
        out = subprocess.run(["node", str(script)], check=True,
                             capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(tf_prefix: Path, version: str) -> dict:
    tf_dir = tf_prefix / "node_modules" / "@tensorflow"
    ops = converter_ops(tf_dir)
    calls = executor_calls(tf_dir)
    core = CoreOps(tf_dir)
    missing = sorted(set(ops) - set(calls))
    if missing:
        sys.exit(f"ops in op_list without an executor case: {missing}")
    measured = probe(tf_prefix)
    if measured["version"] != version:
        sys.exit(f"installed TF.js {measured['version']} is not the requested {version}")
    wasm_source = read_js(tf_dir / "tfjs-backend-wasm/dist/kernels/FusedConv2D.js")
    wasm_rank1 = "only supports rank-1 bias" in wasm_source
    if wasm_rank1 == measured["probes"]["wasm"]["rank4Bias"] or not measured["probes"]["cpu"]["rank4Bias"]:
        sys.exit("rank-4 fused bias: source and run disagree")
    op_kernels = {name: kernels_needed(name, calls[name], core) for name in sorted(ops)}
    return {
        "tfjs_version": version,
        "generated_by": "scripts/gen_op_support.py",
        "ops": {name: {"category": ops[name], "kernels": op_kernels[name]} for name in sorted(ops)},
        "backends": {
            backend: {
                "kernels": sorted(measured["kernels"][backend]),
                "fused_bias_rank1_only": backend == "wasm" and wasm_rank1,
            }
            for backend in BACKENDS
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tfjs-version", default="4.22.0")
    parser.add_argument("--node-modules-prefix", type=Path,
                        help="a folder where the packages are already installed (skips npm install)")
    parser.add_argument("--output", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tfjs-op-support-") as tmp:
        prefix = args.node_modules_prefix or Path(tmp)
        if args.node_modules_prefix is None:
            install(args.tfjs_version, prefix)
        data = build(prefix, args.tfjs_version)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.output.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp_out, args.output)
    print(f"wrote {args.output}: {len(data['ops'])} ops, TF.js {args.tfjs_version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
