//! `plugin-warden csp`: the host page's Content-Security-Policy for a set of plugins, built by
//! the same core function as `hostCsp` and `host.cspHeader` (`engine::host_csp_header`).

use std::ffi::OsString;
use std::path::PathBuf;

use plugin_warden::core::csp::{
    CspError, Nonce, ReportEndpoint, Reporting, Rng, DEFAULT_TRUSTED_TYPES_POLICY,
};
use plugin_warden::core::engine::host_csp_header;
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
            options: &["nonce", "report-to"],
            flags: &["report-only"],
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
    let endpoint = args
        .text("report-to")?
        .map(|u| ReportEndpoint::new(u).map_err(|e| CliError::Usage(format!("--report-to: {e}"))))
        .transpose()?;
    let reporting = Reporting {
        report_only: args.flag("report-only"),
        endpoint,
    };
    let as_headers = reporting.report_only || reporting.endpoint.is_some();
    let mut manifests = Vec::new();
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
        manifests.push(manifest);
    }
    if invalid {
        return Ok(Some(Outcome::Findings));
    }
    if generated {
        eprintln!("nonce: {}", nonce.as_str());
    }
    let headers = host_csp_header(
        &manifests,
        nonce.as_str(),
        DEFAULT_TRUSTED_TYPES_POLICY,
        false,
        &[],
        &reporting,
    )
    .map_err(|e| CliError::Input(format!("{}: {}", e.code.as_str(), e.message)))?;
    if as_headers {
        // Two headers to send: print them as header lines.
        let mut out = format!("{}: {}\n", headers.name, headers.value);
        if let Some(r) = &headers.reporting_endpoints {
            out.push_str(&format!("Reporting-Endpoints: {r}\n"));
        }
        print_stdout(&out)?;
    } else {
        print_stdout(&format!("{}\n", headers.value))?;
    }
    Ok(Some(Outcome::Clean))
}
