// The browser level of scripts/test.sh: the wasm-bindgen tests of tests/web.rs, in the same
// headless Chromium (and launch flags) as the e2e tests.
//
// Why not `wasm-pack test --headless --chrome`: through ChromeDriver, about half the runs on this
// machine hung before the test page ran a script (ChromeDriver: "Timed out receiving message from
// renderer: 299.974", the page stuck at "Loading scripts...", 300 s lost), whatever the tests
// were; the same page served by the same wasm-bindgen-test-runner and opened by playwright-core
// never did. So this builds the test wasm with cargo, serves it with wasm-bindgen-test-runner in
// its interactive mode (NO_HEADLESS), opens it with playwright-core and reads the harness's
// `#output` until its summary line.
//   node scripts/browser-tests.mjs [--test web]
import { spawn, spawnSync } from 'node:child_process';
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

async function main() {
  const wasm = build();
  const port = await freePort();
  const server = await serve(wasm, port);
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
    server.kill();
  }
  process.exit(ok ? 0 : 1);
}

main().catch((e) => { console.error(`browser tests: ${e.stack || e}`); process.exit(1); });
