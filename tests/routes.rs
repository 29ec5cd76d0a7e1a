//! Proxied manifest routes (`api.fetch` with `url` = `route:<path>`): template substitution,
//! route lookup, RBAC, https enforcement, header precedence, and — throughout — that a route
//! secret never appears in a reply to the plugin, an error message or the audit log.
#![cfg(not(target_arch = "wasm32"))]

use plugin_warden::core::collections::SortedMap;

use plugin_warden::core::engine::{
    Engine, FetchPlan, FetchResponse, HostConfig, InstallInput, Status,
};
use plugin_warden::core::error::{Coded, ErrorCode, WardenError};
use plugin_warden::core::manifest::{Manifest, ManifestOptions};
use plugin_warden::core::provenance::Provenance;
use plugin_warden::core::routes::{
    self, merge_headers, parse_request, resolve, scrub, substitute, RouteConfig, RouteError,
    TemplateError,
};
use plugin_warden::core::storage::MemoryBackend;
use serde_json::{json, Value};

mod support;
use support::{fetch_reply, send, Sent};

const T: f64 = 1_000.0;
const APP: &str = "acme-patents-app";
const SECRET: &str = "s3cr3t-K3y/with+chars=";
const TOKEN: &str = "tok-9f8e7d6c5b4a";
const READ: &str = "acme-patents-app.patents:read";
/// The one origin the host approves for this plugin's secrets.
const API_ORIGIN: &str = "https://api.acme.example";

// ----- harness --------------------------------------------------------------------------------

fn config(data: &[(&str, &str)], secrets: &[(&str, &str)]) -> RouteConfig {
    let map = |kv: &[(&str, &str)]| -> SortedMap<String, String> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    RouteConfig {
        data: map(data),
        secrets: map(secrets),
        secret_origins: if secrets.is_empty() {
            vec![]
        } else {
            vec![API_ORIGIN.to_owned()]
        },
    }
}

fn manifest() -> Value {
    json!({
        "id": APP,
        "name": "Patents",
        "permissions": ["api:read"],
        "optionalPermissions": ["api:write"],
        "network": ["https://other.acme.example/"],
        "roles": [{ "role": { "name": "Patents Reader",
            "permissions": [{ "action": READ }] }, "grants": ["Admin"] }],
        "routes": [
            { "path": "api/patents", "method": "GET", "reqAction": READ,
              "url": "https://{{ .JsonData.apiHost }}/v1/patents?key={{ .SecureJsonData.apiKey }}",
              "headers": [
                { "name": "X-Api-Key", "content": "{{ .SecureJsonData.apiKey }}" },
                { "name": "Authorization", "content": "Bearer {{.SecureJsonData.token}}" },
                { "name": "X-Tenant", "content": "{{ .JsonData.tenant }}" }
              ] },
            { "path": "api/patents", "method": "POST", "reqAction": "acme-patents-app.patents:write",
              "url": "https://{{ .JsonData.apiHost }}/v1/patents" },
            { "path": "api/any", "url": "https://{{ .JsonData.apiHost }}/v1/any?fixed=1" },
            { "path": "api/editors", "reqRole": "Editor", "url": "https://{{ .JsonData.apiHost }}/v1/e" },
            { "path": "api/plain-http", "url": "http://{{ .JsonData.apiHost }}/v1/x" },
            { "path": "api/loopback", "url": "http://127.0.0.1:18982/v1/x" },
            { "path": "api/creds", "url": "https://user:{{ .JsonData.tenant }}@{{ .JsonData.apiHost }}/v1/x" },
            { "path": "api/unknown-secret", "url": "https://{{ .JsonData.apiHost }}/v1/x",
              "headers": [{ "name": "X-Key", "content": "{{ .SecureJsonData.nope }}" }] },
            { "path": "api/unknown-data", "url": "https://{{ .JsonData.host_typo }}/v1/x" },
            { "path": "api/no-url" }
        ]
    })
}

fn host_config(extra: Value) -> Value {
    let mut c = json!({
        "user": { "role": "Admin" },
        "routes": { APP: {
            "data": { "apiHost": "api.acme.example", "tenant": "t-1" },
            "secrets": { "apiKey": SECRET, "token": TOKEN },
            "secretOrigins": [API_ORIGIN]
        } }
    });
    if let (Some(c), Value::Object(extra)) = (c.as_object_mut(), extra) {
        c.extend(extra);
    }
    c
}

fn engine(config: Value) -> Engine<MemoryBackend> {
    let config: HostConfig = serde_json::from_value(config).expect("a valid host config");
    let mut e = Engine::new(config, MemoryBackend::new()).expect("the engine starts");
    let checked = e
        .check_manifest(&manifest().to_string(), T)
        .expect("manifest is valid");
    e.finish_install(checked, &InstallInput::default(), Provenance::Unsigned, T)
        .expect("installs");
    e.set_status(APP, Status::Mounting, T).unwrap();
    e.set_status(APP, Status::Mounted, T).unwrap();
    e
}

fn fetch(e: &mut Engine<MemoryBackend>, id: u64, params: Value) -> Sent {
    let msg = json!({ "v": 1, "id": id, "method": "api.fetch", "params": params }).to_string();
    send(e, APP, Some(&msg), T)
}

/// Everything the plugin or the host could see of an outcome, as text.
fn visible(o: &Sent) -> String {
    match o {
        Sent::Reply(r) => r.clone(),
        Sent::Fetch(plan) => format!("{plan:?}"),
        other => format!("{other:?}"),
    }
}

#[track_caller]
fn plan(o: Sent) -> FetchPlan {
    match o {
        Sent::Fetch(p) => p,
        other => panic!("expected a fetch plan, found {}", visible(&other)),
    }
}

#[track_caller]
fn error(o: &Sent, id: u64, code: &str) -> Value {
    let Sent::Reply(text) = o else {
        panic!("expected a reply, found {}", visible(o));
    };
    let r: Value = serde_json::from_str(text).unwrap();
    assert_eq!(r["id"], id, "{r}");
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["error"]["code"], code, "{r}");
    r["error"].clone()
}

#[track_caller]
fn assert_no_secret(text: &str) {
    for s in [SECRET, TOKEN, "s3cr3t", "s3cr3t-K3y%2Fwith%2Bchars%3D"] {
        assert!(!text.contains(s), "secret {s:?} leaked in: {text}");
    }
}

fn audit_text(e: &Engine<MemoryBackend>) -> String {
    serde_json::to_string(&e.audit_log()).unwrap()
}

fn response(url: &str, body: &str) -> FetchResponse {
    FetchResponse {
        binary: None,
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.into(),
        url: url.into(),
    }
}

// ----- templates --------------------------------------------------------------------------------

#[test]
fn template_substitution_table() {
    let c = config(
        &[
            ("host", "api.acme.example"),
            ("tenant", "t 1"),
            ("empty", ""),
        ],
        &[("key", "K")],
    );
    let table: &[(&str, Result<&str, &str>)] = &[
        ("no templates at all", Ok("no templates at all")),
        (
            "https://{{ .JsonData.host }}/v1",
            Ok("https://api.acme.example/v1"),
        ),
        (
            "https://{{.JsonData.host}}/v1",
            Ok("https://api.acme.example/v1"),
        ),
        ("{{   .JsonData.host   }}", Ok("api.acme.example")),
        ("Bearer {{ .SecureJsonData.key }}", Ok("Bearer K")),
        (
            "{{ .JsonData.tenant }}/{{ .SecureJsonData.key }}{{ .SecureJsonData.key }}",
            Ok("t 1/KK"),
        ),
        ("a{{ .JsonData.empty }}b", Ok("ab")),
        ("stray }} braces", Ok("stray }} braces")),
        (
            "{{ .JsonData.missing }}",
            Err("JsonData.missing is not set"),
        ),
        (
            "{{ .SecureJsonData.host }}",
            Err("SecureJsonData.host is not set"),
        ),
        ("{{ .SecureJsonData.missing }}", Err("secrets.missing")),
        ("{{ .JsonData.host ", Err("no closing")),
        ("x {{ .JsonData.host }} {{", Err("byte 23")),
        ("{{ .URL }}", Err("\".URL\" is not supported")),
        ("{{ .JsonData.host | urlquery }}", Err("is not supported")),
        ("{{ .JsonData. }}", Err("is not supported")),
        ("{{ .JsonData.a.b }}", Err("is not supported")),
        ("{{ JsonData.host }}", Err("is not supported")),
        ("{{}}", Err("is not supported")),
    ];
    for (template, want) in table {
        let got = substitute(template, &c);
        match (want, &got) {
            (Ok(w), Ok(g)) => assert_eq!(g, w, "{template}"),
            (Err(w), Err(g)) => assert!(g.to_string().contains(w), "{template}: {g}"),
            _ => panic!("{template}: expected {want:?}, found {got:?}"),
        }
    }
    // An unknown key is an error naming the key, never an empty substitution.
    assert_eq!(
        substitute("{{ .SecureJsonData.nope }}", &c),
        Err(TemplateError::UnknownKey {
            object: "SecureJsonData",
            key: "nope".into(),
            option: "secrets"
        })
    );
}

#[test]
fn route_config_is_validated_and_its_debug_hides_secrets() {
    let c: RouteConfig =
        serde_json::from_value(json!({ "data": { "h": "x" }, "secrets": { "k": SECRET } }))
            .unwrap();
    let debug = format!("{c:?}");
    assert!(
        debug.contains("\"k\"") && debug.contains("\"h\": \"x\""),
        "{debug}"
    );
    assert_no_secret(&debug);
    assert!(serde_json::from_value::<RouteConfig>(json!({ "secret": {} })).is_err());
    for (bad, needle) in [
        (json!({ "routes": { "Not An Id": {} } }), "not a plugin id"),
        (
            json!({ "routes": { APP: { "secrets": { "k": "" }, "secretOrigins": [API_ORIGIN] } } }),
            "secrets.k is empty",
        ),
        // Secrets with nowhere approved to go: refused when the host is built.
        (
            json!({ "routes": { APP: { "secrets": { "k": SECRET } } } }),
            "has secrets but no secretOrigins",
        ),
        (
            json!({ "routes": { APP: { "secrets": { "k": SECRET }, "secretOrigins": [] } } }),
            "has secrets but no secretOrigins",
        ),
        (
            json!({ "routes": { APP: { "secrets": { "k": SECRET }, "secretOrigins": ["https://api.acme.example/v1/"] } } }),
            "is not an origin",
        ),
        (
            json!({ "routes": { APP: { "secrets": { "k": SECRET }, "secretOrigins": ["http://api.acme.example"] } } }),
            "expected https",
        ),
        (
            json!({ "routes": { APP: { "secrets": { "k": SECRET }, "secretOrigins": ["api.acme.example"] } } }),
            "is not a URL",
        ),
        (
            json!({ "routes": { APP: { "data": { "a-b": "x" } } } }),
            "\"a-b\" is not an identifier",
        ),
        (
            json!({ "routes": { APP: { "data": { "k": "x".repeat(9000) } } } }),
            "at most 8192",
        ),
    ] {
        let config: HostConfig = serde_json::from_value(bad.clone()).unwrap();
        let Err(e) = Engine::new(config, MemoryBackend::new()) else {
            panic!("{bad} was accepted");
        };
        assert_eq!(e.code, ErrorCode::InvalidArgument, "{bad}");
        assert!(e.message.contains(needle), "{bad}: {}", e.message);
    }
    // Unknown fields of the option are refused (deny_unknown_fields).
    assert!(
        serde_json::from_value::<HostConfig>(json!({ "routes": { APP: { "headers": {} } } }))
            .is_err()
    );
}

#[test]
fn route_urls_parse_into_path_and_query() {
    assert!(parse_request("https://api.acme.example/v1/").is_none());
    assert!(
        parse_request("Route:api").is_none(),
        "the prefix is case-sensitive"
    );
    fn ok(u: &str) -> plugin_warden::core::routes::RouteRequest<'_> {
        parse_request(u).unwrap().unwrap()
    }
    assert_eq!(ok("route:api/patents").path, "api/patents");
    assert_eq!(ok("route:api/patents").query, None);
    assert_eq!(ok("route:api/patents?").query, None);
    assert_eq!(ok("route:api/patents?q=x&n=2").query, Some("q=x&n=2"));
    for bad in [
        "route:",
        "route:?q=1",
        "route:api pat",
        "route:api\n",
        "route:a#frag",
        "route:a\\b",
    ] {
        let e = parse_request(bad).unwrap().unwrap_err();
        assert_eq!(e.code(), ErrorCode::MessageRejected, "{bad}");
    }
}

#[test]
fn resolve_enforces_https_and_refuses_credentials_without_echoing_values() {
    let m = Manifest::from_value(manifest(), &ManifestOptions::default()).unwrap();
    let c = config(
        &[("apiHost", "api.acme.example"), ("tenant", "t")],
        &[("apiKey", SECRET), ("token", TOKEN)],
    );
    let route = |p: &str| m.routes().iter().find(|r| r.path() == p).unwrap();
    let r = resolve(route("api/patents"), &c, Some("q=x"), false).unwrap();
    assert_eq!(
        r.url.origin().ascii_serialization(),
        "https://api.acme.example"
    );
    assert_eq!(r.url.path(), "/v1/patents");
    assert!(r.url.query().unwrap().ends_with("&q=x"));
    assert_no_secret(&format!("{r:?}"));
    for (path, allow_http, code, needle) in [
        (
            "api/plain-http",
            false,
            ErrorCode::NetworkDenied,
            "expected https",
        ),
        ("api/plain-http", true, ErrorCode::NetworkDenied, "loopback"),
        (
            "api/loopback",
            false,
            ErrorCode::NetworkDenied,
            "expected https",
        ),
        ("api/creds", false, ErrorCode::NetworkDenied, "credentials"),
        (
            "api/unknown-secret",
            false,
            ErrorCode::InvalidArgument,
            "SecureJsonData.nope",
        ),
        (
            "api/unknown-data",
            false,
            ErrorCode::InvalidArgument,
            "JsonData.host_typo",
        ),
        (
            "api/no-url",
            false,
            ErrorCode::InvalidArgument,
            "declares no url",
        ),
    ] {
        let e = resolve(route(path), &c, None, allow_http).unwrap_err();
        assert_eq!(e.code(), code, "{path}: {e}");
        assert!(e.to_string().contains(needle), "{path}: {e}");
        assert!(e.to_string().contains(path), "{path}: {e}");
        assert_no_secret(&e.to_string());
    }
    // Loopback http only with the opt-in.
    assert!(resolve(route("api/loopback"), &c, None, true).is_ok());
    // A host value cannot smuggle a header line.
    let mut evil = c.clone();
    evil.data.insert("tenant".into(), "t\r\nX-Evil: 1".into());
    let e = resolve(route("api/patents"), &evil, None, false).unwrap_err();
    assert!(matches!(e, RouteError::Header { .. }), "{e}");
    // Nor a different URL structure through control characters.
    evil = c.clone();
    evil.data
        .insert("apiHost".into(), "api.acme.example\t".into());
    assert_eq!(
        resolve(route("api/patents"), &evil, None, false)
            .unwrap_err()
            .code(),
        ErrorCode::NetworkDenied
    );
}

#[test]
fn merge_headers_lets_route_headers_win_case_insensitively() {
    let plugin = vec![
        ("x-api-key".to_owned(), "plugin-choice".to_owned()),
        ("AUTHORIZATION".to_owned(), "Bearer plugin".to_owned()),
        ("accept".to_owned(), "application/json".to_owned()),
    ];
    let route = vec![
        ("X-Api-Key".to_owned(), SECRET.to_owned()),
        ("Authorization".to_owned(), format!("Bearer {TOKEN}")),
    ];
    let merged = merge_headers(plugin, route);
    assert_eq!(
        merged,
        vec![
            ("accept".to_owned(), "application/json".to_owned()),
            ("X-Api-Key".to_owned(), SECRET.to_owned()),
            ("Authorization".to_owned(), format!("Bearer {TOKEN}")),
        ]
    );
}

#[test]
fn scrub_replaces_plain_and_encoded_forms_longest_first() {
    let mut secrets = vec!["ab".to_owned(), "abcd".to_owned(), "ab".to_owned()];
    routes::order_secrets(&mut secrets);
    assert_eq!(secrets, vec!["abcd".to_owned(), "ab".to_owned()]);
    assert_eq!(scrub("x abcd y ab", &secrets), "x [REDACTED] y [REDACTED]");
    let s = vec!["a b/c".to_owned()];
    assert_eq!(
        scrub("a%20b%2Fc a+b%2Fc a b/c", &s),
        "[REDACTED] [REDACTED] [REDACTED]"
    );
    assert_eq!(scrub("nothing", &[]), "nothing");
}

// ----- the engine ----------------------------------------------------------------------------------

#[test]
fn a_user_with_the_action_gets_a_plan_with_the_secret_headers() {
    let mut e = engine(host_config(json!({})));
    let o = fetch(
        &mut e,
        1,
        json!({ "url": "route:api/patents?q=graphene",
                "headers": { "x-api-key": "plugin-wants-its-own", "accept": "application/json" } }),
    );
    assert_no_secret(&format!("{o:?}"));
    let p = plan(o);
    assert_eq!(p.route.as_deref(), Some("api/patents"));
    assert_eq!(p.method, "GET");
    assert!(p.retryable);
    let url = url::Url::parse(&p.url).unwrap();
    assert_eq!(url.host_str(), Some("api.acme.example"));
    assert_eq!(url.path(), "/v1/patents");
    // Values are inserted verbatim (the host gives URL-ready values); the plugin's query follows.
    assert_eq!(
        url.query(),
        Some(format!("key={SECRET}&q=graphene").as_str())
    );
    assert_eq!(
        p.headers,
        vec![
            ("accept".to_owned(), "application/json".to_owned()),
            ("X-Api-Key".to_owned(), SECRET.to_owned()),
            ("Authorization".to_owned(), format!("Bearer {TOKEN}")),
            ("X-Tenant".to_owned(), "t-1".to_owned()),
        ],
        "the plugin's x-api-key is replaced by the route's"
    );
    // The answer reaches the plugin; the call is audited with the route, without secrets.
    let reply = fetch_reply(
        &mut e,
        APP,
        1,
        Ok(response(&p.url, r#"{"patents":[1,2]}"#)),
        T,
    );
    let r: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["value"]["status"], 200);
    assert_eq!(r["value"]["body"], r#"{"patents":[1,2]}"#);
    let log = e.audit_log();
    let call = log
        .iter()
        .rev()
        .find(|ev| ev.method.as_deref() == Some("api.fetch"))
        .unwrap();
    assert_eq!(call.detail, Some(json!({ "route": "api/patents" })));
    assert_no_secret(&audit_text(&e));
}

#[test]
fn a_user_without_the_action_gets_permission_denied_naming_it() {
    for user in [
        json!({ "role": "Viewer" }),
        json!({ "role": "Editor" }),
        json!({}),
    ] {
        let mut e = engine(host_config(json!({ "user": user })));
        let o = fetch(&mut e, 7, json!({ "url": "route:api/patents" }));
        let err = error(&o, 7, "PERMISSION_DENIED");
        assert_eq!(err["permission"], READ, "{user}");
        assert!(err["message"].as_str().unwrap().contains(READ), "{err}");
        assert!(
            err["message"].as_str().unwrap().contains("api/patents"),
            "{err}"
        );
        assert_no_secret(&visible(&o));
        // An explicit grant of the action opens it at once.
        e.set_user(json!({ "permissions": [READ] })).unwrap();
        assert!(matches!(
            fetch(&mut e, 8, json!({ "url": "route:api/patents" })),
            Sent::Fetch(_)
        ));
        assert_no_secret(&audit_text(&e));
    }
    // reqRole without reqAction: Editor and Admin pass, Viewer does not.
    let mut e = engine(host_config(json!({ "user": { "role": "Viewer" } })));
    let err = error(
        &fetch(&mut e, 1, json!({ "url": "route:api/editors" })),
        1,
        "PERMISSION_DENIED",
    );
    assert!(err["message"].as_str().unwrap().contains("Editor"), "{err}");
    e.set_user(json!({ "role": "Editor" })).unwrap();
    assert!(matches!(
        fetch(&mut e, 2, json!({ "url": "route:api/editors" })),
        Sent::Fetch(_)
    ));
    // The engine's gate agrees with canAccessRoute.
    for (path, method) in [
        ("api/patents", "GET"),
        ("api/editors", "GET"),
        ("api/any", "DELETE"),
    ] {
        for user in [json!({ "role": "Viewer" }), json!({ "role": "Admin" })] {
            e.set_user(user.clone()).unwrap();
            let can = e.can_access_route(APP, path, method).unwrap();
            e.grant(APP, "api:write", T).unwrap();
            let o = fetch(
                &mut e,
                100,
                json!({ "url": format!("route:{path}"), "method": method }),
            );
            let planned = matches!(o, Sent::Fetch(_));
            if planned {
                fetch_reply(
                    &mut e,
                    APP,
                    100,
                    Err(WardenError::new(ErrorCode::Timeout, "t")),
                    T,
                );
            }
            assert_eq!(planned, can, "{path} {method} {user}");
        }
    }
}

#[test]
fn routes_match_path_exactly_and_method_precisely() {
    let mut e = engine(host_config(json!({})));
    for (i, url) in [
        "route:api/nope",
        "route:api/patents/",
        "route:/api/patents",
        "route:API/patents",
    ]
    .into_iter()
    .enumerate()
    {
        let id = i as u64;
        let err = error(&fetch(&mut e, id, json!({ "url": url })), id, "NOT_FOUND");
        let path = url.trim_start_matches("route:");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{path:?}")),
            "{err}"
        );
    }
    // GET and POST exist for api/patents; PUT does not.
    e.grant(APP, "api:write", T).unwrap();
    let err = error(
        &fetch(
            &mut e,
            10,
            json!({ "url": "route:api/patents", "method": "PUT" }),
        ),
        10,
        "NOT_FOUND",
    );
    assert!(err["message"].as_str().unwrap().contains("PUT"), "{err}");
    // POST is a different route with its own action (which Admin does not hold).
    let err = error(
        &fetch(
            &mut e,
            11,
            json!({ "url": "route:api/patents", "method": "post" }),
        ),
        11,
        "PERMISSION_DENIED",
    );
    assert_eq!(err["permission"], "acme-patents-app.patents:write");
    // A route without a method takes any.
    let p = plan(fetch(
        &mut e,
        12,
        json!({ "url": "route:api/any?x=1", "method": "DELETE" }),
    ));
    assert_eq!((p.method.as_str(), p.retryable), ("DELETE", false));
    assert!(p.url.ends_with("/v1/any?fixed=1&x=1"), "{}", p.url);
}

#[test]
fn route_requests_need_the_fetch_capability() {
    let mut e = engine(host_config(json!({})));
    // api:write is optional and not granted: a POST route is refused before RBAC.
    let err = error(
        &fetch(
            &mut e,
            1,
            json!({ "url": "route:api/any", "method": "POST" }),
        ),
        1,
        "PERMISSION_DENIED",
    );
    assert_eq!(err["permission"], "api:write");
    e.revoke(APP, "api:read", T).unwrap();
    let err = error(
        &fetch(&mut e, 2, json!({ "url": "route:api/patents" })),
        2,
        "PERMISSION_DENIED",
    );
    assert_eq!(err["permission"], "api:read");
}

#[test]
fn https_is_enforced_and_templates_must_resolve() {
    let mut e = engine(host_config(json!({})));
    for (id, path, code) in [
        (1, "api/plain-http", "NETWORK_DENIED"),
        (2, "api/loopback", "NETWORK_DENIED"),
        (3, "api/creds", "NETWORK_DENIED"),
        (4, "api/unknown-secret", "INVALID_ARGUMENT"),
        (5, "api/unknown-data", "INVALID_ARGUMENT"),
        (6, "api/no-url", "INVALID_ARGUMENT"),
    ] {
        let o = fetch(&mut e, id, json!({ "url": format!("route:{path}") }));
        let err = error(&o, id, code);
        assert!(err["message"].as_str().unwrap().contains(path), "{err}");
        assert_no_secret(&visible(&o));
    }
    let err = error(
        &fetch(&mut e, 4, json!({ "url": "route:api/unknown-secret" })),
        4,
        "INVALID_ARGUMENT",
    );
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("SecureJsonData.nope"),
        "{err}"
    );
    // With allowLoopbackHttp, a loopback http route works (dev servers).
    let mut dev = engine(host_config(
        json!({ "dangerous": { "allowLoopbackHttp": true } }),
    ));
    let p = plan(fetch(&mut dev, 1, json!({ "url": "route:api/loopback" })));
    assert_eq!(p.url, "http://127.0.0.1:18982/v1/x");
    // A plugin without any configuration gets an error naming the key, not an empty value.
    let mut bare = engine(json!({ "user": { "role": "Admin" } }));
    let err = error(
        &fetch(&mut bare, 1, json!({ "url": "route:api/patents" })),
        1,
        "INVALID_ARGUMENT",
    );
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("JsonData.apiHost"),
        "{err}"
    );
    assert_no_secret(&audit_text(&e));
}

#[test]
fn the_route_url_is_not_an_allowlist_grant_and_its_answer_must_come_from_its_origin() {
    let mut e = engine(host_config(json!({})));
    // The route's host is not in `network`: a direct fetch of it is still refused.
    let direct = fetch(
        &mut e,
        1,
        json!({ "url": "https://api.acme.example/v1/patents" }),
    );
    error(&direct, 1, "NETWORK_DENIED");
    // Through the route, the answer from the route's origin is accepted without the allowlist…
    let p = plan(fetch(&mut e, 2, json!({ "url": "route:api/patents" })));
    let ok: Value =
        serde_json::from_str(&fetch_reply(&mut e, APP, 2, Ok(response(&p.url, "[]")), T)).unwrap();
    assert_eq!(ok["ok"], true, "{ok}");
    // …and one from any other origin is refused without quoting the URL.
    let p = plan(fetch(&mut e, 3, json!({ "url": "route:api/patents" })));
    let escaped = format!("https://evil.example/steal?key={SECRET}");
    let r = fetch_reply(&mut e, APP, p.call_id, Ok(response(&escaped, "[]")), T);
    let r: Value = serde_json::from_str(&r).unwrap();
    assert_eq!(r["error"]["code"], "NETWORK_DENIED", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api/patents"),
        "{r}"
    );
    assert!(!r.to_string().contains("evil.example"), "{r}");
    assert_no_secret(&r.to_string());
    // The route's origin check does not apply to a plain fetch done later with the same id.
    let p = plan(fetch(
        &mut e,
        3,
        json!({ "url": "https://other.acme.example/x" }),
    ));
    let r: Value = serde_json::from_str(&fetch_reply(
        &mut e,
        APP,
        p.call_id,
        Ok(response(&p.url, "{}")),
        T,
    ))
    .unwrap();
    assert_eq!(r["ok"], true, "{r}");
    assert_no_secret(&audit_text(&e));
}

#[test]
fn a_call_id_in_flight_for_a_route_cannot_be_reused() {
    let mut e = engine(host_config(json!({})));
    let p = plan(fetch(&mut e, 5, json!({ "url": "route:api/patents" })));
    error(
        &fetch(&mut e, 5, json!({ "url": "route:api/patents" })),
        5,
        "MESSAGE_REJECTED",
    );
    error(
        &fetch(&mut e, 5, json!({ "url": "https://other.acme.example/" })),
        5,
        "MESSAGE_REJECTED",
    );
    fetch_reply(&mut e, APP, p.call_id, Ok(response(&p.url, "")), T);
    assert!(matches!(
        fetch(&mut e, 5, json!({ "url": "route:api/patents" })),
        Sent::Fetch(_)
    ));
}

#[test]
fn no_secret_reaches_the_plugin_through_errors_echoes_or_the_audit_log() {
    let mut e = engine(host_config(json!({})));
    let mut replies = Vec::new();
    // A network error from the API client quotes the URL, which holds the key.
    let p = plan(fetch(&mut e, 1, json!({ "url": "route:api/patents" })));
    let fail = WardenError::new(
        ErrorCode::NetworkDenied,
        format!(
            "GET {} failed: network error, CORS refusal or a redirect",
            p.url
        ),
    );
    assert!(fail.message.contains(SECRET));
    let r = fetch_reply(&mut e, APP, 1, Err(fail), T);
    let v: Value = serde_json::from_str(&r).unwrap();
    assert_eq!(v["error"]["code"], "NETWORK_DENIED");
    assert!(
        v["error"]["message"].as_str().unwrap().starts_with(
            "route \"api/patents\": GET https://api.acme.example/v1/patents?key=[REDACTED]"
        ),
        "{v}"
    );
    replies.push(r);
    // An upstream that echoes the request headers and URL (plain and percent-encoded).
    let p = plan(fetch(&mut e, 2, json!({ "url": "route:api/patents" })));
    let echo = json!({
        "headers": { "x-api-key": SECRET, "authorization": format!("Bearer {TOKEN}") },
        "url": p.url,
        "encoded": "s3cr3t-K3y%2Fwith%2Bchars%3D",
    })
    .to_string();
    let mut resp = response(&p.url, &echo);
    resp.headers.push(("x-echo-key".into(), SECRET.into()));
    resp.headers
        .push(("content-language".into(), format!("en-{TOKEN}")));
    let r = fetch_reply(&mut e, APP, 2, Ok(resp), T);
    let v: Value = serde_json::from_str(&r).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert!(
        v["value"]["body"].as_str().unwrap().contains("[REDACTED]"),
        "{v}"
    );
    replies.push(r);
    // Every refusal path on the way in.
    for (id, params) in [
        (3, json!({ "url": "route:api/unknown-secret" })),
        (4, json!({ "url": "route:api/creds" })),
        (5, json!({ "url": "route:api/nope" })),
        (6, json!({ "url": "route:" })),
    ] {
        replies.push(visible(&fetch(&mut e, id, params)));
    }
    e.set_user(json!({ "role": "Viewer" })).unwrap();
    replies.push(visible(&fetch(
        &mut e,
        7,
        json!({ "url": "route:api/patents" }),
    )));
    // permissions.* never expose route configuration either.
    for (id, method, params) in [
        (8, "permissions.list", json!({})),
        (9, "permissions.has", json!({ "permission": READ })),
    ] {
        let msg = json!({ "v": 1, "id": id, "method": method, "params": params }).to_string();
        replies.push(visible(&send(&mut e, APP, Some(&msg), T)));
    }
    for r in &replies {
        assert_no_secret(r);
    }
    let audit = audit_text(&e);
    assert_no_secret(&audit);
    assert!(
        audit.contains("api/patents"),
        "route calls are audited: {audit}"
    );
    // The plan's Debug (what a panic or a log line would print) hides the secrets too.
    e.set_user(json!({ "role": "Admin" })).unwrap();
    let o = fetch(&mut e, 10, json!({ "url": "route:api/patents" }));
    assert_no_secret(&format!("{o:?}"));
}

#[test]
fn route_config_set_later_applies_to_the_next_request_and_its_secrets_stay_redacted() {
    let mut e = engine(json!({ "user": { "role": "Admin" } }));
    error(
        &fetch(&mut e, 1, json!({ "url": "route:api/patents" })),
        1,
        "INVALID_ARGUMENT",
    );
    e.set_route_config(
        APP,
        config(
            &[("apiHost", "api.acme.example"), ("tenant", "t")],
            &[("apiKey", SECRET), ("token", TOKEN)],
        ),
    )
    .unwrap();
    let p = plan(fetch(&mut e, 2, json!({ "url": "route:api/patents" })));
    assert!(p
        .headers
        .contains(&("X-Api-Key".to_owned(), SECRET.to_owned())));
    // A replaced secret is still redacted (once secret, never logged).
    e.set_route_config(
        APP,
        config(
            &[("apiHost", "api.acme.example"), ("tenant", "t")],
            &[("apiKey", "new-key-123"), ("token", "new-token-456")],
        ),
    )
    .unwrap();
    let fail = WardenError::new(ErrorCode::Timeout, format!("old {SECRET} new new-key-123"));
    let r = fetch_reply(&mut e, APP, 2, Err(fail), T);
    assert_no_secret(&r);
    assert!(!r.contains("new-key-123"), "{r}");
    assert_no_secret(&audit_text(&e));
    assert!(!audit_text(&e).contains("new-key-123"));
    // Bad input is refused with INVALID_ARGUMENT.
    let err = e
        .set_route_config("Bad Id", RouteConfig::default())
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
}

#[test]
fn secrets_go_only_to_the_origins_the_host_approves() {
    // The data value (not the manifest) moves the route to another origin: the secret-bearing
    // route is refused and nothing is planned; a route without secrets still goes.
    let mut moved = host_config(json!({}));
    moved["routes"][APP]["data"]["apiHost"] = json!("collector.evil.example");
    let mut e = engine(moved);
    let out = fetch(&mut e, 1, json!({ "url": "route:api/patents" }));
    let err = error(&out, 1, "NETWORK_DENIED");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("https://collector.evil.example"),
        "{message}"
    );
    assert!(message.contains("secretOrigins"), "{message}");
    assert_no_secret(&visible(&out));
    assert!(audit_text(&e).contains("NETWORK_DENIED"));
    assert_no_secret(&audit_text(&e));
    plan(fetch(&mut e, 2, json!({ "url": "route:api/any" })));

    // A secret only in a header is held to the same rule.
    let m = Manifest::from_value(
        json!({ "id": APP, "name": "P", "routes": [
            { "path": "h", "url": "https://{{ .JsonData.apiHost }}/x",
              "headers": [{ "name": "X-Key", "content": "{{ .SecureJsonData.apiKey }}" }] }
        ] }),
        &ManifestOptions::default(),
    )
    .unwrap();
    let route = &m.routes()[0];
    let mut c = config(&[("apiHost", "other.example")], &[("apiKey", SECRET)]);
    let e = resolve(route, &c, None, false).unwrap_err();
    assert!(matches!(e, RouteError::SecretOrigin { .. }), "{e}");
    assert_eq!(e.code(), ErrorCode::NetworkDenied);
    assert_no_secret(&e.to_string());
    c.data.insert("apiHost".into(), "api.acme.example".into());
    assert!(resolve(route, &c, None, false).is_ok());

    // Origins are normalized (case, default port); set_route_config applies the same rules.
    let mut e = engine(json!({ "user": { "role": "Admin" } }));
    let mut c = config(
        &[("apiHost", "api.acme.example"), ("tenant", "t")],
        &[("apiKey", SECRET), ("token", TOKEN)],
    );
    c.secret_origins = vec!["HTTPS://API.acme.example:443".into()];
    e.set_route_config(APP, c.clone()).unwrap();
    plan(fetch(&mut e, 3, json!({ "url": "route:api/patents" })));
    c.secret_origins.clear();
    let err = e.set_route_config(APP, c).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert!(err.message.contains("secretOrigins"), "{err}");
}

#[test]
fn the_host_csp_allows_the_resolved_route_origins() {
    let e = engine(host_config(
        json!({ "dangerous": { "allowLoopbackHttp": true } }),
    ));
    let csp = e
        .csp_header("bm9uY2Utbm9uY2UtMTIzNA==", "plugin-warden")
        .unwrap();
    let connect = csp
        .split(';')
        .find(|d| d.trim_start().starts_with("connect-src"))
        .unwrap();
    assert!(connect.contains("https://api.acme.example"), "{connect}");
    assert!(connect.contains("http://127.0.0.1:18982"), "{connect}");
    assert!(connect.contains("https://other.acme.example"), "{connect}");
    assert_no_secret(&csp);
}

#[test]
fn a_route_request_cannot_ask_for_a_binary_answer() {
    // Route answers are scrubbed of the route's secrets, which needs text: `arraybuffer` is
    // refused before anything is sent, and the refusal names no secret.
    let mut e = engine(host_config(json!({})));
    let o = fetch(
        &mut e,
        1,
        json!({ "url": "route:api/patents", "responseType": "arraybuffer" }),
    );
    assert_no_secret(&visible(&o));
    let err = error(&o, 1, "INVALID_ARGUMENT");
    assert!(
        err["message"].as_str().unwrap().contains("arraybuffer"),
        "{err}"
    );
    // The same request as text is planned.
    let p = plan(fetch(&mut e, 2, json!({ "url": "route:api/patents" })));
    assert!(!p.binary_response);
}
