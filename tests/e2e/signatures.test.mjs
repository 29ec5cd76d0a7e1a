// Signatures cross between the native CLI and the browser SDK, in both directions:
//   CLI → browser: `plugin-warden sign` (RS256 with tests/fixtures/cli/keys/rsa2048.pem, ES256
//     with p256.pem) signs a plugin file; host.install(manifest, { code, signature, publicKey })
//     in Chromium accepts it with the matching *.pub.pem text as the key, and refuses tampered
//     code, another key, and the other algorithm's signature with SIGNATURE_INVALID.
//   browser → CLI: crypto.subtle makes P-256 and RSA-2048 keys and signs in the page; the
//     public key leaves as SPKI (wrapped as PEM) and as JWK; `plugin-warden verify` exits 0 for
//     the code and 1 for tampered code or another key.
// The code carries non-ASCII text, so both sides must sign the same UTF-8 bytes.
// Uses the install harness page (www/host/install.html); ports 18900/18901.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServers } from '../../scripts/serve.mjs';
import { launch, watch } from '../../scripts/browser.mjs';

const REPO = new URL('../../', import.meta.url).pathname;
const CLI = join(REPO, 'target/debug/plugin-warden');
const KEYS = join(REPO, 'tests/fixtures/cli/keys');

const CODE = '// Patents plugin — “signed” code, ünïcödé included\n'
  + 'export function hello(name) {\n  return `Hello, ${name}!`;\n}\n';

/** `code` with one ASCII byte changed (same rule as www/host/install.js `tamper`). */
function tamper(code, at = code.length - 2) {
  const c = code.charCodeAt(at);
  return code.slice(0, at) + String.fromCharCode(c === 0x41 ? 0x42 : 0x41) + code.slice(at + 1);
}

function cli(...args) {
  const r = spawnSync(CLI, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let servers, browser, page, seen, dir;
before(async () => {
  // Always ask cargo: a binary left from an older checkout would test the wrong code (cargo
  // does nothing when it is current; the test command's native level has usually built it).
  const b = spawnSync('cargo', ['build', '--quiet', '--features', 'cli', '--bin', 'plugin-warden'], {
    cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000,
  });
  assert.equal(b.status, 0, 'cargo build --features cli --bin plugin-warden failed');
  assert.ok(existsSync(CLI), `${CLI} missing after the build`);
  dir = mkdtempSync(join(tmpdir(), 'pw-signatures-'));
  servers = await startServers({ hostPort: 18900, pluginPort: 18901 });
  browser = await launch();
  page = await browser.newPage();
  seen = watch(page);
  await page.goto(`${servers.hostUrl}install.html`);
  await page.waitForFunction(() => document.body.dataset.ready || document.body.dataset.error, null, { timeout: 30_000 });
  const err = await page.evaluate(() => document.body.dataset.error);
  assert.equal(err, undefined, `harness page failed to start: ${err}`);
});
after(async () => {
  await browser?.close();
  await servers?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function assertFailed(r, code, what) {
  assert.ok(r.error, `${what}: expected ${code}, but it installed: ${JSON.stringify(r.info)}`);
  assert.equal(r.error.code, code, `${what}: error ${JSON.stringify(r.error)}`);
  assert.equal(r.error.name, 'PluginWardenError', what);
  assert.equal(r.isError, true, `${what}: rejects with an Error object`);
  assert.equal(r.status?.state, 'failed', `${what}: status ${JSON.stringify(r.status)}`);
  assert.equal(r.status?.code, code, `${what}: status ${JSON.stringify(r.status)}`);
}

function assertInstalled(r, what) {
  assert.equal(r.error, undefined, `${what}: expected an install, got ${JSON.stringify(r.error)}`);
  assert.equal(r.info.id, r.id, what);
  assert.deepEqual(r.info.status, { state: 'installed' }, what);
  assert.deepEqual(r.status, { state: 'installed' }, `${what}: status`);
}

const CLI_KEYS = [
  // [label, private key, public key, other public key, raw signature length, --out?]
  ['RSA-2048 (RS256)', 'rsa2048.pem', 'rsa2048.pub.pem', 'rsa2048-other.pub.pem', 256, true],
  ['ECDSA P-256 (ES256)', 'p256.pem', 'p256.pub.pem', 'p256-other.pub.pem', 64, false],
];

/** Sign `file` with the CLI (through --out or stdout); the base64 signature text. */
function cliSign(key, file, viaOut) {
  if (viaOut) {
    const out = `${file}.sig`;
    const r = cli('sign', '--key', join(KEYS, key), file, '--out', out);
    assert.equal(r.status, 0, `sign --out: ${r.stderr}`);
    return readFileSync(out, 'utf8').trim();
  }
  const r = cli('sign', '--key', join(KEYS, key), file);
  assert.equal(r.status, 0, `sign: ${r.stderr}`);
  return r.stdout.trim();
}

const signedByCli = {};
for (const [label, priv, pub, otherPub, sigLen, viaOut] of CLI_KEYS) {
  test(`CLI → browser: ${label} signature from \`plugin-warden sign\` installs with the PEM key; tampered code → SIGNATURE_INVALID`, async () => {
    const file = join(dir, `plugin-${priv}.js`);
    writeFileSync(file, CODE);
    const signature = cliSign(priv, file, viaOut);
    assert.match(signature, /^[A-Za-z0-9+/]+=*$/, `standard base64 on one line: ${JSON.stringify(signature)}`);
    assert.equal(Buffer.from(signature, 'base64').length, sigLen, 'raw signature length');
    signedByCli[priv] = signature;
    const publicKey = readFileSync(join(KEYS, pub), 'utf8');
    const otherKey = readFileSync(join(KEYS, otherPub), 'utf8');
    assert.match(publicKey, /^-----BEGIN PUBLIC KEY-----\n/);

    const r = await page.evaluate(async ({ code, signature, publicKey, otherKey }) => {
      const H = window.installHarness;
      const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory' });
      return {
        good: await H.attempt(host, H.manifest(), { code, signature, publicKey }, { mount: false }),
        tampered: await H.attempt(host, H.manifest(), { code: H.tamper(code), signature, publicKey }, { mount: false }),
        otherKey: await H.attempt(host, H.manifest(), { code, signature, publicKey: otherKey }, { mount: false }),
        // The same PEM with its line breaks as CRLF still imports.
        crlf: await H.attempt(host, H.manifest(), { code, signature, publicKey: publicKey.replace(/\n/g, '\r\n') }, { mount: false }),
        requireSigned: await H.attempt(
          new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory', requireSignatures: true }),
          H.manifest(), { code, signature, publicKey },
        ),
      };
    }, { code: CODE, signature, publicKey, otherKey });
    assertInstalled(r.good, `${label}: CLI-signed code`);
    assertFailed(r.tampered, 'SIGNATURE_INVALID', `${label}: tampered code`);
    assertFailed(r.otherKey, 'SIGNATURE_INVALID', `${label}: other key`);
    assertInstalled(r.crlf, `${label}: CRLF PEM`);
    assertInstalled(r.requireSigned, `${label}: requireSignatures host`);
    // The mount of the signed plugin works like any installed one.
    assert.deepEqual(r.requireSigned.mount, { pluginId: r.requireSigned.id, mode: 'shadow' });
  });
}

test('CLI → browser: an RS256 signature offered with the P-256 key (and vice versa) → SIGNATURE_INVALID', async () => {
  const rsa = signedByCli['rsa2048.pem'];
  const ec = signedByCli['p256.pem'];
  assert.ok(rsa && ec, 'the two CLI signing tests ran first');
  const r = await page.evaluate(async ({ code, rsa, ec, rsaKey, ecKey }) => {
    const H = window.installHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory' });
    return {
      rsaSigEcKey: await H.attempt(host, H.manifest(), { code, signature: rsa, publicKey: ecKey }, { mount: false }),
      ecSigRsaKey: await H.attempt(host, H.manifest(), { code, signature: ec, publicKey: rsaKey }, { mount: false }),
    };
  }, {
    code: CODE, rsa, ec,
    rsaKey: readFileSync(join(KEYS, 'rsa2048.pub.pem'), 'utf8'),
    ecKey: readFileSync(join(KEYS, 'p256.pub.pem'), 'utf8'),
  });
  assertFailed(r.rsaSigEcKey, 'SIGNATURE_INVALID', 'RSA signature, P-256 key');
  assertFailed(r.ecSigRsaKey, 'SIGNATURE_INVALID', 'ECDSA signature, RSA key');
});

/** SPKI base64 → PEM (64-column lines). */
function pem(spkiB64) {
  return `-----BEGIN PUBLIC KEY-----\n${spkiB64.match(/.{1,64}/g).join('\n')}\n-----END PUBLIC KEY-----\n`;
}

for (const kind of ['ecdsa', 'rsa']) {
  const label = kind === 'ecdsa' ? 'ECDSA P-256' : 'RSA-2048 RSASSA-PKCS1-v1_5';
  test(`browser → CLI: ${label} key and signature from crypto.subtle; \`plugin-warden verify\` exits 0, tampered 1`, async () => {
    const r = await page.evaluate(async ({ kind, code }) => {
      const H = window.installHarness;
      const pair = await H.keyPair(kind);
      const other = await H.keyPair(kind);
      return {
        signature: await H.sign(pair, code),
        spki: pair.spki,
        jwk: pair.jwk,
        otherSpki: other.spki,
        tampered: H.tamper(code),
      };
    }, { kind, code: CODE });
    assert.equal(r.tampered, tamper(CODE), 'page and node tamper the same byte');
    assert.notEqual(r.tampered, CODE);
    assert.equal(Buffer.from(r.signature, 'base64').length, kind === 'ecdsa' ? 64 : 256);

    const code = join(dir, `code-${kind}.js`);
    const bad = join(dir, `code-${kind}-tampered.js`);
    const sig = join(dir, `s-${kind}.sig`);
    const key = join(dir, `k-${kind}.pem`);
    const jwk = join(dir, `k-${kind}.jwk`);
    const other = join(dir, `other-${kind}.pem`);
    writeFileSync(code, CODE);
    writeFileSync(bad, r.tampered);
    writeFileSync(sig, `${r.signature}\n`);
    writeFileSync(key, pem(r.spki));
    writeFileSync(jwk, JSON.stringify(r.jwk));
    writeFileSync(other, pem(r.otherSpki));

    const good = cli('verify', '--key', key, '--signature', sig, code);
    assert.equal(good.status, 0, `verify (PEM): stdout ${good.stdout} stderr ${good.stderr}`);
    const viaJwk = cli('verify', '--key', jwk, '--signature', sig, code);
    assert.equal(viaJwk.status, 0, `verify (JWK): stdout ${viaJwk.stdout} stderr ${viaJwk.stderr}`);
    const tampered = cli('verify', '--key', key, '--signature', sig, bad);
    assert.equal(tampered.status, 1, `verify tampered: stdout ${tampered.stdout} stderr ${tampered.stderr}`);
    const wrongKey = cli('verify', '--key', other, '--signature', sig, code);
    assert.equal(wrongKey.status, 1, `verify other key: stdout ${wrongKey.stdout} stderr ${wrongKey.stderr}`);

    // And back: the CLI signs the same file with a fixture key of the same kind, and the page
    // verifies that signature (the two directions agree on the bytes signed).
    const fixture = kind === 'ecdsa' ? 'p256' : 'rsa2048';
    const cliSig = cliSign(`${fixture}.pem`, code, false);
    const back = cli('verify', '--key', join(KEYS, `${fixture}.pub.pem`), '--signature', sig, code);
    assert.equal(back.status, 1, 'the page\'s signature does not verify under an unrelated fixture key');
    const installed = await page.evaluate(async ({ code, signature, publicKey }) => {
      const H = window.installHarness;
      const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory' });
      return H.attempt(host, H.manifest(), { code, signature, publicKey }, { mount: false });
    }, { code: readFileSync(code, 'utf8'), signature: cliSig, publicKey: readFileSync(join(KEYS, `${fixture}.pub.pem`), 'utf8') });
    assertInstalled(installed, `${label}: CLI re-sign of the file the page signed`);
  });
}

test('the signatures page saw no CSP / Trusted Types violations or page errors', () => {
  assert.deepEqual(seen.violations, []);
  assert.deepEqual(seen.pageErrors, []);
});
