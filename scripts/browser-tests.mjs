// The browser level of scripts/test.sh: the wasm-bindgen tests of tests/web.rs, in the same
// headless Chromium (and launch flags) as the e2e tests.
//
// Why not `wasm-pack test --headless --chrome`: through ChromeDriver, about half the runs on this
// machine hung before the test page ran a script (ChromeDriver: "Timed out receiving message from
// renderer: 299.974", the page stuck at "Loading scripts...", 300 s lost), whatever the tests
// were; the same page served by the same wasm-bindgen-test-runner and opened by playwright-core
// did far less often, and then too the page's first requests were never answered by the runner's
// server. So this builds the test wasm with cargo, serves it with wasm-bindgen-test-runner in its
// interactive mode (NO_HEADLESS) behind a small Node server (see `proxy`), opens it with
// playwright-core and reads the harness's `#output` until its summary line.
//   node scripts/browser-tests.mjs [--test web]
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { launch } from './browser.mjs';

const root = new URL('..', import.meta.url).pathname;
const testName = process.argv.includes('--test') ? process.argv[process.argv.indexOf('--test') + 1] : 'web';
const timeoutMs = Number(process.env.WASM_BINDGEN_TEST_TIMEOUT ?? 120) * 1000;

function build() {
  const r = spawnSync('cargo', ['test', '--target', 'wasm32-unknown-unknown', '--test', testName, '--no-run', '--message-format=json'],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`cargo test --no-run failed (exit ${r.status})`);
  const wasm = r.stdout.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } })
    .find((m) => m && m.reason === 'compiler-artifact' && m.target?.kind?.includes('test') && m.target.name === testName)?.executable;
  if (!wasm) throw new Error(`cargo built no test wasm named ${testName}`);
  return wasm;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function serve(wasm, port) {
  const child = spawn('wasm-bindgen-test-runner', [wasm], {
    cwd: root,
    env: { ...process.env, NO_HEADLESS: '1', WASM_BINDGEN_TEST_ONLY_WEB: '1', WASM_BINDGEN_TEST_ADDRESS: `127.0.0.1:${port}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wasm-bindgen-test-runner did not start: ${out}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('are now available at')) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`wasm-bindgen-test-runner exited (${code}): ${out}`)); });
  });
  return child;
}

/**
 * The browser talks to this Node server, which forwards each request to the runner's server.
 * The runner's server (tiny_http) sometimes never answers one of the page's first requests (the
 * page then stays at "Loading scripts..." with no script run: seen through ChromeDriver and
 * through playwright-core alike); a request it has not answered at all within 10 s is sent to
 * it again (at most 3 times). Anything it answers is passed on as it is.
 */
function proxy(target) {
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    let lastError = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const answer = await fetch(`http://127.0.0.1:${target}${req.url}`, {
          method: req.method, body, headers: { accept: req.headers.accept ?? '*/*' },
          signal: AbortSignal.timeout(10_000),
        });
        const bytes = Buffer.from(await answer.arrayBuffer());
        const headers = {};
        for (const [k, v] of answer.headers) if (!['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(k)) headers[k] = v;
        res.writeHead(answer.status, headers);
        res.end(bytes);
        if (attempt > 0) process.stdout.write(`browser tests: the test server answered ${req.url} only on attempt ${attempt + 1}\n`);
        return;
      } catch (e) {
        lastError = e;
      }
    }
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`the test server did not answer ${req.url}: ${lastError}`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function main() {
  const wasm = build();
  const runnerPort = await freePort();
  const server = await serve(wasm, runnerPort);
  const front = await proxy(runnerPort);
  const port = front.address().port;
  const browser = await launch();
  let ok = false;
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => process.stdout.write(`page error: ${e}\n`));
    await page.goto(`http://127.0.0.1:${port}/#wbg_style=visibility-hidden`, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    const deadline = Date.now() + timeoutMs;
    let shown = 0;
    for (;;) {
      const text = await page.evaluate(() => document.getElementById('output')?.textContent ?? '');
      if (text.length > shown) { process.stdout.write(text.slice(shown)); shown = text.length; }
      const summary = /test result: (ok|FAILED)\./.exec(text);
      if (summary) { ok = summary[1] === 'ok'; break; }
      if (Date.now() > deadline) {
        const logs = await page.evaluate(() => document.getElementById('console_output')?.textContent ?? '');
        process.stdout.write(`\nbrowser tests: no summary within ${timeoutMs / 1000} s\nconsole:\n${logs}\n`);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!ok) {
      const logs = await page.evaluate(() => document.getElementById('console_output')?.textContent ?? '');
      if (logs) process.stdout.write(`\nconsole output of the test page:\n${logs}\n`);
    }
  } finally {
    await browser.close();
    front.close();
    server.kill();
  }
  process.exit(ok ? 0 : 1);
}

main().catch((e) => { console.error(`browser tests: ${e.stack || e}`); process.exit(1); });
