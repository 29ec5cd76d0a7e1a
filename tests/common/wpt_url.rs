//! The WHATWG URL corpus (tests/data/urltestdata.json, web-platform-tests, BSD-3-Clause) and
//! where the `url` crate disagrees with it: shared by tests/network.rs (the allowlist's parser)
//! and tests/weburl.rs (the core's `WebUrl` and the browser test's fixture), so the list of
//! known divergences is kept once.
#![allow(dead_code)]

use serde_json::Value;

/// Every case of the corpus (its comment strings left out).
pub fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/urltestdata.json"
    ))
    .expect("tests/data/urltestdata.json is present");
    let data: Value = serde_json::from_str(&text).expect("the corpus is JSON");
    let items = data.as_array().expect("the corpus is an array");
    assert!(
        items.iter().all(|c| c.is_object() || c.is_string()),
        "only strings (comments) and cases"
    );
    items.iter().filter(|c| c.is_object()).cloned().collect()
}

/// The `file:` host/drive-letter/empty-segment rules of the current spec, which the `url`
/// crate does not follow. Irrelevant here: `file:` is never allowed.
pub const FILE: &str =
    "file: scheme quirks (hosts, drive letters, empty segments); file: is always refused";
/// Trailing spaces before `?`/`#` in opaque paths of non-special schemes: never allowed.
pub const OPAQUE_TRAILING_SPACE: &str =
    "non-special opaque path trailing space not percent-encoded; non-special schemes are refused";
/// `^` in paths is left as is by the `url` crate where the spec now percent-encodes it. Not a
/// separator, so it does not change which host or path prefix a URL falls under.
pub const CARET: &str = "`^` in a path not percent-encoded; not a separator, no effect on matching";
/// `///host` against a special base: the spec resolves to `http://host/`, the `url` crate
/// fails with EmptyHost. Only makes `check_redirect` stricter (a refusal), never laxer.
pub const TRIPLE_SLASH: &str =
    "`///host` against a special base fails to parse (url: EmptyHost); stricter, refused";

/// Every case where `url` 2.5 disagrees with the corpus, with the reason. The tests that use it
/// fail if one of these starts agreeing (remove it) or if any other case disagrees.
#[rustfmt::skip]
pub const URL_CRATE_DIVERGES: &[(&str, Option<&str>, &str)] = &[
    ("file:///w|/m", None, FILE),
    ("non-special:opaque  ?hi", None, OPAQUE_TRAILING_SPACE),
    ("non-special:opaque  #hi", None, OPAQUE_TRAILING_SPACE),
    ("non-special:opaque \t\t  \t#hi", None, OPAQUE_TRAILING_SPACE),
    ("non-special:opaque \t\t  #hi", None, OPAQUE_TRAILING_SPACE),
    ("non-special:opaque\t\t  \r #hi", None, OPAQUE_TRAILING_SPACE),
    ("/", Some("file://h/C:/a/b"), FILE),
    ("file:\\\\//", None, FILE),
    ("file:\\\\\\\\", None, FILE),
    ("file:\\\\\\\\?fox", None, FILE),
    ("file:\\\\\\\\#guppy", None, FILE),
    ("file://spider///", None, FILE),
    ("file:\\\\localhost//", None, FILE),
    ("file://\\/localhost//cat", None, FILE),
    ("file://localhost//a//../..//", None, FILE),
    ("/////mouse", Some("file:///elephant"), FILE),
    ("\\/localhost//pig", Some("file://lion/"), FILE),
    ("//localhost//pig", Some("file://lion/"), FILE),
    ("/..//localhost//pig", Some("file://lion/"), FILE),
    ("C|", Some("file://host/dir/file"), FILE),
    ("C|", Some("file://host/D:/dir1/dir2/file"), FILE),
    ("C|#", Some("file://host/dir/file"), FILE),
    ("C|?", Some("file://host/dir/file"), FILE),
    ("C|/", Some("file://host/dir/file"), FILE),
    ("C|\n/", Some("file://host/dir/file"), FILE),
    ("C|\\", Some("file://host/dir/file"), FILE),
    ("/c:/foo/bar", Some("file://host/path"), FILE),
    ("file://example.net/C:/", None, FILE),
    ("file://1.2.3.4/C:/", None, FILE),
    ("file://[1::8]/C:/", None, FILE),
    ("C|/", Some("file://host/"), FILE),
    ("/C:/", Some("file://host/"), FILE),
    ("file:C:/", Some("file://host/"), FILE),
    ("file:/C:/", Some("file://host/"), FILE),
    ("file://localhost//a//../..//foo", None, FILE),
    ("file://localhost////foo", None, FILE),
    ("file:////foo", None, FILE),
    ("file:////one/two", Some("file:///"), FILE),
    ("////one/two", Some("file:///"), FILE),
    ("file:///.//", Some("file:////"), FILE),
    ("file:.//p", None, FILE),
    ("file:/.//p", None, FILE),
    ("foo://host/ !\"$%&'()*+,-./:;<=>@[\\]^_`{|}~", None, CARET),
    ("wss://host/ !\"$%&'()*+,-./:;<=>@[\\]^_`{|}~", None, CARET),
    ("///test", Some("http://example.org/"), TRIPLE_SLASH),
    ("///\\//\\//test", Some("http://example.org/"), TRIPLE_SLASH),
    ("///example.org/path", Some("http://example.org/"), TRIPLE_SLASH),
    ("///example.org/../path", Some("http://example.org/"), TRIPLE_SLASH),
    ("///example.org/../../", Some("http://example.org/"), TRIPLE_SLASH),
    ("///example.org/../path/../../", Some("http://example.org/"), TRIPLE_SLASH),
    ("///example.org/../path/../../path", Some("http://example.org/"), TRIPLE_SLASH),
    ("/\\//\\/a/../", Some("file:///"), FILE),
];
