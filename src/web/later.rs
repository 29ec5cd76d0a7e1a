//! Timers for the host's rare paths: a mount's handshake timeout, a refused page's grace
//! period, the package's permission dialog (a notification's removal needs no code of the core:
//! `remove_later`). Their callbacks run code the core's first part seldom holds, so when one is
//! due, `later.js` first loads the rest of the core asynchronously (retrying while the network
//! is gone; an `urgent` timer runs its callback with `false` instead) rather than letting the
//! callback load it synchronously on the main thread.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/web/later.js")]
extern "C" {
    #[wasm_bindgen(js_name = pwLater)]
    fn pw_later(ms: u32, callback: &JsValue, urgent: bool) -> JsValue;
    #[wasm_bindgen(js_name = pwCancel)]
    fn pw_cancel(timer: &JsValue);
    #[wasm_bindgen(js_name = pwSetLatePreload)]
    fn pw_set_late_preload(load: &JsValue);
    /// Remove `element` `ms` milliseconds from now, by JS alone (a toast: nothing of the core
    /// runs for it, so it neither loads the core's second part nor waits for it).
    #[wasm_bindgen(js_name = pwRemoveLater)]
    pub(crate) fn remove_later(element: &web_sys::Element, ms: u32);
    /// The clock of time-limited cleans: `performance.now()`, standing still while a part of a
    /// module loads synchronously (later.js), as the sanitizer module's clock does.
    #[wasm_bindgen(js_name = pwCleanNow)]
    pub(crate) fn clean_now() -> f64;
}

/// What loads the core's second part ahead of a due timer, and ahead of a plugin's message that
/// needs it (`() => Promise | null`); `prepare` and `loaded`, the hooks a plugin's message is
/// made ready with before the engine (`Host::ahead`, src/web/effects.rs; src/web/binary.js
/// keeps them). The entry module sets
/// them once `init()` has run. Without them (the unsplit module of the tests) a due timer runs
/// at once, and a message goes to the engine as it is.
#[wasm_bindgen(js_name = __pw_setLatePreload, skip_typescript)]
pub fn set_late_preload(load: JsValue, prepare: JsValue, loaded: JsValue) {
    pw_set_late_preload(&load);
    super::binary::set_port_hooks(&load, &prepare, &loaded);
}

/// A one-shot timer, cancelled when dropped (like `gloo_timers::callback::Timeout`).
pub(crate) struct Later {
    timer: JsValue,
    _callback: Closure<dyn FnMut(bool)>,
}

impl Later {
    /// Run `f` once, `ms` milliseconds from now, once the core's second part has loaded.
    pub(crate) fn new(ms: u32, f: impl FnOnce() + 'static) -> Later {
        Later::start(ms, false, move |_| f())
    }

    /// Run `f(true)` once, `ms` milliseconds from now, once the core's second part has loaded;
    /// or `f(false)` if that load fails, without waiting for the network: `f(false)` must run
    /// code of the first part only (www/bench/coverage.js records it), or it would load the part
    /// synchronously, which fails too, in the middle of what it changes.
    pub(crate) fn urgent(ms: u32, f: impl FnOnce(bool) + 'static) -> Later {
        Later::start(ms, true, f)
    }

    fn start(ms: u32, urgent: bool, f: impl FnOnce(bool) + 'static) -> Later {
        let mut f = Some(f);
        let callback = Closure::<dyn FnMut(bool)>::new(move |loaded| {
            if let Some(f) = f.take() {
                f(loaded);
            }
        });
        let timer = pw_later(ms, callback.as_ref(), urgent);
        Later {
            timer,
            _callback: callback,
        }
    }

    /// Let it run whatever becomes of this value (its callback is leaked).
    pub(crate) fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for Later {
    fn drop(&mut self) {
        pw_cancel(&self.timer);
    }
}
