//! The `#[wasm_bindgen]` facade (DESIGN.md §6): converts values and errors, calls the core
//! (through `web` for anything that touches the page), nothing more.

use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::Element;

use crate::core::analysis::{analyze, AnalysisOptions};
use crate::core::csp::{CspHeader, ReportEndpoint, Reporting};
use crate::core::engine::{read_user, HostConfig, InstallInput, InstallNext, UpdateNext};
use crate::core::error::{cold_text, Coded, ErrorCode, WardenError};
use crate::core::manifest::{Manifest, ManifestOptions};
use crate::core::network::NetworkEntry;
use crate::core::provenance::{Envelope, ManifestDigest};
use crate::core::sanitize::Sanitizer;
use crate::web::host::{Callbacks, Host};
use crate::web::sys::{deferred, describe, error, from_js, js_error, to_js};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
declare global {
  /** Trusted Types' TrustedHTML (TypeScript's DOM library does not declare it yet). */
  interface TrustedHTML { toString(): string }
  /** `Symbol.dispose` (ES2026 explicit resource management), so `PluginHost`'s `[Symbol.dispose]` needs no `lib` setting. */
  interface SymbolConstructor { readonly dispose: unique symbol }
}
/** Stable error codes (API). */
export type ErrorCode =
  | 'INVALID_MANIFEST' | 'PERMISSION_DENIED' | 'NETWORK_DENIED' | 'NETWORK_ERROR' | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED' | 'MESSAGE_REJECTED' | 'INTEGRITY_MISMATCH' | 'SIGNATURE_INVALID'
  | 'INCOMPATIBLE' | 'BUNDLE_REJECTED' | 'MOUNT_FAILED' | 'TIMEOUT' | 'NOT_FOUND'
  | 'INVALID_ARGUMENT' | 'ALREADY_EXISTS' | 'TRUSTED_TYPES' | 'NOT_IMPLEMENTED' | 'NOT_INITIALIZED' | 'MODULE_NOT_LOADED' | 'INTERNAL';
/** Errors thrown by plugin-warden. */
export interface PluginWardenError extends Error { name: 'PluginWardenError'; code: ErrorCode; permission?: string }
/** A capability a manifest's `permissions` / `optionalPermissions` may list (DESIGN.md §4). */
export type Capability = 'storage' | 'api:read' | 'api:write' | 'events' | 'ui:notify' | 'ui:render' | 'permissions';
/** What `grant`, `revoke` and the manifest's permission lists name: a capability. */
export type Permission = Capability;
/** A basic role (`Viewer` ⊂ `Editor` ⊂ `Admin`). */
export type BasicRole = 'Viewer' | 'Editor' | 'Admin';
/** A plugin manifest (`plugin.json`, DESIGN.md §4). The host validates it again at run time. */
export interface Manifest {
  /** Lowercase `[a-z0-9-]`, 3..64 characters. */
  id: string;
  name: string;
  version?: string;
  /** A semver range the host version must satisfy, e.g. `^3.0.0`. */
  compatibility?: string;
  permissions?: Permission[];
  optionalPermissions?: Permission[];
  /** Absolute `https:` URL prefixes `sdk.api.fetch` may reach. */
  network?: string[];
  entry?: { src: string; integrity?: string };
  /** `https:` origins the plugin's frame or remote UI may load images, fonts, styles and media from. */
  assets?: string[];
  /** Permissions Policy features for the plugin's frame, e.g. `clipboard-write`. */
  allow?: string[];
  roles?: Array<{ role: { name: string; description?: string; permissions: Array<{ action: string; scope?: string }> }; grants: BasicRole[] }>;
  includes?: Array<{ type: string; name: string; path?: string; action?: string; role?: BasicRole | 'None'; addToNav?: boolean; defaultNav?: boolean }>;
  routes?: Array<{ path: string; method?: string; reqAction?: string; reqRole?: BasicRole | 'None'; url?: string; headers?: Array<{ name: string; content: string }> }>;
  actionSets?: Array<{ action: 'folders:view' | 'folders:edit' | 'folders:admin'; actions: string[] }>;
  /** Grafana `plugin.json` fields the host keeps and ignores. */
  type?: string;
  info?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
  $schema?: string;
}
/** A held permission: an action (pattern) alone, or with a Grafana scope (`users:*`, `folders:uid:abc`, `*`). */
export type UserPermission = string | { action: string; scope?: string };
export interface UserContext { role?: 'Viewer' | 'Editor' | 'Admin' | 'None'; roles?: string[]; permissions?: UserPermission[] }
export interface HostLimits {
  maxMessageBytes?: number; maxDepth?: number; callsPerSecond?: number; burst?: number; maxInFlight?: number;
  suspendAfter?: number; storageQuotaBytes?: number; maxValueBytes?: number; maxResponseBytes?: number; fetchTimeoutMs?: number;
  /** How often iframe and worker plugins are pinged (ms, default 5000, at least 50). */
  heartbeatMs?: number;
  /** Silence after which a plugin is failed with TIMEOUT and torn down (ms, default 15000, at least 2 heartbeats). */
  unresponsiveAfterMs?: number;
  /** The share of the page's time a plugin's remote-UI renders may take (default 0.25; above 0, at most 1); beyond it `ui.render` answers RATE_LIMITED. */
  renderShare?: number;
  /** The work in ms a plugin's renders may do before `renderShare` applies (default 250). */
  renderBurstMs?: number;
  /** The longest a remote UI's render may take to clean (ms, default 100, 1 to 60000): its two cleans, the engine's and the Trusted Types policy's, together; past it `ui.render` answers TIMEOUT. */
  renderCleanMs?: number;
}
export interface AuditEvent {
  seq: number; timeMs: number; plugin?: string; kind: string; method?: string;
  decision?: 'allow' | 'deny'; code?: ErrorCode; detail?: unknown;
}
export interface HostOptions {
  hostVersion?: string;
  /**
   * The runner page worker plugins and bundle iframes run in (the package's
   * `worker-runner.html`; default: found next to the entry module, which Vite and webpack
   * follow). esbuild: `import runner from 'plugin-warden/worker-runner.html'` with
   * `--loader:.html=file`, then `new PluginHost({ runner })`.
   */
  runner?: string | URL;
  user?: UserContext;
  storage?: 'local' | 'session' | 'memory' | 'indexeddb';
  /** Seal plugin values with AES-GCM under a per-plugin non-extractable key kept in IndexedDB (persistent `storage` only). */
  encrypt?: boolean;
  trustedTypesPolicy?: string;
  onPermissionRequest?: (request: { pluginId: string; permission: Capability; reason: string }) => boolean | Promise<boolean>;
  onAudit?: (event: AuditEvent) => void;
  onEvent?: (event: { pluginId: string; name: string; data: unknown }) => void;
  onNotify?: (notification: { pluginId: string; message: string; level: 'info' | 'success' | 'warning' | 'error' }) => void;
  /** Consent to an update that widens what a plugin may do (default: an accessible dialog listing each addition). */
  onUpdateConsent?: (request: UpdateConsentRequest) => boolean | Promise<boolean>;
  limits?: HostLimits;
  sanitizer?: { allowElements?: string[]; removeElements?: string[]; allowAttributes?: Record<string, string[]>; allowDataImages?: boolean; linkTarget?: 'strip' | 'blank'; maxTags?: number };
  /** Refuse code without a verified signature, at install and for code given at mount time. */
  requireSignatures?: boolean;
  /**
   * The only public keys whose signatures this host accepts (JWK objects, or PEM / base64 SPKI
   * strings). With it, `install`'s `publicKey` may be omitted and, if given, must be one of these.
   */
  trustedKeys?: (JsonWebKey | string)[];
  /** Every opt-in that weakens a default, in one place. */
  dangerous?: DangerousOptions;
  auditCapacity?: number;
  /** Origins `host.loadScript` may load from, besides installed plugins' `entry.src` origins. */
  approvedScriptOrigins?: string[];
  /** Values for manifest route templates, by plugin id: `{{ .JsonData.key }}` → data, `{{ .SecureJsonData.key }}` → secrets. */
  routes?: Record<string, RouteConfig>;
  /** Which plugin ids may be installed at all: exact ids and `prefix*` patterns (`'acme-*'`), checked before anything else; others are refused with PERMISSION_DENIED. Absent: every id; `[]`: none. */
  allowPlugins?: string[];
}
/** Opt-ins that weaken a default (development, migration). Each is off unless set. */
export interface DangerousOptions {
  /** Accept plain `http:` loopback URLs in manifests, routes and `loadScript`. */
  allowLoopbackHttp?: boolean;
  /** `'warn'`: bundle-analysis errors become warnings and the code installs. */
  bundlePolicy?: 'reject' | 'warn';
  /** Mount `src` pages in browsers without the iframe `csp` attribute (no imposed CSP). */
  srcWithoutEmbeddedCsp?: boolean;
}
/**
 * What a plugin's route templates refer to. Secrets never reach the plugin or the audit log, and
 * are sent only to `secretOrigins` (required with `secrets`; e.g. `['https://api.example.com']`).
 */
export interface RouteConfig { data?: Record<string, string>; secrets?: Record<string, string>; secretOrigins?: string[] }
/**
 * `signature`: base64 RS256/ES256 signature over the envelope of the manifest and `code`
 * (`plugin-warden sign --manifest plugin.json bundle.js`). `publicKey`: its key; optional when
 * the host has `trustedKeys`.
 */
export interface InstallOptions { code?: string; src?: string; integrity?: string; signature?: string; publicKey?: JsonWebKey | string }
export type PluginStatus =
  | { state: 'installed' } | { state: 'mounting' } | { state: 'mounted' }
  | { state: 'failed'; code: ErrorCode; message: string };
export interface InstallInfo { id: string; status: PluginStatus; warnings: string[] }
/** One manifest entry an update adds or removes; `words` completes "It would be able to …". */
export interface ManifestChange {
  kind: 'permission' | 'optionalPermission' | 'network' | 'asset' | 'role' | 'roleGrant' | 'route' | 'include' | 'actionSet';
  value: string; words: string;
}
export interface UpdateConsentRequest { pluginId: string; from: string; to: string; added: ManifestChange[]; removed: ManifestChange[] }
export interface UpdateOptions { code?: string; src?: string; integrity?: string; signature?: string; publicKey?: JsonWebKey | string }
export interface UpdateInfo {
  id: string; from: string; to: string; added: ManifestChange[]; removed: ManifestChange[];
  /** Whether the update widened what the plugin may do (so consent was asked and given). */
  consentNeeded: boolean; warnings: string[];
  /** Whether a mounted plugin was remounted with the new version (same element, same options). */
  remounted: boolean;
}
export type MountOptions =
  | { mode?: 'iframe'; src?: string; sandbox?: string[]; timeout?: number; title?: string }
  | { mode?: 'iframe'; code?: string; runner?: string; sandbox?: string[]; timeout?: number; title?: string;
      /** Signature over the installed manifest and this `code` (checked like install's). */
      signature?: string }
  | { mode?: 'iframe'; srcdoc: string; nonce?: string; sandbox?: string[]; timeout?: number; title?: string }
  | { mode: 'shadow'; html?: string; render?: (root: ShadowRoot, sdk: import('./client/index.js').PluginSdk) => unknown }
  | { mode: 'worker'; code?: string; src?: string; runner?: string; timeout?: number; title?: string;
      /** 'shadow': a remote UI, the plugin's `sdk.ui.render` HTML in a closed shadow root of the mount element. */
      ui?: 'shadow';
      /** Signature over the installed manifest and this `code` (checked like install's). */
      signature?: string };
export interface MountInfo { pluginId: string; mode: 'iframe' | 'shadow' | 'worker' }
export interface IncludeView { type: string; name: string; path?: string; addToNav: boolean; defaultNav: boolean }
export interface PluginInfo {
  id: string; name: string; status: PluginStatus; granted: Capability[]; optional: Capability[]; required: Capability[];
  counts: Record<string, number>; allowedCalls: number;
}
export interface ManifestProblem { path: string; message: string }
/** Report-only rollout: `reportOnly` sends the policy as `Content-Security-Policy-Report-Only`; `reportTo` (an https: URL, or http: on loopback) adds `report-uri`/`report-to` and a `Reporting-Endpoints` value. */
export interface CspReportingOptions { reportOnly?: boolean; reportTo?: string }
/** The policy as headers (returned when `reportOnly` or `reportTo` is given): send `name: value`, and `Reporting-Endpoints: reportingEndpoints` when present. */
export interface CspHeaders { name: 'Content-Security-Policy' | 'Content-Security-Policy-Report-Only'; value: string; reportingEndpoints?: string }
export interface HostCspOptions { nonce: string; trustedTypesPolicy?: string; allowLoopbackHttp?: boolean; workerRunner?: boolean }
/** The host page's CSP for a set of plugin manifests: the policy string, or {@link CspHeaders} with `reportOnly`/`reportTo`. */
export function hostCsp(manifests: Manifest[], options: HostCspOptions & { reportOnly?: false; reportTo?: undefined }): string;
export function hostCsp(manifests: Manifest[], options: HostCspOptions & ({ reportOnly: true; reportTo?: string } | { reportOnly?: boolean; reportTo: string })): CspHeaders;
/** A part of the SDK fetched on first need (see {@link preload}). */
export type LazyModule = 'sanitizer' | 'sanitizer-rest' | 'checks';
/** What a module's wasm can be given as (as `init` takes it): a URL, a `Response`, bytes or a compiled module. */
export type ModuleInput = string | URL | Response | BufferSource | WebAssembly.Module;
/**
 * Load a part of the SDK that is fetched on first need, now. `'sanitizer'`: what `sanitize`,
 * `host.sanitize` and `host.trustedHTML` need synchronously (they throw `MODULE_NOT_LOADED`
 * before); shadow and remote-UI mounts load it themselves. `'sanitizer-rest'`: the sanitizer
 * module's second part (IDNA for links to hosts that are not ASCII, a refused policy's errors,
 * rare parser paths; loads `'sanitizer'` first). `'checks'`: the core module's second part
 * (install-time checks, diagnostics, error paths, what a first visit does not run). Without a
 * second part, the first call that needs it loads it synchronously (and throws
 * `MODULE_NOT_LOADED` if it cannot), except `install`, `update`, `loadScript` and `mount`,
 * which load `'checks'` asynchronously first when their arguments show they need it (install
 * options, a manifest field beyond `id`, `name`, `version`, `permissions`,
 * `optionalPermissions`, `roles`, `includes`; a mount other than an iframe of a `src` page).
 * Loading twice loads once. `input`: the module's wasm, for
 * esbuild (`plugin-warden/sanitizer/plugin_warden_sanitizer_bg.wasm`,
 * `plugin-warden/sanitizer/plugin_warden_sanitizer_rest_bg.wasm`,
 * `plugin-warden/plugin_warden_checks_bg.wasm`, with the `file` loader) and Node (its bytes).
 */
export function preload(name: LazyModule, input?: ModuleInput): Promise<void>;
export interface PluginHost {
  /** {@link preload}, from a host. */
  preload(name: LazyModule, input?: ModuleInput): Promise<void>;
  /**
   * Sanitize `html` with this host's allow-list and replace `target`'s children with the
   * result, built node by node from the cleaned tree: no string is parsed again, so nothing can
   * parse differently from what was checked. The DOM is the one `target.innerHTML =
   * host.trustedHTML(html)` builds (where the cleaned tree holds a nesting the HTML parser
   * repairs, that is what it does). `target`: an HTML element of an HTML document (not script,
   * style, template, textarea, title, iframe, …) or a shadow root. Throws `MODULE_NOT_LOADED`
   * before `preload('sanitizer')` (the target is left as it was), `INVALID_ARGUMENT` for another
   * target or a `html` that is not a string.
   */
  setHTML(target: Element | ShadowRoot, html: string): void;
  /** The host page's CSP for the installed plugins: the policy string, or {@link CspHeaders} with `reportOnly`/`reportTo`. */
  cspHeader(options: { nonce: string; reportOnly?: false; reportTo?: undefined }): string;
  cspHeader(options: { nonce: string } & ({ reportOnly: true; reportTo?: string } | { reportOnly?: boolean; reportTo: string })): CspHeaders;
}
export interface Finding { rule: string; severity: 'error' | 'warning'; line: number; column: number; excerpt: string; message: string }
export interface AnalysisReport { findings: Finding[]; lines: number; bytes: number; errorCount: number; warningCount: number; truncated: boolean }
"#;

fn coded(e: WardenError) -> JsValue {
    js_error(&e)
}

fn js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    to_js(value)
}

fn function(options: &JsValue, name: &str) -> Result<Option<Function>, JsValue> {
    let v = Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.dyn_into::<Function>().map(Some).map_err(|_| {
        error(
            ErrorCode::InvalidArgument,
            format!("PluginHost options: {name} must be a function"),
        )
    })
}

/// The function-valued options `PluginHost` knows.
const CALLBACKS: &[&str] = &[
    "onPermissionRequest",
    "onAudit",
    "onEvent",
    "onNotify",
    "onUpdateConsent",
];

/// A misspelled callback (`onAduit`) would otherwise vanish in the JSON step below: refuse it.
fn refuse_unknown_callbacks(options: &JsValue) -> Result<(), JsValue> {
    let Some(object) = options.dyn_ref::<Object>() else {
        return Ok(());
    };
    for key in Object::keys(object).iter() {
        let Some(name) = key.as_string() else {
            continue;
        };
        let value = Reflect::get(options, &key).unwrap_or(JsValue::UNDEFINED);
        if value.is_function() && !CALLBACKS.contains(&name.as_str()) {
            return Err(error(
                ErrorCode::InvalidArgument,
                format!(
                    "PluginHost options: unknown callback `{name}` (function options: {})",
                    CALLBACKS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The host side of plugin-warden: installs, mounts and polices plugins.
#[wasm_bindgen]
pub struct PluginHost {
    host: Rc<Host>,
}

/// When the module starts: built without the `url` crate (the core module), the core parses
/// URLs with the browser's own WHATWG parser. (wasm-bindgen also exports a start function to
/// JS; the name marks it internal, and the package's entry module guards it.)
#[cfg(not(feature = "native-url"))]
#[wasm_bindgen(start, skip_typescript)]
fn __pw_start() {
    crate::web::url::install();
}

#[wasm_bindgen]
impl PluginHost {
    /// Create a host. `options` follows DESIGN.md §6.
    ///
    /// # Errors
    /// Throws `INVALID_ARGUMENT` for malformed options, or outside a browser window (a worker,
    /// Node).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "HostOptions")] options: JsValue,
    ) -> Result<PluginHost, JsValue> {
        if web_sys::window().is_none() {
            return Err(error(
                ErrorCode::InvalidArgument,
                cold_text!("new PluginHost(): the host runs in a browser window, and this global has none (a worker or Node?); \
                 validateManifest, analyzeBundle, hostCsp and sanitize work anywhere"),
            ));
        }
        if !(options.is_undefined() || options.is_null() || options.is_object()) {
            return Err(error(
                ErrorCode::InvalidArgument,
                "PluginHost options: expected an object",
            ));
        }
        let callbacks = if options.is_object() {
            refuse_unknown_callbacks(&options)?;
            Callbacks {
                on_permission_request: function(&options, "onPermissionRequest")?,
                on_audit: function(&options, "onAudit")?,
                on_event: function(&options, "onEvent")?,
                on_notify: function(&options, "onNotify")?,
                on_update_consent: function(&options, "onUpdateConsent")?,
            }
        } else {
            Callbacks::default()
        };
        // The data part goes through JSON (functions drop out) so unknown keys are refused.
        let config: HostConfig =
            from_js(&options, "PluginHost options", ErrorCode::InvalidArgument).map_err(|e| {
                coded(WardenError::new(
                    e.code,
                    format!("{} (function options: {})", e.message, CALLBACKS.join(", ")),
                ))
            })?;
        Ok(PluginHost {
            host: Host::new(config, callbacks).map_err(coded)?,
        })
    }

    /// Install a plugin: manifest validation, signature, integrity, bundle analysis and
    /// compatibility, in that order; the first failure rejects with its code.
    #[wasm_bindgen(unchecked_return_type = "Promise<InstallInfo>")]
    pub fn install(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Manifest | string")] manifest: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "InstallOptions")] options: Option<JsValue>,
    ) -> Promise {
        let host = self.host.clone();
        let options = options.unwrap_or(JsValue::UNDEFINED);
        future_to_promise(async move {
            // A stopped host (Host::stuck) is not touched: the entry module rejects the promise.
            if host.stuck() {
                return Err(JsValue::UNDEFINED);
            }
            let (text, input) = manifest_and_input(&manifest, &options, "install options")?;
            let now = js_sys::Date::now;
            let mut step = host.engine.borrow_mut().install_begin(&text, input, now());
            loop {
                host.carry_out(std::mem::take(&mut step.effects));
                step = match step.next {
                    InstallNext::Verify(check, token) => {
                        let signed = crate::web::crypto::verify(check).await;
                        if host.stuck() {
                            return Err(JsValue::UNDEFINED);
                        }
                        host.engine
                            .borrow_mut()
                            .install_continue(token, signed, now())
                    }
                    InstallNext::Done(result) => return js(&result.map_err(coded)?),
                };
            }
        })
    }

    /// Update an installed plugin to a newer version: the install checks on the new manifest
    /// and code, then consent (`onUpdateConsent` or the default dialog) when the update widens
    /// what the plugin may do. Refused, the installed version keeps running unchanged; accepted,
    /// storage and still-declared grants are kept and a mounted plugin is remounted (same
    /// element, same options) with `previousVersion` in its welcome. Audited either way.
    ///
    /// # Errors
    /// Rejects with `NOT_FOUND` (not installed), `INCOMPATIBLE` (same or lower version),
    /// `PERMISSION_DENIED` (consent refused), and the install checks' codes.
    #[wasm_bindgen(unchecked_return_type = "Promise<UpdateInfo>")]
    pub fn update(
        &self,
        id: String,
        #[wasm_bindgen(unchecked_param_type = "Manifest | string")] manifest: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "UpdateOptions")] options: Option<JsValue>,
    ) -> Promise {
        let host = self.host.clone();
        let options = options.unwrap_or(JsValue::UNDEFINED);
        future_to_promise(async move {
            if host.stuck() {
                return Err(JsValue::UNDEFINED);
            }
            let (text, input) = manifest_and_input(&manifest, &options, "update options")?;
            let now = js_sys::Date::now;
            let mut step = host
                .engine
                .borrow_mut()
                .update_begin(&id, &text, input, now());
            loop {
                host.carry_out(std::mem::take(&mut step.effects));
                step = match step.next {
                    UpdateNext::Verify(check, token) => {
                        let signed = crate::web::crypto::verify(check).await;
                        if host.stuck() {
                            return Err(JsValue::UNDEFINED);
                        }
                        host.engine
                            .borrow_mut()
                            .update_continue(token, signed, now())
                    }
                    UpdateNext::Consent(pending) => {
                        let answer = JsFuture::from(host.ask_update_consent(&pending)).await;
                        if host.stuck() {
                            return Err(JsValue::UNDEFINED);
                        }
                        let yes = matches!(answer, Ok(v) if v.as_bool() == Some(true));
                        host.engine.borrow_mut().update_consent(pending, yes, now())
                    }
                    UpdateNext::Done(result) => {
                        let mut info = result.map_err(coded)?;
                        if let Some(remount) = host.remount(&id) {
                            info.remounted = JsFuture::from(remount).await.is_ok();
                        }
                        return js(&info);
                    }
                };
            }
        })
    }

    /// Mount an installed plugin into `element`. Resolves once the plugin is ready; rejects
    /// with `MOUNT_FAILED` or `TIMEOUT`.
    #[wasm_bindgen(unchecked_return_type = "Promise<MountInfo>")]
    pub fn mount(
        &self,
        id: &str,
        element: &Element,
        #[wasm_bindgen(unchecked_optional_param_type = "MountOptions")] options: Option<JsValue>,
    ) -> Promise {
        self.host
            .mount(id, element, options.unwrap_or(JsValue::UNDEFINED))
    }

    /// The plugin's status.
    ///
    /// # Errors
    /// Throws `NOT_FOUND` for an unknown id.
    #[wasm_bindgen(unchecked_return_type = "PluginStatus")]
    pub fn status(&self, id: &str) -> Result<JsValue, JsValue> {
        js(self.host.engine.borrow().status(id).map_err(coded)?)
    }

    /// Remove a plugin's mount and every listener, port and element it created.
    ///
    /// # Errors
    /// Throws `NOT_FOUND` for an unknown id.
    pub fn unmount(&self, id: &str) -> Result<(), JsValue> {
        self.host.unmount(id).map_err(coded)
    }

    /// Unmount and uninstall a plugin; `{ removeData: true }` also deletes its storage.
    ///
    /// # Errors
    /// Throws `NOT_FOUND` for an unknown id.
    pub fn uninstall(
        &self,
        id: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "{ removeData?: boolean }")] options: Option<
            JsValue,
        >,
    ) -> Result<(), JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        let remove = Reflect::get(&options, &"removeData".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        self.host.uninstall(id, remove).map_err(coded)
    }

    /// Grant a capability the manifest lists; effective at once.
    ///
    /// # Errors
    /// `NOT_FOUND`, `PERMISSION_DENIED` (not listed), `INVALID_ARGUMENT` (unknown capability).
    pub fn grant(
        &self,
        id: &str,
        #[wasm_bindgen(unchecked_param_type = "Permission")] permission: &str,
    ) -> Result<(), JsValue> {
        let r = self
            .host
            .engine
            .borrow_mut()
            .grant(id, permission, js_sys::Date::now());
        self.host.permissions_changed(r).map_err(coded)
    }

    /// Revoke a capability; the plugin's very next call needing it is refused.
    ///
    /// # Errors
    /// `NOT_FOUND`, `INVALID_ARGUMENT` (unknown capability).
    pub fn revoke(
        &self,
        id: &str,
        #[wasm_bindgen(unchecked_param_type = "Permission")] permission: &str,
    ) -> Result<(), JsValue> {
        let r = self
            .host
            .engine
            .borrow_mut()
            .revoke(id, permission, js_sys::Date::now());
        self.host.permissions_changed(r).map_err(coded)
    }

    /// Set (replace) the values plugin `id`'s route templates refer to (`{ data, secrets }`,
    /// as in the `routes` option); the plugin need not be installed yet. Applies to its next
    /// `route:` request.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a malformed id, key or value.
    #[wasm_bindgen(js_name = setRouteConfig)]
    pub fn set_route_config(
        &self,
        id: &str,
        #[wasm_bindgen(unchecked_param_type = "RouteConfig")] config: JsValue,
    ) -> Result<(), JsValue> {
        let config = from_js(&config, "route config", ErrorCode::InvalidArgument).map_err(coded)?;
        self.host
            .engine
            .borrow_mut()
            .set_route_config(id, config)
            .map_err(coded)
    }

    /// Whether the current user holds an RBAC action: with any scope when `scope` is absent
    /// (Grafana's `hasPermission`), else with a held scope covering `scope` (`users:*` covers
    /// `users:id:1`; an unscoped permission answers only unscoped checks). (The package's entry
    /// module answers unscoped checks from a JS-side cache without entering wasm; this is the
    /// exact, slow path.)
    #[wasm_bindgen(js_name = hasPermission)]
    pub fn has_permission(&self, action: &str, scope: Option<String>) -> bool {
        self.host
            .engine
            .borrow()
            .has_permission(action, scope.as_deref())
    }

    /// The JS-side cache behind `hasPermission`: `{ exact: Set<string>, prefixes: string[] }`,
    /// updated in place whenever the user or the installed plugins change.
    #[wasm_bindgen(js_name = accessCache, unchecked_return_type = "{ exact: Set<string>; prefixes: string[] }")]
    pub fn access_cache(&self) -> JsValue {
        self.host.access_cache.clone().into()
    }

    /// Replace the current user; every RBAC answer changes at once.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a malformed user.
    #[wasm_bindgen(js_name = setUser)]
    pub fn set_user(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserContext")] user: JsValue,
    ) -> Result<(), JsValue> {
        let value: serde_json::Value =
            from_js(&user, "user", ErrorCode::InvalidArgument).map_err(coded)?;
        // Read before the engine is borrowed: the refusal of a malformed user is code of the
        // core's second part, and a failed load of it then throws out of a call that holds
        // nothing (the host goes on) rather than one that holds the engine (it would stop).
        let user = read_user(value).map_err(coded)?;
        let changes = self.host.engine.borrow_mut().switch_user(user);
        // Carried out even when no plugin's view changed: the access cache follows the user.
        self.host.permissions_changed(Ok(changes)).map_err(coded)
    }

    /// The plugin's includes (pages) the current user may see.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    #[wasm_bindgen(js_name = visibleIncludes, unchecked_return_type = "IncludeView[]")]
    pub fn visible_includes(&self, id: &str) -> Result<JsValue, JsValue> {
        js(&self
            .host
            .engine
            .borrow()
            .visible_includes(id)
            .map_err(coded)?)
    }

    /// Whether the current user may call the plugin's route.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown plugin or route.
    #[wasm_bindgen(js_name = canAccessRoute)]
    pub fn can_access_route(&self, id: &str, path: &str, method: &str) -> Result<bool, JsValue> {
        self.host
            .engine
            .borrow()
            .can_access_route(id, path, method)
            .map_err(coded)
    }

    /// Sanitize HTML with this host's allow-list.
    ///
    /// # Errors
    /// `MODULE_NOT_LOADED` before the sanitizer module is loaded (`await host.preload('sanitizer')`);
    /// `INVALID_ARGUMENT` for anything but a string.
    #[wasm_bindgen(unchecked_return_type = "string")]
    pub fn sanitize(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] html: JsValue,
    ) -> Result<JsValue, JsValue> {
        crate::web::sanitizer::ensure_loaded("sanitize").map_err(coded)?;
        crate::web::sanitizer::sanitize_js(&self.host.sanitizer, &html).map_err(coded)
    }

    /// Whether `manifest` parses and validates as `install` reads it (with the default manifest
    /// options, which differ only for fields a first visit's manifest lacks). The entry module
    /// asks it before an install while the core's second part is not loaded, so that a call
    /// that would need that part is cut off (src/web/split-loader.js `withoutLoading`): such an
    /// install loads the part asynchronously first. Static, so that a call cut off leaves no
    /// host borrowed.
    #[wasm_bindgen(js_name = __pw_manifestParses, skip_typescript)]
    pub fn pw_manifest_parses(manifest: &str) -> bool {
        Manifest::parse(manifest, &ManifestOptions::default()).is_ok()
    }

    /// Whether a call into this host was cut off mid-way and left its state borrowed (a failed
    /// synchronous load of the core's second part): the package's entry module asks after such
    /// a failure, and stops the host (src/web/index.js).
    #[wasm_bindgen(js_name = __pw_stuck, skip_typescript)]
    pub fn pw_stuck(&self) -> bool {
        self.host.stuck()
    }

    /// The sanitizer module's cleaner for this host's policy: the package's `host.setHTML`
    /// (src/web/index.js) builds with it.
    ///
    /// # Errors
    /// `MODULE_NOT_LOADED` before the sanitizer module is loaded.
    #[wasm_bindgen(js_name = __sanitizerCleaner, skip_typescript)]
    pub fn sanitizer_cleaner(&self) -> Result<JsValue, JsValue> {
        crate::web::sanitizer::ensure_loaded("setHTML").map_err(coded)?;
        crate::web::sanitizer::module_cleaner(&self.host.sanitizer).map_err(coded)
    }

    /// Sanitize HTML and wrap it as `TrustedHTML` through the host's policy (a string where
    /// Trusted Types are absent). Typed as `string` so `el.innerHTML = host.trustedHTML(x)`
    /// type-checks (TypeScript's DOM `innerHTML` takes only strings): hand it to an HTML sink,
    /// do not treat it as text.
    ///
    /// # Errors
    /// `TRUSTED_TYPES` when the page's CSP forbids the policy name; `INVALID_ARGUMENT` for
    /// anything but a string.
    ///
    /// The string is handed to the policy as it is (not copied into wasm and back first).
    #[wasm_bindgen(js_name = trustedHTML, unchecked_return_type = "string")]
    pub fn trusted_html(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] html: JsValue,
    ) -> Result<JsValue, JsValue> {
        crate::web::trusted_types::trusted_html_js(
            &self.host.policy_name,
            &self.host.sanitizer,
            &html,
        )
        .map_err(coded)
    }

    /// The host page's CSP for the installed plugins, with your per-response nonce: the policy
    /// string, or `{ name, value, reportingEndpoints? }` when `reportOnly` or `reportTo` is
    /// given (TypeScript overloads in the custom section).
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a missing or malformed nonce or a bad `reportTo`.
    #[wasm_bindgen(js_name = cspHeader, skip_typescript)]
    pub fn csp_header(&self, options: JsValue) -> Result<JsValue, JsValue> {
        let nonce = Reflect::get(&options, &"nonce".into())
            .ok()
            .and_then(|v| v.as_string())
            .ok_or_else(|| {
                error(
                    ErrorCode::InvalidArgument,
                    "cspHeader: expected { nonce: string }",
                )
            })?;
        let reporting = reporting_options(&options, "cspHeader")?;
        let headers = self
            .host
            .engine
            .borrow()
            .csp_headers(
                &nonce,
                &self.host.policy_name,
                reporting.as_ref().unwrap_or(&Reporting::default()),
            )
            .map_err(coded)?;
        csp_result(headers, reporting.is_some())
    }

    /// The audit events held (newest last).
    #[wasm_bindgen(js_name = auditLog, unchecked_return_type = "AuditEvent[]")]
    pub fn audit_log(&self) -> Result<JsValue, JsValue> {
        js(&self.host.engine.borrow().audit_log())
    }

    /// What an inspector shows about a plugin: status, permissions, refusal counts.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    #[wasm_bindgen(unchecked_return_type = "PluginInfo")]
    pub fn inspect(&self, id: &str) -> Result<JsValue, JsValue> {
        js(&self.host.engine.borrow().info(id).map_err(coded)?)
    }

    /// Ids of the installed plugins.
    #[wasm_bindgen(unchecked_return_type = "string[]")]
    pub fn plugins(&self) -> Result<JsValue, JsValue> {
        js(&self.host.engine.borrow().plugin_ids())
    }

    /// Send an event to every plugin subscribed to `name` (and holding `events`). Answers how
    /// many plugins it reached.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when `data` is not JSON.
    pub fn emit(&self, name: &str, data: JsValue) -> Result<u32, JsValue> {
        if data.is_undefined() {
            return Ok(self
                .host
                .emit(name, &serde_json::Value::Null, &js_sys::Array::new())
                as u32);
        }
        // Binary data (ArrayBuffer, typed arrays) goes to a side table; each plugin gets a copy.
        let invalid = || {
            coded(WardenError::new(
                ErrorCode::InvalidArgument,
                "event data: expected JSON data (binary data allowed), found a value with no JSON form",
            ))
        };
        // The host page's own data: no message limit applies to it.
        let encoded =
            crate::web::binary::encode(&data, false, usize::MAX).map_err(|_| invalid())?;
        let value: serde_json::Value =
            crate::core::json::parse_value(&encoded.text).map_err(|_| invalid())?;
        Ok(self.host.emit(name, &value, &encoded.buffers) as u32)
    }

    /// Counters of window traffic the host refused.
    #[wasm_bindgen(js_name = bridgeStats, unchecked_return_type = "{ ignoredMessages: number; rejectedHandshakes: number }")]
    pub fn bridge_stats(&self) -> Result<JsValue, JsValue> {
        let o = Object::new();
        Reflect::set(
            &o,
            &"ignoredMessages".into(),
            &(self.host.ignored_messages() as f64).into(),
        )?;
        Reflect::set(
            &o,
            &"rejectedHandshakes".into(),
            &(self.host.rejected_handshakes() as f64).into(),
        )?;
        Ok(o.into())
    }

    /// Unmount every plugin and stop listening.
    pub fn destroy(&self) {
        self.host.destroy();
    }
}

/// The manifest as text, and the install (or update) options.
fn manifest_and_input(
    manifest: &JsValue,
    options: &JsValue,
    what: &str,
) -> Result<(String, InstallInput), JsValue> {
    let text = manifest_text(manifest)?;
    let input = from_js(options, what, ErrorCode::InvalidArgument).map_err(coded)?;
    Ok((text, input))
}

/// A manifest given as an object or as JSON text, as text.
fn manifest_text(manifest: &JsValue) -> Result<String, JsValue> {
    match manifest.as_string() {
        Some(s) => Ok(s),
        None => js_sys::JSON::stringify(manifest)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| {
                error(
                    ErrorCode::InvalidManifest,
                    "manifest: expected an object or JSON text",
                )
            }),
    }
}

/// Sanitize HTML with the default allow-list.
///
/// # Errors
/// `MODULE_NOT_LOADED` before the sanitizer module is loaded (`await preload('sanitizer')`);
/// `INVALID_ARGUMENT` for anything but a string.
#[wasm_bindgen(unchecked_return_type = "string")]
pub fn sanitize(
    #[wasm_bindgen(unchecked_param_type = "string")] html: JsValue,
) -> Result<JsValue, JsValue> {
    thread_local! { static DEFAULT: Sanitizer = Sanitizer::default(); }
    crate::web::sanitizer::ensure_loaded("sanitize").map_err(coded)?;
    DEFAULT
        .with(|s| crate::web::sanitizer::sanitize_js(s, &html))
        .map_err(coded)
}

/// Hand the loaded sanitizer module's `Cleaner` class to the core module (the package's entry
/// module does, in `preload('sanitizer')`).
#[wasm_bindgen(js_name = __setSanitizerModule, skip_typescript)]
pub fn set_sanitizer_module(cleaner_class: JsValue) -> Result<(), JsValue> {
    crate::web::sanitizer::set_module(cleaner_class).map_err(coded)
}

/// Whether the sanitizer can run now: its module is loaded (or compiled in).
#[wasm_bindgen(js_name = __sanitizerLoaded, skip_typescript)]
pub fn sanitizer_loaded() -> bool {
    crate::web::sanitizer::loaded()
}

/// Validate a manifest without installing it: `{ valid, problems: [{ path, message }] }`.
#[wasm_bindgen(js_name = validateManifest, unchecked_return_type = "{ valid: boolean; problems: ManifestProblem[] }")]
pub fn validate_manifest(
    #[wasm_bindgen(unchecked_param_type = "Manifest | string")] manifest: JsValue,
) -> Result<JsValue, JsValue> {
    let text = match manifest.as_string() {
        Some(s) => s,
        None => js_sys::JSON::stringify(&manifest)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default(),
    };
    let problems = match Manifest::parse(&text, &ManifestOptions::default()) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems,
    };
    let o = Object::new();
    Reflect::set(&o, &"valid".into(), &problems.is_empty().into())?;
    Reflect::set(&o, &"problems".into(), &js(&problems)?)?;
    Ok(o.into())
}

/// The bytes a plugin signature covers: the v1 envelope of `manifest` (object or JSON text)
/// and `code` (see `docs/security.md`, "Provenance"). Sign them with WebCrypto (RS256 or
/// ES256) to make what `install`'s `signature` and `plugin-warden verify` check; the same bytes
/// `plugin-warden envelope` prints.
///
/// # Errors
/// `INVALID_ARGUMENT` when `manifest` is not an object or JSON text.
#[wasm_bindgen(js_name = signedBytes)]
pub fn signed_bytes(
    #[wasm_bindgen(unchecked_param_type = "object | string")] manifest: JsValue,
    code: &str,
) -> Result<js_sys::Uint8Array, JsValue> {
    let text = match manifest.as_string() {
        Some(s) => Some(s),
        None if manifest.is_object() => js_sys::JSON::stringify(&manifest)
            .ok()
            .and_then(|s| s.as_string()),
        None => None,
    };
    let digest = text
        .as_deref()
        .map(ManifestDigest::of_json)
        .and_then(Result::ok)
        .ok_or_else(|| {
            error(
                ErrorCode::InvalidArgument,
                "signedBytes: the manifest must be an object or JSON text",
            )
        })?;
    let bytes = Envelope::new(digest, code.as_bytes()).to_bytes();
    Ok(js_sys::Uint8Array::from(bytes.as_slice()))
}

/// Scan a plugin bundle for careless and obvious risks (`eval`, HTML sinks, undeclared
/// origins, obfuscation, secrets such as private keys and access keys, shown redacted). A
/// filter, not a security boundary.
///
/// # Errors
/// `BUNDLE_REJECTED` for input over the size limit; `INVALID_ARGUMENT` for a bad `network`.
#[wasm_bindgen(js_name = analyzeBundle, unchecked_return_type = "AnalysisReport")]
pub fn analyze_bundle(
    code: &str,
    #[wasm_bindgen(unchecked_optional_param_type = "{ network?: string[] }")] options: Option<
        JsValue,
    >,
) -> Result<JsValue, JsValue> {
    let options = options.unwrap_or(JsValue::UNDEFINED);
    let network: Vec<String> = Reflect::get(&options, &"network".into())
        .ok()
        .filter(|v| !v.is_undefined())
        .map(|v| from_js::<Vec<String>>(&v, "network", ErrorCode::InvalidArgument))
        .transpose()
        .map_err(coded)?
        .unwrap_or_default();
    let entries = network
        .iter()
        .map(|n| NetworkEntry::parse(n, Default::default()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| coded(WardenError::from_coded(&e)))?;
    let report = analyze(code, &AnalysisOptions::from_network(&entries))
        .map_err(|e| coded(WardenError::from_coded(&e)))?;
    js(&report)
}

#[wasm_bindgen]
impl PluginHost {
    /// Load a host-approved plugin script: a `<script>` with your page's CSP `nonce`, the given
    /// Subresource Integrity and `crossorigin="anonymous"`, its `src` minted through the Trusted
    /// Types policy. Approved origins are installed plugins' `entry.src` origins and the host's
    /// `approvedScriptOrigins`. Resolves when the script has run.
    ///
    /// # Errors
    /// Rejects with `INVALID_ARGUMENT` (bad URL), `PERMISSION_DENIED` (origin not approved),
    /// `INTEGRITY_MISMATCH` (no usable integrity, or the browser refused the bytes — a network
    /// failure is reported the same way, as the browser does not tell them apart).
    #[wasm_bindgen(js_name = loadScript, unchecked_return_type = "Promise<void>")]
    pub fn load_script(
        &self,
        src: &str,
        #[wasm_bindgen(
            unchecked_param_type = "{ integrity: string; nonce?: string; module?: boolean }"
        )]
        options: JsValue,
    ) -> Promise {
        match self.start_load_script(src, &options) {
            Ok(p) => p,
            Err(e) => Promise::reject(&coded(e)),
        }
    }
}

impl PluginHost {
    fn start_load_script(&self, src: &str, options: &JsValue) -> Result<Promise, WardenError> {
        let field = |k: &str| {
            Reflect::get(options, &k.into())
                .ok()
                .filter(|v| !v.is_undefined())
        };
        let integrity = field("integrity")
            .and_then(|v| v.as_string())
            .unwrap_or_default();
        let plan = self.host.engine.borrow().plan_script(src, &integrity)?;
        let doc = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| WardenError::new(ErrorCode::Internal, "no document"))?;
        let failed = |e: JsValue| WardenError::new(ErrorCode::InvalidArgument, describe(&e));
        let script = doc.create_element("script").map_err(failed)?;
        if let Some(nonce) = field("nonce").and_then(|v| v.as_string()) {
            Reflect::set(&script, &"nonce".into(), &nonce.into()).map_err(failed)?;
        }
        if field("module").and_then(|v| v.as_bool()) == Some(true) {
            script.set_attribute("type", "module").map_err(failed)?;
        }
        script
            .set_attribute("integrity", &plan.integrity)
            .map_err(failed)?;
        script
            .set_attribute("crossorigin", "anonymous")
            .map_err(failed)?;
        let url = crate::web::trusted_types::trusted_script_url(
            &self.host.policy_name,
            &self.host.sanitizer,
            &plan.src,
        )?;
        let (promise, resolve, reject) = deferred()?;
        let src_owned = plan.src.clone();
        let on_error = Closure::once_into_js(move || {
            let e = WardenError::new(
                ErrorCode::IntegrityMismatch,
                format!("{src_owned} did not load: its bytes did not match the integrity, or the request failed"),
            );
            let _ = reject.call1(&JsValue::NULL, &js_error(&e));
        });
        let on_load = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        script
            .add_event_listener_with_callback("load", on_load.unchecked_ref())
            .map_err(failed)?;
        script
            .add_event_listener_with_callback("error", on_error.unchecked_ref())
            .map_err(failed)?;
        // src through Reflect so the TrustedScriptURL object (not a string) reaches the sink.
        Reflect::set(&script, &"src".into(), &url).map_err(failed)?;
        doc.head()
            .ok_or_else(|| WardenError::new(ErrorCode::Internal, "no <head>"))?
            .append_child(&script)
            .map_err(failed)?;
        Ok(promise)
    }
}

/// The host page's CSP for a set of plugin manifests, without a host (for the server that
/// sends the page): the same policy as `host.cspHeader`, with your per-response `nonce`.
///
/// # Errors
/// `INVALID_MANIFEST` for a manifest that does not validate; `INVALID_ARGUMENT` for a bad nonce,
/// policy name or origin.
#[wasm_bindgen(js_name = hostCsp, skip_typescript)]
pub fn host_csp(manifests: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let list: Vec<serde_json::Value> =
        from_js(&manifests, "manifests", ErrorCode::InvalidArgument).map_err(coded)?;
    let field = |k: &str| {
        Reflect::get(&options, &k.into())
            .ok()
            .filter(|v| !v.is_undefined())
    };
    let nonce = field("nonce").and_then(|v| v.as_string()).ok_or_else(|| {
        error(
            ErrorCode::InvalidArgument,
            "hostCsp: expected { nonce: string }",
        )
    })?;
    let policy = field("trustedTypesPolicy")
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "plugin-warden".to_owned());
    let opts = ManifestOptions {
        allow_loopback_http: field("allowLoopbackHttp").and_then(|v| v.as_bool()) == Some(true),
    };
    let parsed = list
        .into_iter()
        .map(|v| Manifest::from_value(v, &opts).map_err(|e| coded(WardenError::from_coded(&e))))
        .collect::<Result<Vec<_>, _>>()?;
    let workers = field("workerRunner").and_then(|v| v.as_bool()) == Some(true);
    let reporting = reporting_options(&options, "hostCsp")?;
    let headers = crate::core::engine::host_csp_header(
        &parsed,
        &nonce,
        &policy,
        workers,
        &[],
        reporting.as_ref().unwrap_or(&Reporting::default()),
    )
    .map_err(coded)?;
    csp_result(headers, reporting.is_some())
}

/// `reportOnly` / `reportTo` from CSP options: `None` when there is neither a `reportTo` nor
/// `reportOnly: true` (the caller then answers the bare policy string, as before).
fn reporting_options(options: &JsValue, who: &str) -> Result<Option<Reporting>, JsValue> {
    let get = |k: &str| {
        Reflect::get(options, &k.into())
            .ok()
            .filter(|v| !v.is_undefined())
    };
    let report_only = match get("reportOnly") {
        None => None,
        Some(v) => Some(v.as_bool().ok_or_else(|| {
            error(
                ErrorCode::InvalidArgument,
                format!("{who}: reportOnly must be a boolean"),
            )
        })?),
    };
    let endpoint =
        match get("reportTo") {
            None => None,
            Some(v) => {
                let url = v.as_string().ok_or_else(|| {
                    error(
                        ErrorCode::InvalidArgument,
                        format!("{who}: reportTo must be a URL string"),
                    )
                })?;
                Some(ReportEndpoint::new(&url).map_err(|e| {
                    coded(WardenError::new(e.code(), format!("{who}: reportTo: {e}")))
                })?)
            }
        };
    if report_only != Some(true) && endpoint.is_none() {
        return Ok(None);
    }
    Ok(Some(Reporting {
        report_only: report_only.unwrap_or(false),
        endpoint,
    }))
}

/// The bare policy string for callers that asked for nothing new; the headers object otherwise.
fn csp_result(headers: CspHeader, as_headers: bool) -> Result<JsValue, JsValue> {
    if as_headers {
        js(&headers)
    } else {
        Ok(JsValue::from_str(&headers.value))
    }
}
