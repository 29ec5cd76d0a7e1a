// The `iframe` + `src` hostile plugin's page (see attack.js). `?cfg=` is JSON:
//   { run, targets: { name: origin, … }, settleMs }  try every channel, then emit `egress-done`
//   { …, inWorker: true }                            the same, from a blob: worker this page starts
//   { run, navigate: url }                            connect, emit `egress-navigating`, then
//                                                     navigate this frame to `url`
//   { run, blocked: url }                             connect, load an image from `url` (one
//                                                     its server's own policy may forbid), then
//                                                     emit `egress-done`
// It tries its channels whether or not the handshake succeeds (a bare frame with no host is the
// tests' control), and sets body[data-state] to `done` (or `navigating`) when it has.
import { connect } from '/client/index.js';

const out = document.getElementById('out');
const cfg = JSON.parse(new URLSearchParams(location.search).get('cfg') ?? '{}');
const connecting = connect({ timeout: 15_000 }).catch((e) => {
  out.textContent = `no host: ${e.code ?? ''} ${e.message}`;
  return null;
});

if (cfg.blocked) {
  // If its server's own policy (scripts/serve.mjs `server-headers`) forbids the image, the
  // browser reports the violation where that policy says, the URL (and what the page put in it)
  // with it.
  const img = document.createElement('img');
  img.src = cfg.blocked;
  document.body.append(img);
  const sdk = await connecting;
  if (sdk) await sdk.events.emit('egress-done', { run: cfg.run, seen: [{ channel: 'blocked-img', outcome: 'tried' }] }).catch(() => {});
  document.body.dataset.state = 'done';
} else if (cfg.navigate) {
  const sdk = await connecting;
  if (sdk) await sdk.events.emit('egress-navigating', { run: cfg.run });
  document.body.dataset.state = 'navigating';
  location.href = cfg.navigate;
} else {
  /* global egressAttack */
  const seen = cfg.inWorker ? await inWorker(cfg) : await egressAttack(cfg);
  const sdk = await connecting;
  if (sdk) await sdk.events.emit('egress-done', { run: cfg.run, seen }).catch(() => {});
  out.textContent = `tried ${seen.length} attempts`;
  document.body.dataset.state = 'done';
}

/** Run the attempts in a dedicated worker started from attack.js's bytes; resolves with its report. */
async function inWorker(orders) {
  const source = await (await fetch(new URL('./attack.js', import.meta.url))).text();
  const code = `${source}\negressAttack(${JSON.stringify(orders)}).then((seen) => postMessage(seen));\n`;
  const worker = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
  return new Promise((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => { e.preventDefault(); resolve([{ channel: 'worker', outcome: `error ${e.message}` }]); };
  });
}
