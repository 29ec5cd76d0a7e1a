// RBAC harness page for tests/e2e/rbac.test.mjs, served with the host CSP. It exposes
// plugin-warden's PluginHost and a few helpers; the test drives host.install / hasPermission /
// visibleIncludes / canAccessRoute / setUser through page.evaluate. No HTML sink is touched.
import { PluginHost, attempt, attemptSync, plain, start } from './harness.js';

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

start('rbacHarness', () => ({ PluginHost, plain, attempt, attemptSync, hostWith, pageNames }));
