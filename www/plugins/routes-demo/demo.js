// A plugin that reads patents through its manifest route (`api.fetch('route:api/patents')`):
// the host fills in the API key it holds, so this plugin never has it.
//
// For tests/e2e/routes.test.mjs it also records, as JSON text, every message it receives —
// on its window (the handshake) and on the port the client talks over — in
// `window.demo.received`, so a test can prove no route secret ever arrived here; and it exposes
// `window.demo.run(method, ...args)`, answering a plain `{ ok, value }` or `{ ok: false, error }`.
import { connect } from '/client/index.js';

const received = [];
function record(data) {
  try {
    received.push(JSON.stringify(data) ?? String(data));
  } catch {
    received.push(String(data));
  }
}
// Before connect(): the client sets `port.onmessage`; wrap every handler set that way.
const onmessage = Object.getOwnPropertyDescriptor(MessagePort.prototype, 'onmessage');
Object.defineProperty(MessagePort.prototype, 'onmessage', {
  configurable: true,
  get() { return onmessage.get.call(this); },
  set(fn) {
    onmessage.set.call(this, typeof fn === 'function' ? function (event) { record(event.data); return fn.call(this, event); } : fn);
  },
});
self.addEventListener('message', (event) => record(event.data), true);

function plain(e) {
  return { code: e && e.code, message: e && e.message, permission: e && e.permission, name: e && e.name };
}

const out = document.getElementById('out');
const list = document.getElementById('patents');

try {
  const sdk = await connect();
  out.textContent = `Connected to the host as ${sdk.pluginId}.`;
  window.demo = {
    received,
    /** Call `sdk.<group>.<name>(...args)`; never throws. */
    async run(method, ...args) {
      const [group, name] = method.split('.');
      try {
        const fn = sdk[group] && sdk[group][name];
        if (typeof fn !== 'function') return { ok: false, error: { code: 'NO_SUCH_METHOD', message: method } };
        return { ok: true, value: await fn(...args) };
      } catch (e) {
        return { ok: false, error: plain(e) };
      }
    },
    /** Load and show the patents through the route; answers what `run` answers. */
    async loadPatents() {
      const r = await window.demo.run('api.fetch', 'route:api/patents');
      list.replaceChildren();
      if (r.ok) {
        for (const p of JSON.parse(r.value.body).patents ?? []) {
          const li = document.createElement('li');
          li.textContent = `${p.id}: ${p.title}`;
          list.append(li);
        }
        out.textContent = `${list.children.length} patents.`;
      } else {
        out.textContent = `Could not load patents: ${r.error.code} ${r.error.message}`;
      }
      return r;
    },
  };
  document.body.dataset.state = 'connected';
} catch (e) {
  out.textContent = `Could not connect: ${e.code} ${e.message}`;
  document.body.dataset.state = 'failed';
}
