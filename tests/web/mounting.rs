//! Mounting (src/web/mount.rs and host.rs): worker and bundle mounts that cannot run are
//! refused before anything is created; the first-party shadow mount hands its callback the
//! port and welcome of the plugin's granted capabilities.

use crate::support::*;
use plugin_warden::PluginHost;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

const CODE: &str = "export const answer = 42;\n";

async fn with_code(id: &str) -> PluginHost {
    let host = PluginHost::new(json(r#"{"storage":"memory"}"#)).unwrap();
    let options = json(&format!(
        "{{\"code\":{}}}",
        js_sys::JSON::stringify(&CODE.into())
            .unwrap()
            .as_string()
            .unwrap()
    ));
    JsFuture::from(host.install(
        json(&format!(r#"{{"id":"{id}","name":"C","permissions":[]}}"#)),
        Some(options),
    ))
    .await
    .unwrap_or_else(|e| panic!("install {id}: {}", stringify(&e)));
    host
}

#[wasm_bindgen_test]
async fn worker_and_bundle_mounts_without_a_runner_are_refused_before_any_frame() {
    for (id, opts) in [
        ("mnt-worker-norunner", r#"{"mode":"worker"}"#),
        ("mnt-bundle-norunner", r#"{"mode":"iframe"}"#),
    ] {
        let host = with_code(id).await;
        let el = slot();
        let err = JsFuture::from(host.mount(id, &el, Some(json(opts))))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "MOUNT_FAILED", "{opts}: {}", stringify(&err));
        let message = get(&err, "message").as_string().unwrap_or_default();
        assert!(message.contains("runner"), "{opts}: {message}");
        assert!(
            el.query_selector("iframe").unwrap().is_none(),
            "{opts} created a frame"
        );
        assert_eq!(state(&host, id), "installed", "{opts}");
        host.destroy();
    }
}

#[wasm_bindgen_test]
async fn a_worker_runner_frame_is_hidden_sandboxed_and_torn_down_on_unmount() {
    let id = "mnt-worker-frame";
    let host = with_code(id).await;
    let el = slot();
    // A runner URL that never answers: the frame exists while the mount waits.
    let pending = JsFuture::from(host.mount(
        id,
        &el,
        Some(json(
            r#"{"mode":"worker","runner":"http://127.0.0.1:9/runner.html","timeout":60000}"#,
        )),
    ));
    let frame = el
        .query_selector("iframe")
        .unwrap()
        .expect("a runner frame");
    assert_eq!(
        frame.get_attribute("sandbox").as_deref(),
        Some("allow-scripts")
    );
    assert!(frame.has_attribute("hidden"), "the runner frame is visible");
    assert_eq!(frame.get_attribute("aria-hidden").as_deref(), Some("true"));
    assert_eq!(state(&host, id), "mounting");
    host.unmount(id).unwrap();
    assert!(el.query_selector("iframe").unwrap().is_none());
    assert_eq!(code_of(&pending.await.unwrap_err()), "MOUNT_FAILED");
    host.destroy();
}

#[wasm_bindgen_test]
async fn a_shadow_render_callback_gets_a_welcome_with_the_granted_capabilities() {
    let host = PluginHost::new(json(r#"{"storage":"memory"}"#)).unwrap();
    let p = shadow_plugin(
        &host,
        r#"{"id":"mnt-shadow","name":"S","permissions":["storage","events"],"optionalPermissions":["ui:notify"]}"#,
    )
    .await;
    let mut grants: Vec<String> = js_sys::Array::from(&get(&p.welcome(), "grants"))
        .iter()
        .filter_map(|g| g.as_string())
        .collect();
    grants.sort();
    // `permissions` is implied by optionalPermissions; the optional `ui:notify` is not granted.
    assert_eq!(grants, ["events", "permissions", "storage"]);
    assert_eq!(state(&host, "mnt-shadow"), "mounted");
    host.unmount("mnt-shadow").unwrap();
    assert_eq!(state(&host, "mnt-shadow"), "installed");
    host.destroy();
}
