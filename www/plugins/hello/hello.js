// A benign plugin: connects to the host and shows what it was granted. Its button asks the
// host, at runtime and with a reason, for the optional capability `ui:notify` (manifest
// `optionalPermissions`); the host's user answers Allow or Deny in the host's dialog.
import { connect } from '/client/index.js';

const out = document.getElementById('out');
const detail = document.getElementById('detail');
const button = document.getElementById('notify');
const asked = document.getElementById('asked');

async function showGranted(sdk) {
  const granted = await sdk.permissions.list();
  detail.textContent = `Granted: ${granted.join(', ') || 'nothing'}.`;
}

try {
  const sdk = await connect();
  out.textContent = `Connected to the host as ${sdk.pluginId}.`;
  await showGranted(sdk);
  document.body.dataset.state = 'connected';
  button.disabled = false;
  button.addEventListener('click', async () => {
    button.disabled = true;
    asked.textContent = 'asking the host for ui:notify…';
    try {
      const yes = await sdk.permissions.request('ui:notify', 'to tell you when your export is done');
      if (yes) {
        await sdk.ui.notify('Your export is done', 'success');
        asked.textContent = 'ui:notify granted: notification sent.';
        document.body.dataset.notify = 'granted';
      } else {
        // Without the grant, the call is refused by the host (shown with its code).
        try {
          await sdk.ui.notify('Your export is done');
          asked.textContent = 'ui:notify denied, yet the notification went through (unexpected).';
          document.body.dataset.notify = 'unexpected';
        } catch (e) {
          asked.textContent = `ui:notify denied: notify refused with ${e.code}.`;
          document.body.dataset.notify = 'denied';
        }
      }
    } catch (e) {
      asked.textContent = `request failed: ${e.code} ${e.message}`;
      document.body.dataset.notify = 'error';
    }
    await showGranted(sdk).catch(() => {});
    button.disabled = false;
  });
} catch (e) {
  out.textContent = `Could not connect: ${e.code} ${e.message}`;
  document.body.dataset.state = 'failed';
}
