//! `api.canFetch` answers exactly what `api.fetch` would decide, without a request: both are
//! driven through the engine on the same URLs and methods (the WHATWG URL corpus, route URLs,
//! bypass shapes), and every pair must agree.
#![cfg(not(target_arch = "wasm32"))]

use plugin_warden::core::engine::{Engine, HostConfig, InstallInput, Status};
use plugin_warden::core::error::ErrorCode;
use plugin_warden::core::provenance::Provenance;
use plugin_warden::core::storage::MemoryBackend;
use serde_json::{json, Value};

mod support;
use support::{fetch_reply, send, Sent};

const T: f64 = 1_000.0;
const APP: &str = "acme-app";
const METHODS: [Option<&str>; 5] = [
    None,
    Some("GET"),
    Some("HEAD"),
    Some("POST"),
    Some("DELETE"),
];

fn engine(user: Value, permissions: Value) -> Engine<MemoryBackend> {
    let config: HostConfig = serde_json::from_value(json!({
        "user": user,
        // The corpus is asked in one burst: the rate limiter is not under test here.
        "limits": { "callsPerSecond": 100_000, "burst": 100_000 },
        "routes": { APP: { "data": { "host": "api.acme.example" } } },
    }))
    .expect("config");
    let mut e = Engine::new(config, MemoryBackend::new()).expect("engine");
    let m = json!({
        "id": APP, "name": "A", "permissions": permissions,
        "optionalPermissions": ["api:write"],
        "network": ["https://example.org/foo/", "https://api.acme.example/v1/", "https://xn--n3h.example/"],
        "routes": [
            { "path": "api/docs", "method": "GET", "reqAction": "acme-app.docs:read",
              "url": "https://{{ .JsonData.host }}/docs" },
            { "path": "api/docs", "method": "POST", "reqRole": "Admin",
              "url": "https://{{ .JsonData.host }}/docs" },
            { "path": "api/open", "url": "https://{{ .JsonData.host }}/open" },
            { "path": "api/unconfigured", "url": "https://{{ .JsonData.missing }}/x" }
        ],
        "roles": [{ "role": { "name": "Reader", "permissions": [{ "action": "acme-app.docs:read" }] },
                    "grants": ["Viewer"] }]
    })
    .to_string();
    let checked = e.check_manifest(&m, T).expect("manifest");
    e.finish_install(checked, &InstallInput::default(), Provenance::Unsigned, T)
        .expect("install");
    e.set_status(APP, Status::Mounting, T).expect("installed");
    e.set_status(APP, Status::Mounted, T).expect("installed");
    e
}

fn msg(id: u64, method: &str, url: &str, m: Option<&str>) -> String {
    let mut params = json!({ "url": url });
    if let Some(m) = m {
        params["method"] = json!(m);
    }
    json!({ "v": 1, "id": id, "method": method, "params": params }).to_string()
}

/// The boolean `api.canFetch` answers (a well-formed call never fails).
fn can_fetch(e: &mut Engine<MemoryBackend>, id: u64, url: &str, m: Option<&str>) -> bool {
    match send(e, APP, Some(&msg(id, "api.canFetch", url, m)), T) {
        Sent::Reply(r) => {
            let v: Value = serde_json::from_str(&r).expect("json");
            assert_eq!(
                v["ok"], true,
                "canFetch never fails on a well-formed call: {v}"
            );
            v["value"].as_bool().expect("a boolean")
        }
        other => panic!("canFetch sends nothing, got {other:?}"),
    }
}

fn fetch(e: &mut Engine<MemoryBackend>, id: u64, url: &str, m: Option<&str>) -> (bool, String) {
    match send(e, APP, Some(&msg(id, "api.fetch", url, m)), T) {
        Sent::Fetch(plan) => {
            // Release the in-flight slot so the next call is decided on policy alone.
            let _ = fetch_reply(
                e,
                APP,
                plan.call_id,
                Err(plugin_warden::core::error::WardenError::new(
                    ErrorCode::Timeout,
                    "t",
                )),
                T,
            );
            (true, plan.url)
        }
        Sent::Reply(r) => {
            let v: Value = serde_json::from_str(&r).expect("json");
            assert_eq!(v["ok"], false, "{v}");
            (false, v["error"]["code"].as_str().unwrap_or("").to_owned())
        }
        other => panic!("unexpected {other:?}"),
    }
}

fn corpus() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/urltestdata.json"
    ))
    .expect("corpus");
    let data: Value = serde_json::from_str(&text).expect("json");
    let mut urls = Vec::new();
    for case in data
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c.is_object())
    {
        for k in ["input", "href"] {
            if let Some(s) = case[k].as_str() {
                urls.push(s.to_owned());
                // The https twin, so the allowlist's hosts get exercised too.
                if let Some(rest) = s.strip_prefix("http://") {
                    urls.push(format!("https://{rest}"));
                }
            }
        }
    }
    urls.extend(
        [
            "https://example.org/foo/bar",
            "https://example.org/foo",
            "https://example.org/foo/../bar",
            "https://example.org/foo/%2e%2e/bar",
            "https://example.org:443/foo/x",
            "https://example.org:8443/foo/x",
            "https://user:pw@example.org/foo/x",
            "https://example.org.evil.example/foo/x",
            "https://api.acme.example/v1/patents?q=1",
            "https://api.acme.example/v2/",
            "https://API.ACME.EXAMPLE/v1/x",
            "https://api.acme.example\\v1/x",
            "//api.acme.example/v1/x",
            "route:api/docs",
            "route:api/docs?x=1",
            "route:api/open",
            "route:api/unconfigured",
            "route:api/nope",
            "route:/api/docs",
            "route:",
            "javascript:alert(1)",
            "data:text/plain,x",
            "",
        ]
        .map(str::to_owned),
    );
    urls
}

fn agree(e: &mut Engine<MemoryBackend>, urls: &[String]) -> (usize, usize) {
    let (mut yes, mut no) = (0, 0);
    let mut id = 1;
    for url in urls {
        for m in METHODS {
            let can = can_fetch(e, id, url, m);
            let (did, why) = fetch(e, id + 1, url, m);
            assert_eq!(can, did, "{url:?} {m:?}: canFetch {can}, fetch {why}");
            if can {
                yes += 1;
            } else {
                no += 1;
            }
            id += 2;
        }
    }
    (yes, no)
}

#[test]
fn can_fetch_agrees_with_fetch_on_the_corpus() {
    let urls = corpus();
    assert!(urls.len() > 1000, "{}", urls.len());
    let mut e = engine(json!({ "role": "Viewer" }), json!(["api:read"]));
    let (yes, no) = agree(&mut e, &urls);
    assert!(
        yes >= 20 && no >= 1000,
        "both answers exercised: {yes} yes, {no} no"
    );
    // Writes need api:write: granted, the answers change, and still agree.
    e.grant(APP, "api:write", T).expect("optional");
    let (yes_w, _) = agree(&mut e, &urls);
    assert!(yes_w > yes, "{yes_w} > {yes}");
    // An Admin may POST to the route; a Viewer may not.
    assert!(!can_fetch(&mut e, 1, "route:api/docs", Some("POST")));
    e.set_user(json!({ "role": "Admin" })).expect("user");
    assert!(can_fetch(&mut e, 1, "route:api/docs", Some("post")));
    let own = &urls[urls.len() - 23..];
    agree(&mut e, own);
    // No user: the reqAction route closes.
    e.set_user(json!({})).expect("user");
    assert!(!can_fetch(&mut e, 1, "route:api/docs", None));
    assert!(can_fetch(&mut e, 1, "route:api/open", None));
    agree(&mut e, own);
}

#[test]
fn without_the_capability_the_answer_is_false_not_an_error() {
    let mut e = engine(json!({ "role": "Admin" }), json!(["storage"]));
    for url in ["https://api.acme.example/v1/x", "route:api/open"] {
        for m in METHODS {
            assert!(!can_fetch(&mut e, 1, url, m), "{url} {m:?}");
            let (did, why) = fetch(&mut e, 2, url, m);
            assert!(!did);
            assert_eq!(why, "PERMISSION_DENIED");
        }
    }
    // The call itself is audited as an allowed call (asking is always allowed).
    let log = e.audit_log();
    assert!(log
        .iter()
        .any(|ev| ev.method.as_deref() == Some("api.canFetch")));
}

#[test]
fn malformed_can_fetch_is_message_rejected() {
    let mut e = engine(json!({}), json!(["api:read"]));
    let bad = json!({ "v": 1, "id": 9, "method": "api.canFetch",
                      "params": { "url": "https://example.org/foo/", "method": "TRACE" } })
    .to_string();
    match send(&mut e, APP, Some(&bad), T) {
        Sent::Reply(r) => {
            let v: Value = serde_json::from_str(&r).expect("json");
            assert_eq!(v["error"]["code"], "MESSAGE_REJECTED", "{v}");
        }
        other => panic!("{other:?}"),
    }
}
