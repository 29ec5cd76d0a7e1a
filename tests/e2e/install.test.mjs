// Install e2e: host.install() in Chromium, on a page served with the host CSP, for every failure
// of the pipeline (manifest → signature → SRI → analysis → compatibility) and a few successes.
// Each failure asserts the exact error `code`, that host.status(id) is {state:'failed', code}, and
// that mounting that id rejects with MOUNT_FAILED; a good plugin installed in the same host after
// it still installs, reports `installed` and mounts. Keys, signatures and SRI digests are made in
// the page with WebCrypto (http://127.0.0.1 is a secure context).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openPage } from './helpers.mjs';

let env, page, seen;
before(async () => {
  env = await startEnv(18810);
  ({ page, seen } = await openPage(env, 'install.html'));
});
after(() => env?.close());

const CODE = 'export function hello(name) {\n  return `Hello, ${name}!`;\n}\n';

/** An install that failed with `code`: error, status and mount all agree. */
function assertFailed(r, code, what = r.id) {
  assert.ok(r.error, `${what}: expected ${code}, but it installed: ${JSON.stringify(r.info)}`);
  assert.equal(r.error.code, code, `${what}: error ${JSON.stringify(r.error)}`);
  assert.equal(r.error.name, 'PluginWardenError');
  assert.equal(r.isError, true, 'rejects with an Error object');
  assert.ok(r.status, `${what}: status threw ${JSON.stringify(r.statusError)}`);
  assert.equal(r.status.state, 'failed', `${what}: status ${JSON.stringify(r.status)}`);
  assert.equal(r.status.code, code, `${what}: status ${JSON.stringify(r.status)}`);
  assert.equal(typeof r.status.message, 'string');
  assert.ok(r.mountError, `${what}: mounting a failed plugin resolved: ${JSON.stringify(r.mount)}`);
  assert.equal(r.mountError.code, 'MOUNT_FAILED', `${what}: mount error ${JSON.stringify(r.mountError)}`);
  assert.match(r.mountError.message, new RegExp(code), 'the mount error names the install failure');
}

/** An install that succeeded: info, status, and a shadow mount that reaches `mounted`. */
function assertInstalled(r, what = r.id) {
  assert.equal(r.error, undefined, `${what}: expected an install, got ${JSON.stringify(r.error)}`);
  assert.equal(r.info.id, r.id);
  assert.deepEqual(r.info.status, { state: 'installed' });
  assert.ok(Array.isArray(r.info.warnings));
  assert.deepEqual(r.status, { state: 'installed' }, `${what}: status`);
  assert.equal(r.mountError, undefined, `${what}: mount failed ${JSON.stringify(r.mountError)}`);
  assert.deepEqual(r.mount, { pluginId: r.id, mode: 'shadow' });
  assert.deepEqual(r.mountedStatus, { state: 'mounted' });
  assert.deepEqual(r.afterUnmount, { state: 'installed' });
}

test('INVALID_MANIFEST: a bad id (message names the JSON path); a nested problem names its path', async () => {
  const r = await page.evaluate(async () => {
    const H = window.installHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory' });
    const badId = await H.attempt(host, { id: 'Bad_Plugin', name: 'Bad', version: '1.0.0' });
    const nested = await H.attempt(host, {
      id: 'nested-bad', name: 'Nested', version: '1.0.0',
      roles: [{ role: { name: 'R', permissions: [{ action: 'nested-bad.things:read' }] }, grants: ['Superuser'] }],
    });
    const good = await H.attempt(host, H.manifest());
    return { badId, nested, good };
  });
  assertFailed(r.badId, 'INVALID_MANIFEST');
  assert.match(r.badId.error.message, /(^|\n- )id: /m, `message names the path \`id\`: ${r.badId.error.message}`);
  assert.match(r.badId.error.message, /Bad_Plugin/);
  assertFailed(r.nested, 'INVALID_MANIFEST');
  assert.match(r.nested.error.message, /roles\[0\]\.grants\[0\]: /, r.nested.error.message);
  assertInstalled(r.good);
});

test('INVALID_MANIFEST for the id of an installed plugin leaves that plugin installed', async () => {
  const r = await page.evaluate(async () => {
    const H = window.installHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory' });
    const m = H.manifest();
    const first = await H.attempt(host, m, undefined);
    const again = await H.attempt(host, { ...m, name: 7 }, undefined);
    return { first, again };
  });
  assert.equal(r.first.error, undefined);
  assert.equal(r.again.error?.code, 'INVALID_MANIFEST', JSON.stringify(r.again.error));
  assert.deepEqual(r.again.status, { state: 'installed' });
});

for (const kind of ['ecdsa', 'rsa']) {
  const label = kind === 'ecdsa' ? 'ECDSA P-256' : 'RSA-2048 RSASSA-PKCS1-v1_5';
  test(`SIGNATURE_INVALID: ${label} signature round trip, key as JWK and as SPKI base64; one tampered byte fails`, async () => {
    const r = await page.evaluate(async ({ kind, code }) => {
      const H = window.installHarness;
      const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory' });
      const pair = await H.keyPair(kind);
      const tampered = H.tamper(code);
      const out = { jwkKty: pair.jwk.kty, spkiLength: pair.spki.length, tamperedDiffers: tampered !== code };
      for (const form of ['jwk', 'spki']) {
        const publicKey = pair[form];
        const m1 = H.manifest();
        out[`${form}Tampered`] = await H.attempt(host, m1, { code: tampered, signature: await H.sign(pair, m1, code), publicKey });
        const m2 = H.manifest();
        out[`${form}Good`] = await H.attempt(host, m2, { code, signature: await H.sign(pair, m2, code), publicKey });
        // The same id that failed can be installed once the code is right.
        const retry = { id: out[`${form}Tampered`].id, name: 'Retry', version: '1.0.0' };
        out[`${form}Retry`] = await H.attempt(host, retry, { code, signature: await H.sign(pair, retry, code), publicKey });
        // The signed manifest with one permission added: the signature covers the manifest too.
        const m3 = H.manifest();
        const widened = { ...m3, permissions: ['storage'] };
        out[`${form}Widened`] = await H.attempt(host, widened, { code, signature: await H.sign(pair, m3, code), publicKey });
      }
      // Wrong key (another pair of the same kind) and a corrupted signature.
      const other = await H.keyPair(kind);
      const m4 = H.manifest();
      const signature = await H.sign(pair, m4, code);
      out.wrongKey = await H.attempt(host, m4, { code, signature, publicKey: other.jwk });
      const m5 = H.manifest();
      const sigBytes = atob(await H.sign(pair, m5, code));
      const badSig = btoa(sigBytes.slice(0, 10) + String.fromCharCode(sigBytes.charCodeAt(10) ^ 1) + sigBytes.slice(11));
      out.flippedSignature = await H.attempt(host, m5, { code, signature: badSig, publicKey: pair.spki });
      const m6 = H.manifest();
      out.missingKey = await H.attempt(host, m6, { code, signature: await H.sign(pair, m6, code) });
      out.afterAll = await H.attempt(host, H.manifest());
      return out;
    }, { kind, code: CODE });
    assert.equal(r.tamperedDiffers, true);
    assert.equal(r.jwkKty, kind === 'ecdsa' ? 'EC' : 'RSA');
    for (const form of ['jwk', 'spki']) {
      assertFailed(r[`${form}Tampered`], 'SIGNATURE_INVALID', `${form} tampered`);
      assertInstalled(r[`${form}Good`], `${form} untampered`);
      assertInstalled(r[`${form}Retry`], `${form} retry of the failed id`);
      assertFailed(r[`${form}Widened`], 'SIGNATURE_INVALID', `${form} manifest widened after signing`);
    }
    assertFailed(r.wrongKey, 'SIGNATURE_INVALID', 'wrong key');
    assertFailed(r.flippedSignature, 'SIGNATURE_INVALID', 'flipped signature bit');
    assertFailed(r.missingKey, 'SIGNATURE_INVALID', 'signature without publicKey');
    assertInstalled(r.afterAll);
  });
}

test('SIGNATURE_INVALID: a requireSignatures host refuses unsigned code and accepts signed code', async () => {
  const r = await page.evaluate(async (code) => {
    const H = window.installHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory', requireSignatures: true });
    const pair = await H.keyPair('ecdsa');
    const m = H.manifest();
    const signature = await H.sign(pair, m, code);
    return {
      unsigned: await H.attempt(host, H.manifest(), { code }),
      noCode: await H.attempt(host, H.manifest()),
      signed: await H.attempt(host, m, { code, signature, publicKey: pair.jwk }),
    };
  }, CODE);
  assertFailed(r.unsigned, 'SIGNATURE_INVALID', 'unsigned');
  assert.match(r.unsigned.error.message, /requires signed plugins/);
  assertFailed(r.noCode, 'SIGNATURE_INVALID', 'no code at all');
  assertInstalled(r.signed, 'signed');
});

test('signedBytes(manifest, code) is the envelope the page computes on its own, for objects and JSON text', async () => {
  const r = await page.evaluate(async (code) => {
    const H = window.installHarness;
    const m = H.manifest({ permissions: ['storage'], description: 'é “x” \u0001' });
    const dec = (bytes) => new TextDecoder().decode(bytes);
    let bad;
    try { H.signedBytes(42, code); } catch (e) { bad = e.code; }
    return {
      fromObject: dec(H.signedBytes(m, code)),
      fromText: dec(H.signedBytes(JSON.stringify(m, null, 2), code)),
      independent: dec(await H.envelope(m, code)),
      otherCode: dec(H.signedBytes(m, `${code} `)),
      bad,
    };
  }, CODE);
  assert.match(r.independent, /^plugin-warden\/signature\/v1\nmanifest-sha256 [0-9a-f]{64}\ncode-sha256 [0-9a-f]{64}\n$/);
  assert.equal(r.fromObject, r.independent);
  assert.equal(r.fromText, r.independent);
  assert.notEqual(r.otherCode, r.independent);
  assert.equal(r.bad, 'INVALID_ARGUMENT');
});

test('trustedKeys: only the host\'s keys verify; publicKey may be omitted and, if given, must be trusted', async () => {
  const r = await page.evaluate(async (code) => {
    const H = window.installHarness;
    const author = await H.keyPair('ecdsa');
    const stranger = await H.keyPair('rsa');
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory', requireSignatures: true, trustedKeys: [author.spki] });
    const signed = async (pair, extra = {}) => { const m = H.manifest(); return [m, { code, signature: await H.sign(pair, m, code), ...extra }]; };
    const out = {};
    out.noPublicKey = await H.attempt(host, ...(await signed(author)));
    // The same key as a JWK is the same key.
    out.trustedAsJwk = await H.attempt(host, ...(await signed(author, { publicKey: author.jwk })));
    out.strangerWithKey = await H.attempt(host, ...(await signed(stranger, { publicKey: stranger.jwk })));
    out.strangerNoKey = await H.attempt(host, ...(await signed(stranger)));
    for (const [name, trustedKeys] of [['empty', []], ['garbage', ['not a key']]]) {
      try { new H.PluginHost({ storage: 'memory', trustedKeys }); out[name] = 'constructed'; } catch (e) { out[name] = { code: e.code, message: e.message }; }
    }
    return out;
  }, CODE);
  assertInstalled(r.noPublicKey, 'signed by a trusted key, no publicKey');
  assertInstalled(r.trustedAsJwk, 'trusted key given as JWK');
  assertFailed(r.strangerWithKey, 'SIGNATURE_INVALID', 'untrusted key offered as publicKey');
  assert.match(r.strangerWithKey.error.message, /trustedKeys/);
  assertFailed(r.strangerNoKey, 'SIGNATURE_INVALID', 'signed by an untrusted key');
  assert.equal(r.empty.code, 'INVALID_ARGUMENT', JSON.stringify(r.empty));
  assert.equal(r.garbage.code, 'INVALID_ARGUMENT', JSON.stringify(r.garbage));
  assert.match(r.garbage.message, /trustedKeys\[0\]/);
});

test('mount-time code (worker and bundle iframe) is checked like install code: signature (requireSignatures), entry.integrity, analysis', async () => {
  const r = await page.evaluate(async (code) => {
    const H = window.installHarness;
    const notes = [];
    const host = new H.PluginHost({ storage: 'memory', requireSignatures: true, onNotify: (n) => notes.push(n.message) });
    const pair = await H.keyPair('ecdsa');
    const m = H.manifest({ permissions: ['ui:notify'] });
    await host.install(m, { code, signature: await H.sign(pair, m, code), publicKey: pair.jwk });
    const update = "const sdk = await pluginWarden.connect(); await sdk.ui.notify('updated code runs');";
    const frames = () => document.querySelectorAll('iframe').length;
    /** Until the mounted plugin's notify arrives (up to 10 s: a slow machine). */
    const firstNote = async () => {
      for (let i = 0; i < 500 && !notes.length; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const mount = async (options, settle = async () => {}) => {
      const el = document.createElement('div');
      document.body.append(el);
      const before = frames();
      try {
        const info = await host.mount(m.id, el, { mode: 'worker', ...options });
        await settle();
        return { info, status: host.status(m.id) };
      } catch (e) {
        return { error: { code: e.code, message: e.message }, framesAdded: frames() - before, status: host.status(m.id) };
      } finally {
        try { host.unmount(m.id); } catch { /* not mounted */ }
      }
    };
    const widened = { ...m, permissions: ['ui:notify', 'storage'] };
    const out = {
      unsigned: await mount({ code: update }),
      otherManifest: await mount({ code: update, signature: await H.sign(pair, widened, update) }),
      otherKey: await mount({ code: update, signature: await H.sign(await H.keyPair('ecdsa'), m, update) }),
      badType: await mount({ code: update, signature: 42 }),
      signatureWithoutCode: await mount({ signature: await H.sign(pair, m, update) }),
      hostile: await mount({ code: 'eval(location.hash)', signature: await H.sign(pair, m, 'eval(location.hash)') }),
      signed: await mount({ code: update, signature: await H.sign(pair, m, update) }, firstNote),
    };
    out.notes = notes;
    // A bundle iframe built from mount-time code goes through the same checks.
    notes.length = 0;
    const bundle = async (options) => {
      const el = document.createElement('div');
      document.body.append(el);
      const before = frames();
      try {
        const info = await host.mount(m.id, el, { mode: 'iframe', ...options });
        await firstNote();
        return { info };
      } catch (e) {
        return { error: { code: e.code, message: e.message }, framesAdded: frames() - before };
      } finally {
        try { host.unmount(m.id); } catch { /* not mounted */ }
      }
    };
    out.bundleUnsigned = await bundle({ code: update });
    out.bundleOtherManifest = await bundle({ code: update, signature: await H.sign(pair, widened, update) });
    out.bundleSigned = await bundle({ code: update, signature: await H.sign(pair, m, update) });
    out.bundleNotes = [...notes];
    // Without requireSignatures, entry.integrity still holds mount-time code to the reviewed bytes.
    const plain = new H.PluginHost({ storage: 'memory' });
    const pinned = H.manifest({ entry: { src: 'https://plugins.example/p/', integrity: await H.sri(code) } });
    await plain.install(pinned, { code });
    const el = document.createElement('div');
    document.body.append(el);
    try { await plain.mount(pinned.id, el, { mode: 'worker', code: update }); out.pinned = 'mounted'; } catch (e) { out.pinned = e.code; }
    return out;
  }, CODE);
  for (const [name, code] of [['unsigned', 'SIGNATURE_INVALID'], ['otherManifest', 'SIGNATURE_INVALID'], ['otherKey', 'SIGNATURE_INVALID'],
    ['badType', 'MOUNT_FAILED'], ['signatureWithoutCode', 'MOUNT_FAILED'], ['hostile', 'BUNDLE_REJECTED']]) {
    assert.equal(r[name].error?.code, code, `${name}: ${JSON.stringify(r[name])}`);
    assert.equal(r[name].framesAdded, 0, `${name}: a frame was created before the code was verified`);
    assert.deepEqual(r[name].status, { state: 'installed' }, name);
  }
  assert.match(r.unsigned.error.message, /requires signed plugins/);
  assert.equal(r.signed.error, undefined, JSON.stringify(r.signed));
  assert.equal(r.signed.info.mode, 'worker');
  assert.deepEqual(r.notes, ['updated code runs']);
  assert.equal(r.pinned, 'INTEGRITY_MISMATCH');
  for (const name of ['bundleUnsigned', 'bundleOtherManifest']) {
    assert.equal(r[name].error?.code, 'SIGNATURE_INVALID', `${name}: ${JSON.stringify(r[name])}`);
    assert.equal(r[name].framesAdded, 0, `${name}: a frame was created before the code was verified`);
  }
  assert.equal(r.bundleSigned.error, undefined, JSON.stringify(r.bundleSigned));
  assert.equal(r.bundleSigned.info.mode, 'iframe');
  assert.deepEqual(r.bundleNotes, ['updated code runs']);
});

test('INTEGRITY_MISMATCH: sha384 of the code (computed with crypto.subtle) installs; a wrong digest fails', async () => {
  const r = await page.evaluate(async (code) => {
    const H = window.installHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory' });
    const right = await H.sri(code);
    const wrong = await H.sri(`${code} `);
    return {
      right,
      good: await H.attempt(host, H.manifest(), { code, integrity: right }),
      bad: await H.attempt(host, H.manifest(), { code, integrity: wrong }),
      tamperedCode: await H.attempt(host, H.manifest(), { code: H.tamper(code), integrity: right }),
      fromManifest: await H.attempt(host, H.manifest({ entry: { src: 'https://plugins.example/p/index.html', integrity: wrong } }), { code }),
      sha512: await H.attempt(host, H.manifest(), { code, integrity: await H.sri(code, 'SHA-512') }),
      noCode: await H.attempt(host, H.manifest(), { integrity: right }),
      after: await H.attempt(host, H.manifest()),
    };
  }, CODE);
  assert.match(r.right, /^sha384-[A-Za-z0-9+/]{64}$/);
  assertInstalled(r.good, 'right sha384');
  assertFailed(r.bad, 'INTEGRITY_MISMATCH', 'wrong sha384');
  assertFailed(r.tamperedCode, 'INTEGRITY_MISMATCH', 'tampered code');
  assertFailed(r.fromManifest, 'INTEGRITY_MISMATCH', 'manifest entry.integrity');
  assertInstalled(r.sha512, 'right sha512');
  assertFailed(r.noCode, 'INTEGRITY_MISMATCH', 'integrity without code');
  assertInstalled(r.after);
});

test('BUNDLE_REJECTED: code calling eval(x); a warnings-only bundle (innerHTML =) installs with warnings', async () => {
  const r = await page.evaluate(async () => {
    const H = window.installHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory' });
    return {
      evil: await H.attempt(host, H.manifest(), { code: 'const x = location.hash.slice(1);\neval(x);\n' }),
      fn: await H.attempt(host, H.manifest(), { code: 'new Function("return 1")();\n' }),
      warn: await H.attempt(host, H.manifest(), { code: 'export function show(el, x) {\n  el.innerHTML = x;\n}\n' }),
      clean: await H.attempt(host, H.manifest(), { code: 'export const answer = 42;\n' }),
    };
  });
  assertFailed(r.evil, 'BUNDLE_REJECTED', 'eval(x)');
  assert.match(r.evil.error.message, /eval/);
  assertFailed(r.fn, 'BUNDLE_REJECTED', 'new Function');
  assertInstalled(r.warn, 'innerHTML warning');
  assert.ok(r.warn.info.warnings.length > 0, 'warnings are reported');
  assert.match(r.warn.info.warnings.join('\n'), /innerHTML/);
  assertInstalled(r.clean);
  assert.deepEqual(r.clean.info.warnings, []);
});

test('INCOMPATIBLE: hostVersion 1.0.0 and compatibility ^2.0.0 (message names both)', async () => {
  const r = await page.evaluate(async () => {
    const H = window.installHarness;
    const host = new H.PluginHost({ hostVersion: '1.0.0', storage: 'memory' });
    return {
      bad: await H.attempt(host, H.manifest({ compatibility: '^2.0.0' })),
      good: await H.attempt(host, H.manifest({ compatibility: '^1.0.0' })),
    };
  });
  assertFailed(r.bad, 'INCOMPATIBLE');
  assert.match(r.bad.error.message, /\^2\.0\.0/);
  assert.match(r.bad.error.message, /1\.0\.0/);
  assert.ok(r.bad.error.message.replace('^2.0.0', '').includes('1.0.0'), r.bad.error.message);
  assertInstalled(r.good);
});

test('ALREADY_EXISTS: a second install of the same id; the first stays installed and mountable', async () => {
  const r = await page.evaluate(async () => {
    const H = window.installHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory' });
    const m = H.manifest();
    return {
      first: await H.attempt(host, m, undefined, { mount: false }),
      second: await H.attempt(host, { ...m, name: 'Impostor' }),
      other: await H.attempt(host, H.manifest()),
    };
  });
  assert.deepEqual(r.first.status, { state: 'installed' });
  assert.equal(r.second.error?.code, 'ALREADY_EXISTS', JSON.stringify(r.second.error));
  assert.equal(r.second.isError, true);
  // The existing plugin is not the one that failed: it stays installed and still mounts.
  assert.deepEqual(r.second.status, { state: 'installed' });
  assert.deepEqual(r.second.mount, { pluginId: r.second.id, mode: 'shadow' });
  assertInstalled(r.other);
});

test('one host survives every failure in a row and still installs a good plugin', async () => {
  const r = await page.evaluate(async (code) => {
    const H = window.installHarness;
    const host = new H.PluginHost({ hostVersion: '1.0.0', storage: 'memory' });
    const pair = await H.keyPair('ecdsa');
    const tamperedManifest = H.manifest();
    const goodManifest = H.manifest();
    const dup = H.manifest();
    await host.install(dup);
    const codes = [];
    const cases = [
      [{ id: 'x', name: 'X', version: '1.0.0' }, undefined],
      [tamperedManifest, { code: H.tamper(code), signature: await H.sign(pair, tamperedManifest, code), publicKey: pair.jwk }],
      [H.manifest(), { code, integrity: await H.sri('other') }],
      [H.manifest(), { code: 'eval(x)' }],
      [H.manifest({ compatibility: '^2.0.0' }), undefined],
      [dup, undefined],
    ];
    for (const [m, o] of cases) {
      try { await host.install(m, o); codes.push('installed'); } catch (e) { codes.push(e.code); }
    }
    const good = await H.attempt(host, goodManifest, { code, signature: await H.sign(pair, goodManifest, code), publicKey: pair.spki });
    return { codes, good, plugins: host.plugins() };
  }, CODE);
  assert.deepEqual(r.codes, ['INVALID_MANIFEST', 'SIGNATURE_INVALID', 'INTEGRITY_MISMATCH', 'BUNDLE_REJECTED', 'INCOMPATIBLE', 'ALREADY_EXISTS']);
  assertInstalled(r.good);
  assert.equal(r.plugins.length, 2, `installed: ${r.plugins}`);
});

test('the install page saw no CSP / Trusted Types violations or page errors', () => {
  assert.deepEqual(seen.violations, []);
  assert.deepEqual(seen.pageErrors, []);
});
