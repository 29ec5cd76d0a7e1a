//! `sri`, `envelope`, `sign` and `verify`.
//!
//! `sign` and `verify` work on the signed envelope of `plugin_warden::core::provenance`: the
//! manifest (`--manifest plugin.json`) and the code file together, the same bytes the browser
//! SDK verifies at install and mount time. `envelope` prints those bytes, for signers outside
//! this tool (`openssl dgst -sha256 -sign`, an HSM).

use std::ffi::OsString;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use plugin_warden::core::error::{Coded, ErrorCode};
use plugin_warden::core::integrity::{sri as sri_string, SriAlgorithm};
use plugin_warden::core::provenance::{Envelope, ManifestDigest, SignatureCheck};
use plugin_warden::core::signature::{
    decode_signature, NativeVerifier, PublicKey, SigningKey, MAX_KEY_BYTES, MAX_SIGNATURE_BYTES,
};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::args::{Args, Spec};
use crate::{CliError, Outcome};

/// Read at most `max` bytes of `path`; more is an input error.
fn read_limited(path: &Path, max: usize, what: &str) -> Result<Vec<u8>, CliError> {
    let file = std::fs::File::open(path).map_err(|e| CliError::io(path, "read", &e))?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::io(path, "read", &e))?;
    if bytes.len() > max {
        return Err(CliError::Input(format!(
            "{} is too large for {what}: at most {max} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

fn read_all(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::io(path, "read", &e))
}

fn key_error(path: &Path, e: &impl Coded) -> CliError {
    CliError::Input(format!("{}: {}: {e}", path.display(), e.code()))
}

/// Run `sri`.
///
/// # Errors
/// [`CliError`] for usage and I/O errors.
pub fn sri(argv: Vec<OsString>) -> Result<Option<Outcome>, CliError> {
    let args = Args::parse(
        argv,
        &Spec {
            options: &["algorithm"],
            flags: &[],
        },
    )?;
    if args.help {
        return Ok(None);
    }
    let file = PathBuf::from(args.one_positional("file")?);
    let algorithm = match args.text("algorithm")? {
        None => SriAlgorithm::Sha384,
        Some(name) => SriAlgorithm::from_token(name).ok_or_else(|| {
            CliError::Usage(format!(
                "--algorithm {name:?}: expected sha256, sha384 or sha512"
            ))
        })?,
    };
    let bytes = read_all(&file)?;
    crate::print_stdout(&format!("{}\n", sri_string(&bytes, algorithm)))?;
    Ok(Some(Outcome::Clean))
}

/// The largest manifest file read, in bytes (the SDK's own message limit is far below).
const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

/// The envelope of `--manifest` and the positional code file: the bytes a signature covers.
fn envelope_of(args: &Args, what: &str) -> Result<(Envelope, PathBuf), CliError> {
    let file = PathBuf::from(args.one_positional(what)?);
    let manifest_path = PathBuf::from(args.value("manifest").ok_or_else(|| {
        CliError::Usage(
            "missing --manifest <plugin.json> (a signature covers the manifest and the code)"
                .to_owned(),
        )
    })?);
    let manifest = read_limited(&manifest_path, MAX_MANIFEST_BYTES, "a manifest")?;
    let manifest = String::from_utf8(manifest).map_err(|_| {
        CliError::Input(format!(
            "{}: a manifest is UTF-8 JSON text",
            manifest_path.display()
        ))
    })?;
    let digest = ManifestDigest::of_json(&manifest)
        .map_err(|e| CliError::Input(format!("{}: {e}", manifest_path.display())))?;
    let code = read_all(&file)?;
    Ok((Envelope::new(digest, &code), file))
}

/// Run `envelope`.
///
/// # Errors
/// [`CliError`] for usage and I/O errors, and a manifest that is not JSON.
pub fn envelope(argv: Vec<OsString>) -> Result<Option<Outcome>, CliError> {
    let args = Args::parse(
        argv,
        &Spec {
            options: &["manifest"],
            flags: &[],
        },
    )?;
    if args.help {
        return Ok(None);
    }
    let (envelope, _) = envelope_of(&args, "code file")?;
    let text = String::from_utf8(envelope.to_bytes())
        .map_err(|_| CliError::Input("the envelope is not text".to_owned()))?;
    crate::print_stdout(&text)?;
    Ok(Some(Outcome::Clean))
}

/// Run `sign`.
///
/// # Errors
/// [`CliError`] for usage, I/O and key errors.
pub fn sign(argv: Vec<OsString>) -> Result<Option<Outcome>, CliError> {
    let args = Args::parse(
        argv,
        &Spec {
            options: &["key", "out", "manifest"],
            flags: &[],
        },
    )?;
    if args.help {
        return Ok(None);
    }
    let (envelope, file) = envelope_of(&args, "file to sign")?;
    let key_path = PathBuf::from(
        args.value("key")
            .ok_or_else(|| CliError::Usage("missing --key <private-key.pem>".to_owned()))?,
    );
    let key_text = read_limited(&key_path, MAX_KEY_BYTES, "a key")?;
    let key_text = String::from_utf8(key_text).map_err(|_| {
        CliError::Input(format!(
            "{}: expected a PEM private key (text), found binary data",
            key_path.display()
        ))
    })?;
    let key = SigningKey::from_pkcs8_pem(&key_text).map_err(|e| key_error(&key_path, &e))?;
    let signature = key
        .sign(&envelope.to_bytes())
        .map_err(|e| key_error(&key_path, &e))?;
    let line = format!("{}\n", STANDARD.encode(signature));
    match args.value("out") {
        Some(out) => {
            let out = PathBuf::from(out);
            std::fs::write(&out, line).map_err(|e| CliError::io(&out, "write", &e))?;
            eprintln!(
                "plugin-warden: signed {} and its manifest with {} ({}); signature in {}",
                file.display(),
                key.algorithm(),
                key.algorithm().description(),
                out.display()
            );
        }
        None => crate::print_stdout(&line)?,
    }
    Ok(Some(Outcome::Clean))
}

/// Run `verify`.
///
/// # Errors
/// [`CliError`] for usage, I/O and key errors; an invalid signature is [`Outcome::Findings`].
pub fn verify(argv: Vec<OsString>) -> Result<Option<Outcome>, CliError> {
    let args = Args::parse(
        argv,
        &Spec {
            options: &["key", "signature", "manifest"],
            flags: &[],
        },
    )?;
    if args.help {
        return Ok(None);
    }
    let (envelope, file) = envelope_of(&args, "file to verify")?;
    let key_path = PathBuf::from(
        args.value("key")
            .ok_or_else(|| CliError::Usage("missing --key <public-key>".to_owned()))?,
    );
    let sig_path = PathBuf::from(
        args.value("signature")
            .ok_or_else(|| CliError::Usage("missing --signature <file.sig>".to_owned()))?,
    );
    let key = PublicKey::parse(&read_limited(&key_path, MAX_KEY_BYTES, "a key")?)
        .map_err(|e| key_error(&key_path, &e))?;
    let sig_bytes = read_limited(&sig_path, MAX_SIGNATURE_BYTES, "a signature")?;
    let result = decode_signature(&sig_bytes)
        .and_then(|sig| SignatureCheck::new(envelope, &sig, vec![key.clone()]))
        .and_then(|check| check.verify_with(&NativeVerifier));
    match result {
        Ok(_) => {
            crate::print_stdout(&format!(
                "valid: {} and its manifest are signed by {} ({}, {})\n",
                file.display(),
                key_path.display(),
                key.algorithm(),
                key.algorithm().description()
            ))?;
            Ok(Some(Outcome::Clean))
        }
        // A key that parsed but cannot be used (a P-256 point off the curve) is the caller's.
        Err(e) if e.code() != ErrorCode::SignatureInvalid => Err(key_error(&key_path, &e)),
        Err(e) => {
            eprintln!(
                "plugin-warden: {}: {}: {e}",
                file.display(),
                ErrorCode::SignatureInvalid
            );
            Ok(Some(Outcome::Findings))
        }
    }
}
