//! Browser tests (wasm-bindgen-test in headless Chromium) for the facade, the bridge and every
//! `src/web` adapter. The adapter tests live in tests/web/ (modules of this one test target, so
//! `wasm-pack test --headless --chrome -- --test web` runs them all).
#![cfg(target_arch = "wasm32")]

#[path = "web/support.rs"]
mod support;

#[path = "web/crypto.rs"]
mod crypto;
#[path = "web/fetch.rs"]
mod fetch;
#[path = "web/mounting.rs"]
mod mounting;
#[path = "web/outcomes.rs"]
mod outcomes;
#[path = "web/storage.rs"]
mod storage;
#[path = "web/trusted_types.rs"]
mod trusted_types;
#[path = "web/weburl.rs"]
mod weburl;

use support::*;

use js_sys::{Object, Reflect};
use plugin_warden::PluginHost;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::HtmlIFrameElement;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn a_misspelled_callback_option_is_refused_not_dropped() {
    let options = Object::new();
    let noop = js_sys::Function::new_no_args("");
    Reflect::set(&options, &"onAduit".into(), &noop).unwrap();
    let err = PluginHost::new(options.clone().into())
        .err()
        .expect("onAduit must be refused");
    assert_eq!(code_of(&err), "INVALID_ARGUMENT");
    let message = get(&err, "message").as_string().unwrap_or_default();
    assert!(message.contains("onAduit"), "{message}");
    // The real name is accepted.
    let options = Object::new();
    Reflect::set(&options, &"onAudit".into(), &noop).unwrap();
    assert!(PluginHost::new(options.into()).is_ok());
}

#[wasm_bindgen_test]
fn trusted_html_takes_a_string_and_refuses_anything_else() {
    let host = PluginHost::new(JsValue::UNDEFINED).unwrap();
    let out = host
        .trusted_html(JsValue::from_str(
            "<b onclick=x()>hi</b><script>x()</script>",
        ))
        .unwrap();
    // TrustedHTML where the browser has Trusted Types; either way its text is the sanitized HTML.
    let text = String::from(out.unchecked_ref::<Object>().to_string());
    assert_eq!(text, "<b>hi</b>");
    for bad in [JsValue::from(5), JsValue::NULL, Object::new().into()] {
        let err = host.trusted_html(bad).unwrap_err();
        assert_eq!(code_of(&err), "INVALID_ARGUMENT");
    }
}

#[wasm_bindgen_test]
async fn mounting_an_unknown_plugin_rejects_with_not_found() {
    let host = PluginHost::new(JsValue::UNDEFINED).unwrap();
    let err = JsFuture::from(host.mount("nope-plugin", &slot(), None))
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "NOT_FOUND");
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(
        get(&err, "name").as_string().as_deref(),
        Some("PluginWardenError")
    );
}

#[wasm_bindgen_test]
async fn the_iframe_is_sandboxed_and_unmount_removes_it() {
    let host = installed("test-sandbox").await;
    let el = slot();
    let opts = json(r#"{"src":"http://127.0.0.1:9/never","timeout":60000}"#);
    let pending = JsFuture::from(host.mount("test-sandbox", &el, Some(opts)));
    let frame: HtmlIFrameElement = el
        .query_selector("iframe")
        .unwrap()
        .expect("an iframe")
        .dyn_into()
        .unwrap();
    assert_eq!(
        frame.get_attribute("sandbox").as_deref(),
        Some("allow-scripts")
    );
    assert!(
        frame.name().starts_with("plugin-warden|1|"),
        "bootstrap name: {}",
        frame.name()
    );
    assert_eq!(state(&host, "test-sandbox"), "mounting");
    host.unmount("test-sandbox").unwrap();
    assert!(
        el.query_selector("iframe").unwrap().is_none(),
        "unmount left the iframe behind"
    );
    assert_eq!(code_of(&pending.await.unwrap_err()), "MOUNT_FAILED");
    assert_eq!(state(&host, "test-sandbox"), "installed");
}

#[wasm_bindgen_test]
async fn a_plugin_that_never_says_hello_times_out_and_is_marked_failed() {
    let host = installed("test-timeout").await;
    let el = slot();
    let err = JsFuture::from(host.mount(
        "test-timeout",
        &el,
        Some(json(r#"{"src":"http://127.0.0.1:9/","timeout":50}"#)),
    ))
    .await
    .unwrap_err();
    assert_eq!(code_of(&err), "TIMEOUT");
    let status = host.status("test-timeout").unwrap();
    assert_eq!(get(&status, "state").as_string().as_deref(), Some("failed"));
    assert_eq!(get(&status, "code").as_string().as_deref(), Some("TIMEOUT"));
    assert!(el.query_selector("iframe").unwrap().is_none());
}

#[wasm_bindgen_test]
async fn a_hello_from_a_window_that_is_no_mount_is_refused() {
    let host = installed("test-forged").await;
    let _pending = host.mount(
        "test-forged",
        &slot(),
        Some(json(r#"{"src":"http://127.0.0.1:9/","timeout":60000}"#)),
    );
    let forged = Object::new();
    Reflect::set(&forged, &"ns".into(), &"plugin-warden".into()).unwrap();
    Reflect::set(&forged, &"v".into(), &1.into()).unwrap();
    Reflect::set(&forged, &"type".into(), &"hello".into()).unwrap();
    Reflect::set(
        &forged,
        &"nonce".into(),
        &"0123456789abcdef0123456789abcdef".into(),
    )
    .unwrap();
    web_sys::window()
        .unwrap()
        .post_message(&forged, "*")
        .unwrap();
    web_sys::window()
        .unwrap()
        .post_message(&"unrelated".into(), "*")
        .unwrap();
    tick(50).await;
    let stats = host.bridge_stats().unwrap();
    assert_eq!(get(&stats, "rejectedHandshakes").as_f64(), Some(1.0));
    assert!(get(&stats, "ignoredMessages").as_f64().unwrap_or(0.0) >= 1.0);
    assert_eq!(state(&host, "test-forged"), "mounting");
    host.destroy();
}

#[wasm_bindgen_test]
async fn refused_mount_options_reject_with_mount_failed() {
    let host = installed("test-options").await;
    for opts in [
        r#"{"src":"javascript:alert(1)"}"#,
        r#"{"src":"/same-origin.html","sandbox":["allow-same-origin"]}"#,
        r#"{"src":"http://127.0.0.1:9/","sandbox":["allow-popups-to-escape-sandbox"]}"#,
        r#"{"src":"http://127.0.0.1:9/","bogus":true}"#,
    ] {
        let el = slot();
        let err = JsFuture::from(host.mount("test-options", &el, Some(json(opts))))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "MOUNT_FAILED", "{opts}");
        assert!(
            el.query_selector("iframe").unwrap().is_none(),
            "{opts} created an iframe"
        );
    }
}

#[wasm_bindgen_test]
async fn a_srcdoc_plugin_gets_its_own_csp_and_completes_the_handshake() {
    let host = installed("test-srcdoc").await;
    let el = slot();
    // A hand-written plugin (the entry module would inline the client): it reads its bootstrap
    // from window.name and says hello to the host.
    let doc = r#"<!doctype html><p>srcdoc plugin</p><script>
        const [ns, v, nonce, origin] = window.name.split('|');
        parent.postMessage({ ns, v: 1, type: 'hello', nonce }, origin);
    </script>"#;
    let opts = Object::new();
    Reflect::set(&opts, &"srcdoc".into(), &doc.into()).unwrap();
    Reflect::set(&opts, &"timeout".into(), &5000.into()).unwrap();
    let pending = JsFuture::from(host.mount("test-srcdoc", &el, Some(opts.into())));
    let frame: HtmlIFrameElement = el
        .query_selector("iframe")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(
        frame.get_attribute("sandbox").as_deref(),
        Some("allow-scripts")
    );
    let srcdoc = frame.get_attribute("srcdoc").unwrap_or_default();
    assert!(srcdoc.starts_with("<!doctype html><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"), "{srcdoc}");
    assert!(srcdoc.contains("connect-src 'none'") && !srcdoc.contains("'self'"));
    let info = pending
        .await
        .expect("the srcdoc plugin completes the handshake");
    assert_eq!(get(&info, "mode").as_string().as_deref(), Some("iframe"));
    assert_eq!(state(&host, "test-srcdoc"), "mounted");
    host.destroy();
}

#[wasm_bindgen_test]
async fn a_worker_without_code_is_refused_before_anything_is_created() {
    let host = installed("test-worker").await;
    let el = slot();
    let err = JsFuture::from(host.mount(
        "test-worker",
        &el,
        Some(json(r#"{"mode":"worker","runner":"/x.html"}"#)),
    ))
    .await
    .unwrap_err();
    assert_eq!(code_of(&err), "MOUNT_FAILED");
    assert!(el.query_selector("iframe").unwrap().is_none());
}

/// Obviously fake PEM material with a key's shape.
const FAKE_PEM: &str = "-----BEGIN PRIVATE KEY-----\\nTUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3Z2dTakFnRUFBb0lCQVFDN0ZBS0VLRVlGQUtFS0VZ\\n-----END PRIVATE KEY-----\\n";

#[wasm_bindgen_test]
async fn a_bundle_holding_a_private_key_is_refused_and_the_key_is_never_shown() {
    let host = PluginHost::new(JsValue::UNDEFINED).unwrap();
    let code = format!("const key = \"{FAKE_PEM}\";\nexport default key;");
    let options = Object::new();
    Reflect::set(&options, &"code".into(), &code.clone().into()).unwrap();
    let manifest = json(r#"{"id":"leaky","name":"Leaky","permissions":[]}"#);
    let err = JsFuture::from(host.install(manifest, Some(options.into())))
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "BUNDLE_REJECTED");
    let message = get(&err, "message").as_string().unwrap_or_default();
    assert!(message.contains("secret-private-key"), "{message}");
    assert!(!message.contains("TUlJRXZRSUJBREFO"), "{message}");
    host.destroy();
}
