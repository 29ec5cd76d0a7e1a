// The demo's RBAC: a user switcher, a nav whose links the current user may see, and in-page
// views (hash routes) gated per user.
//   - plugin pages come from the app plugin's manifest `includes`: the nav shows exactly
//     `host.visibleIncludes(id)` (addToNav ones), and opening a page asks
//     `host.canAccessRoute(id, path, method)` for the manifest route behind it;
//   - the host's own "Host settings" page is gated by `host.hasPermission('folders:admin')`;
//   - switching users calls `host.setUser(...)` and re-renders nav and page at once.
import { el } from './dom.js';
import { QUOTES_ID } from '../demo-plugins.js';

/** The users of the switcher. `curator` holds a role the Quotes plugin declares (`user.roles`). */
export const USERS = {
  viewer: { label: 'Viewer', user: { role: 'Viewer' } },
  editor: { label: 'Editor', user: { role: 'Editor' } },
  admin: { label: 'Admin', user: { role: 'Admin' } },
  curator: { label: 'Viewer + Quotes Curator (plugin role)', user: { role: 'Viewer', roles: ['Quotes Curator'] } },
};

/** Which manifest route backs each plugin page (include path → route). */
const PAGE_ROUTES = {
  [`/a/${QUOTES_ID}/browse`]: { path: 'api/quotes', method: 'GET', what: 'browse the quotes the API serves' },
  [`/a/${QUOTES_ID}/suggest`]: { path: 'api/notes', method: 'POST', what: 'suggest a quote (POST to the API\'s notes)' },
  [`/a/${QUOTES_ID}/curate`]: { path: 'api/collection', method: 'DELETE', what: 'curate the collection (remove quotes)' },
};

const HOST_SETTINGS = { path: '/host/settings', name: 'Host settings', action: 'folders:admin' };

/** The actions shown next to the switcher, with what `hasPermission` says for the user. */
const SHOWN_ACTIONS = [`${QUOTES_ID}.quotes:read`, `${QUOTES_ID}.quotes:write`, `${QUOTES_ID}.collection:curate`, 'folders:admin'];

export function createNav({ host, manifests, navEl, pageEl, userSelect, userPermsEl, log }) {
  const app = manifests.find((m) => m.id === QUOTES_ID);
  let current = null;

  for (const [key, u] of Object.entries(USERS)) userSelect.append(el('option', { value: key, text: u.label }));

  /** "the roles that hold `action`, and whom they are granted to", from the manifest. */
  function whoHolds(action) {
    const roles = (app.roles ?? []).filter((r) => r.role.permissions.some((p) => p.action === action));
    if (!roles.length) return 'no role of the plugin holds it';
    return roles.map((r) => `role "${r.role.name}" (granted to ${r.grants?.length ? r.grants.join(', ') : 'nobody by default'}, or assigned by name)`).join('; ');
  }

  function setUser(key) {
    const u = USERS[key];
    if (!u) throw new Error(`no demo user ${key}`);
    host.setUser(u.user);
    current = key;
    userSelect.value = key;
    document.body.dataset.user = key;
    log('ok', `signed in as ${u.label}: nav and pages re-checked`);
    render();
  }

  function renderPerms() {
    userPermsEl.replaceChildren(...SHOWN_ACTIONS.map((a) => {
      const yes = host.hasPermission(a);
      return el('span', { class: `perm ${yes ? 'yes' : 'no'}`, dataset: { action: a }, title: yes ? 'held' : 'not held' }, `${yes ? '✓' : '✗'} ${a}`);
    }));
  }

  function links() {
    const out = [{ name: 'Plugins', href: '#/' }];
    for (const inc of host.visibleIncludes(QUOTES_ID)) {
      if (inc.addToNav && inc.path) out.push({ name: inc.name, href: `#${inc.path}` });
    }
    if (host.hasPermission(HOST_SETTINGS.action)) out.push({ name: HOST_SETTINGS.name, href: `#${HOST_SETTINGS.path}` });
    return out;
  }

  function renderNav() {
    const here = `#${route()}`;
    navEl.replaceChildren(el('ul', {}, links().map((l) => el('li', {},
      el('a', { href: l.href, 'aria-current': l.href === here ? 'page' : null }, l.name)))));
  }

  function route() {
    const r = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
    return r.startsWith('/') ? r : `/${r}`;
  }

  function noAccess(title, reason) {
    pageEl.dataset.page = 'no-access';
    pageEl.replaceChildren(
      el('h2', { text: title }),
      el('p', { class: 'no-access', role: 'alert' }, el('strong', { text: 'No access. ' }), reason),
    );
  }

  function renderPage() {
    const path = route();
    const who = USERS[current].label;
    pageEl.dataset.path = path;
    if (path === '/') {
      pageEl.dataset.page = 'home';
      pageEl.replaceChildren(
        el('h2', { text: 'Plugins' }),
        el('p', { text: 'Every plugin below runs outside this page\'s origin and reaches the host only through plugin-warden. '
          + 'The inspector on the right streams each of their calls with the host\'s decision; switch users above to see the nav and pages follow RBAC.' }),
      );
      return;
    }
    if (path === HOST_SETTINGS.path) {
      if (!host.hasPermission(HOST_SETTINGS.action)) {
        noAccess(HOST_SETTINGS.name, `${who} does not hold ${HOST_SETTINGS.action} (only Admin does).`);
        return;
      }
      pageEl.dataset.page = 'host-settings';
      pageEl.replaceChildren(
        el('h2', { text: HOST_SETTINGS.name }),
        el('p', { text: `${who} holds ${HOST_SETTINGS.action}. Installed plugins:` }),
        el('ul', {}, [...host.plugins()].sort().map((id) => el('li', {}, `${id}: ${host.status(id).state}`))),
      );
      return;
    }
    const m = /^\/a\/([a-z0-9-]+)\/[^/]+$/.exec(path);
    const include = m && manifests.find((x) => x.id === m[1])?.includes?.find((i) => i.path.replace('%PLUGIN_ID%', m[1]) === path);
    const backing = PAGE_ROUTES[path];
    if (!include || !backing) {
      pageEl.dataset.page = 'not-found';
      pageEl.replaceChildren(el('h2', { text: 'Not found' }), el('p', { text: `No page at ${path}.` }));
      return;
    }
    const id = m[1];
    let allowed;
    try {
      allowed = host.canAccessRoute(id, backing.path, backing.method);
    } catch (e) {
      noAccess(include.name, `the host could not check route ${backing.method} ${backing.path}: ${e.code} ${e.message}`);
      return;
    }
    const routeDecl = app.routes.find((r) => r.path === backing.path && r.method === backing.method);
    if (!allowed) {
      noAccess(include.name, `${who} may not ${backing.method} ${id}'s route ${backing.path}: it needs ${routeDecl.reqAction}, held by ${whoHolds(routeDecl.reqAction)}.`);
      return;
    }
    pageEl.dataset.page = 'plugin-page';
    pageEl.replaceChildren(
      el('h2', { text: include.name }),
      el('p', { text: `${who} may ${backing.what}: host.canAccessRoute("${id}", "${backing.path}", "${backing.method}") is true (it needs ${routeDecl.reqAction}).` }),
      el('p', { class: 'muted', text: `A page contributed by the ${id} plugin's manifest (includes: ${include.path}).` }),
    );
  }

  function render() {
    renderPerms();
    renderNav();
    renderPage();
  }

  userSelect.addEventListener('change', () => setUser(userSelect.value));
  window.addEventListener('hashchange', render);
  return { setUser, render, links, get user() { return current; } };
}
