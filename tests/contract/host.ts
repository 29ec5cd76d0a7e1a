// The host side of DESIGN.md §6, written the way a host developer would. `tsc --noEmit` over
// this file against pkg/*.d.ts is the contract check: renaming or retyping any of these fails it.
import init, { PluginHost, preload, sanitize, analyzeBundle, validateManifest, signedBytes, hostCsp } from 'plugin-warden';
import type { LazyModule, ModuleInput, AuditEvent, InstallInfo, PluginStatus, ErrorCode, IncludeView, PluginInfo, Manifest, Capability, Permission, MountOptions, CspHeaders, UpdateInfo, ManifestChange } from 'plugin-warden';

export async function host(element: HTMLElement, manifest: Manifest, code: string): Promise<void> {
  await init();
  const audit: AuditEvent[] = [];
  const host = new PluginHost({
    hostVersion: '3.2.0',
    user: { role: 'Viewer', permissions: ['acme-patents-app.patents:read', { action: 'users:read', scope: 'users:*' }] },
    allowPlugins: ['acme-*'],
    storage: 'local',
    trustedTypesPolicy: 'plugin-warden',
    onPermissionRequest: async ({ pluginId, permission, reason }) => pluginId.length > 0 && permission !== 'api:write' && reason !== '',
    onAudit: (event) => { audit.push(event); },
    limits: { maxMessageBytes: 65536, callsPerSecond: 50, burst: 100, storageQuotaBytes: 1048576, heartbeatMs: 5000, unresponsiveAfterMs: 15000, renderShare: 0.25, renderBurstMs: 250, renderCleanMs: 100 },
    onUpdateConsent: async ({ pluginId, from, to, added, removed }) =>
      pluginId !== '' && from !== to && added.every((c: ManifestChange) => c.kind !== 'network' && c.words !== '') && removed.length >= 0,
  });
  const info: InstallInfo = await host.install(manifest, { code, signature: 'c2ln', publicKey: 'MFkw' });
  const warnings: string[] = info.warnings;
  await host.mount('acme-patents-app', element, { mode: 'iframe', src: 'https://plugins.acme.example/patents/' });
  await host.mount('acme-panel', element, { mode: 'shadow', html: '<p>hi</p>' });
  await host.mount('acme-counter', element, { mode: 'worker', ui: 'shadow' });
  // Provenance (issue 13): pinned keys, mount-time code with its signature, the bytes to sign.
  const pinned = new PluginHost({
    requireSignatures: true,
    trustedKeys: ['MFkw', { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }],
    routes: { 'acme-patents-app': { data: { host: 'api.acme.example' }, secrets: { key: 'k' }, secretOrigins: ['https://api.acme.example'] } },
  });
  await pinned.install(manifest, { code, signature: 'c2ln' });
  await pinned.mount('acme-worker', element, { mode: 'worker', code, signature: 'c2ln' });
  const toSign: Uint8Array = signedBytes(manifest, code);
  const status: PluginStatus = host.status(info.id);
  if (status.state === 'failed') {
    const code: ErrorCode = status.code;
    console.log(code, status.message);
  }
  const updated: UpdateInfo = await host.update(info.id, { ...manifest, version: '2.0.0' }, { code });
  const widened: boolean = updated.consentNeeded && updated.remounted && updated.added.length > 0;
  console.log(updated.from, updated.to, widened, updated.removed.map((c) => c.value));
  host.grant(info.id, 'api:write');
  host.revoke(info.id, 'storage');
  const allowed: boolean = host.hasPermission('acme-patents-app.patents:read') && host.hasPermission('users:read', 'users:1');
  host.setUser({ role: 'Editor' });
  const pages: IncludeView[] = host.visibleIncludes(info.id);
  const route: boolean = host.canAccessRoute(info.id, 'api/patents', 'GET');
  // The sanitizer module, fetched on first need: by name, with or without its wasm.
  const loaded: Promise<void> = host.preload('sanitizer');
  await loaded;
  const sanitizerModule: LazyModule = 'sanitizer';
  const inputs: ModuleInput[] = ['/assets/sanitizer.wasm', new URL('https://cdn.example/s.wasm'), new Uint8Array(0), new ArrayBuffer(0)];
  await preload(sanitizerModule, inputs[0]);
  await preload('sanitizer', await fetch('/assets/sanitizer.wasm'));
  // The core's second part, likewise (esbuild: its URL).
  const checks: LazyModule = 'checks';
  await Promise.all([host.preload(checks), preload('checks', '/assets/checks.wasm')]);
  // The sanitizer's second part (IDNA, a host's own options), likewise.
  const rest: LazyModule = 'sanitizer-rest';
  await Promise.all([host.preload(rest), preload('sanitizer-rest', '/assets/sanitizer-rest.wasm')]);
  const notLoaded: ErrorCode = 'MODULE_NOT_LOADED';
  console.log(notLoaded);
  const clean: string = host.sanitize('<b>x</b>') + sanitize('<i>y</i>');
  element.append(String(host.trustedHTML('<p>z</p>')));
  element.innerHTML = host.trustedHTML('<p>as the host guide shows</p>');
  host.setHTML(element, '<p>built node by node</p>');
  const setReturns: void = host.setHTML(element.attachShadow({ mode: 'closed' }), '<b>x</b>');
  void setReturns;
  const csp: string = host.cspHeader({ nonce: 'AAAAAAAAAAAAAAAAAAAAAA==' });
  const ro: CspHeaders = host.cspHeader({ nonce: 'AAAAAAAAAAAAAAAAAAAAAA==', reportOnly: true, reportTo: 'https://host.example/csp-reports' });
  const headerName: 'Content-Security-Policy' | 'Content-Security-Policy-Report-Only' = ro.name;
  const endpoints: string | undefined = hostCsp([manifest], { nonce: 'AAAAAAAAAAAAAAAAAAAAAA==', reportTo: 'https://h.example/r' }).reportingEndpoints;
  const plainCsp: string = hostCsp([manifest], { nonce: 'AAAAAAAAAAAAAAAAAAAAAA==' });
  console.log(headerName, endpoints, plainCsp, ro.value);
  const log: AuditEvent[] = host.auditLog();
  const inspected: PluginInfo = host.inspect(info.id);
  const reached: number = host.emit('theme', { dark: true });
  host.unmount(info.id);
  host.uninstall(info.id, { removeData: true });
  host.destroy();
  const report = analyzeBundle(code, { network: ['https://api.acme.example/v1/'] });
  const firstRule: string | undefined = report.findings[0]?.rule;
  const valid: boolean = validateManifest(manifest).valid;
  console.log(warnings, allowed, pages, route, clean, csp, log, inspected, reached, firstRule, valid);
  // Every option is optional; the package's `runner` option names the runner page.
  const bare = new PluginHost();
  const withRunner = new PluginHost({ runner: new URL('/assets/worker-runner.html', location.href) });
  bare[Symbol.dispose]();
  withRunner.free();
  const typed: Manifest = { id: 'acme-notes', name: 'Notes', permissions: ['storage', 'ui:render'], optionalPermissions: ['api:write'] };
  const cap: Capability = 'events';
  const perm: Permission = cap;
  const worker: MountOptions = { mode: 'worker', ui: 'shadow' };
  console.log(typed, perm, worker);
  try {
    // @ts-expect-error a manifest needs `name` (the host rejects it at run time too)
    await host.install({ id: 'BAD' });
  } catch (e) {
    const err = e as { code: ErrorCode; message: string };
    console.log(err.code === 'INVALID_MANIFEST', err.message);
  }
}
