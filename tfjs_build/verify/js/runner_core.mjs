// One request in, one response out: load a converted model in TF.js, run it, encode the results
// (or, for action 'batch', each of many small graph models in turn, in this one process).
// Shared by the node runner (cpu, wasm) and the Chromium page (webgl), so all backends are
// driven by exactly the same code. `codec` turns base64 into bytes and back on each platform.

const TYPED = { float32: Float32Array, int32: Int32Array, bool: Uint8Array };

export function decodeTensor(tf, codec, spec) {
  if (spec.dtype === 'string') {
    return tf.tensor(spec.strings.map((s) => codec.decode(s)), spec.shape, 'string');
  }
  const Typed = TYPED[spec.dtype];
  if (Typed == null) throw new Error(`input '${spec.name}': unsupported dtype ${spec.dtype}`);
  const bytes = codec.decode(spec.data);
  return tf.tensor(new Typed(bytes.buffer, bytes.byteOffset, bytes.length / Typed.BYTES_PER_ELEMENT), spec.shape, spec.dtype);
}

async function encodeTensor(codec, name, tensor) {
  const out = { name, dtype: tensor.dtype, shape: tensor.shape };
  if (tensor.dtype === 'string') {
    out.strings = (await tensor.bytes()).map((b) => codec.encode(b));
  } else if (TYPED[tensor.dtype] != null) {
    const data = await tensor.data();
    out.data = codec.encode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } else {
    throw new Error(`output '${name}': unsupported dtype ${tensor.dtype}`);
  }
  return out;
}

function asList(result) {
  return Array.isArray(result) ? result : [result];
}

function isDynamicOpError(err) {
  return /use model\.executeAsync\(\)/.test(String(err && err.message));
}

// Graph models: inputs keyed by signature key; outputs requested and returned by signature key.
async function runGraph(tf, model, inputs, req) {
  const names = req.outputs || model.outputNodes;
  let mode = req.executeAsync === true ? 'executeAsync' : 'execute';
  let result;
  try {
    result = mode === 'execute' ? model.execute(inputs, names) : await model.executeAsync(inputs, names);
  } catch (err) {
    if (req.executeAsync != null || mode !== 'execute' || !isDynamicOpError(err)) throw err;
    mode = 'executeAsync';
    result = await model.executeAsync(inputs, names);
  }
  return { mode, named: asList(result).map((t, i) => [names[i], t]) };
}

// Layers models are keyed by the names of their input and output layers (what Keras users
// named them; Sequential models leave model.inputNames empty, so read the symbolic tensors).
function layersNames(symbolic) {
  const names = symbolic.map((t) => t.sourceLayer.name);
  return new Set(names).size === names.length ? names : symbolic.map((t) => t.name);
}

function orderedLayersInputs(model, inputs) {
  const names = layersNames(model.inputs);
  return names.map((name) => {
    if (inputs[name] == null) throw new Error(`layers model expects inputs [${names}], got [${Object.keys(inputs)}]`);
    return inputs[name];
  });
}

async function runLayers(tf, model, inputs, req) {
  const xs = orderedLayersInputs(model, inputs);
  const result = model.predict(xs.length === 1 ? xs[0] : xs);
  const outputNames = layersNames(model.outputs);
  const named = asList(result).map((t, i) => [outputNames[i], t]);
  const wanted = req.outputs;
  return { mode: 'predict', named: wanted ? named.filter(([n]) => wanted.includes(n)) : named };
}

// One optimizer step of model.fit, to prove a converted layers model trains in TF.js.
async function fitOneStep(tf, model, inputs, req, codec) {
  const xs = orderedLayersInputs(model, inputs);
  const ys = layersNames(model.outputs).map((name) => {
    const spec = req.fit.targets.find((t) => t.name === name);
    if (spec == null) throw new Error(`fit_one_step: no target for output '${name}'`);
    return decodeTensor(tf, codec, spec);
  });
  model.compile({ optimizer: tf.train.sgd(req.fit.learningRate), loss: req.fit.loss });
  const x = xs.length === 1 ? xs[0] : xs;
  const y = ys.length === 1 ? ys[0] : ys;
  const history = await model.fit(x, y, { epochs: 1, batchSize: xs[0].shape[0], shuffle: false, verbose: 0 });
  const after = asList(model.evaluate(x, y, { batchSize: xs[0].shape[0] }))[0];
  const named = model.weights.map((w) => [w.originalName || w.name, w.read()]);
  named.push(['loss_before', tf.scalar(history.history.loss[0])]);
  named.push(['loss_after', after]);
  return { mode: 'fit', named };
}

// One inference with its outputs read back (only then has TF.js really finished computing) and
// released; returns how it ran, so later runs can skip execute's dynamic-op retry.
export async function inferOnce(tf, model, inputs, req) {
  const ran = await (req.format === 'layers' ? runLayers : runGraph)(tf, model, inputs, req);
  await Promise.all(ran.named.map(([, t]) => t.data()));
  tf.dispose(ran.named.map(([, t]) => t));
  return ran.mode;
}

// Milliseconds of each of `count` calls of `once` (performance.now: node and browsers alike).
export async function timedRuns(once, count) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await once();
    times.push(performance.now() - start);
  }
  return times;
}

// Inference timing (action 'time'): warm-up runs are discarded; the first also settles execute vs executeAsync.
async function timeRuns(tf, model, inputs, req) {
  const mode = await inferOnce(tf, model, inputs, req);
  const settled = { ...req, executeAsync: mode === 'executeAsync' };
  const once = () => inferOnce(tf, model, inputs, settled);
  for (let i = 1; i < req.timing.warmup; i++) await once();
  const times = await timedRuns(once, req.timing.runs);
  return { mode, named: [['times_ms', tf.tensor1d(times, 'float32')]] };
}

export async function load(tf, req) {
  return req.format === 'layers' ? tf.loadLayersModel(req.modelUrl) : tf.loadGraphModel(req.modelUrl);
}

export async function run(tf, req, codec) {
  if (req.action === 'bench') return (await import('./bench.mjs')).bench(tf, req, codec);
  let stage = 'backend';
  try {
    if (!(await tf.setBackend(req.backend))) throw new Error(`backend '${req.backend}' failed to initialise`);
    await tf.ready();
    stage = 'load';
    const model = await load(tf, req);
    stage = 'execute';
    const inputs = Object.fromEntries(req.inputs.map((spec) => [spec.name, decodeTensor(tf, codec, spec)]));
    let ran;
    if (req.action === 'fit_one_step') ran = await fitOneStep(tf, model, inputs, req, codec);
    else if (req.action === 'time') ran = await timeRuns(tf, model, inputs, req);
    else if (req.format === 'layers') ran = await runLayers(tf, model, inputs, req);
    else ran = await runGraph(tf, model, inputs, req);
    const outputs = [];
    for (const [name, t] of ran.named) outputs.push(await encodeTensor(codec, name, t));
    return { ok: true, backend: tf.getBackend(), mode: ran.mode, outputs };
  } catch (err) {
    // A wasm trap (memory access out of bounds) or a view past wasm's memory (RangeError: offset is
    // out of bounds) may leave the backend broken for later models.
    const trap = typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError;
    const fatal = trap || (req.backend === 'wasm' && err instanceof RangeError);
    return { ok: false, stage, error: String((err && err.message) || err), fatal };
  }
}

// Many small models in one process (differential tests of hundreds of patterns): each item
// ({modelUrl, inputs}) runs like a single request and gets its own result; one failing model does
// not stop the others. Each model's tensors are released before the next one loads. After a wasm
// trap, or when releasing fails (a model left the backend broken: wasm's memory after a tensor of
// shape [null, 1]), the batch stops there and says so: the caller goes on in a fresh process.
async function runBatch(tf, req, codec) {
  const results = [];
  for (const item of req.items) {
    tf.engine().startScope();
    const result = await run(tf, { ...req, ...item, action: 'predict' }, codec);
    results.push(result);
    try {
      tf.engine().endScope();
    } catch (err) {
      return { ok: true, results, stopped: String((err && err.message) || err) };
    }
    if (result.fatal) return { ok: true, results, stopped: result.error };
    if (result.ok && result.outputs.some((o) => !o.shape.every(Number.isInteger))) {
      return { ok: true, results, stopped: 'an output of invalid shape' };
    }
  }
  return { ok: true, results };
}

export function handle(tf, req, codec) {
  return req.action === 'batch' ? runBatch(tf, req, codec) : run(tf, req, codec);
}
