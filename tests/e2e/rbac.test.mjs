// RBAC through the JS API in Chromium — the browser-level counterpart of tests/manifest_rbac.rs.
// Two plugins are installed through host.install: the Grafana corpus manifest
// (tests/data/grafana-app-with-rbac.plugin.json, passed as its JSON text, as-is) and a
// DESIGN.md §4-style manifest (RESEARCH below) with roles "Patents Reader" (granted to Admin)
// and "Research Papers Reader" (granted to Viewer), includes and routes gated by those actions,
// and an action set extending folders:edit. Answers come from host.hasPermission (the JS
// fast path over accessCache(), which defers prefix hits to wasm), host.visibleIncludes,
// host.canAccessRoute and host.setUser; the truth table is derived by hand from the rules in
// src/core/rbac.rs. Also the manifests' INVALID_MANIFEST cases through host.install.
// Harness page www/host/rbac.html; ports 18910/18911.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startEnv, openPage } from './helpers.mjs';

const GRAFANA_TEXT = readFileSync(new URL('../data/grafana-app-with-rbac.plugin.json', import.meta.url), 'utf8');
const G = 'grafana-appwithrbac-app';
const R = 'acme-research-app';

const RESEARCH = {
  id: R,
  name: 'Research',
  version: '1.2.0',
  compatibility: '^3.0.0',
  permissions: ['storage', 'api:read', 'events'],
  optionalPermissions: ['api:write', 'ui:notify'],
  network: ['https://api.acme.example/v1/'],
  allow: ['clipboard-write'],
  roles: [
    { role: { name: 'Patents Reader', description: 'Read patents', permissions: [{ action: `${R}.patents:read` }] }, grants: ['Admin'] },
    { role: { name: 'Research Papers Reader', description: 'Read research papers', permissions: [{ action: `${R}.papers:read` }] }, grants: ['Viewer'] },
  ],
  includes: [
    { type: 'page', name: 'Papers', path: '/a/%PLUGIN_ID%/papers', action: `${R}.papers:read`, addToNav: true },
    { type: 'page', name: 'Patents', path: '/a/%PLUGIN_ID%/patents', action: `${R}.patents:read`, addToNav: true },
    { type: 'page', name: 'About', path: '/a/%PLUGIN_ID%/about', defaultNav: true },
  ],
  routes: [
    { path: 'api/patents', method: 'GET', reqAction: `${R}.patents:read`, url: 'https://api.acme.example/v1/patents' },
    { path: 'api/papers', method: 'GET', reqAction: `${R}.papers:read`, url: 'https://api.acme.example/v1/papers' },
    { path: 'api/health' },
  ],
  actionSets: [{ action: 'folders:edit', actions: [`${R}.docs:create`, `${R}.docs:write`] }],
};

let env, page, seen;
before(async () => {
  env = await startEnv(18910);
  ({ page, seen } = await openPage(env, 'rbac.html'));
  // Both manifests install as given, on a host of their own (the corpus file as JSON text).
  const r = await page.evaluate(async ({ grafana, research }) => {
    const H = window.rbacHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory' });
    return {
      grafana: await H.attempt(() => host.install(grafana)),
      research: await H.attempt(() => host.install(research)),
      plugins: await H.attempt(() => [...host.plugins()].sort()),
    };
  }, { grafana: GRAFANA_TEXT, research: RESEARCH });
  assert.deepEqual(r.grafana, { ok: true, value: { id: G, status: { state: 'installed' }, warnings: [] } }, JSON.stringify(r.grafana));
  assert.deepEqual(r.research, { ok: true, value: { id: R, status: { state: 'installed' }, warnings: [] } }, JSON.stringify(r.research));
  assert.deepEqual(r.plugins, { ok: true, value: [R, G].sort() });
});
after(() => env?.close());

/** Run `body(H, host)` in the page on a fresh host with both plugins (and `user`, if given). */
function withHost(body, arg, user) {
  return page.evaluate(async ({ src, arg, grafana, research, user }) => {
    const H = window.rbacHarness;
    const host = await H.hostWith([grafana, research], user);
    // The test's own function, rebuilt in the page (page.evaluate takes one function).
    return (0, eval)(`(${src})`)(H, host, arg);
  }, { src: body.toString(), arg, grafana: GRAFANA_TEXT, research: RESEARCH, user });
}

test('Grafana corpus: Viewer sees Hello and Research documents; Admin also Patents; no role only Hello', async () => {
  const r = await withHost((H, host, G) => {
    const out = {};
    for (const role of ['Viewer', 'Editor', 'Admin', 'None']) {
      host.setUser({ role });
      out[role] = {
        pages: H.pageNames(host, G),
        papers: host.hasPermission(`${G}.papers:read`),
        patents: host.hasPermission(`${G}.patents:read`),
      };
    }
    host.setUser({ role: 'Viewer' });
    out.viewerIncludes = host.visibleIncludes(G);
    out.routes = H.attemptSync(() => host.canAccessRoute(G, 'api/anything', 'GET'));
    return out;
  }, G);
  assert.deepEqual(r.Viewer, { pages: ['Hello', 'Research documents'], papers: true, patents: false });
  assert.deepEqual(r.Editor, { pages: ['Hello', 'Research documents'], papers: true, patents: false });
  assert.deepEqual(r.Admin, { pages: ['Hello', 'Research documents', 'Patents'], papers: true, patents: true });
  assert.deepEqual(r.None, { pages: ['Hello'], papers: false, patents: false });
  // %PLUGIN_ID% is replaced; addToNav/defaultNav as in the file.
  assert.deepEqual(r.viewerIncludes, [
    { type: 'page', name: 'Hello', path: `/a/${G}/hello`, addToNav: true, defaultNav: true },
    { type: 'page', name: 'Research documents', path: `/a/${G}/research-docs`, addToNav: true, defaultNav: false },
  ]);
  // The corpus declares no routes: any route is NOT_FOUND.
  assert.equal(r.routes.ok, false);
  assert.equal(r.routes.error.code, 'NOT_FOUND', JSON.stringify(r.routes));
});

test('DESIGN §4-style plugin: Viewer sees the papers page, not patents; Editor likewise; Admin both', async () => {
  const r = await withHost((H, host, R) => {
    const out = {};
    for (const role of ['Viewer', 'Editor', 'Admin', 'None']) {
      host.setUser({ role });
      out[role] = {
        pages: H.pageNames(host, R),
        papers: host.hasPermission(`${R}.papers:read`),
        patents: host.hasPermission(`${R}.patents:read`),
        patentsRoute: host.canAccessRoute(R, 'api/patents', 'GET'),
        papersRoute: host.canAccessRoute(R, 'api/papers', 'GET'),
        healthRoute: host.canAccessRoute(R, 'api/health', 'DELETE'),
      };
    }
    host.setUser({ role: 'Admin' });
    out.adminIncludes = host.visibleIncludes(R);
    return out;
  }, R);
  const row = (pages, papers, patents) => ({ pages, papers, patents, patentsRoute: patents, papersRoute: papers, healthRoute: true });
  assert.deepEqual(r.Viewer, row(['Papers', 'About'], true, false));
  assert.deepEqual(r.Editor, row(['Papers', 'About'], true, false));
  assert.deepEqual(r.Admin, row(['Papers', 'Patents', 'About'], true, true));
  assert.deepEqual(r.None, row(['About'], false, false));
  assert.deepEqual(r.adminIncludes, [
    { type: 'page', name: 'Papers', path: `/a/${R}/papers`, addToNav: true, defaultNav: false },
    { type: 'page', name: 'Patents', path: `/a/${R}/patents`, addToNav: true, defaultNav: false },
    { type: 'page', name: 'About', path: `/a/${R}/about`, addToNav: false, defaultNav: true },
  ]);
});

test('setUser changes every answer at once, in the same tick, with no reload (cache warmed first)', async () => {
  const r = await withHost((H, host, { R, G }) => {
    const snap = () => ({
      patents: host.hasPermission(`${R}.patents:read`),
      gPatents: host.hasPermission(`${G}.patents:read`),
      papers: host.hasPermission(`${R}.papers:read`),
      docs: host.hasPermission(`${R}.docs:create`),
      wild: host.hasPermission(`${R}.patents:write`),
      pages: H.pageNames(host, R),
      gPages: H.pageNames(host, G),
      route: host.canAccessRoute(R, 'api/patents', 'GET'),
    });
    const out = { href: location.href };
    out.viewer = snap(); // the JS cache exists from here on; later users must update it in place
    host.setUser({ role: 'Admin' });
    out.admin = snap();
    host.setUser({ role: 'Viewer' });
    out.viewerAgain = snap();
    host.setUser({ permissions: [`${R}.patents:*`] });
    out.wildcard = snap();
    host.setUser({ role: 'Editor' });
    out.editor = snap();
    host.setUser({});
    out.anonymous = snap();
    out.hrefAfter = location.href;
    return out;
  }, { R, G }, { role: 'Viewer' });
  assert.equal(r.hrefAfter, r.href, 'no navigation');
  assert.deepEqual(r.viewer, { patents: false, gPatents: false, papers: true, docs: false, wild: false, pages: ['Papers', 'About'], gPages: ['Hello', 'Research documents'], route: false });
  assert.deepEqual(r.admin, { patents: true, gPatents: true, papers: true, docs: true, wild: false, pages: ['Papers', 'Patents', 'About'], gPages: ['Hello', 'Research documents', 'Patents'], route: true });
  assert.deepEqual(r.viewerAgain, r.viewer);
  assert.deepEqual(r.wildcard, { patents: true, gPatents: false, papers: false, docs: false, wild: true, pages: ['Patents', 'About'], gPages: ['Hello'], route: true });
  assert.deepEqual(r.editor, { patents: false, gPatents: false, papers: true, docs: true, wild: false, pages: ['Papers', 'About'], gPages: ['Hello', 'Research documents'], route: false });
  assert.deepEqual(r.anonymous, { patents: false, gPatents: false, papers: false, docs: false, wild: false, pages: ['About'], gPages: ['Hello'], route: false });
});

test('assigned roles: by display name (every plugin with that role name) and by qualified name (one plugin)', async () => {
  const r = await withHost((H, host, { R, G }) => {
    const snap = () => ({
      patents: host.hasPermission(`${R}.patents:read`),
      gPatents: host.hasPermission(`${G}.patents:read`),
      papers: host.hasPermission(`${R}.papers:read`),
      pages: H.pageNames(host, R),
      gPages: H.pageNames(host, G),
    });
    const out = {};
    host.setUser({ role: 'Viewer', roles: ['Patents Reader'] });
    out.byName = snap();
    host.setUser({ role: 'Viewer', roles: [`plugins:${R}:patents-reader`] });
    out.qualified = snap();
    host.setUser({ roles: ['Research Papers Reader'] });
    out.papersOnly = snap();
    host.setUser({ role: 'Viewer', roles: ['patents reader', 'Patents Reader ', 'plugins:other-app:patents-reader'] });
    out.nearMisses = snap();
    return out;
  }, { R, G });
  // "Patents Reader" is a role name in both plugins: the display name matches both.
  assert.deepEqual(r.byName, { patents: true, gPatents: true, papers: true, pages: ['Papers', 'Patents', 'About'], gPages: ['Hello', 'Research documents', 'Patents'] });
  assert.deepEqual(r.qualified, { patents: true, gPatents: false, papers: true, pages: ['Papers', 'Patents', 'About'], gPages: ['Hello', 'Research documents'] });
  assert.deepEqual(r.papersOnly, { patents: false, gPatents: false, papers: true, pages: ['Papers', 'About'], gPages: ['Hello'] });
  assert.deepEqual(r.nearMisses, { patents: false, gPatents: false, papers: true, pages: ['Papers', 'About'], gPages: ['Hello', 'Research documents'] });
});

test('explicit permission: { permissions: [<id>.patents:read] } grants exactly that action', async () => {
  const r = await withHost((H, host, { R, G }) => {
    host.setUser({ permissions: [`${R}.patents:read`] });
    return {
      patents: host.hasPermission(`${R}.patents:read`),
      write: host.hasPermission(`${R}.patents:write`),
      gPatents: host.hasPermission(`${G}.patents:read`),
      papers: host.hasPermission(`${R}.papers:read`),
      pages: H.pageNames(host, R),
      route: host.canAccessRoute(R, 'api/patents', 'get'),
      papersRoute: host.canAccessRoute(R, 'api/papers', 'GET'),
      cache: { exact: [...host.accessCache().exact], prefixes: [...host.accessCache().prefixes] },
    };
  }, { R, G });
  assert.deepEqual(r, {
    patents: true, write: false, gPatents: false, papers: false,
    pages: ['Patents', 'About'], route: true, papersRoute: false,
    cache: { exact: [`${R}.patents:read`], prefixes: [] },
  });
});

test('wildcard <id>.patents:* (JS prefix path → wasm validation): :read yes; patentsx, "read extra", malformed no', async () => {
  const r = await withHost((H, host, { R, G }) => {
    host.setUser({ permissions: [`${R}.patents:*`] });
    const cache = host.accessCache();
    const ask = [
      `${R}.patents:read`, `${R}.patents:write`, `${R}.patents:READ`, `${R}.patents:read.all`,
      `${R}.patentsx:read`, `${R}.patents:read extra`, `${R}.patents:`, `${R}.patents:re*d`,
      `${R}.patents:read:x`, `${R}.patents:read\n`, `${R}.patents:ré`, `${R}.patents:${'a'.repeat(300)}`,
      `${R}.patents`, `${R}.patents.sub:read`, `${R}.papers:read`, `${G}.patents:read`,
    ];
    return {
      cache: { exact: [...cache.exact], prefixes: [...cache.prefixes] },
      answers: Object.fromEntries(ask.map((a) => [a, host.hasPermission(a)])),
      nonStrings: [null, undefined, 42, {}, [`${R}.patents:read`]].map((v) => H.attemptSync(() => host.hasPermission(v))),
      route: host.canAccessRoute(R, 'api/patents', 'GET'),
    };
  }, { R, G });
  assert.deepEqual(r.cache, { exact: [], prefixes: [`${R}.patents:`] }, 'the wildcard is a prefix in the JS cache');
  assert.deepEqual(r.answers, {
    [`${R}.patents:read`]: true,
    [`${R}.patents:write`]: true,
    [`${R}.patents:READ`]: true,
    [`${R}.patents:read.all`]: true,
    [`${R}.patentsx:read`]: false,
    [`${R}.patents:read extra`]: false,
    [`${R}.patents:`]: false,
    [`${R}.patents:re*d`]: false,
    [`${R}.patents:read:x`]: false,
    [`${R}.patents:read\n`]: false,
    [`${R}.patents:ré`]: false,
    [`${R}.patents:${'a'.repeat(300)}`]: false, // over 256 bytes
    [`${R}.patents`]: false,
    [`${R}.patents.sub:read`]: false,
    [`${R}.papers:read`]: false,
    [`${G}.patents:read`]: false,
  });
  assert.deepEqual(r.nonStrings, Array(5).fill({ ok: true, value: false }), 'non-strings answer false, never throw');
  assert.equal(r.route, true);
});

test('action sets: a user with folders:edit (Editor, or explicitly) holds the plugin\'s folders:edit additions', async () => {
  const r = await withHost((H, host, R) => {
    const users = {
      none: { role: 'None' }, viewer: { role: 'Viewer' }, editor: { role: 'Editor' }, admin: { role: 'Admin' },
      explicitView: { permissions: ['folders:view'] }, explicitEdit: { permissions: ['folders:edit'] },
      explicitAdmin: { permissions: ['folders:admin'] }, foldersStar: { permissions: ['folders:*'] },
    };
    const out = {};
    for (const [k, u] of Object.entries(users)) {
      host.setUser(u);
      out[k] = ['docs:create', 'docs:write', 'docs:read'].map((a) => host.hasPermission(`${R}.${a}`))
        .concat(['folders:view', 'folders:edit', 'folders:admin', 'folders:delete'].map((a) => host.hasPermission(a)));
    }
    // Uninstalling the plugin removes its additions at once (same tick).
    host.setUser({ role: 'Editor' });
    const before = host.hasPermission(`${R}.docs:create`);
    host.uninstall(R);
    out.afterUninstall = [before, host.hasPermission(`${R}.docs:create`), host.hasPermission('folders:edit')];
    return out;
  }, R);
  //                 docs:create docs:write docs:read | view  edit   admin  delete
  assert.deepEqual(r.none,          [false, false, false, false, false, false, false]);
  assert.deepEqual(r.viewer,        [false, false, false, true, false, false, false]);
  assert.deepEqual(r.editor,        [true, true, false, true, true, false, false]);
  assert.deepEqual(r.admin,         [true, true, false, true, true, true, false]);
  assert.deepEqual(r.explicitView,  [false, false, false, true, false, false, false]);
  assert.deepEqual(r.explicitEdit,  [true, true, false, true, true, false, false]);
  assert.deepEqual(r.explicitAdmin, [true, true, false, true, true, true, false]);
  // folders:* is a prefix: every folders: action (delete included) through the JS prefix path.
  assert.deepEqual(r.foldersStar,   [true, true, false, true, true, true, true]);
  assert.deepEqual(r.afterUninstall, [true, false, true]);
});

test('canAccessRoute: reqAction decides per user; method case-insensitive; unknown route/plugin → NOT_FOUND', async () => {
  const r = await withHost((H, host, { R, G }) => {
    const out = {};
    host.setUser({ role: 'Viewer' });
    out.viewer = [host.canAccessRoute(R, 'api/patents', 'GET'), host.canAccessRoute(R, 'api/papers', 'get')];
    host.setUser({ role: 'Admin' });
    out.admin = [host.canAccessRoute(R, 'api/patents', 'GET'), host.canAccessRoute(R, 'api/patents', 'gEt')];
    out.unknownMethod = H.attemptSync(() => host.canAccessRoute(R, 'api/patents', 'POST'));
    out.unknownPath = H.attemptSync(() => host.canAccessRoute(R, 'api/nope', 'GET'));
    out.trailingSlash = H.attemptSync(() => host.canAccessRoute(R, 'api/patents/', 'GET'));
    out.unknownPlugin = H.attemptSync(() => host.canAccessRoute('other-app', 'api/patents', 'GET'));
    out.includesUnknown = H.attemptSync(() => host.visibleIncludes('other-app'));
    out.includesBadId = H.attemptSync(() => host.visibleIncludes('Not An Id'));
    out.anyMethod = ['GET', 'DELETE', 'PATCH'].map((m) => host.canAccessRoute(R, 'api/health', m));
    return out;
  }, { R, G });
  assert.deepEqual(r.viewer, [false, true]);
  assert.deepEqual(r.admin, [true, true]);
  for (const k of ['unknownMethod', 'unknownPath', 'trailingSlash', 'unknownPlugin', 'includesUnknown', 'includesBadId']) {
    assert.equal(r[k].ok, false, `${k}: ${JSON.stringify(r[k])}`);
    assert.equal(r[k].error.code, 'NOT_FOUND', `${k}: ${JSON.stringify(r[k])}`);
    assert.equal(r[k].error.name, 'PluginWardenError', k);
    assert.equal(r[k].error.isError, true, k);
  }
  assert.match(r.unknownPath.error.message, /api\/nope/);
  assert.match(r.includesUnknown.error.message, /other-app/);
  assert.deepEqual(r.anyMethod, [true, true, true]);
});

test('malformed setUser → INVALID_ARGUMENT; the previous user\'s answers are unchanged', async () => {
  const r = await withHost((H, host, { R, G }) => {
    const snap = () => JSON.stringify({
      has: [`${R}.patents:read`, `${R}.papers:read`, `${R}.docs:create`, `${G}.patents:read`, 'folders:edit', `${R}.patents:write`]
        .map((a) => host.hasPermission(a)),
      pages: H.pageNames(host, R),
      route: host.canAccessRoute(R, 'api/patents', 'GET'),
      cache: [[...host.accessCache().exact], [...host.accessCache().prefixes]],
    });
    const bad = [
      { role: 'Root' }, { role: 'admin' }, { role: 'Viewer', admin: true }, { permissions: ['*'] },
      { permissions: ['not an action'] }, { roles: [''] }, { roles: 'Patents Reader' }, [], 'Admin', null, 42,
    ];
    const out = { results: [] };
    for (const user of [{ role: 'Admin' }, { permissions: [`${R}.patents:*`] }]) {
      host.setUser(user);
      const before = snap();
      const errors = bad.map((u) => H.attemptSync(() => host.setUser(u)));
      out.results.push({ before, after: snap(), errors });
    }
    return out;
  }, { R, G });
  for (const { before, after, errors } of r.results) {
    assert.equal(after, before, 'answers unchanged after the refused users');
    errors.forEach((e, i) => {
      assert.equal(e.ok, false, `bad user #${i} was accepted`);
      assert.equal(e.error.code, 'INVALID_ARGUMENT', `bad user #${i}: ${JSON.stringify(e)}`);
      assert.equal(e.error.isError, true);
    });
    assert.match(errors[0].error.message, /Root/, 'the message names what was found');
  }
  assert.deepEqual(JSON.parse(r.results[0].before).has, [true, true, true, true, true, false]);
  assert.deepEqual(JSON.parse(r.results[1].before).has, [true, false, false, false, false, true]);
});

// The truth table: which users hold each action, derived from the rules (src/core/rbac.rs):
//   N None · V Viewer · E Editor · A Admin · P Viewer + roles ["Patents Reader"] (both plugins'
//   role of that name) · W { permissions: [R.patents:*, folders:view] } (no basic role).
// Viewer ⊂ Editor ⊂ Admin; basic roles carry folders:view/edit/admin; R appends docs:create and
// docs:write to folders:edit; a wildcard answers for every *valid* action under its prefix.
const USERS = {
  N: { role: 'None' },
  V: { role: 'Viewer' },
  E: { role: 'Editor' },
  A: { role: 'Admin' },
  P: { role: 'Viewer', roles: ['Patents Reader'] },
  W: { permissions: [`${R}.patents:*`, 'folders:view'] },
};
const TRUTH = [
  [`${R}.papers:read`, 'VEAP'],
  [`${R}.patents:read`, 'APW'],
  [`${R}.patents:write`, 'W'],
  [`${R}.patents:READ`, 'W'],
  [`${R}.patents:read.all`, 'W'],
  [`${R}.patents:*`, 'W'], // a valid (wildcard) action under W's prefix
  [`${G}.patents:read`, 'AP'],
  [`${G}.papers:read`, 'VEAP'],
  [`${G}.patents:write`, ''],
  [`${R}.docs:create`, 'EA'],
  [`${R}.docs:write`, 'EA'],
  [`${R}.docs:read`, ''],
  ['folders:view', 'VEAPW'],
  ['folders:edit', 'EA'],
  ['folders:admin', 'A'],
  ['folders:delete', ''],
  ['folders:*', ''],
  ['dashboards:write', ''],
  [`${R}.papers:*`, ''],
  [`${R}.patentsx:read`, ''],
  [`${R}.patents.sub:read`, ''],
  [`${R}.PATENTS:read`, ''],
  [`${R}.patents:read extra`, ''],
  [`${R}.patents:`, ''],
  [`${R}.patents:re*d`, ''],
  [`${R}.patents:read:x`, ''],
  [`${R}.patents:ré`, ''],
  [`${R}.patents:read\t`, ''],
  [`${R}.patents`, ''],
  [` ${R}.patents:read`, ''],
  ['', ''],
  ['*', ''],
];

test(`hasPermission agrees with the rules: ${TRUTH.length} actions × ${Object.keys(USERS).length} users, cold and warm`, async () => {
  const r = await withHost((H, host, { users, actions }) => {
    const out = {};
    for (const [k, u] of Object.entries(users)) {
      host.setUser(u);
      // First pass right after setUser, second pass with everything already asked once.
      const cold = actions.map((a) => host.hasPermission(a));
      const warm = actions.map((a) => host.hasPermission(a));
      out[k] = { cold, warm };
    }
    // A second host with another user: the per-host caches stay separate.
    const other = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory', user: { role: 'Admin' } });
    host.setUser(users.V);
    out.twoHosts = [host.hasPermission('folders:admin'), other.hasPermission('folders:admin'), host.hasPermission('folders:view')];
    return out;
  }, { users: USERS, actions: TRUTH.map(([a]) => a) });
  const mismatches = [];
  for (const k of Object.keys(USERS)) {
    TRUTH.forEach(([action, holders], i) => {
      const want = holders.includes(k);
      if (r[k].cold[i] !== want) mismatches.push(`${k} ${JSON.stringify(action)}: got ${r[k].cold[i]}, want ${want}`);
      if (r[k].warm[i] !== r[k].cold[i]) mismatches.push(`${k} ${JSON.stringify(action)}: warm ${r[k].warm[i]} ≠ cold ${r[k].cold[i]}`);
    });
  }
  assert.deepEqual(mismatches, []);
  assert.deepEqual(r.twoHosts, [false, true, true]);
});

test('a plugin whose install failed, or a refused second install of an id, grants nothing', async () => {
  const old = variant('acme-old-app', { compatibility: '^9.0.0' });
  old.roles[0].grants = ['Viewer'];
  const r = await page.evaluate(async ({ research, unsignedManifest, old }) => {
    const H = window.rbacHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory', requireSignatures: true, user: { role: 'Admin' } });
    const unsigned = await H.attempt(() => host.install(unsignedManifest, { code: 'export const x = 1;\n' }));
    const lax = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory', user: { role: 'Viewer' } });
    const first = await H.attempt(() => lax.install(research));
    // The same id again, now granting patents to Viewer and adding to folders:view.
    const widened = JSON.parse(JSON.stringify(research));
    widened.roles[0].grants = ['Viewer'];
    widened.actionSets = [{ action: 'folders:view', actions: [`${research.id}.docs:create`] }];
    const again = await H.attempt(() => lax.install(widened));
    const incompatible = await H.attempt(() => lax.install(old));
    return {
      unsigned,
      unsignedStatus: host.status('acme-unsigned-app').state,
      unsignedHas: ['acme-unsigned-app.patents:read', 'acme-unsigned-app.docs:create'].map((a) => host.hasPermission(a)),
      unsignedIncludes: H.attemptSync(() => host.visibleIncludes('acme-unsigned-app')),
      first: first.ok,
      again: again.ok ? 'installed' : again.error.code,
      incompatible: incompatible.ok ? 'installed' : incompatible.error.code,
      viewer: [`${research.id}.patents:read`, `${research.id}.docs:create`, 'acme-old-app.patents:read', 'acme-old-app.docs:create']
        .map((a) => lax.hasPermission(a)),
      pages: H.pageNames(lax, research.id),
      oldIncludes: H.attemptSync(() => lax.visibleIncludes('acme-old-app')),
    };
  }, { research: RESEARCH, unsignedManifest: variant('acme-unsigned-app', {}), old });
  assert.equal(r.unsigned.error?.code, 'SIGNATURE_INVALID', JSON.stringify(r.unsigned));
  assert.equal(r.unsignedStatus, 'failed');
  assert.deepEqual(r.unsignedHas, [false, false], 'an unsigned plugin\'s roles and action sets do not apply');
  assert.equal(r.unsignedIncludes.error?.code, 'NOT_FOUND', JSON.stringify(r.unsignedIncludes));
  assert.equal(r.first, true);
  assert.equal(r.again, 'ALREADY_EXISTS');
  assert.equal(r.incompatible, 'INCOMPATIBLE');
  assert.deepEqual(r.viewer, [false, false, false, false], 'refused installs changed nothing');
  assert.deepEqual(r.pages, ['Papers', 'About']);
  assert.equal(r.oldIncludes.error?.code, 'NOT_FOUND', JSON.stringify(r.oldIncludes));
});

// Regression: the JS cache lives in a WeakMap keyed by the wrapper; after host.free()
// hasPermission must throw like every other method, not keep granting from the stale cache.
test('after host.free(), hasPermission does not keep granting from the stale JS cache', async () => {
  const r = await page.evaluate(async () => {
    const H = window.rbacHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory', user: { role: 'Admin', permissions: ['acme-x-app.things:*'] } });
    const warm = [host.hasPermission('folders:admin'), host.hasPermission('acme-x-app.things:read')];
    host.free();
    return {
      warm,
      exact: H.attemptSync(() => host.hasPermission('folders:admin')),
      prefix: H.attemptSync(() => host.hasPermission('acme-x-app.things:read')),
      other: H.attemptSync(() => host.visibleIncludes('acme-x-app')),
    };
  });
  assert.deepEqual(r.warm, [true, true]);
  assert.equal(r.other.ok, false, 'other methods throw on a freed host');
  assert.notDeepEqual(r.exact, { ok: true, value: true }, `freed host still grants folders:admin: ${JSON.stringify(r.exact)}`);
  assert.equal(r.exact.ok, r.prefix.ok, `exact and prefix paths disagree: ${JSON.stringify(r)}`);
});

// --- INVALID_MANIFEST through host.install --------------------------------------------------

/** Install each manifest on a fresh host: the outcome and the status of its id. */
function installAll(manifests) {
  return page.evaluate(async (manifests) => {
    const H = window.rbacHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory' });
    const out = {};
    for (const [k, m] of Object.entries(manifests)) {
      const r = await H.attempt(() => host.install(m));
      out[k] = { ...r, status: H.attemptSync(() => host.status(m.id)), rbac: H.attemptSync(() => host.visibleIncludes(m.id)) };
    }
    return out;
  }, manifests);
}

/** The research manifest under a new id (actions renamed), with `patch` applied. */
function variant(id, patch) {
  const m = JSON.parse(JSON.stringify(RESEARCH).replaceAll(`${R}.`, `${id}.`));
  return { ...m, id, ...patch };
}

function assertInvalid(r, paths, what) {
  assert.equal(r.ok, false, `${what}: installed: ${JSON.stringify(r.value)}`);
  assert.equal(r.error.code, 'INVALID_MANIFEST', `${what}: ${JSON.stringify(r.error)}`);
  assert.equal(r.error.isError, true);
  const n = paths.length;
  assert.match(r.error.message, new RegExp(`^invalid manifest \\(${n} problems?\\):`), `${what}: ${r.error.message}`);
  for (const p of paths) {
    assert.ok(r.error.message.includes(`\n- ${p}: `), `${what}: message names \`${p}\`: ${r.error.message}`);
  }
  assert.equal(r.error.message.split('\n- ').length - 1, n, `${what}: exactly ${n} problem line(s): ${r.error.message}`);
  // The manifest never loaded, so RBAC does not know the plugin.
  assert.equal(r.rbac.ok, false, `${what}: RBAC knows the rejected plugin`);
  assert.equal(r.rbac.error.code, 'NOT_FOUND', what);
}

test('INVALID_MANIFEST: a role granting the core action dashboards:write names roles[0].role.permissions[0].action', async () => {
  const roles = JSON.parse(JSON.stringify(variant('acme-core-app', {}).roles));
  roles[0].role.permissions[0].action = 'dashboards:write';
  const r = await installAll({ core: variant('acme-core-app', { roles }), control: variant('acme-control-app', {}) });
  assertInvalid(r.core, ['roles[0].role.permissions[0].action'], 'core action');
  assert.match(r.core.error.message, /roles\[0\]\.role\.permissions\[0\]\.action: "dashboards:write" is outside this plugin's namespace "acme-core-app\."/);
  assert.deepEqual(r.core.status.value, { state: 'failed', code: 'INVALID_MANIFEST', message: r.core.error.message });
  assert.equal(r.control.ok, true, `control installs: ${JSON.stringify(r.control.error)}`);
});

test('INVALID_MANIFEST: an include gated by another plugin\'s action; an optional permission that is no capability', async () => {
  const includes = JSON.parse(JSON.stringify(variant('acme-steal-app', {}).includes));
  includes[1].action = `${R}.patents:read`;
  const r = await installAll({
    include: variant('acme-steal-app', { includes }),
    optional: variant('acme-optional-app', { optionalPermissions: ['api:write', 'geolocation'] }),
  });
  assertInvalid(r.include, ['includes[1].action'], 'include with another plugin\'s action');
  assert.match(r.include.error.message, /includes\[1\]\.action: "acme-research-app\.patents:read" is outside this plugin's namespace "acme-steal-app\."/);
  assertInvalid(r.optional, ['optionalPermissions[1]'], 'unknown optional capability');
  assert.match(r.optional.error.message, /optionalPermissions\[1\]: .*known capability/);
  assert.match(r.optional.error.message, /geolocation/);
});

test('INVALID_MANIFEST: every problem is reported together (two problems → both paths; more → all)', async () => {
  const two = variant('acme-two-app', { optionalPermissions: ['camera'] });
  two.routes = JSON.parse(JSON.stringify(two.routes));
  two.routes[0].reqAction = 'teams:write';
  const many = variant('acme-many-app', {
    optionalPermissions: ['camera'],
    roles: [{ role: { name: 'Owner', permissions: [{ action: 'dashboards:write' }, { action: 'acme-many-app.x:read' }, { action: 'users:*' }] }, grants: ['Viewer', 'Root'] }],
    actionSets: [{ action: 'teams:read', actions: ['acme-many-app.x:read'] }, { action: 'folders:view', actions: ['folders:admin'] }],
  });
  const r = await installAll({ two, many });
  assertInvalid(r.two, ['optionalPermissions[0]', 'routes[0].reqAction'], 'two problems');
  assertInvalid(r.many, [
    'optionalPermissions[0]',
    'roles[0].role.permissions[0].action',
    'roles[0].role.permissions[2].action',
    'roles[0].grants[1]',
    'actionSets[0].action',
    'actionSets[1].actions[0]',
  ], 'six problems');
});

// --- scopes ---------------------------------------------------------------------------------

const S = 'acme-scoped-app';
const SCOPED = {
  id: S,
  name: 'Scoped',
  version: '1.0.0',
  roles: [
    { role: { name: 'Folder Docs', permissions: [
      { action: `${S}.docs:read`, scope: 'folders:uid:*' },
      { action: `${S}.docs:write`, scope: 'folders:uid:team' },
      { action: `${S}.audit:read` },
    ] }, grants: ['Viewer'] },
  ],
  includes: [{ type: 'page', name: 'Write', path: '/a/%PLUGIN_ID%/w', action: `${S}.docs:write` }],
  routes: [{ path: 'api/w', method: 'POST', reqAction: `${S}.docs:write` }],
};

test('scopes: hasPermission(action, scope) in the browser (wasm), unscoped checks from the JS cache', async () => {
  const r = await page.evaluate(async ({ S, SCOPED }) => {
    const H = window.rbacHarness;
    const host = new H.PluginHost({ hostVersion: '3.2.0', storage: 'memory', user: { role: 'Viewer' } });
    await host.install(SCOPED);
    const q = (a, s) => host.hasPermission(a, s);
    const out = {};
    out.viewer = {
      anyScope: q(`${S}.docs:write`),
      team: q(`${S}.docs:write`, 'folders:uid:team'),
      other: q(`${S}.docs:write`, 'folders:uid:other'),
      readAny: q(`${S}.docs:read`, 'folders:uid:abc'),
      readDash: q(`${S}.docs:read`, 'dashboards:uid:abc'),
      unscopedOnly: q(`${S}.audit:read`),
      unscopedAsked: q(`${S}.audit:read`, 'folders:uid:team'),
      folderSet: q('folders:view', 'folders:uid:abc'),
      badTarget: q(`${S}.docs:read`, 'folders:uid:ab*'),
      nonString: q(`${S}.docs:read`, 7),
      include: host.visibleIncludes(S).map((i) => i.name),
      route: host.canAccessRoute(S, 'api/w', 'POST'),
      cacheHasWrite: host.accessCache().exact.has(`${S}.docs:write`),
    };
    host.setUser({ permissions: [{ action: `${S}.docs:*`, scope: '*' }, 'users:read', { action: 'users:write', scope: 'users:*' }] });
    out.user = {
      wildcard: q(`${S}.docs:delete`, 'anything:at:all'),
      usersRead: q('users:read'),
      usersReadScoped: q('users:read', 'users:1'),
      usersWrite: q('users:write', 'users:id:1'),
      usersWriteTeams: q('users:write', 'teams:1'),
      usersWriteAny: q('users:write'),
    };
    out.badUser = await H.attempt(() => host.setUser({ permissions: [{ action: 'users:read', scope: 'users*' }] }));
    out.afterBad = q('users:write', 'users:id:1');
    out.badManifest = await H.attempt(() => host.install({ ...SCOPED, id: 'acme-bad-app', roles: [
      { role: { name: 'R', permissions: [{ action: 'acme-bad-app.x:read', scope: 'a:*:b' }] } }] }));
    host.free();
    return out;
  }, { S, SCOPED });
  assert.deepEqual(r.viewer, {
    anyScope: true, team: true, other: false, readAny: true, readDash: false, unscopedOnly: true,
    unscopedAsked: false, folderSet: true, badTarget: false, nonString: false, include: ['Write'],
    route: true, cacheHasWrite: true,
  });
  assert.deepEqual(r.user, {
    wildcard: true, usersRead: true, usersReadScoped: false, usersWrite: true, usersWriteTeams: false, usersWriteAny: true,
  });
  assert.equal(r.badUser.ok, false);
  assert.equal(r.badUser.error.code, 'INVALID_ARGUMENT');
  assert.match(r.badUser.error.message, /permissions\[0\]\.scope/);
  assert.equal(r.afterBad, true, 'the previous user stays');
  assert.equal(r.badManifest.ok, false);
  assert.equal(r.badManifest.error.code, 'INVALID_MANIFEST');
  assert.ok(r.badManifest.error.message.includes('roles[0].role.permissions[0].scope'), r.badManifest.error.message);
});

test('the RBAC page saw no CSP / Trusted Types violations or page errors', () => {
  assert.deepEqual(seen.violations, []);
  assert.deepEqual(seen.pageErrors, []);
});
