// The host side of DESIGN.md §6, written the way a host developer would. `tsc --noEmit` over
// this file against pkg/*.d.ts is the contract check: renaming or retyping any of these fails it.
import init, { PluginHost, sanitize, analyzeBundle, validateManifest } from 'plugin-warden';
import type { AuditEvent, InstallInfo, PluginStatus, ErrorCode, IncludeView, PluginInfo, UpdateInfo, ManifestChange } from 'plugin-warden';

export async function host(element: HTMLElement, manifest: object, code: string): Promise<void> {
  await init();
  const audit: AuditEvent[] = [];
  const host = new PluginHost({
    hostVersion: '3.2.0',
    user: { role: 'Viewer', permissions: ['acme-patents-app.patents:read'] },
    storage: 'local',
    trustedTypesPolicy: 'plugin-warden',
    onPermissionRequest: async ({ pluginId, permission, reason }) => pluginId.length > 0 && permission !== 'api:write' && reason !== '',
    onAudit: (event) => { audit.push(event); },
    limits: { maxMessageBytes: 65536, callsPerSecond: 50, burst: 100, storageQuotaBytes: 1048576, heartbeatMs: 5000, unresponsiveAfterMs: 15000 },
    onUpdateConsent: async ({ pluginId, from, to, added, removed }) =>
      pluginId !== '' && from !== to && added.every((c: ManifestChange) => c.kind !== 'network' && c.words !== '') && removed.length >= 0,
  });
  const info: InstallInfo = await host.install(manifest, { code, signature: 'c2ln', publicKey: 'MFkw' });
  const warnings: string[] = info.warnings;
  await host.mount('acme-patents-app', element, { mode: 'iframe', src: 'https://plugins.acme.example/patents/' });
  await host.mount('acme-panel', element, { mode: 'shadow', html: '<p>hi</p>' });
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
  const allowed: boolean = host.hasPermission('acme-patents-app.patents:read');
  host.setUser({ role: 'Editor' });
  const pages: IncludeView[] = host.visibleIncludes(info.id);
  const route: boolean = host.canAccessRoute(info.id, 'api/patents', 'GET');
  const clean: string = host.sanitize('<b>x</b>') + sanitize('<i>y</i>');
  element.append(String(host.trustedHTML('<p>z</p>')));
  const csp: string = host.cspHeader({ nonce: 'AAAAAAAAAAAAAAAAAAAAAA==' });
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
  try {
    await host.install({ id: 'BAD' });
  } catch (e) {
    const err = e as { code: ErrorCode; message: string };
    console.log(err.code === 'INVALID_MANIFEST', err.message);
  }
}
