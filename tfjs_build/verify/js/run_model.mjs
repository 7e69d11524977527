// Node entry for the cpu and wasm backends: read one JSON request on stdin, write one JSON
// response on stdout. Packages are required from an explicit node_modules folder (the request's
// nodeDir) so the runner works wherever that folder was installed.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { handle } from './runner_core.mjs';

// TF.js greets and warns through console.log; keep stdout for the response alone.
console.log = console.info = console.warn = (...args) => process.stderr.write(args.join(' ') + '\n');

const codec = {
  decode: (b64) => {
    const buf = Buffer.from(b64, 'base64');
    const bytes = new Uint8Array(buf.length);
    bytes.set(buf);
    return bytes;
  },
  encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
};

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function loadTf(req) {
  const require = createRequire(import.meta.url);
  const tf = require(join(req.nodeDir, '@tensorflow', 'tfjs'));
  if (req.backend === 'wasm') {
    const wasm = require(join(req.nodeDir, '@tensorflow', 'tfjs-backend-wasm'));
    wasm.setWasmPaths(join(req.nodeDir, '@tensorflow', 'tfjs-backend-wasm', 'dist') + '/');
  }
  return tf;
}

const req = await readStdin();
const response = await handle(loadTf(req), req, codec);
process.stdout.write(JSON.stringify(response));
