// Test page for mount modes beyond `iframe` + `src`: shadow with a first-party render callback,
// srcdoc under the host page's nonce, and worker. Driven by tests/e2e/modes.test.mjs.
import { PluginHost, freshSlot as slot, outcome, pageNonce as nonce, start } from './harness.js';

start('modes', () => {
  const notes = [];
  const host = new PluginHost({ storage: 'memory', onNotify: (n) => notes.push(n) });

  return {
    host,
    nonce,
    notes,
    async shadowRender() {
      await host.install({ id: 'first-party', name: 'First party', permissions: ['storage', 'ui:notify'] });
      const el = slot();
      let seen;
      const done = new Promise((resolve) => {
        host.mount('first-party', el, {
          mode: 'shadow',
          html: '<p id="greeting">hello <b>there</b><img src="/favicon.svg" onerror="alert(1)"></p>',
          render: (root, sdk) => {
            seen = { text: root.textContent, img: root.querySelector('img')?.getAttribute('onerror') ?? null, mode: root.mode };
            resolve((async () => ({
              set: await outcome(sdk.storage.set('k', { n: 1 })),
              get: await outcome(sdk.storage.get('k')),
              list: await outcome(sdk.permissions.list()),
              fetch: await outcome(sdk.api.fetch('https://api.example/x')),
            }))());
          },
        });
      });
      const calls = await done;
      return { seen, calls, status: host.status('first-party'), publicRoot: el.firstElementChild.shadowRoot };
    },
    async throwingRender() {
      await host.install({ id: 'thrower', name: 'Thrower', permissions: [] });
      const r = await outcome(host.mount('thrower', slot(), { mode: 'shadow', render: () => { throw new Error('boom'); } }));
      return { ...r, status: host.status('thrower') };
    },
    async srcdoc() {
      await host.install({ id: 'inline', name: 'Inline', permissions: ['storage'] });
      const srcdoc = `<!doctype html><p id="out">waiting</p><script nonce="${nonce}">
        (async () => {
          const sdk = await pluginWarden.connect();
          await sdk.storage.set('a', 2);
          document.getElementById('out').textContent = 'connected ' + JSON.stringify(await sdk.storage.get('a'));
        })();
      </script>`;
      const r = await outcome(host.mount('inline', slot(), { srcdoc, nonce }));
      return { ...r, status: host.status('inline') };
    },
    async worker() {
      const code = `const sdk = await pluginWarden.connect();
        await sdk.storage.set('answer', 6 * 7);
        await sdk.ui.notify('worker says ' + (await sdk.storage.get('answer')));`;
      await host.install({ id: 'compute', name: 'Compute', permissions: ['storage', 'ui:notify'] }, { code });
      const r = await outcome(host.mount('compute', slot(), { mode: 'worker' }));
      return { ...r, status: host.status('compute') };
    },
    async crashingWorker() {
      await host.install({ id: 'crasher', name: 'Crasher', permissions: [] }, { code: 'throw new TypeError("bad plugin")' });
      const r = await outcome(host.mount('crasher', slot(), { mode: 'worker' }));
      return r;
    },
  };
});
