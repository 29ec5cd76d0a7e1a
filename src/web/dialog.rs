//! Default UI when the host gives no `onPermissionRequest` / `onUpdateConsent` / `onNotify`: an
//! accessible modal `<dialog>` that names the plugin, the permission and the plugin's reason (or
//! an update's versions and each addition in words), and a polite status toast. Built with DOM methods and `textContent` only (no HTML strings), and styled
//! through the CSSOM, so it works under Trusted Types and a strict `style-src`.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement};

fn document() -> Option<Document> {
    web_sys::window()?.document()
}

fn el(doc: &Document, tag: &str, text: &str) -> Option<Element> {
    let e = doc.create_element(tag).ok()?;
    e.set_text_content(Some(text));
    Some(e)
}

fn style(e: &Element, props: &[(&str, &str)]) {
    if let Some(h) = e.dyn_ref::<HtmlElement>() {
        for (k, v) in props {
            let _ = h.style().set_property(k, v);
        }
    }
}

/// Ask the user; resolves `true` only when they press "Allow". (Never inlined: it is code of the
/// core's second part, called once that part has loaded: src/web/effects.rs `default_ask`.)
#[inline(never)]
pub(crate) fn ask(plugin: &str, permission: &str, reason: &str) -> Promise {
    confirm(
        &format!("{plugin} asks for \u{201c}{permission}\u{201d}"),
        &format!("Its reason: {reason}"),
        &[],
        "Allow",
    )
}

/// Ask the user whether `plugin` may update from `from` to `to`, listing each addition in
/// words; resolves `true` only when they press "Update".
pub(crate) fn ask_update(plugin: &str, from: &str, to: &str, additions: &[&str]) -> Promise {
    confirm(
        &format!("Update {plugin} from {from} to {to}?"),
        "The new version asks for more than the installed one. It would be able to:",
        additions,
        "Update",
    )
}

/// An accessible modal: a title (the dialog's label), a paragraph, an optional list, and two
/// buttons; "Deny" has focus, Escape is a "no".
fn confirm(title: &str, text: &str, items: &[&str], allow_label: &str) -> Promise {
    let Some(doc) = document() else {
        return Promise::resolve(&JsValue::FALSE);
    };
    let build = || -> Option<Promise> {
        let dialog: web_sys::HtmlDialogElement =
            doc.create_element("dialog").ok()?.dyn_into().ok()?;
        let title_id = format!("pw-perm-{}", super::sys::nonce_hex().ok()?);
        let heading = el(&doc, "h2", title)?;
        heading.set_id(&title_id);
        let _ = dialog.set_attribute("aria-labelledby", &title_id);
        let why = el(&doc, "p", text)?;
        let allow = el(&doc, "button", allow_label)?;
        let deny = el(&doc, "button", "Deny")?;
        let _ = allow.set_attribute("type", "button");
        let _ = deny.set_attribute("type", "button");
        style(
            dialog.as_ref(),
            &[
                ("max-width", "28rem"),
                ("font", "15px system-ui, sans-serif"),
            ],
        );
        style(&allow, &[("margin-right", "0.5rem")]);
        dialog.append_with_node_2(&heading, &why).ok()?;
        if !items.is_empty() {
            let list = doc.create_element("ul").ok()?;
            for item in items {
                let li = el(&doc, "li", item)?;
                list.append_child(&li).ok()?;
            }
            dialog.append_with_node_1(&list).ok()?;
        }
        dialog.append_with_node_2(&allow, &deny).ok()?;
        doc.body()?.append_child(&dialog).ok()?;
        let d = dialog.clone();
        let promise = Promise::new(&mut |resolve, _| {
            for (button, answer) in [(&allow, true), (&deny, false)] {
                let (resolve, d) = (resolve.clone(), d.clone());
                let cb = Closure::once_into_js(move || {
                    d.close();
                    d.remove();
                    let _ = resolve.call1(&JsValue::NULL, &JsValue::from_bool(answer));
                });
                let _ = button.add_event_listener_with_callback("click", cb.unchecked_ref());
            }
            // Escape closes the dialog: that is a "no".
            let (resolve, d2) = (resolve.clone(), d.clone());
            let cancel = Closure::once_into_js(move || {
                d2.remove();
                let _ = resolve.call1(&JsValue::NULL, &JsValue::FALSE);
            });
            let _ = d.add_event_listener_with_callback("cancel", cancel.unchecked_ref());
        });
        dialog.show_modal().ok()?;
        if let Some(h) = deny.dyn_ref::<HtmlElement>() {
            let _ = h.focus(); // the safe choice has focus
        }
        Some(promise)
    };
    build().unwrap_or_else(|| Promise::resolve(&JsValue::FALSE))
}

/// Default toasts a plugin may have on screen at once: one that notifies in a loop replaces
/// its own oldest toast instead of piling them up.
const TOASTS_PER_PLUGIN: usize = 3;
/// The characters of a message a default toast shows (up to 4 096 arrive); the rest is cut.
const TOAST_CHARS: usize = 280;

/// A polite status toast (`role="alert"` for errors) for `onNotify`'s absence, removed after
/// 5 s. The toasts stack in the page's bottom-right corner in one container, each at most
/// 28rem wide and a few lines high, and let clicks through (`pointer-events: none`): a plugin's
/// notifications (`{plugin}: {message}`, the plugin's words as text) can neither cover the
/// host page nor catch the clicks meant for it, however long or however many.
pub(crate) fn toast(plugin: &str, message: &str, level: &str) {
    let Some(doc) = document() else { return };
    let Some(body) = doc.body() else { return };
    let Some(stack) = toast_stack(&doc, &body) else {
        return;
    };
    // This plugin's toasts beyond the limit go first, oldest first.
    let mine: Vec<Element> =
        std::iter::successors(stack.first_element_child(), |t| t.next_element_sibling())
            .filter(|t| t.get_attribute("data-plugin").as_deref() == Some(plugin))
            .collect();
    for old in mine
        .iter()
        .take((mine.len() + 1).saturating_sub(TOASTS_PER_PLUGIN))
    {
        old.remove();
    }
    let shown: String = if message.chars().count() > TOAST_CHARS {
        message
            .chars()
            .take(TOAST_CHARS - 1)
            .chain(['\u{2026}'])
            .collect()
    } else {
        message.to_owned()
    };
    let Some(t) = el(&doc, "div", &format!("{plugin}: {shown}")) else {
        return;
    };
    let _ = t.set_attribute("role", if level == "error" { "alert" } else { "status" });
    let _ = t.set_attribute("data-level", level);
    let _ = t.set_attribute("data-plugin", plugin);
    style(
        &t,
        &[
            ("padding", "0.6rem 0.9rem"),
            ("background", "#1d2430"),
            ("color", "#fff"),
            ("border-radius", "6px"),
            ("font", "14px system-ui, sans-serif"),
            ("max-height", "4.5em"),
            ("overflow", "hidden"),
            ("overflow-wrap", "anywhere"),
        ],
    );
    if stack.append_child(&t).is_ok() {
        super::later::remove_later(&t, 5_000);
    }
}

/// The page's toast container, made on first use.
fn toast_stack(doc: &Document, body: &HtmlElement) -> Option<Element> {
    if let Some(stack) = doc
        .query_selector("[data-plugin-warden-toasts]")
        .ok()
        .flatten()
    {
        return Some(stack);
    }
    let stack = doc.create_element("div").ok()?;
    let _ = stack.set_attribute("data-plugin-warden-toasts", "");
    style(
        &stack,
        &[
            ("position", "fixed"),
            ("bottom", "1rem"),
            ("right", "1rem"),
            ("display", "flex"),
            ("flex-direction", "column"),
            ("gap", "0.5rem"),
            ("max-width", "min(28rem, calc(100vw - 2rem))"),
            ("max-height", "calc(100vh - 2rem)"),
            ("overflow", "hidden"),
            ("pointer-events", "none"),
            ("z-index", "2147483647"),
        ],
    );
    body.append_child(&stack).ok()?;
    Some(stack)
}
