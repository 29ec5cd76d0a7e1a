// One bench page run to its end on a given package: the bench servers on `port` serving `pkgDir`,
// a fresh Chromium context, the page at `path` (given the plugin origin as `?plugin=`) until it
// sets `<body data-ready="true">`, then what it left in `window[name]`. Throws, naming the
// page's errors, when it did not finish, or left `{ error }`, or threw anywhere. Used by the
// single-question tools (coverage.mjs, split.mjs).
import { launch } from '../browser.mjs';
import { startBenchServers } from './serve.mjs';

export async function visitPage({ pkgDir, port, path, name, what = path }) {
  const servers = await startBenchServers({ hostPort: port, pkgDir });
  const browser = await launch();
  try {
    const page = await (await browser.newContext()).newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`${e}\n${e.stack}`));
    const sep = path.includes('?') ? '&' : '?';
    await page.goto(`${servers.hostOrigin}${path}${sep}plugin=${encodeURIComponent(servers.pluginOrigin)}`);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 60_000 }).catch((e) => {
      throw new Error(`${what} did not finish (${e.message}); page errors: ${errors.join('; ') || 'none'}`);
    });
    const result = await page.evaluate((n) => window[n], name);
    if (!result || result.error || errors.length) {
      throw new Error(`${what} failed: ${result?.error ? `${result.error}\n${result.stack}` : errors.join('; ') || `no window.${name}`}`);
    }
    return result;
  } finally {
    await browser.close();
    await servers.close();
  }
}
