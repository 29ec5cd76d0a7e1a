// Launches Debian's Chromium through playwright-core (no downloaded browser), with the flags
// this machine needs: no sandbox as root, and no background networking (the network is closed).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** `args`: flags added to these (e.g. `--host-resolver-rules` for names of the tests' own). */
export async function launch({ args = [] } = {}) {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', ...args,
    ],
  });
}

/** Collect CSP / Trusted Types violations and console errors from a page and all its frames. */
export function watch(page) {
  const seen = { violations: [], consoleErrors: [], pageErrors: [] };
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|TrustedHTML|TrustedScript|Trusted Type/i.test(t)) seen.violations.push(t);
    else if (m.type() === 'error') seen.consoleErrors.push(t);
  });
  page.on('pageerror', (e) => seen.pageErrors.push(String(e)));
  return seen;
}
