// The demo host: installs and mounts sample plugins through plugin-warden and shows what
// happened. Everything written to the DOM goes through textContent (Trusted Types are enforced).
import init, { PluginHost } from '/pkg/index.js';
import { demoPlugins } from '/demo-plugins.js';

const params = new URLSearchParams(location.search);
const pluginOrigin = params.get('plugins') ?? `http://localhost:${Number(location.port) + 1}`;
// The local test API (scripts/serve.mjs), reached by plugins only through the host's API client.
const apiOrigin = params.get('api') ?? `http://127.0.0.1:${Number(location.port) + 2}`;
const logEl = document.getElementById('log');
const events = [];

function log(kind, text) {
  events.push({ kind, text });
  const li = document.createElement('li');
  li.className = kind;
  li.textContent = text;
  logEl.append(li);
}

function slot(id, title) {
  const box = document.createElement('div');
  box.className = 'slot';
  const h = document.createElement('h3');
  const name = document.createElement('span');
  name.textContent = title;
  const state = document.createElement('span');
  state.className = 'state';
  h.append(name, state);
  const body = document.createElement('div');
  box.append(h, body);
  document.getElementById('slots').append(box);
  return { body, setState(s) { state.textContent = s.state + (s.code ? ` (${s.code})` : ''); state.className = `state ${s.state}`; } };
}

const plugins = demoPlugins({ pluginOrigin, apiOrigin });

/** The audit events worth a line in the log: what plugins did through the API client. */
function onAudit(e) {
  if (e.method !== 'api.fetch') return;
  if (e.decision === 'allow') log('ok', `${e.plugin}: api.fetch allowed; the host's API client makes the request`);
  else log('refused', `${e.plugin}: api.fetch refused: ${e.code}${e.detail?.message ? ` ${e.detail.message}` : ''}`);
}

async function main() {
  await init();
  const host = new PluginHost({
    hostVersion: '0.1.0',
    // The demo API is plain http: on loopback; without this, its network entry is refused.
    allowLoopbackHttp: true,
    onAudit,
    onNotify: ({ pluginId, message }) => log('ok', `${pluginId} says: ${message}`),
  });
  window.demo = { host, events, pluginOrigin, apiOrigin };
  for (const p of plugins) {
    const ui = slot(p.manifest.id, p.manifest.name);
    try {
      const code = p.codeFrom ? await (await fetch(p.codeFrom)).text() : undefined;
      await host.install(p.manifest, { code });
      log('ok', `installed ${p.manifest.id}`);
      const mounted = host.mount(p.manifest.id, ui.body, p.mount);
      ui.setState(host.status(p.manifest.id));
      const info = await mounted;
      log('ok', `mounted ${p.manifest.id} (${info.mode})${info.mode === 'shadow' ? '' : ': handshake complete'}`);
    } catch (e) {
      log('refused', `${p.manifest.id}: ${e.code ?? 'ERROR'} ${e.message}`);
    }
    ui.setState(host.status(p.manifest.id));
  }
  window.demo.ready = true;
  document.body.dataset.ready = 'true';
}

main().catch((e) => { log('refused', `demo failed: ${e.code ?? ''} ${e.message}`); document.body.dataset.ready = 'error'; });
