//! The sanitizer module (crates/sanitizer: ammonia and html5ever), loaded on first use.
//!
//! The core module decides every sanitizer policy (`core::sanitize::Sanitizer`) but, built
//! without the `ammonia` feature, cannot clean HTML itself. The package's entry module loads
//! the sanitizer module when a host asks (`preload('sanitizer')`) or needs it (a shadow mount,
//! a remote UI) and hands its `Cleaner` class to [`set_module`]; from then on:
//! - the core's sanitizers clean through it ([`JsFactory`], installed as the core's
//!   `CleanerFactory`): the engine's remote-UI `ui.render`;
//! - JS strings from the host (`sanitize`, `trustedHTML`, the Trusted Types policy) go to it
//!   directly ([`sanitize_js`]), never copied through this module's memory.
//!
//! Before that, every synchronous sanitize fails with `MODULE_NOT_LOADED` ([`ensure_loaded`]):
//! nothing unsanitized is ever returned. Built with `ammonia` (the browser tests' build),
//! the cleaner is compiled in and always available.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::sys::describe;
use crate::core::collections::SortedMap;
use crate::core::error::{Coded, ErrorCode, WardenError};
use crate::core::sanitize::{
    clean_deadline, cleaner_available, set_cleaner_factory, Cleaner, CleanerFactory, SanitizeError,
    Sanitizer,
};

#[wasm_bindgen]
extern "C" {
    /// An instance of the sanitizer module's `Cleaner` class: one policy, ready to clean.
    type JsCleaner;
    /// Throws for a value that is not a string (never given here), `TIMEOUT` past the policy's
    /// time limit or `by` (`core::sanitize::cleans_ending_by`), and `MODULE_NOT_LOADED` when
    /// the input needs the module's second part and it cannot be loaded: caught, so that no
    /// exception unwinds through this module's frames.
    #[wasm_bindgen(method, catch, js_name = clean)]
    fn clean_js(this: &JsCleaner, html: &JsValue, by: Option<f64>) -> Result<JsValue, JsValue>;
}

thread_local! {
    /// The sanitizer module's `Cleaner` class, once loaded.
    static CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
    /// One cleaner per policy spec (a host's policy, each remote UI's).
    static CLEANERS: RefCell<SortedMap<String, Rc<JsCleaner>>> = const { RefCell::new(SortedMap::new()) };
}

/// Take the loaded sanitizer module's `Cleaner` class, and clean with it from now on.
pub(crate) fn set_module(cleaner_class: JsValue) -> Result<(), WardenError> {
    let class = cleaner_class.dyn_into::<Function>().map_err(|_| {
        WardenError::new(
            ErrorCode::InvalidArgument,
            "the sanitizer module's Cleaner class was expected",
        )
    })?;
    CLASS.with(|c| *c.borrow_mut() = Some(class));
    CLEANERS.with(|c| c.borrow_mut().clear());
    set_cleaner_factory(Some(Rc::new(JsFactory)));
    Ok(())
}

/// Whether sanitizers can clean now (the module is loaded, or ammonia is compiled in).
pub(crate) fn loaded() -> bool {
    cleaner_available()
}

/// `MODULE_NOT_LOADED` unless sanitizers can clean now.
pub(crate) fn ensure_loaded(what: &str) -> Result<(), WardenError> {
    if loaded() {
        Ok(())
    } else {
        Err(WardenError::new(
            ErrorCode::ModuleNotLoaded,
            format!("{what}: {}", SanitizeError::NotLoaded),
        ))
    }
}

fn cleaner_for(s: &Sanitizer) -> Result<Rc<JsCleaner>, SanitizeError> {
    if let Some(c) = CLEANERS.with(|c| c.borrow().get(s.spec_json()).cloned()) {
        return Ok(c);
    }
    let class = CLASS
        .with(|c| c.borrow().clone())
        .ok_or(SanitizeError::NotLoaded)?;
    let instance = Reflect::construct(&class, &Array::of1(&JsValue::from_str(s.spec_json())))
        .map_err(|e| {
            // Its second part (which explains a refusal) may be what could not be loaded.
            let code = Reflect::get(&e, &JsValue::from_str("code")).ok();
            if code.and_then(|c| c.as_string()).as_deref() == Some("MODULE_NOT_LOADED") {
                return failed(e);
            }
            SanitizeError::InvalidConfig {
                reason: format!("the sanitizer module refused the policy: {}", describe(&e)),
            }
        })?;
    let c = Rc::new(instance.unchecked_into::<JsCleaner>());
    CLEANERS.with(|all| all.borrow_mut().insert(s.spec_json().to_owned(), c.clone()));
    Ok(c)
}

/// The core's cleaner factory once the module is loaded.
struct JsFactory;

impl CleanerFactory for JsFactory {
    fn cleaner(&self, s: &Sanitizer) -> Result<Rc<dyn Cleaner>, SanitizeError> {
        Ok(Rc::new(ModuleCleaner(cleaner_for(s)?, s.time_limit_ms())))
    }
}

/// The module's cleaner for one policy, and that policy's time limit.
struct ModuleCleaner(Rc<JsCleaner>, Option<u32>);

impl Cleaner for ModuleCleaner {
    /// Nothing (never the input) when the cleaner failed: [`Cleaner::try_clean_scanned`] says why.
    fn clean(&self, html: &str) -> String {
        self.try_clean_scanned(html, true).unwrap_or_default()
    }

    fn try_clean_scanned(&self, html: &str, _: bool) -> Result<String, SanitizeError> {
        // The result comes back by `string_of` (long text by one `encodeInto`), not by
        // wasm-bindgen's copy of a returned string, a JS loop over every ASCII character.
        // It is always a string; anything else would clean to nothing.
        let out = self
            .0
            .clean_js(&JsValue::from_str(html), clean_deadline())
            .map_err(|e| failed_within(e, self.1))?;
        Ok(super::binary::string_of(&out).unwrap_or_default())
    }
}

/// A cleaner's exception as an error (its own `MODULE_NOT_LOADED` message).
fn failed(e: JsValue) -> SanitizeError {
    SanitizeError::CleanerFailed {
        reason: describe(&e),
    }
}

/// [`failed`], for a policy with a time limit: the module's `TIMEOUT` is the limit's error.
fn failed_within(e: JsValue, limit_ms: Option<u32>) -> SanitizeError {
    let code = Reflect::get(&e, &JsValue::from_str("code")).ok();
    match limit_ms {
        Some(limit_ms) if code.and_then(|c| c.as_string()).as_deref() == Some("TIMEOUT") => {
            SanitizeError::TimeLimit { limit_ms }
        }
        _ => failed(e),
    }
}

/// Time-limited cleans measure one clock, in this module as in the sanitizer module:
/// `performance.now()` standing still while a part of either module loads synchronously
/// (`later::clean_now`), so that a clean which needed such a load keeps its whole limit. The
/// engine's deadline for a render's cleans (`core::sanitize::deadline_in`) is read here and
/// kept to there, and in a build with the cleaner compiled in (the browser tests') this
/// module's own cleans keep to it.
pub(crate) fn install_clean_clock() {
    crate::core::sanitize::set_clean_clock(super::later::clean_now);
}

/// `s.sanitize(html)` for a JS string, which goes to the sanitizer module as it is.
///
/// # Errors
/// `MODULE_NOT_LOADED` before the module is loaded; `INVALID_ARGUMENT` for a non-string.
pub(crate) fn sanitize_js(s: &Sanitizer, html: &JsValue) -> Result<JsValue, WardenError> {
    if !html.is_string() {
        return Err(WardenError::new(
            ErrorCode::InvalidArgument,
            "sanitize: expected a string of HTML",
        ));
    }
    if cfg!(feature = "ammonia") {
        // As the sanitizer module's `clean`: nothing for input over the tag limit.
        return match s.try_sanitize(&html.as_string().unwrap_or_default()) {
            Ok(clean) => Ok(JsValue::from_str(&clean)),
            Err(e @ SanitizeError::TimeLimit { .. }) => {
                Err(WardenError::new(e.code(), e.to_string()))
            }
            Err(_) => Ok(JsValue::from_str("")),
        };
    }
    let c = cleaner_for(s).map_err(|e| WardenError::new(e.code(), e.to_string()))?;
    c.clean_js(html, clean_deadline()).map_err(|e| {
        let e = failed_within(e, s.time_limit_ms());
        WardenError::new(e.code(), e.to_string())
    })
}

/// The sanitizer module's cleaner for `s`, whose `setHTML` builds the cleaned tree into a node
/// (the package's `host.setHTML`).
///
/// # Errors
/// `MODULE_NOT_LOADED` before the module is loaded, and in a build with the cleaner compiled in
/// (the browser tests': no module, no tree builder); the module's refusal of the policy.
pub(crate) fn module_cleaner(s: &Sanitizer) -> Result<JsValue, WardenError> {
    if cfg!(feature = "ammonia") {
        return Err(WardenError::new(
            ErrorCode::ModuleNotLoaded,
            "setHTML: this build compiles the cleaner in and has no sanitizer module",
        ));
    }
    let c = cleaner_for(s).map_err(|e| WardenError::new(e.code(), e.to_string()))?;
    let c: &JsValue = c.as_ref().as_ref();
    Ok(c.clone())
}
