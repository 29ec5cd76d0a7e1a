//! What the browser layer asks before an `install` while the core's second part is not loaded
//! (src/web/index.js `needsChecks`): whether [`Manifest::parse`] accepts the manifest with the
//! default options (src/api.rs `PluginHost.__pw_manifestParses`). For a manifest of a first
//! visit's fields, on a host without `allowPlugins` where its id is not installed (the entry
//! module loads the part first for the others), it must answer as the install does: a
//! manifest it accepts that the install refuses would load the second part synchronously in
//! the install's middle (what it is there to prevent).
#![cfg(not(target_arch = "wasm32"))]

use plugin_warden::core::engine::{Engine, HostConfig, InstallInput};
use plugin_warden::core::manifest::{Manifest, ManifestOptions};
use plugin_warden::core::provenance::Provenance;
use plugin_warden::core::storage::MemoryBackend;
use proptest::prelude::*;
use serde_json::{json, Value};

const T: f64 = 1_000.0;

/// Whether `install(manifest)` (no options) succeeds on a new host with the options a host
/// usually gives: the steps `install_begin` runs.
fn installs(manifest: &str) -> bool {
    let config: HostConfig =
        serde_json::from_value(json!({ "hostVersion": "1.0.0", "user": { "role": "Viewer" } }))
            .expect("shape");
    let mut e = Engine::new(config, MemoryBackend::new()).expect("valid config");
    e.check_manifest(manifest, T)
        .and_then(|m| e.finish_install(m, &InstallInput::default(), Provenance::Unsigned, T))
        .is_ok()
}

fn parses(manifest: &str) -> bool {
    Manifest::parse(manifest, &ManifestOptions::default()).is_ok()
}

fn agree(manifest: &str) -> bool {
    let (said, did) = (parses(manifest), installs(manifest));
    assert_eq!(
        said,
        did,
        "the parse {}, the install {}: {manifest}",
        if said { "accepted it" } else { "refused it" },
        if did { "succeeded" } else { "failed" }
    );
    said
}

/// Manifests of a first visit's fields (what the browser layer asks about), valid and not.
fn cases() -> Vec<String> {
    let valid =
        json!({ "id": "acme-one", "name": "One", "version": "1.0.0", "permissions": ["storage"] });
    let with = |key: &str, value: Value| {
        let mut m = valid.clone();
        m[key] = value;
        m.to_string()
    };
    vec![
        valid.to_string(),
        json!({ "id": "acme-two", "name": "Two" }).to_string(),
        json!({ "id": "other-app", "name": "Other", "permissions": [] }).to_string(),
        with("version", json!("1")),
        with("version", json!(1)),
        with("version", json!("%VERSION%")),
        with("id", json!("Not An Id")),
        with("id", json!("a".repeat(300))),
        with("id", json!(null)),
        with("name", json!("")),
        with("name", json!(["x"])),
        with("permissions", json!("storage")),
        with("permissions", json!(["storage", "no-such:permission"])),
        with("permissions", json!(["storage", "storage"])),
        with("optionalPermissions", json!(["ui:notify"])),
        with("optionalPermissions", json!(["storage"])),
        with("optionalPermissions", json!([42])),
        with(
            "roles",
            json!([{ "role": { "name": "Reader", "permissions": [{ "action": "acme-one.pages:read" }] }, "grants": ["Viewer"] }]),
        ),
        with(
            "roles",
            json!([{ "role": { "name": "" }, "grants": ["Nobody"] }]),
        ),
        with(
            "includes",
            json!([{ "type": "page", "name": "Home", "path": "/a/%PLUGIN_ID%/home", "action": "acme-one.pages:read", "addToNav": true }]),
        ),
        with("includes", json!([{ "type": "page", "path": 7 }])),
        json!([1, 2]).to_string(),
        json!("acme-one").to_string(),
        "{ not json".to_owned(),
        String::new(),
    ]
}

#[test]
fn it_answers_as_the_install_does() {
    let answers: Vec<bool> = cases().iter().map(|m| agree(m)).collect();
    // The cases reach both answers.
    let passed = answers.iter().filter(|a| **a).count();
    assert!(passed >= 6 && answers.len() - passed >= 15, "{answers:?}");
}

fn field() -> impl Strategy<Value = (&'static str, Value)> {
    let key = prop::sample::select(vec![
        "id",
        "name",
        "version",
        "permissions",
        "optionalPermissions",
        "roles",
        "includes",
    ]);
    let value = prop_oneof![
        Just(json!(null)),
        any::<i32>().prop_map(Value::from),
        "[a-z0-9%.:*-]{0,12}".prop_map(Value::from),
        prop::collection::vec("[a-z:.*-]{0,12}", 0..4).prop_map(|v| json!(v)),
        prop::sample::select(vec![
            json!("1.2.3"),
            json!("storage"),
            json!(["storage", "ui:notify"]),
            json!(["api:read", "events"]),
            json!([]),
            json!({}),
        ]),
    ];
    (key, value)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A valid manifest with some of its fields replaced by arbitrary values.
    #[test]
    fn mutated_manifests_get_the_install_s_answer(
        changes in prop::collection::vec(field(), 0..4),
    ) {
        let mut m = json!({ "id": "acme-one", "name": "One", "version": "1.0.0", "permissions": ["storage"] });
        for (key, value) in changes {
            m[key] = value;
        }
        agree(&m.to_string());
    }
}
