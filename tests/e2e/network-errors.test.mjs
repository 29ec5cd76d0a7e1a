// Transport failure is not a policy refusal: net-probe (network [`<api>/api/`, a closed loopback
// port's `/api/`, a silent server's `/api/`]) asks the host to fetch. An allowed URL whose port
// is closed answers NETWORK_ERROR (after the core's retries for a GET), an allowed URL that
// never answers TIMEOUT, and an undeclared URL NETWORK_DENIED without any request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startEnv, openHost, pluginFrame } from './helpers.mjs';

let env, host, frame, closedOrigin, otherClosedOrigin, silent, silentOrigin;
const silentSockets = [];

/** A loopback port nothing listens on (bound, then released). */
async function closedPort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  env = await startEnv(19520);
  closedOrigin = `http://127.0.0.1:${await closedPort()}`;
  otherClosedOrigin = `http://127.0.0.1:${await closedPort()}`;
  // Accepts connections and never answers.
  silent = createServer((sock) => silentSockets.push(sock));
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  silentOrigin = `http://127.0.0.1:${silent.address().port}`;
  // No host-page CSP: its connect-src lists only the demo manifests' origins, and a fetch it
  // blocks would fail before reaching these ports (the browser reports that as a network error
  // too, so it would not tell a closed port from a page policy).
  host = await openHost(env, 'scenario=none&host-csp=none');
  const setup = await host.page.evaluate(async ([api, closed, quiet]) => {
    window.e2e.create({
      storage: 'memory', dangerous: { allowLoopbackHttp: true }, limits: { fetchTimeoutMs: 300 },
    });
    const installed = await window.e2e.install({
      id: 'net-probe', name: 'Network probe', version: '1.0.0',
      permissions: ['api:read'], network: [`${api}/api/`, `${closed}/api/`, `${quiet}/api/`],
    });
    if (!installed.ok) return installed;
    return window.e2e.mountAndWait('net-probe', '/net-probe/');
  }, [env.servers.apiOrigin, closedOrigin, silentOrigin]);
  assert.equal(setup.ok, true, `net-probe did not mount: ${JSON.stringify(setup.error)}`);
  frame = await pluginFrame(host.page, 'net-probe', { state: 'connected' });
});

after(async () => {
  for (const s of silentSockets) s.destroy();
  await new Promise((r) => (silent ? silent.close(r) : r()));
  await host?.close();
  await env?.close();
});

function pluginFetch(url, init) {
  return frame.evaluate(([u, i]) => window.probe.run('api.fetch', u, ...(i ? [i] : [])), [url, init]);
}

test('transport errors: an allowed URL on a closed port is NETWORK_ERROR, not NETWORK_DENIED', async () => {
  const started = Date.now();
  const r = await pluginFetch(`${closedOrigin}/api/quotes`);
  assert.equal(r.ok, false, JSON.stringify(r.value));
  assert.equal(r.error.code, 'NETWORK_ERROR', JSON.stringify(r.error));
  assert.match(r.error.message, /unreachable/);
  // A GET is retried by the core's policy (3 retries, backoff from 125 ms): it took a while.
  assert.ok(Date.now() - started >= 125 + 250 + 500, `no retries? ${Date.now() - started} ms`);
  // The API itself still works: the failure was that host's, not the plugin's.
  const ok = await pluginFetch(`${env.servers.apiOrigin}/api/quotes`);
  assert.equal(ok.ok, true, JSON.stringify(ok.error));
});

test('transport errors: an undeclared URL on a closed port is NETWORK_DENIED, decided before any request', async () => {
  const started = Date.now();
  const r = await pluginFetch(`${otherClosedOrigin}/api/quotes`);
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'NETWORK_DENIED', JSON.stringify(r.error));
  assert.doesNotMatch(r.error.message, /unreachable/);
  assert.ok(Date.now() - started < 1000, 'refused by the allowlist, not after retries');
  // A declared origin outside its path prefix is the policy's refusal too.
  const outside = await pluginFetch(`${closedOrigin}/admin`);
  assert.equal(outside.error?.code, 'NETWORK_DENIED', JSON.stringify(outside));
});

test('transport errors: an allowed server that never answers is TIMEOUT', async () => {
  const r = await pluginFetch(`${silentOrigin}/api/slow`);
  assert.equal(r.ok, false, JSON.stringify(r.value));
  assert.equal(r.error.code, 'TIMEOUT', JSON.stringify(r.error));
});
