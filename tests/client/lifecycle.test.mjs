// Lifecycle messages the client handles by itself: the host's heartbeat (`ping` answered with
// `pong`, no plugin code involved) and `permissions.changed` (sdk.grants, sdk.actions and
// sdk.permissions.onChange), plus the welcome's version fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, sleep } from './harness.mjs';

// Values made in the client's realm, compared as plain JSON.
const plain = (v) => JSON.parse(JSON.stringify(v));

async function withSdk(welcome, fn) {
  const h = createHarness();
  try {
    const { sdk, host } = await h.connect({}, welcome);
    return await fn(sdk, host, h);
  } finally {
    h.dispose();
  }
}

test('a ping is answered with a pong of the same seq, with no plugin code', () =>
  withSdk({}, async (_sdk, host) => {
    host.send({ v: 1, event: 'ping', data: { seq: 7 } });
    assert.deepEqual(await host.next(), { v: 1, event: 'pong', data: { seq: 7 } });
    host.send({ v: 1, event: 'ping', data: { seq: 8 } });
    assert.deepEqual(await host.next(), { v: 1, event: 'pong', data: { seq: 8 } });
  }));

test('malformed pings get no answer', () =>
  withSdk({}, async (sdk, host) => {
    for (const data of [{ seq: -1 }, { seq: 1.5 }, { seq: '1' }, {}, null, { seq: 2 ** 60 }]) {
      host.send({ v: 1, event: 'ping', data });
    }
    host.send({ v: 1, event: 'ping', data: { seq: 3 } });
    // The first message the host sees is the answer to the one valid ping.
    assert.deepEqual(await host.next(), { v: 1, event: 'pong', data: { seq: 3 } });
    void sdk;
  }));

test('permissions.changed updates sdk.grants and sdk.actions and calls onChange until off()', () =>
  withSdk({ grants: ['storage', 'api:write'], data: { actions: ['acme-patents-app.patents:read'], version: '1.1.0', previousVersion: '1.0.0' } },
    async (sdk, host) => {
      assert.deepEqual(plain(sdk.grants), ['storage', 'api:write']);
      assert.deepEqual(plain(sdk.actions), ['acme-patents-app.patents:read']);
      assert.equal(sdk.version, '1.1.0');
      assert.equal(sdk.previousVersion, '1.0.0');
      const seen = [];
      const off = sdk.permissions.onChange((granted, detail) => seen.push(plain([granted, detail])));
      host.send({ v: 1, event: 'permissions.changed', data: { granted: ['storage'], actions: [] } });
      await sleep(20);
      assert.deepEqual(seen, [[['storage'], { actions: [] }]]);
      assert.deepEqual(plain(sdk.grants), ['storage']);
      assert.deepEqual(plain(sdk.actions), []);
      // Malformed: ignored, nothing changes.
      host.send({ v: 1, event: 'permissions.changed', data: { granted: [1], actions: [] } });
      host.send({ v: 1, event: 'permissions.changed', data: { granted: ['x'] } });
      await sleep(20);
      assert.equal(seen.length, 1);
      off();
      host.send({ v: 1, event: 'permissions.changed', data: { granted: ['storage', 'events'], actions: [] } });
      await sleep(20);
      assert.equal(seen.length, 1, 'off() stops the handler');
      assert.deepEqual(plain(sdk.grants), ['storage', 'events'], 'grants stay current without handlers');
      // A copy: the plugin cannot edit the SDK's view.
      sdk.grants.push('api:write');
      assert.deepEqual(plain(sdk.grants), ['storage', 'events']);
    }));

test('a welcome without version fields gives nulls', () =>
  withSdk({}, async (sdk) => {
    assert.equal(sdk.version, null);
    assert.equal(sdk.previousVersion, null);
    assert.deepEqual(plain(sdk.actions), []);
    assert.throws(() => sdk.permissions.onChange('nope'), { code: 'INVALID_ARGUMENT' });
  }));
