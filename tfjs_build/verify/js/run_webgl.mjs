// Node entry for the webgl backend: drive headless Chromium (SwiftShader WebGL) with puppeteer-core.
// The page and TF.js come from the same loopback server as the model; the request and response
// are the same JSON as run_model.mjs, so both runners share runner_core.mjs.
import { createRequire } from 'node:module';
import { join } from 'node:path';

// Only flags that keep Chromium headless, GPU-less (SwiftShader) and off the network. WebGL
// runs through SwiftShader with or without --disable-gpu (both checked with Debian's chromium 156).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function runInPage(req) {
  const puppeteer = createRequire(import.meta.url)(join(req.nodeDir, 'puppeteer-core'));
  const browser = await puppeteer.launch({
    executablePath: req.chromium,
    headless: true,
    userDataDir: req.userDataDir,
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await browser.newPage();
    page.on('console', (msg) => process.stderr.write(`[page] ${msg.text()}\n`));
    page.on('pageerror', (err) => process.stderr.write(`[page error] ${err.message}\n`));
    await page.goto(req.pageUrl, { waitUntil: 'load' });
    await page.waitForFunction(() => typeof window.runTfjs === 'function', { timeout: 60000 });
    return await page.evaluate((r) => window.runTfjs(r), req);
  } finally {
    await browser.close();
  }
}

const req = await readStdin();
let response;
try {
  response = await runInPage(req);
} catch (err) {
  response = { ok: false, stage: 'browser', error: String((err && err.message) || err) };
}
process.stdout.write(JSON.stringify(response));
