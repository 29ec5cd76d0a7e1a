//! Host option `allowPlugins`: which plugin ids may be installed at all, checked before
//! anything else.
#![cfg(not(target_arch = "wasm32"))]

use plugin_warden::core::engine::{Engine, HostConfig, InstallInput, Status};
use plugin_warden::core::error::{ErrorCode, WardenError};
use plugin_warden::core::provenance::Provenance;
use plugin_warden::core::storage::MemoryBackend;
use serde_json::{json, Value};

const T: f64 = 1_000.0;

fn host(allow: Value) -> Result<Engine<MemoryBackend>, WardenError> {
    let config: HostConfig =
        serde_json::from_value(json!({ "allowPlugins": allow })).expect("shape");
    Engine::new(config, MemoryBackend::new())
}

fn install(e: &mut Engine<MemoryBackend>, manifest: &str) -> Result<(), WardenError> {
    let m = e.check_manifest(manifest, T)?;
    e.finish_install(m, &InstallInput::default(), Provenance::Unsigned, T)
        .map(|_| ())
}

fn manifest(id: &str) -> String {
    json!({ "id": id, "name": "P", "permissions": ["storage"] }).to_string()
}

#[test]
fn exact_ids_and_trailing_star_prefixes() {
    let mut e = host(json!(["acme-*", "grafana-clock-panel"])).expect("valid list");
    for ok in ["acme-patents-app", "acme-x1", "grafana-clock-panel"] {
        install(&mut e, &manifest(ok)).expect(ok);
    }
    for no in ["acme", "acmex-app", "grafana-clock-panel2", "evil-app"] {
        let err = install(&mut e, &manifest(no)).expect_err(no);
        assert_eq!(err.code, ErrorCode::PermissionDenied, "{no}: {err:?}");
        assert!(err.message.contains("allowPlugins"), "{}", err.message);
        assert!(
            matches!(
                e.status(no),
                Ok(Status::Failed {
                    code: ErrorCode::PermissionDenied,
                    ..
                })
            ),
            "{no} is recorded as failed"
        );
    }
}

#[test]
fn refused_before_any_other_check() {
    let mut e = host(json!(["acme-*"])).expect("valid list");
    // A manifest that is invalid in every other respect: still PERMISSION_DENIED.
    let broken =
        json!({ "id": "evil-app", "name": 7, "permissions": ["root"], "network": ["http://x"] });
    let err = install(&mut e, &broken.to_string()).expect_err("refused");
    assert_eq!(err.code, ErrorCode::PermissionDenied, "{err:?}");
    // The same broken manifest with an allowed id gets the full validation.
    let mut broken = broken;
    broken["id"] = json!("acme-app");
    let err = install(&mut e, &broken.to_string()).expect_err("invalid");
    assert_eq!(err.code, ErrorCode::InvalidManifest);
    // With a list, an id that cannot be read is INVALID_MANIFEST (nothing to match).
    for unreadable in [
        "{",
        "[]",
        r#"{"name":"x"}"#,
        r#"{"id":7}"#,
        r#"{"id":"Acme-App"}"#,
    ] {
        let err = install(&mut e, unreadable).expect_err(unreadable);
        assert_eq!(err.code, ErrorCode::InvalidManifest, "{unreadable}");
    }
    // The refusal is audited.
    assert!(e
        .audit_log()
        .iter()
        .any(|ev| ev.plugin.as_deref() == Some("evil-app")
            && ev.code == Some(ErrorCode::PermissionDenied)));
}

#[test]
fn empty_list_accepts_nothing_and_no_list_accepts_everything() {
    let mut e = host(json!([])).expect("valid");
    let err = install(&mut e, &manifest("acme-app")).expect_err("locked down");
    assert_eq!(err.code, ErrorCode::PermissionDenied);
    let mut open = Engine::new(HostConfig::default(), MemoryBackend::new()).expect("ok");
    install(&mut open, &manifest("anything-goes")).expect("no list");
}

#[test]
fn bad_patterns_are_invalid_argument_at_construction() {
    for (bad, says) in [
        (json!(["*"]), "bare"),
        (json!(["acme-*", "ac*me"]), "[1]"),
        (json!(["acme-**"]), "[0]"),
        (json!(["ACME-*"]), "[a-z0-9-]"),
        (json!(["acme?"]), "plugin id"),
        (json!(["ab"]), "3 to 64"),
        (json!(["folders"]), "reserved"),
        (json!([""]), "[0]"),
        (json!([format!("{}*", "a".repeat(64))]), "1 to 63"),
    ] {
        let err = host(bad.clone())
            .err()
            .unwrap_or_else(|| panic!("{bad} accepted"));
        assert_eq!(err.code, ErrorCode::InvalidArgument, "{bad}");
        assert!(
            err.message.contains("allowPlugins"),
            "{bad}: {}",
            err.message
        );
        assert!(err.message.contains(says), "{bad}: {}", err.message);
    }
    let wrong_type: Result<HostConfig, _> =
        serde_json::from_value(json!({ "allowPlugins": "acme-*" }));
    assert!(wrong_type.is_err());
}
