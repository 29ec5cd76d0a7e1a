//! The wire protocol: the shared vectors (also run by the JS client's tests), limits at their
//! defaults, the encoders, and property tests that nothing panics.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;

use plugin_warden::core::binary::TableRef;
use plugin_warden::core::error::{Coded, ErrorCode, WardenError};
use plugin_warden::core::protocol::{
    event_message, parse_call, parse_hello, parse_reply, welcome_message, Call, FetchBody,
    HostMessage, Level, Limits, Method, ProtocolError, Reply, RunnerWelcome, Welcome, METHOD_NAMES,
};
use serde::Deserialize;
use serde_json::{json, Value};

const VECTORS: &str = include_str!("protocol-vectors.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    name: String,
    kind: String,
    input: String,
    expect: Value,
    #[serde(default)]
    limits: Option<Limits>,
    #[serde(default)]
    #[allow(dead_code)] // read by humans and the JS runner
    note: Option<String>,
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str(VECTORS).expect("protocol-vectors.json is valid")
}

fn host_message_json(m: &HostMessage) -> Value {
    match m {
        HostMessage::Reply { id, result } => {
            let mut r = json!({"id": id});
            match result {
                Ok(value) => {
                    r["ok"] = json!(true);
                    if let Some(v) = value {
                        r["value"] = v.clone();
                    }
                }
                Err(e) => {
                    r["ok"] = json!(false);
                    let mut err = json!({"code": e.code, "message": e.message});
                    if let Some(p) = &e.permission {
                        err["permission"] = json!(p);
                    }
                    r["error"] = err;
                }
            }
            json!({ "reply": r })
        }
        HostMessage::Event { name, data } => json!({"event": {"name": name, "data": data}}),
    }
}

fn check_error(v: &Vector, e: &ProtocolError) -> Result<(), String> {
    if e.code() != ErrorCode::MessageRejected {
        return Err(format!("code {:?}", e.code()));
    }
    if v.expect["error"] != json!("MESSAGE_REJECTED") {
        return Err(format!("rejected ({e}) but expected {}", v.expect));
    }
    if let Some(id) = v.expect.get("id") {
        let want = id.as_u64();
        if e.id() != want {
            return Err(format!("id {:?}, expected {want:?} ({e})", e.id()));
        }
    }
    if let Some(path) = v.expect.get("path").and_then(Value::as_str) {
        let msg = e.to_string();
        let ok = msg
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with(':') || rest.starts_with(' '));
        if !ok {
            return Err(format!("message {msg:?} does not start with path {path:?}"));
        }
    }
    Ok(())
}

fn run(v: &Vector) -> Result<(), String> {
    let limits = v.limits.unwrap_or_default();
    match v.kind.as_str() {
        "call" => match parse_call(&v.input, &limits) {
            Ok(call) => {
                let got = json!({
                    "id": call.id,
                    "method": call.method.name(),
                    "params": call.method.params(),
                    "capability": call.method.required_capability(),
                });
                if got != v.expect {
                    return Err(format!("parsed as {got}, expected {}", v.expect));
                }
                let again = parse_call(&call.to_json(), &Limits::default())
                    .map_err(|e| format!("re-encoded call rejected: {e}"))?;
                if again != call {
                    return Err(format!("round trip changed {call:?} into {again:?}"));
                }
                Ok(())
            }
            Err(e) => check_error(v, &e),
        },
        "hello" => match parse_hello(&v.input) {
            Ok(h) => {
                let got = json!({"hello": {"nonce": h.nonce}});
                (got == v.expect)
                    .then_some(())
                    .ok_or(format!("parsed as {got}, expected {}", v.expect))
            }
            Err(e) => check_error(v, &e),
        },
        "reply" => match parse_reply(&v.input, &limits) {
            Ok(m) => {
                let got = host_message_json(&m);
                (got == v.expect)
                    .then_some(())
                    .ok_or(format!("parsed as {got}, expected {}", v.expect))
            }
            Err(e) => check_error(v, &e),
        },
        other => Err(format!("unknown kind {other}")),
    }
}

#[test]
fn shared_vectors() {
    let vs = vectors();
    let failures: Vec<String> = vs
        .iter()
        .filter_map(|v| run(v).err().map(|e| format!("{}: {e}", v.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        vs.len(),
        failures.join("\n")
    );
}

#[test]
fn vectors_cover_the_protocol() {
    let vs = vectors();
    assert!(vs.len() >= 60, "only {} vectors", vs.len());
    let names: BTreeSet<&str> = vs.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names.len(), vs.len(), "vector names are unique");
    for kind in ["call", "hello", "reply"] {
        assert!(vs
            .iter()
            .any(|v| v.kind == kind && v.expect.get("error").is_none()));
        assert!(vs
            .iter()
            .any(|v| v.kind == kind && v.expect.get("error").is_some()));
    }
    for m in METHOD_NAMES {
        let valid = vs
            .iter()
            .any(|v| v.kind == "call" && v.expect.get("method") == Some(&json!(m)));
        assert!(valid, "no valid vector for {m}");
        assert!(
            names.contains(format!("{m} extra field").as_str()),
            "no extra-field vector for {m}"
        );
    }
}

#[test]
fn messages_name_the_path_and_what_was_expected_and_found() {
    let l = Limits::default();
    let cases = [
        (
            r#"{"v":1,"id":1,"method":"storage.get","params":{"key":5}}"#,
            "params.key: expected a string, found number 5",
        ),
        (
            r#"{"v":1,"id":1,"method":"storage.keys","params":{"x":1}}"#,
            "params.x: expected no such field (allowed: none), found one",
        ),
        (
            r#"{"v":1,"id":-1,"method":"storage.keys","params":{}}"#,
            "id: expected a non-negative safe integer, found number -1",
        ),
        (
            r#"{"v":1,"id":1,"method":"storage.set","params":{"key":"k","value":{"a":1,"a":2}}}"#,
            "params.value.a: expected each key once, found a duplicate",
        ),
        (
            "[1]",
            "message: expected a JSON object, found an array of 1 elements",
        ),
        (
            r#"{"v":1,"id":1,"method":"api.fetch","params":{"url":"u","headers":{"A":"x\r\ny"}}}"#,
            r#"params.headers.A: expected a header value without CR, LF or NUL, found a value containing one"#,
        ),
    ];
    for (input, want) in cases {
        assert_eq!(parse_call(input, &l).unwrap_err().to_string(), want);
    }
    let long = format!(
        r#"{{"v":1,"id":1,"method":"{}","params":{{}}}}"#,
        "x".repeat(500)
    );
    let msg = parse_call(&long, &l).unwrap_err().to_string();
    assert!(msg.len() < 400, "found values are truncated: {msg}");
    assert!(msg.ends_with("…"), "{msg}");
}

#[test]
fn header_values_are_never_echoed() {
    let input = r#"{"v":1,"id":1,"method":"api.fetch","params":{"url":"u","headers":{"Authorization":"Bearer s3cr3t\n"}}}"#;
    let e = parse_call(input, &Limits::default()).unwrap_err();
    assert!(!e.to_string().contains("s3cr3t"), "{e}");
    let input = r#"{"v":1,"id":1,"method":"api.fetch","params":{"url":"u","headers":{"Authorization":["s3cr3t"]}}}"#;
    let e = parse_call(input, &Limits::default()).unwrap_err();
    assert!(!e.to_string().contains("s3cr3t"), "{e}");
}

// ---- limits at their defaults (too big to keep in the vectors file)

#[test]
fn a_megabyte_of_brackets_is_rejected_before_parsing() {
    let l = Limits::default();
    let input = "[".repeat(1 << 20);
    assert!(matches!(
        parse_call(&input, &l),
        Err(ProtocolError::TooLarge { size, max: 65536 }) if size == 1 << 20
    ));
    // Even with the size limit lifted, the depth pre-scan stops it without recursion.
    let big = Limits {
        max_message_bytes: usize::MAX,
        ..Limits::default()
    };
    for input in ["[".repeat(1 << 20), "{\"a\":".repeat(1 << 18)] {
        assert!(matches!(
            parse_call(&input, &big),
            Err(ProtocolError::TooDeep {
                id: None,
                max: 32,
                ..
            })
        ));
    }
}

#[test]
fn a_huge_depth_setting_still_cannot_overflow_the_stack() {
    let l = Limits {
        max_message_bytes: usize::MAX,
        max_depth: usize::MAX,
        ..Limits::default()
    };
    let input = format!(
        r#"{{"v":1,"id":1,"method":"storage.set","params":{{"key":"k","value":{}0{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = parse_call(&input, &l).unwrap_err();
    assert_eq!(e.code(), ErrorCode::MessageRejected);
}

fn storage_set_with_key(key_len: usize) -> String {
    format!(
        r#"{{"v":1,"id":1,"method":"storage.get","params":{{"key":"{}"}}}}"#,
        "k".repeat(key_len)
    )
}

#[test]
fn message_of_64_kib_is_the_default_maximum() {
    let l = Limits::default();
    let overhead = storage_set_with_key(0).len();
    assert!(parse_call(&storage_set_with_key(65536 - overhead), &l).is_ok());
    assert!(matches!(
        parse_call(&storage_set_with_key(65537 - overhead), &l),
        Err(ProtocolError::TooLarge {
            size: 65537,
            max: 65536
        })
    ));
}

#[test]
fn string_limit_counts_unescaped_utf8_bytes() {
    let l = Limits {
        max_message_bytes: 1 << 20,
        ..Limits::default()
    };
    assert!(parse_call(&storage_set_with_key(65536), &l).is_ok());
    let e = parse_call(&storage_set_with_key(65537), &l).unwrap_err();
    assert!(
        matches!(
            e,
            ProtocolError::OverLimit {
                what: "string bytes",
                max: 65536,
                id: Some(1),
                ..
            }
        ),
        "{e:?}"
    );
    // 20 000 escapes of 6 bytes each decode to 20 000 bytes: under the limit.
    let escaped = format!(
        r#"{{"v":1,"id":1,"method":"storage.get","params":{{"key":"{}"}}}}"#,
        "\\u0041".repeat(20_000)
    );
    assert!(parse_call(&escaped, &l).is_ok());
}

fn storage_set_with_value(value: &str) -> String {
    format!(r#"{{"v":1,"id":1,"method":"storage.set","params":{{"key":"k","value":{value}}}}}"#)
}

#[test]
fn key_and_array_limits_at_defaults() {
    let l = Limits::default();
    let object = |n: usize| {
        let body: Vec<String> = (0..n).map(|i| format!(r#""k{i}":0"#)).collect();
        storage_set_with_value(&format!("{{{}}}", body.join(",")))
    };
    assert!(parse_call(&object(1024), &l).is_ok());
    assert!(matches!(
        parse_call(&object(1025), &l),
        Err(ProtocolError::OverLimit {
            what: "object keys",
            max: 1024,
            ..
        })
    ));
    let array = |n: usize| storage_set_with_value(&format!("[{}]", vec!["0"; n].join(",")));
    assert!(parse_call(&array(10_000), &l).is_ok());
    assert!(matches!(
        parse_call(&array(10_001), &l),
        Err(ProtocolError::OverLimit {
            what: "array elements",
            max: 10_000,
            ..
        })
    ));
}

#[test]
fn limits_deserialize_from_the_hosts_camel_case_option() {
    let l: Limits = serde_json::from_value(json!({
        "maxMessageBytes": 1000, "maxDepth": 4, "maxStringBytes": 10, "maxKeys": 5,
        "maxArrayLen": 6, "callsPerSecond": 50, "storageQuotaBytes": 1
    }))
    .unwrap();
    assert_eq!(
        l,
        Limits {
            max_message_bytes: 1000,
            max_depth: 4,
            max_string_bytes: 10,
            max_keys: 5,
            max_array_len: 6
        }
    );
    assert_eq!(
        serde_json::from_str::<Limits>("{}").unwrap(),
        Limits::default()
    );
    assert!(serde_json::from_str::<Limits>(r#"{"maxDepth":-1}"#).is_err());
}

// ---- encoders

#[test]
fn replies_and_events_encode_exactly() {
    assert_eq!(
        Reply::ok(7, Some(&json!([1, "a", null]))),
        r#"{"v":1,"id":7,"ok":true,"value":[1,"a",null]}"#
    );
    assert_eq!(
        Reply::ok(7, Some(&Value::Null)),
        r#"{"v":1,"id":7,"ok":true,"value":null}"#
    );
    assert_eq!(Reply::ok(7, None), r#"{"v":1,"id":7,"ok":true}"#);
    let denied = WardenError {
        code: ErrorCode::PermissionDenied,
        message: "needs \"api:write\"".into(),
        permission: Some("api:write".into()),
    };
    assert_eq!(
        Reply::err(9007199254740991, &denied),
        r#"{"v":1,"id":9007199254740991,"ok":false,"error":{"code":"PERMISSION_DENIED","message":"needs \"api:write\"","permission":"api:write"}}"#
    );
    assert_eq!(
        event_message("a:b", &json!({"x": 1})),
        r#"{"v":1,"event":"a:b","data":{"x":1}}"#
    );
    assert_eq!(
        welcome_message(&Welcome {
            plugin_id: "acme-patents-app",
            grants: &[],
            actions: &[],
            version: None,
            previous_version: None,
            runner: None,
        }),
        r#"{"ns":"plugin-warden","v":1,"type":"welcome","pluginId":"acme-patents-app","grants":[],"actions":[],"version":null,"previousVersion":null}"#
    );
    assert_eq!(
        welcome_message(&Welcome {
            plugin_id: "w",
            grants: &["storage"],
            actions: &["w.read".to_owned()],
            version: Some("2.0.0"),
            previous_version: Some("1.0.0"),
            runner: Some(RunnerWelcome {
                kind: "worker",
                code: "x()",
                csp: "default-src 'none'"
            }),
        }),
        r#"{"ns":"plugin-warden","v":1,"type":"welcome","pluginId":"w","grants":["storage"],"actions":["w.read"],"version":"2.0.0","previousVersion":"1.0.0","kind":"worker","code":"x()","csp":"default-src 'none'"}"#
    );
}

#[test]
fn encoded_replies_parse_back() {
    let l = Limits::default();
    let value = json!({"a": [1, 2, {"b": null}]});
    assert_eq!(
        parse_reply(&Reply::ok(3, Some(&value)), &l).unwrap(),
        HostMessage::Reply {
            id: 3,
            result: Ok(Some(value.clone()))
        }
    );
    let e = WardenError::new(ErrorCode::QuotaExceeded, "1 MiB per plugin");
    match parse_reply(&Reply::err(4, &e), &l).unwrap() {
        HostMessage::Reply {
            id: 4,
            result: Err(r),
        } => {
            assert_eq!(
                (r.code.as_str(), r.message.as_str()),
                ("QUOTA_EXCEEDED", "1 MiB per plugin")
            );
            assert_eq!(r.permission, None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse_reply(&event_message("theme", &value), &l).unwrap(),
        HostMessage::Event {
            name: "theme".into(),
            data: value
        }
    );
}

#[test]
fn rejected_calls_get_a_reply_only_when_their_id_is_known() {
    let l = Limits::default();
    let e = parse_call(
        r#"{"v":1,"id":12,"method":"ui.notify","params":{"message":1}}"#,
        &l,
    )
    .unwrap_err();
    let reply: Value = serde_json::from_str(&Reply::rejected(&e).unwrap()).unwrap();
    assert_eq!(reply["id"], json!(12));
    assert_eq!(reply["ok"], json!(false));
    assert_eq!(reply["error"]["code"], json!("MESSAGE_REJECTED"));
    assert_eq!(
        reply["error"]["message"],
        json!("params.message: expected a string, found number 1")
    );
    assert!(reply["error"].get("permission").is_none());
    let e = parse_call(&"[".repeat(100), &l).unwrap_err();
    assert_eq!(Reply::rejected(&e), None);
}

#[test]
fn capabilities_per_method() {
    let l = Limits::default();
    let cap = |m: &str, p: Value| {
        let input = json!({"v": 1, "id": 1, "method": m, "params": p}).to_string();
        parse_call(&input, &l)
            .unwrap()
            .method
            .required_capability()
            .map(|c| c.as_str())
    };
    for (method, want) in [
        ("GET", "api:read"),
        ("get", "api:read"),
        ("Head", "api:read"),
        ("POST", "api:write"),
        ("DELETE", "api:write"),
        ("OPTIONS", "api:write"),
        ("PROPFIND", "api:write"),
        ("GETX", "api:write"),
    ] {
        assert_eq!(
            cap("api.fetch", json!({"url": "u", "method": method})),
            Some(want),
            "{method}"
        );
    }
    assert_eq!(cap("permissions.has", json!({"permission": "x"})), None);
    assert_eq!(cap("permissions.list", json!({})), None);
    assert_eq!(
        cap("ui.notify", json!({"message": "m", "level": "error"})),
        Some("ui:notify")
    );
    assert_eq!(
        cap("ui.render", json!({"html": "<b>x</b>"})),
        Some("ui:render")
    );
}

// ---- properties

mod props {
    use super::*;
    use proptest::prelude::*;

    fn assert_rejected_cleanly(r: Result<impl std::fmt::Debug, ProtocolError>) {
        if let Err(e) = r {
            assert_eq!(e.code(), ErrorCode::MessageRejected);
            assert_eq!(WardenError::from_coded(&e).code, ErrorCode::MessageRejected);
            assert!(!e.to_string().is_empty());
        }
    }

    fn small_limits() -> Limits {
        Limits {
            max_message_bytes: 4096,
            max_depth: 6,
            max_string_bytes: 64,
            max_keys: 8,
            max_array_len: 8,
        }
    }

    /// Near-JSON: fragments that often form valid prefixes and envelopes.
    fn json_soup() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("\"v\":1".to_owned()),
            Just("\"id\":".to_owned()),
            Just("\"method\":\"storage.set\"".to_owned()),
            Just("\"params\":".to_owned()),
            Just("\"__proto__\"".to_owned()),
            Just("\"key\":\"k\"".to_owned()),
            Just("\"value\":".to_owned()),
            Just("\\u0000".to_owned()),
            Just("\\ud800".to_owned()),
            Just("-0".to_owned()),
            Just("1e999".to_owned()),
            Just("9007199254740993".to_owned()),
            Just("null".to_owned()),
            "[a-z0-9 ]{0,4}",
        ];
        proptest::collection::vec(token, 0..64).prop_map(|v| v.concat())
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
            prop_oneof![Just("__proto__"), Just("constructor"), Just("prototype")]
                .prop_map(|s| Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        "[a-z_]{0,6}",
                        Just("__proto__".to_owned()),
                        Just("constructor".to_owned()),
                        Just("prototype".to_owned()),
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn has_forbidden_key(v: &Value) -> bool {
        match v {
            Value::Array(a) => a.iter().any(has_forbidden_key),
            Value::Object(m) => m.iter().any(|(k, v)| {
                ["__proto__", "constructor", "prototype"].contains(&k.as_str())
                    || has_forbidden_key(v)
            }),
            _ => false,
        }
    }

    fn depth(v: &Value) -> usize {
        match v {
            Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
            Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    fn method() -> impl Strategy<Value = Method> {
        let s = "\\PC{0,20}";
        let event = "[a-zA-Z0-9._:-]{1,40}";
        let token = "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}";
        prop_oneof![
            s.prop_map(|key| Method::StorageGet { key }),
            (s, json_value())
                .prop_filter("no forbidden keys", |(_, v)| !has_forbidden_key(v))
                .prop_map(|(key, value)| Method::StorageSet { key, value }),
            s.prop_map(|key| Method::StorageRemove { key }),
            Just(Method::StorageKeys),
            Just(Method::StorageClear),
            (
                s,
                proptest::option::of(prop_oneof![
                    Just("GET".to_owned()),
                    Just("POST".to_owned()),
                    token.prop_filter("not normalized or forbidden", |t| {
                        [
                            "DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "CONNECT", "TRACE",
                            "TRACK",
                        ]
                        .iter()
                        .all(|n| !t.eq_ignore_ascii_case(n))
                    })
                ]),
                proptest::option::of(proptest::collection::btree_map(
                    token.prop_filter("not forbidden", |t| {
                        !["__proto__", "constructor", "prototype"].contains(&t.as_str())
                    }),
                    "[^\r\n\u{0}]{0,10}",
                    0..4
                )),
                proptest::option::of(prop_oneof![
                    s.prop_map(FetchBody::Text),
                    (0usize..4, 0usize..1000).prop_map(|(i, bytes)| FetchBody::Binary(TableRef {
                        index: i,
                        kind: "Uint8Array",
                        bytes
                    })),
                ]),
                any::<bool>()
            )
                .prop_map(|(url, method, headers, body, binary_response)| {
                    Method::ApiFetch {
                        url,
                        method,
                        headers: headers.map(|h| h.into_iter().collect()),
                        body,
                        binary_response,
                    }
                }),
            Just(Method::PermissionsList),
            "\\PC{1,40}".prop_map(|permission| Method::PermissionsHas { permission }),
            ("\\PC{1,40}", "[a-z]\\PC{0,40}").prop_map(|(permission, reason)| {
                Method::PermissionsRequest { permission, reason }
            }),
            event.prop_map(|name| Method::EventsSubscribe { name }),
            event.prop_map(|name| Method::EventsUnsubscribe { name }),
            (event, json_value())
                .prop_filter("no forbidden keys", |(_, v)| !has_forbidden_key(v))
                .prop_map(|(name, data)| Method::EventsEmit { name, data }),
            (
                s,
                proptest::option::of(prop_oneof![
                    Just(Level::Info),
                    Just(Level::Success),
                    Just(Level::Warning),
                    Just(Level::Error)
                ])
            )
                .prop_map(|(message, level)| Method::UiNotify { message, level }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_strings_never_panic(s in "\\PC{0,300}") {
            assert_rejected_cleanly(parse_call(&s, &Limits::default()));
            assert_rejected_cleanly(parse_call(&s, &small_limits()));
            assert_rejected_cleanly(parse_hello(&s));
            assert_rejected_cleanly(parse_reply(&s, &Limits::default()));
        }

        #[test]
        fn json_soup_never_panics(s in json_soup()) {
            assert_rejected_cleanly(parse_call(&s, &Limits::default()));
            assert_rejected_cleanly(parse_call(&s, &small_limits()));
            assert_rejected_cleanly(parse_hello(&s));
            assert_rejected_cleanly(parse_reply(&s, &small_limits()));
        }

        #[test]
        fn any_value_is_stored_exactly_unless_it_has_a_forbidden_key(v in json_value(), id in 0u64..=9_007_199_254_740_991) {
            let input = json!({"v": 1, "id": id, "method": "storage.set", "params": {"key": "k", "value": v}}).to_string();
            match parse_call(&input, &Limits::default()) {
                Ok(call) => {
                    prop_assert!(!has_forbidden_key(&v));
                    prop_assert_eq!(call, Call { id, method: Method::StorageSet { key: "k".into(), value: v } });
                }
                Err(e) => {
                    prop_assert!(has_forbidden_key(&v) || depth(&v) > 30, "{}", e);
                    let expected_kind = matches!(e, ProtocolError::ForbiddenKey { .. } | ProtocolError::TooDeep { .. });
                    prop_assert!(expected_kind, "{:?}", e);
                    prop_assert_eq!(e.id(), Some(id));
                }
            }
        }

        #[test]
        fn valid_calls_round_trip(m in method(), id in 0u64..=9_007_199_254_740_991) {
            let call = Call { id, method: m };
            let parsed = parse_call(&call.to_json(), &Limits::default());
            prop_assert_eq!(parsed, Ok(call));
        }

        #[test]
        fn mutated_calls_never_panic(m in method(), cut in any::<prop::sample::Index>(), insert in "\\PC{0,3}") {
            let json = Call { id: 1, method: m }.to_json();
            let at = cut.index(json.len() + 1);
            // Splice only on char boundaries, so the input stays a &str.
            if json.is_char_boundary(at) {
                let mutated = format!("{}{}{}", &json[..at], insert, &json[at..]);
                assert_rejected_cleanly(parse_call(&mutated, &Limits::default()));
                let truncated = &json[..at];
                assert_rejected_cleanly(parse_call(truncated, &small_limits()));
            }
        }

        #[test]
        fn parsed_replies_re_encode_identically(id in 0u64..=9_007_199_254_740_991, v in proptest::option::of(json_value())) {
            let v = v.filter(|v| !has_forbidden_key(v));
            let encoded = Reply::ok(id, v.as_ref());
            prop_assert_eq!(
                parse_reply(&encoded, &Limits::default()),
                Ok(HostMessage::Reply { id, result: Ok(v) })
            );
        }
    }
}
