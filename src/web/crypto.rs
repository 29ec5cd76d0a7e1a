//! Signature verification with WebCrypto: the one step of [`crate::core::provenance`] the core
//! cannot do (the browser's crypto is asynchronous). The core made every decision already.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::sys::describe;
use crate::core::error::{ErrorCode, WardenError};
use crate::core::provenance::{SignatureCheck, SignedEnvelope};

#[wasm_bindgen(module = "/src/web/crypto.js")]
extern "C" {
    #[wasm_bindgen(js_name = pwVerifyRaw, catch)]
    fn verify_raw(
        spki: &Uint8Array,
        algorithm: &str,
        signature: &Uint8Array,
        message: &Uint8Array,
    ) -> Result<Promise, JsValue>;
}

/// Try each candidate key in order; the first that verifies makes the [`SignedEnvelope`].
///
/// # Errors
/// `SIGNATURE_INVALID` when none verifies (or WebCrypto is unavailable or refuses a key);
/// `MODULE_NOT_LOADED` when the package's crypto.js could not be loaded.
pub(crate) async fn verify(check: SignatureCheck) -> Result<SignedEnvelope, WardenError> {
    let message = Uint8Array::from(check.message());
    let mut found = None;
    let mut failure = None;
    for (i, c) in check.candidates().iter().enumerate() {
        let spki = Uint8Array::from(c.key.to_spki_der().as_slice());
        let signature = Uint8Array::from(c.signature.as_slice());
        let answer = match verify_raw(
            &spki,
            c.key.algorithm().webcrypto_name(),
            &signature,
            &message,
        ) {
            Ok(p) => JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(v) if v.as_bool() == Some(true) => {
                found = Some(i);
                break;
            }
            Ok(_) => {}
            // The package's crypto.js could not be loaded (its entry imports it at the first
            // check): no key was tried, so no signature is known to be wrong.
            Err(e) if module_not_loaded(&e) => {
                return Err(WardenError::new(ErrorCode::ModuleNotLoaded, describe(&e)));
            }
            Err(e) => {
                failure.get_or_insert_with(|| describe(&e));
            }
        }
    }
    let failure = failure.filter(|_| found.is_none());
    check.confirm(found).map_err(|e| {
        let message = match failure {
            Some(why) => format!("{e} (WebCrypto: {why})"),
            None => e.to_string(),
        };
        WardenError::new(ErrorCode::SignatureInvalid, message)
    })
}

/// Whether `e` is the entry's refusal of a check whose module (the package's crypto.js) could
/// not be loaded (scripts/package.mjs `standIns`).
fn module_not_loaded(e: &JsValue) -> bool {
    js_sys::Reflect::get(e, &"code".into())
        .ok()
        .and_then(|c| c.as_string())
        .is_some_and(|c| c == ErrorCode::ModuleNotLoaded.as_str())
}
