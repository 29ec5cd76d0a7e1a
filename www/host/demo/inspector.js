// The live inspector: per plugin its status, granted and optional permissions with revoke /
// grant buttons (host.revoke / host.grant, effective for the plugin's next call), counters of
// allowed calls, refusals and rate-limit hits (host.inspect), and a streaming table of every
// audit event (onAudit; host.auditLog() for what happened before the inspector was attached).
import { el, clock } from './dom.js';

const MAX_ROWS = 300;

export function createInspector({ cardsEl, callsEl, filterEl, log }) {
  let host = null;
  let ids = [];
  const seen = new Set();
  const events = [];
  let refreshTimer = null;

  function attach(h, pluginIds) {
    host = h;
    ids = pluginIds;
    filterEl.replaceChildren(el('option', { value: '', text: 'all plugins' }), ...ids.map((id) => el('option', { value: id, text: id })));
    for (const e of host.auditLog()) add(e);
    refresh();
    // A flood's repeated RATE_LIMITED refusals are counted by the host but audited once per
    // second, so no event announces the last of them: re-read the counters on a timer too.
    setInterval(refresh, 500);
  }

  /**
   * onAudit: keep the event, stream it into the table, refresh the cards soon — at once for a
   * failure, so a failed plugin's card changes with its slot (the host's onAudit sets both).
   */
  function add(e) {
    if (seen.has(e.seq)) return;
    seen.add(e.seq);
    events.push(e);
    if (!filterEl.value || filterEl.value === e.plugin) prepend(e);
    if (e.kind === 'failure') refresh();
    else scheduleRefresh();
  }

  function detailOf(e) {
    const d = e.detail;
    if (!d) return '';
    if (typeof d === 'string') return d;
    return d.message ?? d.permission ?? d.route ?? d.why ?? JSON.stringify(d);
  }

  function row(e) {
    return el('tr', {
      class: e.decision === 'deny' ? 'deny' : e.decision === 'allow' ? 'allow' : 'other',
      dataset: { seq: e.seq, plugin: e.plugin ?? '', kind: e.kind, method: e.method ?? '', decision: e.decision ?? '', code: e.code ?? '' },
    },
    el('td', { text: String(e.seq) }),
    el('td', { text: clock(e.timeMs) }),
    el('td', { text: e.plugin ?? '—' }),
    el('td', { text: e.method ?? e.kind, title: `kind: ${e.kind}` }),
    el('td', { class: 'decision', text: e.decision ? `${e.decision}${e.code ? ` ${e.code}` : ''}` : (e.code ?? '') }),
    el('td', { class: 'detail', text: detailOf(e), title: detailOf(e) }));
  }

  function prepend(e) {
    callsEl.prepend(row(e));
    while (callsEl.childElementCount > MAX_ROWS) callsEl.lastElementChild.remove();
  }

  filterEl.addEventListener('change', () => {
    const want = filterEl.value;
    const shown = events.filter((e) => !want || e.plugin === want).slice(-MAX_ROWS).reverse();
    callsEl.replaceChildren(...shown.map(row));
  });

  function scheduleRefresh() {
    if (refreshTimer || !host) return;
    refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, 60);
  }

  function act(id, kind, perm) {
    try {
      if (kind === 'revoke') host.revoke(id, perm);
      else host.grant(id, perm);
      log('ok', `inspector: ${kind === 'revoke' ? 'revoked' : 'granted'} ${perm} ${kind === 'revoke' ? 'from' : 'to'} ${id}`);
    } catch (e) {
      log('refused', `inspector: ${kind} ${perm} for ${id} failed: ${e.code} ${e.message}`);
    }
    refresh();
  }

  const lastInfo = new Map();

  function card(id, info) {
    const s = info.status;
    const refusals = Object.values(info.counts).reduce((a, b) => a + b, 0);
    const rateLimited = info.counts.RATE_LIMITED ?? 0;
    const listed = [...new Set([...info.required, ...info.optional, ...info.granted])];
    const perms = listed.map((p) => {
      const granted = info.granted.includes(p);
      const optional = info.optional.includes(p);
      const state = granted ? 'granted' : optional ? 'optional, not granted' : 'revoked';
      return el('li', { class: granted ? 'granted' : 'not-granted', dataset: { perm: p, state: granted ? 'granted' : 'not-granted' } },
        el('code', { text: p }), ` ${state}${optional ? ' (optional)' : ''} `,
        el('button', {
          type: 'button', class: granted ? 'revoke' : 'grant', dataset: { action: granted ? 'revoke' : 'grant', perm: p },
          'aria-label': `${granted ? 'Revoke' : 'Grant'} ${p} ${granted ? 'from' : 'to'} ${id}`,
          onclick: () => act(id, granted ? 'revoke' : 'grant', p),
        }, granted ? 'Revoke' : 'Grant'));
    });
    const codes = Object.entries(info.counts).map(([c, n]) => `${c} ${n}`).join(', ');
    return el('div', { class: 'insp-card', dataset: { plugin: id, state: s.state } },
      el('h3', {}, el('span', { text: info.name }), el('span', { class: `state ${s.state}`, text: s.state + (s.code ? ` (${s.code})` : '') })),
      el('p', { class: 'counts' },
        el('span', { dataset: { count: 'allowed' }, text: `allowed ${info.allowedCalls}` }), ' · ',
        el('span', { dataset: { count: 'refused' }, text: `refused ${refusals}` }), ' · ',
        el('span', { dataset: { count: 'rate-limited' }, text: `rate-limited ${rateLimited}` }),
        codes ? el('span', { class: 'codes', text: ` (${codes})` }) : null),
      listed.length ? el('ul', { class: 'perms' }, perms) : el('p', { class: 'muted', text: 'no capabilities' }));
  }

  /** Re-render the cards whose inspect() answer changed (buttons stay put otherwise). */
  function refresh() {
    if (!host) return;
    for (const id of ids) {
      let info;
      try { info = host.inspect(id); } catch (e) { info = { error: e.code }; }
      const key = JSON.stringify(info);
      const old = cardsEl.querySelector(`.insp-card[data-plugin="${id}"]`);
      if (old && lastInfo.get(id) === key) continue;
      lastInfo.set(id, key);
      const fresh = info.error ? el('div', { class: 'insp-card', dataset: { plugin: id } }, `${id}: ${info.error}`) : card(id, info);
      if (old) old.replaceWith(fresh);
      else cardsEl.append(fresh);
    }
  }

  return { attach, add, refresh, events };
}
