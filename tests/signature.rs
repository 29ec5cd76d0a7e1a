//! `core::signature`: key and signature formats (pure, always built) and the RustCrypto-backed
//! signer and verifier (feature `cli`). Keys and OpenSSL-made signatures are fixtures in
//! `tests/fixtures/cli/` (test-only keys; see the README there).

use std::path::PathBuf;

use plugin_warden::core::error::{Coded, ErrorCode};
use plugin_warden::core::signature::{
    decode_signature, webcrypto_signature, KeyFormat, PublicKey, SignatureAlgorithm, SignatureError,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cli")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

fn key(name: &str) -> PublicKey {
    PublicKey::parse(&fixture(&format!("keys/{name}")))
        .unwrap_or_else(|e| panic!("key {name}: {e}"))
}

fn code_of(r: Result<impl std::fmt::Debug, SignatureError>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

// ---------------------------------------------------------------------------------------------
// Pure: keys

#[test]
fn formats_are_detected_by_their_first_bytes() {
    assert_eq!(
        KeyFormat::detect(&fixture("keys/p256.pub.pem")),
        Some(KeyFormat::Pem)
    );
    assert_eq!(
        KeyFormat::detect(&fixture("keys/p256.pub.der")),
        Some(KeyFormat::Der)
    );
    assert_eq!(
        KeyFormat::detect(&fixture("keys/p256.pub.jwk")),
        Some(KeyFormat::Jwk)
    );
    assert_eq!(KeyFormat::detect(b"\xEF\xBB\xBF\n{}"), Some(KeyFormat::Jwk));
    assert_eq!(KeyFormat::detect(b""), None);
}

#[test]
fn rsa_key_is_the_same_from_pem_der_pkcs1_and_jwk() {
    let pem = key("rsa2048.pub.pem");
    assert_eq!(pem.algorithm(), SignatureAlgorithm::RsaPkcs1v15Sha256);
    let PublicKey::Rsa(rsa) = &pem else {
        panic!("expected an RSA key, got {pem:?}");
    };
    assert_eq!(rsa.bits(), 2048);
    assert_eq!(rsa.signature_len(), 256);
    assert_eq!(rsa.exponent(), [1, 0, 1]);
    assert_eq!(key("rsa2048.pub.der"), pem);
    assert_eq!(key("rsa2048.pkcs1.pub.pem"), pem);
    assert_eq!(key("rsa2048.pub.jwk"), pem);
    // Our SPKI encoder writes exactly what OpenSSL wrote.
    assert_eq!(pem.to_spki_der(), fixture("keys/rsa2048.pub.der"));
}

#[test]
fn ec_key_is_the_same_from_pem_der_and_jwk() {
    let pem = key("p256.pub.pem");
    assert_eq!(pem.algorithm(), SignatureAlgorithm::EcdsaP256Sha256);
    assert_eq!(key("p256.pub.der"), pem);
    assert_eq!(key("p256.pub.jwk"), pem);
    assert_eq!(pem.to_spki_der(), fixture("keys/p256.pub.der"));
    let PublicKey::EcP256(ec) = &pem else {
        panic!("expected a P-256 key, got {pem:?}");
    };
    assert_eq!(ec.sec1().len(), 65);
}

#[test]
fn jwk_rules() {
    let ec: serde_json::Value =
        serde_json::from_slice(&fixture("keys/p256.pub.jwk")).expect("fixture is JSON");
    let with = |k: &str, v: serde_json::Value| {
        let mut j = ec.clone();
        j[k] = v;
        PublicKey::from_jwk(&j.to_string())
    };
    // A private member is refused: a public key is expected.
    let err = with("d", "AAAA".into()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("private member \"d\""), "{err}");
    // `alg` must match the key type (no algorithm chosen by input).
    assert!(with("alg", "ES256".into()).is_ok());
    let err = with("alg", "RS256".into()).unwrap_err();
    assert!(err.to_string().contains("\"alg\" is \"RS256\""), "{err}");
    assert!(with("alg", "none".into()).is_err());
    assert!(with("use", "enc".into()).is_err());
    assert!(with("key_ops", serde_json::json!(["sign"])).is_err());
    // Curves and coordinate sizes.
    assert!(matches!(
        with("crv", "P-384".into()),
        Err(SignatureError::UnsupportedKey { .. })
    ));
    assert!(with("x", "AAAA".into()).is_err());
    assert!(with("x", "not base64url!".into()).is_err());
    assert!(with("x", 7.into()).is_err());
    // Other key types.
    assert!(matches!(
        PublicKey::from_jwk(r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#),
        Err(SignatureError::UnsupportedKey { .. })
    ));
    assert!(PublicKey::from_jwk(r#"{"kty":"oct","k":"c2VjcmV0"}"#).is_err());
    assert!(PublicKey::from_jwk("[1]").is_err());
    assert!(PublicKey::from_jwk("{").is_err());
    // RSA JWK: the modulus decides the size.
    let rsa: serde_json::Value =
        serde_json::from_slice(&fixture("keys/rsa2048.pub.jwk")).expect("fixture is JSON");
    let mut short = rsa.clone();
    short["n"] = "AQAB".into();
    assert!(matches!(
        PublicKey::from_jwk(&short.to_string()),
        Err(SignatureError::WeakKey { bits: 17 })
    ));
    let mut even_e = rsa.clone();
    even_e["e"] = "AQAA".into();
    assert!(PublicKey::from_jwk(&even_e.to_string()).is_err());
}

#[test]
fn small_rsa_keys_are_refused() {
    let err = PublicKey::parse(&fixture("keys/rsa1024.pub.pem")).unwrap_err();
    assert_eq!(err, SignatureError::WeakKey { bits: 1024 });
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("1024 bits"));
}

#[test]
fn other_keys_and_private_keys_are_refused_as_public_keys() {
    assert!(matches!(
        PublicKey::parse(&fixture("keys/p384.pub.pem")),
        Err(SignatureError::UnsupportedKey { .. })
    ));
    let err = PublicKey::parse(&fixture("keys/p256.pem")).unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");
    assert!(PublicKey::parse(b"ssh-ed25519 AAAAC3Nza").is_err());
    assert!(PublicKey::parse(b"-----BEGIN PUBLIC KEY-----\nAAAA\n").is_err());
    // Truncated or padded DER.
    let der = fixture("keys/p256.pub.der");
    for cut in [1, 10, der.len() - 1] {
        assert!(PublicKey::parse(&der[..cut]).is_err(), "cut at {cut}");
    }
    let mut long = der.clone();
    long.push(0);
    assert!(PublicKey::parse(&long).is_err());
    // A key too large to be one.
    assert!(PublicKey::parse(&vec![b' '; 70 * 1024]).is_err());
}

// ---------------------------------------------------------------------------------------------
// Pure: signatures

#[test]
fn signatures_decode_from_base64_or_raw() {
    let der = fixture("signed/bundle.js.p256.der.sig");
    assert_eq!(
        decode_signature(&fixture("signed/bundle.js.p256.der.sig.b64")).unwrap(),
        der
    );
    assert_eq!(decode_signature(&der).unwrap(), der);
    // Whitespace and a missing padding are tolerated; a wrong padding is not base64, so raw.
    assert_eq!(decode_signature(b"  AQI\r\n").unwrap(), [1, 2]);
    assert_eq!(decode_signature(b"AQI=").unwrap(), [1, 2]);
    assert_eq!(decode_signature(b"AQ=I").unwrap(), b"AQ=I");
    // Wrapped lines, as `openssl base64` without -A writes them.
    let rsa = fixture("signed/bundle.js.rsa2048.sig");
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &rsa);
    let wrapped: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    assert_eq!(
        decode_signature(wrapped.join("\n").as_bytes()).unwrap(),
        rsa
    );
    assert_eq!(code_of(decode_signature(b"")), ErrorCode::SignatureInvalid);
    assert_eq!(
        code_of(decode_signature(&vec![b'A'; 20_000])),
        ErrorCode::SignatureInvalid
    );
}

#[test]
fn ecdsa_der_signatures_are_converted_to_webcrypto_raw() {
    let k = key("p256.pub.pem");
    let alg = SignatureAlgorithm::EcdsaP256Sha256;
    let der = fixture("signed/bundle.js.p256.der.sig");
    let raw = webcrypto_signature(alg, &k, &der).unwrap();
    assert_eq!(raw.len(), 64);
    // A raw signature passes through unchanged.
    assert_eq!(webcrypto_signature(alg, &k, &raw).unwrap(), raw);
    // Non-minimal, negative, oversized integers and trailing bytes are refused.
    for bad in [
        &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02, 0x00][..],
        &[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x02],
        &[0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x02],
        &[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x02],
        &[0x30, 0x00],
        &[],
    ] {
        assert_eq!(
            code_of(webcrypto_signature(alg, &k, bad)),
            ErrorCode::SignatureInvalid,
            "{bad:x?}"
        );
    }
    let mut big = vec![0x30, 0x26, 0x02, 0x21, 0x01];
    big.extend([0u8; 32]);
    big.extend([0x02, 0x01, 0x01]);
    assert!(webcrypto_signature(alg, &k, &big).is_err());
    // The algorithm comes from the key: asking for another one fails.
    assert!(matches!(
        webcrypto_signature(SignatureAlgorithm::RsaPkcs1v15Sha256, &k, &raw),
        Err(SignatureError::AlgorithmMismatch { .. })
    ));
}

#[test]
fn rsa_signatures_must_be_as_long_as_the_modulus() {
    let k = key("rsa2048.pub.pem");
    let alg = SignatureAlgorithm::RsaPkcs1v15Sha256;
    let sig = fixture("signed/bundle.js.rsa2048.sig");
    assert_eq!(webcrypto_signature(alg, &k, &sig).unwrap(), sig);
    assert_eq!(
        code_of(webcrypto_signature(alg, &k, &sig[1..])),
        ErrorCode::SignatureInvalid
    );
}

// ---------------------------------------------------------------------------------------------
// Native (feature `cli`): RustCrypto signing and verification

#[cfg(feature = "cli")]
mod native {
    use super::*;
    use plugin_warden::core::provenance::{Envelope, ManifestDigest};
    use plugin_warden::core::signature::{NativeVerifier, SigningKey, Verifier};

    fn signing_key(name: &str) -> SigningKey {
        let pem = String::from_utf8(fixture(&format!("keys/{name}"))).expect("PEM is UTF-8");
        SigningKey::from_pkcs8_pem(&pem).unwrap_or_else(|e| panic!("key {name}: {e}"))
    }

    const DATA: &[u8] = b"export const answer = 42;\n";

    fn round_trip(private: &str, public: &str, other: &str, alg: SignatureAlgorithm) {
        let signer = signing_key(private);
        assert_eq!(signer.algorithm(), alg);
        let k = key(public);
        assert_eq!(signer.public_key(), k);
        let sig = signer.sign(DATA).unwrap();
        let v = NativeVerifier;
        assert_eq!(v.verify(alg, &k, DATA, &sig), Ok(()));
        assert_eq!(v.verify_with_key(&k, DATA, &sig), Ok(()));

        // Tampered data.
        let mut data = DATA.to_vec();
        data[0] ^= 1;
        let err = v.verify_with_key(&k, &data, &sig).unwrap_err();
        assert_eq!(err, SignatureError::Mismatch { algorithm: alg });
        assert_eq!(err.code(), ErrorCode::SignatureInvalid);
        assert!(err.to_string().contains("does not verify"));
        // Tampered signature (every position class: first, middle, last byte).
        for i in [0, sig.len() / 2, sig.len() - 1] {
            let mut bad = sig.clone();
            bad[i] ^= 0x40;
            assert_eq!(
                code_of(v.verify_with_key(&k, DATA, &bad)),
                ErrorCode::SignatureInvalid,
                "byte {i}"
            );
        }
        // Another key of the same type.
        assert_eq!(
            code_of(v.verify_with_key(&key(other), DATA, &sig)),
            ErrorCode::SignatureInvalid
        );
        // The wrong algorithm for the key.
        let wrong = match alg {
            SignatureAlgorithm::RsaPkcs1v15Sha256 => SignatureAlgorithm::EcdsaP256Sha256,
            _ => SignatureAlgorithm::RsaPkcs1v15Sha256,
        };
        assert_eq!(
            code_of(v.verify(wrong, &k, DATA, &sig)),
            ErrorCode::SignatureInvalid
        );
    }

    #[test]
    fn rsa_2048_round_trip_and_tampering() {
        round_trip(
            "rsa2048.pem",
            "rsa2048.pub.pem",
            "rsa2048-other.pub.pem",
            SignatureAlgorithm::RsaPkcs1v15Sha256,
        );
    }

    #[test]
    fn p256_round_trip_and_tampering() {
        round_trip(
            "p256.pem",
            "p256.pub.pem",
            "p256-other.pub.pem",
            SignatureAlgorithm::EcdsaP256Sha256,
        );
    }

    #[test]
    fn ecdsa_signatures_are_raw_64_bytes_and_deterministic() {
        let signer = signing_key("p256.pem");
        let a = signer.sign(DATA).unwrap();
        assert_eq!(a.len(), 64, "WebCrypto's raw r || s, not DER");
        assert_eq!(signer.sign(DATA).unwrap(), a, "RFC 6979");
    }

    #[test]
    fn a_tampered_key_modulus_does_not_verify() {
        let sig = signing_key("rsa2048.pem").sign(DATA).unwrap();
        let mut der = fixture("keys/rsa2048.pub.der");
        let mid = der.len() / 2; // inside the modulus
        der[mid] ^= 0x01;
        let tampered = PublicKey::parse(&der).expect("still a well-formed 2048-bit key");
        assert_eq!(
            code_of(NativeVerifier.verify_with_key(&tampered, DATA, &sig)),
            ErrorCode::SignatureInvalid
        );
    }

    /// The envelope of `signed/plugin.json` and `signed/bundle.js`: what the fixture
    /// signatures (OpenSSL's and the CLI's) cover.
    fn fixture_envelope() -> Vec<u8> {
        let manifest = String::from_utf8(fixture("signed/plugin.json")).unwrap();
        let digest = ManifestDigest::of_json(&manifest).unwrap();
        Envelope::new(digest, &fixture("signed/bundle.js")).to_bytes()
    }

    #[test]
    fn openssl_signatures_verify_in_der_base64_and_raw_form() {
        let v = NativeVerifier;
        let data = fixture_envelope();
        let data = data.as_slice();
        let ec = key("p256.pub.pem");
        let der = fixture("signed/bundle.js.p256.der.sig");
        assert_eq!(v.verify_with_key(&ec, data, &der), Ok(()));
        let b64 = decode_signature(&fixture("signed/bundle.js.p256.der.sig.b64")).unwrap();
        assert_eq!(v.verify_with_key(&ec, data, &b64), Ok(()));
        let raw = webcrypto_signature(SignatureAlgorithm::EcdsaP256Sha256, &ec, &der).unwrap();
        assert_eq!(v.verify_with_key(&ec, data, &raw), Ok(()));
        // The same key as a JWK verifies the same signature.
        assert_eq!(v.verify_with_key(&key("p256.pub.jwk"), data, &der), Ok(()));

        let rsa = key("rsa2048.pub.pem");
        let sig = fixture("signed/bundle.js.rsa2048.sig");
        assert_eq!(v.verify_with_key(&rsa, data, &sig), Ok(()));
        assert_eq!(
            v.verify_with_key(&key("rsa2048.pub.jwk"), data, &sig),
            Ok(())
        );
        // RSASSA-PKCS1-v1_5 and RFC 6979 ECDSA are deterministic: our signatures equal the
        // recorded ones byte for byte (OpenSSL's for RSA, the CLI's for P-256).
        assert_eq!(signing_key("rsa2048.pem").sign(data).unwrap(), sig);
        let cli = decode_signature(&fixture("signed/bundle.js.p256.sig")).unwrap();
        assert_eq!(signing_key("p256.pem").sign(data).unwrap(), cli);
    }

    #[test]
    fn an_ecdsa_point_off_the_curve_is_a_key_error() {
        let mut der = fixture("keys/p256.pub.der");
        let last = der.len() - 1;
        der[last] ^= 0x01; // y changes: the point leaves the curve
        let k = PublicKey::parse(&der).expect("the encoding is still well-formed");
        let sig = signing_key("p256.pem").sign(DATA).unwrap();
        assert_eq!(
            code_of(NativeVerifier.verify_with_key(&k, DATA, &sig)),
            ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn signing_keys_other_than_pkcs8_p256_or_rsa_2048_are_refused() {
        let read = |name: &str| String::from_utf8(fixture(&format!("keys/{name}"))).unwrap();
        assert_eq!(
            SigningKey::from_pkcs8_pem(&read("rsa1024.pem")).unwrap_err(),
            SignatureError::WeakKey { bits: 1024 }
        );
        assert!(matches!(
            SigningKey::from_pkcs8_pem(&read("p384.pem")),
            Err(SignatureError::UnsupportedKey { .. })
        ));
        let err = SigningKey::from_pkcs8_pem(&read("p256.sec1.pem")).unwrap_err();
        assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");
        let err = SigningKey::from_pkcs8_pem(&read("p256.pub.pem")).unwrap_err();
        assert!(err.to_string().contains("private key"), "{err}");
        assert!(SigningKey::from_pkcs8_pem("not a key").is_err());
        // Debug never prints key material.
        assert_eq!(
            format!(
                "{:?}",
                SigningKey::from_pkcs8_pem(&read("p256.pem")).unwrap()
            ),
            "SigningKey(ES256)"
        );
    }

    /// Interop: our raw ECDSA signature, re-encoded as DER, verifies with OpenSSL itself.
    #[test]
    fn openssl_verifies_our_ecdsa_signature() {
        let Ok(out) = std::process::Command::new("openssl")
            .arg("version")
            .output()
        else {
            eprintln!("openssl not installed: interop check skipped");
            return;
        };
        assert!(out.status.success());
        let raw = signing_key("p256.pem").sign(DATA).unwrap();
        let int = |half: &[u8]| {
            let trimmed: Vec<u8> = half.iter().copied().skip_while(|&b| b == 0).collect();
            let mut content = if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
                vec![0]
            } else {
                vec![]
            };
            content.extend(trimmed);
            let mut out = vec![0x02, content.len() as u8];
            out.extend(content);
            out
        };
        let mut body = int(&raw[..32]);
        body.extend(int(&raw[32..]));
        let mut der = vec![0x30, body.len() as u8];
        der.extend(body);
        let dir = std::env::temp_dir().join(format!("pw-sig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (data, sig) = (dir.join("data"), dir.join("sig"));
        std::fs::write(&data, DATA).unwrap();
        std::fs::write(&sig, der).unwrap();
        let pubkey =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli/keys/p256.pub.pem");
        let status = std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(&pubkey)
            .arg("-signature")
            .arg(&sig)
            .arg(&data)
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert!(status.status.success(), "{status:?}");
    }
}

/// The shared vectors (tests/fixtures/cli/signed/vectors.json) through the CLI's verifier, the
/// binary itself: `plugin-warden verify`. tests/e2e/signatures.test.mjs runs the same list
/// through the browser's (`host.install` in Chromium) and expects the same verdicts.
#[cfg(feature = "cli")]
mod shared_vectors {
    use std::path::PathBuf;
    use std::process::{Command, Stdio};

    use plugin_warden::core::provenance::key_from_value;
    use plugin_warden::core::signature::PublicKey;
    use serde_json::Value;

    fn signed() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli/signed")
    }

    fn vectors() -> Vec<Value> {
        let text = std::fs::read_to_string(signed().join("vectors.json")).expect("vectors.json");
        let v: Value = serde_json::from_str(&text).expect("vectors.json is JSON");
        v["vectors"].as_array().expect("a vectors list").clone()
    }

    #[test]
    fn cli_and_browser_vectors() {
        let vectors = vectors();
        assert!(vectors.len() >= 15);
        for v in vectors {
            let label = v["label"].as_str().expect("label");
            let expect = v["expect"].as_str().expect("expect");
            let key = signed().join(v["key"].as_str().expect("key"));
            let sig = signed().join(v["signature"].as_str().expect("signature"));
            let out = Command::new(env!("CARGO_BIN_EXE_plugin-warden"))
                .arg("verify")
                .arg("--key")
                .arg(&key)
                .arg("--signature")
                .arg(&sig)
                .arg("--manifest")
                .arg(signed().join("plugin.json"))
                .arg(signed().join("bundle.js"))
                .stdin(Stdio::null())
                .output()
                .expect("the binary runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let verdict = match out.status.code() {
                Some(0) => "ok",
                Some(1) if stderr.contains("SIGNATURE_INVALID") => "SIGNATURE_INVALID",
                Some(2) if stderr.contains("INVALID_ARGUMENT") => "INVALID_ARGUMENT",
                other => panic!("{label}: exit {other:?}, stderr {stderr}"),
            };
            assert_eq!(verdict, expect, "{label}: stderr {stderr}");
        }
    }

    /// The browser reads a key as text (or a JWK object): every key file, as the e2e test hands
    /// it over (text as is, binary as base64), parses to the very key the CLI read from the file.
    #[test]
    fn the_browser_reads_every_key_the_cli_reads() {
        use base64::Engine as _;
        for v in vectors() {
            let path = signed().join(v["key"].as_str().expect("key"));
            let bytes = std::fs::read(&path).expect("key file");
            let as_text = match std::str::from_utf8(&bytes) {
                Ok(t) => t.to_owned(),
                Err(_) => base64::engine::general_purpose::STANDARD.encode(&bytes),
            };
            let cli = PublicKey::parse(&bytes);
            let browser = key_from_value(&Value::String(as_text.clone()));
            assert_eq!(cli, browser, "{}", path.display());
            if path.extension().is_some_and(|e| e == "jwk") {
                let object: Value = serde_json::from_str(&as_text).expect("JWK JSON");
                assert_eq!(
                    key_from_value(&object),
                    cli,
                    "{} as an object",
                    path.display()
                );
            }
        }
    }
}
