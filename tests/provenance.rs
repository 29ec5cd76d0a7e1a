//! Provenance end to end in the engine, driven as the browser layer drives it: one signed
//! envelope over manifest and code (made here by the CLI's signer), `trustedKeys`, and
//! mount-time code checked exactly as install-time code. Needs the `cli` feature (a signer).
#![cfg(feature = "cli")]

use std::path::PathBuf;

use plugin_warden::core::engine::{Engine, HostConfig, InstallInput, InstallNext};
use plugin_warden::core::error::{ErrorCode, WardenError};
use plugin_warden::core::integrity::{sri, SriAlgorithm};
use plugin_warden::core::provenance::{canonical_json, Envelope, ManifestDigest, Provenance};
use plugin_warden::core::signature::{NativeVerifier, SigningKey};
use plugin_warden::core::storage::MemoryBackend;
use serde_json::{json, Value};

const T: f64 = 1_000.0;
const CODE: &str = "export const answer = 42;\n";

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cli")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

fn signer(name: &str) -> SigningKey {
    SigningKey::from_pkcs8_pem(&fixture(&format!("keys/{name}"))).unwrap()
}

fn host(config: Value) -> Engine<MemoryBackend> {
    let config: HostConfig = serde_json::from_value(config).unwrap();
    Engine::new(config, MemoryBackend::new()).unwrap()
}

fn manifest(id: &str) -> Value {
    json!({ "id": id, "name": "Signed", "version": "1.0.0", "permissions": ["storage"] })
}

/// What `plugin-warden sign --manifest` produces: base64 over the envelope.
fn sign(key: &str, manifest: &Value, code: &str) -> String {
    use base64::Engine as _;
    let digest = ManifestDigest::of_json(&manifest.to_string()).unwrap();
    let sig = signer(key)
        .sign(&Envelope::new(digest, code.as_bytes()).to_bytes())
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(sig)
}

/// `PluginHost.install` as src/api.rs runs it (the core's step machine), with the native
/// verifier for WebCrypto.
fn install(
    e: &mut Engine<MemoryBackend>,
    manifest: &Value,
    input: InstallInput,
) -> Result<(), WardenError> {
    let mut step = e.install_begin(&manifest.to_string(), input, T);
    loop {
        step = match step.next {
            InstallNext::Verify(check, token) => {
                let signed = check
                    .verify_with(&NativeVerifier)
                    .map_err(|err| WardenError::from_coded(&err));
                e.install_continue(token, signed, T)
            }
            InstallNext::Done(result) => return result.map(|_| ()),
            other => panic!("not an install step: {other:?}"),
        };
    }
}

/// `Host::verified_code` then `Engine::mount_code`, as src/web/host.rs runs them.
fn mount_code(
    e: &mut Engine<MemoryBackend>,
    id: &str,
    code: &str,
    signature: Option<&str>,
) -> Result<String, WardenError> {
    let provenance = match e.mount_signature(id, code, signature) {
        Err(err) => Err(err),
        Ok(None) => Ok(Provenance::Unsigned),
        Ok(Some(check)) => check
            .verify_with(&NativeVerifier)
            .map(Provenance::Signed)
            .map_err(|err| WardenError::from_coded(&err)),
    };
    let verified = e.verify_code(id, code.to_owned(), provenance, T)?;
    Ok(e.mount_code(id, Some(verified))?.as_str().to_owned())
}

fn signed_input(key: &str, manifest: &Value, code: &str, public: Option<&str>) -> InstallInput {
    InstallInput {
        code: Some(code.to_owned()),
        signature: Some(sign(key, manifest, code)),
        public_key: public.map(|p| Value::String(fixture(&format!("keys/{p}")))),
        ..InstallInput::default()
    }
}

fn code_of<T: std::fmt::Debug>(r: Result<T, WardenError>) -> ErrorCode {
    r.expect_err("expected an error").code
}

// ----- the envelope -----------------------------------------------------------------------

#[test]
fn canonical_json_sorts_by_utf16_and_escapes_minimally() {
    // U+10000 is D800 DC00 in UTF-16 (before U+E000), but F0… in UTF-8 (after EE…).
    let v: Value =
        serde_json::from_str(r#"{"\ue000":1,"\ud800\udc00":2,"a\u0001\"":"\u007f/"}"#).unwrap();
    assert_eq!(
        canonical_json(&v),
        "{\"a\\u0001\\\"\":\"\u{7f}/\",\"\u{10000}\":2,\"\u{e000}\":1}"
    );
}

#[test]
fn the_cli_fixture_vector_verifies_through_the_engine() {
    // tests/fixtures/cli/signed: the same files and signature the browser e2e test installs.
    let manifest: Value = serde_json::from_str(&fixture("signed/plugin.json")).unwrap();
    for (sig, key) in [
        ("signed/bundle.js.p256.sig", "keys/p256.pub.pem"),
        ("signed/bundle.js.rsa2048.sig.b64", "keys/rsa2048.pub.jwk"),
    ] {
        let signature = match sig {
            "signed/bundle.js.rsa2048.sig.b64" => {
                use base64::Engine as _;
                let raw = std::fs::read(
                    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                        .join("tests/fixtures/cli/signed/bundle.js.rsa2048.sig"),
                )
                .unwrap();
                base64::engine::general_purpose::STANDARD.encode(raw)
            }
            other => fixture(other),
        };
        let key_text = fixture(key);
        let public_key = if key.ends_with(".jwk") {
            serde_json::from_str(&key_text).unwrap()
        } else {
            Value::String(key_text)
        };
        let mut e = host(json!({ "requireSignatures": true }));
        let input = InstallInput {
            code: Some(fixture("signed/bundle.js")),
            signature: Some(signature),
            public_key: Some(public_key),
            ..InstallInput::default()
        };
        install(&mut e, &manifest, input).unwrap_or_else(|err| panic!("{sig}: {err}"));
    }
}

#[test]
fn a_signature_covers_the_manifest_and_the_code() {
    let m = manifest("acme-signed");
    let mut e = host(json!({ "requireSignatures": true }));
    install(
        &mut e,
        &m,
        signed_input("p256.pem", &m, CODE, Some("p256.pub.pem")),
    )
    .unwrap();

    // The manifest re-laid out (member order, whitespace) is the same manifest.
    let mut e = host(json!({}));
    let text = "{\n  \"permissions\": [\"storage\"], \"version\": \"1.0.0\",\n  \"name\": \"Signed\", \"id\": \"acme-signed\" }";
    let checked = e.check_manifest(text, T).unwrap();
    let input = signed_input("p256.pem", &m, CODE, Some("p256.pub.pem"));
    let check = e.install_signature(&checked, &input).unwrap().unwrap();
    assert!(check.verify_with(&NativeVerifier).is_ok());

    // One permission added to the manifest after signing.
    let mut widened = m.clone();
    widened["permissions"] = json!(["storage", "api:write"]);
    let input = signed_input("p256.pem", &m, CODE, Some("p256.pub.pem"));
    assert_eq!(
        code_of(install(&mut host(json!({})), &widened, input)),
        ErrorCode::SignatureInvalid
    );
    // One byte of code changed after signing (RSA this time).
    let mut input = signed_input("rsa2048.pem", &m, CODE, Some("rsa2048.pub.pem"));
    input.code = Some(CODE.replace("42", "43"));
    assert_eq!(
        code_of(install(&mut host(json!({})), &m, input)),
        ErrorCode::SignatureInvalid
    );
    // A signature over the bare code (the old format) does not verify as an envelope.
    use base64::Engine as _;
    let mut input = signed_input("p256.pem", &m, CODE, Some("p256.pub.pem"));
    input.signature = Some(
        base64::engine::general_purpose::STANDARD
            .encode(signer("p256.pem").sign(CODE.as_bytes()).unwrap()),
    );
    assert_eq!(
        code_of(install(&mut host(json!({})), &m, input)),
        ErrorCode::SignatureInvalid
    );
}

#[test]
fn a_signed_envelope_for_other_code_is_refused_by_finish_install() {
    // The proof names the manifest and code it covers: it cannot vouch for anything else.
    let m = manifest("acme-swap");
    let mut e = host(json!({}));
    let checked = e.check_manifest(&m.to_string(), T).unwrap();
    let signed = signed_input("p256.pem", &m, CODE, Some("p256.pub.pem"));
    let proof = e
        .install_signature(&checked, &signed)
        .unwrap()
        .unwrap()
        .verify_with(&NativeVerifier)
        .unwrap();
    let other = InstallInput {
        code: Some("export const answer = 0;\n".into()),
        ..InstallInput::default()
    };
    let err = e
        .finish_install(checked, &other, Provenance::Signed(proof), T)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::SignatureInvalid);
    assert!(err.message.contains("another manifest or code"), "{err}");
}

#[test]
fn signature_inputs_that_cannot_be_checked_are_signature_invalid() {
    let m = manifest("acme-incomplete");
    let cases = [
        (
            "no publicKey, no trustedKeys",
            signed_input("p256.pem", &m, CODE, None),
        ),
        (
            "publicKey without signature",
            InstallInput {
                code: Some(CODE.into()),
                public_key: Some(Value::String(fixture("keys/p256.pub.pem"))),
                ..InstallInput::default()
            },
        ),
        (
            "signature without code",
            InstallInput {
                code: None,
                ..signed_input("p256.pem", &m, CODE, Some("p256.pub.pem"))
            },
        ),
        (
            "RSA signature, P-256 key",
            signed_input("rsa2048.pem", &m, CODE, Some("p256.pub.pem")),
        ),
    ];
    for (name, input) in cases {
        let err = install(&mut host(json!({})), &m, input).expect_err(name);
        assert_eq!(err.code, ErrorCode::SignatureInvalid, "{name}: {err}");
    }
    // A key that is not a key is the caller's mistake.
    let mut input = signed_input("p256.pem", &m, CODE, None);
    input.public_key = Some(json!("not a key"));
    assert_eq!(
        code_of(install(&mut host(json!({})), &m, input)),
        ErrorCode::InvalidArgument
    );
}

// ----- trustedKeys ------------------------------------------------------------------------

fn trusted_host(extra: Value) -> Engine<MemoryBackend> {
    let jwk: Value = serde_json::from_str(&fixture("keys/rsa2048.pub.jwk")).unwrap();
    let mut config = json!({ "trustedKeys": [fixture("keys/p256.pub.pem"), jwk] });
    if let (Some(c), Value::Object(extra)) = (config.as_object_mut(), extra) {
        c.extend(extra);
    }
    host(config)
}

#[test]
fn trusted_keys_accept_only_their_own_signatures() {
    let m = manifest("acme-trusted");
    // publicKey omitted: every trusted key is tried (the second one here).
    install(
        &mut trusted_host(json!({})),
        &m,
        signed_input("rsa2048.pem", &m, CODE, None),
    )
    .unwrap();
    // publicKey given in another format than the trusted entry (DER base64 vs JWK): same key.
    use base64::Engine as _;
    let der = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli/keys/rsa2048.pub.der"),
    )
    .unwrap();
    let mut input = signed_input("rsa2048.pem", &m, CODE, None);
    input.public_key = Some(Value::String(
        base64::engine::general_purpose::STANDARD.encode(der),
    ));
    install(&mut trusted_host(json!({})), &m, input).unwrap();

    // Signed by another key, which the installer also offers as publicKey.
    let err = install(
        &mut trusted_host(json!({})),
        &m,
        signed_input("p256-other.pem", &m, CODE, Some("p256-other.pub.pem")),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::SignatureInvalid);
    assert!(err.message.contains("trustedKeys"), "{err}");
    // Signed by another key, no publicKey: no trusted key verifies it.
    assert_eq!(
        code_of(install(
            &mut trusted_host(json!({})),
            &m,
            signed_input("p256-other.pem", &m, CODE, None),
        )),
        ErrorCode::SignatureInvalid
    );
    // With requireSignatures, unsigned code is refused and the message names trustedKeys.
    let err = install(
        &mut trusted_host(json!({ "requireSignatures": true })),
        &m,
        InstallInput {
            code: Some(CODE.into()),
            ..InstallInput::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::SignatureInvalid);
    assert!(err.message.contains("trustedKeys"), "{err}");
}

#[test]
fn malformed_trusted_keys_fail_host_construction() {
    for (keys, part) in [
        (json!([]), "empty"),
        (json!(["not a key"]), "trustedKeys[0]"),
        (
            json!([
                fixture("keys/p256.pub.pem"),
                fixture("keys/rsa1024.pub.pem")
            ]),
            "trustedKeys[1]",
        ),
        (json!([fixture("keys/p256.pem")]), "trustedKeys[0]"),
    ] {
        let config: HostConfig = serde_json::from_value(json!({ "trustedKeys": keys })).unwrap();
        let err = Engine::new(config, MemoryBackend::new()).err().expect(part);
        assert_eq!(err.code, ErrorCode::InvalidArgument, "{part}: {err}");
        assert!(err.message.contains(part), "{part}: {err}");
    }
}

// ----- mount-time code ---------------------------------------------------------------------

#[test]
fn mount_time_code_passes_the_install_checks() {
    let m = manifest("acme-mount");
    let mut e = host(json!({ "requireSignatures": true }));
    install(
        &mut e,
        &m,
        signed_input("p256.pem", &m, CODE, Some("p256.pub.pem")),
    )
    .unwrap();
    // Without code of its own, a mount runs the code checked at install.
    assert_eq!(e.mount_code("acme-mount", None).unwrap().as_str(), CODE);

    let update = "export const answer = 43;\n";
    // Unsigned mount code on a requireSignatures host: refused, as it would be at install.
    let err = mount_code(&mut e, "acme-mount", update, None).unwrap_err();
    assert_eq!(err.code, ErrorCode::SignatureInvalid);
    assert!(err.message.contains("requires signed plugins"), "{err}");
    // Signed by the install's key over the installed manifest and this code: runs.
    let sig = sign("p256.pem", &m, update);
    assert_eq!(
        mount_code(&mut e, "acme-mount", update, Some(&sig)).unwrap(),
        update
    );
    // Signed over another manifest (one permission more): refused.
    let mut widened = m.clone();
    widened["permissions"] = json!(["storage", "api:write"]);
    let sig = sign("p256.pem", &widened, update);
    assert_eq!(
        code_of(mount_code(&mut e, "acme-mount", update, Some(&sig))),
        ErrorCode::SignatureInvalid
    );
    // Signed by another key than the install's (no trustedKeys): refused.
    let sig = sign("p256-other.pem", &m, update);
    assert_eq!(
        code_of(mount_code(&mut e, "acme-mount", update, Some(&sig))),
        ErrorCode::SignatureInvalid
    );
    // Signed, but bundle analysis refuses it, as at install.
    let hostile = "eval(location.hash);\n";
    let sig = sign("p256.pem", &m, hostile);
    assert_eq!(
        code_of(mount_code(&mut e, "acme-mount", hostile, Some(&sig))),
        ErrorCode::BundleRejected
    );
    // Every refusal of mount-time code is audited, with its code.
    let refused: Vec<_> = e
        .audit_log()
        .into_iter()
        .filter(|ev| {
            ev.plugin.as_deref() == Some("acme-mount")
                && ev.decision == Some(plugin_warden::core::audit::AuditDecision::Deny)
        })
        .filter_map(|ev| ev.code)
        .collect();
    assert_eq!(
        refused,
        [
            ErrorCode::SignatureInvalid,
            ErrorCode::SignatureInvalid,
            ErrorCode::SignatureInvalid,
            ErrorCode::BundleRejected
        ]
    );
}

#[test]
fn mount_time_code_is_held_to_entry_integrity() {
    let mut m = manifest("acme-sri");
    m["entry"] = json!({ "src": "https://plugins.acme.example/p/", "integrity": sri(CODE.as_bytes(), SriAlgorithm::Sha384) });
    let mut e = host(json!({}));
    install(
        &mut e,
        &m,
        InstallInput {
            code: Some(CODE.into()),
            ..InstallInput::default()
        },
    )
    .unwrap();
    assert_eq!(mount_code(&mut e, "acme-sri", CODE, None).unwrap(), CODE);
    let other = "export const answer = 0;\n";
    assert_eq!(
        code_of(mount_code(&mut e, "acme-sri", other, None)),
        ErrorCode::IntegrityMismatch
    );
    // Without requireSignatures or entry.integrity, mount code gets what install code gets:
    // bundle analysis.
    let mut e = host(json!({}));
    install(&mut e, &manifest("acme-plain"), InstallInput::default()).unwrap();
    assert_eq!(
        mount_code(&mut e, "acme-plain", other, None).unwrap(),
        other
    );
    assert_eq!(
        code_of(mount_code(&mut e, "acme-plain", "eval(x);", None)),
        ErrorCode::BundleRejected
    );
    // A bad signature is refused even where signatures are optional.
    let sig = sign("p256.pem", &manifest("acme-plain"), other);
    assert_eq!(
        code_of(mount_code(
            &mut e,
            "acme-plain",
            "export const answer = 1;\n",
            Some(&sig)
        )),
        ErrorCode::SignatureInvalid
    );
}

#[test]
fn verified_code_runs_only_as_the_plugin_it_was_verified_for() {
    let mut e = host(json!({}));
    install(&mut e, &manifest("acme-one"), InstallInput::default()).unwrap();
    install(&mut e, &manifest("acme-two"), InstallInput::default()).unwrap();
    let verified = e
        .verify_code("acme-one", CODE.into(), Ok(Provenance::Unsigned), T)
        .unwrap();
    assert_eq!(
        code_of(e.mount_code("acme-two", Some(verified))),
        ErrorCode::MountFailed
    );
    // No code anywhere: a clear MOUNT_FAILED.
    assert_eq!(
        code_of(e.mount_code("acme-two", None)),
        ErrorCode::MountFailed
    );
}

#[test]
fn mount_time_signatures_are_pinned_to_the_install_key_else_trusted_keys() {
    let m = manifest("acme-pinned");
    let update = "export const answer = 44;\n";
    // Installed signed by the trusted P-256 key: another trusted key cannot sign its updates.
    let mut e = trusted_host(json!({ "requireSignatures": true }));
    install(&mut e, &m, signed_input("p256.pem", &m, CODE, None)).unwrap();
    let by_rsa = sign("rsa2048.pem", &m, update);
    assert_eq!(
        code_of(mount_code(&mut e, "acme-pinned", update, Some(&by_rsa))),
        ErrorCode::SignatureInvalid
    );
    let by_p256 = sign("p256.pem", &m, update);
    assert_eq!(
        mount_code(&mut e, "acme-pinned", update, Some(&by_p256)).unwrap(),
        update
    );
    // Installed unsigned (signatures optional): any trusted key may sign mount-time code, and
    // an untrusted one may not.
    let mut e = trusted_host(json!({}));
    install(&mut e, &m, InstallInput::default()).unwrap();
    assert_eq!(
        mount_code(&mut e, "acme-pinned", update, Some(&by_rsa)).unwrap(),
        update
    );
    let stranger = sign("p256-other.pem", &m, update);
    assert_eq!(
        code_of(mount_code(&mut e, "acme-pinned", update, Some(&stranger))),
        ErrorCode::SignatureInvalid
    );
}
