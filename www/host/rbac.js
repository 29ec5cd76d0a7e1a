// RBAC harness page for tests/e2e/rbac.test.mjs, served with the host CSP. It exposes
// plugin-warden's PluginHost and a few helpers; the test drives host.install / hasPermission /
// visibleIncludes / canAccessRoute / setUser through page.evaluate. No HTML sink is touched.
import init, { PluginHost } from '/pkg/index.js';

/** A thrown value as plain data. */
function plain(e) {
  return e && typeof e === 'object'
    ? { name: e.name, code: e.code, message: e.message, isError: e instanceof Error }
    : { value: String(e) };
}

/** `{ ok: true, value }` from `fn()` (awaited), or `{ ok: false, error }`. */
async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: plain(e) };
  }
}

/** Same, synchronously (for checks that must run in one tick). */
function attemptSync(fn) {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    return { ok: false, error: plain(e) };
  }
}

/** A fresh in-memory host with `manifests` installed (each install must succeed). */
async function hostWith(manifests, user) {
  const host = new PluginHost({ hostVersion: '3.2.0', storage: 'memory', ...(user ? { user } : {}) });
  for (const m of manifests) await host.install(m);
  return host;
}

/** The names of the includes `host` shows the current user for plugin `id`. */
function pageNames(host, id) {
  return host.visibleIncludes(id).map((i) => i.name);
}

async function main() {
  await init();
  window.rbacHarness = { PluginHost, plain, attempt, attemptSync, hostWith, pageNames };
  document.body.dataset.ready = 'true';
}
main().catch((e) => { document.body.dataset.error = `${e?.code ?? ''} ${e?.message ?? e}`; });
