//! Trusted Types, declared by hand (web-sys has no bindings for them).
//!
//! One policy per name for the whole page, created on first use and kept: `createPolicy`
//! throws for a duplicate name (unless the CSP says `'allow-duplicates'`) and for a name the
//! page's `trusted-types` directive does not list; both become a `TRUSTED_TYPES` error.
//! Its `createHTML` runs the sanitizer, so nothing unsanitized becomes `TrustedHTML` — except
//! a whole `srcdoc` document assembled by the SDK for a sandboxed, opaque-origin iframe (its
//! own CSP first), passed with a private marker object: there the sandbox, not the sanitizer,
//! is the boundary, and the plugin's scripts must survive. The policy object and the marker
//! never leave this module.
//!
//! Fallback where Trusted Types do not exist (Firefox < 132, Safari < 18.4 and older
//! browsers): the same sanitizer output is used as a plain string.

use crate::core::collections::SortedMap;
use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::sanitizer::{ensure_loaded, sanitize_js};
use super::sys::describe;
use crate::core::error::{ErrorCode, WardenError};
use crate::core::sanitize::Sanitizer;

#[wasm_bindgen]
extern "C" {
    /// `window.trustedTypes`.
    type TrustedTypePolicyFactory;
    #[wasm_bindgen(method, catch, js_name = createPolicy)]
    fn create_policy(
        this: &TrustedTypePolicyFactory,
        name: &str,
        rules: &Object,
    ) -> Result<TrustedTypePolicy, JsValue>;

    /// A policy returned by `createPolicy`.
    type TrustedTypePolicy;
    /// `createHTML` on a JS string as it is: not copied into wasm memory and back out first
    /// (the policy's callback copies it in once, to sanitize it).
    #[wasm_bindgen(method, catch, js_name = createHTML)]
    fn create_html_js(this: &TrustedTypePolicy, input: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = createScriptURL)]
    fn create_script_url(
        this: &TrustedTypePolicy,
        input: &str,
        marker: &Object,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = createHTML)]
    fn create_html_marked(
        this: &TrustedTypePolicy,
        input: &str,
        marker: &Object,
    ) -> Result<JsValue, JsValue>;
}

struct Policy {
    policy: Option<TrustedTypePolicy>,
    /// The sanitizer of the host calling now: one policy serves every host on the page (the
    /// name can be created once), but each host's `createHTML` runs its own allow-list.
    current: Rc<RefCell<Option<Rc<Sanitizer>>>>,
    /// Passed as `createHTML`'s second argument for SDK-built `srcdoc` documents.
    marker: Object,
    _create_html: Closure<dyn Fn(JsValue, JsValue) -> Result<JsValue, JsValue>>,
    _create_script_url: Closure<dyn Fn(String, JsValue) -> Result<String, JsValue>>,
}

thread_local! {
    static POLICIES: RefCell<SortedMap<String, Rc<Policy>>> = const { RefCell::new(SortedMap::new()) };
    /// Why the policy's `createHTML` refused, for the call that made it refuse.
    static SANITIZE_FAILURE: RefCell<Option<WardenError>> = const { RefCell::new(None) };
}

fn policy(name: &str, sanitizer: &Rc<Sanitizer>) -> Result<Rc<Policy>, WardenError> {
    if let Some(p) = POLICIES.with(|p| p.borrow().get(name).cloned()) {
        return Ok(p);
    }
    let current: Rc<RefCell<Option<Rc<Sanitizer>>>> = Rc::new(RefCell::new(None));
    let (cur, fallback) = (current.clone(), sanitizer.clone());
    let marker = Object::new();
    let mark = marker.clone();
    let create_html = Closure::<dyn Fn(JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
        move |input: JsValue, m: JsValue| {
            if Object::is(&m, &mark) {
                return Ok(input);
            }
            // Only this module calls the policy, always with `current` set; the fallback keeps the
            // policy sanitizing even if that were ever not so. Before the sanitizer module is
            // loaded this throws (MODULE_NOT_LOADED): never unsanitized HTML.
            let s = cur.borrow().clone().unwrap_or_else(|| fallback.clone());
            sanitize_js(&s, &input).map_err(|e| {
                let thrown = js_sys::Error::new(&e.to_string()).into();
                // `trusted_html_js` reports it with its own code (MODULE_NOT_LOADED).
                SANITIZE_FAILURE.with(|f| *f.borrow_mut() = Some(e));
                thrown
            })
        },
    );
    // Script URLs are minted only for the SDK's own loader (after core::scripts approved the
    // URL): a call without the private marker throws, so the policy grants nobody else a sink.
    let mark2 = marker.clone();
    let create_script_url = Closure::<dyn Fn(String, JsValue) -> Result<String, JsValue>>::new(
        move |input: String, m: JsValue| {
            if Object::is(&m, &mark2) {
                Ok(input)
            } else {
                Err(js_sys::TypeError::new(
                    "plugin-warden mints script URLs only for its own loader",
                )
                .into())
            }
        },
    );
    let factory = Reflect::get(&js_sys::global(), &"trustedTypes".into())
        .ok()
        .filter(|f| !f.is_undefined() && !f.is_null());
    let policy = match factory {
        None => None,
        Some(f) => {
            let rules = Object::new();
            let _ = Reflect::set(&rules, &"createHTML".into(), create_html.as_ref());
            let _ = Reflect::set(
                &rules,
                &"createScriptURL".into(),
                create_script_url.as_ref(),
            );
            let p = f.unchecked_into::<TrustedTypePolicyFactory>().create_policy(name, &rules).map_err(|e| {
                WardenError::new(
                    ErrorCode::TrustedTypes,
                    format!(
                        "cannot create the Trusted Types policy {name:?}: {} (the page's CSP must list it: `trusted-types {name}`)",
                        describe(&e)
                    ),
                )
            })?;
            Some(p)
        }
    };
    let p = Rc::new(Policy {
        policy,
        current,
        marker,
        _create_html: create_html,
        _create_script_url: create_script_url,
    });
    POLICIES.with(|all| all.borrow_mut().insert(name.to_owned(), p.clone()));
    Ok(p)
}

/// Sanitize `html` and wrap it as `TrustedHTML` (a plain string where Trusted Types are absent).
pub(crate) fn trusted_html(
    name: &str,
    sanitizer: &Rc<Sanitizer>,
    html: &str,
) -> Result<JsValue, WardenError> {
    trusted_html_js(name, sanitizer, &JsValue::from_str(html))
}

/// [`trusted_html`] for a JS string passed through from JavaScript: where Trusted Types exist the
/// string goes to the policy directly, so a large input crosses into wasm once, not twice.
pub(crate) fn trusted_html_js(
    name: &str,
    sanitizer: &Rc<Sanitizer>,
    html: &JsValue,
) -> Result<JsValue, WardenError> {
    if !html.is_string() {
        return Err(WardenError::new(
            ErrorCode::InvalidArgument,
            "trustedHTML: expected a string of HTML",
        ));
    }
    ensure_loaded("trustedHTML")?;
    let p = policy(name, sanitizer)?;
    match &p.policy {
        Some(policy) => {
            *p.current.borrow_mut() = Some(sanitizer.clone());
            SANITIZE_FAILURE.with(|f| f.borrow_mut().take());
            let result = policy.create_html_js(html);
            *p.current.borrow_mut() = None;
            // The sanitizer's own refusal keeps its code; anything else is the policy's.
            result.map_err(|e| {
                SANITIZE_FAILURE
                    .with(|f| f.borrow_mut().take())
                    .unwrap_or_else(|| WardenError::new(ErrorCode::TrustedTypes, describe(&e)))
            })
        }
        None => sanitize_js(sanitizer, html),
    }
}

/// Wrap a whole `srcdoc` document the SDK assembled (see the module docs), unsanitized.
#[inline(never)]
pub(crate) fn trusted_document(
    name: &str,
    sanitizer: &Rc<Sanitizer>,
    doc: &str,
) -> Result<JsValue, WardenError> {
    let p = policy(name, sanitizer)?;
    match &p.policy {
        Some(policy) => policy
            .create_html_marked(doc, &p.marker)
            .map_err(|e| WardenError::new(ErrorCode::TrustedTypes, describe(&e))),
        None => Ok(JsValue::from_str(doc)),
    }
}

/// A `TrustedScriptURL` for a script URL the core approved (a string without Trusted Types).
pub(crate) fn trusted_script_url(
    name: &str,
    sanitizer: &Rc<Sanitizer>,
    url: &str,
) -> Result<JsValue, WardenError> {
    let p = policy(name, sanitizer)?;
    match &p.policy {
        Some(policy) => policy
            .create_script_url(url, &p.marker)
            .map_err(|e| WardenError::new(ErrorCode::TrustedTypes, describe(&e))),
        None => Ok(JsValue::from_str(url)),
    }
}
