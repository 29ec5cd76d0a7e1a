// Every code example of docs/*.md (and each README example marked with an id and an expect) is
// run, and what it prints is compared with the `<!-- expect: … -->` comment beside it. A ```js
// or ```sh block of docs/ without an example marker fails the first test, so nothing rots
// silently. The markup is described in docs-examples-lib.mjs.
//
// Host examples are pages on http://127.0.0.1:8700 served with the CSP the SDK's hostCsp builds
// (per-response nonce, require-trusted-types-for 'script'); they must log exactly what the
// document says, throw nothing, and cause no CSP or Trusted Types violation. Plugin examples are
// pages on http://localhost:8701, worker examples scripts there; the JSON API is on :8702.
// (Those are the documented origins: the test serves them on free ports and rewrites the three
// origins in what it serves — see startSites.)
// Shell examples run the CLI built by `cargo build --features cli --bin plugin-warden`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envWith } from './helpers.mjs';
import {
  ROOT, collect, docFiles, markupProblems, examplesOf, siteFiles, startSites, runHostExample,
  runNodeExample, runShellExample, checkManifestExample, brokenLinks,
} from './docs-examples-lib.mjs';

const files = [...docFiles(), 'README.md'];
const strict = new Set(docFiles());
const blocks = collect(files);
const hosts = examplesOf(blocks, 'host');
const served = [...examplesOf(blocks, 'plugin'), ...examplesOf(blocks, 'worker'), ...examplesOf(blocks, 'script')];
const where = (ex) => `${ex.file}:${ex.line} (${ex.marker.id})`;

let env, dir;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pw-docs-examples-'));
});
after(async () => {
  await env?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('every ```js / ```sh block in docs/ is an example with a check, or marked none with a reason', () => {
  assert.ok(strict.size >= 3, `expected the three guides in docs/, found ${[...strict].join(', ')}`);
  assert.deepEqual(markupProblems(blocks, strict), []);
  assert.ok(hosts.length > 0 && examplesOf(blocks, 'shell').length > 0, 'no examples found at all');
});

test('links in docs/ resolve (files and #anchors)', () => {
  assert.deepEqual(brokenLinks([...strict]), []);
});

test('manifest examples validate (or fail at exactly the paths) as declared', async () => {
  for (const ex of examplesOf(blocks, 'manifest')) {
    const got = await checkManifestExample(ex);
    const want = ex.expect;
    assert.equal(got.valid, want.valid, `${where(ex)}: ${JSON.stringify(got)}`);
    if (want.paths) assert.deepEqual(got.paths, want.paths, `${where(ex)}: problem paths`);
  }
});

test('Node examples log what their documents say', async () => {
  for (const ex of examplesOf(blocks, 'node')) {
    const r = await runNodeExample(ex, dir);
    assert.deepEqual(r.errors, [], `${where(ex)} failed`);
    assert.deepEqual(r.log, ex.expect, `${where(ex)}: logged values`);
  }
});

test('shell examples (the CLI) exit and print what their documents say', async () => {
  const shells = examplesOf(blocks, 'shell');
  // Always ask cargo: it does nothing when the binary is current.
  const b = spawnSync('cargo', ['build', '--quiet', '--features', 'cli', '--bin', 'plugin-warden'], {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000,
  });
  assert.equal(b.status, 0, 'cargo build --features cli --bin plugin-warden failed');
  const binDir = join(ROOT, 'target/debug');
  assert.ok(existsSync(join(binDir, 'plugin-warden')));
  for (const ex of shells) {
    const r = await runShellExample(ex, dir, binDir);
    const want = { exit: 0, output: [], ...ex.expect };
    assert.equal(r.status, want.exit, `${where(ex)}: exit status; output:\n${r.output}`);
    for (const pattern of want.output) {
      assert.match(r.output, new RegExp(pattern, 'm'), `${where(ex)}: output`);
    }
  }
});

test('host examples (with the plugins and workers they mount) run under the host CSP as documented', async (t) => {
  env = await envWith(await startSites(siteFiles([...hosts, ...served]), 19620));
  for (const ex of hosts) {
    await t.test(where(ex), async () => {
      const r = await runHostExample(env.browser, ex, served, env.servers);
      assert.match(r.csp, /require-trusted-types-for 'script'; trusted-types plugin-warden$/, 'the page was not served under the Trusted Types CSP');
      assert.deepEqual(r.errors, [], 'the example threw');
      assert.deepEqual(r.log, ex.expect, 'logged values');
      assert.deepEqual(r.violations, [], 'CSP violations seen by the host document');
      assert.deepEqual(r.consoleViolations, [], 'CSP / Trusted Types violations in any frame');
      for (const [id, p] of Object.entries(r.plugins)) {
        const pl = served.find((s) => s.marker.id === id);
        assert.deepEqual(p.errors, [], `plugin example ${id} threw`);
        assert.deepEqual(p.log, pl.expect, `plugin example ${id}: logged values`);
        assert.deepEqual(p.violations, [], `plugin example ${id}: CSP violations`);
      }
    });
  }
});
