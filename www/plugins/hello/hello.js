// A benign plugin: connects to the host and shows what it was granted.
import { connect } from '/client/index.js';

const out = document.getElementById('out');
const detail = document.getElementById('detail');
try {
  const sdk = await connect();
  out.textContent = `Connected to the host as ${sdk.pluginId}.`;
  const granted = await sdk.permissions.list();
  detail.textContent = `Granted: ${granted.join(', ') || 'nothing'}.`;
  document.body.dataset.state = 'connected';
} catch (e) {
  out.textContent = `Could not connect: ${e.code} ${e.message}`;
  document.body.dataset.state = 'failed';
}
