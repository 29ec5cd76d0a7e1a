// The `iframe` + `src` hostile plugin's page (see attack.js). `?cfg=` is JSON:
//   { run, targets: { name: origin, … }, settleMs }  try every channel, then emit `egress-done`
//   { run, navigate: url }                            connect, emit `egress-navigating`, then
//                                                     navigate this frame to `url`
// It tries its channels whether or not the handshake succeeds (a bare frame with no host is the
// tests' control), and sets body[data-state] to `done` (or `navigating`) when it has.
import { connect } from '/client/index.js';

const out = document.getElementById('out');
const cfg = JSON.parse(new URLSearchParams(location.search).get('cfg') ?? '{}');
const connecting = connect({ timeout: 15_000 }).catch((e) => {
  out.textContent = `no host: ${e.code ?? ''} ${e.message}`;
  return null;
});

if (cfg.navigate) {
  const sdk = await connecting;
  if (sdk) await sdk.events.emit('egress-navigating', { run: cfg.run });
  document.body.dataset.state = 'navigating';
  location.href = cfg.navigate;
} else {
  /* global egressAttack */
  const seen = await egressAttack(cfg);
  const sdk = await connecting;
  if (sdk) await sdk.events.emit('egress-done', { run: cfg.run, seen }).catch(() => {});
  out.textContent = `tried ${seen.length} attempts`;
  document.body.dataset.state = 'done';
}
