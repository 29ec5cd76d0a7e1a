//! The browser's URL parser (src/web/url.rs, `new URL(input, base)`) against the `url` crate's
//! view of the WPT URL corpus (tests/data/weburl-expected.json, written by tests/weburl.rs):
//! the same `WebUrl` (or the same failure) for every case but the few listed here, none of
//! which changes a decision the core makes.

use plugin_warden::core::weburl::{UrlParseErrorKind, UrlParser, WebUrl};
use plugin_warden::BrowserUrlParser;
use serde::Deserialize;
use wasm_bindgen_test::*;

#[derive(Deserialize)]
struct Expected {
    input: String,
    base: Option<String>,
    url: Option<WebUrl>,
    error: Option<UrlParseErrorKind>,
}

/// Invalid punycode in a label: the standard (and the `url` crate) refuse the host, Chromium
/// keeps it as written. No decision changes: the host is compared exactly, so it can only be
/// reached where a network entry names that very host; natively that entry is refused.
const PUNYCODE: &str = "invalid xn-- label accepted by Chromium, refused by the standard";
/// Percent-encoded or fullwidth characters in a host that Chromium decodes into a valid host
/// (`http://%5B::1]` is `[::1]`, `http://％４１.com` is `a.com`) where the standard fails. The
/// host is then the one Chromium's own fetch would reach, and is compared exactly.
const DECODED_HOST: &str = "Chromium decodes an escaped host the standard refuses";
/// `///host` against a special base: Chromium follows the standard (`http://host/`), the `url`
/// crate fails (tests/weburl.rs lists it as a divergence of the url crate).
const TRIPLE_SLASH: &str =
    "`///host` against an http base: url crate fails, Chromium and the standard resolve";
/// Chromium escapes `*` in a host (`%2A`); the adapter refuses a domain holding `%`, so the
/// browser build refuses a host the standard accepts. Stricter only.
const STAR_HOST: &str = "`*` in a host: escaped by Chromium, then refused by the adapter";

/// Where Chromium's parser (through the adapter) and the `url` crate differ on the corpus for
/// an http(s) URL, with the reason. Differences where neither side is an http(s) URL (`file:`,
/// `ws(s):`, non-special schemes: the core refuses all of them) are counted, not listed.
#[rustfmt::skip]
const BROWSER_DIFFERS: &[(&str, Option<&str>, &str)] = &[
    ("http://a.b.c.xn--pokxncvks", None, PUNYCODE),
    ("http://10.0.0.xn--pokxncvks", None, PUNYCODE),
    ("http://a.b.c.XN--pokxncvks", None, PUNYCODE),
    ("http://a.b.c.Xn--pokxncvks", None, PUNYCODE),
    ("http://10.0.0.XN--pokxncvks", None, PUNYCODE),
    ("http://10.0.0.xN--pokxncvks", None, PUNYCODE),
    ("https://xn--/", None, PUNYCODE),
    ("http://\u{ff05}\u{ff14}\u{ff11}.com", Some("http://other.com/"), DECODED_HOST),
    ("http://%ef%bc%85%ef%bc%94%ef%bc%91.com", Some("http://other.com/"), DECODED_HOST),
    ("http://[::%31]", Some("http://other.com/"), DECODED_HOST),
    ("http://%5B::1]", Some("http://other.com/"), DECODED_HOST),
    ("///test", Some("http://example.org/"), TRIPLE_SLASH),
    ("///\\//\\//test", Some("http://example.org/"), TRIPLE_SLASH),
    ("///example.org/path", Some("http://example.org/"), TRIPLE_SLASH),
    ("///example.org/../path", Some("http://example.org/"), TRIPLE_SLASH),
    ("///example.org/../../", Some("http://example.org/"), TRIPLE_SLASH),
    ("///example.org/../path/../../", Some("http://example.org/"), TRIPLE_SLASH),
    ("///example.org/../path/../../path", Some("http://example.org/"), TRIPLE_SLASH),
    ("http://!\"$&'()*+,-.;=_`{}~/", None, STAR_HOST),
];

fn is_http(u: &WebUrl) -> bool {
    matches!(u.scheme(), "http" | "https")
}

#[wasm_bindgen_test]
fn the_browser_parser_gives_the_url_crates_web_url_on_the_wpt_corpus() {
    let cases: Vec<Expected> = serde_json::from_str(include_str!("../data/weburl-expected.json"))
        .expect("the fixture is the JSON tests/weburl.rs writes");
    assert!(cases.len() > 800, "{} cases", cases.len());
    let mut unexpected = Vec::new();
    let mut listed_seen = vec![false; BROWSER_DIFFERS.len()];
    let mut outside_http = 0;
    for case in &cases {
        let got = BrowserUrlParser.parse(&case.input, case.base.as_deref());
        let same = match (&got, &case.url, case.error) {
            (Ok(u), Some(expected), _) => u == expected,
            (Err(e), None, Some(kind)) => e.kind == kind,
            _ => false,
        };
        let listed = BROWSER_DIFFERS
            .iter()
            .position(|(i, b, _)| *i == case.input && *b == case.base.as_deref());
        let involves_http =
            got.as_ref().is_ok_and(is_http) || case.url.as_ref().is_some_and(is_http);
        if !same && listed.is_none() && !involves_http {
            outside_http += 1;
            continue;
        }
        if let (Some(_), Ok(g), Some(e)) = (listed, &got, &case.url) {
            // A listed difference never changes what an http(s) URL reaches.
            assert!(
                g.scheme() == e.scheme()
                    && g.host() == e.host()
                    && g.port_or_known_default() == e.port_or_known_default()
                    && g.origin().ascii_serialization() == e.origin().ascii_serialization(),
                "{:?}: {g:?} vs {e:?}",
                case.input
            );
        }
        match (listed, same) {
            (Some(i), false) => listed_seen[i] = true,
            (Some(_), true) => unexpected.push(format!(
                "{:?} {:?}: listed but agrees",
                case.input, case.base
            )),
            (None, false) => unexpected.push(format!(
                "{:?} {:?}: browser {:?}, url crate {:?} {:?}",
                case.input, case.base, got, case.url, case.error
            )),
            (None, true) => {}
        }
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    // file:, ws(s): and non-special schemes (Chromium keeps its own rules for file: hosts and
    // drive letters, `|` in paths, and non-special URLs of its own schemes): 71 with Chromium
    // 156; more is a new difference to look at.
    assert!(
        outside_http <= 71,
        "{outside_http} differences outside http(s)"
    );
    assert!(
        listed_seen.iter().all(|s| *s),
        "a listed case is not in the fixture"
    );
}

/// Every allowlist decision on a few thousand hostile and legitimate URLs (hosts written in
/// every form a parser could read differently, ports, encoded dots and separators, userinfo)
/// is the same under the browser's parser as under the `url` crate: both refuse, or both
/// allow the same URL; and so is the parse (`WebUrl`) of each, which every other URL decision
/// of the core (routes, CSP origins, mount sources, manifest URLs) reads.
#[wasm_bindgen_test]
fn allowlist_decisions_are_the_same_under_the_browsers_parser() {
    use plugin_warden::core::network::{Allowlist, NetworkEntry, NetworkOptions};
    use plugin_warden::core::weburl::set_url_parser;
    use std::rc::Rc;

    let opts = NetworkOptions {
        allow_loopback_http: true,
    };
    let entries = [
        "https://api.acme.example/v1/",
        "https://bücher.example/shop",
        "https://api.acme.example:8443/admin-api",
        "http://localhost:8080/dev/",
        "http://127.0.0.1:8080/dev/",
        "http://[::1]:8080/dev/",
    ];
    let schemes = [
        "https://", "http://", "HTTPS://", "wss://", "https:", "https:/",
    ];
    let authorities = [
        "api.acme.example",
        "API.acme.example",
        "api.acme.example.",
        "api.acme.example:443",
        "api.acme.example:0443",
        "api.acme.example:8443",
        "api.acme.example:65536",
        "api.acme.example:",
        "%61pi.acme.example",
        "api%2eacme.example",
        "\u{430}pi.acme.example",
        "\u{ff41}\u{ff50}\u{ff49}.acme.example",
        "api.acme.example\u{3002}",
        "bücher.example",
        "BÜCHER.example",
        "xn--bcher-kva.example",
        "user@api.acme.example",
        ":@api.acme.example",
        "api.acme.example@evil.example",
        "evil.example#@api.acme.example",
        "evil.example?@api.acme.example",
        "localhost:8080",
        "LOCALHOST:8080",
        "localhost.:8080",
        "127.0.0.1:8080",
        "127.1:8080",
        "0x7f.1:8080",
        "2130706433:8080",
        "0177.0.0.1:8080",
        "[::1]:8080",
        "[0:0::1]:8080",
        "[::ffff:127.0.0.1]:8080",
        "[::1]",
        "a b",
        "%2e",
        "api.acme.example%00",
        "",
    ];
    let paths = [
        "/v1/",
        "/v1",
        "/v1/x",
        "/v10",
        "/v1/%2e%2e/admin",
        "/v1/..%2fadmin",
        "/v1/%252e%252e/admin",
        "/v1/./x",
        "/v1/%2E./x",
        "/v1/x/../../admin",
        "/v1/x?q=1#f",
        "/v1/x;..",
        "/v1/..;/admin",
        "/dev/x",
        "/shop/x",
        "/admin-api/x",
        "/v1/\u{fc}",
        "",
    ];
    let decide = |list: &Allowlist, url: &str| match list.check(url) {
        Ok(u) => Ok(u.as_str().to_owned()),
        Err(e) => Err(std::mem::discriminant(&e)),
    };
    let build = || {
        Allowlist::new(
            entries
                .iter()
                .map(|e| NetworkEntry::parse(e, opts).expect(e))
                .collect(),
        )
    };
    let native_list = build();
    // Which parser is in use shows (a difference listed above).
    assert!(WebUrl::parse("https://xn--/").is_err());
    set_url_parser(Some(Rc::new(BrowserUrlParser)));
    assert!(WebUrl::parse("https://xn--/").is_ok());
    let browser_list = build();
    let mut differ = Vec::new();
    let mut allowed = 0;
    let mut checked = 0;
    for scheme in schemes {
        for authority in authorities {
            for path in paths {
                let url = format!("{scheme}{authority}{path}");
                set_url_parser(None);
                let native = decide(&native_list, &url);
                set_url_parser(Some(Rc::new(BrowserUrlParser)));
                let browser = decide(&browser_list, &url);
                if native != browser {
                    differ.push(format!(
                        "{url:?}: url crate {native:?}, browser {browser:?}"
                    ));
                }
                // And the parse itself, which every other URL decision reads.
                let by_browser = WebUrl::parse(&url).map_err(|e| e.kind);
                set_url_parser(None);
                let by_crate = WebUrl::parse(&url).map_err(|e| e.kind);
                if by_crate != by_browser {
                    differ.push(format!(
                        "{url:?}: url crate {by_crate:?}, browser {by_browser:?}"
                    ));
                }
                allowed += usize::from(native.is_ok());
                checked += 1;
            }
        }
    }
    set_url_parser(None);
    assert_eq!(entries.len(), browser_list.entries().len());
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    // The table holds both kinds.
    assert!(
        allowed > 50 && allowed < checked / 2,
        "{allowed} of {checked} allowed"
    );
}
