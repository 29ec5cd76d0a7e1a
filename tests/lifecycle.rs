//! Plugin lifecycle in the engine: permission changes the plugin is told about, updates (the
//! state machine and its consent decisions), and the liveness heartbeat, with a clock double
//! (times are plain numbers).
#![cfg(not(target_arch = "wasm32"))]

use plugin_warden::core::engine::{
    Completion, Effect, Engine, Heartbeat, HostConfig, InstallInput, PermissionChange, Status,
};
use plugin_warden::core::error::ErrorCode;
use plugin_warden::core::provenance::Provenance;
use plugin_warden::core::storage::MemoryBackend;
use plugin_warden::core::update::ChangeKind;
use serde_json::{json, Value};

mod support;
use support::{send, Sent};

const T: f64 = 1_000.0;
const APP: &str = "acme-app";
const API: &str = "https://api.acme.example/v1/";

fn host(config: Value) -> Engine<MemoryBackend> {
    let config: HostConfig = serde_json::from_value(config).expect("a valid host config");
    Engine::new(config, MemoryBackend::new()).expect("the engine starts")
}

fn manifest(version: &str, extra: Value) -> Value {
    let mut m = json!({
        "id": APP, "name": "Test plugin", "version": version,
        "permissions": ["storage", "events"],
        "optionalPermissions": ["api:write", "ui:notify"],
        "network": [API],
        "roles": [{"role": {"name": "Reader", "permissions": [{"action": "acme-app.docs:read"}]},
                   "grants": ["Editor"]}],
    });
    if let (Some(m), Value::Object(extra)) = (m.as_object_mut(), extra) {
        m.extend(extra);
    }
    m
}

fn install(e: &mut Engine<MemoryBackend>, m: &Value) {
    let checked = e.check_manifest(&m.to_string(), T).expect("valid manifest");
    e.finish_install(checked, &InstallInput::default(), Provenance::Unsigned, T)
        .expect("installs");
}

fn mount(e: &mut Engine<MemoryBackend>) {
    e.set_status(APP, Status::Mounting, T).expect("installed");
    e.set_status(APP, Status::Mounted, T).expect("installed");
}

fn call(e: &mut Engine<MemoryBackend>, id: u64, method: &str, params: Value) -> Value {
    let msg = json!({"v": 1, "id": id, "method": method, "params": params}).to_string();
    match send(e, APP, Some(&msg), T) {
        Sent::Reply(r) => serde_json::from_str(&r).expect("JSON reply"),
        other => panic!("expected a reply, found {other:?}"),
    }
}

fn event(c: &PermissionChange) -> Value {
    serde_json::from_str(&c.message()).expect("JSON event")
}

/// The whole update pipeline as the browser drives it, with `consent` as the user's answer.
fn update(
    e: &mut Engine<MemoryBackend>,
    m: &Value,
    consent: bool,
) -> Result<plugin_warden::core::engine::UpdateInfo, plugin_warden::core::error::WardenError> {
    let parsed = e.check_update(APP, &m.to_string(), T)?;
    let pending = e.prepare_update(parsed, &InstallInput::default(), Provenance::Unsigned, T)?;
    e.finish_update(pending, consent, T)
}

fn last_audit(e: &Engine<MemoryBackend>) -> Value {
    serde_json::to_value(e.audit_log().last().expect("an event")).expect("serializes")
}

// ----- permission changes ---------------------------------------------------------------------

#[test]
fn grant_and_revoke_tell_a_mounted_plugin_only_when_its_set_changes() {
    let mut e = host(json!({}));
    install(&mut e, &manifest("1.0.0", json!({})));
    // Not mounted: nobody to tell.
    assert!(e.grant(APP, "api:write", T).expect("listed").is_empty());
    mount(&mut e);
    let changes = e.revoke(APP, "api:write", T).expect("known");
    assert_eq!(changes.len(), 1);
    assert_eq!(
        event(&changes[0]),
        json!({"v": 1, "event": "permissions.changed",
               "data": {"granted": ["events", "permissions", "storage"], "actions": []}})
    );
    // The same revocation again changes nothing: no event.
    assert!(e.revoke(APP, "api:write", T).expect("known").is_empty());
    let changes = e.grant(APP, "api:write", T).expect("listed");
    assert_eq!(
        event(&changes[0])["data"]["granted"],
        json!(["api:write", "events", "permissions", "storage"])
    );
    // permissions.list agrees with what the plugin was told.
    assert_eq!(
        call(&mut e, 1, "permissions.list", json!({}))["value"],
        json!(["api:write", "events", "permissions", "storage"])
    );
}

#[test]
fn a_user_switch_tells_plugins_whose_declared_actions_changed() {
    let mut e = host(json!({"user": {"role": "Viewer"}}));
    install(&mut e, &manifest("1.0.0", json!({})));
    mount(&mut e);
    let changes = e.set_user(json!({"role": "Editor"})).expect("valid user");
    assert_eq!(changes.len(), 1);
    assert_eq!(
        event(&changes[0])["data"]["actions"],
        json!(["acme-app.docs:read"])
    );
    // Admin includes Editor: the plugin's view is the same, nothing is sent.
    assert!(e
        .set_user(json!({"role": "Admin"}))
        .expect("valid")
        .is_empty());
    let changes = e.set_user(json!({"role": "Viewer"})).expect("valid");
    assert_eq!(event(&changes[0])["data"]["actions"], json!([]));
}

#[test]
fn a_user_prompt_grant_is_reported_after_the_answer() {
    let mut e = host(json!({}));
    install(&mut e, &manifest("1.0.0", json!({})));
    mount(&mut e);
    let msg = json!({"v": 1, "id": 1, "method": "permissions.request",
                     "params": {"permission": "ui:notify", "reason": "r"}})
    .to_string();
    let Sent::AskPermission {
        call_id,
        permission,
        ..
    } = send(&mut e, APP, Some(&msg), T)
    else {
        panic!("expected AskPermission");
    };
    assert!(
        e.permission_changes().is_empty(),
        "nothing changed before the answer"
    );
    let answer = Completion::Permission {
        call_id,
        permission,
        granted: true,
    };
    let changes: Vec<PermissionChange> = e
        .complete(APP, answer, T)
        .into_iter()
        .find_map(|effect| match effect {
            Effect::PermissionsChanged(changes) => Some(changes),
            _ => None,
        })
        .expect("the answer reports the change");
    assert_eq!(changes.len(), 1);
    assert!(event(&changes[0])["data"]["granted"]
        .as_array()
        .expect("list")
        .contains(&json!("ui:notify")));
    assert!(e.permission_changes().is_empty(), "told once");
}

#[test]
fn the_welcome_carries_the_view_and_versions() {
    let mut e = host(json!({"user": {"role": "Editor"}}));
    install(&mut e, &manifest("1.0.0", json!({})));
    let w = e.welcome_info(APP).expect("installed");
    assert_eq!(w.view.actions, vec!["acme-app.docs:read".to_owned()]);
    assert_eq!(w.version.as_deref(), Some("1.0.0"));
    assert_eq!(w.previous_version, None);
}

// ----- updates --------------------------------------------------------------------------------

#[test]
fn an_unknown_id_is_not_found_and_versions_must_increase() {
    let mut e = host(json!({}));
    assert_eq!(
        e.check_update(APP, &manifest("1.0.0", json!({})).to_string(), T)
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    install(&mut e, &manifest("1.2.0", json!({})));
    for v in ["1.2.0", "1.1.9", "0.9.0"] {
        let err = update(&mut e, &manifest(v, json!({})), true).unwrap_err();
        assert_eq!(err.code, ErrorCode::Incompatible, "{v}");
        let audit = last_audit(&e);
        assert_eq!(
            (audit["kind"].as_str(), audit["decision"].as_str()),
            (Some("update"), Some("deny"))
        );
    }
    assert_eq!(
        e.manifest(APP).expect("still installed").version(),
        Some("1.2.0")
    );
    // The same checks as install: a bad manifest, code that does not match `entry.integrity`.
    let bad = manifest("2.0.0", json!({"permissions": ["superpowers"]}));
    assert_eq!(
        e.check_update(APP, &bad.to_string(), T).unwrap_err().code,
        ErrorCode::InvalidManifest
    );
    // (A host that requires signatures refuses unsigned code in both, through the same
    // `code_checks`: see tests/provenance.rs; the integrity case below is the update's.)
    let input = InstallInput {
        code: Some("postMessage(1)".into()),
        integrity: Some("sha384-AAAA".into()),
        ..InstallInput::default()
    };
    let parsed = e
        .check_update(APP, &manifest("2.0.0", json!({})).to_string(), T)
        .expect("valid");
    assert_eq!(
        e.prepare_update(parsed, &input, Provenance::Unsigned, T)
            .unwrap_err()
            .code,
        ErrorCode::IntegrityMismatch
    );
    let parsed = e
        .check_update(
            APP,
            &manifest("2.0.0", json!({"compatibility": ">=9"})).to_string(),
            T,
        )
        .expect("valid");
    let mut e9 = host(json!({"hostVersion": "3.0.0"}));
    install(&mut e9, &manifest("1.0.0", json!({})));
    assert_eq!(
        e9.prepare_update(parsed, &InstallInput::default(), Provenance::Unsigned, T)
            .unwrap_err()
            .code,
        ErrorCode::Incompatible
    );
}

#[test]
fn a_widening_update_refused_leaves_everything_as_it_was() {
    let mut e = host(json!({}));
    install(&mut e, &manifest("1.0.0", json!({})));
    mount(&mut e);
    call(&mut e, 1, "storage.set", json!({"key": "k", "value": 1}));
    let wider = manifest(
        "1.1.0",
        json!({"permissions": ["storage", "events", "api:read"]}),
    );
    let parsed = e.check_update(APP, &wider.to_string(), T).expect("valid");
    let pending = e
        .prepare_update(parsed, &InstallInput::default(), Provenance::Unsigned, T)
        .expect("checks pass");
    assert!(pending.needs_consent());
    assert_eq!(
        pending
            .diff()
            .added
            .iter()
            .map(|c| (c.kind, c.value.as_str()))
            .collect::<Vec<_>>(),
        vec![(ChangeKind::Permission, "api:read")]
    );
    assert_eq!(
        pending.diff().added[0].words,
        "use the capability \u{201c}api:read\u{201d}"
    );
    let err = e.finish_update(pending, false, T).unwrap_err();
    assert_eq!(err.code, ErrorCode::PermissionDenied);
    assert!(
        err.message.contains("1.0.0 keeps running"),
        "{}",
        err.message
    );
    let audit = last_audit(&e);
    assert_eq!(
        (audit["kind"].as_str(), audit["code"].as_str()),
        (Some("update"), Some("PERMISSION_DENIED"))
    );
    assert_eq!(e.manifest(APP).expect("installed").version(), Some("1.0.0"));
    assert_eq!(e.status(APP).expect("known"), &Status::Mounted);
    assert_eq!(
        call(&mut e, 2, "storage.get", json!({"key": "k"}))["value"],
        json!(1)
    );
    assert_eq!(
        call(&mut e, 3, "api.fetch", json!({"url": API}))["error"]["code"],
        json!("PERMISSION_DENIED")
    );
}

#[test]
fn an_accepted_update_keeps_storage_and_declared_grants_and_records_the_previous_version() {
    let mut e = host(json!({}));
    install(&mut e, &manifest("1.0.0", json!({})));
    mount(&mut e);
    call(
        &mut e,
        1,
        "storage.set",
        json!({"key": "k", "value": "v1 data"}),
    );
    e.grant(APP, "api:write", T).expect("optional");
    e.grant(APP, "ui:notify", T).expect("optional");
    // 2.0.0 drops ui:notify, adds a network entry.
    let next = manifest(
        "2.0.0",
        json!({"optionalPermissions": ["api:write"],
        "network": [API, "https://files.acme.example/"]}),
    );
    let info = update(&mut e, &next, true).expect("consented");
    assert_eq!(
        (info.from.as_str(), info.to.as_str(), info.consent_needed),
        ("1.0.0", "2.0.0", true)
    );
    assert_eq!(info.added.len(), 1);
    assert_eq!(
        info.removed.iter().map(|c| c.kind).collect::<Vec<_>>(),
        vec![ChangeKind::OptionalPermission]
    );
    let audit = last_audit(&e);
    assert_eq!(
        (audit["kind"].as_str(), audit["decision"].as_str()),
        (Some("update"), Some("allow"))
    );
    assert_eq!(
        e.grants(APP).expect("installed"),
        vec!["api:write", "events", "permissions", "storage"]
    );
    assert_eq!(
        e.welcome_info(APP)
            .expect("installed")
            .previous_version
            .as_deref(),
        Some("1.0.0")
    );
    // The browser remounts it: storage is still there, the new network entry works.
    e.set_status(APP, Status::Installed, T).expect("installed");
    mount(&mut e);
    assert_eq!(
        call(&mut e, 2, "storage.get", json!({"key": "k"}))["value"],
        json!("v1 data")
    );
    assert!(matches!(
        send(&mut e, APP, Some(&json!({"v":1,"id":3,"method":"api.fetch","params":{"url":"https://files.acme.example/x","method":"POST"}}).to_string()), T),
        Sent::Fetch(_)
    ));
}

#[test]
fn a_narrowing_update_needs_no_consent() {
    let mut e = host(json!({}));
    install(&mut e, &manifest("1.0.0", json!({})));
    let narrower = manifest("1.0.1", json!({"permissions": ["storage"], "roles": []}));
    let info = update(&mut e, &narrower, false).expect("no consent needed");
    assert!(!info.consent_needed);
    assert!(info.added.is_empty());
    assert_eq!(info.removed.len(), 3, "{:?}", info.removed); // events, the role, its grant
    assert!(!e.has_permission("acme-app.docs:read", None));
}

#[test]
fn an_update_that_raced_another_is_refused() {
    let mut e = host(json!({}));
    install(&mut e, &manifest("1.0.0", json!({})));
    let parsed = e
        .check_update(APP, &manifest("1.1.0", json!({})).to_string(), T)
        .expect("valid");
    let slow = e
        .prepare_update(parsed, &InstallInput::default(), Provenance::Unsigned, T)
        .expect("ok");
    update(&mut e, &manifest("1.2.0", json!({})), true).expect("the fast one");
    assert_eq!(
        e.finish_update(slow, true, T).unwrap_err().code,
        ErrorCode::Incompatible
    );
    assert_eq!(e.manifest(APP).expect("installed").version(), Some("1.2.0"));
}

// ----- liveness -------------------------------------------------------------------------------

fn pings(beats: &[Heartbeat]) -> Vec<Value> {
    beats
        .iter()
        .filter_map(|b| match b {
            Heartbeat::Ping { message, .. } => serde_json::from_str(message).ok(),
            Heartbeat::Unresponsive { .. } => None,
        })
        .collect()
}

#[test]
fn the_heartbeat_pings_watched_plugins_and_fails_silent_ones_without_touching_rate_limits() {
    let mut e = host(
        json!({"limits": {"heartbeatMs": 100, "unresponsiveAfterMs": 300, "burst": 1, "callsPerSecond": 0.001}}),
    );
    install(&mut e, &manifest("1.0.0", json!({})));
    mount(&mut e);
    // Not watched yet (e.g. a shadow mount): no pings.
    assert!(e.heartbeat(T + 1_000.0).is_empty());
    e.watch_liveness(APP, T).expect("installed");
    let beats = e.heartbeat(T + 100.0);
    assert_eq!(
        pings(&beats),
        vec![json!({"v": 1, "event": "ping", "data": {"seq": 1}})]
    );
    // Answering many pings costs nothing of a one-call budget.
    let mut now = T + 100.0;
    for seq in 1..=20u64 {
        assert!(e.pong(APP, seq, now + 1.0));
        now += 100.0;
        assert_eq!(pings(&e.heartbeat(now)).len(), 1);
    }
    assert!(!e.pong(APP, 99, now), "a pong for no ping is not consumed");
    assert_eq!(
        call(&mut e, 1, "storage.keys", json!({}))["ok"],
        json!(true),
        "the call budget is intact"
    );
    // Then silence: failed after 300 ms without an answer, once.
    let mut failed = Vec::new();
    for _ in 0..10 {
        now += 50.0;
        for b in e.heartbeat(now) {
            if let Heartbeat::Unresponsive { plugin, message } = b {
                failed.push((now, plugin, message));
            }
        }
    }
    assert_eq!(failed.len(), 1);
    assert!(failed[0].2.contains("did not answer"), "{}", failed[0].2);
    // The mount ending stops the heartbeat.
    e.set_status(
        APP,
        Status::Failed {
            code: ErrorCode::Timeout,
            message: failed[0].2.clone(),
        },
        now,
    )
    .expect("known");
    assert!(e.heartbeat(now + 1_000.0).is_empty());
    assert!(!e.pong(APP, 21, now));
}

#[test]
fn heartbeat_limits_are_validated() {
    for limits in [
        json!({"heartbeatMs": 10}),
        json!({"heartbeatMs": 1000, "unresponsiveAfterMs": 1500}),
    ] {
        let config: HostConfig = serde_json::from_value(json!({"limits": limits})).expect("shape");
        let err = Engine::new(config, MemoryBackend::new())
            .err()
            .expect("refused");
        assert_eq!(err.code, ErrorCode::InvalidArgument);
    }
    let e = host(json!({}));
    assert_eq!(e.liveness_config().heartbeat_ms, 5_000);
    assert_eq!(e.liveness_config().unresponsive_after_ms, 15_000);
}

#[test]
fn a_silent_plugin_is_failed_with_how_long_it_was_silent_in_whole_milliseconds_and_the_limit() {
    let mut e = host(json!({"limits": {"heartbeatMs": 100, "unresponsiveAfterMs": 300}}));
    install(&mut e, &manifest("1.0.0", json!({})));
    mount(&mut e);
    e.watch_liveness(APP, T).expect("installed");
    assert_eq!(pings(&e.heartbeat(T + 100.0)).len(), 1);
    // No pong came; the browser's timer is late (a busy page): the first tick after the limit
    // fails it, once, and says for how long (whole milliseconds) and what the limit is.
    let beats = e.heartbeat(T + 800.7);
    assert!(
        matches!(&beats[..], [Heartbeat::Unresponsive { plugin, message }] if plugin == APP && message == "plugin \"acme-app\" did not answer the host's pings for 800 ms (limits.unresponsiveAfterMs = 300); it was stopped"),
        "{beats:?}"
    );
    assert!(e.heartbeat(T + 900.0).is_empty());
}
