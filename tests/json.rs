//! `core::json::FromJson` against serde's derived `Deserialize` as the model: the core reads
//! the host's options and the user by hand for code size, so every result and every error
//! message must be the derive's (but for the one difference the reader makes on purpose).

use std::fmt::Debug;

use plugin_warden::core::engine::{BundlePolicy, Dangerous, HostConfig, HostLimits, InstallInput};
use plugin_warden::core::json::FromJson;
use plugin_warden::core::mount::MountOptions;
use plugin_warden::core::rbac::UserContext;
use plugin_warden::core::routes::RouteConfig;
use plugin_warden::core::sanitize::{LinkTarget, SanitizerConfig};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Every field name the readers know, the unit variants (as one-key objects), and a few
/// names none of them knows.
const KEYS: &[&str] = &[
    // HostConfig
    "hostVersion",
    "user",
    "storage",
    "encrypt",
    "trustedTypesPolicy",
    "limits",
    "sanitizer",
    "dangerous",
    "requireSignatures",
    "trustedKeys",
    "auditCapacity",
    "approvedScriptOrigins",
    "routes",
    "allowPlugins",
    // HostLimits
    "maxMessageBytes",
    "maxDepth",
    "callsPerSecond",
    "burst",
    "maxInFlight",
    "suspendAfter",
    "storageQuotaBytes",
    "maxValueBytes",
    "maxResponseBytes",
    "fetchTimeoutMs",
    "heartbeatMs",
    "unresponsiveAfterMs",
    "renderShare",
    "renderBurstMs",
    "renderCleanMs",
    // Dangerous, SanitizerConfig, RouteConfig
    "allowLoopbackHttp",
    "bundlePolicy",
    "srcWithoutEmbeddedCsp",
    "allowElements",
    "removeElements",
    "allowAttributes",
    "allowDataImages",
    "linkTarget",
    "maxTags",
    "data",
    "secrets",
    "secretOrigins",
    // MountOptions, InstallInput, the user
    "mode",
    "src",
    "srcdoc",
    "html",
    "code",
    "sandbox",
    "timeout",
    "title",
    "nonce",
    "runner",
    "ui",
    "integrity",
    "signature",
    "publicKey",
    "role",
    "roles",
    "permissions",
    "action",
    "scope",
    // unit variants, and unknown names
    "reject",
    "warn",
    "strip",
    "blank",
    "render",
    "limit",
    "type",
    "",
];

const STRINGS: &[&str] = &[
    "reject",
    "warn",
    "strip",
    "blank",
    "_blank",
    "iframe",
    "shadow",
    "Admin",
    "Viewer",
    "users:read",
    "users:*",
    "acme-app.docs:read",
    "*",
    "x",
    "é\n\"",
    "",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0u64..300).prop_map(Value::from),
        prop::sample::select(vec![u64::from(u32::MAX), u64::from(u32::MAX) + 1, u64::MAX])
            .prop_map(Value::from),
        (-3i64..0).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![0.5, 1.5, -2.25, 5.0, 0.0, -0.0, 1e300, 3.5e39, 1e-7])
            .prop_map(Value::from),
        prop::sample::select(STRINGS).prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..5).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// Our hand-written reader's result and serde's for the same value, as text (our message
/// without the path it adds). The one allowed difference: serde's derive reads a struct from an
/// array of its fields (and then succeeds or fails by position), the reader refuses any array
/// where a struct goes.
fn by_hand<T: FromJson + DeserializeOwned + Debug>(v: &Value) -> Result<(), String> {
    let ours = T::from_json_value(v.clone()).map_err(|e| e.message().to_owned());
    let model = serde_json::from_value::<T>(v.clone()).map_err(|e| e.to_string());
    match (&ours, &model) {
        (Err(e), _) if e.starts_with("invalid type: sequence, expected struct ") => Ok(()),
        _ if format!("{ours:?}") == format!("{model:?}") => Ok(()),
        _ => Err(format!("ours {ours:?}, serde {model:?}")),
    }
}

macro_rules! agree_by_hand {
    ($v:expr; $($t:ty),+ $(,)?) => {
        $( if let Err(e) = by_hand::<$t>($v) {
            prop_assert!(false, "type {}: {}", stringify!($t), e);
        } )+
    };
}

/// `UserContext::from_value` (read by hand) against serde's `Deserialize` for `UserContext`:
/// the same user, or the same reason (the hand path adds the field's path to a reason of
/// serde's, and says "invalid user context" once).
fn user_by_hand(v: &Value) -> Result<(), String> {
    const PREFIX: &str = "invalid user context: ";
    let ours = UserContext::from_value(v.clone()).map_err(|e| e.to_string());
    let model = serde_json::from_value::<UserContext>(v.clone()).map_err(|e| e.to_string());
    match (&ours, &model) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        (Err(a), Err(b)) if a.starts_with(PREFIX) && a.ends_with(b.trim_start_matches(PREFIX)) => {
            Ok(())
        }
        _ => Err(format!("ours {ours:?}, serde {model:?}")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The sparser shapes a hostile host page could pass: any value nested in the options'
    /// own keys.
    #[test]
    fn options_nested_anywhere(inner in value(), key in prop::sample::select(KEYS)) {
        let v = json!({ key: inner.clone(), "limits": { key: inner.clone() }, "sanitizer": { key: inner } });
        agree_by_hand!(&v; HostConfig, MountOptions, InstallInput);
    }

    /// The option structs read by hand (`FromJson`) against their serde derive.
    #[test]
    fn options_read_by_hand_as_serde_reads_them(v in value()) {
        agree_by_hand!(&v;
            HostConfig, HostLimits, Dangerous, BundlePolicy, InstallInput, MountOptions,
            SanitizerConfig, LinkTarget, RouteConfig, Option<u32>, Vec<usize>, f64, bool,
            String,
        );
        prop_assert!(user_by_hand(&v).is_ok(), "{:?}", user_by_hand(&v));
    }

    /// Each field of each option struct given every kind of value, one at a time.
    #[test]
    fn every_field_by_hand(key in prop::sample::select(KEYS), inner in value()) {
        let v = json!({ key: inner.clone() });
        agree_by_hand!(&v;
            HostConfig, HostLimits, Dangerous, InstallInput, MountOptions, SanitizerConfig,
            RouteConfig,
        );
        prop_assert!(user_by_hand(&v).is_ok(), "{:?}", user_by_hand(&v));
        for wrap in ["limits", "sanitizer", "dangerous"] {
            let v = json!({ wrap: { key: inner.clone() } });
            agree_by_hand!(&v; HostConfig);
        }
        let v = json!({ "routes": { "acme": { key: inner.clone() } } });
        agree_by_hand!(&v; HostConfig);
    }
}

#[test]
fn messages_name_where_and_what_was_found_and_expected() {
    let err = |v: Value| HostConfig::from_json_value(v).unwrap_err().to_string();
    assert_eq!(
        err(json!({"limits": {"maxDepth": 1.5}})),
        "limits.maxDepth: invalid type: floating point `1.5`, expected usize"
    );
    assert_eq!(
        err(json!({"limits": {"maxInFlight": 1e300}})),
        "limits.maxInFlight: invalid type: floating point `1e+300`, expected u32"
    );
    assert_eq!(
        err(json!({"limits": {"maxInFlight": 4294967296u64}})),
        "limits.maxInFlight: invalid value: integer `4294967296`, expected u32"
    );
    assert_eq!(
        err(json!({"limits": {"heartbeatMs": -1}})),
        "limits.heartbeatMs: invalid value: integer `-1`, expected u32"
    );
    assert_eq!(
        err(json!({"encrypt": null, "storage": 5})),
        "storage: invalid type: integer `5`, expected a string"
    );
    assert!(err(json!({"limit": {}})).starts_with("unknown field `limit`, expected one of"));
    assert!(err(json!({"limits": {"maxDept": 1}}))
        .starts_with("limits: unknown field `maxDept`, expected one of `maxMessageBytes`"));
    assert_eq!(
        err(json!({"dangerous": {"bundlePolicy": "allow"}})),
        "dangerous.bundlePolicy: unknown variant `allow`, expected `reject` or `warn`"
    );
    assert_eq!(
        err(json!({"dangerous": {"bundlePolicy": {"warn": null, "reject": null}}})),
        "dangerous.bundlePolicy: invalid value: map, expected map with a single key"
    );
    assert_eq!(
        err(json!({"limits": [1, 2]})),
        "limits: invalid type: sequence, expected struct HostLimits"
    );
    assert_eq!(
        err(json!({"routes": {"acme.app": {"secretOrigins": ["https://a.example", 5]}}})),
        "routes[\"acme.app\"].secretOrigins[1]: invalid type: integer `5`, expected a string"
    );
    assert_eq!(
        err(json!({"sanitizer": {"allowAttributes": {"img": ["alt", null]}}})),
        "sanitizer.allowAttributes[\"img\"][1]: invalid type: null, expected a string"
    );
    assert_eq!(
        HostConfig::from_json_value(json!({"limits": {"maxDepth": "8"}}))
            .unwrap_err()
            .path(),
        "limits.maxDepth"
    );
    assert_eq!(
        MountOptions::from_json_value(json!({"sandbox": ["allow-forms", 3]}))
            .unwrap_err()
            .to_string(),
        "sandbox[1]: invalid type: integer `3`, expected a string"
    );
    // A reason from the user's own checks is said once, not wrapped again.
    let own = UserContext::from_value(json!({"roles": [""]}))
        .unwrap_err()
        .to_string();
    assert!(own.starts_with("invalid user context: roles[0]: "), "{own}");
    assert_eq!(own.matches("invalid user context").count(), 1, "{own}");
    assert_eq!(
        UserContext::from_value(json!({"roles": "admin"}))
            .unwrap_err()
            .to_string(),
        "invalid user context: roles: invalid type: string \"admin\", expected a sequence"
    );
    // A unit variant as a one-key object, as serde reads one.
    let warn = json!({"dangerous": {"bundlePolicy": {"warn": null}}});
    let ours = HostConfig::from_json_value(warn).expect("a unit variant");
    assert_eq!(
        ours.dangerous.and_then(|d| d.bundle_policy),
        Some(BundlePolicy::Warn)
    );
    // A text with a syntax error keeps serde_json's position.
    assert!(SanitizerConfig::from_json("{\"maxTags\": tru}")
        .unwrap_err()
        .to_string()
        .contains("expected ident at line 1 column "));
}

#[test]
fn full_options_read_by_hand_as_serde_reads_them() {
    let v = json!({
        "hostVersion": "10.2.0", "user": {"role": "Admin"}, "storage": "memory", "encrypt": false,
        "trustedTypesPolicy": "pw", "requireSignatures": true, "trustedKeys": ["k1", {"kty": "EC"}],
        "auditCapacity": 20, "approvedScriptOrigins": ["https://cdn.example"],
        "allowPlugins": ["acme-*"],
        "limits": {"maxMessageBytes": 1024, "maxDepth": 8, "callsPerSecond": 2.5, "burst": 4,
                   "maxInFlight": 3, "suspendAfter": 0, "storageQuotaBytes": 4096,
                   "maxValueBytes": 512, "maxResponseBytes": 100000, "fetchTimeoutMs": 900,
                   "heartbeatMs": 60, "unresponsiveAfterMs": 200},
        "sanitizer": {"allowElements": ["details"], "removeElements": ["img"],
                      "allowAttributes": {"*": ["class"]}, "allowDataImages": true,
                      "linkTarget": "blank", "maxTags": 77},
        "dangerous": {"allowLoopbackHttp": true, "bundlePolicy": "warn",
                      "srcWithoutEmbeddedCsp": false},
        "routes": {"acme": {"data": {"a": "b"}, "secrets": {"s": "t"},
                            "secretOrigins": ["https://api.example"]}},
    });
    let ours = HostConfig::from_json_value(v.clone()).expect("valid options");
    let model: HostConfig = serde_json::from_value(v).expect("valid options");
    assert_eq!(format!("{ours:?}"), format!("{model:?}"));
    assert_eq!(ours.limits.and_then(|l| l.heartbeat_ms), Some(60));
    let mount = json!({"mode": "iframe", "src": "https://p.example/", "sandbox": ["allow-forms"],
        "timeout": 5000, "title": "t", "nonce": "n", "runner": "r", "ui": "shadow"});
    assert_eq!(
        format!(
            "{:?}",
            MountOptions::from_json_value(mount.clone()).expect("valid")
        ),
        format!(
            "{:?}",
            serde_json::from_value::<MountOptions>(mount).expect("valid")
        )
    );
    assert_eq!(
        MountOptions::from_json_value(json!({"render": true}))
            .unwrap_err()
            .to_string(),
        serde_json::from_value::<MountOptions>(json!({"render": true}))
            .unwrap_err()
            .to_string()
    );
}
