//! `plugin-warden csp`: the host page's Content-Security-Policy for a set of plugins.

use std::ffi::OsString;
use std::path::PathBuf;

use plugin_warden::core::csp::{CspBuilder, CspError, Nonce, Rng};
use plugin_warden::core::error::Coded;
use plugin_warden::core::manifest::{Manifest, ManifestOptions};
use rsa::rand_core::{OsRng, RngCore as _};

use crate::args::{Args, Spec};
use crate::check::{locate, read_manifest};
use crate::{print_stdout, CliError, Outcome};

/// The operating system's random source (`getrandom`), for nonces.
struct OsRandom;

impl Rng for OsRandom {
    fn fill_bytes(&mut self, buf: &mut [u8]) -> Result<(), CspError> {
        OsRng.try_fill_bytes(buf).map_err(|e| CspError::Rng {
            reason: e.to_string(),
        })
    }
}

/// Run `csp`.
///
/// # Errors
/// [`CliError`] for usage and I/O errors.
pub fn run(argv: Vec<OsString>) -> Result<Option<Outcome>, CliError> {
    let args = Args::parse(
        argv,
        &Spec {
            options: &["nonce"],
            flags: &[],
        },
    )?;
    if args.help {
        return Ok(None);
    }
    if args.positionals.is_empty() {
        return Err(CliError::Usage(
            "missing plugin.json (or plugin directory)".to_owned(),
        ));
    }
    let (nonce, generated) = match args.text("nonce")? {
        Some(n) => (
            Nonce::parse(n).map_err(|e| CliError::Usage(format!("--nonce: {e}")))?,
            false,
        ),
        None => (
            Nonce::generate(&mut OsRandom)
                .map_err(|e| CliError::Input(format!("{}: {e}", e.code())))?,
            true,
        ),
    };
    let mut builder = CspBuilder::new().nonce(&nonce);
    let mut invalid = false;
    for target in &args.positionals {
        let located = locate(&PathBuf::from(target));
        let name = located.manifest.display().to_string();
        let manifest = match Manifest::parse(
            &read_manifest(&located.manifest)?,
            &ManifestOptions::default(),
        ) {
            Ok(m) => m,
            Err(e) => {
                for p in &e.problems {
                    eprintln!("{name}:{} invalid-manifest error {}", p.path, p.message);
                }
                invalid = true;
                continue;
            }
        };
        let bad_origin = |e: CspError| CliError::Input(format!("{name}: {}: {e}", e.code()));
        if let Some(entry) = manifest.entry() {
            // `entry.src` was validated as an absolute URL; CSP wants just its origin.
            let origin = url::Url::parse(entry.src())
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default();
            builder = builder.plugin_frame_origin(&origin).map_err(bad_origin)?;
        }
        for entry in manifest.network() {
            builder = builder
                .plugin_connect_origin(&entry.origin())
                .map_err(bad_origin)?;
        }
    }
    if invalid {
        return Ok(Some(Outcome::Findings));
    }
    if generated {
        eprintln!("nonce: {}", nonce.as_str());
    }
    print_stdout(&format!("{}\n", builder.build()))?;
    Ok(Some(Outcome::Clean))
}
