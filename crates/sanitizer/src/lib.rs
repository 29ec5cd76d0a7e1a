//! plugin-warden's sanitizer module: the HTML cleaner (ammonia and html5ever), built as its own
//! wasm module so that a host page pays for it only when it sanitizes.
//!
//! The browser package's core module has the policy ([`Sanitizer`]: allow-lists, limits, the
//! URL rules) but no HTML parser. When this module loads (`host.preload('sanitizer')`, or a
//! shadow mount), the core hands it each policy as its JSON spec; [`Cleaner::new`] rebuilds the
//! same [`Sanitizer`] from it — re-checking it against the allowable superset — and cleans with
//! ammonia. Nothing is decided here that the core does not decide natively too: this crate is
//! the core's own `core::sanitize`, compiled with the `ammonia` feature.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use plugin_warden::core::sanitize::Sanitizer;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

/// One sanitizer policy, ready to clean.
#[derive(Debug)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
pub struct Cleaner {
    sanitizer: Sanitizer,
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
impl Cleaner {
    /// The cleaner for a policy spec (`Sanitizer::spec_json` in the core module).
    ///
    /// # Errors
    /// The spec is not JSON of a spec, or names something outside the allowable superset
    /// (the message says what).
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen(constructor))]
    pub fn new(spec: &str) -> Result<Cleaner, String> {
        // A policy with a time limit (a remote UI's) measures it on `performance.now()`.
        #[cfg(target_arch = "wasm32")]
        plugin_warden::core::sanitize::set_clean_clock(performance_now);
        Sanitizer::from_spec_json(spec)
            .map(|sanitizer| Cleaner { sanitizer })
            .map_err(|e| e.to_string())
    }
}

impl Cleaner {
    /// Sanitize an HTML fragment: `Sanitizer::sanitize` (the empty string for input over the
    /// tag limit). In JS, `clean` takes the JS string itself (below).
    pub fn clean(&self, html: &str) -> String {
        self.sanitizer.sanitize(html)
    }
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
impl Cleaner {
    /// Sanitize an HTML fragment given as a JS string: `Sanitizer::sanitize` (the empty string
    /// for input over the tag limit).
    ///
    /// With `by` (a `performance.now()` time), a policy with a time limit also stops there: the
    /// core module passes the deadline of a remote UI's render, whose cleans together keep to
    /// the limit (`core::sanitize::cleans_ending_by`).
    ///
    /// # Errors
    /// `html` is not a string; a `TIMEOUT` (a coded `PluginWardenError`) when the policy has a
    /// time limit and the clean took longer, or went past `by`.
    #[wasm_bindgen(js_name = clean)]
    pub fn clean_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] html: &JsValue,
        by: Option<f64>,
    ) -> Result<String, JsValue> {
        let text = utf8::string_of(html)
            .ok_or_else(|| JsValue::from(JsError::new("expected a string of HTML")))?;
        match cleans_ending_by(by, || self.sanitizer.try_sanitize(&text)) {
            Ok(clean) => Ok(clean),
            Err(e @ SanitizeError::TimeLimit { .. }) => Err(timed_out(&e.to_string())),
            Err(_) => Ok(String::new()),
        }
    }
}

#[cfg(target_arch = "wasm32")]
use plugin_warden::core::{
    html_tree::HtmlTree,
    sanitize::{cleans_ending_by, SanitizeError},
};

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(module = "/src/tree.js")]
extern "C" {
    /// Build `tree` (its `ops`, a view of this module's memory, and its text) into `target`,
    /// replacing its children (src/tree.js).
    #[wasm_bindgen(js_name = pwBuild, catch)]
    fn build(target: &JsValue, ops: &[u32], text: &str) -> Result<(), JsValue>;
    /// `INVALID_ARGUMENT` unless `target` may take markup (an HTML element of an HTML document
    /// whose content is markup, or a shadow root) and `html` is a string (src/tree.js).
    #[wasm_bindgen(js_name = pwCheck, catch)]
    fn check(target: &JsValue, html: &JsValue) -> Result<(), JsValue>;
    /// A `PluginWardenError` with code `TIMEOUT` and `message` (src/tree.js).
    #[wasm_bindgen(js_name = pwTimedOut)]
    fn timed_out(message: &str) -> JsValue;
    /// `performance.now()` (src/tree.js): the clock of time-limited cleans.
    #[wasm_bindgen(js_name = pwNow)]
    fn performance_now() -> f64;
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
impl Cleaner {
    /// Sanitize an HTML fragment given as a JS string and replace `target`'s children with the
    /// result, built node by node from the cleaned tree (`Sanitizer::try_sanitize_tree`): no
    /// string reaches an HTML parser. Input over the tag limit empties `target` (as `clean`
    /// gives the empty string). Answers false, touching nothing, where the tree as it is would
    /// not be the DOM the browser builds from `clean`'s text: the caller inserts that text then
    /// (through its Trusted Types policy; the package's `host.setHTML`).
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` (a coded `PluginWardenError`) for a target that is not an HTML
    /// element of an HTML document whose content is markup, nor a shadow root, and for a
    /// `html` that is not a string, before anything is cleaned; the DOM's own error if it
    /// refused a node.
    #[wasm_bindgen(js_name = setHTML)]
    pub fn set_html(
        &self,
        target: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] html: &JsValue,
    ) -> Result<bool, JsValue> {
        check(target, html)?;
        let text = utf8::string_of(html)
            .ok_or_else(|| JsValue::from(JsError::new("expected a string of HTML")))?;
        let tree = match self.sanitizer.try_sanitize_tree(&text) {
            Ok(Some(tree)) => tree,
            Ok(None) => return Ok(false),
            // Over the tag limit: nothing, as `clean` gives "".
            Err(SanitizeError::TooManyTags { .. }) => HtmlTree::default(),
            Err(e) => return Err(JsError::new(&e.to_string()).into()),
        };
        build(target, tree.ops(), tree.text())?;
        Ok(true)
    }
}

/// A JS string's UTF-8 copied into this module by the browser's `TextEncoder.encodeInto`: one
/// call for ASCII text, a second from where the first ran out of room otherwise
/// (`plugin_warden::core::utf8::encode_resuming` decides the calls).
/// wasm-bindgen's own copy of a `&str` argument runs a JS loop over every ASCII character: on
/// whole pages that loop was ~5 % of a clean (docs/benchmarks.md).
#[cfg(target_arch = "wasm32")]
mod utf8 {
    use plugin_warden::core::utf8::{encode_resuming, Progress};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    #[wasm_bindgen]
    extern "C" {
        type TextEncoder;
        #[wasm_bindgen(constructor)]
        fn new() -> TextEncoder;
        /// `into` is a view of this module's memory: nothing is copied back.
        #[wasm_bindgen(method, js_name = encodeInto)]
        fn encode_into(this: &TextEncoder, text: &JsValue, into: &mut [u8]) -> EncodeResult;
        type EncodeResult;
        #[wasm_bindgen(method, getter)]
        fn read(this: &EncodeResult) -> f64;
        #[wasm_bindgen(method, getter)]
        fn written(this: &EncodeResult) -> f64;
        type Text;
        #[wasm_bindgen(method, getter)]
        fn length(this: &Text) -> f64;
        #[wasm_bindgen(method)]
        fn substring(this: &Text, start: u32) -> JsValue;
    }

    thread_local! {
        static ENCODER: TextEncoder = TextEncoder::new();
    }

    /// The Rust copy of a JS string (`None` for anything else), lone surrogates as U+FFFD
    /// (what `TextEncoder` and wasm-bindgen's own copy both write). The calls are the core's
    /// `encode_resuming` (the core module copies long text in the same way); no other copy
    /// stands behind it, so a mistake in them shows in the tests.
    pub(super) fn string_of(value: &JsValue) -> Option<String> {
        if !value.is_string() {
            return None;
        }
        let text = value.unchecked_ref::<Text>();
        let units = text.length() as usize;
        ENCODER.with(|encoder| {
            encode_resuming(units, &mut |from, room| {
                let done = if from == 0 {
                    encoder.encode_into(value, room)
                } else {
                    encoder.encode_into(&text.substring(from as u32), room)
                };
                Progress {
                    read: done.read() as usize,
                    written: done.written() as usize,
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_from_the_core_cleans_as_the_core_does() {
        let ui = Sanitizer::default().for_remote_ui(&["https://cdn.example".to_owned()]);
        let c = Cleaner::new(ui.spec_json()).unwrap();
        let html = r#"<img src="https://cdn.example/a.png"><img src="https://evil.example/b.png"><script>x</script><form action="/x"><input name=q></form>"#;
        assert_eq!(c.clean(html), ui.sanitize(html));
        assert!(Cleaner::new(r#"{"config":{"allowElements":["svg"]}}"#)
            .unwrap_err()
            .contains("svg"));
        assert!(Cleaner::new("{").is_err());
    }
}
