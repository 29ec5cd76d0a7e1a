// The mount suite's baseline plugin: a hand-rolled handshake. Say hello to the host, take the
// port it transfers with its welcome, reply on that port.
const hostOrigin = new URLSearchParams(location.search).get('host');
addEventListener('message', (e) => {
  if (e.source !== parent || e.origin !== hostOrigin || !e.data || e.data.type !== 'welcome' || !e.ports[0]) return;
  e.ports[0].postMessage({ type: 'ready' });
});
parent.postMessage({ type: 'hello' }, hostOrigin);
