//! Compatibility ranges (npm-style) against host versions.
#![cfg(not(target_arch = "wasm32"))]

use plugin_warden::core::compat::{check, parse_host_version, CompatError, CompatRange};
use plugin_warden::core::error::{Coded, ErrorCode};
use semver::{Version, VersionReq};

/// (range, host version, admitted?)
const CASES: &[(&str, &str, bool)] = &[
    // caret
    ("^3.0.0", "3.0.0", true),
    ("^3.0.0", "3.99.7", true),
    ("^3.0.0", "4.0.0", false),
    ("^3.0.0", "2.9.9", false),
    ("^3.1", "3.0.9", false),
    ("^3", "3.0.0", true),
    // ^0.x: the minor is the breaking part, and ^0.0.x is exact
    ("^0.2.3", "0.2.3", true),
    ("^0.2.3", "0.2.9", true),
    ("^0.2.3", "0.2.2", false),
    ("^0.2.3", "0.3.0", false),
    ("^0.0.3", "0.0.3", true),
    ("^0.0.3", "0.0.4", false),
    ("^0.0", "0.0.9", true),
    ("^0.0", "0.1.0", false),
    // tilde
    ("~1.2", "1.2.0", true),
    ("~1.2", "1.2.99", true),
    ("~1.2", "1.3.0", false),
    ("~1.2.3", "1.2.2", false),
    ("~1.2.3", "1.2.4", true),
    ("~1", "1.9.0", true),
    ("~1", "2.0.0", false),
    ("~>1.2", "1.2.5", true),
    // explicit bounds, whitespace-separated (npm) and the operator detached from its version
    (">=1.0.0 <2.0.0", "1.0.0", true),
    (">=1.0.0 <2.0.0", "1.99.0", true),
    (">=1.0.0 <2.0.0", "2.0.0", false),
    (">=1.0.0 <2.0.0", "0.9.0", false),
    (">= 1.0.0 < 2.0.0", "1.5.0", true),
    ("  >=1.0.0\t<2.0.0  ", "1.5.0", true),
    (">1.0.0 <=1.2.0", "1.2.0", true),
    (">1.0.0 <=1.2.0", "1.0.0", false),
    // bare versions are exact in npm (not Cargo's caret)
    ("3.2.0", "3.2.0", true),
    ("3.2.0", "3.2.1", false),
    ("=3.2.0", "3.2.0", true),
    ("v3.2.0", "3.2.0", true),
    ("3.2", "3.2.7", true),
    ("3.2", "3.3.0", false),
    // wildcards
    ("1.x", "1.0.0", true),
    ("1.x", "1.99.0", true),
    ("1.x", "2.0.0", false),
    ("1.2.X", "1.2.5", true),
    ("1.*", "1.4.0", true),
    ("*", "0.0.1", true),
    ("*", "99.0.0", true),
    ("x", "3.2.0", true),
    // hyphen ranges
    ("1.2.3 - 2.3.4", "2.3.4", true),
    ("1.2.3 - 2.3.4", "2.3.5", false),
    ("1.2.3 - 2.3", "2.3.9", true),
    ("1.2.3 - 2.3", "2.4.0", false),
    ("1.2.3 - 2.3.4", "1.2.2", false),
    // alternatives: any one passes
    ("^1 || ^3", "3.2.0", true),
    ("^1 || ^3", "2.0.0", false),
    ("1.x||3.x", "3.0.0", true),
    ("<1.0.0 || >=2.0.0 <3.0.0 || 5.0.0", "5.0.0", true),
    ("<1.0.0 || >=2.0.0 <3.0.0 || 5.0.0", "4.0.0", false),
    // pre-releases: only comparators naming the same major.minor.patch with a pre-release admit them
    ("^3.0.0", "3.0.0-beta.1", false),
    ("^3.0.0", "3.1.0-beta.1", false),
    ("*", "3.0.0-beta.1", false),
    ("^3.0.0-beta.0", "3.0.0-beta.1", true),
    ("^3.0.0-beta.0", "3.0.0", true),
    ("^3.0.0-beta.0", "3.1.0-beta.1", false),
    (">=3.0.0-alpha <3.0.0", "3.0.0-rc.1", true),
    (">=3.0.0-rc.2", "3.0.0-rc.1", false),
    ("3.0.0-rc.1", "3.0.0-rc.1", true),
    ("^2 || >=3.0.0-rc.0", "3.0.0-rc.1", true),
    // build metadata is ignored
    ("^3.0.0", "3.2.0+build.7", true),
    ("=3.2.0", "3.2.0+sha.abc", true),
    // numbers up to u64::MAX
    ("^18446744073709551615", "18446744073709551615.0.0", true),
    (
        ">=1.0.0",
        "18446744073709551615.18446744073709551615.18446744073709551615",
        true,
    ),
];

#[test]
fn range_table() {
    let mut failures = Vec::new();
    for &(range, host, admitted) in CASES {
        let got = check(range, host);
        if got.is_ok() != admitted {
            failures.push(format!(
                "{range:?} vs {host}: expected {admitted}, got {got:?}"
            ));
        }
        if let Err(e) = got {
            assert_eq!(
                e.code(),
                ErrorCode::Incompatible,
                "{range:?} vs {host}: {e}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(CASES.len() >= 60);
}

#[test]
fn incompatible_message_names_range_and_host() {
    let err = check(">=1.0.0 <2.0.0 || ^4", "3.2.0").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Incompatible);
    let msg = err.to_string();
    assert!(msg.contains(">=1.0.0 <2.0.0 || ^4"), "{msg}");
    assert!(msg.contains("3.2.0"), "{msg}");
    assert_eq!(
        err,
        CompatError::Incompatible {
            range: ">=1.0.0 <2.0.0 || ^4".into(),
            host_version: "3.2.0".into()
        }
    );
}

#[test]
fn unparsable_ranges_are_invalid_manifest() {
    let long = "^1.0.0 ".repeat(40);
    let many_alts = vec!["^1"; 17].join(" || ");
    let many_comparators = vec![">=1.0.0"; 33].join(" ");
    for range in [
        "",
        "   ",
        "banana",
        "^",
        ">=",
        ">= ",
        "1.2.3.4",
        "^1.2.3 ||",
        "|| ^1",
        "^1 || || ^2",
        "1 - 2 - 3",
        "- 1.0.0",
        "1.0.0 -",
        "^18446744073709551616",
        "99999999999999999999999.0.0",
        ">=1.0.0, <2.0.0,",
        "01.2.3",
        "1.x.3",
        "^1.2.3-",
        "🦀",
        "\u{0}",
        long.as_str(),
        many_alts.as_str(),
        many_comparators.as_str(),
    ] {
        let err = check(range, "3.2.0").expect_err(range);
        assert_eq!(err.code(), ErrorCode::InvalidManifest, "{range:?}: {err}");
        assert!(matches!(err, CompatError::InvalidRange { .. }));
        assert!(
            err.to_string().contains("not a valid semver range"),
            "{err}"
        );
    }
}

#[test]
fn unparsable_host_versions_are_invalid_argument() {
    for host in [
        "",
        "3",
        "3.2",
        "v3.2.0",
        " 3.2.0",
        "3.2.0 ",
        "3.2.x",
        "03.2.0",
        "3.2.0-",
        "18446744073709551616.0.0",
        "three",
    ] {
        let err = check("*", host).expect_err(host);
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{host:?}: {err}");
        assert!(err.to_string().contains(&format!("{host:?}")), "{err}");
    }
    // the host's mistake is reported even when the range is also bad
    assert_eq!(
        check("banana", "nope").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn typed_form_agrees_with_the_string_form() {
    let host = parse_host_version("3.2.0").unwrap();
    let range: CompatRange = ">=3.0.0 <4.0.0 || 1.x".parse().unwrap();
    assert_eq!(range.as_str(), ">=3.0.0 <4.0.0 || 1.x");
    assert_eq!(range.to_string(), ">=3.0.0 <4.0.0 || 1.x");
    assert_eq!(
        range.alternatives(),
        &[
            VersionReq::parse(">=3.0.0, <4.0.0").unwrap(),
            VersionReq::parse("1.*").unwrap()
        ]
    );
    assert!(range.check(&host).is_ok());
    assert!(range.check(&Version::new(2, 0, 0)).is_err());

    let req = CompatRange::from_req(VersionReq::parse(">=3.3").unwrap());
    let err = req.check(&host).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Incompatible);
    assert!(err.to_string().contains(">=3.3"));
}
