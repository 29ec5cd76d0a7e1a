//! The `#[wasm_bindgen]` facade (DESIGN.md §6): converts values and errors, calls the core
//! (through `web` for anything that touches the page), nothing more.

use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::Element;

use crate::core::analysis::{analyze, AnalysisOptions};
use crate::core::engine::{CheckedManifest, HostConfig, InstallInput};
use crate::core::error::{ErrorCode, WardenError};
use crate::core::manifest::{Manifest, ManifestOptions};
use crate::core::network::NetworkEntry;
use crate::core::provenance::{Envelope, ManifestDigest, Provenance};
use crate::core::sanitize::Sanitizer;
use crate::web::host::{Callbacks, Host};
use crate::web::sys::{deferred, describe, error, from_js, js_error, to_js};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
declare global {
  /** Trusted Types' TrustedHTML (TypeScript's DOM library does not declare it yet). */
  interface TrustedHTML { toString(): string }
}
/** Stable error codes (API). */
export type ErrorCode =
  | 'INVALID_MANIFEST' | 'PERMISSION_DENIED' | 'NETWORK_DENIED' | 'NETWORK_ERROR' | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED' | 'MESSAGE_REJECTED' | 'INTEGRITY_MISMATCH' | 'SIGNATURE_INVALID'
  | 'INCOMPATIBLE' | 'BUNDLE_REJECTED' | 'MOUNT_FAILED' | 'TIMEOUT' | 'NOT_FOUND'
  | 'INVALID_ARGUMENT' | 'ALREADY_EXISTS' | 'TRUSTED_TYPES' | 'NOT_IMPLEMENTED' | 'INTERNAL';
/** Errors thrown by plugin-warden. */
export interface PluginWardenError extends Error { name: 'PluginWardenError'; code: ErrorCode; permission?: string }
export type Capability = 'storage' | 'api:read' | 'api:write' | 'events' | 'ui:notify' | 'ui:render' | 'permissions';
export interface UserContext { role?: 'Viewer' | 'Editor' | 'Admin' | 'None'; roles?: string[]; permissions?: string[] }
export interface HostLimits {
  maxMessageBytes?: number; maxDepth?: number; callsPerSecond?: number; burst?: number; maxInFlight?: number;
  suspendAfter?: number; storageQuotaBytes?: number; maxValueBytes?: number; maxResponseBytes?: number; fetchTimeoutMs?: number;
}
export interface AuditEvent {
  seq: number; timeMs: number; plugin?: string; kind: string; method?: string;
  decision?: 'allow' | 'deny'; code?: ErrorCode; detail?: unknown;
}
export interface HostOptions {
  hostVersion?: string;
  user?: UserContext;
  storage?: 'local' | 'session' | 'memory';
  trustedTypesPolicy?: string;
  onPermissionRequest?: (request: { pluginId: string; permission: Capability; reason: string }) => boolean | Promise<boolean>;
  onAudit?: (event: AuditEvent) => void;
  onEvent?: (event: { pluginId: string; name: string; data: unknown }) => void;
  onNotify?: (notification: { pluginId: string; message: string; level: 'info' | 'success' | 'warning' | 'error' }) => void;
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
const CALLBACKS: &[&str] = &["onPermissionRequest", "onAudit", "onEvent", "onNotify"];

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

#[wasm_bindgen]
impl PluginHost {
    /// Create a host. `options` follows DESIGN.md §6.
    ///
    /// # Errors
    /// Throws `INVALID_ARGUMENT` for malformed options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "HostOptions")] options: JsValue,
    ) -> Result<PluginHost, JsValue> {
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
            }
        } else {
            Callbacks::default()
        };
        // The data part goes through JSON (functions drop out) so unknown keys are refused.
        let config: HostConfig =
            from_js(&options, "PluginHost options", ErrorCode::InvalidArgument).map_err(|e| {
                let known = "onPermissionRequest, onAudit, onEvent, onNotify";
                coded(WardenError::new(
                    e.code,
                    format!("{} (function options: {known})", e.message),
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
        #[wasm_bindgen(unchecked_param_type = "object | string")] manifest: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "InstallOptions")] options: Option<JsValue>,
    ) -> Promise {
        let host = self.host.clone();
        let options = options.unwrap_or(JsValue::UNDEFINED);
        future_to_promise(async move {
            let text = match manifest.as_string() {
                Some(s) => s,
                None => js_sys::JSON::stringify(&manifest)
                    .ok()
                    .and_then(|s| s.as_string())
                    .ok_or_else(|| {
                        error(
                            ErrorCode::InvalidManifest,
                            "manifest: expected an object or JSON text",
                        )
                    })?,
            };
            let input: InstallInput =
                from_js(&options, "install options", ErrorCode::InvalidArgument).map_err(coded)?;
            let checked = host
                .engine
                .borrow_mut()
                .check_manifest(&text, js_sys::Date::now());
            host.deliver_audit();
            let parsed = checked.map_err(coded)?;
            let check = host.engine.borrow().install_signature(&parsed, &input);
            let provenance = match check {
                Err(e) => return Err(install_failed(&host, &parsed, e)),
                Ok(None) => Provenance::Unsigned,
                Ok(Some(check)) => match crate::web::crypto::verify(check).await {
                    Ok(signed) => Provenance::Signed(signed),
                    Err(e) => return Err(install_failed(&host, &parsed, e)),
                },
            };
            let result = host.engine.borrow_mut().finish_install(
                parsed,
                &input,
                provenance,
                js_sys::Date::now(),
            );
            host.refresh_access_cache();
            host.deliver_audit();
            js(&result.map_err(coded)?)
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
    pub fn grant(&self, id: &str, permission: &str) -> Result<(), JsValue> {
        let r = self
            .host
            .engine
            .borrow_mut()
            .grant(id, permission, js_sys::Date::now());
        self.host.deliver_audit();
        r.map_err(coded)
    }

    /// Revoke a capability; the plugin's very next call needing it is refused.
    ///
    /// # Errors
    /// `NOT_FOUND`, `INVALID_ARGUMENT` (unknown capability).
    pub fn revoke(&self, id: &str, permission: &str) -> Result<(), JsValue> {
        let r = self
            .host
            .engine
            .borrow_mut()
            .revoke(id, permission, js_sys::Date::now());
        self.host.deliver_audit();
        r.map_err(coded)
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

    /// Whether the current user holds an RBAC action. (The package's entry module answers this
    /// from a JS-side cache without entering wasm; this is the exact, slow path.)
    #[wasm_bindgen(js_name = hasPermission)]
    pub fn has_permission(&self, action: &str) -> bool {
        self.host.engine.borrow().has_permission(action)
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
        self.host
            .engine
            .borrow_mut()
            .set_user(value)
            .map_err(coded)?;
        self.host.refresh_access_cache();
        Ok(())
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
    pub fn sanitize(&self, html: &str) -> String {
        self.host.sanitizer.sanitize(html)
    }

    /// Sanitize HTML and wrap it as `TrustedHTML` through the host's policy (a string where
    /// Trusted Types are absent).
    ///
    /// # Errors
    /// `TRUSTED_TYPES` when the page's CSP forbids the policy name; `INVALID_ARGUMENT` for
    /// anything but a string.
    ///
    /// The string is handed to the policy as it is (not copied into wasm and back first).
    #[wasm_bindgen(js_name = trustedHTML, unchecked_return_type = "TrustedHTML | string")]
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

    /// The host page's CSP for the installed plugins, with your per-response nonce.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a missing or malformed nonce.
    #[wasm_bindgen(js_name = cspHeader)]
    pub fn csp_header(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ nonce: string }")] options: JsValue,
    ) -> Result<String, JsValue> {
        let nonce = Reflect::get(&options, &"nonce".into())
            .ok()
            .and_then(|v| v.as_string())
            .ok_or_else(|| {
                error(
                    ErrorCode::InvalidArgument,
                    "cspHeader: expected { nonce: string }",
                )
            })?;
        self.host
            .engine
            .borrow()
            .csp_header(&nonce, &self.host.policy_name)
            .map_err(coded)
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
        let value: serde_json::Value = if data.is_undefined() {
            serde_json::Value::Null
        } else {
            from_js(&data, "event data", ErrorCode::InvalidArgument).map_err(coded)?
        };
        Ok(self.host.emit(name, &value) as u32)
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

fn install_failed(host: &Host, checked: &CheckedManifest, e: WardenError) -> JsValue {
    // Record the failure (status `failed`, audited), then report it.
    host.engine
        .borrow_mut()
        .fail_install(checked.manifest(), &e, js_sys::Date::now());
    host.deliver_audit();
    coded(e)
}

/// Sanitize HTML with the default allow-list.
#[wasm_bindgen]
pub fn sanitize(html: &str) -> String {
    thread_local! { static DEFAULT: Sanitizer = Sanitizer::default(); }
    DEFAULT.with(|s| s.sanitize(html))
}

/// Validate a manifest without installing it: `{ valid, problems: [{ path, message }] }`.
#[wasm_bindgen(js_name = validateManifest, unchecked_return_type = "{ valid: boolean; problems: ManifestProblem[] }")]
pub fn validate_manifest(
    #[wasm_bindgen(unchecked_param_type = "object | string")] manifest: JsValue,
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
/// origins, obfuscation). A filter, not a security boundary.
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
#[wasm_bindgen(js_name = hostCsp)]
pub fn host_csp(
    #[wasm_bindgen(unchecked_param_type = "object[]")] manifests: JsValue,
    #[wasm_bindgen(
        unchecked_param_type = "{ nonce: string; trustedTypesPolicy?: string; allowLoopbackHttp?: boolean; workerRunner?: boolean }"
    )]
    options: JsValue,
) -> Result<String, JsValue> {
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
    crate::core::engine::host_csp(&parsed, &nonce, &policy, workers, &[]).map_err(coded)
}
