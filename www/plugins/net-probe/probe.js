// A test-only plugin for tests/e2e/network.test.mjs: it connects, then lets the test call the SDK
// through `window.probe.run(method, ...args)`, which answers a plain, structured-cloneable
// `{ ok, value }` or `{ ok: false, error }` and never throws. Each call is listed on the page.
import { connect } from '/client/index.js';

const out = document.getElementById('out');
const calls = document.getElementById('calls');

function plain(e) {
  return { code: e && e.code, message: e && e.message, permission: e && e.permission, name: e && e.name };
}

function show(method, args, result) {
  const li = document.createElement('li');
  const what = result.ok ? `ok ${result.value && result.value.status !== undefined ? result.value.status : ''}` : result.error.code;
  li.textContent = `${method} ${JSON.stringify(args[0])}: ${what}`;
  calls.append(li);
}

try {
  const sdk = await connect();
  out.textContent = `Connected to the host as ${sdk.pluginId}.`;
  window.probe = {
    pluginId: sdk.pluginId,
    grants: sdk.grants,
    /** Call `sdk.<group>.<name>(...args)`; never throws. */
    async run(method, ...args) {
      const [group, name] = method.split('.');
      let result;
      try {
        const fn = sdk[group] && sdk[group][name];
        result = typeof fn === 'function'
          ? { ok: true, value: await fn(...args) }
          : { ok: false, error: { code: 'NO_SUCH_METHOD', message: method } };
      } catch (e) {
        result = { ok: false, error: plain(e) };
      }
      show(method, args, result);
      return result;
    },
  };
  document.body.dataset.state = 'connected';
} catch (e) {
  out.textContent = `Could not connect: ${e.code} ${e.message}`;
  document.body.dataset.state = 'failed';
}
