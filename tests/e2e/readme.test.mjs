// The README's host and plugin quick-start examples, run as written: the block after
// `<!-- example: host -->` becomes the page http://127.0.0.1:8700/readme-example/ and the block
// after `<!-- example: plugin -->` the plugin page http://localhost:8701/readme-example/ (the URL
// the host example mounts) — served on free ports, those origins rewritten to them. The pages get an import map for the package specifiers and the host
// CSP that hostCsp builds (require-trusted-types-for 'script'); see docs-examples-lib.mjs, which
// also runs the examples of docs/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ROOT, parseBlocks, siteFiles, startSites } from './docs-examples-lib.mjs';
import { envWith, openPage, waitInFrame } from './helpers.mjs';

const blocks = parseBlocks(readFileSync(`${ROOT}README.md`, 'utf8'), 'README.md');
function example(kind) {
  const found = blocks.filter((b) => b.marker?.kind === kind && !b.marker.id && b.lang === 'js');
  assert.equal(found.length, 1, `README has ${found.length} unnamed ${kind} examples; expected 1`);
  return { ...found[0], marker: { kind, id: 'readme-example' } };
}

let env;
before(async () => {
  env = await envWith(await startSites(siteFiles([example('host'), example('plugin')]), 19660));
});
after(() => env?.close());

test('the README host and plugin examples run as written', async () => {
  const { page, seen: { violations, pageErrors } } = await openPage(env, 'readme-example/', { ready: false });
  await page.waitForFunction(() => self.__docs && (self.__docs.log.length >= 2 || self.__docs.errors.length > 0), null, { timeout: 20_000 });
  const docs = await page.evaluate(() => self.__docs);
  assert.deepEqual(docs.errors, []);
  assert.deepEqual(docs.log, ['mounted', ['storage']]);
  const frame = page.frames().find((f) => f.url().startsWith(`${env.servers.pluginOrigin}/readme-example/`));
  assert.ok(frame, 'the plugin frame is not there');
  await waitInFrame(frame, () => document.body && document.body.textContent.includes('says'), null, { timeout: 10_000 });
  assert.equal(await frame.evaluate(() => document.body.textContent), 'acme-notes says hello');
  assert.deepEqual(docs.violations, []);
  assert.deepEqual(violations, []);
  assert.deepEqual(pageErrors, []);
});
