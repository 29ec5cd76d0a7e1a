// A plugin's server and the host's site, from the hostile server's side: a `src` page's server
// answers the frame's request with headers of its own choosing, and the browser applies its
// `Set-Cookie` to the site it names, whatever the frame's sandbox. On a subdomain of the host's
// own domain that is the host's site: its cookies reach the host's pages (cookie tossing: a
// session or CSRF cookie fixed, or shadowed, by the plugin's server), SameSite=Strict included,
// because the frame's request is same-site with the page that embeds it; and that request
// carries the host's domain-wide cookies to the plugin's server. From a registrable domain of
// its own neither happens. docs/security.md ("A plugin's server on your site") and the
// host guide tell hosts where to serve plugins; these tests pin the browser's behaviour.
//
// Names of the tests' own: `*.acme.test` (the host's site) and `*.plugins-acme.test` (another)
// both resolve to loopback (--host-resolver-rules); the host page is treated as a secure context
// as it would be over https.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, waitReady, until } from './helpers.mjs';
import { launch } from '../../scripts/browser.mjs';

let env;
let browser;
let hostUrl;

/** An origin of `env`'s servers under another name (`http://127.0.0.1:P` → `http://<name>:P`). */
const named = (origin, name) => origin.replace(/\/\/[^:/]+/, `//${name}`);

before(async () => {
  env = await startEnv(19360, { browser: false });
  hostUrl = named(env.servers.hostOrigin, 'app.acme.test');
  browser = await launch({
    args: [
      '--host-resolver-rules=MAP *.acme.test 127.0.0.1, MAP *.plugins-acme.test 127.0.0.1',
      `--unsafely-treat-insecure-origin-as-secure=${hostUrl}`,
    ],
  });
});
after(async () => {
  await browser?.close();
  await env?.close();
});

/**
 * A fresh host page on app.acme.test, holding a cookie for its whole domain, mounts the egress
 * plugin page (it tries nothing) from `pluginHost`, its server sending `cookies`; resolves with
 * the mount's outcome, the cookies the host's pages then get (`documentCookie`, less the host's
 * own; `requestCookie`, a request to the host's server) and those the plugin's server got with
 * the page's request (`pluginServerGot`).
 */
async function mountWithCookies(pluginHost, cookies) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${hostUrl}/e2e.html?scenario=none&host-csp=none`);
    await waitReady(page);
    // The host's own cookie for its whole domain (a session, say).
    await page.evaluate(() => { document.cookie = 'host-session=secret; Domain=acme.test; Path=/; SameSite=Lax'; });
    const cfg = { run: `site-${pluginHost}`, targets: {}, settleMs: 0 };
    const src = `${named(env.servers.pluginOrigin, pluginHost)}/egress/?cfg=${encodeURIComponent(JSON.stringify(cfg))}`
      + `&server-headers=${encodeURIComponent(JSON.stringify({ 'set-cookie': cookies }))}`;
    const id = 'site-plugin';
    const mounted = await page.evaluate(async ([pid, url]) => {
      window.e2e.create({ storage: 'memory', dangerous: { allowLoopbackHttp: true } });
      const r = await window.e2e.install({ id: pid, name: 'Site', version: '1.0.0', permissions: ['events'] });
      if (!r.ok) return r;
      window.e2e.mountWith(pid, { src: url, timeout: 20_000 });
      return window.e2e.settled(pid);
    }, [id, src]);
    const pageRequest = env.servers.logs.plugins.find((r) => r.url.startsWith('/egress/') && r.url.includes(encodeURIComponent(cfg.run)));
    const from = env.servers.logs.host.length;
    await page.evaluate(() => fetch('/sink/after.json').then((r) => r.text()));
    const request = await until(() => env.servers.logs.host.slice(from).find((r) => r.url === '/sink/after.json'), 5000);
    return {
      mounted,
      documentCookie: (await page.evaluate(() => document.cookie)).split('; ').filter((c) => !c.startsWith('host-session=')).join('; '),
      requestCookie: request?.cookie ?? null,
      pluginServerGot: pageRequest ? pageRequest.cookie : 'no request',
    };
  } finally {
    await context.close();
  }
}

const TOSSED = ['tossed-lax=1; Domain=acme.test; Path=/', 'tossed-strict=1; Domain=acme.test; Path=/; SameSite=Strict'];

test('a plugin page served from a subdomain of the host\'s domain sets cookies the host\'s pages get (SameSite=Strict included), from its sandboxed frame, and its server gets the host\'s domain-wide cookies', async (t) => {
  const r = await mountWithCookies('plugins.acme.test', TOSSED);
  t.diagnostic(JSON.stringify(r));
  assert.ok(r.mounted.ok, `the plugin did not mount: ${JSON.stringify(r.mounted)}`);
  // If this fails, a browser has come to keep a sandboxed frame's response from setting cookies:
  // docs/security.md and the host guide must change with it.
  assert.match(r.documentCookie, /tossed-lax=1/);
  assert.match(r.documentCookie, /tossed-strict=1/);
  assert.match(r.requestCookie ?? '', /tossed-strict=1/);
  // And the frame's request brought the plugin's server the host's domain-wide cookie.
  assert.match(r.pluginServerGot ?? '', /host-session=secret/);
});

test('a plugin page served from a registrable domain of its own cannot set a cookie the host\'s pages get, nor does its server get theirs', async (t) => {
  const r = await mountWithCookies('plugins.plugins-acme.test', [...TOSSED, 'own=1; Domain=plugins-acme.test; Path=/; SameSite=None; Secure']);
  t.diagnostic(JSON.stringify(r));
  assert.ok(r.mounted.ok, `the plugin did not mount: ${JSON.stringify(r.mounted)}`);
  assert.equal(r.documentCookie, '');
  assert.equal(r.requestCookie, 'host-session=secret');
  assert.equal(r.pluginServerGot, null);
});
