"""Does `tfjs-build bench` measure what a plain hand-written timing loop measures? (issue 12)

    .venv/bin/python bench/bench_agreement.py MODEL_DIR [--backend wasm] [--runs 20] [--warmup 3] [--rounds 3]

MODEL_DIR is a built graph model (model.json + shards). One node process runs, interleaved
``--rounds`` times each in ABBA order: (a) a loop written here the way the TF.js docs advise
(tf.loadGraphModel over HTTP, ``--warmup`` runs discarded, ``--runs`` timed runs of
executeAsync + data()), and (b) the harness of ``tfjs-build bench`` (verify/js/bench.mjs, called
with the options the command uses, told to use the same API). Same backend, same input (seeded
from the signature, as bench makes it), same process. Prints every median and the ratio of the
harness's median to the loop's; exits 1 when they differ by more than 10%.

``bench`` itself times ``execute`` when a graph has no dynamic ops (as verify runs it): in TF.js
4.22 ``executeAsync`` costs more per op (MobileNetV2 on wasm: about 12% slower), so compare like
with like (``--api execute`` for what bench reports).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tfjs_build.bench.inputs import graph_input_specs
from tfjs_build.bench.measure import MAX_ROUNDS, BenchOptions
from tfjs_build.checks.accuracy import sample_inputs
from tfjs_build.verify.runner import JS_DIR, encode_tensors, node_modules_dir

TOLERANCE = 0.10

# The hand-written loop, and the harness called the way run_model.mjs calls it, in one node process.
SCRIPT = r"""
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { bench } from '__BENCH_MJS__';

console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(' ') + '\n');
const req = JSON.parse(readFileSync(0, 'utf8'));
const require = createRequire(import.meta.url);
const tf = require(join(req.nodeDir, '@tensorflow', 'tfjs'));
if (req.backend === 'wasm') {
  const wasm = require(join(req.nodeDir, '@tensorflow', 'tfjs-backend-wasm'));
  wasm.setWasmPaths(join(req.nodeDir, '@tensorflow', 'tfjs-backend-wasm', 'dist') + '/');
}
await tf.setBackend(req.backend);
await tf.ready();

const TYPED = { float32: Float32Array, int32: Int32Array, bool: Uint8Array };
const codec = {
  decode: (b64) => new Uint8Array(Buffer.from(b64, 'base64')),
  encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
};

async function handLoop() {
  const model = await tf.loadGraphModel(req.modelUrl);
  const inputs = {};
  for (const spec of req.inputs) {
    const bytes = codec.decode(spec.data);
    inputs[spec.name] = tf.tensor(new TYPED[spec.dtype](bytes.buffer), spec.shape, spec.dtype);
  }
  const once = async () => {
    const out = [].concat(req.executeAsync ? await model.executeAsync(inputs) : model.execute(inputs));
    await Promise.all(out.map((t) => t.data()));
    tf.dispose(out);
  };
  for (let i = 0; i < req.bench.warmup; i++) await once();
  const times = [];
  for (let i = 0; i < req.bench.runs; i++) {
    const start = performance.now();
    await once();
    times.push(performance.now() - start);
  }
  tf.dispose(Object.values(inputs));
  model.dispose();
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
}

async function harness() {
  const response = await bench(tf, req, codec);
  if (!response.ok) throw new Error(`${response.stage}: ${response.error}`);
  const figures = JSON.parse(Buffer.from(response.outputs[0].strings[0], 'base64').toString('utf8'));
  return { median: figures.medianMs, rounds: figures.rounds };
}

// ABBA order (hand first in even rounds, the harness first in odd ones): a load that drifts during the
// run favours neither side.
const result = { hand: [], harness: [] };
for (let i = 0; i < req.rounds; i++) {
  if (i % 2 === 0) result.hand.push(await handLoop());
  result.harness.push(await harness());
  if (i % 2 === 1) result.hand.push(await handLoop());
}
process.stdout.write(JSON.stringify(result));
"""


def serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/model.json"


def measure(model_dir: Path, backend: str, options: BenchOptions, rounds: int, execute_async: bool) -> dict:
    specs = graph_input_specs(json.loads((model_dir / "model.json").read_text(encoding="utf-8")))
    inputs = encode_tensors(sample_inputs(specs, 1)[0])
    bench_settings = {"warmup": options.warmup, "runs": options.runs, "maxRounds": options.max_rounds,
                      "maxSpread": options.max_spread, "calibrate": False, "topKernels": 5}
    server, url = serve(model_dir)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-agreement-") as work:
            script = Path(work) / "agreement.mjs"
            script.write_text(SCRIPT.replace("__BENCH_MJS__", (JS_DIR / "bench.mjs").as_uri()), encoding="utf-8")
            request = {"action": "bench", "format": "graph", "backend": backend, "modelUrl": url, "inputs": inputs,
                       "outputs": None, "executeAsync": execute_async, "nodeDir": str(node_modules_dir().resolve()),
                       "bench": bench_settings, "rounds": rounds}
            done = subprocess.run([shutil.which("node") or "node", str(script)], input=json.dumps(request),
                                  capture_output=True, text=True, timeout=3600)
            if done.returncode != 0 or not done.stdout:
                sys.exit(f"node failed ({done.returncode}):\n{done.stderr[-3000:]}")
            return dict(json.loads(done.stdout))
    finally:
        server.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path, help="a built graph model folder (model.json + shards)")
    parser.add_argument("--backend", default="wasm", choices=("cpu", "wasm"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions of each measurement")
    parser.add_argument("--single-round", action="store_true",
                        help="the harness times one round only (no reruns while the spread is wide, which keep the "
                             "quietest round): compares the timed loops alone on a busy machine")
    parser.add_argument("--api", choices=("executeAsync", "execute"), default="executeAsync",
                        help="what both time (the harness is told, as verify's runner can be): executeAsync "
                             "(default, as the issue's loop) or execute (what bench uses for graphs without dynamic ops)")
    args = parser.parse_args()
    options = BenchOptions(runs=args.runs, warmup=args.warmup, max_rounds=1 if args.single_round else MAX_ROUNDS)
    result = measure(args.model_dir, args.backend, options, args.rounds, args.api == "executeAsync")
    hand = [round(m, 3) for m in result["hand"]]
    ours = [round(r["median"], 3) for r in result["harness"]]
    hand_median, ours_median = statistics.median(hand), statistics.median(ours)
    ratio = ours_median / hand_median
    print(f"{args.model_dir} on {args.backend}: {args.runs} timed runs after {args.warmup} warm-ups, "
          f"{args.rounds} interleaved rounds each, one node process")
    print(f"hand-written loop ({args.api} + data()): medians {hand} ms -> {hand_median:.3f} ms")
    print(f"tfjs-build bench harness ({args.api}): medians {ours} ms -> {ours_median:.3f} ms "
          f"(timing rounds used: {[r['rounds'] for r in result['harness']]})")
    verdict = "within" if abs(ratio - 1) <= TOLERANCE else "NOT within"
    print(f"harness / hand-written = {ratio:.3f}: {verdict} {TOLERANCE:.0%}")
    return 0 if abs(ratio - 1) <= TOLERANCE else 1


if __name__ == "__main__":
    raise SystemExit(main())
