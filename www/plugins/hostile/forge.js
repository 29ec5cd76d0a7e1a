// Runs in an iframe the hostile plugin nests inside itself. It knows the mount's real nonce
// (its parent passes it in window.name) and tries to complete the host's handshake from a
// window the host never created, once with the real nonce and once with a guessed one.
// Then it tells its parent whether anybody answered.
const NS = 'plugin-warden';
const [nonce = '', hostOrigin = '*'] = String(self.name).split('|');
const answers = [];
self.addEventListener('message', (event) => {
  const d = event.data;
  if (d && d.ns === NS) answers.push({ type: d.type, ports: event.ports.length });
});
const guessed = '0'.repeat(nonce.length || 32);
top.postMessage({ ns: NS, v: 1, type: 'hello', nonce }, hostOrigin);
top.postMessage({ ns: NS, v: 1, type: 'hello', nonce: guessed }, hostOrigin);
setTimeout(() => parent.postMessage({ kind: 'nested-report', sent: 2, answers }, '*'), 700);
