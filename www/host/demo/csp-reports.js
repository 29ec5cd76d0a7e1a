// The inspector's "CSP reports" list: violation reports the demo server collected at
// /csp-reports (scripts/serve.mjs). Open the demo as `/?report-only` to serve the page's policy
// as Content-Security-Policy-Report-Only, so the browser reports what the policy would block
// instead of blocking it — how a host adopts a strict CSP. Text only (Trusted Types).
import { el } from '/demo/dom.js';

/** Poll /csp-reports every `everyMs` and list the reports in `listEl`; `countEl` gets the count. */
export function showCspReports({ listEl, countEl, everyMs = 1000 }) {
  let shown = 0;
  async function poll() {
    try {
      const res = await fetch('/csp-reports', { cache: 'no-store' });
      const reports = await res.json();
      for (const r of reports.slice(shown)) {
        listEl.prepend(el('li', { dataset: { directive: r.directive } },
          el('strong', { text: r.directive || '(directive?)' }), ` ${r.disposition} `,
          el('code', { text: r.blockedURL || r.sample || '' }), ` via ${r.via} on ${r.documentURL}`));
      }
      shown = reports.length;
      countEl.textContent = String(shown);
    } catch {
      // The demo server is gone, or this is not the demo server: nothing to show.
    }
  }
  poll();
  return setInterval(poll, everyMs);
}
