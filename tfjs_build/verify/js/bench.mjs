// Benchmark one model on one backend (action 'bench'), the way the TF.js docs advise: time the
// load, the cold first inference, then discard warm-ups and time N runs, each reading its outputs
// back. Shared by the node runner (cpu, wasm) and the Chromium page (webgl) through runner_core.
// The figures (median, p90, MAD) are computed here only; Python records what comes back.
import { decodeTensor, inferOnce, load, timedRuns } from './runner_core.mjs';

// The fixed reference workload of --calibrate: a 3x3 conv of 32 channels over 64x64 and a 256x256
// matmul (about 38M + 17M multiply-adds), constant inputs (no data-dependent speed). Latencies
// divided by its median are "x" units: what a model costs relative to this machine's speed. Large
// enough that kernels, not per-call overhead, take its time: at a tenth of this size (0.3 ms on
// wasm) its median moved 10% from one process to the next; now 3.4 ms on wasm, 5% at most.
const REFERENCE = { image: [1, 64, 64, 32], filter: [3, 3, 32, 32], matrix: [256, 256] };
// A timed sample lasts at least this long: faster work runs several times per sample (each run still
// reads its outputs back) and the sample counts their mean. A sub-millisecond run is otherwise at the
// mercy of timer granularity and of any single interruption (the quickstart's 0.09 ms on wasm: medians
// of two runs in a row differed by up to 40% with single-run samples, by 16% at most with 25 ms ones).
const MIN_SAMPLE_MS = 25;
// Warm-up lasts at least this long, whatever --warmup says: V8 keeps optimising TF.js's JavaScript
// for many runs: after 3 warm-ups the quickstart ran at 0.3 ms on wasm and was still getting faster
// from round to round; after 0.5 s still faster; after 2 s steady at 0.09 ms.
const MIN_WARMUP_MS = 2000;
// tf.profile also lists the op scopes that wrap kernels (fusedConv2d__op around FusedConv2D on
// cpu and wasm); counting both would count the same time twice.
const OP_SCOPE = /__op$/;

function quantile(sorted, q) {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

// median, p90 (nearest rank), MAD (median absolute deviation) and spread = p90 / median.
export function summarize(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = median(sorted);
  const p90 = quantile(sorted, 0.9);
  return { medianMs: mid, p90Ms: p90, madMs: median(sorted.map((t) => Math.abs(t - mid))), spread: p90 / mid, times };
}

// The discarded warm-up runs: at least `warmup` of them and MIN_WARMUP_MS in all; the last few, warm,
// choose how many runs make one sample of MIN_SAMPLE_MS.
export async function warmUp(once, warmup) {
  const times = [];
  const start = performance.now();
  while (times.length < Math.max(1, warmup) || performance.now() - start < MIN_WARMUP_MS) {
    times.push(...(await timedRuns(once, 1)));
  }
  const warm = median(times.slice(-Math.max(3, warmup)));
  return Math.max(1, Math.ceil(MIN_SAMPLE_MS / Math.max(warm, 1e-3)));
}

// Rounds of `runs` timed samples (each the mean of `loops` inferences) until one's spread is within
// maxSpread (at most maxRounds); the round with the lowest median is kept: noise from other processes
// only ever adds time.
export async function timedRounds(once, loops, opts) {
  const sample = async () => {
    for (let i = 0; i < loops; i++) await once();
  };
  const rounds = [];
  do {
    rounds.push(summarize((await timedRuns(sample, opts.runs)).map((t) => t / loops)));
  } while (rounds.at(-1).spread > opts.maxSpread && rounds.length < opts.maxRounds);
  const best = rounds.reduce((a, b) => (b.medianMs < a.medianMs ? b : a));
  return { ...best, loops, rounds: rounds.length, roundMedians: rounds.map((r) => r.medianMs) };
}

// One inference under tf.profile: peak engine bytes and the kernels that took the most time.
async function profileOnce(tf, once, top) {
  const info = await tf.profile(once);
  const byName = new Map();
  for (const k of info.kernels.filter((kernel) => !OP_SCOPE.test(kernel.name))) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;  // {error} when a timer is missing
    const entry = byName.get(k.name) || { name: k.name, ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls += 1;
    byName.set(k.name, entry);
  }
  const kernels = [...byName.values()].sort((a, b) => b.ms - a.ms || a.name.localeCompare(b.name));
  const totalMs = kernels.reduce((sum, k) => sum + k.ms, 0);
  return { peakBytes: info.peakBytes, kernelTotalMs: totalMs, kernels: kernels.slice(0, top) };
}

async function referenceMs(tf, opts) {
  const x = tf.fill(REFERENCE.image, 0.5);
  const w = tf.fill(REFERENCE.filter, 0.01);
  const a = tf.fill(REFERENCE.matrix, 0.01);
  const once = async () => {
    const y = tf.tidy(() => tf.matMul(a, a).add(tf.relu(tf.conv2d(x, w, 1, 'same')).mean()));
    await y.data();
    y.dispose();
  };
  const timed = await timedRounds(once, await warmUp(once, opts.warmup), opts);
  tf.dispose([x, w, a]);
  return timed.medianMs;
}

function glRenderer(tf) {
  const gl = tf.backend().gpgpu.gl;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}

// The browser's full version: the user agent string says only 156.0.0.0 (user-agent reduction).
async function chromiumVersion() {
  const data = navigator.userAgentData;
  const brands = data ? (await data.getHighEntropyValues(['fullVersionList'])).fullVersionList : [];
  const chromium = brands.find((b) => /Chrom/.test(b.brand));
  return chromium ? chromium.version : (/Chrome\/([\d.]+)/.exec(navigator.userAgent) || [])[1];
}

// What ran the benchmark: the machine descriptor's runtime half (Python adds CPU and cores).
async function environment(tf) {
  const env = { tfjs: tf.version.tfjs };
  const inNode = typeof process !== 'undefined' && process.versions != null && process.versions.node != null;
  if (inNode) env.node = process.version;
  else env.chromium = await chromiumVersion();
  if (tf.getBackend() === 'webgl') env.glRenderer = glRenderer(tf);
  return env;
}

// The figures travel as the runner's usual answer: one string output holding their JSON.
function asOutput(codec, figures) {
  const text = new TextEncoder().encode(JSON.stringify(figures));
  return { name: 'bench', dtype: 'string', shape: [], strings: [codec.encode(text)] };
}

// [what work() returned, its milliseconds]
async function measure(work) {
  const start = performance.now();
  const value = await work();
  return [value, performance.now() - start];
}

async function initBackend(tf, backend) {
  const ok = await tf.setBackend(backend);
  await tf.ready();
  return ok;
}

export async function bench(tf, req, codec) {
  const opts = req.bench;
  let stage = 'backend';
  try {
    const [ready, initMs] = await measure(() => initBackend(tf, req.backend));
    if (!ready) throw new Error(`backend '${req.backend}' failed to initialise`);
    stage = 'calibrate';  // first, as the machine's yardstick: before the model's memory and kernels are in play
    const reference = opts.calibrate ? await referenceMs(tf, opts) : null;
    stage = 'load';
    const [model, loadMs] = await measure(() => load(tf, req));
    stage = 'execute';
    const inputs = Object.fromEntries(req.inputs.map((spec) => [spec.name, decodeTensor(tf, codec, spec)]));
    const [mode, firstMs] = await measure(() => inferOnce(tf, model, inputs, req));
    const settled = { ...req, executeAsync: mode === 'executeAsync' };
    const once = () => inferOnce(tf, model, inputs, settled);
    const timed = await timedRounds(once, await warmUp(once, opts.warmup), opts);
    const residentBytes = tf.memory().numBytes;
    const profile = await profileOnce(tf, once, opts.topKernels);
    const figures = { initMs, loadMs, firstMs, ...timed, residentBytes, ...profile, referenceMs: reference,
      env: await environment(tf) };
    return { ok: true, backend: tf.getBackend(), mode, outputs: [asOutput(codec, figures)] };
  } catch (err) {
    return { ok: false, stage, error: String((err && err.message) || err) };
  }
}
