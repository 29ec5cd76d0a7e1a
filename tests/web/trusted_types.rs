//! Trusted Types (src/web/trusted_types.rs): the host's policy makes real TrustedHTML from the
//! sanitizer's output, shadow mounts insert through it, and the policy names a page's CSP
//! allows are enforced (a name not listed is TRUSTED_TYPES; one policy per name is kept, so
//! hosts sharing a name do not trip the CSP's duplicate check).
//!
//! The last test adds a `<meta>` CSP with `trusted-types` (no `require-trusted-types-for`) to
//! this page: it only limits policy names, which every other test here uses the default of.

use crate::support::*;
use js_sys::{Object, Reflect};
use plugin_warden::PluginHost;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

#[wasm_bindgen(module = "/tests/web/support.js")]
extern "C" {
    #[wasm_bindgen(js_name = isTrustedHTML)]
    fn is_trusted_html(v: &JsValue) -> bool;
    #[wasm_bindgen(js_name = limitPolicyNames)]
    fn limit_policy_names(names: &str);
    #[wasm_bindgen(js_name = pageMakesPolicy)]
    fn page_makes_policy(name: &str) -> String;
    #[wasm_bindgen(js_name = innerHTML)]
    fn inner_html(root: &JsValue) -> String;
}

#[wasm_bindgen_test]
fn trusted_html_is_a_real_trusted_html_of_the_sanitized_markup() {
    let host = PluginHost::new(JsValue::UNDEFINED).unwrap();
    let out = host
        .trusted_html("<img src=x onerror=alert(1)><a href='javascript:x()'>a</a><i>ok</i>".into())
        .unwrap();
    assert!(is_trusted_html(&out), "not a TrustedHTML: {out:?}");
    let text = String::from(out.unchecked_ref::<Object>().to_string());
    assert!(
        !text.contains("onerror") && !text.contains("javascript:"),
        "{text}"
    );
    assert!(text.contains("<i>ok</i>"), "{text}");
    host.destroy();
}

#[wasm_bindgen_test]
async fn a_shadow_mount_inserts_plugin_html_sanitized() {
    let host = PluginHost::new(json(r#"{"storage":"memory"}"#)).unwrap();
    JsFuture::from(host.install(
        json(r#"{"id":"tt-shadow","name":"T","permissions":[]}"#),
        None,
    ))
    .await
    .unwrap();
    let plugin = mini_plugin();
    let opts = Object::new();
    Reflect::set(&opts, &"mode".into(), &"shadow".into()).unwrap();
    Reflect::set(
        &opts,
        &"html".into(),
        &"<p id=x onclick=steal()>hi<script>steal()</script><svg><a href=javascript:1>s</a></svg></p>".into(),
    )
    .unwrap();
    Reflect::set(&opts, &"render".into(), &plugin.render()).unwrap();
    let el = slot();
    let info = JsFuture::from(host.mount("tt-shadow", &el, Some(opts.into())))
        .await
        .unwrap();
    assert_eq!(get(&info, "mode").as_string().as_deref(), Some("shadow"));
    let html = inner_html(&plugin.root());
    assert!(html.starts_with("<p>hi"), "{html}");
    for bad in ["onclick", "<script", "<svg", "javascript:"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
    // Closed: the page cannot reach the root through the element.
    let inner = el.first_element_child().expect("the shadow host element");
    assert!(inner.shadow_root().is_none(), "the shadow root is open");
    host.destroy();
}

#[wasm_bindgen_test]
fn under_a_trusted_types_csp_the_policy_name_must_be_listed_and_is_created_once() {
    // The default name (every other test's hosts) and one extra name are allowed.
    limit_policy_names("plugin-warden pw-listed");
    // The CSP is in force: an unlisted name is refused to the page itself.
    assert_eq!(page_makes_policy("pw-unlisted-by-page"), "TypeError");
    let host = PluginHost::new(json(r#"{"trustedTypesPolicy":"pw-not-listed"}"#)).unwrap();
    let err = host.trusted_html("<b>x</b>".into()).unwrap_err();
    assert_eq!(code_of(&err), "TRUSTED_TYPES", "{}", stringify(&err));
    host.destroy();
    // Two hosts with a listed name: the one policy is shared (a second createPolicy of the
    // same name would throw under this CSP).
    let a = PluginHost::new(json(r#"{"trustedTypesPolicy":"pw-listed"}"#)).unwrap();
    let b = PluginHost::new(json(r#"{"trustedTypesPolicy":"pw-listed"}"#)).unwrap();
    assert!(is_trusted_html(&a.trusted_html("<b>a</b>".into()).unwrap()));
    assert!(is_trusted_html(&b.trusted_html("<b>b</b>".into()).unwrap()));
    assert_eq!(
        page_makes_policy("pw-listed"),
        "TypeError",
        "duplicates are allowed: the test proves nothing"
    );
    a.destroy();
    b.destroy();
}
