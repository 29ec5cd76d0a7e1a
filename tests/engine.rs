//! The engine driven the way the browser layer drives it: install (check_manifest, then
//! finish_install), set_status Mounting then Mounted, then JSON text from the plugin's port.
//! Every reply is parsed and its exact shape and code asserted.
#![cfg(not(target_arch = "wasm32"))]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use plugin_warden::core::audit::{AuditDecision, AuditKind};
use plugin_warden::core::engine::{
    read_user, Engine, FetchResponse, HostConfig, Incoming, InstallInfo, InstallInput, Status,
};
use plugin_warden::core::error::{ErrorCode, WardenError};
use plugin_warden::core::manifest::Capability;
use plugin_warden::core::protocol::{FetchBody, Level};
use plugin_warden::core::provenance::Provenance;
use plugin_warden::core::storage::MemoryBackend;
use serde_json::{json, Value};
use sha2::{Digest, Sha384};

mod support;
use support::{fetch_reply, permission_reply, send, send_hinted, sent, Sent};

const T: f64 = 1_000.0;
const APP: &str = "acme-app";
const OTHER: &str = "other-app";
const API: &str = "https://api.acme.example/v1/";

// ----- harness --------------------------------------------------------------------------------

fn host(config: Value) -> Engine<MemoryBackend> {
    host_with(config, MemoryBackend::new())
}

fn host_with(config: Value, backend: MemoryBackend) -> Engine<MemoryBackend> {
    let config: HostConfig = serde_json::from_value(config).expect("a valid host config");
    Engine::new(config, backend).expect("the engine starts")
}

/// A manifest with every field the scenarios need; `extra` overrides top-level fields.
fn manifest(id: &str, extra: Value) -> Value {
    let mut m = json!({
        "id": id,
        "name": "Test plugin",
        "version": "1.0.0",
        "permissions": ["storage", "api:read", "events"],
        "optionalPermissions": ["api:write", "ui:notify"],
        "network": [API],
    });
    if let (Some(m), Value::Object(extra)) = (m.as_object_mut(), extra) {
        m.extend(extra);
    }
    m
}

fn try_install(
    e: &mut Engine<MemoryBackend>,
    manifest: &Value,
    input: &InstallInput,
) -> Result<InstallInfo, WardenError> {
    let checked = e.check_manifest(&manifest.to_string(), T)?;
    e.finish_install(checked, input, Provenance::Unsigned, T)
}

fn install(e: &mut Engine<MemoryBackend>, manifest: &Value) {
    try_install(e, manifest, &InstallInput::default()).expect("install succeeds");
}

fn mount(e: &mut Engine<MemoryBackend>, id: &str) {
    e.set_status(id, Status::Mounting, T).expect("installed");
    e.set_status(id, Status::Mounted, T).expect("installed");
}

/// A host with `acme-app` installed (default manifest) and mounted.
fn mounted(config: Value) -> Engine<MemoryBackend> {
    let mut e = host(config);
    install(&mut e, &manifest(APP, json!({})));
    mount(&mut e, APP);
    e
}

fn msg(id: u64, method: &str, params: Value) -> String {
    json!({ "v": 1, "id": id, "method": method, "params": params }).to_string()
}

fn call(e: &mut Engine<MemoryBackend>, plugin: &str, id: u64, method: &str, params: Value) -> Sent {
    send(e, plugin, Some(&msg(id, method, params)), T)
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("replies are JSON")
}

#[track_caller]
fn reply(o: Sent) -> Value {
    match o {
        Sent::Reply(r) => parse(&r),
        other => panic!("expected a reply, found {other:?}"),
    }
}

/// The `value` of a success reply to call `id` (`None` when absent, JS `undefined`).
#[track_caller]
fn ok(o: Sent, id: u64) -> Option<Value> {
    let r = reply(o);
    assert_eq!(r["v"], 1, "{r}");
    assert_eq!(r["id"], id, "{r}");
    assert_eq!(r["ok"], true, "{r}");
    r.get("value").cloned()
}

/// The `error` of a failure reply to call `id`, after checking its code.
#[track_caller]
fn err(o: Sent, id: u64, code: &str) -> Value {
    let r = reply(o);
    assert_eq!(r["v"], 1, "{r}");
    assert_eq!(r["id"], id, "{r}");
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["error"]["code"], code, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{r}"
    );
    r["error"].clone()
}

fn audit_json(e: &Engine<MemoryBackend>) -> Vec<Value> {
    e.audit_log()
        .iter()
        .map(|ev| serde_json::to_value(ev).expect("audit events serialize"))
        .collect()
}

fn sri(code: &str) -> String {
    format!(
        "sha384-{}",
        STANDARD.encode(Sha384::digest(code.as_bytes()))
    )
}

// ----- lifecycle ------------------------------------------------------------------------------

#[test]
fn calls_are_dropped_unless_mounted() {
    let mut e = host(json!({}));
    install(&mut e, &manifest(APP, json!({})));
    let failed = Status::Failed {
        code: ErrorCode::MountFailed,
        message: "setup threw".into(),
    };
    // (status to set, whether a call is answered)
    let table = [
        (None, false),
        (Some(Status::Mounting), false),
        (Some(Status::Mounted), true),
        (Some(Status::Installed), false), // unmount
        (Some(Status::Mounting), false),
        (Some(Status::Mounted), true), // remount
        (Some(failed), false),
    ];
    for (i, (status, answered)) in table.into_iter().enumerate() {
        if let Some(s) = status.clone() {
            e.set_status(APP, s, T).unwrap();
        }
        let o = call(&mut e, APP, i as u64, "storage.keys", json!({}));
        if answered {
            assert_eq!(ok(o, i as u64), Some(json!([])), "step {i} {status:?}");
        } else {
            assert_eq!(o, Sent::Drop, "step {i} {status:?}");
        }
    }
    // A plugin nobody installed is dropped too, and set_status on it is NOT_FOUND.
    assert_eq!(
        call(&mut e, "ghost-app", 1, "storage.keys", json!({})),
        Sent::Drop
    );
    let e2 = e.set_status("ghost-app", Status::Mounted, T).unwrap_err();
    assert_eq!(e2.code, ErrorCode::NotFound);
}

// ----- storage --------------------------------------------------------------------------------

#[test]
fn storage_round_trip_has_exact_reply_shapes() {
    let mut e = mounted(json!({}));
    let prefs = json!({ "theme": "dark", "sizes": [1, 2, { "x": null }] });
    assert_eq!(
        call(
            &mut e,
            APP,
            1,
            "storage.set",
            json!({ "key": "prefs", "value": prefs })
        ),
        Sent::Reply(r#"{"v":1,"id":1,"ok":true,"value":null}"#.into())
    );
    assert_eq!(
        ok(
            call(&mut e, APP, 2, "storage.get", json!({ "key": "prefs" })),
            2
        ),
        Some(prefs)
    );
    // A missing key answers JS `undefined`: no `value` field at all.
    assert_eq!(
        call(&mut e, APP, 3, "storage.get", json!({ "key": "nope" })),
        Sent::Reply(r#"{"v":1,"id":3,"ok":true}"#.into())
    );
    // `null` is a value, distinct from a missing key.
    ok(
        call(
            &mut e,
            APP,
            4,
            "storage.set",
            json!({ "key": "n", "value": null }),
        ),
        4,
    );
    assert_eq!(
        ok(
            call(&mut e, APP, 5, "storage.get", json!({ "key": "n" })),
            5
        ),
        Some(Value::Null)
    );
    assert_eq!(
        ok(call(&mut e, APP, 6, "storage.keys", json!({})), 6),
        Some(json!(["n", "prefs"]))
    );
    assert_eq!(
        ok(
            call(&mut e, APP, 7, "storage.remove", json!({ "key": "prefs" })),
            7
        ),
        Some(Value::Null)
    );
    assert_eq!(
        ok(
            call(&mut e, APP, 8, "storage.get", json!({ "key": "prefs" })),
            8
        ),
        None
    );
    // Removing a missing key succeeds.
    ok(
        call(&mut e, APP, 9, "storage.remove", json!({ "key": "prefs" })),
        9,
    );
    // An empty key is a malformed call.
    err(
        call(&mut e, APP, 10, "storage.get", json!({ "key": "" })),
        10,
        "MESSAGE_REJECTED",
    );
}

#[test]
fn storage_namespaces_never_mix() {
    let mut e = mounted(json!({}));
    install(&mut e, &manifest(OTHER, json!({})));
    mount(&mut e, OTHER);
    ok(
        call(
            &mut e,
            APP,
            1,
            "storage.set",
            json!({ "key": "shared", "value": "from-acme" }),
        ),
        1,
    );
    assert_eq!(
        ok(
            call(&mut e, OTHER, 1, "storage.get", json!({ "key": "shared" })),
            1
        ),
        None
    );
    ok(
        call(
            &mut e,
            OTHER,
            2,
            "storage.set",
            json!({ "key": "shared", "value": "from-other" }),
        ),
        2,
    );
    ok(
        call(
            &mut e,
            OTHER,
            3,
            "storage.set",
            json!({ "key": "only-other", "value": 1 }),
        ),
        3,
    );
    // (plugin, key, expected value)
    let table = [
        (APP, "shared", Some(json!("from-acme"))),
        (OTHER, "shared", Some(json!("from-other"))),
        (APP, "only-other", None),
        (OTHER, "only-other", Some(json!(1))),
    ];
    for (i, (plugin, key, want)) in table.into_iter().enumerate() {
        let id = 10 + i as u64;
        assert_eq!(
            ok(
                call(&mut e, plugin, id, "storage.get", json!({ "key": key })),
                id
            ),
            want,
            "{plugin} {key}"
        );
    }
    assert_eq!(
        ok(call(&mut e, APP, 20, "storage.keys", json!({})), 20),
        Some(json!(["shared"]))
    );
    assert_eq!(
        ok(call(&mut e, OTHER, 20, "storage.keys", json!({})), 20),
        Some(json!(["only-other", "shared"]))
    );
    // clear() empties the caller's namespace only.
    ok(call(&mut e, OTHER, 21, "storage.clear", json!({})), 21);
    assert_eq!(
        ok(call(&mut e, OTHER, 22, "storage.keys", json!({})), 22),
        Some(json!([]))
    );
    assert_eq!(
        ok(
            call(&mut e, APP, 22, "storage.get", json!({ "key": "shared" })),
            22
        ),
        Some(json!("from-acme"))
    );
}

#[test]
fn forbidden_keys_deep_in_a_value_are_rejected_with_the_call_id() {
    let mut e = mounted(json!({}));
    for (i, bad) in ["__proto__", "constructor", "prototype"]
        .into_iter()
        .enumerate()
    {
        let id = 100 + i as u64;
        // depth 3 inside `value`: value.a.b.<bad>
        let text = format!(
            r#"{{"v":1,"id":{id},"method":"storage.set","params":{{"key":"k","value":{{"a":{{"b":{{"{bad}":{{"polluted":true}}}}}}}}}}}}"#
        );
        let error = err(send(&mut e, APP, Some(&text), T), id, "MESSAGE_REJECTED");
        assert!(error["message"].as_str().unwrap().contains(bad), "{error}");
        assert!(error.get("permission").is_none(), "{error}");
    }
    // The id is read in message order: JSON.stringify of the client's `{v, id, method, params}`
    // puts it first. A message whose id comes after the bad key cannot be answered: dropped.
    let late_id = r#"{"v":1,"method":"storage.set","params":{"key":"k","value":{"a":{"__proto__":1}}},"id":9}"#;
    assert_eq!(send(&mut e, APP, Some(late_id), T), Sent::Drop);
    assert_eq!(
        e.info(APP).unwrap().counts.get("MESSAGE_REJECTED"),
        Some(&4)
    );
    // Nothing was written.
    assert_eq!(
        ok(
            call(&mut e, APP, 1, "storage.get", json!({ "key": "k" })),
            1
        ),
        None
    );
}

#[test]
fn malformed_calls_are_rejected_and_answered_when_the_id_is_readable() {
    let mut e = mounted(json!({}));
    // (raw text, expected reply id: None = dropped)
    let table: [(&str, Option<u64>); 8] = [
        (
            r#"{"v":1,"id":1,"method":"storage.nuke","params":{}}"#,
            Some(1),
        ),
        (
            r#"{"v":1,"id":2,"method":"storage.get","params":{"key":"k","extra":1}}"#,
            Some(2),
        ),
        (
            r#"{"v":1,"id":3,"method":"storage.get","params":{}}"#,
            Some(3),
        ),
        (
            r#"{"v":1,"id":4,"method":"storage.set","params":{"key":"k"}}"#,
            Some(4),
        ),
        (
            r#"{"v":2,"id":5,"method":"storage.keys","params":{}}"#,
            Some(5),
        ),
        (
            r#"{"v":1,"id":6,"method":"api.fetch","params":{"url":"https://api.acme.example/v1/","method":null}}"#,
            Some(6),
        ),
        (
            r#"{"v":1,"id":"7","method":"storage.keys","params":{}}"#,
            None,
        ),
        (r#"not json"#, None),
    ];
    for (text, want) in table {
        let o = send(&mut e, APP, Some(text), T);
        match want {
            Some(id) => {
                err(o, id, "MESSAGE_REJECTED");
            }
            None => assert_eq!(o, Sent::Drop, "{text}"),
        }
    }
    // A message JS could not serialize (cycle, BigInt) is dropped.
    assert_eq!(send(&mut e, APP, None, T), Sent::Drop);
    // Every one of them was audited as a MESSAGE_REJECTED refusal.
    assert_eq!(
        e.info(APP).unwrap().counts.get("MESSAGE_REJECTED"),
        Some(&9)
    );
}

#[test]
fn oversized_message_is_dropped_but_audited_and_the_plugin_keeps_working() {
    let mut e = mounted(json!({ "limits": { "maxMessageBytes": 256 } }));
    let big = msg(
        42,
        "storage.set",
        json!({ "key": "k", "value": "x".repeat(300) }),
    );
    assert!(big.len() > 256);
    // The size check comes before any parsing, so no id is read: nothing to answer (the
    // client's own timeout applies). Parsing an over-limit message to find its id would
    // defeat the limit.
    assert_eq!(send(&mut e, APP, Some(&big), T), Sent::Drop);
    let last = audit_json(&e).pop().unwrap();
    assert_eq!(last["kind"], "refusal");
    assert_eq!(last["plugin"], APP);
    assert_eq!(last["code"], "MESSAGE_REJECTED");
    assert_eq!(last["decision"], "deny");
    // The next normal call is served and nothing was stored.
    assert_eq!(
        ok(
            call(&mut e, APP, 43, "storage.get", json!({ "key": "k" })),
            43
        ),
        None
    );
    // Too deep is found by a byte pre-scan before any parsing, so it is dropped the same way.
    let deep = format!(
        r#"{{"v":1,"id":44,"method":"storage.set","params":{{"key":"k","value":{}1{}}}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    assert_eq!(send(&mut e, APP, Some(&deep), T), Sent::Drop);
    assert_eq!(
        e.info(APP).unwrap().counts.get("MESSAGE_REJECTED"),
        Some(&2)
    );
    assert_eq!(
        ok(
            call(&mut e, APP, 45, "storage.get", json!({ "key": "k" })),
            45
        ),
        None
    );
}

#[test]
fn plugin_quota_refuses_the_write_and_keeps_the_old_value() {
    let mut e = mounted(json!({ "limits": { "storageQuotaBytes": 32 } }));
    ok(
        call(
            &mut e,
            APP,
            1,
            "storage.set",
            json!({ "key": "k", "value": "small" }),
        ),
        1,
    );
    let error = err(
        call(
            &mut e,
            APP,
            2,
            "storage.set",
            json!({ "key": "k", "value": "far too large for thirty-two bytes" }),
        ),
        2,
        "QUOTA_EXCEEDED",
    );
    assert!(error["message"].as_str().unwrap().contains("32"), "{error}");
    assert_eq!(
        ok(
            call(&mut e, APP, 3, "storage.get", json!({ "key": "k" })),
            3
        ),
        Some(json!("small"))
    );
    // Another key that fits the remaining quota still works; one that does not is refused.
    ok(
        call(
            &mut e,
            APP,
            4,
            "storage.set",
            json!({ "key": "j", "value": 1 }),
        ),
        4,
    );
    // 10 bytes used: "long" + 19 bytes of JSON would make 33.
    err(
        call(
            &mut e,
            APP,
            5,
            "storage.set",
            json!({ "key": "long", "value": "0123456789abcdefg" }),
        ),
        5,
        "QUOTA_EXCEEDED",
    );
}

#[test]
fn full_browser_store_is_quota_exceeded_and_keeps_the_old_value() {
    let mut e = host_with(json!({}), MemoryBackend::with_capacity_bytes(64));
    install(&mut e, &manifest(APP, json!({})));
    mount(&mut e, APP);
    ok(
        call(
            &mut e,
            APP,
            1,
            "storage.set",
            json!({ "key": "k", "value": "v1" }),
        ),
        1,
    );
    err(
        call(
            &mut e,
            APP,
            2,
            "storage.set",
            json!({ "key": "k", "value": "x".repeat(80) }),
        ),
        2,
        "QUOTA_EXCEEDED",
    );
    assert_eq!(
        ok(
            call(&mut e, APP, 3, "storage.get", json!({ "key": "k" })),
            3
        ),
        Some(json!("v1"))
    );
}

// ----- permissions ----------------------------------------------------------------------------

#[test]
fn denials_name_the_missing_capability() {
    let mut e = host(json!({}));
    // Only `events`: everything else is undeclared.
    install(
        &mut e,
        &manifest(
            APP,
            json!({ "permissions": ["events"], "optionalPermissions": [] }),
        ),
    );
    mount(&mut e, APP);
    let table = [
        ("storage.get", json!({ "key": "k" }), "storage"),
        ("storage.keys", json!({}), "storage"),
        ("api.fetch", json!({ "url": API }), "api:read"),
        (
            "api.fetch",
            json!({ "url": API, "method": "DELETE" }),
            "api:write",
        ),
        ("ui.notify", json!({ "message": "hi" }), "ui:notify"),
        (
            "permissions.request",
            json!({ "permission": "storage", "reason": "because" }),
            "permissions",
        ),
    ];
    for (i, (method, params, cap)) in table.into_iter().enumerate() {
        let id = i as u64;
        let error = err(
            call(&mut e, APP, id, method, params),
            id,
            "PERMISSION_DENIED",
        );
        assert_eq!(error["permission"], cap, "{method}");
    }
    // Methods that need no capability still work.
    assert_eq!(
        ok(call(&mut e, APP, 50, "permissions.list", json!({})), 50),
        Some(json!(["events"]))
    );
}

#[test]
fn revoke_applies_to_the_very_next_call_and_grant_restores() {
    let mut e = mounted(json!({}));
    ok(
        call(
            &mut e,
            APP,
            1,
            "storage.set",
            json!({ "key": "k", "value": 1 }),
        ),
        1,
    );
    e.revoke(APP, "storage", T).unwrap();
    let error = err(
        call(&mut e, APP, 2, "storage.get", json!({ "key": "k" })),
        2,
        "PERMISSION_DENIED",
    );
    assert_eq!(error["permission"], "storage");
    assert!(
        error["message"].as_str().unwrap().contains("revoked"),
        "{error}"
    );
    assert!(!e.grants(APP).unwrap().contains(&"storage"));
    e.grant(APP, "storage", T).unwrap();
    assert_eq!(
        ok(
            call(&mut e, APP, 3, "storage.get", json!({ "key": "k" })),
            3
        ),
        Some(json!(1))
    );
}

#[test]
fn host_grant_is_limited_to_what_the_manifest_lists() {
    let mut e = mounted(json!({}));
    // (capability, expected error code; None = granted)
    let table = [
        ("ui:notify", None),                         // optional
        ("storage", None),                           // required (no-op)
        ("permissions", None),                       // implied by optionalPermissions
        ("bogus", Some(ErrorCode::InvalidArgument)), // not a capability
    ];
    for (cap, want) in table {
        assert_eq!(e.grant(APP, cap, T).err().map(|e| e.code), want, "{cap}");
    }
    let mut narrow = host(json!({}));
    install(
        &mut narrow,
        &manifest(
            OTHER,
            json!({ "permissions": ["storage"], "optionalPermissions": [] }),
        ),
    );
    let denied = narrow.grant(OTHER, "api:write", T).unwrap_err();
    assert_eq!(denied.code, ErrorCode::PermissionDenied);
    assert_eq!(denied.permission.as_deref(), Some("api:write"));
    assert_eq!(
        narrow.grant("ghost-app", "storage", T).unwrap_err().code,
        ErrorCode::NotFound
    );
    // Granted ui:notify is usable at once.
    match call(
        &mut e,
        APP,
        1,
        "ui.notify",
        json!({ "message": "Saved", "level": "success" }),
    ) {
        Sent::Notify {
            message,
            level,
            reply,
        } => {
            assert_eq!((message.as_str(), level), ("Saved", Level::Success));
            assert_eq!(
                parse(&reply),
                json!({ "v": 1, "id": 1, "ok": true, "value": null })
            );
        }
        other => panic!("expected Notify, found {other:?}"),
    }
}

#[test]
fn permissions_request_asks_once_remembers_no_and_host_revoke_and_grant_decide() {
    let mut e = mounted(json!({}));
    // optionalPermissions non-empty implies `permissions`.
    let listed = ok(call(&mut e, APP, 1, "permissions.list", json!({})), 1).unwrap();
    assert_eq!(
        listed,
        json!(["api:read", "events", "permissions", "storage"])
    );

    let ask = json!({ "permission": "api:write", "reason": "to save your edits" });
    match call(&mut e, APP, 2, "permissions.request", ask.clone()) {
        Sent::AskPermission {
            call_id,
            permission,
            reason,
        } => {
            assert_eq!(
                (call_id, permission, reason.as_str()),
                (2, Capability::ApiWrite, "to save your edits")
            );
        }
        other => panic!("expected AskPermission, found {other:?}"),
    }
    let answer = permission_reply(&mut e, APP, 2, Capability::ApiWrite, false, T);
    assert_eq!(
        parse(&answer),
        json!({ "v": 1, "id": 2, "ok": true, "value": false })
    );
    // Remembered: no second prompt.
    assert_eq!(
        ok(call(&mut e, APP, 3, "permissions.request", ask.clone()), 3),
        Some(json!(false))
    );

    // The host grants it: held at once, and the remembered "no" is gone (seen after a revoke).
    e.grant(APP, "api:write", T).unwrap();
    assert_eq!(
        ok(call(&mut e, APP, 4, "permissions.request", ask.clone()), 4),
        Some(json!(true))
    );
    e.revoke(APP, "api:write", T).unwrap();
    // The host took it back: the plugin cannot re-prompt the user until the host grants it again.
    assert_eq!(
        ok(call(&mut e, APP, 5, "permissions.request", ask.clone()), 5),
        Some(json!(false))
    );
    e.grant(APP, "api:write", T).unwrap();
    assert_eq!(
        ok(
            call(
                &mut e,
                APP,
                6,
                "permissions.has",
                json!({ "permission": "api:write" })
            ),
            6
        ),
        Some(json!(true))
    );
    assert!(matches!(
        call(
            &mut e,
            APP,
            7,
            "api.fetch",
            json!({ "url": API, "method": "POST", "body": "{}" })
        ),
        Sent::Fetch(_)
    ));
}

#[test]
fn permissions_request_refuses_what_is_not_optional() {
    let mut e = mounted(json!({}));
    e.revoke(APP, "storage", T).unwrap();
    // (permission asked for, Ok(answer) or Err(expected `error.permission`))
    let table: [(&str, Result<bool, Option<&str>>); 4] = [
        // required but revoked: the plugin cannot ask for it back, only the host can give it
        ("storage", Err(Some("storage"))),
        // held and required, not optional: answered true at once, nobody is asked
        ("events", Ok(true)),
        // implied by optionalPermissions, so held
        ("permissions", Ok(true)),
        // not a capability at all
        ("acme-app.patents:read", Err(None)),
    ];
    for (i, (perm, want)) in table.into_iter().enumerate() {
        let id = i as u64;
        let params = json!({ "permission": perm, "reason": "please" });
        let o = call(&mut e, APP, id, "permissions.request", params);
        match want {
            Ok(answer) => assert_eq!(ok(o, id), Some(json!(answer)), "{perm}"),
            Err(cap) => {
                let error = err(o, id, "PERMISSION_DENIED");
                assert_eq!(
                    error.get("permission").and_then(Value::as_str),
                    cap,
                    "{perm}"
                );
            }
        }
    }
    // A plugin without optionalPermissions does not hold `permissions` at all.
    install(
        &mut e,
        &manifest(OTHER, json!({ "optionalPermissions": [] })),
    );
    mount(&mut e, OTHER);
    let error = err(
        call(
            &mut e,
            OTHER,
            1,
            "permissions.request",
            json!({ "permission": "api:write", "reason": "x" }),
        ),
        1,
        "PERMISSION_DENIED",
    );
    assert_eq!(error["permission"], "permissions");
    assert_eq!(
        ok(
            call(
                &mut e,
                OTHER,
                2,
                "permissions.has",
                json!({ "permission": "permissions" })
            ),
            2
        ),
        Some(json!(false))
    );
}

#[test]
fn permissions_has_with_an_rbac_action_follows_the_user() {
    let roles = json!([{
        "role": { "name": "Editor things", "permissions": [{ "action": "acme-app.docs:write" }] },
        "grants": ["Editor"],
    }]);
    let mut e = host(json!({ "user": { "role": "Viewer" } }));
    install(&mut e, &manifest(APP, json!({ "roles": roles })));
    mount(&mut e, APP);
    let has = json!({ "permission": "acme-app.docs:write" });
    // (user, expected answer)
    let table = [
        (json!({ "role": "Viewer" }), false),
        (json!({ "role": "Editor" }), true),
        (json!({ "role": "Admin" }), true),
        (
            json!({ "role": "Viewer", "permissions": ["acme-app.docs:write"] }),
            true,
        ),
        (json!({ "role": "Viewer" }), false),
    ];
    for (i, (user, want)) in table.into_iter().enumerate() {
        e.set_user(user.clone()).unwrap();
        let id = i as u64;
        assert_eq!(
            ok(call(&mut e, APP, id, "permissions.has", has.clone()), id),
            Some(json!(want)),
            "{user}"
        );
        assert_eq!(e.has_permission("acme-app.docs:write", None), want);
    }
    assert_eq!(
        e.set_user(json!({ "role": "Viewer", "admin": true }))
            .unwrap_err()
            .code,
        ErrorCode::InvalidArgument
    );
}

#[test]
fn a_user_read_apart_switches_as_set_user_does_and_a_refused_one_changes_nothing() {
    // The browser host reads the user (`read_user`) before it holds the engine, then switches
    // (`switch_user`): the same changes as `set_user`; a user it cannot read leaves the engine
    // as it was, since nothing of it was touched.
    let roles = json!([{
        "role": { "name": "Editor things", "permissions": [{ "action": "acme-app.docs:write" }] },
        "grants": ["Editor"],
    }]);
    let mut apart = host(json!({ "user": { "role": "Viewer" } }));
    let mut whole = host(json!({ "user": { "role": "Viewer" } }));
    for e in [&mut apart, &mut whole] {
        install(e, &manifest(APP, json!({ "roles": roles })));
        mount(e, APP);
    }
    for user in [json!({ "role": "Editor" }), json!({ "role": "Viewer" })] {
        let read = read_user(user.clone()).expect("a user");
        let changes = apart.switch_user(read);
        assert_eq!(changes.len(), 1, "{user}: the plugin's view changed");
        assert_eq!(changes, whole.set_user(user).unwrap());
        assert_eq!(
            apart.has_permission("acme-app.docs:write", None),
            whole.has_permission("acme-app.docs:write", None)
        );
    }
    apart.set_user(json!({ "role": "Editor" })).unwrap();
    for bad in [
        json!({ "role": "Nobody" }),
        json!(null),
        json!(5),
        json!({ "role": "Viewer", "permissions": [5] }),
    ] {
        let refused = read_user(bad.clone()).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidArgument, "{bad}");
        assert_eq!(apart.set_user(bad).unwrap_err().message, refused.message);
        assert!(apart.has_permission("acme-app.docs:write", None));
    }
}

#[test]
fn permissions_has_answers_only_the_plugins_own_namespace() {
    let own = json!([{
        "role": { "name": "Docs", "permissions": [{ "action": "acme-app.docs:write" }] },
        "grants": ["Admin"],
    }]);
    let theirs = json!([{
        "role": { "name": "Other", "permissions": [{ "action": "other-app.secret:read" }] },
        "grants": ["Admin"],
    }]);
    let mut e = host(
        json!({ "user": { "role": "Admin", "permissions": ["folders:admin", "acme-app:x"] } }),
    );
    install(&mut e, &manifest(APP, json!({ "roles": own })));
    install(&mut e, &manifest(OTHER, json!({ "roles": theirs })));
    mount(&mut e, APP);
    // (asked, what host.hasPermission says, what the plugin is told)
    let table = [
        ("acme-app.docs:write", true, true),
        ("folders:admin", true, false),
        ("other-app.secret:read", true, false),
        ("acme-app:x", true, false),
        ("acme-app.", false, false),
        ("acme-apple.docs:write", false, false),
        ("storage", false, true), // a capability the manifest grants
    ];
    for (i, (asked, host_view, plugin_view)) in table.into_iter().enumerate() {
        if asked != "storage" {
            assert_eq!(
                e.has_permission(asked, None),
                host_view,
                "host view of {asked}"
            );
        }
        let id = i as u64;
        assert_eq!(
            ok(
                call(
                    &mut e,
                    APP,
                    id,
                    "permissions.has",
                    json!({ "permission": asked })
                ),
                id
            ),
            Some(json!(plugin_view)),
            "plugin view of {asked}"
        );
    }
}

// ----- api.fetch ------------------------------------------------------------------------------

#[test]
fn api_fetch_checks_capability_then_allowlist() {
    let mut e = mounted(json!({}));
    // (params, expected: Ok(retryable) or Err((code, field, value)))
    type Want = Result<bool, (&'static str, &'static str, &'static str)>;
    let table: [(Value, Want); 7] = [
        (
            json!({ "url": "https://api.acme.example/v1/patents?q=x" }),
            Ok(true),
        ),
        (
            json!({ "url": "https://api.acme.example/v1/p", "method": "HEAD" }),
            Ok(true),
        ),
        (
            json!({ "url": "https://evil.example/steal" }),
            Err(("NETWORK_DENIED", "message", "https://evil.example/steal")),
        ),
        (
            json!({ "url": "https://api.acme.example/v2/x" }),
            Err(("NETWORK_DENIED", "message", "https://api.acme.example/v2/x")),
        ),
        (
            json!({ "url": "http://api.acme.example/v1/x" }),
            Err(("NETWORK_DENIED", "message", "http://api.acme.example/v1/x")),
        ),
        (
            json!({ "url": API, "method": "POST", "body": "{}" }),
            Err(("PERMISSION_DENIED", "permission", "api:write")),
        ),
        (
            json!({ "url": API, "method": "post" }),
            Err(("PERMISSION_DENIED", "permission", "api:write")),
        ),
    ];
    for (i, (params, want)) in table.into_iter().enumerate() {
        let id = i as u64;
        let o = call(&mut e, APP, id, "api.fetch", params.clone());
        match want {
            Ok(retryable) => match o {
                Sent::Fetch(plan) => {
                    assert_eq!(plan.call_id, id);
                    assert_eq!(plan.retryable, retryable, "{params}");
                    assert_eq!(plan.timeout_ms, 10_000);
                    assert!(plan.url.starts_with(API), "{}", plan.url);
                    fetch_reply(
                        &mut e,
                        APP,
                        id,
                        Err(WardenError::new(ErrorCode::Timeout, "t")),
                        T,
                    );
                }
                other => panic!("{params}: expected Fetch, found {other:?}"),
            },
            Err((code, field, value)) => {
                let error = err(o, id, code);
                assert!(
                    error[field].as_str().unwrap().contains(value),
                    "{params}: {error}"
                );
            }
        }
    }
    // With api:write granted, POST is planned and not retryable.
    e.grant(APP, "api:write", T).unwrap();
    match call(
        &mut e,
        APP,
        99,
        "api.fetch",
        json!({ "url": API, "method": "POST", "headers": { "content-type": "application/json" }, "body": "{}" }),
    ) {
        Sent::Fetch(plan) => {
            assert_eq!((plan.method.as_str(), plan.retryable), ("POST", false));
            assert_eq!(
                plan.headers,
                vec![("content-type".to_owned(), "application/json".to_owned())]
            );
            assert_eq!(plan.body, Some(FetchBody::Text("{}".into())));
        }
        other => panic!("expected Fetch, found {other:?}"),
    }
}

#[test]
fn a_fetch_answer_rechecks_the_final_url_and_filters_headers() {
    let mut e = mounted(json!({}));
    let Sent::Fetch(plan) = call(&mut e, APP, 1, "api.fetch", json!({ "url": API })) else {
        panic!("expected Fetch");
    };
    let redirected = FetchResponse {
        binary: None,
        status: 200,
        headers: vec![],
        body: "secret page".into(),
        url: "https://evil.example/landing".into(),
    };
    let r = parse(&fetch_reply(&mut e, APP, plan.call_id, Ok(redirected), T));
    assert_eq!((r["id"].clone(), r["ok"].clone()), (json!(1), json!(false)));
    assert_eq!(r["error"]["code"], "NETWORK_DENIED");
    assert!(
        r.get("value").is_none(),
        "the body never reaches the plugin: {r}"
    );

    let Sent::Fetch(plan) = call(&mut e, APP, 2, "api.fetch", json!({ "url": API })) else {
        panic!("expected Fetch");
    };
    let fine = FetchResponse {
        binary: None,
        status: 201,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Set-Cookie".into(), "session=abc".into()),
            ("X-Internal".into(), "1".into()),
            ("ETag".into(), "\"v1\"".into()),
        ],
        body: "{\"a\":1}".into(),
        url: format!("{API}patents"),
    };
    let r = parse(&fetch_reply(&mut e, APP, plan.call_id, Ok(fine), T));
    assert_eq!(
        r,
        json!({ "v": 1, "id": 2, "ok": true, "value": {
            "status": 201,
            "headers": { "content-type": "application/json", "etag": "\"v1\"" },
            "body": "{\"a\":1}",
        }})
    );
    // A transport error is passed through with its code.
    let Sent::Fetch(plan) = call(&mut e, APP, 3, "api.fetch", json!({ "url": API })) else {
        panic!("expected Fetch");
    };
    let r = parse(&fetch_reply(
        &mut e,
        APP,
        plan.call_id,
        Err(WardenError::new(ErrorCode::Timeout, "10 s")),
        T,
    ));
    assert_eq!(r["error"]["code"], "TIMEOUT");
}

#[test]
fn in_flight_limit_is_released_by_the_fetch_answer() {
    let mut e = mounted(json!({ "limits": { "maxInFlight": 1 } }));
    let Sent::Fetch(plan) = call(&mut e, APP, 1, "api.fetch", json!({ "url": API })) else {
        panic!("expected Fetch");
    };
    err(
        call(&mut e, APP, 2, "api.fetch", json!({ "url": API })),
        2,
        "RATE_LIMITED",
    );
    fetch_reply(
        &mut e,
        APP,
        plan.call_id,
        Err(WardenError::new(ErrorCode::Timeout, "t")),
        T,
    );
    assert!(matches!(
        call(&mut e, APP, 3, "api.fetch", json!({ "url": API })),
        Sent::Fetch(_)
    ));
}

// ----- rate limit -----------------------------------------------------------------------------

#[test]
fn a_flood_is_limited_then_suspended_once_and_remount_resets() {
    let limits = json!({ "limits": { "callsPerSecond": 1, "burst": 5, "suspendAfter": 20 } });
    let mut e = mounted(limits);
    let (mut allowed, mut limited, mut suspends, mut dropped) = (0, 0, 0, 0);
    let mut first_limited = None;
    for id in 0..100u64 {
        match call(&mut e, APP, id, "storage.keys", json!({})) {
            Sent::Reply(r) => {
                let r = parse(&r);
                assert_eq!(r["id"], id);
                if r["ok"] == true {
                    allowed += 1;
                    assert_eq!(limited, 0, "no call is allowed after the first refusal");
                } else {
                    assert_eq!(r["error"]["code"], "RATE_LIMITED", "{r}");
                    first_limited.get_or_insert(id);
                    limited += 1;
                }
            }
            Sent::Suspend { reply } => {
                let r = parse(&reply);
                assert_eq!(
                    (r["id"].clone(), r["error"]["code"].clone()),
                    (json!(id), json!("RATE_LIMITED"))
                );
                suspends += 1;
            }
            Sent::Drop => {
                assert_eq!(suspends, 1, "drops only after the suspension");
                dropped += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        (allowed, first_limited, limited, suspends, dropped),
        (5, Some(5), 19, 1, 75)
    );
    match e.status(APP).unwrap() {
        Status::Failed { code, .. } => assert_eq!(*code, ErrorCode::RateLimited),
        other => panic!("expected failed, found {other:?}"),
    }
    let info = e.info(APP).unwrap();
    assert_eq!(
        info.counts.get("RATE_LIMITED"),
        Some(&21),
        "19 limited + 1 suspend refusal + 1 failure"
    );
    assert_eq!(info.allowed_calls, 5);
    // The host remounts: fresh limiter, the plugin is served again.
    mount(&mut e, APP);
    assert_eq!(
        ok(call(&mut e, APP, 1000, "storage.keys", json!({})), 1000),
        Some(json!([]))
    );
}

#[test]
fn a_flood_costs_one_audit_event_per_second_but_every_refusal_is_counted() {
    let mut e =
        mounted(json!({ "limits": { "callsPerSecond": 1, "burst": 1, "suspendAfter": 0 } }));
    ok(call(&mut e, APP, 1, "storage.keys", json!({})), 1);
    let refusals = |e: &Engine<MemoryBackend>| {
        e.audit_log()
            .into_iter()
            .filter(|ev| ev.code == Some(ErrorCode::RateLimited))
            .collect::<Vec<_>>()
    };
    // 50 refused calls within the same second: every one is answered, one is audited.
    for id in 2..52u64 {
        err(
            call(&mut e, APP, id, "storage.keys", json!({})),
            id,
            "RATE_LIMITED",
        );
    }
    assert_eq!(refusals(&e).len(), 1);
    assert_eq!(e.info(APP).unwrap().counts.get("RATE_LIMITED"), Some(&50));
    // A second later (the bucket refilled one token, spent here), the next refusal is audited
    // again and says how many went unaudited before it.
    ok(
        send(
            &mut e,
            APP,
            Some(&msg(60, "storage.keys", json!({}))),
            T + 1000.0,
        ),
        60,
    );
    let late = msg(61, "storage.keys", json!({}));
    err(
        send(&mut e, APP, Some(&late), T + 1000.0),
        61,
        "RATE_LIMITED",
    );
    let events = refusals(&e);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].detail.as_ref().unwrap()["unauditedBefore"], 49);
    assert_eq!(e.info(APP).unwrap().counts.get("RATE_LIMITED"), Some(&51));
}

#[test]
fn messages_not_served_cost_one_audit_event_per_second_but_every_one_is_counted() {
    // The browser's port listener answers a message `MODULE_NOT_LOADED` itself when the code
    // that serves it could not be loaded, and tells the engine (`Engine::unserved`).
    let mut e = mounted(json!({}));
    let unserved = |e: &Engine<MemoryBackend>| {
        e.audit_log()
            .into_iter()
            .filter(|ev| ev.code == Some(ErrorCode::ModuleNotLoaded))
            .collect::<Vec<_>>()
    };
    for i in 0..30 {
        e.unserved(APP, Some("ui.render"), T + f64::from(i) * 10.0);
    }
    let events = unserved(&e);
    assert_eq!(events.len(), 1);
    let first = &events[0];
    assert_eq!(first.kind, AuditKind::Refusal);
    assert_eq!(first.plugin.as_deref(), Some(APP));
    assert_eq!(first.method.as_deref(), Some("ui.render"));
    assert_eq!(first.decision, Some(AuditDecision::Deny));
    assert_eq!(
        first.detail.as_ref().unwrap(),
        &json!({ "message": "not served: the code that answers it is not loaded" })
    );
    assert_eq!(
        e.info(APP).unwrap().counts.get("MODULE_NOT_LOADED"),
        Some(&30)
    );
    // A second after the first, the next is audited; a message that names no method is
    // audited without one.
    e.unserved(APP, None, T + 1000.0);
    let events = unserved(&e);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].method, None);
    assert_eq!(
        e.info(APP).unwrap().counts.get("MODULE_NOT_LOADED"),
        Some(&31)
    );
    e.unserved(APP, Some("ui.render"), T + 2000.0);
    assert_eq!(unserved(&e).len(), 3);
    // Nothing for a plugin that is not mounted, or not installed.
    e.set_status(APP, Status::Installed, T + 5000.0).unwrap();
    e.unserved(APP, Some("ui.render"), T + 5000.0);
    e.unserved("nobody", Some("ui.render"), T + 5000.0);
    assert_eq!(unserved(&e).len(), 3);
    assert_eq!(
        e.info(APP).unwrap().counts.get("MODULE_NOT_LOADED"),
        Some(&32)
    );
}

#[test]
fn the_rate_limiter_refuses_before_the_message_is_read() {
    let mut e =
        mounted(json!({ "limits": { "callsPerSecond": 1, "burst": 1, "suspendAfter": 0 } }));
    // The JSON text is made (`Incoming::later`) only for an admitted message.
    let made = std::cell::Cell::new(0);
    let text = |id: u64| {
        made.set(made.get() + 1);
        Some(msg(id, "storage.keys", json!({})))
    };
    let later = |id: u64| Incoming::later(move || text(id));
    // Under the limit: admitted, read once, served.
    let effects = e.receive(APP, later(1).with_id_hint(Some(1)), T);
    ok(sent(APP, effects), 1);
    assert_eq!(made.get(), 1);
    // Over it: answered from the id alone; the text is never made.
    let effects = e.receive(APP, later(2).with_id_hint(Some(2)), T);
    err(sent(APP, effects), 2, "RATE_LIMITED");
    // Without an id there is nobody to answer.
    assert_eq!(sent(APP, e.receive(APP, later(3), T)), Sent::Drop);
    // Unknown or unmounted plugins are dropped.
    let effects = e.receive("nobody-here", later(3).with_id_hint(Some(3)), T);
    assert_eq!(sent("nobody-here", effects), Sent::Drop);
    assert_eq!(made.get(), 1);
}

#[test]
fn a_refused_url_with_credentials_reaches_the_audit_log_without_them() {
    let mut e = mounted(json!({}));
    for (id, url) in [
        (1, "https://alice:hunter2@evil.example/steal"),
        (2, "https://alice:hunter2@api.acme.example/v1/x"),
    ] {
        err(
            call(&mut e, APP, id, "api.fetch", json!({ "url": url })),
            id,
            "NETWORK_DENIED",
        );
    }
    let log = serde_json::to_string(&e.audit_log()).unwrap();
    assert!(!log.contains("hunter2"), "{log}");
    assert!(!log.contains("alice"), "{log}");
    assert!(
        log.contains("evil.example"),
        "the refused host is still named: {log}"
    );
}

#[test]
fn rate_limited_calls_recover_as_time_passes() {
    let mut e =
        mounted(json!({ "limits": { "callsPerSecond": 1, "burst": 1, "suspendAfter": 0 } }));
    ok(call(&mut e, APP, 1, "storage.keys", json!({})), 1);
    err(
        call(&mut e, APP, 2, "storage.keys", json!({})),
        2,
        "RATE_LIMITED",
    );
    // One second later a token is back; suspendAfter 0 never suspends.
    let later = msg(3, "storage.keys", json!({}));
    assert_eq!(
        ok(send(&mut e, APP, Some(&later), T + 1000.0), 3),
        Some(json!([]))
    );
    assert_eq!(e.status(APP).unwrap(), &Status::Mounted);
}

// ----- events ---------------------------------------------------------------------------------

#[test]
fn subscribers_are_mounted_plugins_holding_events() {
    let mut e = mounted(json!({}));
    install(&mut e, &manifest(OTHER, json!({})));
    mount(&mut e, OTHER);
    ok(
        call(
            &mut e,
            APP,
            1,
            "events.subscribe",
            json!({ "name": "theme" }),
        ),
        1,
    );
    ok(
        call(
            &mut e,
            OTHER,
            1,
            "events.subscribe",
            json!({ "name": "theme" }),
        ),
        1,
    );
    ok(
        call(
            &mut e,
            OTHER,
            2,
            "events.subscribe",
            json!({ "name": "other" }),
        ),
        2,
    );
    assert_eq!(e.subscribers("theme"), vec![APP, OTHER]);
    assert_eq!(e.subscribers("other"), vec![OTHER]);
    assert!(e.subscribers("nobody").is_empty());
    ok(
        call(
            &mut e,
            OTHER,
            3,
            "events.unsubscribe",
            json!({ "name": "theme" }),
        ),
        3,
    );
    assert_eq!(e.subscribers("theme"), vec![APP]);
    // Unmounted: not a subscriber while unmounted.
    e.set_status(APP, Status::Installed, T).unwrap();
    assert!(e.subscribers("theme").is_empty());
    // Remounting starts with no subscriptions.
    mount(&mut e, APP);
    assert!(e.subscribers("theme").is_empty());
    ok(
        call(
            &mut e,
            APP,
            2,
            "events.subscribe",
            json!({ "name": "theme" }),
        ),
        2,
    );
    assert_eq!(e.subscribers("theme"), vec![APP]);
    // Revoking `events` drops the subscription, and granting back does not restore it.
    e.revoke(APP, "events", T).unwrap();
    assert!(e.subscribers("theme").is_empty());
    let error = err(
        call(
            &mut e,
            APP,
            3,
            "events.subscribe",
            json!({ "name": "theme" }),
        ),
        3,
        "PERMISSION_DENIED",
    );
    assert_eq!(error["permission"], "events");
    e.grant(APP, "events", T).unwrap();
    assert!(e.subscribers("theme").is_empty());
    // emit goes to the host with its data.
    match call(
        &mut e,
        APP,
        4,
        "events.emit",
        json!({ "name": "saved", "data": { "n": 1 } }),
    ) {
        Sent::Emitted { name, data, reply } => {
            assert_eq!((name.as_str(), data), ("saved", json!({ "n": 1 })));
            assert_eq!(
                parse(&reply),
                json!({ "v": 1, "id": 4, "ok": true, "value": null })
            );
        }
        other => panic!("expected Emitted, found {other:?}"),
    }
}

// ----- install --------------------------------------------------------------------------------

/// One install that must fail.
struct InstallCase {
    name: &'static str,
    config: Value,
    manifest: Value,
    input: InstallInput,
    want: ErrorCode,
    /// What the message must name.
    parts: Vec<&'static str>,
}

#[test]
fn install_failures_have_codes_and_are_recorded() {
    let code = "export const x = 1;";
    let eval_code = "const f = (s) => eval(s); f('1');";
    let table = [
        InstallCase {
            name: "incompatible",
            config: json!({ "hostVersion": "1.0.0" }),
            manifest: manifest(APP, json!({ "compatibility": "^2.0.0" })),
            input: InstallInput::default(),
            want: ErrorCode::Incompatible,
            parts: vec!["^2.0.0", "1.0.0"],
        },
        InstallCase {
            name: "integrity",
            config: json!({}),
            manifest: manifest(APP, json!({})),
            input: InstallInput {
                code: Some(code.into()),
                integrity: Some(sri("something else")),
                ..Default::default()
            },
            want: ErrorCode::IntegrityMismatch,
            parts: vec![],
        },
        InstallCase {
            name: "integrity from entry",
            config: json!({}),
            manifest: manifest(
                APP,
                json!({ "entry": { "src": "https://plugins.acme.example/a/index.html", "integrity": sri("other") } }),
            ),
            input: InstallInput {
                code: Some(code.into()),
                ..Default::default()
            },
            want: ErrorCode::IntegrityMismatch,
            parts: vec![],
        },
        InstallCase {
            name: "integrity without code",
            config: json!({}),
            manifest: manifest(APP, json!({})),
            input: InstallInput {
                integrity: Some(sri(code)),
                ..Default::default()
            },
            want: ErrorCode::IntegrityMismatch,
            parts: vec!["code"],
        },
        InstallCase {
            name: "eval rejected",
            config: json!({}),
            manifest: manifest(APP, json!({})),
            input: InstallInput {
                code: Some(eval_code.into()),
                ..Default::default()
            },
            want: ErrorCode::BundleRejected,
            parts: vec!["eval"],
        },
        InstallCase {
            name: "unsigned",
            config: json!({ "requireSignatures": true }),
            manifest: manifest(APP, json!({})),
            input: InstallInput {
                code: Some(code.into()),
                ..Default::default()
            },
            want: ErrorCode::SignatureInvalid,
            parts: vec![],
        },
    ];
    for InstallCase {
        name,
        config,
        manifest: m,
        input,
        want,
        parts,
    } in table
    {
        let mut e = host(config);
        let error = try_install(&mut e, &m, &input).expect_err(name);
        assert_eq!(error.code, want, "{name}: {error}");
        for p in parts {
            assert!(
                error.message.contains(p),
                "{name}: {:?} lacks {p:?}",
                error.message
            );
        }
        match e.status(APP) {
            Ok(Status::Failed { code, .. }) => assert_eq!(*code, want, "{name}"),
            other => panic!("{name}: expected failed, found {other:?}"),
        }
        // Not installed: it is not listed, cannot be mounted, and calls are dropped.
        assert!(e.plugin_ids().is_empty(), "{name}");
        assert!(e.set_status(APP, Status::Mounted, T).is_err(), "{name}");
        assert_eq!(call(&mut e, APP, 1, "storage.keys", json!({})), Sent::Drop);
        let last = audit_json(&e).pop().unwrap();
        assert_eq!(
            (
                last["kind"].clone(),
                last["plugin"].clone(),
                last["decision"].clone(),
                last["code"].clone()
            ),
            (
                json!("install"),
                json!(APP),
                json!("deny"),
                json!(want.as_str())
            ),
            "{name}"
        );
    }
}

#[test]
fn install_pipeline_successes_and_recoveries() {
    let code = "export const x = 1;";
    let mut e = host(json!({ "hostVersion": "2.3.0" }));
    // An invalid manifest is recorded as failed under its id.
    let bad = manifest(APP, json!({ "permissions": ["storage", "root"] }));
    let error = e.check_manifest(&bad.to_string(), T).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidManifest);
    assert!(error.message.contains("root"), "{}", error.message);
    assert!(matches!(
        e.status(APP),
        Ok(Status::Failed {
            code: ErrorCode::InvalidManifest,
            ..
        })
    ));
    assert_eq!(
        e.status("never-seen").unwrap_err().code,
        ErrorCode::NotFound
    );
    // Fixing it installs, and the failure is forgotten.
    let good = manifest(APP, json!({ "compatibility": "^2.0.0" }));
    let input = InstallInput {
        code: Some(code.into()),
        integrity: Some(sri(code)),
        ..Default::default()
    };
    let info = try_install(&mut e, &good, &input).unwrap();
    assert_eq!((info.id.as_str(), &info.status), (APP, &Status::Installed));
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    assert_eq!(e.status(APP).unwrap(), &Status::Installed);
    // A second install of the same id is ALREADY_EXISTS and leaves the first alone.
    let again = e.check_manifest(&good.to_string(), T).unwrap_err();
    assert_eq!(again.code, ErrorCode::AlreadyExists);
    assert_eq!(e.status(APP).unwrap(), &Status::Installed);
    // bundlePolicy warn: eval is a warning, not a refusal.
    let mut warn = host(json!({ "dangerous": { "bundlePolicy": "warn" } }));
    let input = InstallInput {
        code: Some("eval(userInput);".into()),
        ..Default::default()
    };
    let info = try_install(&mut warn, &manifest(APP, json!({})), &input).unwrap();
    assert!(
        info.warnings.iter().any(|w| w.contains("eval")),
        "{:?}",
        info.warnings
    );
    // A verified signature satisfies requireSignatures: tests/signature.rs (needs a signer).
    // Uninstall frees the id.
    e.uninstall(APP, true, T).unwrap();
    assert!(e.check_manifest(&good.to_string(), T).is_ok());
}

// ----- audit ----------------------------------------------------------------------------------

#[test]
fn every_refusal_is_audited_with_plugin_code_and_deny() {
    let mut e = mounted(json!({ "limits": { "storageQuotaBytes": 16 } }));
    // (raw call, expected code)
    let table = [
        (msg(1, "storage.nope", json!({})), "MESSAGE_REJECTED"),
        (
            msg(2, "ui.notify", json!({ "message": "x" })),
            "PERMISSION_DENIED",
        ),
        (
            msg(3, "api.fetch", json!({ "url": "https://evil.example/" })),
            "NETWORK_DENIED",
        ),
        (
            msg(
                4,
                "storage.set",
                json!({ "key": "k", "value": "x".repeat(40) }),
            ),
            "QUOTA_EXCEEDED",
        ),
        (
            msg(
                5,
                "permissions.request",
                json!({ "permission": "acme-app.x:read", "reason": "r" }),
            ),
            "PERMISSION_DENIED",
        ),
    ];
    for (text, code) in &table {
        let before = e.audit_log().last().map_or(0, |ev| ev.seq);
        let o = send(&mut e, APP, Some(text), T);
        let r = reply(o);
        assert_eq!(r["error"]["code"], *code, "{text}");
        let new: Vec<Value> = e
            .audit_since(before)
            .iter()
            .map(|ev| serde_json::to_value(ev).unwrap())
            .collect();
        assert_eq!(new.len(), 1, "{text}: {new:?}");
        assert_eq!(new[0]["plugin"], APP, "{text}");
        assert_eq!(new[0]["code"], *code, "{text}");
        assert_eq!(new[0]["decision"], "deny", "{text}");
    }
    // A user's "no" is a refusal too.
    let Sent::AskPermission {
        call_id,
        permission,
        ..
    } = call(
        &mut e,
        APP,
        6,
        "permissions.request",
        json!({ "permission": "ui:notify", "reason": "r" }),
    )
    else {
        panic!("expected AskPermission");
    };
    permission_reply(&mut e, APP, call_id, permission, false, T);
    let info = e.info(APP).unwrap();
    assert_eq!(info.counts.get("MESSAGE_REJECTED"), Some(&1));
    assert_eq!(info.counts.get("PERMISSION_DENIED"), Some(&3));
    assert_eq!(info.counts.get("NETWORK_DENIED"), Some(&1));
    assert_eq!(info.counts.get("QUOTA_EXCEEDED"), Some(&1));
    assert_eq!(info.allowed_calls, 1, "the request that reached the user");
    assert_eq!(
        info.granted,
        vec!["api:read", "events", "permissions", "storage"]
    );
    assert_eq!(info.optional, vec!["api:write", "ui:notify"]);
}

#[test]
fn credentials_in_api_fetch_never_reach_the_audit_log() {
    let mut e = mounted(json!({}));
    e.grant(APP, "api:write", T).unwrap();
    let secret = "s3cr3t-tok-9f8e7d";
    let headers = json!({ "Authorization": format!("Bearer {secret}"), "X-Api-Key": secret });
    let calls = [
        // allowed
        json!({ "url": API, "headers": headers }),
        // refused by the allowlist
        json!({ "url": "https://evil.example/", "headers": headers }),
        // refused by the parser (bad header value and a bad header name after it)
        json!({ "url": API, "headers": { "Authorization": format!("{secret}\n") } }),
        json!({ "url": API, "headers": { "Authorization": secret, "bad name": "x" } }),
        // the secret in the URL query, and as URL credentials (refused, echoed to the plugin)
        json!({ "url": format!("https://evil.example/?access_token={secret}") }),
        json!({ "url": format!("https://alice:{secret}@api.acme.example/v1/") }),
    ];
    for (i, params) in calls.into_iter().enumerate() {
        let o = call(&mut e, APP, i as u64, "api.fetch", params);
        if let Sent::Fetch(plan) = o {
            assert!(
                plan.headers.iter().any(|(_, v)| v.contains(secret)),
                "the request itself keeps it"
            );
            fetch_reply(
                &mut e,
                APP,
                plan.call_id,
                Err(WardenError::new(ErrorCode::Timeout, "t")),
                T,
            );
        }
    }
    let log = serde_json::to_string(&e.audit_log()).unwrap();
    assert!(
        log.contains("NETWORK_DENIED") && log.contains("MESSAGE_REJECTED"),
        "{log}"
    );
    assert!(!log.contains(secret), "{log}");
}

// ----- CSP ------------------------------------------------------------------------------------

#[test]
fn csp_header_lists_plugin_origins_once() {
    let mut e = host(json!({}));
    let entry =
        |path: &str| json!({ "src": format!("https://plugins.acme.example/{path}/index.html") });
    install(
        &mut e,
        &manifest(
            APP,
            json!({ "entry": entry("a"), "network": [API, "https://api.acme.example/v2/"] }),
        ),
    );
    install(
        &mut e,
        &manifest(
            OTHER,
            json!({ "entry": entry("b"), "network": ["https://data.other.example/"] }),
        ),
    );
    let csp = e
        .csp_header("AAECAwQFBgcICQoLDA0ODw==", "plugin-warden")
        .unwrap();
    let directive = |name: &str| {
        csp.split("; ")
            .find_map(|d| d.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {csp}"))
            .to_owned()
    };
    assert_eq!(directive("frame-src"), "https://plugins.acme.example");
    assert_eq!(
        directive("connect-src"),
        "'self' https://api.acme.example https://data.other.example"
    );
    assert!(
        directive("script-src").contains("'nonce-AAECAwQFBgcICQoLDA0ODw=='"),
        "{csp}"
    );
    assert_eq!(directive("trusted-types"), "plugin-warden");
    // A bad nonce is refused rather than spliced into the header.
    let bad = e
        .csp_header("x' 'unsafe-inline", "plugin-warden")
        .unwrap_err();
    assert_eq!(bad.code, ErrorCode::InvalidArgument);
}

#[test]
fn a_rate_limited_oversized_message_is_not_parsed_either() {
    let mut e =
        mounted(json!({ "limits": { "maxMessageBytes": 256, "burst": 1, "callsPerSecond": 1 } }));
    ok(call(&mut e, APP, 1, "storage.keys", json!({})), 1);
    // Within the limit, a rate-limited call is answered with its id...
    err(
        call(&mut e, APP, 2, "storage.keys", json!({})),
        2,
        "RATE_LIMITED",
    );
    // ...but an over-limit message is not parsed to find one, rate-limited or not.
    let big = msg(
        3,
        "storage.set",
        json!({ "key": "k", "value": "x".repeat(300) }),
    );
    assert_eq!(send(&mut e, APP, Some(&big), T), Sent::Drop);
    assert_eq!(e.info(APP).unwrap().counts.get("RATE_LIMITED"), Some(&2));
}

#[test]
fn a_reinstalled_plugin_starts_with_fresh_counts() {
    let mut e = mounted(json!({}));
    err(
        call(&mut e, APP, 1, "ui.notify", json!({ "message": "x" })),
        1,
        "PERMISSION_DENIED",
    );
    ok(call(&mut e, APP, 2, "storage.keys", json!({})), 2);
    assert_eq!(
        e.info(APP).unwrap().counts.get("PERMISSION_DENIED"),
        Some(&1)
    );
    e.uninstall(APP, false, T).unwrap();
    assert_eq!(e.info(APP).unwrap_err().code, ErrorCode::NotFound);
    install(&mut e, &manifest(APP, json!({})));
    let info = e.info(APP).unwrap();
    assert!(info.counts.is_empty(), "{:?}", info.counts);
    assert_eq!(info.allowed_calls, 0);
    // The events themselves stay in the log.
    assert!(audit_json(&e)
        .iter()
        .any(|ev| ev["code"] == "PERMISSION_DENIED"));
}

#[test]
fn over_limit_messages_are_answered_with_the_id_the_browser_read() {
    let mut e = mounted(json!({}));
    let huge = format!(
        r#"{{"v":1,"id":41,"method":"storage.set","params":{{"key":"k","value":"{}"}}}}"#,
        "x".repeat(70 * 1024)
    );
    // Without a hint nothing can be answered (the text is never parsed) ...
    assert_eq!(send(&mut e, APP, Some(&huge), T), Sent::Drop);
    // ... with the id the browser layer read off the object, the plugin gets its error reply.
    let Sent::Reply(reply) = send_hinted(&mut e, APP, Some(&huge), Some(41), T) else {
        panic!("expected a reply")
    };
    let reply = parse(&reply);
    assert_eq!(reply["id"], json!(41));
    assert_eq!(reply["error"]["code"], json!("MESSAGE_REJECTED"));
    let deep = format!(
        r#"{{"v":1,"id":42,"method":"events.emit","params":{{"name":"n","data":{}1{}}}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    let Sent::Reply(reply) = send_hinted(&mut e, APP, Some(&deep), Some(42), T) else {
        panic!("expected a reply")
    };
    assert_eq!(parse(&reply)["error"]["code"], json!("MESSAGE_REJECTED"));
}

// ----- proxied manifest routes (route:<path>) ---------------------------------------------------

const ROUTE_SECRET: &str = "rk_live_7d1f0c2b9a";

/// `acme-app` with a route `api/patents` gated by `acme-app.patents:read`, whose header
/// carries a host-held secret; the host config holds the values.
fn routed(user: Value) -> Engine<MemoryBackend> {
    let mut e = host(json!({
        "user": user,
        "routes": { APP: { "data": { "host": "api.acme.example" },
                           "secrets": { "key": ROUTE_SECRET },
                           "secretOrigins": ["https://api.acme.example"] } },
    }));
    install(
        &mut e,
        &manifest(
            APP,
            json!({ "routes": [{
                "path": "api/patents", "method": "GET", "reqAction": "acme-app.patents:read",
                "url": "https://{{ .JsonData.host }}/v1/patents",
                "headers": [{ "name": "X-Api-Key", "content": "{{ .SecureJsonData.key }}" }],
            }] }),
        ),
    );
    mount(&mut e, APP);
    e
}

#[test]
fn route_fetch_is_gated_by_the_route_action_and_carries_the_host_secret() {
    // Without the action: PERMISSION_DENIED naming it, and nothing is planned.
    let mut e = routed(json!({ "role": "Viewer" }));
    let o = call(
        &mut e,
        APP,
        1,
        "api.fetch",
        json!({ "url": "route:api/patents" }),
    );
    assert!(!format!("{o:?}").contains(ROUTE_SECRET));
    let error = err(o, 1, "PERMISSION_DENIED");
    assert_eq!(error["permission"], "acme-app.patents:read");
    // With it: a plan to the route URL with the secret header, which the plugin cannot override.
    e.set_user(json!({ "permissions": ["acme-app.patents:read"] }))
        .unwrap();
    let o = call(
        &mut e,
        APP,
        2,
        "api.fetch",
        json!({ "url": "route:api/patents", "headers": { "X-API-KEY": "mine", "accept": "application/json" } }),
    );
    let Sent::Fetch(plan) = o else {
        panic!("expected a fetch plan")
    };
    assert_eq!(plan.url, "https://api.acme.example/v1/patents");
    assert_eq!(
        plan.headers,
        vec![
            ("accept".to_owned(), "application/json".to_owned()),
            ("X-Api-Key".to_owned(), ROUTE_SECRET.to_owned()),
        ]
    );
    // The answer goes back as usual, with no trace of the secret; an echo of it is scrubbed.
    let answer = FetchResponse {
        binary: None,
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: format!(r#"{{"patents":[],"youSent":"{ROUTE_SECRET}"}}"#),
        url: plan.url.clone(),
    };
    let r = parse(&fetch_reply(&mut e, APP, 2, Ok(answer), T));
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["value"]["status"], 200);
    assert_eq!(
        r["value"]["body"],
        r#"{"patents":[],"youSent":"[REDACTED]"}"#
    );
    assert!(!r.to_string().contains(ROUTE_SECRET));
    let log = serde_json::to_string(&e.audit_log()).unwrap();
    assert!(!log.contains(ROUTE_SECRET), "{log}");
    let calls: Vec<Value> = audit_json(&e)
        .into_iter()
        .filter(|ev| ev["method"] == "api.fetch")
        .collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0]["code"], "PERMISSION_DENIED");
    assert_eq!(calls[1]["detail"], json!({ "route": "api/patents" }));
}

#[test]
fn route_fetch_refusals_name_the_path_method_or_key() {
    let mut e = routed(json!({ "role": "Admin", "permissions": ["acme-app.patents:read"] }));
    let error = err(
        call(
            &mut e,
            APP,
            1,
            "api.fetch",
            json!({ "url": "route:api/patent" }),
        ),
        1,
        "NOT_FOUND",
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("\"api/patent\""),
        "{error}"
    );
    e.grant(APP, "api:write", T).unwrap();
    let error = err(
        call(
            &mut e,
            APP,
            2,
            "api.fetch",
            json!({ "url": "route:api/patents", "method": "DELETE" }),
        ),
        2,
        "NOT_FOUND",
    );
    assert!(
        error["message"].as_str().unwrap().contains("DELETE"),
        "{error}"
    );
    // A host that forgot the secret gets an error naming the key, not an empty header.
    e.set_route_config(
        APP,
        serde_json::from_value(json!({ "data": { "host": "api.acme.example" } })).unwrap(),
    )
    .unwrap();
    let error = err(
        call(
            &mut e,
            APP,
            3,
            "api.fetch",
            json!({ "url": "route:api/patents" }),
        ),
        3,
        "INVALID_ARGUMENT",
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("SecureJsonData.key"),
        "{error}"
    );
    // With the secret restored the route works again.
    e.set_route_config(
        APP,
        serde_json::from_value(
            json!({ "data": { "host": "api.acme.example" }, "secrets": { "key": ROUTE_SECRET },
                    "secretOrigins": ["https://api.acme.example"] }),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(matches!(
        call(
            &mut e,
            APP,
            4,
            "api.fetch",
            json!({ "url": "route:api/patents" })
        ),
        Sent::Fetch(_)
    ));
    assert!(!serde_json::to_string(&e.audit_log())
        .unwrap()
        .contains(ROUTE_SECRET));
}

// ----- binary data (core::binary) ------------------------------------------------------------

fn bin(index: u64, kind: &str, bytes: u64) -> Value {
    json!({ "$pw:binary": index, "type": kind, "bytes": bytes })
}

#[test]
fn binary_placeholders_travel_to_the_plan_and_count_against_the_message_limit() {
    let mut e = mounted(json!({ "limits": { "maxMessageBytes": 4096 } }));
    e.grant(APP, "events", T).unwrap();
    // Event data keeps its placeholders for the browser layer to fill.
    let data = json!({ "a": bin(0, "Uint8Array", 3), "b": [bin(1, "Float64Array", 16)] });
    match call(
        &mut e,
        APP,
        1,
        "events.emit",
        json!({ "name": "x", "data": data }),
    ) {
        Sent::Emitted { data: got, .. } => assert_eq!(got, data),
        other => panic!("expected Emitted, found {other:?}"),
    }
    // Text + side-table bytes over the limit: refused, answered with the call's id.
    let over = json!({ "name": "x", "data": bin(0, "Uint8Array", 4000) });
    let e2 = err(
        call(&mut e, APP, 2, "events.emit", over),
        2,
        "MESSAGE_REJECTED",
    );
    assert!(
        e2["message"]
            .as_str()
            .unwrap()
            .contains("at most 4096 bytes of JSON text and binary data"),
        "{e2}"
    );
    let fits = json!({ "name": "x", "data": bin(0, "Uint8Array", 3900) });
    assert!(matches!(
        call(&mut e, APP, 3, "events.emit", fits),
        Sent::Emitted { .. }
    ));
}

#[test]
fn malformed_or_misplaced_binary_placeholders_are_rejected_with_the_path() {
    let mut e = mounted(json!({}));
    e.grant(APP, "events", T).unwrap();
    for (n, (method, params, path)) in [
        // A plugin's own object with the reserved key (the browser layer marks it null).
        (
            "events.emit",
            json!({ "name": "x", "data": { "deep": [{ "$pw:binary": null }] } }),
            "params.data.deep[0]",
        ),
        // Extra keys, unknown type, a length that is not whole elements, a bad index.
        (
            "events.emit",
            json!({ "name": "x", "data": { "$pw:binary": 0, "type": "Uint8Array", "bytes": 1, "x": 1 } }),
            "params.data",
        ),
        (
            "events.emit",
            json!({ "name": "x", "data": bin(0, "Blob", 1) }),
            "params.data",
        ),
        (
            "events.emit",
            json!({ "name": "x", "data": bin(0, "Uint32Array", 6) }),
            "params.data",
        ),
        (
            "events.emit",
            json!({ "name": "x", "data": { "$pw:binary": -1, "type": "Uint8Array", "bytes": 1 } }),
            "params.data",
        ),
        // Inline bytes that are not base64 of `bytes` bytes.
        (
            "storage.set",
            json!({ "key": "k", "value": { "$pw:binary": "AAEC", "type": "Uint8Array", "bytes": 2 } }),
            "params.value",
        ),
        // Each form only where it belongs: inline only in a stored value, the side table
        // everywhere else.
        (
            "storage.set",
            json!({ "key": "k", "value": [bin(0, "Uint8Array", 1)] }),
            "params.value",
        ),
        (
            "events.emit",
            json!({ "name": "x", "data": { "$pw:binary": "AQ==", "type": "Uint8Array", "bytes": 1 } }),
            "params",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let id = n as u64 + 1;
        let error = err(call(&mut e, APP, id, method, params.clone()), id, "MESSAGE_REJECTED");
        let message = error["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{path}:")), "{params}: {message}");
    }
    // Nothing was stored.
    assert_eq!(
        ok(call(&mut e, APP, 99, "storage.keys", json!({})), 99),
        Some(json!([]))
    );
}

#[test]
fn stored_binary_is_inline_and_read_back_as_stored() {
    let mut e = mounted(json!({}));
    let value = json!({ "png": { "$pw:binary": "iVBORw==", "type": "Uint8Array", "bytes": 4 } });
    ok(
        call(
            &mut e,
            APP,
            1,
            "storage.set",
            json!({ "key": "thumb", "value": value }),
        ),
        1,
    );
    assert_eq!(
        ok(
            call(&mut e, APP, 2, "storage.get", json!({ "key": "thumb" })),
            2
        ),
        Some(value)
    );
}

#[test]
fn api_fetch_takes_a_binary_body_and_answers_a_binary_response_as_a_placeholder() {
    let mut e = mounted(json!({}));
    e.grant(APP, "api:write", T).unwrap();
    let Sent::Fetch(plan) = call(
        &mut e,
        APP,
        1,
        "api.fetch",
        json!({ "url": API, "method": "POST", "body": bin(0, "Uint8Array", 4), "responseType": "arraybuffer" }),
    ) else {
        panic!("expected Fetch");
    };
    assert!(matches!(&plan.body, Some(FetchBody::Binary(r)) if r.bytes == 4));
    assert!(plan.binary_response);
    let answer = FetchResponse {
        binary: Some(3),
        status: 200,
        headers: vec![],
        body: String::new(),
        url: API.into(),
    };
    let r = parse(&fetch_reply(&mut e, APP, plan.call_id, Ok(answer), T));
    assert_eq!(r["value"]["body"], bin(0, "ArrayBuffer", 3), "{r}");
    // An unknown responseType is a malformed call.
    let error = err(
        call(
            &mut e,
            APP,
            2,
            "api.fetch",
            json!({ "url": API, "responseType": "blob" }),
        ),
        2,
        "MESSAGE_REJECTED",
    );
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("params.responseType"));
}
