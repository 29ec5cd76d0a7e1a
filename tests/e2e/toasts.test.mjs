// The default notification UI (a host without `onNotify`), from a hostile plugin's side: a
// worker that notifies in a loop with the longest message the protocol takes (4 096
// characters) must not cover the host page nor catch its clicks. Its toasts stack in one
// corner container that lets clicks through, at most three per plugin, each a few lines.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, openHost, until } from './helpers.mjs';

let env;
before(async () => {
  env = await startEnv(19790);
});
after(() => env?.close());

test('a plugin notifying in a loop with 4 096-character messages: at most three small toasts of its own, clicks go through to the page, the id names it', async () => {
  const host = await openHost(env, 'scenario=none');
  try {
    const { page } = host;
    const r = await page.evaluate(async () => {
      const { PluginHost } = await import('/pkg/index.js');
      // A button where the toasts appear: the page's own control.
      const button = document.createElement('button');
      button.textContent = 'the page\'s own button';
      Object.assign(button.style, { position: 'fixed', right: '0', bottom: '0', width: '60vw', height: '60vh' });
      let clicks = 0;
      button.addEventListener('click', () => { clicks++; });
      document.body.append(button);
      const h = new PluginHost({ hostVersion: '1.0.0', storage: 'memory' }); // no onNotify
      const code = `const sdk = await pluginWarden.connect();
        for (let i = 0; i < 40; i++) await sdk.ui.notify(String(i).padEnd(4096, 'W'), i % 2 ? 'error' : 'info');
        await sdk.ui.notify('last', 'info');`;
      await h.install({ id: 'noisy', name: 'Noisy', version: '1.0.0', permissions: ['ui:notify'] }, { code });
      const slot = document.createElement('div');
      document.body.append(slot);
      await h.mount('noisy', slot, { mode: 'worker' });
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && ![...document.querySelectorAll('[data-plugin-warden-toasts] > *')].some((t) => t.textContent === 'noisy: last')) {
        await new Promise((res) => setTimeout(res, 50));
      }
      const toasts = [...document.querySelectorAll('[data-plugin-warden-toasts] > *')];
      const stack = document.querySelector('[data-plugin-warden-toasts]').getBoundingClientRect();
      const boxes = toasts.map((t) => { const b = t.getBoundingClientRect(); return { w: b.width, h: b.height, text: t.textContent, role: t.getAttribute('role') }; });
      // A click in the middle of the toasts reaches the page's button.
      const x = stack.left + stack.width / 2;
      const y = stack.top + stack.height / 2;
      const under = document.elementFromPoint(x, y);
      under.click();
      return { boxes, under: under === button, clicks, stack: { w: stack.width, h: stack.height }, viewport: { w: innerWidth, h: innerHeight } };
    });
    assert.ok(r.boxes.length >= 1 && r.boxes.length <= 3, JSON.stringify(r.boxes.map((b) => b.text.slice(0, 20))));
    assert.equal(r.boxes.at(-1).text, 'noisy: last');
    for (const b of r.boxes) {
      assert.ok(b.text.startsWith('noisy: '), b.text.slice(0, 30));
      assert.ok(b.text.length <= 'noisy: '.length + 280, `${b.text.length} characters shown`);
      assert.ok(b.w <= 28 * 16 + 1, `a toast ${b.w}px wide`);
      assert.ok(b.h <= 100, `a toast ${b.h}px high`);
    }
    assert.ok(r.boxes.some((b) => b.role === 'alert') || r.boxes.length < 3, JSON.stringify(r.boxes.map((b) => b.role)));
    assert.ok(r.stack.h < r.viewport.h / 2, JSON.stringify(r.stack));
    assert.equal(r.under, true, 'the toasts caught the click');
    assert.equal(r.clicks, 1);
  } finally {
    await host.close();
  }
});
