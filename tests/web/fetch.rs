//! `api.fetch` carried out by src/web/fetch.js: an allowed request reaches the network and its
//! answer the plugin; a refused one never leaves the page; a transport failure is
//! NETWORK_ERROR (retried for GET), a hang TIMEOUT, a body over the limit QUOTA_EXCEEDED.
//! `fetch` is stubbed only where a real server cannot be made to misbehave on cue.

use crate::support::*;
use plugin_warden::PluginHost;
use wasm_bindgen_test::*;

/// A host allowing loopback http, with `limits`, and a plugin allowed `network` (plus the
/// page's own origin).
async fn fetcher(id: &str, limits: &str, network: &[&str]) -> (PluginHost, MiniPlugin) {
    restore_fetch();
    let options = json(&format!(
        r#"{{"dangerous":{{"allowLoopbackHttp":true}},"limits":{limits}}}"#
    ));
    let host = PluginHost::new(options).unwrap();
    let mut allowed: Vec<String> = network.iter().map(|s| format!("{s:?}")).collect();
    allowed.push(format!("\"{}/\"", origin()));
    let manifest = format!(
        r#"{{"id":"{id}","name":"F","permissions":["api:read","api:write"],"network":[{}]}}"#,
        allowed.join(",")
    );
    let p = shadow_plugin(&host, &manifest).await;
    (host, p)
}

#[wasm_bindgen_test]
async fn an_allowed_request_is_made_and_answered_a_refused_one_is_never_sent() {
    let (host, p) = fetcher("fetch-allowed", "{}", &[]).await;
    let stub = StubbedFetch::new("count");
    let url = format!("{}/", origin());
    let answer = ok_value(&p.call("api.fetch", &format!(r#"{{"url":"{url}"}}"#)).await);
    assert_eq!(
        get(&answer, "status").as_f64(),
        Some(200.0),
        "{}",
        stringify(&answer)
    );
    assert!(
        !get(&answer, "body")
            .as_string()
            .unwrap_or_default()
            .is_empty(),
        "the body did not reach the plugin"
    );
    assert_eq!(stub.0.calls(), 1);
    let refused = p
        .call("api.fetch", r#"{"url":"https://elsewhere.example/x"}"#)
        .await;
    assert_eq!(error_code(&refused), "NETWORK_DENIED");
    assert_eq!(stub.0.calls(), 1, "a refused URL was requested");
    host.destroy();
}

#[wasm_bindgen_test]
async fn an_unreachable_allowed_host_is_network_error_and_get_is_retried() {
    let (host, p) = fetcher("fetch-down", "{}", &["http://127.0.0.1:9/"]).await;
    let stub = StubbedFetch::new("count");
    let reply = p
        .call("api.fetch", r#"{"url":"http://127.0.0.1:9/x"}"#)
        .await;
    assert_eq!(error_code(&reply), "NETWORK_ERROR", "{}", stringify(&reply));
    let gets = stub.0.calls();
    assert!(
        gets > 1,
        "an idempotent GET to a down host was not retried ({gets} attempt)"
    );
    // POST is not idempotent: one attempt only.
    let reply = p
        .call(
            "api.fetch",
            r#"{"url":"http://127.0.0.1:9/x","method":"POST","body":"{}"}"#,
        )
        .await;
    assert_eq!(error_code(&reply), "NETWORK_ERROR");
    assert_eq!(stub.0.calls(), gets + 1, "a POST was retried");
    host.destroy();
}

#[wasm_bindgen_test]
async fn no_answer_within_the_timeout_is_timeout() {
    let (host, p) = fetcher("fetch-hang", r#"{"fetchTimeoutMs":100}"#, &[]).await;
    let stub = StubbedFetch::new("hang");
    let url = format!("{}/slow", origin());
    let reply = p
        .call(
            "api.fetch",
            &format!(r#"{{"url":"{url}","method":"POST","body":"x"}}"#),
        )
        .await;
    assert_eq!(error_code(&reply), "TIMEOUT", "{}", stringify(&reply));
    assert_eq!(stub.0.calls(), 1);
    host.destroy();
}

#[wasm_bindgen_test]
async fn a_response_over_the_limit_is_refused_declared_or_streamed() {
    let (host, p) = fetcher("fetch-big", r#"{"maxResponseBytes":64}"#, &[]).await;
    // The runner's page is larger than 64 bytes (refused on its Content-Length, or while read).
    let url = format!("{}/", origin());
    let reply = p.call("api.fetch", &format!(r#"{{"url":"{url}"}}"#)).await;
    assert_eq!(
        error_code(&reply),
        "QUOTA_EXCEEDED",
        "{}",
        stringify(&reply)
    );
    // A body with no Content-Length that never ends: cut off once over the limit.
    let stub = StubbedFetch::new("endless");
    let reply = p
        .call("api.fetch", &format!(r#"{{"url":"{url}stream"}}"#))
        .await;
    assert_eq!(
        error_code(&reply),
        "QUOTA_EXCEEDED",
        "{}",
        stringify(&reply)
    );
    // Cut off at the host's limit, not at some later one.
    let message = get(&get(&reply, "error"), "message")
        .as_string()
        .unwrap_or_default();
    assert!(message.contains("exceeded 64 bytes"), "{message}");
    let read = stub.0.bytes();
    assert!(
        read <= 8 * 1024,
        "{read} bytes read of an answer limited to 64"
    );
    assert_eq!(stub.0.calls(), 1, "a too-large answer was retried");
    host.destroy();
}
