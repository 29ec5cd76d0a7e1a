// Signatures cross between the native CLI and the browser SDK, in both directions, over the
// one signed envelope (src/core/provenance.rs): manifest + code.
//   CLI → browser: `plugin-warden sign --manifest plugin.json` (RS256 with
//     tests/fixtures/cli/keys/rsa2048.pem, ES256 with p256.pem) signs a plugin; host.install(
//     manifest, { code, signature, publicKey }) in Chromium accepts it with the matching *.pub.pem
//     text as the key (or with no key, under trustedKeys), and refuses tampered code, a widened
//     manifest, another key, and the other algorithm's signature with SIGNATURE_INVALID. The
//     recorded vectors in tests/fixtures/cli/signed/ (CLI and OpenSSL signatures) install too.
//   browser → CLI: crypto.subtle makes P-256 and RSA-2048 keys and signs, in the page, the
//     envelope the page computes itself; `plugin-warden envelope` prints the same bytes, and
//     `plugin-warden verify --manifest` exits 0 for the code and 1 for tampered code, a widened
//     manifest or another key.
// The code carries non-ASCII text, so both sides must sign the same UTF-8 bytes.
// Uses the install harness page (www/host/install.html); ports 18900/18901.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEnv, openPage } from './helpers.mjs';

const REPO = new URL('../../', import.meta.url).pathname;
const CLI = join(REPO, 'target/debug/plugin-warden');
const KEYS = join(REPO, 'tests/fixtures/cli/keys');
const SIGNED = join(REPO, 'tests/fixtures/cli/signed');

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

let seq = 0;
/** A manifest with a fresh id, written the way an author writes plugin.json (indented). */
function manifest(extra = {}) {
  seq += 1;
  return { id: `cli-signed-${seq}`, name: `Signed ${seq} — ünïcödé`, version: '1.0.0', permissions: ['storage'], ...extra };
}

function writeManifest(m) {
  const file = join(dir, `${m.id}.json`);
  writeFileSync(file, `${JSON.stringify(m, null, 2)}\n`);
  return file;
}

let env, page, seen, dir;
before(async () => {
  // Always ask cargo: a binary left from an older checkout would test the wrong code (cargo
  // does nothing when it is current; the test command's native level has usually built it).
  const b = spawnSync('cargo', ['build', '--quiet', '--features', 'cli', '--bin', 'plugin-warden'], {
    cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000,
  });
  assert.equal(b.status, 0, 'cargo build --features cli --bin plugin-warden failed');
  assert.ok(existsSync(CLI), `${CLI} missing after the build`);
  dir = mkdtempSync(join(tmpdir(), 'pw-signatures-'));
  env = await startEnv(18900);
  ({ page, seen } = await openPage(env, 'install.html'));
});
after(async () => {
  await env?.close();
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

/** Sign `file` and its manifest with the CLI (through --out or stdout); the base64 signature text. */
function cliSign(key, manifestFile, file, viaOut) {
  const args = ['sign', '--key', join(KEYS, key), '--manifest', manifestFile, file];
  if (viaOut) {
    const out = `${file}.sig`;
    const r = cli(...args, '--out', out);
    assert.equal(r.status, 0, `sign --out: ${r.stderr}`);
    return readFileSync(out, 'utf8').trim();
  }
  const r = cli(...args);
  assert.equal(r.status, 0, `sign: ${r.stderr}`);
  return r.stdout.trim();
}

/** In the page: install `m` with `options` on a fresh host made with `hostOptions`. */
const attemptFresh = ({ m, options, hostOptions }) => {
  const H = window.installHarness;
  return H.attempt(new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory', ...hostOptions }), m, options);
};

const signedByCli = {};
for (const [label, priv, pub, otherPub, sigLen, viaOut] of CLI_KEYS) {
  test(`CLI → browser: ${label} signature from \`plugin-warden sign --manifest\` installs; tampered code, widened manifest, other key → SIGNATURE_INVALID`, async () => {
    const m = manifest();
    const file = join(dir, `plugin-${priv}.js`);
    writeFileSync(file, CODE);
    const signature = cliSign(priv, writeManifest(m), file, viaOut);
    assert.match(signature, /^[A-Za-z0-9+/]+=*$/, `standard base64 on one line: ${JSON.stringify(signature)}`);
    assert.equal(Buffer.from(signature, 'base64').length, sigLen, 'raw signature length');
    signedByCli[priv] = { m, signature };
    const publicKey = readFileSync(join(KEYS, pub), 'utf8');
    const otherKey = readFileSync(join(KEYS, otherPub), 'utf8');
    assert.match(publicKey, /^-----BEGIN PUBLIC KEY-----\n/);

    const run = (mm, options, hostOptions = {}) => page.evaluate(attemptFresh, { m: mm, options, hostOptions });
    const good = await run(m, { code: CODE, signature, publicKey });
    const tampered = await run(m, { code: tamper(CODE), signature, publicKey });
    const widened = await run({ ...m, permissions: ['storage', 'api:write'] }, { code: CODE, signature, publicKey });
    const other = await run(m, { code: CODE, signature, publicKey: otherKey });
    // The same PEM with its line breaks as CRLF still imports.
    const crlf = await run(m, { code: CODE, signature, publicKey: publicKey.replace(/\n/g, '\r\n') });
    const requireSigned = await run(m, { code: CODE, signature, publicKey }, { requireSignatures: true });
    // Under trustedKeys the key need not travel with the install.
    const trusted = await run(m, { code: CODE, signature }, { requireSignatures: true, trustedKeys: [otherKey, publicKey] });
    const untrusted = await run(m, { code: CODE, signature }, { trustedKeys: [otherKey] });
    assertInstalled(good, `${label}: CLI-signed code`);
    assertFailed(tampered, 'SIGNATURE_INVALID', `${label}: tampered code`);
    assertFailed(widened, 'SIGNATURE_INVALID', `${label}: manifest widened after signing`);
    assertFailed(other, 'SIGNATURE_INVALID', `${label}: other key`);
    assertInstalled(crlf, `${label}: CRLF PEM`);
    assertInstalled(requireSigned, `${label}: requireSignatures host`);
    assertInstalled(trusted, `${label}: trustedKeys host, no publicKey`);
    assertFailed(untrusted, 'SIGNATURE_INVALID', `${label}: signed by a key the host does not trust`);
    // The mount of the signed plugin works like any installed one.
    assert.deepEqual(requireSigned.mount, { pluginId: m.id, mode: 'shadow' });
  });
}

test('CLI → browser: an RS256 signature offered with the P-256 key (and vice versa) → SIGNATURE_INVALID', async () => {
  const rsa = signedByCli['rsa2048.pem'];
  const ec = signedByCli['p256.pem'];
  assert.ok(rsa && ec, 'the two CLI signing tests ran first');
  const rsaKey = readFileSync(join(KEYS, 'rsa2048.pub.pem'), 'utf8');
  const ecKey = readFileSync(join(KEYS, 'p256.pub.pem'), 'utf8');
  const rsaSigEcKey = await page.evaluate(attemptFresh, { m: rsa.m, options: { code: CODE, signature: rsa.signature, publicKey: ecKey } });
  const ecSigRsaKey = await page.evaluate(attemptFresh, { m: ec.m, options: { code: CODE, signature: ec.signature, publicKey: rsaKey } });
  assertFailed(rsaSigEcKey, 'SIGNATURE_INVALID', 'RSA signature, P-256 key');
  assertFailed(ecSigRsaKey, 'SIGNATURE_INVALID', 'ECDSA signature, RSA key');
});

test('the recorded vectors (tests/fixtures/cli/signed: CLI and OpenSSL signatures) install in the browser', async () => {
  const m = JSON.parse(readFileSync(join(SIGNED, 'plugin.json'), 'utf8'));
  const code = readFileSync(join(SIGNED, 'bundle.js'), 'utf8');
  const vectors = [
    ['CLI ES256 (raw r||s)', readFileSync(join(SIGNED, 'bundle.js.p256.sig'), 'utf8').trim(), 'p256.pub.pem'],
    ['OpenSSL ES256 (DER, base64)', readFileSync(join(SIGNED, 'bundle.js.p256.der.sig.b64'), 'utf8').trim(), 'p256.pub.pem'],
    ['OpenSSL RS256', readFileSync(join(SIGNED, 'bundle.js.rsa2048.sig')).toString('base64'), 'rsa2048.pub.pem'],
  ];
  for (const [label, signature, key] of vectors) {
    const publicKey = readFileSync(join(KEYS, key), 'utf8');
    const r = await page.evaluate(attemptFresh, { m, options: { code, signature, publicKey }, hostOptions: { requireSignatures: true } });
    assertInstalled(r, label);
    const bad = await page.evaluate(attemptFresh, { m, options: { code: `${code} `, signature, publicKey } });
    assertFailed(bad, 'SIGNATURE_INVALID', `${label}: one byte more`);
  }
});

test('the signature check (pkg/crypto.js, imported at the first signed install) cannot be loaded: that install fails MODULE_NOT_LOADED, not SIGNATURE_INVALID (no key was tried); the next install imports it and installs', async () => {
  const m = JSON.parse(readFileSync(join(SIGNED, 'plugin.json'), 'utf8'));
  const code = readFileSync(join(SIGNED, 'bundle.js'), 'utf8');
  const signature = readFileSync(join(SIGNED, 'bundle.js.p256.sig'), 'utf8').trim();
  const publicKey = readFileSync(join(KEYS, 'p256.pub.pem'), 'utf8');
  // A page of its own: this page imported the check already.
  const fresh = await openPage(env, 'install.html');
  try {
    let failing = true;
    const answers = [];
    await fresh.page.route('**/pkg/crypto.js', async (route) => {
      answers.push(failing ? '404' : 'server');
      if (failing) await route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
      else await route.continue();
    });
    const attempt = () => fresh.page.evaluate(attemptFresh, { m, options: { code, signature, publicKey } });
    const failed = await attempt();
    assertFailed(failed, 'MODULE_NOT_LOADED', 'crypto.js a 404');
    assert.match(failed.error.message, /crypto\.js could not be loaded/);
    failing = false;
    assertInstalled(await attempt(), 'crypto.js served');
    assert.deepEqual(answers, ['404', 'server']);
  } finally {
    await fresh.page.close();
  }
});

test('the shared vectors (tests/fixtures/cli/signed/vectors.json) get the verdicts `plugin-warden verify` gives (tests/signature.rs)', async () => {
  const spec = JSON.parse(readFileSync(join(SIGNED, 'vectors.json'), 'utf8'));
  const m = JSON.parse(readFileSync(join(SIGNED, spec.manifest), 'utf8'));
  const code = readFileSync(join(SIGNED, spec.code), 'utf8');
  /** A file as the browser gets it: printable ASCII text as is, anything else as base64. */
  const asText = (rel) => {
    const bytes = readFileSync(join(SIGNED, rel));
    const text = bytes.toString('latin1');
    return /^[\t\n\r\x20-\x7e]*$/.test(text) ? text : bytes.toString('base64');
  };
  assert.ok(spec.vectors.length >= 15);
  for (const v of spec.vectors) {
    const signature = asText(v.signature).trim();
    const keyText = asText(v.key);
    const forms = [['key text', keyText]];
    if (v.key.endsWith('.jwk')) forms.push(['JWK object', JSON.parse(keyText)]);
    for (const [form, publicKey] of forms) {
      const what = `${v.label} (${form})`;
      const r = await page.evaluate(attemptFresh, { m, options: { code, signature, publicKey }, hostOptions: { requireSignatures: true } });
      if (v.expect === 'ok') {
        assertInstalled(r, what);
      } else {
        assert.ok(r.error, `${what}: expected ${v.expect}, but it installed`);
        assert.equal(r.error.code, v.expect, `${what}: ${JSON.stringify(r.error)}`);
      }
    }
  }
});

test('the page and `plugin-warden envelope` compute the same envelope bytes (canonical JSON agrees)', async () => {
  // Member order, nesting, non-ASCII keys (sorted by UTF-16: U+10000 before U+E000), escapes.
  const m = { version: '1.0.0', id: 'canon', name: 'Ç “quoted” \\ \u0007 \u007f', '\u{10000}': [1, -2, true, null, { b: 'x', a: [] }], '\ue000': 'z', a: { z: 0, y: '' } };
  const file = join(dir, 'canon.js');
  writeFileSync(file, CODE);
  const fromCli = cli('envelope', '--manifest', writeManifest(m), file);
  assert.equal(fromCli.status, 0, fromCli.stderr);
  const fromPage = await page.evaluate(async ({ m, code }) => new TextDecoder().decode(await window.installHarness.envelope(m, code)), { m, code: CODE });
  assert.equal(fromPage, fromCli.stdout);
  assert.match(fromPage, /^plugin-warden\/signature\/v1\nmanifest-sha256 [0-9a-f]{64}\ncode-sha256 [0-9a-f]{64}\n$/);
});

/** SPKI base64 → PEM (64-column lines). */
function pem(spkiB64) {
  return `-----BEGIN PUBLIC KEY-----\n${spkiB64.match(/.{1,64}/g).join('\n')}\n-----END PUBLIC KEY-----\n`;
}

for (const kind of ['ecdsa', 'rsa']) {
  const label = kind === 'ecdsa' ? 'ECDSA P-256' : 'RSA-2048 RSASSA-PKCS1-v1_5';
  test(`browser → CLI: ${label} key and envelope signature from crypto.subtle; \`plugin-warden verify\` exits 0, tampered 1`, async () => {
    const m = manifest();
    const r = await page.evaluate(async ({ kind, code, m }) => {
      const H = window.installHarness;
      const pair = await H.keyPair(kind);
      const other = await H.keyPair(kind);
      return {
        signature: await H.sign(pair, m, code),
        spki: pair.spki,
        jwk: pair.jwk,
        otherSpki: other.spki,
        tampered: H.tamper(code),
      };
    }, { kind, code: CODE, m });
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
    const manifestFile = writeManifest(m);
    const widenedFile = join(dir, `${m.id}-widened.json`);
    writeFileSync(widenedFile, JSON.stringify({ ...m, permissions: ['storage', 'api:write'] }));

    const verify = (k, mf, f) => cli('verify', '--key', k, '--signature', sig, '--manifest', mf, f);
    const good = verify(key, manifestFile, code);
    assert.equal(good.status, 0, `verify (PEM): stdout ${good.stdout} stderr ${good.stderr}`);
    const viaJwk = verify(jwk, manifestFile, code);
    assert.equal(viaJwk.status, 0, `verify (JWK): stdout ${viaJwk.stdout} stderr ${viaJwk.stderr}`);
    const tampered = verify(key, manifestFile, bad);
    assert.equal(tampered.status, 1, `verify tampered: stdout ${tampered.stdout} stderr ${tampered.stderr}`);
    const widened = verify(key, widenedFile, code);
    assert.equal(widened.status, 1, `verify widened manifest: stdout ${widened.stdout} stderr ${widened.stderr}`);
    const wrongKey = verify(other, manifestFile, code);
    assert.equal(wrongKey.status, 1, `verify other key: stdout ${wrongKey.stdout} stderr ${wrongKey.stderr}`);

    // And back: the CLI signs the same files with a fixture key of the same kind, and the page
    // installs with that signature (the two directions agree on the bytes signed).
    const fixture = kind === 'ecdsa' ? 'p256' : 'rsa2048';
    const cliSig = cliSign(`${fixture}.pem`, manifestFile, code, false);
    const back = cli('verify', '--key', join(KEYS, `${fixture}.pub.pem`), '--signature', sig, '--manifest', manifestFile, code);
    assert.equal(back.status, 1, 'the page\'s signature does not verify under an unrelated fixture key');
    const installed = await page.evaluate(attemptFresh, {
      m, options: { code: readFileSync(code, 'utf8'), signature: cliSig, publicKey: readFileSync(join(KEYS, `${fixture}.pub.pem`), 'utf8') },
    });
    assertInstalled(installed, `${label}: CLI re-sign of the files the page signed`);
  });
}

test('the signatures page saw no CSP / Trusted Types violations or page errors', () => {
  assert.deepEqual(seen.violations, []);
  assert.deepEqual(seen.pageErrors, []);
});
