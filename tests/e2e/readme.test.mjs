// The README's host and plugin examples, run as written: each block after an
// `<!-- example: host -->` / `<!-- example: plugin -->` marker becomes a page, with only the
// package specifiers mapped to where the demo server serves the package.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { startServers } from '../../scripts/serve.mjs';
import { launch, watch } from '../../scripts/browser.mjs';

const root = new URL('../../', import.meta.url).pathname;
const readme = readFileSync(`${root}README.md`, 'utf8');
function example(name) {
  const m = readme.match(new RegExp(`<!-- example: ${name} -->\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``));
  assert.ok(m, `README has no ${name} example`);
  return m[1]
    .replaceAll("'plugin-warden/client'", "'/client/index.js'")
    .replaceAll("'plugin-warden'", "'/pkg/index.js'");
}

const HOST_DIR = `${root}www/host/readme-example`;
const PLUGIN_DIR = `${root}www/plugins/readme-example`;
let servers, browser;
before(async () => {
  mkdirSync(HOST_DIR, { recursive: true });
  mkdirSync(PLUGIN_DIR, { recursive: true });
  const host = example('host').replace('console.log(', 'window.readmeLog = window.readmeLog || []; window.readmeLog.push(')
    .replaceAll('console.log(', 'window.readmeLog.push(');
  writeFileSync(`${HOST_DIR}/example.js`, `${host}\nwindow.readmeDone = true;\n`);
  writeFileSync(`${HOST_DIR}/index.html`, '<!doctype html><meta charset="utf-8"><title>README host</title><div id="slot"></div><script type="module" src="./example.js"></script>');
  writeFileSync(`${PLUGIN_DIR}/example.js`, example('plugin'));
  writeFileSync(`${PLUGIN_DIR}/index.html`, '<!doctype html><meta charset="utf-8"><title>README plugin</title><script type="module" src="./example.js"></script><body></body>');
  servers = await startServers({ hostPort: 8700, pluginPort: 8701 });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await servers?.close();
  rmSync(HOST_DIR, { recursive: true, force: true });
  rmSync(PLUGIN_DIR, { recursive: true, force: true });
});

test('the README host and plugin examples run as written', async () => {
  const page = await browser.newPage();
  const seen = watch(page);
  await page.goto(`${servers.hostUrl}readme-example/`);
  await page.waitForFunction(() => window.readmeDone === true, null, { timeout: 20_000 });
  const log = await page.evaluate(() => window.readmeLog);
  assert.deepEqual(log, ['mounted', ['storage']]);
  const body = page.frameLocator('iframe').locator('body');
  await body.filter({ hasText: 'says' }).waitFor({ timeout: 10_000 });
  assert.equal(await body.textContent(), 'acme-notes says hello');
  assert.deepEqual(seen.violations, []);
  assert.deepEqual(seen.pageErrors, []);
});
