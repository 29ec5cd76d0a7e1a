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
        Sanitizer::from_spec_json(spec)
            .map(|sanitizer| Cleaner { sanitizer })
            .map_err(|e| e.to_string())
    }

    /// Sanitize an HTML fragment: `Sanitizer::sanitize` (the empty string for input over the
    /// tag limit).
    pub fn clean(&self, html: &str) -> String {
        self.sanitizer.sanitize(html)
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
