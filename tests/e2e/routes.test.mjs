// Proxied manifest routes end to end (DESIGN.md §4 `routes`, issue 5): a plugin calls
// `api.fetch('route:api/patents')`; the host fills in the API key and token it holds
// (`routes` option, Grafana `{{ .SecureJsonData.key }}` templates) and calls a real loopback
// API (node:http, this file's handler on the test API origin, recording every request and its
// headers).
// The API sees the secrets; the plugin gets the answer but never the secrets — not in a reply,
// not in any message it receives, not by sending its own header of the same name; a Viewer
// without the route's action gets PERMISSION_DENIED and the API sees no request at all; and
// host.auditLog() / onAudit never hold a secret.
// Harness page www/host/routes.html, plugin www/plugins/routes-demo/, served by the shared e2e
// set-up (helpers.mjs startEnv). This file's API takes the test API's place on its origin, which
// the host page's CSP (serve.mjs's hostCsp) names in connect-src — as any host calling a
// route's API must (host.cspHeader says so too, checked below).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startEnv, openPage, waitInFrame } from './helpers.mjs';

/** The API's origin and port (the environment's test API origin), set in before(). */
let API_ORIGIN, API_PORT;
const ID = 'routes-demo';
const ACTION = `${ID}.patents:read`;
const SECRET = `sk-e2e-${randomBytes(12).toString('hex')}`;
const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const PATENTS = [{ id: 'US-1', title: 'Graphene sieve' }, { id: 'US-2', title: 'Warden lattice' }];

const routeHeaders = [
  { name: 'X-Api-Key', content: '{{ .SecureJsonData.apiKey }}' },
  { name: 'Authorization', content: 'Bearer {{ .SecureJsonData.token }}' },
];
const MANIFEST = {
  id: ID,
  name: 'Routes demo',
  version: '1.0.0',
  permissions: ['api:read'],
  roles: [{ role: { name: 'Patents Reader', permissions: [{ action: ACTION }] }, grants: ['Editor'] }],
  routes: [
    { path: 'api/patents', method: 'GET', reqAction: ACTION, url: 'http://{{ .JsonData.apiHost }}/v1/patents', headers: routeHeaders },
    { path: 'api/echo', method: 'GET', reqAction: ACTION, url: 'http://{{ .JsonData.apiHost }}/v1/echo', headers: routeHeaders },
  ],
};
const hostOptions = () => ({
  user: { role: 'Editor' },
  dangerous: { allowLoopbackHttp: true },
  routes: { [ID]: { data: { apiHost: `127.0.0.1:${API_PORT}` }, secrets: { apiKey: SECRET, token: TOKEN }, secretOrigins: [API_ORIGIN] } },
});

/** Every request the API server saw: { method, path, headers }. */
const seen = [];
let env;

/** The route's API: answers only with both secrets; records every request it gets. */
function api(req, res, { hostOrigin }) {
  seen.push({ method: req.method, path: req.url, headers: { ...req.headers } });
  const cors = {
    'access-control-allow-origin': hostOrigin,
    'access-control-allow-headers': 'x-api-key, authorization, accept',
    'access-control-allow-methods': 'GET',
  };
  if (req.method === 'OPTIONS') { res.writeHead(204, cors); res.end(); return; }
  const ok = req.headers['x-api-key'] === SECRET && req.headers.authorization === `Bearer ${TOKEN}`;
  if (!ok) { res.writeHead(401, { ...cors, 'content-type': 'application/json' }); res.end('{"error":"bad key"}'); return; }
  const path = new URL(req.url, 'http://x').pathname;
  const body = path === '/v1/patents' ? { patents: PATENTS }
    // An upstream that echoes what it received: the host must not pass the secrets on.
    : path === '/v1/echo' ? { youSent: { key: req.headers['x-api-key'], authorization: req.headers.authorization } }
    : null;
  res.writeHead(body ? 200 : 404, { ...cors, 'content-type': 'application/json' });
  res.end(JSON.stringify(body ?? { error: 'not found' }));
}

before(async () => {
  env = await startEnv(18980, { api });
  API_ORIGIN = env.servers.apiOrigin;
  API_PORT = Number(new URL(API_ORIGIN).port);
});
after(() => env?.close());

const requestsTo = (path) => seen.filter((r) => r.method !== 'OPTIONS' && r.path.startsWith(path));
const containsSecret = (text) => text.includes(SECRET) || text.includes(TOKEN);

/** A fresh page on the harness with the plugin installed and mounted. */
async function setUp(t) {
  const { page, seen: watched, response, close } = await openPage(env, 'routes.html');
  t.after(close);
  assert.match(response.headers()['content-security-policy'], /require-trusted-types-for 'script'/);
  const h = (fn, arg) => page.evaluate(fn, arg);
  assert.deepEqual(await h((o) => window.routesHarness.create(o), hostOptions()), { ok: true, value: true });
  const installed = await h((m) => window.routesHarness.install(m), MANIFEST);
  assert.equal(installed.ok, true, JSON.stringify(installed));
  assert.deepEqual(await h((id) => window.routesHarness.mount(id, '/routes-demo/'), ID), { ok: true, value: true });
  const handle = await page.waitForSelector(`#slot-${ID} iframe`, { state: 'attached', timeout: 15_000 });
  const plugin = await handle.contentFrame();
  await waitInFrame(plugin, () => document.body?.dataset.state === 'connected');
  const run = (method, ...args) => plugin.evaluate(([m, a]) => window.demo.run(m, ...a), [method, args]);
  const host = (method, ...args) => page.evaluate(([m, a]) => window.routesHarness.call(m, ...a), [method, args]);
  return { page, plugin, run, host, watched };
}

/** Everything the plugin could have seen: its received messages and its document's text. */
async function pluginView(plugin) {
  return plugin.evaluate(() => JSON.stringify(window.demo.received) + document.documentElement.outerHTML);
}

/** The host's audit log and every onAudit event, as JSON text. */
async function auditText(page) {
  return page.evaluate(() => JSON.stringify([window.routesHarness.host.auditLog(), window.routesHarness.audits]));
}

test('a user holding the action reads patents through the route; the API sees the secrets, the plugin never does', async (t) => {
  const s = await setUp(t);
  const before = requestsTo('/v1/patents').length;

  const r = await s.plugin.evaluate(() => window.demo.loadPatents());
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value.status, 200);
  assert.deepEqual(JSON.parse(r.value.body), { patents: PATENTS });
  assert.equal(r.value.headers['content-type'], 'application/json');
  assert.equal(await s.plugin.evaluate(() => document.getElementById('patents').children.length), 2);

  // Exactly one request reached the API, with the host's secrets in its headers.
  const got = requestsTo('/v1/patents').slice(before);
  assert.equal(got.length, 1, JSON.stringify(got));
  assert.equal(got[0].method, 'GET');
  assert.equal(got[0].headers['x-api-key'], SECRET);
  assert.equal(got[0].headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(got[0].headers.cookie, undefined, 'the API client sends no cookies');

  // Nothing the plugin received — handshake, every port message, its own DOM — has a secret.
  const view = await pluginView(s.plugin);
  assert.ok(view.includes('Graphene sieve'), 'the plugin view was not captured');
  const received = await s.plugin.evaluate(() => window.demo.received);
  assert.ok(received.some((m) => m.includes('"welcome"')), 'the handshake was not recorded');
  assert.ok(received.some((m) => m.includes('Graphene sieve') && m.includes('"ok":true')), 'the port reply was not recorded');
  assert.ok(!containsSecret(view), 'a secret reached the plugin');
  assert.ok(!containsSecret(JSON.stringify(r)));

  // The host's CSP helper lists the route's resolved origin in connect-src.
  const csp = await s.host('cspHeader', { nonce: 'cm91dGVzLWUyZS1ub25jZQ==' });
  assert.equal(csp.ok, true, JSON.stringify(csp));
  assert.match(csp.value, new RegExp(`connect-src [^;]*${API_ORIGIN.replaceAll('.', '\\.')}`));
  assert.ok(!containsSecret(csp.value));
  assert.deepEqual(s.watched.violations, []);
});

test('a plugin cannot replace a route header with its own value, nor read it from an echo', async (t) => {
  const s = await setUp(t);
  const before = requestsTo('/v1/patents').length;
  const forged = await s.run('api.fetch', 'route:api/patents', {
    headers: { 'x-api-key': 'plugin-forged', Authorization: 'Bearer plugin-forged' },
  });
  assert.equal(forged.ok, true, JSON.stringify(forged));
  assert.equal(forged.value.status, 200, 'the host key was replaced by the plugin\'s');
  const got = requestsTo('/v1/patents').slice(before);
  assert.equal(got.length, 1);
  assert.equal(got[0].headers['x-api-key'], SECRET);
  assert.equal(got[0].headers.authorization, `Bearer ${TOKEN}`);
  assert.ok(!JSON.stringify(got).includes('plugin-forged'), JSON.stringify(got));

  // An upstream that echoes the request headers: the body reaches the plugin with the secrets scrubbed.
  const echo = await s.run('api.fetch', 'route:api/echo');
  assert.equal(echo.ok, true, JSON.stringify(echo));
  assert.deepEqual(JSON.parse(echo.value.body), { youSent: { key: '[REDACTED]', authorization: 'Bearer [REDACTED]' } });
  assert.equal(requestsTo('/v1/echo').at(-1).headers['x-api-key'], SECRET, 'the API did get the key');
  assert.ok(!containsSecret(await pluginView(s.plugin)), 'a secret reached the plugin');
  assert.ok(!containsSecret(await auditText(s.page)), 'a secret reached the audit log');
});

test('a Viewer without the action gets PERMISSION_DENIED naming it, and the API sees no request', async (t) => {
  const s = await setUp(t);
  assert.deepEqual(await s.host('setUser', { role: 'Viewer' }), { ok: true, value: undefined });
  assert.equal(await s.page.evaluate((a) => window.routesHarness.host.hasPermission(a), ACTION), false);
  const count = seen.length;

  const denied = await s.run('api.fetch', 'route:api/patents');
  assert.equal(denied.ok, false, JSON.stringify(denied));
  assert.equal(denied.error.code, 'PERMISSION_DENIED');
  assert.equal(denied.error.permission, ACTION);
  assert.match(denied.error.message, /api\/patents/);
  const shown = await s.plugin.evaluate(() => window.demo.loadPatents());
  assert.equal(shown.error?.code, 'PERMISSION_DENIED');

  // Nor does a direct request to the API's URL go anywhere: routes are no network grant.
  const direct = await s.run('api.fetch', `${API_ORIGIN}/v1/patents`);
  assert.equal(direct.error?.code, 'NETWORK_DENIED', JSON.stringify(direct));
  // Unknown routes and methods are NOT_FOUND naming the path.
  const missing = await s.run('api.fetch', 'route:api/secrets');
  assert.equal(missing.error?.code, 'NOT_FOUND');
  assert.match(missing.error.message, /"api\/secrets"/);

  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(seen.slice(count), [], 'the API saw a request (or a preflight) for a refused call');
  assert.ok(!containsSecret(await pluginView(s.plugin)));

  // Back to Editor: the same plugin call goes through at once.
  assert.equal((await s.host('setUser', { role: 'Editor' })).ok, true);
  const ok = await s.run('api.fetch', 'route:api/patents');
  assert.equal(ok.value?.status, 200, JSON.stringify(ok));
});

test('host.auditLog() and onAudit record route calls and refusals without any secret', async (t) => {
  const s = await setUp(t);
  await s.run('api.fetch', 'route:api/patents');
  await s.run('api.fetch', 'route:api/echo');
  await s.host('setUser', { role: 'Viewer' });
  await s.run('api.fetch', 'route:api/patents');
  // A host that later rotates the key: the new one is redacted as well, the old one stays so.
  const NEW = `sk-rotated-${randomBytes(8).toString('hex')}`;
  assert.deepEqual(
    await s.host('setRouteConfig', ID, { data: { apiHost: `127.0.0.1:${API_PORT}` }, secrets: { apiKey: NEW, token: TOKEN }, secretOrigins: [API_ORIGIN] }),
    { ok: true, value: undefined },
  );
  const bad = await s.host('setRouteConfig', ID, { secrets: { apiKey: '' }, secretOrigins: [API_ORIGIN] });
  assert.equal(bad.error?.code, 'INVALID_ARGUMENT');
  assert.ok(!bad.error.message.includes(SECRET));
  await s.host('setUser', { role: 'Editor' });
  const before = requestsTo('/v1/patents').length;
  assert.equal((await s.run('api.fetch', 'route:api/patents')).value?.status, 401, 'the API refuses the rotated key');
  assert.equal(requestsTo('/v1/patents').slice(before)[0].headers['x-api-key'], NEW);

  const log = await s.page.evaluate(() => window.routesHarness.host.auditLog());
  const calls = log.filter((e) => e.plugin === ID && e.method === 'api.fetch' && e.kind === 'call');
  assert.ok(calls.some((e) => e.decision === 'allow' && e.detail?.route === 'api/patents'), JSON.stringify(calls));
  assert.ok(calls.some((e) => e.decision === 'allow' && e.detail?.route === 'api/echo'), JSON.stringify(calls));
  assert.ok(calls.some((e) => e.decision === 'deny' && e.code === 'PERMISSION_DENIED'), JSON.stringify(calls));
  const text = await auditText(s.page);
  assert.ok(!containsSecret(text), 'a secret reached the audit log');
  assert.ok(!text.includes(NEW), 'the rotated secret reached the audit log');
  assert.ok(!(await pluginView(s.plugin)).includes(NEW));
});

test('secrets go only to the host\'s secretOrigins: a route moved to another origin is NETWORK_DENIED and nothing is sent', async (t) => {
  const s = await setUp(t);
  // Secrets with no approved origin are refused outright.
  const none = await s.host('setRouteConfig', ID, { data: { apiHost: `127.0.0.1:${API_PORT}` }, secrets: { apiKey: SECRET, token: TOKEN } });
  assert.equal(none.error?.code, 'INVALID_ARGUMENT', JSON.stringify(none));
  assert.match(none.error.message, /secretOrigins/);
  assert.ok(!containsSecret(none.error.message));
  // The same API under another origin (localhost vs 127.0.0.1) is not an approved one.
  const moved = await s.host('setRouteConfig', ID, { data: { apiHost: `localhost:${API_PORT}` }, secrets: { apiKey: SECRET, token: TOKEN }, secretOrigins: [API_ORIGIN] });
  assert.equal(moved.ok, true, JSON.stringify(moved));
  const count = seen.length;
  const refused = await s.run('api.fetch', 'route:api/patents');
  assert.equal(refused.error?.code, 'NETWORK_DENIED', JSON.stringify(refused));
  assert.match(refused.error.message, new RegExp(`http://localhost:${API_PORT}.*secretOrigins`));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(seen.slice(count), [], 'a request left for an origin the host did not approve');
  assert.ok(!containsSecret(await pluginView(s.plugin)));
  assert.ok(!containsSecret(await auditText(s.page)));
  // Back at the approved origin the route works.
  await s.host('setRouteConfig', ID, hostOptions().routes[ID]);
  assert.equal((await s.run('api.fetch', 'route:api/patents')).value?.status, 200);
});

test('permissions.has answers only the plugin\'s own namespace; host.hasPermission is unchanged', async (t) => {
  const s = await setUp(t);
  assert.equal((await s.host('setUser', { role: 'Admin', permissions: ['folders:admin', 'other-plugin.secret:read'] })).ok, true);
  for (const action of ['folders:admin', 'other-plugin.secret:read']) {
    assert.equal(await s.page.evaluate((a) => window.routesHarness.host.hasPermission(a), action), true, `host view of ${action}`);
    const r = await s.run('permissions.has', action);
    assert.deepEqual(r, { ok: true, value: false }, `plugin view of ${action}`);
  }
  assert.deepEqual(await s.run('permissions.has', ACTION), { ok: true, value: true });
  assert.deepEqual(await s.run('permissions.has', 'api:read'), { ok: true, value: true });
});
