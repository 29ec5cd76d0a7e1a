// The demo host: installs and mounts the sample plugins through plugin-warden, gates its nav and
// pages with the plugins' RBAC (demo/nav.js), and shows every plugin call live in an inspector
// with revoke / grant buttons (demo/inspector.js). Everything written to the DOM goes through
// textContent or the SDK's Trusted Types policy (Trusted Types are enforced on this page).
import init, { PluginHost, preload } from '/pkg/index.js';
import { demoPlugins } from '/demo-plugins.js';
import { el } from '/demo/dom.js';
import { createNav, USERS } from '/demo/nav.js';
import { createInspector } from '/demo/inspector.js';
import { showCspReports } from '/demo/csp-reports.js';

const params = new URLSearchParams(location.search);
const pluginOrigin = params.get('plugins') ?? `http://localhost:${Number(location.port) + 1}`;
// The local test API (scripts/serve.mjs), reached by plugins only through the host's API client.
const apiOrigin = params.get('api') ?? `http://127.0.0.1:${Number(location.port) + 2}`;
const firstUser = USERS[params.get('user')] ? params.get('user') : 'viewer';
const logEl = document.getElementById('log');
const events = [];

function log(kind, text) {
  events.push({ kind, text });
  logEl.append(el('li', { class: kind, text }));
}

function toast(pluginId, message, level) {
  const t = el('div', { class: `toast ${level}`, dataset: { plugin: pluginId } },
    el('strong', { text: `${pluginId}: ` }), message);
  document.getElementById('toasts').append(t);
  setTimeout(() => t.remove(), 8000);
}

function slot(id, title) {
  const state = el('span', { class: 'state' });
  const body = el('div', { class: 'slot-body' });
  const note = el('p', { class: 'slot-note', role: 'status' });
  const box = el('div', { class: 'slot', id: `slot-${id}`, dataset: { plugin: id } }, el('h3', {}, el('span', { text: title }), state), body, note);
  document.getElementById('slots').append(box);
  return {
    box,
    body,
    note,
    setState(s) { state.textContent = s.state + (s.code ? ` (${s.code})` : ''); state.className = `state ${s.state}`; },
  };
}

const plugins = demoPlugins({ pluginOrigin, apiOrigin });
const slots = new Map();
const panels = {};

showCspReports({ listEl: document.getElementById('csp-reports'), countEl: document.getElementById('csp-report-count') });

const inspector = createInspector({
  cardsEl: document.getElementById('inspector-cards'),
  callsEl: document.getElementById('calls-body'),
  filterEl: document.getElementById('inspector-filter'),
  log,
});

/** Audit events: all go to the inspector; API client decisions also get a line in the log. */
function onAudit(e) {
  inspector.add(e);
  if (e.kind === 'failure' && slots.has(e.plugin)) slots.get(e.plugin).setState(window.demo.host.status(e.plugin));
  if (e.method !== 'api.fetch') return;
  if (e.decision === 'allow') log('ok', `${e.plugin}: api.fetch allowed; the host's API client makes the request`);
  else log('refused', `${e.plugin}: api.fetch refused: ${e.code}${e.detail?.message ? ` ${e.detail.message}` : ''}`);
}

/**
 * A plugin that holds `events` may emit `panel` with `{ html }`: the host shows that HTML in a
 * closed shadow root of its own, through the SDK's sanitizer and Trusted Types policy
 * (host.trustedHTML). No plugin script ever runs there. The sanitizer module is fetched on
 * the first panel (host.preload): a page that never shows plugin HTML never downloads it.
 */
async function onEvent({ pluginId, name, data }) {
  if (name !== 'panel' || !data || typeof data.html !== 'string') return;
  const host = window.demo.host;
  await host.preload('sanitizer');
  let p = panels[pluginId];
  if (!p) {
    const body = el('div', { class: 'panel' });
    const box = el('div', { class: 'slot html-panel', id: `panel-${pluginId}`, dataset: { plugin: pluginId } },
      el('h3', {}, el('span', { text: `HTML panel from ${pluginId} (sanitized by the host)` })), body);
    (slots.get(pluginId)?.box ?? document.getElementById('slots').lastElementChild).after(box);
    p = panels[pluginId] = { root: body.attachShadow({ mode: 'closed' }), received: [] };
  }
  p.root.innerHTML = host.trustedHTML(data.html);
  p.received.push(data.html.length);
  log('ok', `${pluginId}: panel HTML sanitized (${data.html.length} → ${host.sanitize(data.html).length} characters)`);
}

/** The slot buttons of the lifecycle demos: an update that needs consent, a freeze, a lookup. */
function lifecycleButtons(host, p, ui) {
  const id = p.manifest.id;
  if (p.update) {
    const button = el('button', { type: 'button', class: 'update', text: p.update.label });
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        // No onUpdateConsent: the SDK's accessible dialog lists each addition in words.
        const info = await host.update(id, { ...p.manifest, ...p.update.manifest });
        log('ok', `${id} updated ${info.from} → ${info.to} (added: ${info.added.map((c) => c.words).join('; ') || 'nothing'})`);
      } catch (e) {
        log('refused', `${id}: update refused: ${e.code} (the old version keeps running)`);
        button.disabled = false;
      }
      ui.setState(host.status(id));
      inspector.refresh();
    });
    ui.note.before(button);
  }
  if (p.action) {
    const button = el('button', { type: 'button', class: 'action', text: p.action.label });
    button.addEventListener('click', () => {
      button.disabled = !p.action.repeat;
      host.emit(p.action.event, p.action.data ?? {});
      log('ok', `${id}: asked to ${p.action.event}${p.action.repeat ? '' : '; the heartbeat will notice'}`);
    });
    ui.note.before(button);
  }
}

async function main() {
  await init();
  // The demo installs plugin code (the worker) at once and shows the inspector's audit log:
  // load the core's second part with the first (asynchronously), not at its first need.
  await preload('checks');
  const host = new PluginHost({
    hostVersion: '0.1.0',
    user: USERS[firstUser].user,
    // The demo API is plain http: on loopback; without this, its network entry is refused.
    dangerous: { allowLoopbackHttp: true },
    // A fast heartbeat, so the Freezer's endless loop is noticed within seconds.
    limits: { heartbeatMs: 1000, unresponsiveAfterMs: 4000 },
    onAudit,
    onEvent,
    onNotify: ({ pluginId, message, level }) => {
      log('ok', `${pluginId} says: ${message}`);
      toast(pluginId, message, level);
      const note = slots.get(pluginId)?.note;
      if (note) note.textContent = `notified: ${message}`;
    },
  });
  window.demo = { host, events, panels, inspector, pluginOrigin, apiOrigin, plugins: plugins.map((p) => p.manifest.id) };

  const installed = [];
  for (const p of plugins) {
    const ui = slot(p.manifest.id, p.manifest.name);
    slots.set(p.manifest.id, ui);
    try {
      const code = p.codeFrom ? await (await fetch(p.codeFrom)).text() : undefined;
      await host.install(p.manifest, { code });
      log('ok', `installed ${p.manifest.id}`);
      installed.push(p);
    } catch (e) {
      log('refused', `${p.manifest.id}: ${e.code ?? 'ERROR'} ${e.message}`);
    }
    ui.setState(host.status(p.manifest.id));
  }
  inspector.attach(host, plugins.map((p) => p.manifest.id));

  const nav = createNav({
    host,
    manifests: plugins.map((p) => p.manifest),
    navEl: document.getElementById('nav'),
    pageEl: document.getElementById('page'),
    userSelect: document.getElementById('user'),
    userPermsEl: document.getElementById('user-perms'),
    log,
  });
  window.demo.nav = nav;
  window.demo.setUser = (key) => nav.setUser(key);
  nav.setUser(firstUser);

  await Promise.all(installed.map(async (p) => {
    const ui = slots.get(p.manifest.id);
    try {
      const mounted = host.mount(p.manifest.id, ui.body, p.mount);
      ui.setState(host.status(p.manifest.id));
      const info = await mounted;
      log('ok', `mounted ${p.manifest.id} (${info.mode})${info.mode === 'shadow' ? '' : ': handshake complete'}`);
    } catch (e) {
      log('refused', `${p.manifest.id}: ${e.code ?? 'ERROR'} ${e.message}`);
    }
    ui.setState(host.status(p.manifest.id));
    lifecycleButtons(host, p, ui);
  }));
  inspector.refresh();
  window.demo.ready = true;
  document.body.dataset.ready = 'true';
}

main().catch((e) => { log('refused', `demo failed: ${e.code ?? ''} ${e.message}`); document.body.dataset.ready = 'error'; });
