// bench/delivery.py's browser: one headless Chromium page with one profile (so one HTTP cache) for the
// whole run. Each stdin line is a model's base URL: the page does what an app does (GET latest.json, then
// tf.loadGraphModel on the model.json it names, whose shards TF.js fetches) and runs the model once; one
// JSON line answers each. An empty line ends it. The bench counts requests and bytes at the server.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import readline from 'node:readline';

const [nodeDir, chromium, pageUrl, profile] = process.argv.slice(2);
const puppeteer = createRequire(import.meta.url)(join(nodeDir, 'puppeteer-core'));
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  userDataDir: profile,
  // a cache big enough for every model of the run: nothing is evicted between v1 and v2
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run',
         '--disable-quic', '--disk-cache-size=2147483647'],
});

async function load(base) {
  const pointer = await (await fetch(base + '/latest.json')).json();
  const model = await tf.loadGraphModel(base + '/' + pointer.model_json);
  const shape = model.inputs[0].shape.map((d) => (d > 0 ? d : 1));
  const y = model.predict(tf.zeros(shape));
  const values = await (Array.isArray(y) ? y[0] : y).data();
  model.dispose();
  return { digest: pointer.digest, outputs: values.length, finite: values.every(Number.isFinite) };
}

try {
  const page = await browser.newPage();
  page.on('pageerror', (err) => process.stderr.write(`[page error] ${err.message}\n`));
  await page.goto(pageUrl, { waitUntil: 'load' });
  await page.waitForFunction(() => typeof window.tf !== 'undefined', { timeout: 60000 });
  await page.evaluate(() => tf.setBackend('cpu'));
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (!line.trim()) break;
    let answer;
    try {
      answer = await page.evaluate(load, line.trim());
    } catch (err) {
      answer = { error: String((err && err.message) || err) };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  }
} finally {
  await browser.close();
}
