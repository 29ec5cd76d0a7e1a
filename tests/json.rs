//! `core::json::from_value` against `serde_json::from_value` as the model: the core reads its
//! typed JSON (host and mount options, users, sanitizer configs, limits) through its own
//! deserializer for code size, so every result and every error message must be serde_json's.

// The test types' fields are read only through `Debug`, which dead-code analysis ignores.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Debug;

use plugin_warden::core::engine::{BundlePolicy, Dangerous, HostConfig, HostLimits, InstallInput};
use plugin_warden::core::json::{self, FromJson};
use plugin_warden::core::mount::MountOptions;
use plugin_warden::core::protocol::{Level, Limits};
use plugin_warden::core::ratelimit::RateLimitConfig;
use plugin_warden::core::rbac::UserContext;
use plugin_warden::core::routes::RouteConfig;
use plugin_warden::core::sanitize::{LinkTarget, PolicySpec, SanitizerConfig};
use plugin_warden::core::weburl::{Host, WebUrl};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// Every variant kind and container serde derives, for the parts no core type exercises.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Shape {
    Unit,
    Newtype(u8),
    Tuple(u8, String),
    Struct { a: Option<i8>, b: Vec<bool> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mixed {
    a: Option<(u8, char)>,
    #[serde(default)]
    b: BTreeMap<String, f32>,
    c: Option<Box<Shape>>,
    d: Option<Vec<u16>>,
    #[serde(rename = "type")]
    kind: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum Internally {
    A { value: u8 },
    B,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Untagged {
    N(u32),
    S(String),
    L(Vec<Untagged>),
}

#[derive(Debug, Deserialize)]
struct Wrapper(Vec<u8>);

const KEYS: &[&str] = &[
    "allowAttributes",
    "allowElements",
    "allowLoopbackHttp",
    "allowPlugins",
    "approvedScriptOrigins",
    "auditCapacity",
    "bundlePolicy",
    "burst",
    "callsPerSecond",
    "code",
    "dangerous",
    "data",
    "encrypt",
    "fetchTimeoutMs",
    "heartbeatMs",
    "hostVersion",
    "html",
    "integrity",
    "limits",
    "linkTarget",
    "maxArrayLen",
    "maxDepth",
    "maxInFlight",
    "maxKeys",
    "maxMessageBytes",
    "maxStringBytes",
    "maxTags",
    "mode",
    "nonce",
    "publicKey",
    "routes",
    "sandbox",
    "sanitizer",
    "secretOrigins",
    "secrets",
    "signature",
    "src",
    "storage",
    "suspendAfter",
    "suspendWindowMs",
    "timeout",
    "title",
    "trustedKeys",
    "user",
    "role",
    "roles",
    "permissions",
    "action",
    "scope",
    "type",
    "value",
    "a",
    "b",
    "c",
    "d",
    "unit",
    "newtype",
    "tuple",
    "struct",
    "A",
    "B",
    "href",
    "scheme",
    "host",
    "port",
    "",
];

const STRINGS: &[&str] = &[
    "reject",
    "warn",
    "_blank",
    "_self",
    "none",
    "domain",
    "ipv4",
    "ipv6",
    "10.0.0.1",
    "::1",
    "Admin",
    "Viewer",
    "users:read",
    "x",
    "é\n\"",
    "A",
    "B",
    "unit",
    "newtype",
    "iframe",
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

/// Both readers' results, as text: the value's `Debug` or the error's message.
fn both<T: DeserializeOwned + Debug>(v: &Value) -> (String, String) {
    let ours = json::from_value::<T>(v.clone()).map_err(|e| e.to_string());
    let model = serde_json::from_value::<T>(v.clone()).map_err(|e| e.to_string());
    (format!("{ours:?}"), format!("{model:?}"))
}

/// Our hand-written reader's result and serde's for the same value, as text. The one allowed
/// difference: serde's derive reads a struct from an array of its fields (and then succeeds or
/// fails by position), the reader refuses any array where a struct goes.
fn by_hand<T: FromJson + DeserializeOwned + Debug>(v: &Value) -> Result<(), String> {
    let ours = T::from_json_value(v.clone()).map_err(|e| e.to_string());
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
/// the same user, or the same reason (the hand path wraps serde-level reasons once in
/// `InvalidUser`; a reason from the user's own checks is already one).
fn user_by_hand(v: &Value) -> Result<(), String> {
    let ours = UserContext::from_value(v.clone()).map_err(|e| e.to_string());
    let model = serde_json::from_value::<UserContext>(v.clone()).map_err(|e| {
        let e = e.to_string();
        match e.starts_with("invalid user context: ") {
            true => e,
            false => format!("invalid user context: {e}"),
        }
    });
    match format!("{ours:?}") == format!("{model:?}") {
        true => Ok(()),
        false => Err(format!("ours {ours:?}, serde {model:?}")),
    }
}

macro_rules! agree {
    ($v:expr; $($t:ty),+ $(,)?) => {
        $( {
            let (ours, model) = both::<$t>($v);
            prop_assert_eq!(ours, model, "type {}", stringify!($t));
        } )+
    };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn every_core_type_reads_as_serde_json_reads_it(v in value()) {
        agree!(&v;
            HostConfig, HostLimits, Dangerous, BundlePolicy, InstallInput, MountOptions,
            UserContext, SanitizerConfig, LinkTarget, PolicySpec, Limits, Level,
            RateLimitConfig, WebUrl, Host,
        );
    }

    #[test]
    fn every_serde_shape_reads_as_serde_json_reads_it(v in value()) {
        agree!(&v;
            Shape, Mixed, Internally, Untagged, Wrapper, Option<u8>, Option<Option<bool>>,
            u8, i8, u64, i64, f32, f64, char, String, bool, (), (u8, u8), Vec<f64>,
            BTreeMap<String, Value>, Value,
        );
    }

    /// The same under the sparser shapes a hostile host page could pass: any value nested in
    /// the options' own keys.
    #[test]
    fn options_nested_anywhere(inner in value(), key in prop::sample::select(KEYS)) {
        let v = json!({ key: inner.clone(), "limits": { key: inner.clone() }, "sanitizer": { key: inner } });
        agree!(&v; HostConfig, MountOptions, InstallInput);
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
fn messages_name_what_was_found_and_what_was_expected() {
    let err = |v: Value| json::from_value::<HostConfig>(v).unwrap_err().to_string();
    assert_eq!(
        err(json!({"limits": {"maxDepth": 1.5}})),
        "invalid type: floating point `1.5`, expected usize"
    );
    assert_eq!(
        err(json!({"encrypt": null, "storage": 5})),
        "invalid type: integer `5`, expected a string"
    );
    assert!(err(json!({"limit": {}})).starts_with("unknown field `limit`, expected one of"));
    assert_eq!(
        err(json!({"dangerous": {"bundlePolicy": "allow"}})),
        "unknown variant `allow`, expected `reject` or `warn`"
    );
    assert_eq!(
        json::from_value::<Shape>(json!({"unit": null, "newtype": 1}))
            .unwrap_err()
            .to_string(),
        "invalid value: map, expected map with a single key"
    );
    assert_eq!(
        json::from_value::<Shape>(json!(1e300))
            .unwrap_err()
            .to_string(),
        "invalid type: floating point `1e+300`, expected string or map"
    );
    // A syntax error keeps serde_json's position.
    assert!(json::from_str::<HostConfig>("{\"encrypt\": tru}")
        .unwrap_err()
        .to_string()
        .starts_with("expected ident at line 1 column "));
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
