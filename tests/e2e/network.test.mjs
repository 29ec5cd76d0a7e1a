// The API client against a real local API (scripts/serve.mjs's third server): a plugin on the
// plugin origin (www/plugins/net-probe/) with network [`<api>/api/`] and api:read asks the host
// to fetch URLs. The declared path reaches the API without cookies, credentials or Referer;
// everything else is refused by the allowlist with NETWORK_DENIED (or PERMISSION_DENIED for a
// write without api:write) before any request, and a redirect is never followed. A second
// "bystander" server on another loopback port records every request and must get none.
// `sdk.api.canFetch` is asked first for every URL here and must agree with what api.fetch then
// does, without a request of its own (the API's and the bystander's logs prove it); at the end
// it is compared with api.fetch on a sample of the WHATWG URL corpus (tests/data/urltestdata.json).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { startEnv, openHost, openPage, pluginFrame, until } from './helpers.mjs';

const BYSTANDER_PORTS = [18993, 18994, 18995, 18996];
const COOKIE = 'host_session=cookie-for-127-0-0-1';
const PASSWORD = 'pw-s3cr3t-in-url';

let env, servers, browser, bystander, page, frame, seen;
const bystanderLog = [];
let api, other; // origins

function startBystander() {
  const server = createServer((req, res) => {
    bystanderLog.push({ method: req.method, url: req.url, headers: { ...req.headers } });
    // Answer as helpfully as possible: if a request ever got here, the test would see it succeed.
    res.writeHead(200, { 'access-control-allow-origin': '*', 'content-type': 'application/json' });
    res.end(JSON.stringify({ stolen: true }));
  });
  return (async () => {
    for (const port of BYSTANDER_PORTS) {
      const ok = await new Promise((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (ok) return { server, origin: `http://127.0.0.1:${port}` };
    }
    throw new Error(`no free bystander port in ${BYSTANDER_PORTS}`);
  })();
}

before(async () => {
  env = await startEnv(18990);
  ({ servers, browser } = env);
  api = servers.apiOrigin;
  bystander = await startBystander();
  other = bystander.origin;
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  // A cookie for host 127.0.0.1 (cookies ignore ports): the host page and the API are same-site,
  // so a request with credentials would carry it.
  await context.addCookies([{ name: COOKIE.split('=')[0], value: COOKIE.split('=')[1], url: servers.hostOrigin }]);
  ({ page, seen } = await openHost(env, 'scenario=none', { context }));
  const setup = await page.evaluate(async ([apiOrigin]) => {
    // Generous rate limits: the corpus test at the end makes a few thousand calls.
    window.e2e.create({ storage: 'memory', dangerous: { allowLoopbackHttp: true }, limits: { callsPerSecond: 2000, burst: 2000 } });
    const installed = await window.e2e.install({
      id: 'net-probe', name: 'Network probe', version: '1.0.0',
      permissions: ['api:read'], network: [`${apiOrigin}/api/`],
    });
    if (!installed.ok) return installed;
    return window.e2e.mountAndWait('net-probe', '/net-probe/');
  }, [api]);
  assert.equal(setup.ok, true, `net-probe did not mount: ${JSON.stringify(setup.error)}`);
  frame = await pluginFrame(page, 'net-probe', { state: 'connected' });
  // The page itself sent the cookie to the host origin: the browser does hold it.
  assert.ok(await page.evaluate(() => document.cookie.includes('host_session=')));
});

after(async () => {
  await env?.close();
  await new Promise((r) => (bystander ? bystander.server.close(r) : r()));
});

/** sdk.api.fetch(url, init) in the plugin: `{ ok, value }` or `{ ok: false, error }`. */
function pluginFetch(url, init) {
  return frame.evaluate(([u, i]) => window.probe.run('api.fetch', u, ...(i ? [i] : [])), [url, init]);
}

const apiPaths = () => servers.apiRequests.map((r) => `${r.method} ${r.url}`);

/** sdk.api.canFetch(url, init) in the plugin: must answer a boolean and send nothing. */
async function pluginCanFetch(url, init) {
  const apiBefore = servers.apiRequests.length;
  const bystanderBefore = bystanderLog.length;
  const r = await frame.evaluate(([u, i]) => window.probe.run('api.canFetch', u, ...(i ? [{ method: i.method }] : [])), [url, init]);
  assert.equal(r.ok, true, `canFetch(${url}) failed: ${JSON.stringify(r.error)}`);
  assert.equal(typeof r.value, 'boolean', `canFetch(${url}) answered ${JSON.stringify(r.value)}`);
  assert.equal(servers.apiRequests.length, apiBefore, `canFetch(${url}) reached the API`);
  assert.equal(bystanderLog.length, bystanderBefore, `canFetch(${url}) reached the bystander`);
  return r.value;
}

/** The URL as the message may name it: verbatim, or escaped as a Rust/JSON string literal. */
function named(message, url) {
  return message.includes(url) || message.includes(JSON.stringify(url).slice(1, -1));
}

/**
 * Ask for `url`, expect a refusal with `code` decided before any request: nothing reached the
 * API or the bystander, and (for NETWORK_DENIED) the message names the URL.
 */
const refusedCount = { NETWORK_DENIED: 0, PERMISSION_DENIED: 0 };

async function refused(url, code, init) {
  assert.equal(await pluginCanFetch(url, init), false, `canFetch(${url}) said yes, api.fetch refuses`);
  const apiBefore = servers.apiRequests.length;
  const r = await pluginFetch(url, init);
  assert.equal(r.ok, false, `${url} was allowed: ${JSON.stringify(r.value)}`);
  assert.equal(r.error.code, code, `${url}: ${JSON.stringify(r.error)}`);
  refusedCount[code] += 1;
  if (code === 'NETWORK_DENIED') {
    assert.ok(named(r.error.message, url), `the message does not name ${url}: ${r.error.message}`);
    // Decided by the allowlist, not by a failed fetch (which would say "network error").
    assert.doesNotMatch(r.error.message, /network error/);
  }
  await new Promise((res) => setTimeout(res, 50));
  assert.deepEqual(apiPaths().slice(apiBefore), [], `${url} reached the API`);
  assert.deepEqual(bystanderLog, [], `${url} reached the bystander server`);
  return r.error;
}

test('the declared path: one GET reaches the API, with no cookie, no Authorization, no host Referer', async () => {
  assert.deepEqual(apiPaths(), []);
  assert.equal(await pluginCanFetch(`${api}/api/quotes`), true);
  assert.equal(await pluginCanFetch(`${api}/api/quotes`, { method: 'HEAD' }), true);
  assert.deepEqual(apiPaths(), [], 'canFetch sent nothing');
  const r = await pluginFetch(`${api}/api/quotes`);
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.equal(r.value.status, 200);
  assert.equal(JSON.parse(r.value.body).quotes.length, 3);
  // Only safe response headers reach the plugin: not the API's Set-Cookie or token header.
  assert.equal(r.value.headers['content-type'], 'application/json');
  for (const h of Object.keys(r.value.headers)) {
    assert.ok(['content-type', 'content-length', 'cache-control'].includes(h), `plugin saw header ${h}`);
  }
  assert.equal(servers.apiRequests.length, 1, `expected exactly one request, got ${apiPaths()}`);
  const [req] = servers.apiRequests;
  assert.equal(req.method, 'GET');
  assert.equal(req.url, '/api/quotes');
  assert.equal(req.headers.cookie, undefined, 'the API got a cookie');
  assert.equal(req.headers.authorization, undefined, 'the API got an Authorization header');
  assert.ok(!req.headers.referer || !req.headers.referer.includes(servers.hostOrigin), `Referer ${req.headers.referer}`);
  assert.equal(req.headers.referer, undefined, 'referrerPolicy no-referrer: no Referer at all');
  assert.equal(req.headers.origin, servers.hostOrigin, 'the host page (its API client) makes the request');
  // The API's Set-Cookie was not stored either (credentials: 'omit').
  const cookies = await page.context().cookies(api);
  assert.ok(!cookies.some((c) => c.name === 'api_session'), JSON.stringify(cookies));
});

test('a plugin cannot add Cookie or Referer through headers: the browser drops them, the API gets neither', async () => {
  const before = servers.apiRequests.length;
  const r = await pluginFetch(`${api}/api/quotes`, { headers: { cookie: COOKIE, referer: servers.hostUrl } });
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.equal(r.value.status, 200);
  const fresh = servers.apiRequests.slice(before);
  assert.deepEqual(fresh.map((q) => `${q.method} ${q.url}`), ['GET /api/quotes']);
  assert.equal(fresh[0].headers.cookie, undefined);
  assert.equal(fresh[0].headers.referer, undefined);
});

test('path escapes and near misses on the API origin: NETWORK_DENIED, nothing sent', async () => {
  await refused(`${api}/api/../admin`, 'NETWORK_DENIED');
  await refused(`${api}/api/%2e%2e/admin`, 'NETWORK_DENIED');
  await refused(`${api}/api/%2E%2E/admin`, 'NETWORK_DENIED');
  await refused(`${api}/api/.%2e/admin`, 'NETWORK_DENIED');
  await refused(`${api}/api/%252e%252e/admin`, 'NETWORK_DENIED');
  await refused(`${api}/api/..%2fadmin`, 'NETWORK_DENIED');
  await refused(`${api}/api/..;/admin`, 'NETWORK_DENIED');
  await refused(`${api}/apix`, 'NETWORK_DENIED');
  await refused(`${api}/apix/quotes`, 'NETWORK_DENIED');
  await refused(`${api}/admin`, 'NETWORK_DENIED');
  await refused(`${api}/`, 'NETWORK_DENIED');
});

test('other origins: another port, another host string, another scheme: NETWORK_DENIED', async () => {
  const apiPort = new URL(api).port;
  await refused(`${other}/api/quotes`, 'NETWORK_DENIED');
  await refused(`${other}/`, 'NETWORK_DENIED');
  await refused(`http://localhost:${apiPort}/api/quotes`, 'NETWORK_DENIED');
  await refused(`http://[::1]:${apiPort}/api/quotes`, 'NETWORK_DENIED');
  await refused(`http://127.0.0.2:${apiPort}/api/quotes`, 'NETWORK_DENIED');
  await refused(`https://127.0.0.1:${apiPort}/api/quotes`, 'NETWORK_DENIED');
  await refused(`http://127.0.0.1/api/quotes`, 'NETWORK_DENIED');
  await refused(`${servers.hostOrigin}/api/quotes`, 'NETWORK_DENIED');
  await refused(`${servers.pluginOrigin}/api/quotes`, 'NETWORK_DENIED');
});

test('credentials, non-http schemes, relative and ambiguous forms: NETWORK_DENIED', async () => {
  const apiPort = new URL(api).port;
  await refused(`http://u:${PASSWORD}@127.0.0.1:${apiPort}/api/quotes`, 'NETWORK_DENIED');
  await refused(`http://u@127.0.0.1:${apiPort}/api/quotes`, 'NETWORK_DENIED');
  await refused(`http://127.0.0.1:${apiPort}@127.0.0.1:${bystanderPort()}/api/quotes`, 'NETWORK_DENIED');
  await refused('data:application/json,{"quotes":[]}', 'NETWORK_DENIED');
  await refused('javascript:alert(1)', 'NETWORK_DENIED');
  await refused(`blob:${api}/0b6f3c5e-2c4f-4f5e-9d3b-1a2b3c4d5e6f`, 'NETWORK_DENIED');
  await refused(`//127.0.0.1:${apiPort}/api/quotes`, 'NETWORK_DENIED');
  await refused('/api/quotes', 'NETWORK_DENIED');
  await refused('api/quotes', 'NETWORK_DENIED');
  await refused(`http:\\\\127.0.0.1:${apiPort}\\api\\quotes`, 'NETWORK_DENIED');
  await refused(`http://127.0.0.1:${apiPort}/api\\..\\admin`, 'NETWORK_DENIED');
  await refused(`http:127.0.0.1:${apiPort}/api/quotes`, 'NETWORK_DENIED');
  await refused(`http:/127.0.0.1:${apiPort}/api/quotes`, 'NETWORK_DENIED');
  await refused(`http://127.0.0.1:${apiPort}/api/\tquotes`, 'NETWORK_DENIED');
  await refused(` ${api}/api/quotes`, 'NETWORK_DENIED');
  await refused(`file:///etc/passwd`, 'NETWORK_DENIED');
});

function bystanderPort() {
  return new URL(other).port;
}

test('a redirect from the allowed path is never followed: NETWORK_DENIED, the target gets nothing', async () => {
  const before = servers.apiRequests.length;
  const url = `${api}/api/redirect?to=${encodeURIComponent(`${other}/stolen`)}`;
  const r = await pluginFetch(url);
  assert.equal(r.ok, false, `the redirect was followed: ${JSON.stringify(r.value)}`);
  assert.equal(r.error.code, 'NETWORK_DENIED');
  assert.ok(named(r.error.message, url), `the message does not name ${url}: ${r.error.message}`);
  const fresh = servers.apiRequests.slice(before);
  assert.ok(fresh.length >= 1, 'the API never saw the request');
  for (const q of fresh) {
    assert.equal(`${q.method} ${q.url}`, `GET ${new URL(url).pathname}${new URL(url).search}`);
    assert.equal(q.headers.cookie, undefined);
  }
  // Same-origin target outside the prefix: not followed either.
  const before2 = servers.apiRequests.length;
  const r2 = await pluginFetch(`${api}/api/redirect`);
  assert.equal(r2.ok, false);
  assert.equal(r2.error.code, 'NETWORK_DENIED');
  assert.ok(servers.apiRequests.slice(before2).every((q) => q.url === '/api/redirect'), apiPaths().join(', '));
  await new Promise((res) => setTimeout(res, 200));
  assert.deepEqual(bystanderLog, []);
  assert.ok(!apiPaths().includes('GET /admin'));
});

test('a POST without api:write: PERMISSION_DENIED before any request (no preflight either)', async () => {
  const e = await refused(`${api}/api/notes`, 'PERMISSION_DENIED', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"note":"hi"}',
  });
  assert.match(e.message, /api:write/);
  await refused(`${api}/api/notes`, 'PERMISSION_DENIED', { method: 'PUT', body: 'x' });
  await refused(`${api}/api/notes`, 'PERMISSION_DENIED', { method: 'DELETE' });
  // The protocol normalizes "post" to "POST" (as fetch() does): it needs api:write too.
  await refused(`${api}/api/notes`, 'PERMISSION_DENIED', { method: 'post', body: 'x' });
  assert.ok(!apiPaths().some((p) => /^(OPTIONS|POST|PUT|DELETE|post) /.test(p)), apiPaths().join(', '));
});

test('afterwards: the bystander got nothing, the API only the allowed requests, no host CSP violation', async () => {
  assert.deepEqual(bystanderLog, []);
  const allowed = new Set(['GET /api/quotes', `GET /api/redirect?to=${encodeURIComponent(`${other}/stolen`)}`, 'GET /api/redirect']);
  for (const p of apiPaths()) assert.ok(allowed.has(p), `the API got ${p}`);
  assert.equal(apiPaths().filter((p) => p === 'GET /api/quotes').length, 2);
  for (const q of servers.apiRequests) {
    assert.equal(q.headers.cookie, undefined);
    assert.equal(q.headers.authorization, undefined);
    assert.equal(q.headers.referer, undefined);
  }
  // Every refusal came from the allowlist: the host page's CSP (connect-src) never had to block.
  assert.deepEqual(await page.evaluate(() => window.e2e.state.violations), []);
  assert.deepEqual(seen.violations, []);
  assert.deepEqual(seen.pageErrors, []);
  assert.equal(await page.evaluate(() => window.e2e.host.status('net-probe').state), 'mounted');
});

test('the audit log records every refusal, and never the password of a URL with credentials', async () => {
  const audits = await until(() => page.evaluate(() => window.e2e.state.audits), 2000);
  const mine = audits.filter((e) => e.plugin === 'net-probe' && e.method === 'api.fetch');
  // Allowlist refusals are audited as denied calls (code only: the audit does not say which
  // URL was refused); failures after the request (the redirect) as refusals naming the URL.
  const denied = mine.filter((e) => e.kind === 'call' && e.decision === 'deny');
  assert.equal(denied.filter((e) => e.code === 'NETWORK_DENIED').length, refusedCount.NETWORK_DENIED);
  assert.equal(refusedCount.NETWORK_DENIED, 36);
  assert.equal(mine.filter((e) => e.code === 'PERMISSION_DENIED' && e.decision === 'deny').length >= refusedCount.PERMISSION_DENIED, true);
  assert.ok(mine.some((e) => e.kind === 'refusal' && e.code === 'NETWORK_DENIED' && /\/api\/redirect/.test(e.detail?.message)));
  const leaked = audits.filter((e) => JSON.stringify(e).includes(PASSWORD));
  assert.deepEqual(leaked, [], 'a password from a refused URL reached the audit log');
});

// Regression: a redirect is a final refusal, not a transient network error, so it is not
// retried (the API once saw the request 4 times: 1 + 3 retries).
test('a refused redirect is not retried: the API sees it once', async () => {
  const before = servers.apiRequests.length;
  const r = await pluginFetch(`${api}/api/redirect`);
  assert.equal(r.error?.code, 'NETWORK_DENIED');
  await new Promise((res) => setTimeout(res, 200));
  assert.deepEqual(apiPaths().slice(before), ['GET /api/redirect']);
});

test('the demo page: the Quotes plugin shows quotes fetched through the host from the local API', async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 1100 } });
  try {
    const before = servers.apiRequests.length;
    // The demo (www/host/index.html) is not a harness page: it sets body[data-ready] itself.
    const { page: demo, seen: demoSeen, response } = await openPage(env, '', { context, ready: false });
    const csp = response.headers()['content-security-policy'];
    const connect = csp.split('; ').find((d) => d.startsWith('connect-src ')).split(' ');
    assert.ok(connect.includes(api) && connect.includes(servers.pluginOrigin), csp);
    await demo.waitForFunction(() => document.body.dataset.ready, null, { timeout: 30_000 });
    const quotes = demo.frameLocator('iframe[src*="/quotes/"]');
    await quotes.locator('body[data-state="loaded"]').waitFor({ timeout: 15_000 });
    assert.equal(await quotes.locator('#quotes li').count(), 3);
    assert.match(await quotes.locator('#out').textContent(), /GET http:\/\/127\.0\.0\.1:\d+\/api\/quotes through the host's API client: 200/);
    assert.match(await quotes.locator('#write').textContent(), /PERMISSION_DENIED/);
    assert.equal(await demo.evaluate(() => window.demo.host.status('demo-quotes').state), 'mounted');
    for (const id of ['demo-hello', 'demo-primes', 'demo-panel']) {
      assert.equal(await demo.evaluate((i) => window.demo.host.status(i).state, id), 'mounted', id);
    }
    assert.deepEqual(servers.apiRequests.slice(before).map((q) => `${q.method} ${q.url}`), ['GET /api/quotes']);
    assert.deepEqual(demoSeen.violations, []);
    assert.deepEqual(demoSeen.pageErrors, []);
  } finally {
    await context.close();
  }
});

// ---------------------------------------------------------------------------------------------
// canFetch against api.fetch on the WHATWG URL corpus

const CORPUS = JSON.parse(readFileSync(new URL('../data/urltestdata.json', import.meta.url), 'utf8')).filter((c) => typeof c === 'object');

/** Every 3rd corpus case: its input and href as given, and its path and query under the API prefix. */
function corpusUrls() {
  const urls = new Set();
  CORPUS.forEach((c, i) => {
    if (i % 3 !== 0) return;
    for (const u of [c.input, c.href]) if (typeof u === 'string') urls.add(u);
    if (typeof c.pathname === 'string' && typeof c.search === 'string' && /^https?:$/.test(c.protocol ?? '')) {
      const rebased = `${api}/api${c.pathname.startsWith('/') ? '' : '/'}${c.pathname}${c.search}`;
      if (!rebased.includes('redirect')) urls.add(rebased);
    }
  });
  return [...urls];
}

test('canFetch agrees with api.fetch on a sample of the WHATWG URL corpus, and sends nothing itself', async () => {
  const urls = corpusUrls();
  assert.ok(urls.length > 300, `${urls.length} URLs`);
  // First every canFetch: not one request anywhere.
  const apiBefore = servers.apiRequests.length;
  const answers = await frame.evaluate(async (list) => {
    const out = [];
    for (const u of list) out.push(await window.probe.run('api.canFetch', u));
    return out;
  }, urls);
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(servers.apiRequests.length, apiBefore, 'canFetch reached the API');
  assert.deepEqual(bystanderLog, []);
  for (const [i, a] of answers.entries()) {
    assert.equal(a.ok, true, `canFetch(${urls[i]}): ${JSON.stringify(a.error)}`);
    assert.equal(typeof a.value, 'boolean');
  }
  // Then api.fetch on each: allowed exactly when a request left (or it succeeded).
  let yes = 0;
  for (const [i, url] of urls.entries()) {
    const before = servers.apiRequests.length;
    const r = await pluginFetch(url);
    const sent = r.ok || servers.apiRequests.length > before;
    if (!sent) assert.ok(['NETWORK_DENIED', 'PERMISSION_DENIED'].includes(r.error.code), `${url}: ${JSON.stringify(r.error)}`);
    assert.equal(answers[i].value, sent, `${url}: canFetch ${answers[i].value}, api.fetch ${sent ? 'sent it' : r.error.code}`);
    if (sent) yes += 1;
  }
  assert.ok(yes >= 30 && urls.length - yes >= 300, `both answers exercised: ${yes} of ${urls.length} allowed`);
  // Writes: no api:write, so canFetch says no for every method but GET/HEAD.
  for (const method of ['POST', 'put', 'DELETE', 'PATCH']) {
    assert.equal(await pluginCanFetch(`${api}/api/notes`, { method }), false, method);
  }
  assert.equal(await pluginCanFetch(`${api}/api/quotes`, { method: 'get' }), true);
  assert.deepEqual(bystanderLog, []);
});
