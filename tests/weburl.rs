//! `core::weburl` on the WPT URL corpus (tests/data/urltestdata.json, web-platform-tests,
//! BSD-3-Clause): the native parser (the `url` crate) against the corpus's expectations, the
//! conversion a browser adapter goes through ([`WebUrl::from_parts`]) against the native
//! parse, and the fixture the browser test (tests/web/weburl.rs) checks the browser's own
//! parser against.
//!
//! `UPDATE_FIXTURES=1 cargo test --test weburl` rewrites tests/data/weburl-expected.json;
//! otherwise a stale fixture fails the test.

use plugin_warden::core::weburl::{failure_kind, UrlParseErrorKind, WebUrl};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[path = "common/wpt_url.rs"]
mod wpt_url;
use wpt_url::URL_CRATE_DIVERGES;

/// One case of the fixture: the native parser's view of one corpus case.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Expected {
    input: String,
    base: Option<String>,
    /// The parse, or `None` when it failed.
    url: Option<WebUrl>,
    /// Why it failed.
    error: Option<UrlParseErrorKind>,
}

fn field<'a>(case: &'a Value, name: &str) -> &'a str {
    case.get(name)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{name} in {case}"))
}

/// The WHATWG URL API's getters for a parse.
fn getters(u: &WebUrl) -> Vec<(&'static str, String)> {
    let prefixed = |p: &str, v: Option<&str>| match v {
        Some(v) if !v.is_empty() => format!("{p}{v}"),
        _ => String::new(),
    };
    vec![
        ("href", u.as_str().to_owned()),
        ("protocol", format!("{}:", u.scheme())),
        ("username", u.username().to_owned()),
        ("password", u.password().unwrap_or_default().to_owned()),
        ("hostname", u.host_str().unwrap_or_default().to_owned()),
        ("port", u.port().map(|p| p.to_string()).unwrap_or_default()),
        ("pathname", u.path().to_owned()),
        ("search", prefixed("?", u.query())),
        ("hash", prefixed("#", u.fragment())),
    ]
}

#[test]
fn the_native_parser_agrees_with_the_corpus_and_the_browser_conversion_with_it() {
    let mut expected = Vec::new();
    let mut unexpected = Vec::new();
    let mut listed_seen = vec![false; URL_CRATE_DIVERGES.len()];
    let mut compared = 0;
    for case in wpt_url::cases() {
        let input = field(&case, "input");
        let base = case.get("base").and_then(Value::as_str);
        let parsed = WebUrl::parse_with_base(input, base);
        let listed = URL_CRATE_DIVERGES
            .iter()
            .position(|(i, b, _)| *i == input && *b == base);
        let mut diverges = Vec::new();
        match (&parsed, case.get("failure").is_some()) {
            (Err(_), true) => {}
            (Ok(u), true) => diverges.push(format!("expected failure, got {u}")),
            (Err(e), false) => diverges.push(format!("expected {}, got error {e}", case["href"])),
            (Ok(u), false) => {
                for (name, got) in getters(u) {
                    if got != field(&case, name) {
                        diverges.push(format!("{name}: expected {:?}, got {got:?}", case[name]));
                    }
                }
                if let Some(origin) = case.get("origin").and_then(Value::as_str) {
                    if u.origin().ascii_serialization() != origin {
                        diverges.push(format!(
                            "origin: expected {origin:?}, got {:?}",
                            u.origin().ascii_serialization()
                        ));
                    }
                }
                // What the browser adapter does with a compliant browser's getters gives the
                // native parse.
                let via_parts = WebUrl::from_parts(
                    field(&case, "href"),
                    field(&case, "protocol"),
                    field(&case, "username"),
                    field(&case, "password"),
                    field(&case, "hostname"),
                    field(&case, "port"),
                    field(&case, "pathname"),
                );
                if diverges.is_empty() && via_parts.as_ref() != Ok(u) {
                    diverges.push(format!("from_parts gives {via_parts:?}, native {u:?}"));
                }
            }
        }
        if let Err(e) = &parsed {
            // The classification the browser adapter makes without the parser's reason.
            let parsed_base = base.map(|b| WebUrl::parse(b).ok());
            let kind = failure_kind(
                input,
                base.zip(parsed_base.as_ref()).map(|(b, p)| (b, p.as_ref())),
            );
            if kind != e.kind {
                diverges.push(format!("failure_kind {kind:?}, native {:?}", e.kind));
            }
        }
        match (listed, diverges.is_empty()) {
            (Some(i), false) => listed_seen[i] = true,
            (Some(_), true) => unexpected.push(format!("{input:?} {base:?}: listed but agrees")),
            (None, false) => unexpected.push(format!("{input:?} {base:?}: {diverges:?}")),
            (None, true) => {}
        }
        compared += 1;
        expected.push(Expected {
            input: input.to_owned(),
            base: base.map(str::to_owned),
            error: parsed.as_ref().err().map(|e| e.kind),
            url: parsed.ok(),
        });
    }
    assert!(compared > 800, "the whole corpus: {compared} cases");
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    let unseen: Vec<_> = URL_CRATE_DIVERGES
        .iter()
        .zip(&listed_seen)
        .filter(|(_, seen)| !**seen)
        .collect();
    assert!(
        unseen.is_empty(),
        "listed but not in the corpus: {unseen:?}"
    );

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/weburl-expected.json"
    );
    let fresh = serde_json::to_string_pretty(&expected).expect("serializable") + "\n";
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(path, &fresh).expect("fixture written");
    }
    let stored = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        stored == fresh,
        "tests/data/weburl-expected.json is stale: run UPDATE_FIXTURES=1 cargo test --test weburl"
    );
}

#[test]
fn relative_references_are_classified_as_the_url_crate_does() {
    for (input, base, kind) in [
        ("/a", None, UrlParseErrorKind::RelativeWithoutBase),
        (
            "//evil.example/",
            None,
            UrlParseErrorKind::RelativeWithoutBase,
        ),
        ("a", Some("mailto:x"), UrlParseErrorKind::Invalid),
        (
            "a",
            Some("/relative"),
            UrlParseErrorKind::RelativeWithoutBase,
        ),
        ("https://[::", None, UrlParseErrorKind::Invalid),
    ] {
        let native = WebUrl::parse_with_base(input, base);
        assert_eq!(
            native.as_ref().map_err(|e| e.kind).err(),
            Some(kind),
            "{input:?}"
        );
        let parsed_base = base.map(|b| WebUrl::parse(b).ok());
        assert_eq!(
            failure_kind(
                input,
                base.zip(parsed_base.as_ref()).map(|(b, p)| (b, p.as_ref()))
            ),
            kind,
            "{input:?} {base:?}"
        );
    }
}
