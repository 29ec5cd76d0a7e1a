// A hostile plugin for the flood scenario: it does the handshake by hand (so the client's own
// in-flight cap cannot hold it back) and then floods storage.get calls on its port, in bursts,
// until the host closes the channel (suspension removes this frame) or `total` is reached.
// Reply codes are counted and reported to the host as they come.
const NS = 'plugin-warden';
const [, , nonce, hostOrigin] = String(self.name).split('|');
self.name = '';
let port = null;
const codes = {};
let sent = 0;

window.addEventListener('message', (e) => {
  if (e.source !== parent || e.origin !== hostOrigin || !e.data) return;
  if (e.data.ns === NS && e.data.type === 'welcome') {
    port = e.ports[0];
    port.onmessage = (m) => {
      const k = m.data.ok ? 'ok' : (m.data.error && m.data.error.code) || 'other';
      codes[k] = (codes[k] || 0) + 1;
    };
    parent.postMessage({ bench: true, op: 'loaded' }, hostOrigin);
  } else if (e.data.bench && e.data.bench === 'flood') {
    const { total, burst, everyMs } = e.data;
    const timer = setInterval(() => {
      for (let i = 0; i < burst && sent < total; i++) {
        port.postMessage({ v: 1, id: ++sent, method: 'storage.get', params: { key: 'k' } });
      }
      parent.postMessage({ bench: true, op: 'flooding', sent, codes }, hostOrigin);
      if (sent >= total) clearInterval(timer);
    }, everyMs);
  }
});
parent.postMessage({ ns: NS, v: 1, type: 'hello', nonce }, hostOrigin);
