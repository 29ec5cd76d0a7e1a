//! SRI parsing and verification against digests computed independently with openssl:
//!
//! ```sh
//! printf 'console.log("hello from a plugin");\n' > a.js
//! openssl dgst -sha384 -binary a.js | openssl base64 -A    # likewise -sha256, -sha512
//! ```
#![cfg(not(target_arch = "wasm32"))]

use plugin_warden::core::error::{Coded, ErrorCode};
use plugin_warden::core::integrity::{
    sri, Integrity, IntegrityError, SriAlgorithm, SriHash, MAX_HASHES,
};

/// The fixture bytes (`a.js` above, trailing newline included).
const A_JS: &[u8] = b"console.log(\"hello from a plugin\");\n";
const A_256: &str = "sha256-/dlNW+mAKukfoTUgO0xP6mHIza7lohFOuX4lWb/LSKo=";
const A_384: &str = "sha384-SNuwBBuG9rqJINheDFkC2kZ/npGBqwNcnG9JAz3sK4k1YY2d8HBBdY4xIHVN1BSH";
const A_512: &str = "sha512-SJOI0/BCWVTNIXGMuLjoakei9DqM5bI9qT5jgrCkVRu2cYN/mrA/nE0n2/b7yTAJkAEasxNHUADYnkLx0YYJVA==";

/// `printf abc | openssl dgst -shaN -binary | openssl base64 -A`
const ABC_256: &str = "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
const ABC_384: &str = "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn";
const ABC_512: &str = "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==";

/// `printf '' | openssl dgst -shaN -binary | openssl base64 -A`
const EMPTY_256: &str = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
const EMPTY_384: &str = "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb";
const EMPTY_512: &str = "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==";

/// `printf x | openssl dgst -sha512 -binary | openssl base64 -A` (has both `+` and `/`).
const X_512: &str = "sha512-pKvURIxJVi2CgRXROh/M6pJ/UrTVRZKX+LQ+QtqJI4vBNibkPcs43bCCSIkn7JBPtCBXRDmD6IWFF51QVRr+Yg==";

#[test]
fn sri_matches_openssl() {
    for (bytes, alg, expected) in [
        (A_JS, SriAlgorithm::Sha256, A_256),
        (A_JS, SriAlgorithm::Sha384, A_384),
        (A_JS, SriAlgorithm::Sha512, A_512),
        (&b"abc"[..], SriAlgorithm::Sha256, ABC_256),
        (&b"abc"[..], SriAlgorithm::Sha384, ABC_384),
        (&b"abc"[..], SriAlgorithm::Sha512, ABC_512),
        (&b""[..], SriAlgorithm::Sha256, EMPTY_256),
        (&b""[..], SriAlgorithm::Sha384, EMPTY_384),
        (&b""[..], SriAlgorithm::Sha512, EMPTY_512),
        (&b"x"[..], SriAlgorithm::Sha512, X_512),
    ] {
        assert_eq!(sri(bytes, alg), expected);
        assert_eq!(SriHash::parse(expected).unwrap().to_string(), expected);
        assert_eq!(Integrity::parse(expected).unwrap().verify(bytes), Ok(alg));
    }
}

#[test]
fn single_hash_mismatch_names_expected_and_found() {
    let i = Integrity::parse(A_384).unwrap();
    let err = i
        .verify(b"console.log(\"hello from a plugin\");")
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::IntegrityMismatch);
    match &err {
        IntegrityError::Mismatch {
            algorithm,
            expected,
            found,
        } => {
            assert_eq!(*algorithm, SriAlgorithm::Sha384);
            assert_eq!(expected, A_384);
            assert!(found.starts_with("sha384-") && found != A_384);
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert!(err.to_string().contains(A_384));
}

#[test]
fn any_hash_of_the_strongest_algorithm_passes() {
    let list = format!("{ABC_384} {A_384}");
    assert_eq!(
        Integrity::parse(&list).unwrap().verify(A_JS),
        Ok(SriAlgorithm::Sha384)
    );
    let list = format!("{A_384}\t{ABC_384}\n");
    assert_eq!(
        Integrity::parse(&list).unwrap().verify(b"abc"),
        Ok(SriAlgorithm::Sha384)
    );
    let list = format!("{ABC_384} {EMPTY_384}");
    let err = Integrity::parse(&list).unwrap().verify(A_JS).unwrap_err();
    assert!(
        matches!(&err, IntegrityError::Mismatch { expected, .. } if expected == &list),
        "{err:?}"
    );
}

#[test]
fn strongest_algorithm_wins() {
    // weaker matching + stronger mismatching = fail
    for list in [
        format!("{A_256} {ABC_384}"),
        format!("{ABC_512} {A_384} {A_256}"),
        format!("{A_256} {A_384} {EMPTY_512}"),
    ] {
        let i = Integrity::parse(&list).unwrap();
        let err = i.verify(A_JS).expect_err(&list);
        assert_eq!(err.code(), ErrorCode::IntegrityMismatch);
        assert!(
            matches!(err, IntegrityError::Mismatch { algorithm, .. } if algorithm == i.strongest())
        );
    }
    // weaker mismatching + stronger matching = pass, and the stronger is reported
    let i = Integrity::parse(&format!("{ABC_256} {A_512} {EMPTY_384}")).unwrap();
    assert_eq!(i.strongest(), SriAlgorithm::Sha512);
    assert_eq!(i.verify(A_JS), Ok(SriAlgorithm::Sha512));
    // order does not matter
    let i = Integrity::parse(&format!("{A_512} {ABC_256}")).unwrap();
    assert_eq!(i.verify(A_JS), Ok(SriAlgorithm::Sha512));
}

#[test]
fn unknown_algorithms_and_options_are_ignored() {
    let list = format!(
        "md5-abcd sha1-xyz {A_384}?ct=application/javascript SHA512-nope sha-384-x ed25519-AAAA"
    );
    let i = Integrity::parse(&list).unwrap();
    assert_eq!(i.hashes().len(), 1);
    assert_eq!(i.to_string(), A_384);
    assert_eq!(i.verify(A_JS), Ok(SriAlgorithm::Sha384));
    // the options part may hold anything but whitespace, including more `?` and `-`
    assert!(Integrity::parse(&format!("{A_256}?a-b?c=d")).is_ok());
}

#[test]
fn base64_variants_browsers_accept() {
    // URL-safe alphabet and missing padding decode to the same digest
    let url_safe = X_512.replace('+', "-").replace('/', "_");
    let unpadded = X_512.trim_end_matches('=').to_owned();
    for form in [X_512.to_owned(), url_safe, unpadded] {
        let h = SriHash::parse(&form).unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(h.to_string(), X_512);
        assert!(h.matches(b"x"));
    }
}

#[test]
fn malformed_tokens_of_supported_algorithms_are_errors() {
    type Expect = fn(&IntegrityError) -> bool;
    let cases: &[(&str, Expect)] = &[
        ("sha384-", |e| matches!(e, IntegrityError::BadBase64 { .. })),
        ("sha384", |e| matches!(e, IntegrityError::BadBase64 { .. })),
        ("sha384-!!!!", |e| {
            matches!(e, IntegrityError::BadBase64 { .. })
        }),
        // whitespace splits tokens: `sha384-abc` decodes to 2 bytes
        ("sha384-abc def", |e| {
            matches!(e, IntegrityError::BadLength { found: 2, .. })
        }),
        ("sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=", |e| {
            // non-canonical trailing bits: a browser's string comparison would never match it
            matches!(e, IntegrityError::BadBase64 { .. })
        }),
        ("sha256-=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU", |e| {
            matches!(e, IntegrityError::BadBase64 { .. })
        }),
        ("sha256-AAAA", |e| {
            matches!(
                e,
                IntegrityError::BadLength {
                    expected: 32,
                    found: 3,
                    ..
                }
            )
        }),
        // a sha256 digest labelled sha384
        ("sha384-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", |e| {
            matches!(
                e,
                IntegrityError::BadLength {
                    expected: 48,
                    found: 32,
                    ..
                }
            )
        }),
        (
            "sha512-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn",
            |e| {
                matches!(
                    e,
                    IntegrityError::BadLength {
                        expected: 64,
                        found: 48,
                        ..
                    }
                )
            },
        ),
        (
            "sha384-SNuwBBuG9rqJINheDFkC2kZ/npGBqwNcnG9JAz3sK4k1YY2d8HBBdY4xIHVN1BSHé",
            |e| matches!(e, IntegrityError::BadBase64 { .. }),
        ),
    ];
    for (token, is_expected) in cases {
        let err = Integrity::parse(token).expect_err(token);
        assert!(is_expected(&err), "{token}: {err:?}");
        assert_eq!(err.code(), ErrorCode::IntegrityMismatch);
        // a malformed token is an error even beside a valid one
        let err = Integrity::parse(&format!("{A_512} {token}")).expect_err(token);
        assert!(is_expected(&err), "{token} after a valid hash: {err:?}");
    }
}

#[test]
fn no_supported_hash_is_an_error() {
    for metadata in [
        "",
        "   \t\n",
        "md5-abcd",
        "SHA384-abc",
        "sha-256-abc sha1-x",
        "?",
        "-",
    ] {
        let err = Integrity::parse(metadata).expect_err(metadata);
        assert!(
            matches!(err, IntegrityError::NoSupportedHash { .. }),
            "{metadata:?}: {err:?}"
        );
        assert_eq!(err.code(), ErrorCode::IntegrityMismatch);
    }
    assert!(matches!(
        SriHash::parse("md5-abcd"),
        Err(IntegrityError::NoSupportedHash { .. })
    ));
    assert!(Integrity::from_hashes(Vec::new()).is_err());
}

#[test]
fn too_many_tokens_are_refused() {
    let ok = vec![A_256; MAX_HASHES].join(" ");
    assert!(Integrity::parse(&ok).is_ok());
    let too_many = vec![A_256; MAX_HASHES + 1].join(" ");
    assert_eq!(
        Integrity::parse(&too_many),
        Err(IntegrityError::TooManyHashes {
            found: MAX_HASHES + 1
        })
    );
}

#[test]
fn typed_constructors_round_trip() {
    let hashes = vec![
        SriHash::compute(A_JS, SriAlgorithm::Sha256),
        SriHash::compute(A_JS, SriAlgorithm::Sha384),
    ];
    let i = Integrity::from_hashes(hashes).unwrap();
    assert_eq!(i.to_string(), format!("{A_256} {A_384}"));
    assert_eq!(i, i.to_string().parse::<Integrity>().unwrap());
    assert_eq!(i.verify(A_JS), Ok(SriAlgorithm::Sha384));
    let h: SriHash = A_256.parse().unwrap();
    assert_eq!(h.digest().len(), 32);
    assert_eq!(h.algorithm(), SriAlgorithm::Sha256);
}
