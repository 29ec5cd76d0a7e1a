//! Install and update as the core's step machines ([`Engine::install_begin`],
//! [`Engine::update_begin`]), driven as `PluginHost.install` / `update` in src/api.rs drive
//! them, with the native verifier standing in for WebCrypto. Needs the `cli` feature (a
//! signer).
#![cfg(feature = "cli")]

use std::path::PathBuf;

use plugin_warden::core::audit::AuditEvent;
use plugin_warden::core::engine::{
    Effect, Engine, HostConfig, InstallInput, InstallNext, Status, Step, UpdateNext,
};
use plugin_warden::core::error::{ErrorCode, WardenError};
use plugin_warden::core::provenance::{Envelope, ManifestDigest};
use plugin_warden::core::signature::{NativeVerifier, SigningKey};
use plugin_warden::core::storage::MemoryBackend;
use serde_json::{json, Value};

const T: f64 = 1_000.0;
const APP: &str = "acme-signed";
const CODE: &str = "export const answer = 42;\n";

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cli/keys")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

fn host() -> Engine<MemoryBackend> {
    let config: HostConfig = serde_json::from_value(json!({})).unwrap();
    Engine::new(config, MemoryBackend::new()).unwrap()
}

fn manifest(version: &str, permissions: &[&str]) -> Value {
    json!({ "id": APP, "name": "Signed", "version": version, "permissions": permissions })
}

/// `code` and a signature by `key` over the envelope of `manifest` and `code`, with
/// `public` as the key to check it.
fn signed(key: &str, manifest: &Value, public: &str) -> InstallInput {
    use base64::Engine as _;
    let digest = ManifestDigest::of_json(&manifest.to_string()).unwrap();
    let sig = SigningKey::from_pkcs8_pem(&fixture(key))
        .unwrap()
        .sign(&Envelope::new(digest, CODE.as_bytes()).to_bytes())
        .unwrap();
    InstallInput {
        code: Some(CODE.to_owned()),
        signature: Some(base64::engine::general_purpose::STANDARD.encode(sig)),
        public_key: Some(Value::String(fixture(public))),
        ..InstallInput::default()
    }
}

/// What the browser layer did, step by step.
#[derive(Debug, Default)]
struct Trace {
    /// The steps asked for, in order: "verify", "consent".
    asked: Vec<&'static str>,
    /// Every effect carried out, in order.
    effects: Vec<Effect>,
}

impl Trace {
    fn carry_out<N>(&mut self, step: &mut Step<N>) {
        self.effects.append(&mut step.effects);
    }

    fn refreshed_access(&self) -> bool {
        self.effects
            .iter()
            .any(|e| matches!(e, Effect::PermissionsChanged(c) if c.is_empty()))
    }

    fn audited(&self) -> Vec<Value> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Audit(events) => Some(events.iter()),
                _ => None,
            })
            .flatten()
            .map(|e: &AuditEvent| serde_json::to_value(e).unwrap())
            .collect()
    }
}

/// The native verifier where the browser uses WebCrypto.
fn verify(
    check: plugin_warden::core::provenance::SignatureCheck,
) -> Result<plugin_warden::core::provenance::SignedEnvelope, WardenError> {
    check
        .verify_with(&NativeVerifier)
        .map_err(|e| WardenError::from_coded(&e))
}

/// `PluginHost.install`'s loop.
fn install(
    e: &mut Engine<MemoryBackend>,
    m: &Value,
    input: InstallInput,
) -> (Result<String, WardenError>, Trace) {
    let mut trace = Trace::default();
    let mut step = e.install_begin(&m.to_string(), input, T);
    loop {
        trace.carry_out(&mut step);
        step = match step.next {
            InstallNext::Verify(check, token) => {
                trace.asked.push("verify");
                e.install_continue(token, verify(check), T)
            }
            InstallNext::Done(result) => return (result.map(|info| info.id), trace),
            other => panic!("not an install step: {other:?}"),
        };
    }
}

/// `PluginHost.update`'s loop, with `consent` as the user's answer.
fn update(
    e: &mut Engine<MemoryBackend>,
    m: &Value,
    input: InstallInput,
    consent: bool,
) -> (Result<bool, WardenError>, Trace) {
    let mut trace = Trace::default();
    let mut step = e.update_begin(APP, &m.to_string(), input, T);
    loop {
        trace.carry_out(&mut step);
        step = match step.next {
            UpdateNext::Verify(check, token) => {
                trace.asked.push("verify");
                e.update_continue(token, verify(check), T)
            }
            UpdateNext::Consent(pending) => {
                trace.asked.push("consent");
                e.update_consent(pending, consent, T)
            }
            UpdateNext::Done(result) => return (result.map(|info| info.consent_needed), trace),
            other => panic!("not an update step: {other:?}"),
        };
    }
}

fn kind_and_code(event: &Value) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        event["kind"].as_str(),
        event["decision"].as_str(),
        event["code"].as_str(),
    )
}

fn version(e: &Engine<MemoryBackend>) -> String {
    e.manifest(APP).unwrap().version().unwrap().to_owned()
}

// ----- install ----------------------------------------------------------------------------

#[test]
fn an_unsigned_install_finishes_in_one_step_and_refreshes_access() {
    let mut e = host();
    let (result, trace) = install(
        &mut e,
        &manifest("1.0.0", &["storage"]),
        InstallInput::default(),
    );
    assert_eq!(result.unwrap(), APP);
    assert!(trace.asked.is_empty(), "{:?}", trace.asked);
    assert!(trace.refreshed_access());
    // The refresh comes before the audit, which ends the step.
    assert!(matches!(trace.effects.last(), Some(Effect::Audit(_))));
    let audit = trace.audited();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        kind_and_code(&audit[0]),
        (Some("install"), Some("allow"), None)
    );
    assert_eq!(e.status(APP).unwrap(), &Status::Installed);
}

#[test]
fn a_signed_install_asks_for_verification_then_installs_the_code_as_signed() {
    let mut e = host();
    let m = manifest("1.0.0", &["storage"]);
    let (result, trace) = install(&mut e, &m, signed("p256.pem", &m, "p256.pub.pem"));
    assert_eq!(result.unwrap(), APP);
    assert_eq!(trace.asked, ["verify"]);
    assert!(trace.refreshed_access());
    assert_eq!(e.status(APP).unwrap(), &Status::Installed);
    let code = e.mount_code(APP, None).unwrap();
    assert!(code.is_signed());
    assert_eq!(code.as_str(), CODE);
}

#[test]
fn a_signature_that_does_not_verify_fails_the_install_with_its_code() {
    let mut e = host();
    let m = manifest("1.0.0", &["storage"]);
    // Signed by another key than the one given: the verifier finds no key that verifies.
    let input = signed("p256-other.pem", &m, "p256.pub.pem");
    let (result, trace) = install(&mut e, &m, input);
    assert_eq!(result.unwrap_err().code, ErrorCode::SignatureInvalid);
    assert_eq!(trace.asked, ["verify"]);
    assert!(!trace.refreshed_access(), "nothing was registered");
    let audit = trace.audited();
    assert_eq!(
        kind_and_code(audit.last().unwrap()),
        (Some("install"), Some("deny"), Some("SIGNATURE_INVALID"))
    );
    assert!(matches!(
        e.status(APP).unwrap(),
        Status::Failed {
            code: ErrorCode::SignatureInvalid,
            ..
        }
    ));
}

#[test]
fn a_refusal_before_verification_asks_nothing() {
    let mut e = host();
    let m = manifest("1.0.0", &["storage"]);
    // A signature without the code it covers.
    let mut input = signed("p256.pem", &m, "p256.pub.pem");
    input.code = None;
    let (result, trace) = install(&mut e, &m, input);
    assert_eq!(result.unwrap_err().code, ErrorCode::SignatureInvalid);
    assert!(trace.asked.is_empty());
    assert_eq!(
        kind_and_code(trace.audited().last().unwrap()),
        (Some("install"), Some("deny"), Some("SIGNATURE_INVALID"))
    );
    // An invalid manifest: refused at the first step, nothing recorded as failed.
    let (result, trace) = install(&mut e, &json!({ "id": "x y" }), InstallInput::default());
    assert_eq!(result.unwrap_err().code, ErrorCode::InvalidManifest);
    assert!(trace.asked.is_empty());
    assert!(!trace.refreshed_access());
}

// ----- update -----------------------------------------------------------------------------

fn installed() -> Engine<MemoryBackend> {
    let mut e = host();
    let (result, _) = install(
        &mut e,
        &manifest("1.0.0", &["storage"]),
        InstallInput::default(),
    );
    result.unwrap();
    e
}

#[test]
fn a_widening_update_refused_by_the_user_leaves_the_installed_version() {
    let mut e = installed();
    let wider = manifest("1.1.0", &["storage", "events"]);
    let (result, trace) = update(&mut e, &wider, InstallInput::default(), false);
    assert_eq!(result.unwrap_err().code, ErrorCode::PermissionDenied);
    assert_eq!(trace.asked, ["consent"]);
    assert_eq!(version(&e), "1.0.0");
    assert_eq!(
        kind_and_code(trace.audited().last().unwrap()),
        (Some("update"), Some("deny"), Some("PERMISSION_DENIED"))
    );
}

#[test]
fn a_widening_update_accepted_by_the_user_is_applied() {
    let mut e = installed();
    let wider = manifest("1.1.0", &["storage", "events"]);
    let (result, trace) = update(&mut e, &wider, InstallInput::default(), true);
    assert!(result.unwrap(), "consent was needed");
    assert_eq!(trace.asked, ["consent"]);
    assert!(trace.refreshed_access());
    assert_eq!(version(&e), "1.1.0");
    let last = trace.audited().last().cloned().unwrap();
    assert_eq!(kind_and_code(&last), (Some("update"), Some("allow"), None));
    assert_eq!(last["detail"]["consented"], json!(true));
}

#[test]
fn a_narrowing_update_needs_no_consent() {
    let mut e = installed();
    let (result, trace) = update(
        &mut e,
        &manifest("1.0.1", &[]),
        InstallInput::default(),
        false,
    );
    assert!(!result.unwrap(), "no consent needed");
    assert!(trace.asked.is_empty());
    assert_eq!(version(&e), "1.0.1");
}

#[test]
fn a_signed_update_is_verified_and_a_bad_signature_refuses_it() {
    let mut e = installed();
    let next = manifest("1.0.1", &["storage"]);
    let (result, trace) = update(
        &mut e,
        &next,
        signed("p256-other.pem", &next, "p256.pub.pem"),
        true,
    );
    assert_eq!(result.unwrap_err().code, ErrorCode::SignatureInvalid);
    assert_eq!(trace.asked, ["verify"]);
    assert_eq!(version(&e), "1.0.0");
    assert_eq!(e.status(APP).unwrap(), &Status::Installed);
    assert_eq!(
        kind_and_code(trace.audited().last().unwrap()),
        (Some("update"), Some("deny"), Some("SIGNATURE_INVALID"))
    );

    let (result, trace) = update(
        &mut e,
        &next,
        signed("p256.pem", &next, "p256.pub.pem"),
        true,
    );
    assert!(!result.unwrap());
    assert_eq!(trace.asked, ["verify"]);
    assert_eq!(version(&e), "1.0.1");
    assert!(e.mount_code(APP, None).unwrap().is_signed());
}

#[test]
fn an_update_of_the_same_version_is_refused_at_the_first_step() {
    let mut e = installed();
    let (result, trace) = update(
        &mut e,
        &manifest("1.0.0", &["storage"]),
        InstallInput::default(),
        true,
    );
    assert_eq!(result.unwrap_err().code, ErrorCode::Incompatible);
    assert!(trace.asked.is_empty());
    assert!(!trace.refreshed_access());
    assert_eq!(
        kind_and_code(trace.audited().last().unwrap()),
        (Some("update"), Some("deny"), Some("INCOMPATIBLE"))
    );
}
