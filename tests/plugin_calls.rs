//! Plugin-to-plugin calls in the engine: both declarations and the user's RBAC are checked, the
//! callee sees the true caller, the answer goes back to the caller's call, limits apply.
#![cfg(not(target_arch = "wasm32"))]

use plugin_warden::core::engine::{Engine, HostConfig, InstallInput, Status};
use plugin_warden::core::error::ErrorCode;
use plugin_warden::core::storage::MemoryBackend;
use serde_json::{json, Value};

mod support;
use support::Sent;

const T: f64 = 1_000.0;

fn host(config: Value) -> Engine<MemoryBackend> {
    let config: HostConfig = serde_json::from_value(config).expect("a valid host config");
    Engine::new(config, MemoryBackend::new()).expect("the engine starts")
}

fn install_mounted(e: &mut Engine<MemoryBackend>, m: Value) {
    let id = m["id"].as_str().expect("id").to_owned();
    let checked = e.check_manifest(&m.to_string(), T).expect("valid manifest");
    e.finish_install(
        checked,
        &InstallInput::default(),
        plugin_warden::core::provenance::Provenance::Unsigned,
        T,
    )
    .expect("installs");
    e.set_status(&id, Status::Mounting, T).expect("installed");
    e.set_status(&id, Status::Mounted, T).expect("installed");
}

/// `caller` consumes callee's `echo` and `secret`; callee exposes both, `secret` behind an action.
fn pair(user: Value) -> Engine<MemoryBackend> {
    let mut e = host(json!({ "user": user }));
    install_mounted(
        &mut e,
        json!({
            "id": "callee-app", "name": "Callee", "version": "2.0.0",
            "exposes": [{ "name": "echo" }, { "name": "secret", "action": "callee-app.secret:read" }],
            "roles": [{ "role": { "name": "Secret reader", "permissions": [{ "action": "callee-app.secret:read" }] },
                        "grants": ["Admin"] }],
        }),
    );
    install_mounted(
        &mut e,
        json!({
            "id": "caller-app", "name": "Caller", "version": "1.3.0",
            "consumes": [{ "plugin": "callee-app", "name": "echo" }, { "plugin": "callee-app", "name": "secret" },
                         { "plugin": "callee-app", "name": "hidden" }],
        }),
    );
    e
}

fn send(e: &mut Engine<MemoryBackend>, from: &str, id: u64, method: &str, params: Value) -> Sent {
    let msg = json!({ "v": 1, "id": id, "method": method, "params": params }).to_string();
    support::send(e, from, Some(&msg), T)
}

fn error_code(o: &Sent) -> Option<String> {
    match o {
        Sent::Reply(r) => serde_json::from_str::<Value>(r).ok()?["error"]["code"]
            .as_str()
            .map(str::to_owned),
        _ => None,
    }
}

#[test]
fn a_declared_call_reaches_the_callee_with_the_true_caller_and_the_answer_comes_back() {
    let mut e = pair(json!({ "role": "Viewer" }));
    // The caller may not claim another identity: `caller` in args is just data.
    let o = send(
        &mut e,
        "caller-app",
        7,
        "plugins.call",
        json!({ "plugin": "callee-app", "name": "echo", "args": { "caller": "someone-else", "x": 1 } }),
    );
    let Sent::Relay { to, message, reply } = o else {
        panic!("expected a relay, found {o:?}")
    };
    assert_eq!(to, "callee-app");
    assert!(reply.is_empty(), "the caller's reply waits for the callee");
    let event: Value = serde_json::from_str(&message).expect("JSON");
    assert_eq!(event["event"], "plugins.call");
    assert_eq!(event["data"]["name"], "echo");
    assert_eq!(
        event["data"]["args"],
        json!({ "caller": "someone-else", "x": 1 })
    );
    assert_eq!(
        event["data"]["caller"],
        json!({ "pluginId": "caller-app", "version": "1.3.0" })
    );
    let relay = event["data"]["call"].as_u64().expect("a relay id");
    // Only the callee may answer it.
    let forged = send(
        &mut e,
        "caller-app",
        8,
        "plugins.respond",
        json!({ "call": relay, "value": "forged" }),
    );
    assert_eq!(error_code(&forged).as_deref(), Some("NOT_FOUND"));
    let o = send(
        &mut e,
        "callee-app",
        3,
        "plugins.respond",
        json!({ "call": relay, "value": { "echo": 1 } }),
    );
    let Sent::Relay { to, message, reply } = o else {
        panic!("expected a relay, found {o:?}")
    };
    assert_eq!(to, "caller-app");
    assert_eq!(
        serde_json::from_str::<Value>(&message).expect("JSON"),
        json!({ "v": 1, "id": 7, "ok": true, "value": { "echo": 1 } })
    );
    assert_eq!(
        serde_json::from_str::<Value>(&reply).expect("JSON"),
        json!({ "v": 1, "id": 3, "ok": true, "value": null })
    );
    // Answered once.
    let again = send(
        &mut e,
        "callee-app",
        4,
        "plugins.respond",
        json!({ "call": relay, "value": 2 }),
    );
    assert_eq!(error_code(&again).as_deref(), Some("NOT_FOUND"));
    // A callee error reaches the caller as an error.
    let Sent::Relay { message, .. } = send(
        &mut e,
        "caller-app",
        9,
        "plugins.call",
        json!({ "plugin": "callee-app", "name": "echo", "args": null }),
    ) else {
        panic!("relay")
    };
    let relay = serde_json::from_str::<Value>(&message).expect("JSON")["data"]["call"]
        .as_u64()
        .expect("id");
    let Sent::Relay { message, .. } = send(
        &mut e,
        "callee-app",
        5,
        "plugins.respond",
        json!({ "call": relay, "error": "no such thing" }),
    ) else {
        panic!("relay")
    };
    let answer: Value = serde_json::from_str(&message).expect("JSON");
    assert_eq!(answer["id"], 9);
    assert_eq!(answer["ok"], false);
    assert!(answer["error"]["message"]
        .as_str()
        .expect("message")
        .contains("no such thing"));
}

#[test]
fn undeclared_targets_names_and_missing_actions_are_refused() {
    let mut e = pair(json!({ "role": "Viewer" }));
    let call = |e: &mut Engine<MemoryBackend>, from: &str, plugin: &str, name: &str| {
        error_code(&send(
            e,
            from,
            1,
            "plugins.call",
            json!({ "plugin": plugin, "name": name, "args": {} }),
        ))
    };
    // Not in the caller's consumes.
    assert_eq!(
        call(&mut e, "caller-app", "callee-app", "other").as_deref(),
        Some("PERMISSION_DENIED")
    );
    assert_eq!(
        call(&mut e, "callee-app", "caller-app", "echo").as_deref(),
        Some("PERMISSION_DENIED")
    );
    // Consumed, but not exposed by the callee.
    assert_eq!(
        call(&mut e, "caller-app", "callee-app", "hidden").as_deref(),
        Some("PERMISSION_DENIED")
    );
    // Exposed behind an action the Viewer does not hold; an Admin does.
    let o = send(
        &mut e,
        "caller-app",
        2,
        "plugins.call",
        json!({ "plugin": "callee-app", "name": "secret", "args": {} }),
    );
    let Sent::Reply(r) = &o else {
        panic!("expected a refusal")
    };
    let r: Value = serde_json::from_str(r).expect("JSON");
    assert_eq!(r["error"]["permission"], "callee-app.secret:read");
    e.set_user(json!({ "role": "Admin" })).expect("valid");
    assert!(matches!(
        send(
            &mut e,
            "caller-app",
            3,
            "plugins.call",
            json!({ "plugin": "callee-app", "name": "secret", "args": {} })
        ),
        Sent::Relay { .. }
    ));
    // A callee that is not running.
    e.set_status("callee-app", Status::Installed, T)
        .expect("installed");
    assert_eq!(
        call(&mut e, "caller-app", "callee-app", "echo").as_deref(),
        Some("NOT_FOUND")
    );
    // Malformed params are refused by the parser.
    assert_eq!(
        call(&mut e, "caller-app", "Callee App", "echo").as_deref(),
        Some("MESSAGE_REJECTED")
    );
    let audit = e.audit_log();
    assert!(audit
        .iter()
        .any(|a| a.method.as_deref() == Some("plugins.call")
            && a.code == Some(ErrorCode::PermissionDenied)));
}

#[test]
fn calls_in_flight_are_limited_and_freed_when_the_callee_goes_away() {
    let mut e = host(json!({ "limits": { "maxInFlight": 2 } }));
    install_mounted(
        &mut e,
        json!({ "id": "callee-app", "name": "Callee", "exposes": [{ "name": "echo" }] }),
    );
    install_mounted(
        &mut e,
        json!({ "id": "caller-app", "name": "Caller", "consumes": [{ "plugin": "callee-app", "name": "echo" }] }),
    );
    let p = json!({ "plugin": "callee-app", "name": "echo", "args": 1 });
    assert!(matches!(
        send(&mut e, "caller-app", 1, "plugins.call", p.clone()),
        Sent::Relay { .. }
    ));
    assert!(matches!(
        send(&mut e, "caller-app", 2, "plugins.call", p.clone()),
        Sent::Relay { .. }
    ));
    assert_eq!(
        error_code(&send(&mut e, "caller-app", 3, "plugins.call", p.clone())).as_deref(),
        Some("RATE_LIMITED")
    );
    // The callee is unmounted: its pending calls are dropped and the caller's slots freed.
    e.set_status("callee-app", Status::Installed, T)
        .expect("installed");
    e.set_status("callee-app", Status::Mounting, T)
        .expect("installed");
    e.set_status("callee-app", Status::Mounted, T)
        .expect("installed");
    assert!(matches!(
        send(&mut e, "caller-app", 4, "plugins.call", p),
        Sent::Relay { .. }
    ));
}

#[test]
fn manifests_declare_exposes_and_consumes_strictly() {
    let mut e = host(json!({}));
    for (m, path) in [
        (
            json!({ "id": "acme-app", "name": "A", "exposes": [{ "name": "bad name" }] }),
            "exposes[0].name",
        ),
        (
            json!({ "id": "acme-app", "name": "A", "exposes": [{ "name": "x", "action": "other-app.x:read" }] }),
            "exposes[0].action",
        ),
        (
            json!({ "id": "acme-app", "name": "A", "exposes": [{ "name": "x" }, { "name": "x" }] }),
            "exposes[1].name",
        ),
        (
            json!({ "id": "acme-app", "name": "A", "consumes": [{ "plugin": "Not An Id", "name": "x" }] }),
            "consumes[0].plugin",
        ),
        (
            json!({ "id": "acme-app", "name": "A", "consumes": [{ "plugin": "other-app" }] }),
            "consumes[0].name",
        ),
    ] {
        let err = e.check_manifest(&m.to_string(), T).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidManifest);
        assert!(err.message.contains(path), "{path}: {}", err.message);
    }
}
