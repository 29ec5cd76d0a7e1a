//! The network allowlist: the WHATWG URL corpus the parser must agree with, then tables of
//! bypass attempts that must be refused and legitimate URLs that must pass.

use plugin_warden::core::error::{Coded, ErrorCode};
use plugin_warden::core::network::{
    is_idempotent, is_retryable, safe_response_headers, Allowlist, NetworkEntry, NetworkError,
    NetworkOptions, RetryPolicy,
};
use url::Url;

#[path = "common/wpt_url.rs"]
mod wpt_url;
use wpt_url::{CARET, TRIPLE_SLASH, URL_CRATE_DIVERGES as EXPECTED_DIVERGENCES};

// ---------------------------------------------------------------------------------------------
// WHATWG corpus (tests/data/urltestdata.json, web-platform-tests, BSD-3-Clause)
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
enum Outcome {
    Agrees,
    Diverges(String),
}

fn run_case(case: &serde_json::Value) -> Option<(String, Option<String>, Outcome)> {
    let input = case.get("input")?.as_str()?.to_owned();
    let base = case.get("base").and_then(|b| b.as_str()).map(str::to_owned);
    let parsed = match &base {
        None => Url::parse(&input),
        Some(b) => Url::parse(b).and_then(|b| Url::options().base_url(Some(&b)).parse(&input)),
    };
    let outcome = match (
        case.get("failure"),
        case.get("href").and_then(|h| h.as_str()),
        &parsed,
    ) {
        (Some(_), _, Err(_)) => Outcome::Agrees,
        (Some(_), _, Ok(u)) => Outcome::Diverges(format!("expected failure, got {u}")),
        (None, Some(href), Ok(u)) if u.as_str() == href => Outcome::Agrees,
        (None, Some(href), Ok(u)) => Outcome::Diverges(format!("expected {href}, got {u}")),
        (None, Some(href), Err(e)) => Outcome::Diverges(format!("expected {href}, got error {e}")),
        (None, None, _) => return None,
    };
    Some((input, base, outcome))
}

#[test]
fn url_crate_agrees_with_the_whatwg_corpus_except_listed_cases() {
    let cases = wpt_url::cases();

    let mut checked = 0;
    let mut agreed = 0;
    let mut diverged_as_listed = 0;
    let mut unexpected = Vec::new();
    let mut listed_seen = vec![false; EXPECTED_DIVERGENCES.len()];
    for case in &cases {
        let (input, base, outcome) =
            run_case(case).unwrap_or_else(|| panic!("malformed case {case}"));
        checked += 1;
        let listed = EXPECTED_DIVERGENCES
            .iter()
            .position(|(i, b, _)| *i == input && b.map(str::to_owned) == base);
        match (outcome, listed) {
            (Outcome::Agrees, None) => agreed += 1,
            (Outcome::Diverges(_), Some(ix)) => {
                diverged_as_listed += 1;
                if let Some(seen) = listed_seen.get_mut(ix) {
                    *seen = true;
                }
            }
            (Outcome::Agrees, Some(_)) => unexpected.push(format!(
                "{input:?} (base {base:?}) now agrees: remove it from the list"
            )),
            (Outcome::Diverges(why), None) => {
                unexpected.push(format!("{input:?} (base {base:?}): {why}"))
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "{} unexpected results:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert!(
        listed_seen.iter().all(|s| *s),
        "every listed divergence matches a case"
    );
    assert_eq!(
        checked, 869,
        "every case of the corpus is checked, none skipped"
    );
    assert_eq!(diverged_as_listed, EXPECTED_DIVERGENCES.len());
    assert_eq!(agreed + diverged_as_listed, checked);
    assert_eq!(agreed, 817);
}

#[test]
fn no_listed_divergence_concerns_the_https_host_or_authority() {
    // The divergences must stay out of what the allowlist decides on: for every listed case
    // with an http(s) base or input, the url crate either fails (refusal) or only differs in
    // how `^` is encoded in the path.
    for (input, base, reason) in EXPECTED_DIVERGENCES {
        let special = input.starts_with("http")
            || input.starts_with("wss")
            || base.is_some_and(|b| b.starts_with("http"));
        if special {
            assert!(
                *reason == CARET || *reason == TRIPLE_SLASH,
                "{input:?}: {reason}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The allowlist
// ---------------------------------------------------------------------------------------------

fn entry(s: &str) -> NetworkEntry {
    NetworkEntry::parse(
        s,
        NetworkOptions {
            allow_loopback_http: true,
        },
    )
    .unwrap_or_else(|e| panic!("entry {s}: {e}"))
}

fn allowlist() -> Allowlist {
    Allowlist::new(vec![
        entry("https://api.acme.example/v1/"),
        entry("https://bücher.example/shop"),
        entry("https://api.acme.example:8443/admin-api"),
        entry("http://localhost:8080/dev/"),
    ])
}

/// (url, why it must be refused)
const BYPASSES: &[(&str, &str)] = &[
    ("http://api.acme.example/v1/x", "downgrade to http"),
    ("data:text/plain,hi", "data: URL"),
    ("javascript:alert(1)", "javascript: URL"),
    (
        "blob:https://api.acme.example/0b9a-uuid",
        "blob: URL of an allowed origin",
    ),
    ("file:///etc/passwd", "file: URL"),
    ("ws://api.acme.example/v1/", "websocket scheme"),
    ("wss://api.acme.example/v1/", "secure websocket scheme"),
    ("ftp://api.acme.example/v1/", "ftp scheme"),
    ("//evil.example/v1/", "protocol-relative"),
    (
        "//api.acme.example/v1/",
        "protocol-relative to the allowed host (no base)",
    ),
    ("/v1/x", "relative path (no base)"),
    ("v1/x", "relative path without slash"),
    ("", "empty"),
    (
        "https:\\\\evil.example\\v1",
        "backslashes instead of slashes",
    ),
    (
        "https:\\\\api.acme.example\\v1\\x",
        "backslashes, even to the allowed host",
    ),
    (
        "https://evil.example\\@api.acme.example/v1/",
        "backslash before @",
    ),
    ("https:api.acme.example/v1/", "no slashes after the scheme"),
    ("https:/api.acme.example/v1/", "one slash after the scheme"),
    ("https://evil.example/v1/", "other host"),
    (
        "https://api.acme.example.evil.com/v1/",
        "allowed host as a prefix of another",
    ),
    (
        "https://evil.com.api.acme.example/v1/",
        "subdomain of the allowed host",
    ),
    (
        "https://api.acme.example@evil.com/v1/",
        "allowed host as user name",
    ),
    (
        "https://api.acme.example:pw@evil.com/v1/",
        "allowed host as user:password",
    ),
    ("https://user:pass@api.acme.example/v1/", "credentials"),
    ("https://user@api.acme.example/v1/", "user name only"),
    ("https://:pw@api.acme.example/v1/", "password only"),
    ("https://api.acme.example./v1/", "trailing-dot host"),
    (
        "https://api.acme.example%2e/v1/",
        "encoded trailing dot in host",
    ),
    (
        "https://api.acme.example%2eevil.com/v1/",
        "encoded dot joining another host",
    ),
    (
        "https://\u{430}pi.acme.example/v1/",
        "IDN homograph (Cyrillic a)",
    ),
    (
        "https://xn--pi-6kc.acme.example/v1/",
        "punycode of the homograph",
    ),
    (
        "https://bucher.example/shop",
        "IDN entry without the umlaut",
    ),
    ("https://api.acme.example:444/v1/", "other port"),
    (
        "https://api.acme.example:8443/v1/",
        "port of another entry, path of this one",
    ),
    ("https://api.acme.example:80/v1/", "port 80 on https"),
    (
        "https://api.acme.example/v10",
        "prefix without segment boundary",
    ),
    (
        "https://api.acme.example/v1x/",
        "prefix without segment boundary, longer",
    ),
    ("https://api.acme.example/V1/", "path case differs"),
    ("https://api.acme.example//v1/", "empty first segment"),
    ("https://api.acme.example/", "root of an allowed origin"),
    ("https://api.acme.example/v1/../admin", "dot-dot escape"),
    (
        "https://api.acme.example/v1/%2e%2e/admin",
        "encoded dot-dot escape",
    ),
    (
        "https://api.acme.example/v1/%2E%2E/admin",
        "encoded dot-dot escape, uppercase",
    ),
    (
        "https://api.acme.example/v1/.%2e/admin",
        "half-encoded dot-dot escape",
    ),
    (
        "https://api.acme.example/v1/..%2fadmin",
        "encoded slash after dot-dot",
    ),
    (
        "https://api.acme.example/v1/%2e%2e%2fadmin",
        "fully encoded dot-dot-slash",
    ),
    (
        "https://api.acme.example/v1/..%5cadmin",
        "encoded backslash after dot-dot",
    ),
    (
        "https://api.acme.example/v1/%252e%252e/admin",
        "double-encoded dot-dot",
    ),
    (
        "https://api.acme.example/v1/%252fadmin",
        "double-encoded slash",
    ),
    (
        "https://api.acme.example/v1%2f..%2fadmin",
        "encoded slash in the prefix segment",
    ),
    (
        "https://api.acme.example/v1/..;/admin",
        "dot-dot with a ;parameter",
    ),
    (
        "https://api.acme.example/v1/file%2ejson",
        "encoded dot in a file name (refused by choice)",
    ),
    ("https://api.acme.ex\tample/v1/", "tab inside the host"),
    ("https://api.acme.example/v1/\n", "trailing newline"),
    (
        "https://api.acme.example/v1/\r\n../../admin",
        "CRLF in the path",
    ),
    (" https://api.acme.example/v1/", "leading space"),
    ("https://api.acme.example/v1/\u{0}", "NUL"),
    (
        "https://api.acme.example/v1/\u{1b}",
        "escape control character",
    ),
    (
        "https://api.acme.example%00.evil/v1/",
        "encoded NUL in the host",
    ),
    ("https://[::1]/v1/", "IPv6 loopback on https"),
    ("http://localhost:8081/dev/", "loopback entry, other port"),
    (
        "http://127.0.0.1:8080/dev/",
        "loopback entry, other loopback host",
    ),
    (
        "https://localhost:8080/dev/",
        "loopback entry, other scheme",
    ),
    (
        "http://localhost.:8080/dev/",
        "loopback entry, trailing dot",
    ),
    (
        "http://localhost:8080/devtools",
        "loopback entry, prefix without boundary",
    ),
    (
        "https://api.acme.example:8443/admin-api-v2",
        "second entry, prefix without boundary",
    ),
];

/// (url, the URL that must come back)
const LEGITIMATE: &[(&str, &str)] = &[
    ("https://api.acme.example/v1", "https://api.acme.example/v1"),
    (
        "https://api.acme.example/v1/",
        "https://api.acme.example/v1/",
    ),
    (
        "https://api.acme.example/v1/patents?q=x",
        "https://api.acme.example/v1/patents?q=x",
    ),
    (
        "https://API.ACME.EXAMPLE/v1/patents",
        "https://api.acme.example/v1/patents",
    ),
    (
        "https://api.acme.example:443/v1/x",
        "https://api.acme.example/v1/x",
    ),
    (
        "https://api.acme.example:0443/v1/x",
        "https://api.acme.example/v1/x",
    ),
    (
        "https://api.acme.example/v1/a/../b",
        "https://api.acme.example/v1/b",
    ),
    (
        "https://api.acme.example/v1/%2e/b",
        "https://api.acme.example/v1/b",
    ),
    (
        "https://api.acme.example/v1/patents#top",
        "https://api.acme.example/v1/patents#top",
    ),
    (
        "https://api.acme.example/v1/search?q=%2e%2e%2f",
        "https://api.acme.example/v1/search?q=%2e%2e%2f",
    ),
    (
        "https://api.acme.example/v1/file.json",
        "https://api.acme.example/v1/file.json",
    ),
    (
        "https://api.acme.example/v1/a%20b/%E2%9C%93",
        "https://api.acme.example/v1/a%20b/%E2%9C%93",
    ),
    (
        "https://api.acme.example/v1/a b",
        "https://api.acme.example/v1/a%20b",
    ),
    (
        "https://bücher.example/shop",
        "https://xn--bcher-kva.example/shop",
    ),
    (
        "https://BÜCHER.example/shop/books",
        "https://xn--bcher-kva.example/shop/books",
    ),
    (
        "https://xn--bcher-kva.example/shop/",
        "https://xn--bcher-kva.example/shop/",
    ),
    (
        "https://\u{ff41}\u{ff50}\u{ff49}.acme.example/v1/",
        "https://api.acme.example/v1/",
    ),
    (
        "https://api.acme.example:8443/admin-api",
        "https://api.acme.example:8443/admin-api",
    ),
    (
        "https://api.acme.example:8443/admin-api/users/7",
        "https://api.acme.example:8443/admin-api/users/7",
    ),
    ("http://localhost:8080/dev/x", "http://localhost:8080/dev/x"),
    ("http://localhost:8080/dev", "http://localhost:8080/dev"),
];

#[test]
fn bypass_attempts_are_refused_with_network_denied() {
    let list = allowlist();
    assert!(BYPASSES.len() >= 30);
    for (url, why) in BYPASSES {
        match list.check(url) {
            Ok(u) => panic!("{why}: {url:?} was allowed as {u}"),
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::NetworkDenied, "{why}");
                let msg = e.to_string();
                let shown = format!("{url:?}");
                assert!(msg.contains(&shown), "{why}: message {msg:?} names the URL");
            }
        }
    }
}

#[test]
fn legitimate_urls_pass_and_come_back_normalized() {
    let list = allowlist();
    assert!(LEGITIMATE.len() >= 10);
    for (url, expected) in LEGITIMATE {
        match list.check(url) {
            Ok(u) => assert_eq!(u.as_str(), *expected, "{url:?}"),
            Err(e) => panic!("{url:?} was refused: {e}"),
        }
    }
}

fn reason_of(list: &Allowlist, url: &str) -> NetworkError {
    list.check(url).expect_err("refused")
}

#[test]
fn refusals_say_why() {
    let list = allowlist();
    let cases = [
        (
            "https://evil.example/v1/",
            "origin https://evil.example is not allowed",
        ),
        (
            "https://api.acme.example/admin",
            "path \"/admin\" is not under an allowed prefix",
        ),
        ("http://api.acme.example/v1/", "only allowed over https"),
        ("https://u@api.acme.example/v1/", "credentials"),
        ("data:,x", "scheme \"data\""),
        ("/v1/x", "not an absolute URL"),
        ("https://api.acme.example./v1/", "ending with a dot"),
        ("https://api.acme.example/v1/..%2fx", "path separator"),
        ("https://api.acme.example/v1/\tx", "tab or newline"),
    ];
    for (url, needle) in cases {
        let msg = reason_of(&list, url).to_string();
        assert!(
            msg.contains(needle),
            "{url:?}: {msg:?} should contain {needle:?}"
        );
    }
    let empty = Allowlist::default();
    assert!(reason_of(&empty, "https://api.acme.example/v1/")
        .to_string()
        .contains("allowlist is empty"));
}

#[test]
fn entry_with_root_path_allows_the_whole_origin_only() {
    let list = Allowlist::from(vec![entry("https://api.acme.example")]);
    assert!(list.check("https://api.acme.example/").is_ok());
    assert!(list
        .check("https://api.acme.example/anything/at/all")
        .is_ok());
    assert!(list.check("https://api.acme.example:8443/").is_err());
    assert!(list.check("https://sub.api.acme.example/").is_err());
}

#[test]
fn entries_are_refused_like_requests() {
    let strict = NetworkOptions::default();
    for bad in [
        "http://localhost:8080/",
        "https://api.acme.example./v1/",
        "https://api.acme.example/v1/?q",
        "https://api.acme.example/v1/#f",
        "https://u:p@api.acme.example/",
        "https:api.acme.example/v1/",
        "https://api.acme.example/v1%2f",
        "https://api.acme.example/v1\\",
        "/v1/",
        "data:,x",
    ] {
        let err = NetworkEntry::parse(bad, strict).expect_err(bad);
        assert_eq!(err.code(), ErrorCode::NetworkDenied);
    }
    // loopback http needs the opt-in, and only for loopback hosts
    assert!(NetworkEntry::parse(
        "http://127.0.0.1:3000/",
        NetworkOptions {
            allow_loopback_http: true
        }
    )
    .is_ok());
    assert!(NetworkEntry::parse(
        "http://[::1]/",
        NetworkOptions {
            allow_loopback_http: true
        }
    )
    .is_ok());
    assert!(NetworkEntry::parse(
        "http://api.acme.example/",
        NetworkOptions {
            allow_loopback_http: true
        }
    )
    .is_err());
}

#[test]
fn redirects_that_leave_the_allowlist_are_refused() {
    let list = allowlist();
    let base = list
        .check("https://api.acme.example/v1/a/b")
        .expect("allowed");
    let ok = [
        ("c", "https://api.acme.example/v1/a/c"),
        ("../x", "https://api.acme.example/v1/x"),
        ("/v1/moved", "https://api.acme.example/v1/moved"),
        (
            "https://api.acme.example/v1/other",
            "https://api.acme.example/v1/other",
        ),
        ("?page=2", "https://api.acme.example/v1/a/b?page=2"),
        (
            "https://api.acme.example:8443/admin-api/x",
            "https://api.acme.example:8443/admin-api/x",
        ),
    ];
    for (location, expected) in ok {
        let got = list
            .check_redirect(location, &base)
            .unwrap_or_else(|e| panic!("{location}: {e}"));
        assert_eq!(got.as_str(), expected);
    }
    let refused = [
        "https://evil.example/v1/",
        "//evil.example/v1/",
        "/admin",
        "../../admin",
        "/v1/%2e%2e/admin",
        "/v1/..%2fadmin",
        "http://api.acme.example/v1/a",
        "javascript:alert(1)",
        "data:,x",
        "https://user@api.acme.example/v1/",
        "\\\\evil.example/v1/",
        "/v1/\tx",
        "https://api.acme.example./v1/",
    ];
    for location in refused {
        let err = list.check_redirect(location, &base).expect_err(location);
        assert_eq!(err.code(), ErrorCode::NetworkDenied, "{location}");
    }
}

#[test]
fn idempotent_and_retryable_methods() {
    for m in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"] {
        assert!(is_idempotent(m), "{m}");
    }
    for m in ["POST", "PATCH", "CONNECT", "get", "Put", "", "GET "] {
        assert!(!is_idempotent(m), "{m}");
    }
    for m in ["GET", "HEAD", "OPTIONS"] {
        assert!(is_retryable(m), "{m}");
    }
    for m in ["PUT", "DELETE", "TRACE", "POST", "PATCH", "head"] {
        assert!(!is_retryable(m), "{m}");
    }
}

#[test]
fn only_safe_response_headers_are_kept() {
    let input = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("content-length".to_owned(), "12".to_owned()),
        ("Content-Language".to_owned(), "en".to_owned()),
        ("Cache-Control".to_owned(), "no-store".to_owned()),
        ("ETag".to_owned(), "\"abc\"".to_owned()),
        (
            "Last-Modified".to_owned(),
            "Wed, 21 Oct 2015 07:28:00 GMT".to_owned(),
        ),
        ("Expires".to_owned(), "0".to_owned()),
        ("Pragma".to_owned(), "no-cache".to_owned()),
        ("Set-Cookie".to_owned(), "sid=secret".to_owned()),
        ("set-cookie2".to_owned(), "x".to_owned()),
        ("WWW-Authenticate".to_owned(), "Bearer".to_owned()),
        ("Authorization".to_owned(), "Bearer t".to_owned()),
        ("X-Api-Key".to_owned(), "k".to_owned()),
        ("Access-Control-Allow-Origin".to_owned(), "*".to_owned()),
        ("Location".to_owned(), "https://evil".to_owned()),
        ("content-type-x".to_owned(), "x".to_owned()),
        ("Expires".to_owned(), "0\r\nSet-Cookie: a=b".to_owned()),
    ];
    let kept = safe_response_headers(input);
    let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "content-type",
            "content-length",
            "content-language",
            "cache-control",
            "etag",
            "last-modified",
            "expires",
            "pragma"
        ]
    );
    assert!(kept.iter().all(|(_, v)| !v.contains('\n')));
}

#[test]
fn retry_delays_grow_exponentially_within_bounds() {
    let p = RetryPolicy {
        max_retries: 3,
        base_delay_ms: 100,
        max_delay_ms: 1_000,
    };
    assert_eq!(RetryPolicy::default().max_retries, 3);
    // ceilings 100, 200, 400, 800, 1000, 1000...
    let ceilings = [100u32, 200, 400, 800, 1_000, 1_000];
    for (attempt, ceiling) in (0u32..).zip(ceilings) {
        assert_eq!(p.delay_for(attempt, 0.0), ceiling / 2, "attempt {attempt}");
        let hi = p.delay_for(attempt, 0.999_999);
        assert!(
            hi < ceiling + 1 && hi >= ceiling - 1,
            "attempt {attempt}: {hi}"
        );
    }
    assert!(p.delay_for(1, 0.5) > p.delay_for(0, 0.5));
    // out-of-range jitter is clamped, NaN is 0; huge attempts saturate
    assert_eq!(p.delay_for(0, f64::NAN), 50);
    assert_eq!(p.delay_for(0, -3.0), 50);
    assert_eq!(p.delay_for(0, 7.0), 100);
    assert_eq!(p.delay_for(u32::MAX, 0.0), 500);
    let big = RetryPolicy {
        max_retries: 3,
        base_delay_ms: u32::MAX,
        max_delay_ms: u32::MAX,
    };
    assert_eq!(big.delay_for(40, 0.0), u32::MAX / 2);
    assert_eq!(big.delay_for(40, 1.0), u32::MAX);
    assert!(p.should_retry(0) && p.should_retry(2) && !p.should_retry(3));
}

#[cfg(not(target_arch = "wasm32"))]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever a plugin appends to an allowed prefix, an accepted URL is on the entry's
        /// origin, under its path on a segment boundary, without credentials or encoded dots.
        #[test]
        fn accepted_urls_stay_under_the_prefix(suffix in "[a-zA-Z0-9./%;@:?#\\\\\t -]{0,24}") {
            let list = Allowlist::new(vec![entry("https://api.acme.example/v1/")]);
            let input = format!("https://api.acme.example/v1{suffix}");
            if let Ok(u) = list.check(&input) {
                prop_assert_eq!(u.host_str(), Some("api.acme.example"));
                prop_assert_eq!(u.port(), None);
                prop_assert!(u.username().is_empty() && u.password().is_none());
                prop_assert!(u.path() == "/v1" || u.path().starts_with("/v1/"), "{}", u);
                let lower = u.path().to_ascii_lowercase();
                prop_assert!(!lower.contains("%2e") && !lower.contains("%2f") && !lower.contains("%5c"));
            }
        }

        /// Accepted URLs on any host are exactly the allowed host.
        #[test]
        fn accepted_hosts_are_exact(host in "[a-zA-Z0-9.%@:\\-]{1,30}") {
            let list = Allowlist::new(vec![entry("https://api.acme.example/")]);
            if let Ok(u) = list.check(&format!("https://{host}/")) {
                prop_assert_eq!(u.host_str(), Some("api.acme.example"));
                prop_assert_eq!(u.port_or_known_default(), Some(443));
            }
        }
    }
}

// ----- transport failures: the core decides the code and the retry ---------------------------

mod transport {
    use plugin_warden::core::error::ErrorCode;
    use plugin_warden::core::network::{AttemptOutcome, RetryPolicy, TransportFailure};

    #[test]
    fn an_unreachable_host_is_a_network_error_not_a_refusal() {
        let cases = [
            ("timeout", ErrorCode::Timeout, true),
            ("unreachable", ErrorCode::NetworkError, true),
            ("redirect", ErrorCode::NetworkDenied, false),
            ("too-large", ErrorCode::QuotaExceeded, false),
            // an exception fetch.js did not classify: the request was allowed and did not
            // complete, so it is a transport failure, never a policy refusal
            ("", ErrorCode::NetworkError, true),
            ("NETWORK_DENIED", ErrorCode::NetworkError, true),
        ];
        for (kind, code, transient) in cases {
            let f = TransportFailure::from_kind(kind);
            assert_eq!(f.code(), code, "{kind:?}");
            assert_eq!(f.is_transient(), transient, "{kind:?}");
        }
        assert_eq!(ErrorCode::NetworkError.as_str(), "NETWORK_ERROR");
        for f in TransportFailure::ALL {
            assert_eq!(TransportFailure::from_kind(f.as_str()), f);
            if f.code() == ErrorCode::NetworkDenied {
                assert!(!f.is_transient(), "a policy refusal is never retried");
            }
        }
    }

    #[test]
    fn retries_are_decided_by_method_outcome_and_attempt() {
        let p = RetryPolicy::default();
        let down = AttemptOutcome::Failed(TransportFailure::Unreachable);
        let slow = AttemptOutcome::Failed(TransportFailure::Timeout);
        for method in ["GET", "HEAD", "OPTIONS"] {
            for attempt in 0..p.max_retries {
                for o in [
                    down,
                    slow,
                    AttemptOutcome::Answered(500),
                    AttemptOutcome::Answered(503),
                ] {
                    let d = p
                        .retry_delay(method, o, attempt, 0.5)
                        .unwrap_or_else(|| panic!("{method} {o:?} retry {attempt}"));
                    assert_eq!(d, p.delay_for(attempt, 0.5));
                }
            }
            assert_eq!(p.retry_delay(method, down, p.max_retries, 0.5), None);
            for o in [
                AttemptOutcome::Answered(200),
                AttemptOutcome::Answered(404),
                AttemptOutcome::Answered(499),
                AttemptOutcome::Failed(TransportFailure::Redirect),
                AttemptOutcome::Failed(TransportFailure::TooLarge),
            ] {
                assert_eq!(p.retry_delay(method, o, 0, 0.5), None, "{method} {o:?}");
            }
        }
        for method in ["POST", "PUT", "PATCH", "DELETE", "get"] {
            assert_eq!(p.retry_delay(method, down, 0, 0.5), None, "{method}");
        }
    }
}
