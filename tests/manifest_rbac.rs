//! Manifest rules (DESIGN.md §4), capabilities and RBAC, driven through the public API.
#![cfg(not(target_arch = "wasm32"))]

use plugin_warden::core::error::{Coded, ErrorCode};
use plugin_warden::core::manifest::{
    Capability, Grant, Manifest, ManifestError, ManifestOptions, PluginId, MAX_ITEMS,
};
use plugin_warden::core::permission::{FolderActionSet, PermissionSet};
use plugin_warden::core::rbac::{BasicRole, Rbac, UserContext};
use proptest::prelude::*;
use serde_json::{json, Value};

const GRAFANA: &str = include_str!("data/grafana-app-with-rbac.plugin.json");
const H384: &str = "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC";

/// DESIGN.md §4's example, verbatim but for the elided `integrity` (`"sha384-..."`).
fn design_example() -> Value {
    json!({
      "id": "acme-patents-app",
      "name": "Patents",
      "version": "1.2.0",
      "compatibility": "^3.0.0",
      "permissions": ["storage", "api:read", "events"],
      "optionalPermissions": ["api:write", "ui:notify"],
      "network": ["https://api.acme.example/v1/"],
      "entry": { "src": "https://plugins.acme.example/patents/index.html", "integrity": H384 },
      "allow": ["clipboard-write"],
      "roles": [{ "role": { "name": "Patents Reader", "description": "Read patents",
          "permissions": [{ "action": "acme-patents-app.patents:read" }] }, "grants": ["Viewer"] }],
      "includes": [{ "type": "page", "name": "Patents", "path": "/a/%PLUGIN_ID%/patents",
          "action": "acme-patents-app.patents:read", "addToNav": true }],
      "routes": [{ "path": "api/patents", "method": "GET", "reqAction": "acme-patents-app.patents:read",
          "url": "https://api.acme.example/v1/patents" }],
      "actionSets": [{ "action": "folders:edit", "actions": ["acme-patents-app.docs:create"] }]
    })
}

fn parse(v: Value) -> Result<Manifest, ManifestError> {
    Manifest::from_value(v, &ManifestOptions::default())
}

/// The example with `key` set to `value` (`Value::Null` as a sentinel for "remove").
fn with(key: &str, value: Value) -> Value {
    let mut v = design_example();
    if let Some(obj) = v.as_object_mut() {
        if value.is_null() {
            obj.remove(key);
        } else {
            obj.insert(key.to_owned(), value);
        }
    }
    v
}

fn role(action: &str) -> Value {
    json!([{ "role": { "name": "R", "permissions": [{ "action": action }] }, "grants": ["Viewer"] }])
}

fn scoped(scope: &str) -> Value {
    json!([{ "role": { "name": "R", "permissions":
        [{ "action": "acme-patents-app.x:read", "scope": scope }] }, "grants": ["Viewer"] }])
}

enum Want {
    Ok,
    /// A problem at exactly this path whose message contains this text.
    Err(&'static str, &'static str),
}

fn rows() -> Vec<(&'static str, Value, Want)> {
    use Want::{Err as E, Ok as K};
    vec![
        // --- valid
        ("design example", design_example(), K),
        (
            "version placeholder",
            with("version", json!("%VERSION%")),
            K,
        ),
        (
            "version from info",
            {
                let mut v = with("version", Value::Null);
                v["info"] = json!({"version": "%VERSION%", "updated": "%TODAY%"});
                v
            },
            K,
        ),
        ("no version at all", with("version", Value::Null), K),
        (
            "npm comparator list",
            with("compatibility", json!(">=1.0.0 <2.0.0")),
            K,
        ),
        ("npm x-range", with("compatibility", json!("1.x")), K),
        (
            "npm alternatives",
            with("compatibility", json!("^1.0.0 || ^3.0.0")),
            K,
        ),
        ("npm >=", with("compatibility", json!(">=10.0.3")), K),
        (
            "null optional field",
            {
                let mut v = design_example();
                v["compatibility"] = Value::Null;
                v["entry"] = Value::Null;
                v
            },
            K,
        ),
        (
            "unknown top-level kept",
            with("$schema", json!("https://example.com/s.json")),
            K,
        ),
        (
            "grafana admin grant",
            with(
                "roles",
                json!([{ "role": { "name": "R",
            "permissions": [{ "action": "acme-patents-app.x:read" }] }, "grants": ["Grafana Admin"] }]),
            ),
            K,
        ),
        (
            "namespaced wildcard in role",
            with("roles", role("acme-patents-app.patents:*")),
            K,
        ),
        (
            "scoped permission",
            with(
                "roles",
                json!([{ "role": { "name": "R", "permissions":
            [{ "action": "acme-patents-app.x:read", "scope": "folders:uid:abc" }] } }]),
            ),
            K,
        ),
        ("no entry", with("entry", Value::Null), K),
        (
            "two integrity hashes",
            with(
                "entry",
                json!({"src": "https://p.example/", "integrity":
            format!("{H384} sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")}),
            ),
            K,
        ),
        (
            "route any method",
            with("routes", json!([{ "path": "api/x", "method": "*" }])),
            K,
        ),
        (
            "grafana route template",
            with(
                "routes",
                json!([{ "path": "api/x", "url": "https://{{ .JsonData.host }}/api", "reqSignedIn": true,
                    "headers": [{ "name": "Authorization", "content": "Bearer {{ .SecureJsonData.token }}" }] }]),
            ),
            K,
        ),
        (
            "unknown field inside include",
            with(
                "includes",
                json!([{ "type": "page", "name": "P",
            "icon": "x", "path": "/a/%PLUGIN_ID%/p" }]),
            ),
            K,
        ),
        // --- id
        (
            "id uppercase",
            with("id", json!("Acme-App")),
            E("id", "lowercase"),
        ),
        ("id too short", with("id", json!("ab")), E("id", "3 to 64")),
        (
            "id too long",
            with("id", json!("a".repeat(65))),
            E("id", "3 to 64"),
        ),
        (
            "id with dot",
            with("id", json!("acme.app")),
            E("id", "lowercase"),
        ),
        (
            "id reserved core namespace",
            with("id", json!("folders")),
            E("id", "reserved"),
        ),
        (
            "id not a string",
            with("id", json!(42)),
            E("id", "expected a string, found a number"),
        ),
        ("id missing", with("id", Value::Null), E("id", "required")),
        // --- name, version, compatibility
        (
            "name missing",
            with("name", Value::Null),
            E("name", "required"),
        ),
        (
            "name wrong type",
            with("name", json!(["x"])),
            E("name", "found an array"),
        ),
        (
            "name blank",
            with("name", json!("  ")),
            E("name", "non-empty"),
        ),
        (
            "version not semver",
            with("version", json!("banana")),
            E("version", "semver"),
        ),
        (
            "info.version not semver",
            {
                let mut v = with("version", Value::Null);
                v["info"] = json!({"version": "one"});
                v
            },
            E("info.version", "semver"),
        ),
        (
            "compatibility garbage",
            with("compatibility", json!("banana")),
            E("compatibility", "semver range"),
        ),
        (
            "compatibility wrong type",
            with("compatibility", json!(3)),
            E("compatibility", "found a number"),
        ),
        // --- capabilities
        (
            "unknown capability",
            with("permissions", json!(["storage", "camera"])),
            E("permissions[1]", "known capability"),
        ),
        (
            "permissions not an array",
            with("permissions", json!("storage")),
            E("permissions", "expected an array"),
        ),
        (
            "duplicate capability",
            with("permissions", json!(["storage", "storage"])),
            E("permissions[1]", "duplicate"),
        ),
        (
            "optional not a capability",
            with("optionalPermissions", json!(["geolocation"])),
            E("optionalPermissions[0]", "known capability"),
        ),
        (
            "optional and required",
            with("optionalPermissions", json!(["storage"])),
            E("optionalPermissions[0]", "both"),
        ),
        (
            "permissions cannot be optional",
            with("optionalPermissions", json!(["permissions"])),
            E("optionalPermissions[0]", "implied"),
        ),
        // --- network, entry, allow
        (
            "network http",
            with("network", json!(["http://api.acme.example/"])),
            E("network[0]", "scheme"),
        ),
        (
            "network loopback http without opt-in",
            with("network", json!(["http://127.0.0.1:8080/"])),
            E("network[0]", "scheme"),
        ),
        (
            "network credentials",
            with("network", json!(["https://u:p@api.acme.example/"])),
            E("network[0]", "credentials"),
        ),
        (
            "network query",
            with("network", json!(["https://api.acme.example/?q=1"])),
            E("network[0]", "query"),
        ),
        (
            "network relative",
            with("network", json!(["/v1/"])),
            E("network[0]", "absolute"),
        ),
        (
            "network duplicate",
            with(
                "network",
                json!(["https://a.example/x", "https://A.example/x"]),
            ),
            E("network[1]", "duplicate"),
        ),
        // --- assets
        (
            "assets origins",
            with(
                "assets",
                json!(["https://cdn.example", "https://fonts.example:8443/"]),
            ),
            K,
        ),
        (
            "assets not an array",
            with("assets", json!("https://cdn.example")),
            E("assets", "expected an array"),
        ),
        (
            "assets entry not a string",
            with("assets", json!(["https://cdn.example", 7])),
            E("assets[1]", "expected a string"),
        ),
        (
            "assets http",
            with("assets", json!(["http://cdn.example"])),
            E("assets[0]", "scheme"),
        ),
        (
            "assets loopback http without opt-in",
            with("assets", json!(["http://127.0.0.1:8701"])),
            E("assets[0]", "scheme"),
        ),
        (
            "assets with a path",
            with(
                "assets",
                json!(["https://cdn.example", "https://cdn.example/img/"]),
            ),
            E("assets[1]", "without a path"),
        ),
        (
            "assets with credentials",
            with("assets", json!(["https://u:p@cdn.example"])),
            E("assets[0]", "credentials"),
        ),
        (
            "assets with a query",
            with("assets", json!(["https://cdn.example/?v=1"])),
            E("assets[0]", "query"),
        ),
        (
            "assets with a fragment",
            with("assets", json!(["https://cdn.example/#x"])),
            E("assets[0]", "fragment"),
        ),
        (
            "assets relative",
            with("assets", json!(["//cdn.example"])),
            E("assets[0]", "absolute"),
        ),
        (
            "assets javascript",
            with("assets", json!(["javascript:alert(1)"])),
            E("assets[0]", "scheme"),
        ),
        (
            "assets data",
            with("assets", json!(["data:image/png;base64,AAAA"])),
            E("assets[0]", "scheme"),
        ),
        (
            "assets duplicate after normalization",
            with(
                "assets",
                json!(["https://cdn.example", "https://CDN.example:443/"]),
            ),
            E("assets[1]", "duplicate"),
        ),
        (
            "assets near miss",
            with("Assets", json!(["https://cdn.example"])),
            E("Assets", "did you mean \"assets\""),
        ),
        (
            // U+212A KELVIN SIGN lowercases to an ASCII `k`.
            "near miss through Unicode lowercase",
            with("networ\u{212A}", json!([])),
            E("networ\u{212A}", "did you mean \"network\""),
        ),
        (
            "entry src relative",
            with("entry", json!({"src": "index.html"})),
            E("entry.src", "absolute URL"),
        ),
        (
            "entry src http",
            with("entry", json!({"src": "http://p.example/"})),
            E("entry.src", "https"),
        ),
        (
            "entry src javascript",
            with("entry", json!({"src": "javascript:alert(1)"})),
            E("entry.src", "https"),
        ),
        (
            "entry src missing",
            with("entry", json!({})),
            E("entry.src", "required"),
        ),
        (
            "entry not an object",
            with("entry", json!("https://p.example/")),
            E("entry", "expected an object"),
        ),
        (
            "integrity md5",
            with(
                "entry",
                json!({"src": "https://p.example/", "integrity": "md5-abc"}),
            ),
            E("entry.integrity", "sha256-"),
        ),
        (
            "integrity elided",
            with(
                "entry",
                json!({"src": "https://p.example/", "integrity": "sha384-..."}),
            ),
            E("entry.integrity", "base64"),
        ),
        (
            "allow uppercase",
            with("allow", json!(["Camera"])),
            E("allow[0]", "[a-z0-9-]+"),
        ),
        (
            "allow with policy syntax",
            with("allow", json!(["camera 'self'"])),
            E("allow[0]", "[a-z0-9-]+"),
        ),
        // --- roles
        (
            "role grants core action",
            with("roles", role("dashboards:write")),
            E(
                "roles[0].role.permissions[0].action",
                "outside this plugin's namespace \"acme-patents-app.\"",
            ),
        ),
        (
            "role look-alike namespace",
            with("roles", role("acme-patents-appx.a:read")),
            E("roles[0].role.permissions[0].action", "outside"),
        ),
        (
            "role namespace without dot",
            with("roles", role("acme-patents-app:read")),
            E("roles[0].role.permissions[0].action", "outside"),
        ),
        (
            "role bare star",
            with("roles", role("*")),
            E("roles[0].role.permissions[0].action", "without ':'"),
        ),
        (
            "role core wildcard",
            with("roles", role("roles:*")),
            E("roles[0].role.permissions[0].action", "outside"),
        ),
        (
            "role action with space",
            with("roles", role("acme-patents-app.a: read")),
            E("roles[0].role.permissions[0].action", "whitespace"),
        ),
        (
            "role missing",
            with("roles", json!([{ "grants": ["Viewer"] }])),
            E("roles[0].role", "required"),
        ),
        (
            "role duplicate name",
            with(
                "roles",
                json!([
            { "role": { "name": "R", "permissions": [] } }, { "role": { "name": "R", "permissions": [] } }]),
            ),
            E("roles[1].role.name", "duplicate"),
        ),
        (
            "grant None",
            with(
                "roles",
                json!([{ "role": { "name": "R", "permissions": [] }, "grants": ["None"] }]),
            ),
            E("roles[0].grants[0]", "basic role"),
        ),
        (
            "grant lowercase",
            with(
                "roles",
                json!([{ "role": { "name": "R", "permissions": [] }, "grants": ["admin"] }]),
            ),
            E("roles[0].grants[0]", "basic role"),
        ),
        (
            "grant duplicate",
            with(
                "roles",
                json!([{ "role": { "name": "R", "permissions": [] }, "grants": ["Viewer", "Viewer"] }]),
            ),
            E("roles[0].grants[1]", "duplicate"),
        ),
        (
            "too many roles",
            with("roles", Value::Array(vec![json!({}); MAX_ITEMS + 1])),
            E("roles", "at most 256"),
        ),
        // --- includes
        (
            "include other plugin's action",
            with(
                "includes",
                json!([{ "type": "page", "name": "P",
            "action": "other-app.patents:read" }]),
            ),
            E("includes[0].action", "outside"),
        ),
        (
            "include wildcard action",
            with(
                "includes",
                json!([{ "type": "page", "name": "P",
            "action": "acme-patents-app.patents:*" }]),
            ),
            E("includes[0].action", "concrete"),
        ),
        (
            "include javascript path",
            with(
                "includes",
                json!([{ "type": "page", "name": "P",
            "path": "javascript:alert(1)" }]),
            ),
            E("includes[0].path", "scheme"),
        ),
        (
            "include protocol-relative path",
            with(
                "includes",
                json!([{ "type": "page", "name": "P",
            "path": "//evil.example/" }]),
            ),
            E("includes[0].path", "//"),
        ),
        (
            "include addToNav string",
            with(
                "includes",
                json!([{ "type": "page", "name": "P", "addToNav": "yes" }]),
            ),
            E("includes[0].addToNav", "boolean"),
        ),
        (
            "include bad role",
            with(
                "includes",
                json!([{ "type": "page", "name": "P", "role": "Owner" }]),
            ),
            E("includes[0].role", "Viewer"),
        ),
        (
            "include misspelled action key",
            with(
                "includes",
                json!([{ "type": "page", "name": "P", "Action": "acme-patents-app.x:read" }]),
            ),
            E("includes[0].Action", "did you mean \"action\""),
        ),
        // --- routes
        (
            "route outside namespace",
            with(
                "routes",
                json!([{ "path": "api/x", "reqAction": "datasources:query" }]),
            ),
            E("routes[0].reqAction", "outside"),
        ),
        (
            "route misspelled reqAction",
            with(
                "routes",
                json!([{ "path": "api/x", "req_action": "acme-patents-app.x:read" }]),
            ),
            E("routes[0].req_action", "did you mean \"reqAction\""),
        ),
        (
            "route duplicate",
            with(
                "routes",
                json!([{ "path": "api/x", "method": "GET" }, { "path": "api/x", "method": "get" }]),
            ),
            E("routes[1]", "duplicate"),
        ),
        (
            "route bad method",
            with("routes", json!([{ "path": "api/x", "method": "GE T" }])),
            E("routes[0].method", "HTTP method"),
        ),
        (
            "route path missing",
            with("routes", json!([{ "method": "GET" }])),
            E("routes[0].path", "required"),
        ),
        // --- role permission scopes (Grafana's rules)
        (
            "scope wildcard mid-string",
            with("roles", scoped("a:*:b")),
            E(
                "roles[0].role.permissions[0].scope",
                "only as the last character",
            ),
        ),
        (
            "scope wildcard glued to a word",
            with("roles", scoped("folders:uid:ab*")),
            E(
                "roles[0].role.permissions[0].scope",
                "right after `:` or `/`",
            ),
        ),
        (
            "scope empty",
            with("roles", scoped("")),
            E("roles[0].role.permissions[0].scope", "empty"),
        ),
        (
            "scope with a space",
            with("roles", scoped("folders:uid:a b")),
            E("roles[0].role.permissions[0].scope", "whitespace"),
        ),
        (
            "scope question mark",
            with("roles", scoped("users:?")),
            E("roles[0].role.permissions[0].scope", "`?`"),
        ),
        (
            "scope not a string",
            with(
                "roles",
                json!([{ "role": { "name": "R", "permissions":
                    [{ "action": "acme-patents-app.x:read", "scope": 3 }] } }]),
            ),
            E("roles[0].role.permissions[0].scope", "string"),
        ),
        ("scope all", with("roles", scoped("*")), K),
        ("scope kind wildcard", with("roles", scoped("users:*")), K),
        (
            "scope path wildcard",
            with("roles", scoped("files:path/*")),
            K,
        ),
        // --- action sets
        (
            "action set teams:read",
            with(
                "actionSets",
                json!([{ "action": "teams:read", "actions": ["acme-patents-app.x:read"] }]),
            ),
            E("actionSets[0].action", "folders:view"),
        ),
        (
            "action set adds core action",
            with(
                "actionSets",
                json!([{ "action": "folders:view", "actions": ["folders:delete"] }]),
            ),
            E("actionSets[0].actions[0]", "outside"),
        ),
        (
            "action set empty",
            with(
                "actionSets",
                json!([{ "action": "folders:view", "actions": [] }]),
            ),
            E("actionSets[0].actions", "at least one"),
        ),
        (
            "action set twice",
            with(
                "actionSets",
                json!([
            { "action": "folders:view", "actions": ["acme-patents-app.a:read"] },
            { "action": "folders:view", "actions": ["acme-patents-app.b:read"] }]),
            ),
            E("actionSets[1].action", "twice"),
        ),
        // --- shape
        (
            "top level array",
            json!([design_example()]),
            E("$", "expected an object, found an array"),
        ),
        (
            "top level string",
            json!("{}"),
            E("$", "expected an object, found a string"),
        ),
    ]
}

#[test]
fn manifest_rule_table() {
    let rows = rows();
    assert!(rows.len() >= 40, "{} rows", rows.len());
    for (name, value, want) in rows {
        let got = parse(value);
        match (want, got) {
            (Want::Ok, Ok(_)) => {}
            (Want::Ok, Err(e)) => panic!("{name}: expected Ok, got {e}"),
            (Want::Err(path, _), Ok(_)) => panic!("{name}: expected a problem at {path}, got Ok"),
            (Want::Err(path, text), Err(e)) => {
                assert_eq!(e.code(), ErrorCode::InvalidManifest, "{name}");
                assert!(
                    e.problems
                        .iter()
                        .any(|p| p.path == path && p.message.contains(text)),
                    "{name}: expected a problem at {path} containing {text:?}, got {e}"
                );
            }
        }
    }
}

#[test]
fn design_example_loads_with_every_accessor() {
    let m = parse(design_example()).expect("DESIGN §4 example");
    assert_eq!(m.id().as_str(), "acme-patents-app");
    assert_eq!(m.name(), "Patents");
    assert_eq!(m.version(), Some("1.2.0"));
    assert_eq!(m.semver(), Some(&semver::Version::new(1, 2, 0)));
    let c = m.compatibility().expect("range");
    assert!(c.matches(&semver::Version::new(3, 2, 0)));
    assert!(!c.matches(&semver::Version::new(4, 0, 0)));
    assert_eq!(
        m.permissions(),
        [Capability::Storage, Capability::ApiRead, Capability::Events]
    );
    assert_eq!(
        m.optional_permissions(),
        [Capability::ApiWrite, Capability::UiNotify]
    );
    assert_eq!(m.network()[0].origin(), "https://api.acme.example");
    assert_eq!(m.entry().and_then(|e| e.integrity()), Some(H384));
    assert_eq!(m.allow(), ["clipboard-write"]);
    assert_eq!(m.roles()[0].grants(), [Grant::Basic(BasicRole::Viewer)]);
    assert_eq!(
        m.roles()[0].role().qualified_name(),
        "plugins:acme-patents-app:patents-reader"
    );
    assert_eq!(m.includes()[0].path(), Some("/a/acme-patents-app/patents"));
    assert_eq!(m.routes()[0].method(), Some("GET"));
    assert_eq!(m.action_sets()[0].action(), FolderActionSet::Edit);

    // Serializes camelCase like the input, without unknown fields.
    let out = serde_json::to_value(&m).expect("serializable");
    assert_eq!(
        out["optionalPermissions"],
        json!(["api:write", "ui:notify"])
    );
    assert_eq!(out["actionSets"][0]["action"], "folders:edit");
    assert_eq!(out["includes"][0]["addToNav"], true);
    assert_eq!(
        out["routes"][0]["reqAction"],
        "acme-patents-app.patents:read"
    );
    assert_eq!(out["network"], json!(["https://api.acme.example/v1/"]));
    assert_eq!(out["compatibility"], "^3.0.0");
}

#[test]
fn assets_are_normalized_origins() {
    let m = parse(with(
        "assets",
        json!([
            "https://CDN.Example:443/",
            "https://fonts.example:8443",
            "https://bücher.example"
        ]),
    ))
    .expect("valid assets");
    assert_eq!(
        m.assets(),
        [
            "https://cdn.example",
            "https://fonts.example:8443",
            "https://xn--bcher-kva.example"
        ]
    );
    assert_eq!(
        serde_json::to_value(&m).expect("serializable")["assets"],
        json!(m.assets())
    );
    assert!(parse(design_example()).expect("valid").assets().is_empty());

    // Loopback http: only with the option, and only for loopback hosts.
    let loopback = with(
        "assets",
        json!(["http://127.0.0.1:8701/", "http://localhost:80"]),
    );
    assert!(parse(loopback.clone()).is_err());
    let opts = ManifestOptions {
        allow_loopback_http: true,
    };
    let m = Manifest::from_value(loopback, &opts).expect("loopback http allowed");
    assert_eq!(m.assets(), ["http://127.0.0.1:8701", "http://localhost"]);
    let e = Manifest::from_value(with("assets", json!(["http://cdn.example"])), &opts)
        .expect_err("non-loopback http stays refused");
    assert_eq!(e.problems[0].path, "assets[0]");
}

#[test]
fn ui_render_is_a_capability() {
    let m = parse(with("permissions", json!(["ui:render"]))).expect("known capability");
    assert_eq!(m.permissions(), [Capability::UiRender]);
    assert!(Capability::ALL.contains(&Capability::UiRender));
    assert_eq!(Capability::UiRender.as_str(), "ui:render");
    let e = parse(with("permissions", json!(["ui:paint"]))).expect_err("unknown");
    assert!(e.to_string().contains("ui:render"), "{e}");
}

#[test]
fn design_example_as_printed_fails_only_on_its_elided_integrity() {
    let mut v = design_example();
    v["entry"]["integrity"] = json!("sha384-...");
    let e = parse(v).expect_err("\"sha384-...\" is not a digest");
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!(e.problems[0].path, "entry.integrity");
}

#[test]
fn grafana_corpus_loads_as_is() {
    let m =
        Manifest::parse(GRAFANA, &ManifestOptions::default()).expect("real Grafana plugin.json");
    assert_eq!(m.id().as_str(), "grafana-appwithrbac-app");
    assert_eq!(m.version(), Some("%VERSION%"));
    assert_eq!(m.semver(), None);
    assert!(
        m.compatibility().is_none(),
        "grafanaDependency is Grafana's range, not ours"
    );
    assert_eq!(
        m.includes()[1].path(),
        Some("/a/grafana-appwithrbac-app/research-docs")
    );
    assert!(m.includes()[0].default_nav());
    assert_eq!(m.roles().len(), 2);
    for key in [
        "$schema",
        "type",
        "backend",
        "executable",
        "info",
        "dependencies",
    ] {
        assert!(m.extra().contains_key(key), "{key} kept");
    }
    let out = serde_json::to_value(&m).expect("serializable");
    assert!(out.get("info").is_none(), "unknown fields are not echoed");

    let mut rbac = Rbac::new();
    rbac.register(&m).expect("fresh");
    let names = |rbac: &Rbac| -> Vec<String> {
        rbac.visible_includes(m.id())
            .expect("registered")
            .into_iter()
            .map(|i| i.name)
            .collect()
    };
    rbac.set_user(UserContext::new(Some(BasicRole::Viewer)));
    assert_eq!(names(&rbac), ["Hello", "Research documents"]);
    rbac.set_user(UserContext::new(Some(BasicRole::Admin)));
    assert_eq!(names(&rbac), ["Hello", "Research documents", "Patents"]);
    rbac.set_user(UserContext::new(None));
    assert_eq!(names(&rbac), ["Hello"]);
}

const RESEARCH: &str = r#"{
  "id": "acme-research-app",
  "name": "Research",
  "type": "app",
  "roles": [
    { "role": { "name": "Patents Reader", "permissions": [{ "action": "acme-research-app.patents:read" }] }, "grants": ["Admin"] },
    { "role": { "name": "Research Papers Reader", "permissions": [{ "action": "acme-research-app.papers:read" }] }, "grants": ["Viewer"] }
  ],
  "includes": [
    { "type": "page", "name": "Papers", "path": "/a/%PLUGIN_ID%/papers", "action": "acme-research-app.papers:read", "addToNav": true },
    { "type": "page", "name": "Patents", "path": "/a/%PLUGIN_ID%/patents", "action": "acme-research-app.patents:read", "addToNav": true },
    { "type": "page", "name": "Settings", "path": "/a/%PLUGIN_ID%/settings", "role": "Editor" }
  ],
  "routes": [
    { "path": "api/patents", "method": "GET", "reqAction": "acme-research-app.patents:read" },
    { "path": "api/patents", "reqRole": "Admin" },
    { "path": "api/health" }
  ],
  "actionSets": [
    { "action": "folders:view", "actions": ["acme-research-app.folder-notes:read"] },
    { "action": "folders:edit", "actions": ["acme-research-app.folder-notes:write"] }
  ]
}"#;

fn research() -> (Manifest, Rbac) {
    let m = Manifest::parse(RESEARCH, &ManifestOptions::default()).expect("valid");
    let mut rbac = Rbac::new();
    rbac.register(&m).expect("fresh");
    (m, rbac)
}

fn pages(rbac: &Rbac, id: &PluginId) -> Vec<String> {
    rbac.visible_includes(id)
        .expect("registered")
        .into_iter()
        .map(|i| i.name)
        .collect()
}

#[test]
fn basic_role_hierarchy_gates_pages() {
    let (m, mut rbac) = research();
    rbac.set_user(UserContext::from_json(r#"{"role":"Viewer"}"#).expect("ok"));
    assert_eq!(pages(&rbac, m.id()), ["Papers"]);
    assert!(rbac.has_permission("acme-research-app.papers:read", None));
    assert!(!rbac.has_permission("acme-research-app.patents:read", None));
    rbac.set_user(UserContext::from_json(r#"{"role":"Editor"}"#).expect("ok"));
    assert_eq!(pages(&rbac, m.id()), ["Papers", "Settings"]);
    rbac.set_user(UserContext::from_json(r#"{"role":"Admin"}"#).expect("ok"));
    assert_eq!(pages(&rbac, m.id()), ["Papers", "Patents", "Settings"]);
    rbac.set_user(UserContext::from_json(r#"{"role":"None"}"#).expect("ok"));
    assert!(pages(&rbac, m.id()).is_empty());

    let view = &rbac.visible_includes(m.id()).expect("ok");
    assert!(view.is_empty());
    rbac.set_user(UserContext::from_json(r#"{"role":"Viewer"}"#).expect("ok"));
    let view = rbac.visible_includes(m.id()).expect("ok");
    assert_eq!(view[0].path.as_deref(), Some("/a/acme-research-app/papers"));
    assert!(view[0].add_to_nav);
}

#[test]
fn assigned_roles_by_display_and_qualified_name() {
    let (m, mut rbac) = research();
    rbac.set_user(
        UserContext::from_json(r#"{"role":"Viewer","roles":["Patents Reader"]}"#).expect("ok"),
    );
    assert_eq!(pages(&rbac, m.id()), ["Papers", "Patents"]);
    rbac.set_user(
        UserContext::from_json(r#"{"roles":["plugins:acme-research-app:patents-reader"]}"#)
            .expect("ok"),
    );
    assert_eq!(pages(&rbac, m.id()), ["Patents"]);
    rbac.set_user(
        UserContext::from_json(r#"{"roles":["plugins:other-app:patents-reader"]}"#).expect("ok"),
    );
    assert!(pages(&rbac, m.id()).is_empty());
    rbac.set_user(
        UserContext::from_json(r#"{"permissions":["acme-research-app.patents:read"]}"#)
            .expect("ok"),
    );
    assert_eq!(pages(&rbac, m.id()), ["Patents"]);
}

#[test]
fn routes_by_path_and_method() {
    let (m, mut rbac) = research();
    let id = m.id();
    rbac.set_user(UserContext::new(Some(BasicRole::Editor)));
    assert_eq!(rbac.can_access_route(id, "api/patents", "GET"), Ok(false));
    assert_eq!(
        rbac.can_access_route(id, "api/patents", "POST"),
        Ok(false),
        "any-method route needs Admin"
    );
    assert_eq!(
        rbac.can_access_route(id, "api/health", "DELETE"),
        Ok(true),
        "no reqAction: open"
    );
    let e = rbac
        .can_access_route(id, "api/nope", "GET")
        .expect_err("no such route");
    assert_eq!(e.code(), ErrorCode::NotFound);
    let e = rbac
        .can_access_route(id, "api/patents/", "GET")
        .expect_err("exact path only");
    assert_eq!(e.code(), ErrorCode::NotFound);
    rbac.set_user(UserContext::new(Some(BasicRole::Admin)));
    assert_eq!(rbac.can_access_route(id, "api/patents", "get"), Ok(true));
    assert_eq!(rbac.can_access_route(id, "api/patents", "PUT"), Ok(true));
    rbac.set_user(
        UserContext::from_json(r#"{"permissions":["acme-research-app.patents:read"]}"#)
            .expect("ok"),
    );
    assert_eq!(rbac.can_access_route(id, "api/patents", "GET"), Ok(true));
    assert_eq!(rbac.can_access_route(id, "api/patents", "PUT"), Ok(false));
}

#[test]
fn unknown_plugin_is_not_found() {
    let (_, rbac) = research();
    let other = PluginId::parse("other-app").expect("valid id");
    assert_eq!(
        rbac.visible_includes(&other).expect_err("unknown").code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        rbac.can_access_route(&other, "api/x", "GET")
            .expect_err("unknown")
            .code(),
        ErrorCode::NotFound
    );
}

#[test]
fn action_sets_expand_append_only() {
    let (m, mut rbac) = research();
    let read = "acme-research-app.folder-notes:read";
    let write = "acme-research-app.folder-notes:write";
    rbac.set_user(UserContext::new(None));
    assert!(!rbac.has_permission(read, None));
    rbac.set_user(UserContext::from_json(r#"{"permissions":["folders:view"]}"#).expect("ok"));
    assert!(rbac.has_permission(read, None) && !rbac.has_permission(write, None));
    rbac.set_user(UserContext::from_json(r#"{"permissions":["folders:edit"]}"#).expect("ok"));
    assert!(
        rbac.has_permission(read, None) && rbac.has_permission(write, None),
        "edit ⊃ view"
    );
    assert!(rbac.has_permission("folders:view", None));
    rbac.set_user(UserContext::from_json(r#"{"permissions":["folders:admin"]}"#).expect("ok"));
    assert!(
        rbac.has_permission(write, None) && rbac.has_permission("folders:edit", None),
        "admin ⊃ edit"
    );
    rbac.set_user(UserContext::new(Some(BasicRole::Viewer)));
    assert!(
        rbac.has_permission(read, None) && !rbac.has_permission(write, None),
        "Viewer carries folders:view"
    );
    rbac.set_user(UserContext::new(Some(BasicRole::Editor)));
    assert!(rbac.has_permission(write, None));
    // The plugin added its own actions only; the core set was not widened.
    assert!(!rbac.has_permission("folders:delete", None));
    assert!(!rbac.has_permission("folders:admin", None));
    rbac.unregister(m.id()).expect("registered");
    assert!(!rbac.has_permission(write, None), "gone with the plugin");
}

#[test]
fn escalation_attempts_are_refused() {
    let e = Manifest::parse(
        r#"{
      "id": "evil-app", "name": "Evil",
      "optionalPermissions": ["camera"],
      "roles": [{ "role": { "name": "Owner", "permissions": [
          { "action": "dashboards:write" }, { "action": "evil-app.x:read" }, { "action": "users:*" } ] },
          "grants": ["Viewer"] }],
      "includes": [{ "type": "page", "name": "Steal", "action": "acme-patents-app.patents:read" }],
      "routes": [{ "path": "api/x", "reqAction": "teams:write" }],
      "actionSets": [{ "action": "teams:read", "actions": ["evil-app.x:read"] },
                     { "action": "folders:view", "actions": ["folders:admin"] }]
    }"#,
        &ManifestOptions::default(),
    )
    .expect_err("every line is an escalation");
    let paths: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "optionalPermissions[0]",
            "roles[0].role.permissions[0].action",
            "roles[0].role.permissions[2].action",
            "includes[0].action",
            "routes[0].reqAction",
            "actionSets[0].action",
            "actionSets[1].actions[0]",
        ],
        "{e}"
    );
    assert!(e.to_string().contains(
        "roles[0].role.permissions[0].action: \"dashboards:write\" is outside this plugin's namespace \"evil-app.\""
    ));

    // A plugin whose id is a core namespace cannot claim core actions as "its own".
    let e = Manifest::parse(
        r#"{"id":"folders","name":"F","roles":[{"role":{"name":"R","permissions":[{"action":"folders.permissions:write"}]},"grants":["Viewer"]}]}"#,
        &ManifestOptions::default(),
    )
    .expect_err("reserved id");
    assert!(e.problems.iter().any(|p| p.path == "id"));
}

#[test]
fn one_plugin_cannot_grant_another_plugins_actions() {
    let (_, mut rbac) = research();
    // A role with the same display name in another plugin grants only that plugin's actions.
    let other = Manifest::parse(
        r#"{"id":"other-app","name":"O","roles":[{"role":{"name":"Patents Reader","permissions":[{"action":"other-app.x:read"}]},"grants":["Viewer"]}]}"#,
        &ManifestOptions::default(),
    )
    .expect("valid");
    rbac.register(&other).expect("fresh");
    rbac.set_user(UserContext::new(Some(BasicRole::Viewer)));
    assert!(rbac.has_permission("other-app.x:read", None));
    assert!(!rbac.has_permission("acme-research-app.patents:read", None));
    assert_eq!(
        rbac.register(&other).expect_err("twice").code(),
        ErrorCode::AlreadyExists
    );
}

#[test]
fn multiple_problems_are_reported_together() {
    let e = Manifest::parse(
        r#"{"id":"Bad Id","name":3,"permissions":["storage","nope"],"network":["http://x.example/"],
            "allow":["OK"],"entry":{"src":"/rel"}}"#,
        &ManifestOptions::default(),
    )
    .expect_err("many problems");
    let paths: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "id",
            "name",
            "permissions[1]",
            "network[0]",
            "entry.src",
            "allow[0]"
        ]
    );
    let text = e.to_string();
    assert!(text.starts_with("invalid manifest (6 problems):"), "{text}");
    for p in &e.problems {
        assert!(text.contains(&p.to_string()));
    }
    let flat = plugin_warden::core::error::WardenError::from_coded(&e);
    assert_eq!(flat.code.as_str(), "INVALID_MANIFEST");
}

#[test]
fn problems_are_capped_not_unbounded() {
    let perms: Vec<Value> = (0..MAX_ITEMS)
        .map(|i| json!({ "action": format!("core{i}:read") }))
        .collect();
    let roles: Vec<Value> = (0..4)
        .map(|i| json!({ "role": { "name": format!("R{i}"), "permissions": perms } }))
        .collect();
    let e = parse(with("roles", Value::Array(roles))).expect_err("1024 problems");
    assert_eq!(
        e.problems.len(),
        plugin_warden::core::manifest::MAX_PROBLEMS + 1
    );
    assert!(e
        .problems
        .last()
        .is_some_and(|p| p.message.contains("more problems")));
}

#[test]
fn loopback_http_only_with_opt_in() {
    let v = with("network", json!(["http://localhost:8080/api/"]));
    assert!(parse(v.clone()).is_err());
    let opts = ManifestOptions {
        allow_loopback_http: true,
    };
    let m = Manifest::from_value(v, &opts).expect("opted in");
    assert_eq!(m.network()[0].origin(), "http://localhost:8080");
    let v = with("network", json!(["http://example.com/"]));
    assert!(Manifest::from_value(v, &opts).is_err(), "not loopback");
    let v = with("entry", json!({"src": "http://127.0.0.1:5173/plugin.html"}));
    assert!(Manifest::from_value(v, &opts).is_ok());
}

#[test]
fn oversized_text_is_refused_before_parsing() {
    let huge = format!(
        "{{\"id\":\"acme-app\",\"name\":\"{}\"}}",
        "a".repeat(2 << 20)
    );
    let e = Manifest::parse(&huge, &ManifestOptions::default()).expect_err("too big");
    assert_eq!(e.problems[0].path, "$");
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(Manifest::parse(&deep, &ManifestOptions::default()).is_err());
}

#[test]
fn permission_set_from_design_example() {
    let m = parse(design_example()).expect("valid");
    let mut p = PermissionSet::from_manifest(&m);
    assert_eq!(
        p.granted(),
        [
            Capability::ApiRead,
            Capability::Events,
            Capability::Permissions,
            Capability::Storage
        ]
    );
    assert!(p.is_optional(Capability::ApiWrite));
    assert!(!p.has(Capability::ApiWrite));
    p.grant(Capability::ApiWrite).expect("optional");
    assert!(p.has(Capability::ApiWrite));
    p.revoke(Capability::Storage);
    assert!(!p.has(Capability::Storage));
    p.grant(Capability::Storage).expect("required, re-enabled");
    assert!(p.has(Capability::Storage));
    let other = parse(with("optionalPermissions", json!([]))).expect("valid");
    let mut q = PermissionSet::from_manifest(&other);
    assert!(
        !q.has(Capability::Permissions),
        "nothing optional, nothing implied"
    );
    let e = q.grant(Capability::UiNotify).expect_err("not listed");
    assert_eq!(e.code(), ErrorCode::PermissionDenied);
    assert_eq!(e.permission(), Some("ui:notify"));
}

#[test]
fn compiled_access_matches_has_permission_on_corpus_user() {
    let (_, mut rbac) = research();
    rbac.set_user(
        UserContext::from_json(
            r#"{"role":"Editor","roles":["Patents Reader"],"permissions":["acme-research-app.notes:*","x.y:z"]}"#,
        )
        .expect("ok"),
    );
    let c = rbac.compiled();
    assert_eq!(c.prefixes(), ["acme-research-app.notes:"]);
    assert!(c.exact().contains(&"folders:edit".to_owned()));
    for a in [
        "acme-research-app.notes:read",
        "acme-research-app.notes:*",
        "acme-research-app.notesx:read",
        "acme-research-app.patents:read",
        "acme-research-app.papers:read",
        "acme-research-app.folder-notes:write",
        "x.y:z",
        "x.y:zz",
        "folders:admin",
        "acme-research-app.notes",
        "",
    ] {
        let via = c.exact().iter().any(|e| e == a)
            || c.prefixes().iter().any(|p| a.starts_with(p.as_str()));
        let valid = plugin_warden::core::manifest::Action::is_valid(a);
        assert_eq!(rbac.has_permission(a, None), valid && via, "{a}");
    }
    let js = serde_json::to_value(c).expect("serializable");
    assert!(js["exact"].is_array() && js["prefixes"].is_array());
}

// ---------------------------------------------------------------------------------------------
// Property tests: any input gives a value or problems, never a panic.

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "acme-app",
            "acme-app.x:read",
            "dashboards:write",
            "Viewer",
            "None",
            "folders:view",
            "storage",
            "https://a.example/",
            "%PLUGIN_ID%",
            "*",
            "roles:*",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        let keys = prop::sample::select(vec![
            "id",
            "name",
            "version",
            "compatibility",
            "permissions",
            "optionalPermissions",
            "network",
            "entry",
            "src",
            "integrity",
            "allow",
            "roles",
            "role",
            "grants",
            "permissions",
            "action",
            "actions",
            "scope",
            "includes",
            "type",
            "path",
            "addToNav",
            "routes",
            "method",
            "reqAction",
            "reqRole",
            "headers",
            "actionSets",
            "info",
            "x",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys.prop_map(str::to_owned), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_json_never_panics(v in arb_json()) {
        let text = v.to_string();
        match Manifest::from_value(v, &ManifestOptions::default()) {
            Ok(m) => prop_assert!(PluginId::parse(m.id().as_str()).is_ok()),
            Err(e) => prop_assert!(!e.problems.is_empty()),
        }
        if let Err(e) = Manifest::parse(&text, &ManifestOptions::default()) {
            prop_assert!(!e.problems.is_empty());
        }
    }

    #[test]
    fn random_strings_never_panic(s in ".{0,300}") {
        match Manifest::parse(&s, &ManifestOptions::default()) {
            Ok(_) => {}
            Err(e) => {
                prop_assert!(!e.problems.is_empty());
                prop_assert_eq!(e.code(), ErrorCode::InvalidManifest);
            }
        }
        let _ = UserContext::from_json(&s);
        let _ = plugin_warden::core::manifest::Compatibility::parse(&s);
    }

    #[test]
    fn random_field_values_in_a_valid_manifest(
        key in prop::sample::select(vec![
            "id", "name", "version", "compatibility", "permissions", "optionalPermissions",
            "network", "entry", "allow", "roles", "includes", "routes", "actionSets", "info",
        ]),
        v in arb_json(),
    ) {
        let doc = with(key, v);
        match parse(doc) {
            Ok(m) => prop_assert_eq!(m.id().as_str().is_empty(), false),
            Err(e) => prop_assert!(e.problems.iter().all(|p| !p.path.is_empty() && !p.message.is_empty())),
        }
    }

    #[test]
    fn invalid_ids_always_produce_a_problem_at_id(id in "[^a-z0-9-]{1,5}|[a-z]{65,70}|[a-z]{0,2}") {
        let e = parse(with("id", json!(id))).expect_err("invalid id");
        prop_assert!(e.problems.iter().any(|p| p.path == "id"));
    }
}

/// Scopes end to end through the registry: role scopes by grant and by name, direct scoped
/// permissions, folder sets on a scope, and includes/routes gated on "any scope".
#[test]
fn scoped_permissions_from_roles_and_user() {
    let m = parse(json!({
        "id": "acme-app", "name": "Acme",
        "roles": [
            { "role": { "name": "Folder Reader", "permissions": [
                { "action": "acme-app.docs:read", "scope": "folders:uid:*" },
                { "action": "acme-app.docs:write", "scope": "folders:uid:team" } ] },
              "grants": ["Viewer"] },
            { "role": { "name": "Everything", "permissions": [
                { "action": "acme-app.docs:*", "scope": "*" } ] } }
        ],
        "includes": [ { "type": "page", "name": "Write", "path": "/a/acme-app/w", "action": "acme-app.docs:write" } ],
        "routes": [ { "path": "api/w", "method": "POST", "reqAction": "acme-app.docs:write" } ],
        "actionSets": [ { "action": "folders:view", "actions": ["acme-app.docs:peek"] } ]
    }))
    .expect("valid scoped manifest");
    let scope = m.roles()[0].role().permissions()[1]
        .scope()
        .map(|s| s.as_str());
    assert_eq!(scope, Some("folders:uid:team"));
    let mut rbac = Rbac::new();
    rbac.register(&m).expect("fresh");
    rbac.set_user(UserContext::new(Some(BasicRole::Viewer)));
    assert!(rbac.has_permission("acme-app.docs:read", Some("folders:uid:abc")));
    assert!(!rbac.has_permission("acme-app.docs:read", Some("dashboards:uid:abc")));
    assert!(rbac.has_permission("acme-app.docs:write", Some("folders:uid:team")));
    assert!(!rbac.has_permission("acme-app.docs:write", Some("folders:uid:other")));
    assert!(
        rbac.has_permission("acme-app.docs:write", None),
        "no scope = any scope"
    );
    // Includes and routes have no scope in Grafana's plugin.json: any scope opens them.
    assert_eq!(rbac.visible_includes(m.id()).expect("registered").len(), 1);
    assert_eq!(rbac.can_access_route(m.id(), "api/w", "POST"), Ok(true));
    // Basic roles hold their folder set on folders:*, and plugin additions follow the scope.
    assert!(rbac.has_permission("folders:view", Some("folders:uid:abc")));
    assert!(rbac.has_permission("acme-app.docs:peek", Some("folders:uid:abc")));
    assert!(!rbac.has_permission("acme-app.docs:peek", Some("dashboards:uid:abc")));
    // By name, with the `*` scope; and a direct scoped permission.
    rbac.set_user(
        UserContext::new(None)
            .with_role_name("Everything")
            .expect("ok"),
    );
    assert!(rbac.has_permission("acme-app.docs:delete", Some("anything:at:all")));
    rbac.set_user(
        UserContext::from_value(json!({ "permissions": [
            "acme-app.docs:read",
            { "action": "acme-app.docs:write", "scope": "folders:uid:*" } ] }))
        .expect("valid user"),
    );
    assert!(
        !rbac.has_permission("acme-app.docs:read", Some("folders:uid:a")),
        "unscoped"
    );
    assert!(rbac.has_permission("acme-app.docs:read", None));
    assert!(rbac.has_permission("acme-app.docs:write", Some("folders:uid:a")));
    assert!(
        !rbac.has_permission("acme-app.docs:write", Some("folders:uid:*x")),
        "bad target"
    );
    // No basic role: the Viewer grant and the folder set are gone.
    assert_eq!(rbac.can_access_route(m.id(), "api/w", "POST"), Ok(true));
    rbac.set_user(UserContext::new(None));
    assert_eq!(rbac.can_access_route(m.id(), "api/w", "POST"), Ok(false));
    assert!(rbac
        .visible_includes(m.id())
        .expect("registered")
        .is_empty());
}
