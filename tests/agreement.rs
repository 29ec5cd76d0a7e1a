//! The CLI and the package agree on every manifest: `plugin-warden check` (the binary itself,
//! run on a manifest file, with and without `--host-version`) against what the package does
//! with the same text (`validateManifest`'s core, `Manifest::parse`, then the engine's install
//! with `hostVersion`). Needs the `cli` feature: `cargo test --features cli --test agreement`.
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use plugin_warden::core::engine::{Engine, HostConfig, InstallInput};
use plugin_warden::core::error::{Coded as _, ErrorCode};
use plugin_warden::core::manifest::{Manifest, ManifestOptions};
use plugin_warden::core::provenance::Provenance;
use plugin_warden::core::storage::MemoryBackend;

/// What `plugin-warden check --json` said.
#[derive(Debug)]
struct CliVerdict {
    ok: bool,
    /// `(path, message)` of every `invalid-manifest` finding, in order.
    manifest_problems: Vec<(String, String)>,
    compat_status: String,
    codes: Vec<String>,
}

fn cli_check(text: &str, host: Option<&str>, case: u64) -> CliVerdict {
    let dir = std::env::temp_dir().join(format!("pw-agree-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file: PathBuf = dir.join(format!("m{case}.json"));
    std::fs::write(&file, text).expect("write manifest");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugin-warden"));
    cmd.arg("check").arg(&file).arg("--json");
    if let Some(h) = host {
        cmd.arg("--host-version").arg(h);
    }
    let out = cmd.stdin(Stdio::null()).output().expect("the binary runs");
    let _ = std::fs::remove_file(&file);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check --json printed JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    CliVerdict {
        ok: report["ok"] == Value::Bool(true),
        manifest_problems: findings
            .iter()
            .filter(|f| f["rule"] == "invalid-manifest")
            .map(|f| {
                (
                    f["path"].as_str().unwrap_or_default().to_owned(),
                    f["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        compat_status: report["compatibility"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        codes: findings
            .iter()
            .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
            .collect(),
    }
}

/// What the package does: `validateManifest` (problems) and `install` under `hostVersion`.
fn package(text: &str, host: Option<&str>) -> (Vec<(String, String)>, Result<(), ErrorCode>) {
    let problems = match Manifest::parse(text, &ManifestOptions::default()) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .problems
            .into_iter()
            .map(|p| (p.path, p.message))
            .collect(),
    };
    let config: HostConfig = serde_json::from_value(match host {
        Some(h) => json!({ "hostVersion": h }),
        None => json!({}),
    })
    .expect("host config");
    let mut engine = Engine::new(config, MemoryBackend::new()).expect("engine");
    let installed = engine
        .check_manifest(text, 0.0)
        .and_then(|checked| {
            engine.finish_install(checked, &InstallInput::default(), Provenance::Unsigned, 0.0)
        })
        .map(|_| ())
        .map_err(|e| e.code());
    (problems, installed)
}

fn assert_agree(text: &str, host: Option<&str>, case: u64) -> CliVerdict {
    let cli = cli_check(text, host, case);
    let (problems, installed) = package(text, host);
    assert_eq!(
        cli.manifest_problems, problems,
        "manifest problems differ for {text} (host {host:?})"
    );
    assert_eq!(
        cli.ok,
        installed.is_ok(),
        "verdicts differ for {text} (host {host:?}): cli {cli:?}, package {installed:?}"
    );
    if let Err(code) = installed {
        let code = serde_json::to_value(code).expect("code serializes");
        assert!(
            cli.codes.iter().any(|c| Value::String(c.clone()) == code),
            "the CLI's codes {:?} miss the package's {code} for {text}",
            cli.codes
        );
    }
    let expect_status = match (host, problems.is_empty(), installed) {
        (None, _, _) | (Some(_), false, _) => "not-checked",
        (Some(_), true, Ok(())) => {
            if text_has_range(text) {
                "compatible"
            } else {
                "no-range"
            }
        }
        (Some(_), true, Err(ErrorCode::Incompatible)) => "incompatible",
        (Some(_), true, Err(other)) => panic!("unexpected install error {other:?} for {text}"),
    };
    assert_eq!(
        cli.compat_status, expect_status,
        "for {text} (host {host:?})"
    );
    cli
}

fn text_has_range(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("compatibility").cloned())
        .is_some()
}

// ----- generators -----------------------------------------------------------------------------

fn version() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "1",
        "1.2",
        "1.2.3",
        "1.x",
        "1.2.x",
        "*",
        "x",
        "0.2.3",
        "0.0.3",
        "3.0.0-beta.1",
        "2.0.0+build",
        "v1.0.0",
        "banana",
        "1.2.3.4",
        "",
        "01.2.3",
        "99999999999999999999",
    ])
    .prop_map(str::to_owned)
}

fn comparator() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "", "^", "~", ">=", "<=", ">", "<", "=", ">= ", "~>", "^^",
        ]),
        version(),
    )
        .prop_map(|(op, v)| format!("{op}{v}"))
}

fn alternative() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (
            prop::collection::vec(comparator(), 0..4),
            prop::sample::select(vec![" ", ", ", ",", "  "]),
        )
            .prop_map(|(cs, sep)| cs.join(sep)),
        1 => (version(), version()).prop_map(|(a, b)| format!("{a} - {b}")),
        1 => Just("   ".to_owned()),
    ]
}

fn range() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(alternative(), 1..4),
        prop::sample::select(vec!["||", " || ", "|| ", "|||"]),
    )
        .prop_map(|(alts, sep)| alts.join(sep))
}

fn manifest() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["acme-app", "Bad Id", ""]),
        prop::sample::select(vec![json!("1.0.0"), json!("one"), json!(1)]),
        prop_oneof![
            6 => range().prop_map(Value::String),
            1 => Just(Value::Null),
            1 => Just(json!(3)),
            1 => Just(json!("^1.0.0")),
        ],
        any::<bool>(),
        prop::sample::select(vec![json!(["storage"]), json!(["bogus"]), json!([])]),
    )
        .prop_map(|(id, version, compat, has_compat, permissions)| {
            let mut m = Map::new();
            m.insert("id".into(), json!(id));
            m.insert("name".into(), json!("Test"));
            m.insert("version".into(), version);
            m.insert("permissions".into(), permissions);
            if has_compat && !compat.is_null() {
                m.insert("compatibility".into(), compat);
            }
            Value::Object(m).to_string()
        })
}

fn host_version() -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        prop::sample::select(vec![
            "1.0.0",
            "1.2.3",
            "1.5.0",
            "2.0.0",
            "3.0.0-beta.1",
            "0.2.5",
            "0.0.3",
            "9.1.0",
        ])
        .prop_map(str::to_owned),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cli_and_package_agree_on_generated_manifests(text in manifest(), host in host_version()) {
        static CASE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let case = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        assert_agree(&text, host.as_deref(), case);
    }
}

// ----- the three ranges ---------------------------------------------------------------

#[test]
fn empty_alternatives_and_empty_ranges_are_refused_everywhere() {
    for (i, range) in ["^9.0.0 ||", "", "|| ^1.0.0", "^1 || || ^2", ">=1,,<2"]
        .into_iter()
        .enumerate()
    {
        let text =
            json!({ "id": "acme-app", "name": "T", "version": "1.0.0", "compatibility": range })
                .to_string();
        for host in [None, Some("1.0.0"), Some("9.1.0")] {
            let cli = assert_agree(&text, host, 10_000 + i as u64);
            assert!(!cli.ok, "{range:?} (host {host:?}) must be refused");
            assert_eq!(cli.manifest_problems.len(), 1, "{range:?}: {cli:?}");
            assert_eq!(cli.manifest_problems[0].0, "compatibility");
            assert!(cli.codes.iter().all(|c| c == "INVALID_MANIFEST"), "{cli:?}");
        }
        let (problems, installed) = package(&text, Some("9.1.0"));
        assert_eq!(installed, Err(ErrorCode::InvalidManifest), "{range:?}");
        assert!(
            problems[0].1.contains("empty"),
            "the reason names the empty part: {}",
            problems[0].1
        );
    }
}

#[test]
fn a_valid_range_is_checked_the_same_way() {
    let text = json!({ "id": "acme-app", "name": "T", "version": "1.0.0",
                       "compatibility": "^9.0.0 || ~1.2" })
    .to_string();
    assert!(assert_agree(&text, Some("9.1.0"), 20_000).ok);
    assert!(assert_agree(&text, Some("1.2.7"), 20_001).ok);
    let cli = assert_agree(&text, Some("1.0.0"), 20_002);
    assert!(!cli.ok);
    assert_eq!(cli.codes, ["INCOMPATIBLE"]);
    let (_, installed) = package(&text, Some("1.0.0"));
    assert_eq!(installed, Err(ErrorCode::Incompatible));
}
