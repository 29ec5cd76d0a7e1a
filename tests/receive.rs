//! The core entered once per event, as the browser layer enters it: `Engine::receive` for a
//! port message, `Engine::complete` for a finished asynchronous effect, `Engine::handshake` for
//! a window message from a mount's frame. One event in, the exact effects out, in order.
#![cfg(not(target_arch = "wasm32"))]

use plugin_warden::core::engine::{
    Completion, Effect, Engine, FetchResponse, HostConfig, Incoming, InstallInput, MountMode,
    MountSpec, MountState, RunnerJob, Status, Unread,
};
use plugin_warden::core::error::{ErrorCode, WardenError};
use plugin_warden::core::manifest::Capability;
use plugin_warden::core::mount::UiMode;
use plugin_warden::core::provenance::Provenance;
use plugin_warden::core::storage::MemoryBackend;
use serde_json::{json, Value};

const T: f64 = 1_000.0;

/// A later time for each handshake message of the handshake tests: refused hellos are audited
/// once a second per source (the rest counted), so each comes a second after the one before.
fn later() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SECONDS: AtomicU64 = AtomicU64::new(1);
    T + 1000.0 * SECONDS.fetch_add(1, Ordering::Relaxed) as f64
}
const APP: &str = "acme-app";
const NONCE: &str = "0123456789abcdef0123456789abcdef";
const API: &str = "https://api.acme.example/v1/";

// ----- harness --------------------------------------------------------------------------------

fn host(config: Value) -> Engine<MemoryBackend> {
    let config: HostConfig = serde_json::from_value(config).expect("a valid host config");
    Engine::new(config, MemoryBackend::new()).expect("the engine starts")
}

fn install(e: &mut Engine<MemoryBackend>, manifest: Value, code: Option<&str>) {
    let checked = e.check_manifest(&manifest.to_string(), T).expect("valid");
    let input = InstallInput {
        code: code.map(str::to_owned),
        ..InstallInput::default()
    };
    e.finish_install(checked, &input, Provenance::Unsigned, T)
        .expect("installs");
}

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

fn hello(nonce: &str) -> Incoming<'static> {
    Incoming::json(
        json!({ "ns": "plugin-warden", "v": 1, "type": "hello", "nonce": nonce }).to_string(),
    )
}

fn iframe() -> MountSpec {
    MountSpec {
        mode: MountMode::Iframe,
        nonce: Some(NONCE.to_owned()),
        ui: None,
    }
}

/// `config`'s host with `acme-app` installed and mounted the way the browser mounts it: begun,
/// then welcomed by a hello with the mount's nonce. Earlier audit events are delivered.
fn live(config: Value) -> Engine<MemoryBackend> {
    let mut e = host(config);
    install(&mut e, manifest(APP, json!({})), None);
    e.begin_mount(APP, iframe(), T).expect("installed");
    let welcomed = e.handshake(APP, hello(NONCE), T);
    assert!(
        matches!(welcomed.first(), Some(Effect::Welcome { .. })),
        "{welcomed:?}"
    );
    e
}

fn call(id: u64, method: &str, params: Value) -> Incoming<'static> {
    Incoming::json(json!({ "v": 1, "id": id, "method": method, "params": params }).to_string())
}

/// Plugin APP's `permissions.request` of `api:write` (optional in its manifest), call `id`.
fn request_api_write(id: u64, reason: &str) -> Incoming<'static> {
    call(
        id,
        "permissions.request",
        json!({ "permission": "api:write", "reason": reason }),
    )
}

/// The user's answer to call `call_id`, a `permissions.request` of `api:write`.
fn answer_api_write(call_id: u64, granted: bool) -> Completion {
    Completion::Permission {
        call_id,
        permission: Capability::ApiWrite,
        granted,
    }
}

/// Effects as JSON, so a test states them exactly: replies parsed, audit events without their
/// `seq` and time.
fn show(effects: &[Effect]) -> Vec<Value> {
    let parse = |text: &str| serde_json::from_str::<Value>(text).expect("JSON text");
    effects
        .iter()
        .map(|e| match e {
            Effect::Post { to, message } => json!({ "post": to, "message": parse(message) }),
            Effect::Fetch { plugin, plan } => {
                json!({ "fetch": plugin, "callId": plan.call_id, "url": plan.url, "method": plan.method })
            }
            Effect::Storage {
                plugin, call_id, ..
            } => json!({ "storage": plugin, "callId": call_id }),
            Effect::AskPermission {
                plugin,
                call_id,
                permission,
                reason,
            } => json!({ "ask": plugin, "callId": call_id, "permission": permission.as_str(), "reason": reason }),
            Effect::Notify {
                plugin,
                message,
                level,
            } => json!({ "notify": plugin, "message": message, "level": level.as_str() }),
            Effect::Emit { plugin, name, data } => {
                json!({ "emit": plugin, "name": name, "data": data })
            }
            // (`clean_by` is a time on the clean clock: checked in tests/remote_ui.rs.)
            Effect::Render {
                plugin,
                call_id,
                html,
                ..
            } => json!({ "render": plugin, "callId": call_id, "html": html }),
            Effect::Welcome {
                plugin,
                message,
                mode,
            } => json!({ "welcome": plugin, "mode": mode, "message": parse(message) }),
            Effect::TearDown {
                plugin,
                code,
                reason,
            } => json!({ "tearDown": plugin, "code": code, "reason": reason }),
            Effect::PermissionsChanged(changes) => json!({
                "permissionsChanged": changes
                    .iter()
                    .map(|c| json!({ "plugin": c.plugin, "message": parse(&c.message()) }))
                    .collect::<Vec<_>>()
            }),
            Effect::Audit(events) => json!({
                "audit": events
                    .iter()
                    .map(|ev| {
                        let mut v = serde_json::to_value(ev).expect("serializable");
                        if let Some(o) = v.as_object_mut() {
                            o.remove("seq");
                            o.remove("timeMs");
                        }
                        v
                    })
                    .collect::<Vec<_>>()
            }),
            other => panic!("an effect this test does not know: {other:?}"),
        })
        .collect()
}

fn ok_reply(id: u64, value: Value) -> Value {
    json!({ "post": APP, "message": { "v": 1, "id": id, "ok": true, "value": value } })
}

fn call_audit(method: &str) -> Value {
    json!({ "plugin": APP, "kind": "call", "method": method, "decision": "allow" })
}

// ----- receive: one message in, the exact effects out ------------------------------------------

#[test]
fn a_storage_call_is_answered_and_audited_in_one_entry() {
    let mut e = live(json!({}));
    let effects = e.receive(
        APP,
        call(1, "storage.set", json!({ "key": "k", "value": 7 })),
        T,
    );
    assert_eq!(
        show(&effects),
        vec![
            ok_reply(1, Value::Null),
            json!({ "audit": [call_audit("storage.set")] }),
        ]
    );
    let effects = e.receive(APP, call(2, "storage.get", json!({ "key": "k" })), T);
    assert_eq!(show(&effects)[0], ok_reply(2, json!(7)));
    assert!(
        e.undelivered_audit().is_empty(),
        "each audit event is delivered once"
    );
}

#[test]
fn events_and_notifications_come_before_their_reply() {
    let mut e = live(json!({}));
    let effects = e.receive(
        APP,
        call(1, "events.emit", json!({ "name": "saved", "data": [1] })),
        T,
    );
    assert_eq!(
        show(&effects),
        vec![
            json!({ "emit": APP, "name": "saved", "data": [1] }),
            ok_reply(1, Value::Null),
            json!({ "audit": [call_audit("events.emit")] }),
        ]
    );
    e.grant(APP, "ui:notify", T).expect("optional");
    e.undelivered_audit();
    let effects = e.receive(
        APP,
        call(
            2,
            "ui.notify",
            json!({ "message": "hi", "level": "warning" }),
        ),
        T,
    );
    assert_eq!(
        show(&effects),
        vec![
            json!({ "notify": APP, "message": "hi", "level": "warning" }),
            ok_reply(2, Value::Null),
            json!({ "audit": [call_audit("ui.notify")] }),
        ]
    );
}

#[test]
fn a_fetch_is_planned_then_completed_with_its_reply() {
    let mut e = live(json!({}));
    let url = format!("{API}items");
    let effects = e.receive(APP, call(3, "api.fetch", json!({ "url": url })), T);
    assert_eq!(
        show(&effects),
        vec![
            json!({ "fetch": APP, "callId": 3, "url": url, "method": "GET" }),
            json!({ "audit": [call_audit("api.fetch")] }),
        ]
    );
    let response = FetchResponse {
        binary: None,
        status: 200,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: "hello".into(),
        url: url.clone(),
    };
    let done = e.complete(
        APP,
        Completion::Fetch {
            call_id: 3,
            result: Ok(response),
        },
        T,
    );
    assert_eq!(
        show(&done),
        vec![ok_reply(
            3,
            json!({ "status": 200, "headers": { "content-type": "text/plain" }, "body": "hello" })
        )]
    );
    // A transport failure is answered with its code and audited as a refusal.
    e.receive(APP, call(4, "api.fetch", json!({ "url": url })), T);
    let failed = e.complete(
        APP,
        Completion::Fetch {
            call_id: 4,
            result: Err(WardenError::new(
                ErrorCode::Timeout,
                "no answer in 10000 ms",
            )),
        },
        T,
    );
    let shown = show(&failed);
    assert_eq!(shown[0]["message"]["error"]["code"], "TIMEOUT");
    assert_eq!(shown[1]["audit"][0]["kind"], "refusal");
    assert_eq!(shown.len(), 2);
}

#[test]
fn a_permission_request_asks_the_user_and_a_yes_tells_the_plugin() {
    let mut e = live(json!({}));
    let effects = e.receive(APP, request_api_write(5, "to save"), T);
    assert_eq!(
        show(&effects),
        vec![
            json!({ "ask": APP, "callId": 5, "permission": "api:write", "reason": "to save" }),
            json!({ "audit": [call_audit("permissions.request")] }),
        ]
    );
    let done = e.complete(APP, answer_api_write(5, true), T);
    let shown = show(&done);
    assert_eq!(shown[0], ok_reply(5, json!(true)));
    assert_eq!(
        shown[1],
        json!({ "permissionsChanged": [{ "plugin": APP, "message": {
            "v": 1, "event": "permissions.changed",
            "data": {
                "granted": ["api:read", "api:write", "events", "permissions", "storage"],
                "actions": [],
            },
        } }] })
    );
    assert_eq!(shown[2]["audit"][0]["kind"], "grant");
    assert_eq!(shown.len(), 3);
}

#[test]
fn a_no_from_the_user_changes_nothing_and_is_remembered() {
    let mut e = live(json!({}));
    let ask = request_api_write(5, "to save");
    e.receive(APP, ask, T);
    let done = e.complete(APP, answer_api_write(5, false), T);
    let shown = show(&done);
    assert_eq!(shown[0], ok_reply(5, json!(false)));
    assert_eq!(shown[1]["audit"][0]["kind"], "refusal");
    assert_eq!(shown.len(), 2, "no permissions.changed: {shown:?}");
    // Asked again: answered at once, the user is not asked twice.
    let again = request_api_write(6, "please");
    assert_eq!(
        show(&e.receive(APP, again, T))[0],
        ok_reply(6, json!(false))
    );
}

#[test]
fn a_request_no_one_could_be_asked_about_fails_and_is_not_remembered() {
    let mut e = live(json!({}));
    let ask = request_api_write(5, "to save");
    e.receive(APP, ask, T);
    let error = WardenError::new(ErrorCode::ModuleNotLoaded, "the dialog could not be shown");
    let done = e.complete(
        APP,
        Completion::Unasked {
            call_id: 5,
            error: error.clone(),
        },
        T,
    );
    let shown = show(&done);
    assert_eq!(
        shown[0]["message"]["error"]["code"], "MODULE_NOT_LOADED",
        "{shown:?}"
    );
    assert_eq!(shown[1]["audit"][0]["kind"], "refusal");
    assert_eq!(shown[1]["audit"][0]["code"], "MODULE_NOT_LOADED");
    assert_eq!(shown[1]["audit"][0]["method"], "permissions.request");
    assert_eq!(shown.len(), 2, "no permissions.changed: {shown:?}");
    // Asked again: the user is asked this time (nothing was remembered), and a yes grants.
    let again = request_api_write(6, "please");
    assert_eq!(
        show(&e.receive(APP, again, T))[0],
        json!({ "ask": APP, "callId": 6, "permission": "api:write", "reason": "please" })
    );
    let done = e.complete(APP, answer_api_write(6, true), T);
    assert_eq!(show(&done)[0], ok_reply(6, json!(true)));
}

#[test]
fn deferred_storage_is_a_plan_completed_later() {
    let mut e = live(json!({ "storage": "indexeddb" }));
    let effects = e.receive(APP, call(6, "storage.get", json!({ "key": "k" })), T);
    assert_eq!(
        show(&effects),
        vec![
            json!({ "storage": APP, "callId": 6 }),
            json!({ "audit": [call_audit("storage.get")] }),
        ]
    );
    let done = e.complete(
        APP,
        Completion::Storage {
            call_id: 6,
            result: Ok(Some(json!({ "x": 1 }))),
        },
        T,
    );
    assert_eq!(show(&done), vec![ok_reply(6, json!({ "x": 1 }))]);
}

#[test]
fn a_plugin_call_is_relayed_to_the_callee_and_its_answer_back() {
    let mut e = host(json!({}));
    install(
        &mut e,
        json!({ "id": "callee-app", "name": "Callee", "exposes": [{ "name": "echo" }] }),
        None,
    );
    install(
        &mut e,
        json!({ "id": "caller-app", "name": "Caller", "consumes": [{ "plugin": "callee-app", "name": "echo" }] }),
        None,
    );
    for id in ["callee-app", "caller-app"] {
        e.begin_mount(id, iframe(), T).expect("installed");
        e.handshake(id, hello(NONCE), T);
    }
    let effects = e.receive(
        "caller-app",
        call(
            7,
            "plugins.call",
            json!({ "plugin": "callee-app", "name": "echo", "args": [1] }),
        ),
        T,
    );
    let shown = show(&effects);
    assert_eq!(shown[0]["post"], "callee-app");
    assert_eq!(shown[0]["message"]["event"], "plugins.call");
    assert_eq!(
        shown[0]["message"]["data"]["caller"]["pluginId"],
        "caller-app"
    );
    let relay = shown[0]["message"]["data"]["call"]
        .as_u64()
        .expect("a relay id");
    assert_eq!(shown.len(), 2, "the call, then its audit: {shown:?}");
    let answer = e.receive(
        "callee-app",
        call(
            1,
            "plugins.respond",
            json!({ "call": relay, "value": "pong" }),
        ),
        T,
    );
    let shown = show(&answer);
    assert_eq!(
        shown[..2],
        [
            json!({ "post": "caller-app", "message": { "v": 1, "id": 7, "ok": true, "value": "pong" } }),
            json!({ "post": "callee-app", "message": { "v": 1, "id": 1, "ok": true, "value": null } }),
        ]
    );
}

#[test]
fn ui_render_is_a_render_effect_completed_by_the_browser() {
    let mut e = host(json!({}));
    install(
        &mut e,
        manifest(APP, json!({ "permissions": ["ui:render"] })),
        Some("self.x = 1;"),
    );
    let code = e.mount_code(APP, None).expect("installed code");
    let spec = MountSpec {
        mode: MountMode::Worker(RunnerJob {
            code,
            csp: "default-src 'none'".into(),
        }),
        nonce: Some(NONCE.into()),
        ui: Some(UiMode::Shadow),
    };
    e.begin_mount(APP, spec, T).expect("installed");
    let welcome = show(&e.handshake(APP, hello(NONCE), T));
    assert_eq!(welcome[0]["mode"], "worker");
    assert_eq!(welcome[0]["message"]["kind"], "worker");
    assert_eq!(welcome[0]["message"]["code"], "self.x = 1;");
    assert_eq!(welcome[0]["message"]["csp"], "default-src 'none'");
    let effects = e.receive(APP, call(8, "ui.render", json!({ "html": "<p>hi</p>" })), T);
    assert_eq!(
        show(&effects)[0],
        json!({ "render": APP, "callId": 8, "html": "<p>hi</p>" })
    );
    let done = e.complete(
        APP,
        Completion::Render {
            call_id: 8,
            result: Err(WardenError::new(ErrorCode::MountFailed, "no remote UI")),
        },
        T,
    );
    assert_eq!(show(&done)[0]["message"]["error"]["code"], "MOUNT_FAILED");
}

#[test]
fn refused_messages_are_answered_when_an_id_is_known_and_always_audited() {
    let mut e = live(json!({}));
    // Unreadable (JSON.stringify threw): answered through the id the browser read.
    let effects = e.receive(APP, Incoming::unreadable().with_id_hint(Some(9)), T);
    let shown = show(&effects);
    assert_eq!(shown[0]["message"]["id"], 9);
    assert_eq!(shown[0]["message"]["error"]["code"], "MESSAGE_REJECTED");
    assert_eq!(shown[1]["audit"][0]["kind"], "refusal");
    assert_eq!(shown.len(), 2);
    // Without an id nothing can be answered; it is still audited.
    let shown = show(&e.receive(APP, Incoming::unreadable(), T));
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["audit"][0]["code"], "MESSAGE_REJECTED");
    // An undeclared method: answered with its id.
    let shown = show(&e.receive(APP, call(10, "admin.exec", json!({})), T));
    assert_eq!(shown[0]["message"]["error"]["code"], "MESSAGE_REJECTED");
    // A capability the plugin lacks.
    let shown = show(&e.receive(APP, call(11, "ui.notify", json!({ "message": "x" })), T));
    assert_eq!(shown[0]["message"]["error"]["code"], "PERMISSION_DENIED");
    assert_eq!(shown[1]["audit"][0]["method"], "ui.notify");
}

#[test]
fn a_plugin_that_is_not_mounted_gets_nothing() {
    let mut e = host(json!({}));
    install(&mut e, manifest(APP, json!({})), None);
    e.undelivered_audit();
    assert!(e
        .receive(APP, call(1, "storage.keys", json!({})), T)
        .is_empty());
    assert!(e
        .receive("ghost-app", call(1, "storage.keys", json!({})), T)
        .is_empty());
}

#[test]
fn a_flood_is_refused_then_suspended_and_torn_down() {
    let mut e = live(json!({ "limits": { "callsPerSecond": 1, "burst": 1, "suspendAfter": 2 } }));
    assert_eq!(
        show(&e.receive(APP, call(1, "storage.keys", json!({})), T))[0],
        ok_reply(1, json!([]))
    );
    let mut last = Vec::new();
    for id in 2..20u64 {
        let shown = show(&e.receive(APP, call(id, "storage.keys", json!({})), T));
        if shown.iter().any(|s| s.get("tearDown").is_some()) {
            last = shown;
            break;
        }
        assert_eq!(
            shown[0]["message"]["error"]["code"], "RATE_LIMITED",
            "{shown:?}"
        );
    }
    assert_eq!(last[0]["message"]["error"]["code"], "RATE_LIMITED");
    assert_eq!(
        last[1],
        json!({ "tearDown": APP, "code": "RATE_LIMITED", "reason": "suspended for flooding" })
    );
    let kinds: Vec<&Value> = last[2]["audit"]
        .as_array()
        .expect("audited")
        .iter()
        .map(|ev| &ev["kind"])
        .collect();
    assert!(kinds.contains(&&json!("failure")), "{last:?}");
    assert!(matches!(e.status(APP), Ok(Status::Failed { .. })));
    assert_eq!(e.mount_state(APP), Some(MountState::Failed));
    // Suspended: further messages cost nothing and say nothing.
    assert!(e
        .receive(APP, call(99, "storage.keys", json!({})), T)
        .is_empty());
}

#[test]
fn a_refused_message_is_never_serialized_an_admitted_one_once() {
    use std::cell::Cell;
    let mut e =
        live(json!({ "limits": { "callsPerSecond": 0.001, "burst": 1, "suspendAfter": 0 } }));
    let made = Cell::new(0u32);
    let lazy = |id: u64| {
        let made = &made;
        Incoming::later(move || {
            made.set(made.get() + 1);
            Some(json!({ "v": 1, "id": id, "method": "storage.keys", "params": {} }).to_string())
        })
        .with_id_hint(Some(id))
    };
    assert_eq!(show(&e.receive(APP, lazy(1), T))[0], ok_reply(1, json!([])));
    assert_eq!(made.get(), 1, "the admitted message's text was made once");
    for id in 2..50u64 {
        let shown = show(&e.receive(APP, lazy(id), T));
        assert_eq!(
            shown[0]["message"]["id"], id,
            "answered through the id hint"
        );
        assert_eq!(shown[0]["message"]["error"]["code"], "RATE_LIMITED");
    }
    assert_eq!(made.get(), 1, "no refused message was serialized");
    // A pong read off the object (`with_pong`) is consumed without its text either.
    let mut e = live(json!({ "limits": { "heartbeatMs": 100, "unresponsiveAfterMs": 300 } }));
    e.undelivered_audit();
    assert_eq!(e.heartbeat(T + 100.0).len(), 1);
    let pong = Incoming::later(|| panic!("a pong's text is never needed")).with_pong(Some(1));
    assert!(e.receive(APP, pong, T + 101.0).is_empty());
}

#[test]
fn a_pong_answering_the_ping_is_consumed_before_the_rate_limiter() {
    let mut e = live(json!({ "limits": {
        "heartbeatMs": 100, "unresponsiveAfterMs": 300, "burst": 1, "callsPerSecond": 0.001,
    } }));
    e.undelivered_audit();
    for seq in 1..=5u64 {
        let beats = e.heartbeat(T + 100.0 * seq as f64);
        assert_eq!(beats.len(), 1, "one ping per beat");
        let pong = json!({ "v": 1, "event": "pong", "data": { "seq": seq } }).to_string();
        assert!(
            e.receive(APP, Incoming::json(pong), T + 100.0 * seq as f64 + 1.0)
                .is_empty(),
            "a pong is answered by nothing"
        );
    }
    // The one-call budget is intact.
    assert_eq!(
        show(&e.receive(APP, call(1, "storage.keys", json!({})), T + 600.0))[0],
        ok_reply(1, json!([]))
    );
    // A pong for no ping goes on as any other message: rate-limited now (no id to answer).
    let stray = json!({ "v": 1, "event": "pong", "data": { "seq": 77 } }).to_string();
    let shown = show(&e.receive(APP, Incoming::json(stray), T + 600.0));
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["audit"][0]["code"], "RATE_LIMITED");
}

/// The browser layer prepares a plugin's message outside the engine (`Incoming::prepare`, where
/// a load of the core's second part can be cut off) after asking the rate limiter without
/// changing it (`Engine::would_refuse`). Neither may change an answer: two twin hosts, one given
/// every message as it is and one given it prepared, answer the same, audit the same, and what
/// the limiter was asked before each message is what `receive` then does.
#[test]
fn a_prepared_message_is_answered_as_the_same_message_unprepared() {
    let config =
        json!({ "limits": { "callsPerSecond": 2, "burst": 3, "suspendAfter": 6, "maxDepth": 4 } });
    let (mut plain, mut prepared) = (live(config.clone()), live(config));
    plain.undelivered_audit();
    prepared.undelivered_audit();
    let too_deep = json!({ "v": 1, "id": 5, "method": "storage.set",
        "params": { "key": "k", "value": { "a": { "b": { "c": 1 } } } } })
    .to_string();
    let messages: Vec<(Box<dyn Fn() -> Incoming<'static>>, f64)> = vec![
        (
            Box::new(|| call(1, "storage.set", json!({ "key": "k", "value": 1 }))),
            T,
        ),
        (
            Box::new(|| call(2, "storage.get", json!({ "key": "k" }))),
            T,
        ),
        (Box::new(|| call(3, "admin.exec", json!({}))), T + 600.0),
        (
            Box::new(|| Incoming::json("{not json").with_id_hint(Some(4))),
            T + 1200.0,
        ),
        (
            Box::new(move || Incoming::json(too_deep.clone())),
            T + 1800.0,
        ),
        (
            Box::new(|| Incoming::unreadable().with_id_hint(Some(6))),
            T + 2400.0,
        ),
        (
            Box::new(|| {
                Incoming::later_checked(|| Err(Unread::TooLarge { at_least: 1 << 20 }))
                    .with_id_hint(Some(7))
            }),
            T + 3000.0,
        ),
        (
            Box::new(|| call(8, "ui.notify", json!({ "message": "x" }))),
            T + 3600.0,
        ),
        // A flood: admitted while the bucket lasts, then refused, then suspended.
        (Box::new(|| call(9, "storage.keys", json!({}))), T + 3601.0),
        (Box::new(|| call(10, "storage.keys", json!({}))), T + 3601.0),
        (Box::new(|| call(11, "storage.keys", json!({}))), T + 3601.0),
        (Box::new(|| call(12, "storage.keys", json!({}))), T + 3601.0),
        (Box::new(|| call(13, "storage.keys", json!({}))), T + 3601.0),
        (Box::new(|| call(14, "storage.keys", json!({}))), T + 3601.0),
        (Box::new(|| call(15, "storage.keys", json!({}))), T + 3601.0),
        (Box::new(|| call(16, "storage.keys", json!({}))), T + 3601.0),
        (Box::new(|| call(17, "storage.keys", json!({}))), T + 3601.0),
        (Box::new(|| call(18, "storage.keys", json!({}))), T + 3601.0),
    ];
    let limits = *prepared.limits();
    let mut refused = 0;
    for (i, (make, at)) in messages.iter().enumerate() {
        let refuses = prepared.would_refuse(APP, *at);
        assert_eq!(refuses, plain.would_refuse(APP, *at));
        assert_eq!(
            prepared.would_refuse(APP, *at),
            refuses,
            "asking changes nothing"
        );
        let mut message = make();
        if !refuses {
            message.prepare(&limits);
        }
        let (a, b) = (
            show(&plain.receive(APP, make(), *at)),
            show(&prepared.receive(APP, message, *at)),
        );
        let strip = |mut v: Vec<Value>| {
            for effect in &mut v {
                if let Some(events) = effect.get_mut("audit").and_then(Value::as_array_mut) {
                    for ev in events {
                        if let Some(o) = ev.as_object_mut() {
                            o.remove("seq");
                        }
                    }
                }
            }
            v
        };
        assert_eq!(strip(a.clone()), strip(b), "message {i}");
        let code = a
            .first()
            .and_then(|s| s["message"]["error"]["code"].as_str());
        if refuses {
            refused += 1;
            assert!(
                a.iter().any(|s| s.get("tearDown").is_some()) || code == Some("RATE_LIMITED"),
                "message {i}: {a:?}"
            );
        } else {
            assert_ne!(code, Some("RATE_LIMITED"), "message {i}: {a:?}");
        }
    }
    assert!(refused >= 3, "the flood was refused ({refused} times)");
    // Suspended: its messages are dropped, not refused.
    assert!(!prepared.would_refuse(APP, T + 9000.0));
    assert!(prepared
        .receive(APP, call(99, "storage.keys", json!({})), T + 9000.0)
        .is_empty());
}

// ----- the handshake's states ------------------------------------------------------------------

fn rejection(effects: &[Effect]) -> String {
    let shown = show(effects);
    assert_eq!(shown.len(), 1, "only the audit event: {shown:?}");
    let ev = &shown[0]["audit"][0];
    assert_eq!(ev["kind"], "handshakeRejected");
    assert_eq!(ev["code"], "MESSAGE_REJECTED");
    ev["detail"]["reason"]
        .as_str()
        .expect("a reason")
        .to_owned()
}

#[test]
fn the_handshake_welcomes_the_right_nonce_once() {
    let mut e = host(json!({}));
    install(&mut e, manifest(APP, json!({})), None);
    e.undelivered_audit();
    // A hello for a plugin that was never mounted.
    let why = rejection(&e.handshake(APP, hello(NONCE), later()));
    assert!(why.contains("has no mount"), "{why}");
    e.begin_mount(APP, iframe(), T).expect("installed");
    assert_eq!(e.status(APP).ok(), Some(&Status::Mounting));
    assert_eq!(e.mount_state(APP), Some(MountState::Pending));
    // A second mount while this one is pending.
    assert_eq!(
        e.begin_mount(APP, iframe(), T).unwrap_err().code,
        ErrorCode::AlreadyExists
    );
    // `present` is a timing hint: noted, not answered, not counted.
    assert!(!e.mount_announced(APP));
    let present = Incoming::json(r#"{"ns":"plugin-warden","v":1,"type":"present"}"#);
    assert!(e.handshake(APP, present, later()).is_empty());
    assert!(e.mount_announced(APP));
    // The wrong nonce, a malformed hello, another message type, an unreadable message.
    let wrong = rejection(&e.handshake(APP, hello(&"0".repeat(32)), later()));
    assert_eq!(wrong, "a hello with the wrong nonce");
    let v2 = Incoming::json(
        json!({ "ns": "plugin-warden", "v": 2, "type": "hello", "nonce": NONCE }).to_string(),
    );
    assert!(rejection(&e.handshake(APP, v2, later())).starts_with("a malformed hello: v:"));
    let extra = Incoming::json(
        json!({ "ns": "plugin-warden", "v": 1, "type": "hello", "nonce": NONCE, "grants": ["*"] })
            .to_string(),
    );
    assert!(rejection(&e.handshake(APP, extra, later())).starts_with("a malformed hello"));
    let crashed = Incoming::json(r#"{"ns":"plugin-warden","v":1,"type":"crashed","message":"x"}"#);
    assert_eq!(
        rejection(&e.handshake(APP, crashed, later())),
        "a window message that is not a version-1 hello",
        "only the runner page reports crashes"
    );
    assert_eq!(
        rejection(&e.handshake(APP, Incoming::unreadable(), later())),
        "a window message that is not a version-1 hello"
    );
    assert_eq!(e.rejected_handshakes(), 6);
    assert_eq!(e.mount_state(APP), Some(MountState::Pending));
    // The right hello: welcomed, mounted, watched.
    let shown = show(&e.handshake(APP, hello(NONCE), later()));
    assert_eq!(
        shown[0],
        json!({ "welcome": APP, "mode": "iframe", "message": {
            "ns": "plugin-warden", "v": 1, "type": "welcome", "pluginId": APP,
            "grants": ["api:read", "events", "permissions", "storage"], "actions": [],
            "version": "1.0.0", "previousVersion": null,
        } })
    );
    assert_eq!(shown[1]["audit"][0]["kind"], "mount");
    assert_eq!(shown.len(), 2);
    assert_eq!(e.status(APP).ok(), Some(&Status::Mounted));
    assert_eq!(e.mount_state(APP), Some(MountState::Live));
    assert!(e.is_current_mount(APP, NONCE));
    // A replay is refused.
    let again = rejection(&e.handshake(APP, hello(NONCE), later()));
    assert_eq!(
        again,
        "a second hello for a mount that already completed its handshake"
    );
    // After unmount, the old mount's hello is refused too.
    e.set_status(APP, Status::Installed, T).expect("installed");
    e.undelivered_audit();
    assert_eq!(e.mount_state(APP), Some(MountState::Unmounted));
    assert!(!e.is_current_mount(APP, NONCE));
    let ended = rejection(&e.handshake(APP, hello(NONCE), later()));
    assert!(ended.contains("whose mount has ended"), "{ended}");
    assert_eq!(e.rejected_handshakes(), 8);
    // A new mount with a new nonce starts over.
    let spec = MountSpec {
        nonce: Some("f".repeat(32)),
        ..iframe()
    };
    e.begin_mount(APP, spec, T).expect("mounted again");
    assert!(rejection(&e.handshake(APP, hello(NONCE), later())).contains("wrong nonce"));
    assert!(matches!(
        e.handshake(APP, hello(&"f".repeat(32)), later()).first(),
        Some(Effect::Welcome { .. })
    ));
}

#[test]
fn a_window_message_from_no_mount_is_refused_and_counted() {
    let mut e = host(json!({}));
    let why = rejection(&e.refuse_handshake(
        None,
        "a plugin-warden message from a window that is no mounted plugin",
        T,
    ));
    assert!(why.contains("no mounted plugin"));
    assert_eq!(e.rejected_handshakes(), 1);
}

/// Any frame that can post to the host page can send refused hellos: one audit event a second
/// per source (the windows that are no mount; each plugin), the rest counted, and the next
/// event says how many. So a flood cannot push the log's other events out.
#[test]
fn a_flood_of_refused_hellos_is_audited_once_a_second_per_source() {
    let mut e = host(json!({ "auditCapacity": 50 }));
    install(&mut e, manifest(APP, json!({})), None);
    e.undelivered_audit();
    let before = e.audit_log().len();
    for i in 0..1000 {
        let t = T + f64::from(i) * 0.5; // 1000 in half a second
        e.refuse_handshake(
            None,
            "a plugin-warden message from a window that is no mounted plugin",
            t,
        );
        e.handshake(APP, hello(NONCE), t);
    }
    assert_eq!(e.rejected_handshakes(), 2000);
    let events = e.audit_log();
    let refused: Vec<_> = events[before..]
        .iter()
        .map(|a| serde_json::to_value(a).unwrap())
        .filter(|a| a["kind"] == "handshakeRejected")
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().any(|a| a["plugin"] == APP));
    assert!(refused.iter().any(|a| a.get("plugin").is_none()));
    // A second later: one more each, saying how many were only counted.
    e.refuse_handshake(
        None,
        "a plugin-warden message from a window that is no mounted plugin",
        T + 1500.0,
    );
    e.handshake(APP, hello(NONCE), T + 1500.0);
    let last: Vec<_> = e
        .audit_log()
        .iter()
        .rev()
        .take(2)
        .map(|a| serde_json::to_value(a).unwrap())
        .collect();
    for a in &last {
        assert_eq!(a["kind"], "handshakeRejected");
        assert_eq!(a["detail"]["unauditedBefore"], 999, "{a}");
    }
    // The rest of the log was not pushed out: the install is still in it.
    assert!(e
        .audit_log()
        .iter()
        .any(|a| serde_json::to_value(a).unwrap()["kind"] == "install"));
}

#[test]
fn a_runner_crash_fails_the_mount_and_tears_it_down() {
    let mut e = host(json!({}));
    install(&mut e, manifest(APP, json!({})), Some("throw 1"));
    let code = e.mount_code(APP, None).expect("installed code");
    let spec = MountSpec {
        mode: MountMode::Bundle(RunnerJob {
            code,
            csp: "default-src 'none'".into(),
        }),
        nonce: Some(NONCE.into()),
        ui: None,
    };
    e.begin_mount(APP, spec, T).expect("installed");
    e.undelivered_audit();
    let long = "y".repeat(2_000);
    let crashed = Incoming::json(
        json!({ "ns": "plugin-warden", "v": 1, "type": "crashed", "message": long }).to_string(),
    );
    let shown = show(&e.handshake(APP, crashed, later()));
    let reason = format!(
        "the code of plugin \"acme-app\" crashed: {}",
        "y".repeat(500)
    );
    assert_eq!(
        shown[0],
        json!({ "tearDown": APP, "code": "MOUNT_FAILED", "reason": reason })
    );
    assert_eq!(shown[1]["audit"][0]["kind"], "failure");
    assert_eq!(e.mount_state(APP), Some(MountState::Failed));
    // The failed mount takes no hello.
    assert!(rejection(&e.handshake(APP, hello(NONCE), later())).contains("has ended"));
}

#[test]
fn a_shadow_mount_connects_without_a_hello() {
    let mut e = host(json!({}));
    install(&mut e, manifest(APP, json!({})), None);
    let spec = MountSpec {
        mode: MountMode::Shadow,
        nonce: None,
        ui: None,
    };
    e.begin_mount(APP, spec, T).expect("installed");
    e.undelivered_audit();
    assert!(rejection(&e.handshake(APP, hello(NONCE), later())).contains("shadow mount"));
    let welcome: Value =
        serde_json::from_str(&e.connect_shadow(APP, T).expect("pending")).expect("JSON");
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["pluginId"], APP);
    assert_eq!(e.status(APP).ok(), Some(&Status::Mounted));
    assert_eq!(
        e.connect_shadow(APP, T).unwrap_err().code,
        ErrorCode::MountFailed,
        "once"
    );
}

// ----- audit delivery without a listener ---------------------------------------------------------

/// The same session on two hosts, one with an audit listener and one without: the installs, the
/// handshake, allowed, denied, malformed and flooding calls, a deferred completion.
fn session(e: &mut Engine<MemoryBackend>) -> Vec<Vec<Effect>> {
    install(e, manifest(APP, json!({})), None);
    e.begin_mount(APP, iframe(), T).expect("installed");
    let mut out = vec![e.handshake(APP, hello(NONCE), later())];
    out.push(e.receive(
        APP,
        call(1, "storage.set", json!({ "key": "k", "value": 1 })),
        T,
    ));
    out.push(e.receive(APP, call(2, "storage.get", json!({ "key": "k" })), T));
    // Denied by policy (no `ui:render`), malformed, and a forbidden key.
    out.push(e.receive(APP, call(3, "ui.render", json!({ "html": "<b>x</b>" })), T));
    out.push(e.receive(APP, Incoming::json("{\"v\":1,\"id\":4,"), T));
    out.push(e.receive(
        APP,
        call(
            5,
            "storage.set",
            json!({ "key": "k", "value": { "__proto__": {} } }),
        ),
        T,
    ));
    out.push(e.receive(
        APP,
        call(
            6,
            "api.fetch",
            json!({ "url": "https://evil.example/?token=s3cr3t" }),
        ),
        T,
    ));
    // A refused handshake has no plugin message behind it.
    out.push(e.refuse_handshake(None, "a hello from an unknown window", T));
    out.push(e.undelivered_audit());
    out
}

#[test]
fn without_an_audit_listener_no_event_is_copied_out_and_the_log_is_the_same() {
    let mut heard = host(json!({ "auditCapacity": 4 }));
    let mut deaf = host(json!({ "auditCapacity": 4 }));
    deaf.set_audit_listener(false);
    let with = session(&mut heard);
    let without = session(&mut deaf);

    // The listener received every event, in order, once: the ones still held are the log's
    // newest, and seq runs without a gap from 1.
    let delivered: Vec<_> = with
        .iter()
        .flatten()
        .filter_map(|e| match e {
            Effect::Audit(events) => Some(events.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let seqs: Vec<u64> = delivered.iter().map(|ev| ev.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert!(seqs.len() > 4, "the session outgrows the ring: {seqs:?}");
    assert_eq!(heard.audit_log(), delivered[delivered.len() - 4..].to_vec());

    // Without a listener: the same effects less the deliveries, the same log and counts.
    for (w, wo) in with.iter().zip(&without) {
        let rest: Vec<&Effect> = w
            .iter()
            .filter(|e| !matches!(e, Effect::Audit(_)))
            .collect();
        assert_eq!(rest, wo.iter().collect::<Vec<_>>());
    }
    assert_eq!(deaf.audit_log(), heard.audit_log());
    assert!(!deaf.audit_log().is_empty());
    let counts = |e: &Engine<MemoryBackend>| e.info(APP).expect("installed").counts;
    assert_eq!(counts(&deaf), counts(&heard));
    assert_eq!(
        counts(&deaf).get("MESSAGE_REJECTED"),
        Some(&2),
        "{:?}",
        counts(&deaf)
    );
    assert_eq!(
        deaf.info(APP).expect("installed").allowed_calls,
        heard.info(APP).expect("installed").allowed_calls
    );
    assert!(
        !deaf.audit_log().iter().any(|ev| serde_json::to_string(ev)
            .expect("serializable")
            .contains("s3cr3t")),
        "still redacted"
    );

    // A listener set later hears what happens from then on, in order, and nothing recorded
    // before it (as a host that dropped those events in the browser did).
    deaf.set_audit_listener(true);
    assert!(deaf.undelivered_audit().is_empty());
    let last = deaf.audit_log().last().map(|ev| ev.seq).expect("events");
    let effects = deaf.receive(APP, call(7, "storage.get", json!({ "key": "k" })), T);
    let effects2 = deaf.receive(APP, call(8, "ui.notify", json!({ "message": "hi" })), T);
    let events: Vec<_> = effects
        .iter()
        .chain(&effects2)
        .filter_map(|e| match e {
            Effect::Audit(events) => Some(events.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(
        events.iter().map(|ev| ev.seq).collect::<Vec<_>>(),
        vec![last + 1, last + 2]
    );
    assert_eq!(
        events
            .iter()
            .map(|ev| ev.method.as_deref())
            .collect::<Vec<_>>(),
        vec![Some("storage.get"), Some("ui.notify")]
    );
    // And off again: nothing more is copied out.
    deaf.set_audit_listener(false);
    let effects = deaf.receive(APP, call(9, "storage.get", json!({ "key": "k" })), T);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Audit(_))));
    assert_eq!(
        deaf.audit_log().last().and_then(|ev| ev.method.clone()),
        Some("storage.get".to_owned())
    );
}

#[test]
fn a_message_too_long_to_copy_is_refused_with_its_size_and_answered_by_its_id() {
    let mut e = live(json!({ "limits": { "maxMessageBytes": 1024 } }));
    assert_eq!(e.max_message_bytes(), 1024);
    e.undelivered_audit();
    let huge = Incoming::later_checked(|| {
        Err(Unread::TooLarge {
            at_least: 50_000_000,
        })
    })
    .with_id_hint(Some(7));
    let shown = show(&e.receive(APP, huge, T));
    let reply = &shown[0]["message"];
    assert_eq!(reply["id"], 7, "{shown:?}");
    assert_eq!(reply["error"]["code"], "MESSAGE_REJECTED");
    let message = reply["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("at most 1024 bytes") && message.contains("at least 50000000"),
        "{message}"
    );
    let audit = e.audit_log();
    let refusal = audit
        .iter()
        .rev()
        .find(|ev| ev.code == Some(ErrorCode::MessageRejected))
        .expect("the refusal is audited");
    assert_eq!(refusal.plugin.as_deref(), Some(APP));
    // Without an id to answer it is dropped, still audited; the plugin keeps working.
    let before = e.audit_log().len();
    let anonymous = Incoming::later_checked(|| Err(Unread::TooLarge { at_least: 2048 }));
    assert!(
        show(&e.receive(APP, anonymous, T))
            .iter()
            .all(|m| m.get("post").is_none()),
        "nothing is posted without an id"
    );
    assert!(e.audit_log().len() > before);
    assert_eq!(
        show(&e.receive(APP, call(8, "storage.keys", json!({})), T))[0],
        ok_reply(8, json!([]))
    );
}

/// The browser layer also decides a plugin's call outside the engine (`Incoming::plan`, where
/// code the answer needs can be cut off before anything changes), by reading the engine alone.
/// That may change nothing either: twin hosts, one given every call as it is and one given it
/// prepared and planned, answer the same, audit the same and keep the same state, through every
/// method, the refusals serving them makes (a key too long, over the quota, too many calls in
/// flight, a URL not declared, a request not allowed) and the changes they make.
#[test]
fn a_planned_call_is_answered_and_changes_as_the_same_call_unplanned() {
    let config = json!({ "limits": { "callsPerSecond": 1000, "burst": 1000, "maxInFlight": 2,
        "storageQuotaBytes": 200 } });
    let (mut plain, mut planned) = (live(config.clone()), live(config));
    plain.undelivered_audit();
    planned.undelivered_audit();
    let calls: Vec<(&str, Value)> = vec![
        (
            "storage.set",
            json!({ "key": "k", "value": { "a": [1, 2] } }),
        ),
        ("storage.set", json!({ "key": "k".repeat(300), "value": 1 })),
        (
            "storage.set",
            json!({ "key": "big", "value": "x".repeat(300) }),
        ),
        ("storage.get", json!({ "key": "k" })),
        ("storage.get", json!({ "key": "missing" })),
        ("storage.keys", json!({})),
        ("storage.remove", json!({ "key": "k" })),
        ("storage.remove", json!({ "key": "" })),
        ("storage.set", json!({ "key": "again", "value": null })),
        ("storage.clear", json!({})),
        ("storage.keys", json!({})),
        ("permissions.list", json!({})),
        ("permissions.has", json!({ "permission": "storage" })),
        (
            "permissions.has",
            json!({ "permission": format!("{APP}.notes:read") }),
        ),
        ("permissions.has", json!({ "permission": "folders:admin" })),
        (
            "permissions.request",
            json!({ "permission": "storage", "reason": "x" }),
        ),
        (
            "permissions.request",
            json!({ "permission": "ui:render", "reason": "x" }),
        ),
        (
            "permissions.request",
            json!({ "permission": "not one", "reason": "x" }),
        ),
        (
            "permissions.request",
            json!({ "permission": "ui:notify", "reason": "to say so" }),
        ),
        ("api.canFetch", json!({ "url": format!("{API}items") })),
        ("api.canFetch", json!({ "url": "https://evil.example/" })),
        ("api.canFetch", json!({ "url": "not a url" })),
        ("api.fetch", json!({ "url": "https://evil.example/" })),
        (
            "api.fetch",
            json!({ "url": format!("{API}items"), "method": "GET", "body": "x" }),
        ),
        ("api.fetch", json!({ "url": format!("{API}items") })),
        // Two in flight already (the request above and the permission asked): refused.
        ("api.fetch", json!({ "url": format!("{API}more") })),
        (
            "permissions.request",
            json!({ "permission": "api:write", "reason": "to write" }),
        ),
        ("events.subscribe", json!({ "name": "refresh" })),
        ("events.unsubscribe", json!({ "name": "refresh" })),
        ("events.unsubscribe", json!({ "name": "never" })),
        (
            "events.emit",
            json!({ "name": "saved", "data": { "n": 1 } }),
        ),
        ("ui.notify", json!({ "message": "x" })),
        ("ui.render", json!({ "html": "<b>x</b>" })),
        (
            "plugins.call",
            json!({ "plugin": "other-app", "name": "f", "args": 1 }),
        ),
        ("plugins.respond", json!({ "call": 7, "value": 1 })),
    ];
    let limits = *planned.limits();
    let mut answers = Vec::new();
    for (i, (method, params)) in calls.iter().enumerate() {
        let id = i as u64 + 1;
        let at = T + id as f64;
        let mut message = call(id, method, params.clone());
        message.prepare(&limits);
        message.plan(&planned, APP);
        let (a, b) = (
            show(&plain.receive(APP, call(id, method, params.clone()), at)),
            show(&planned.receive(APP, message, at)),
        );
        assert_eq!(a, b, "call {id} ({method} {params})");
        let first = &a[0];
        answers.push(
            if let Some(code) = first["message"]["error"]["code"].as_str() {
                code.to_owned()
            } else if first["message"]["ok"] == json!(true) {
                "ok".to_owned()
            } else {
                ["ask", "fetch", "emit"]
                    .into_iter()
                    .find(|k| first.get(*k).is_some())
                    .unwrap_or("?")
                    .to_owned()
            },
        );
    }
    // What they answered: every kind of answer and refusal above was reached.
    let expected = [
        "ok",
        "QUOTA_EXCEEDED",
        "QUOTA_EXCEEDED",
        "ok",
        "ok",
        "ok",
        "ok",
        "MESSAGE_REJECTED",
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        "PERMISSION_DENIED",
        "PERMISSION_DENIED",
        "ask",
        "ok",
        "ok",
        "ok",
        "NETWORK_DENIED",
        "MESSAGE_REJECTED",
        "fetch",
        "RATE_LIMITED",
        "RATE_LIMITED",
        "ok",
        "ok",
        "ok",
        "emit",
        "PERMISSION_DENIED",
        "PERMISSION_DENIED",
        "PERMISSION_DENIED",
        "NOT_FOUND",
    ];
    assert_eq!(answers, expected);
    let state = |e: &mut Engine<MemoryBackend>| {
        (
            show(&e.receive(APP, call(900, "storage.keys", json!({})), T + 900.0)),
            e.status(APP).ok().cloned(),
            e.audit_log().len(),
        )
    };
    assert_eq!(state(&mut plain), state(&mut planned));
}
