//! Creating the DOM a mount lives in: the sandboxed iframe.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlIFrameElement, Window};

use super::sys::describe;
use crate::core::error::{cold_text, ErrorCode, WardenError};
use crate::core::mount::{FrameSource, IframePlan};

/// A plugin iframe attached to the page, with the `WindowProxy` the handshake must come from.
pub(crate) struct Frame {
    pub(crate) element: HtmlIFrameElement,
    pub(crate) window: Window,
}

impl Frame {
    /// Detach the iframe; its document and scripts go with it.
    pub(crate) fn remove(&self) {
        self.element.remove();
    }
}

/// Build the iframe the plan describes and append it to `parent`.
///
/// The frame's name carries the one-time bootstrap (`plugin-warden|1|<nonce>|<host origin>`);
/// the client reads and clears it before saying `hello`.
pub(crate) fn create_iframe(
    document: &Document,
    parent: &Element,
    plan: &IframePlan,
    bootstrap_name: &str,
    hidden: bool,
    srcdoc: Option<&JsValue>,
    src_without_embedded_csp: bool,
) -> Result<Frame, WardenError> {
    let failed = |what: &str, e: wasm_bindgen::JsValue| {
        WardenError::new(ErrorCode::MountFailed, format!("{what}: {}", describe(&e)))
    };
    let element: HtmlIFrameElement = document
        .create_element("iframe")
        .map_err(|e| failed("cannot create an iframe", e))?
        .dyn_into()
        .map_err(|_| {
            WardenError::new(
                ErrorCode::Internal,
                "createElement('iframe') gave no iframe",
            )
        })?;
    // The sandbox goes on before the frame has a document, so no script ever runs unsandboxed.
    element
        .set_attribute("sandbox", &plan.sandbox)
        .map_err(|e| failed("cannot set sandbox", e))?;
    if !plan.allow.is_empty() {
        element
            .set_attribute("allow", &plan.allow)
            .map_err(|e| failed("cannot set allow", e))?;
    }
    element
        .set_attribute("referrerpolicy", "no-referrer")
        .map_err(|e| failed("cannot set referrerpolicy", e))?;
    element
        .set_attribute("title", &plan.title)
        .map_err(|e| failed("cannot set title", e))?;
    // The policy the document must enforce goes on before the frame has a URL (CSP Embedded
    // Enforcement): the browser then displays a `src` page only if its server accepts it.
    if let Some(csp) = &plan.csp {
        let supported = js_sys::Reflect::has(&element, &"csp".into()).unwrap_or(false);
        if supported {
            element
                .set_attribute("csp", csp)
                .map_err(|e| failed("cannot set csp", e))?;
        } else if matches!(plan.source, FrameSource::Src(_)) && !src_without_embedded_csp {
            // A `srcdoc` document carries the same policy in its own `<meta>`; a `src` page
            // would carry only what its server sends.
            return Err(WardenError::new(
                ErrorCode::MountFailed,
                cold_text!("this browser does not support the iframe `csp` attribute (CSP Embedded Enforcement), so the SDK cannot limit what a `src` page loads or connects to; mount the plugin as a bundle (install it with `code`, mount without `src`), or set `dangerous: { srcWithoutEmbeddedCsp: true }` to rely on the plugin server's own CSP"),
            ));
        }
    }
    element.set_name(bootstrap_name);
    if hidden {
        // A worker's runner frame shows nothing; keep it out of layout and of the a11y tree.
        element.set_hidden(true);
        element
            .set_attribute("aria-hidden", "true")
            .map_err(|e| failed("cannot set aria-hidden", e))?;
        element
            .set_attribute("tabindex", "-1")
            .map_err(|e| failed("cannot set tabindex", e))?;
    }
    match &plan.source {
        FrameSource::Src(url) => element.set_src(url),
        FrameSource::Srcdoc(_) => {
            let value = srcdoc.ok_or_else(|| {
                WardenError::new(ErrorCode::Internal, "a srcdoc plan without its document")
            })?;
            // Through Reflect so the TrustedHTML object (not a string) reaches the sink.
            js_sys::Reflect::set(&element, &"srcdoc".into(), value)
                .map_err(|e| failed("cannot set srcdoc", e))?;
        }
    }
    parent
        .append_child(&element)
        .map_err(|e| failed("cannot attach the iframe", e))?;
    let window = element.content_window().ok_or_else(|| {
        WardenError::new(
            ErrorCode::MountFailed,
            "the iframe has no window after attaching it: is the target element in the document?",
        )
    })?;
    Ok(Frame { element, window })
}
