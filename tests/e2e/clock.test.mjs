// Rate limits run on performance.now(), not Date.now(): with one call per 2 s allowed, moving the
// page's wall clock an hour ahead (Date.now overridden, as a clock change or NTP step would)
// refills nothing, while 2 s of real time does. Audit timestamps still follow Date.now().
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openHost, pluginFrame } from './helpers.mjs';

let env, host, frame;

before(async () => {
  env = await startEnv(19540);
  host = await openHost(env, 'scenario=none&host-csp=none');
  const setup = await host.page.evaluate(async ([api]) => {
    window.e2e.create({
      storage: 'memory', dangerous: { allowLoopbackHttp: true },
      limits: { callsPerSecond: 0.5, burst: 1, suspendAfter: 0 },
    });
    const installed = await window.e2e.install({
      id: 'net-probe', name: 'Network probe', version: '1.0.0',
      permissions: ['api:read'], network: [`${api}/api/`],
    });
    if (!installed.ok) return installed;
    return window.e2e.mountAndWait('net-probe', '/net-probe/');
  }, [env.servers.apiOrigin]);
  assert.equal(setup.ok, true, `net-probe did not mount: ${JSON.stringify(setup.error)}`);
  frame = await pluginFrame(host.page, 'net-probe', { state: 'connected' });
});

after(async () => {
  await host?.close();
  await env?.close();
});

const call = () => frame.evaluate((u) => window.probe.run('api.fetch', u), `${env.servers.apiOrigin}/api/quotes`);

test('monotonic time: a wall clock jumping ahead refills no rate-limit token; real time does', async () => {
  const first = await call();
  assert.equal(first.ok, true, JSON.stringify(first.error));
  const second = await call();
  assert.equal(second.error?.code, 'RATE_LIMITED', JSON.stringify(second));
  // The host page's wall clock jumps an hour ahead.
  const jumped = await host.page.evaluate(() => {
    const real = Date.now.bind(Date);
    Date.now = () => real() + 3_600_000;
    return Date.now();
  });
  const third = await call();
  assert.equal(third.error?.code, 'RATE_LIMITED', `an hour of wall clock refilled the bucket: ${JSON.stringify(third)}`);
  // 2 s of monotonic time refill one token (0.5 calls/s).
  await new Promise((r) => setTimeout(r, 2100));
  const fourth = await call();
  assert.equal(fourth.ok, true, JSON.stringify(fourth.error));
  const after = await host.page.evaluate(() => window.e2e.host.auditLog());
  // Audit timestamps still follow the wall clock the page sees (Date.now()).
  const newest = after.at(-1);
  assert.ok(newest.timeMs >= jumped, `audit time follows Date.now(): ${JSON.stringify(newest)}`);
});
