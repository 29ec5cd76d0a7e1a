//! `plugin-warden`: the command-line tool for plugin-marketplace reviewers and plugin authors.
//!
//! It runs the same pure core (`plugin_warden::core`) the browser SDK runs at install time:
//!
//! | command | does |
//! | --- | --- |
//! | `check <plugin-dir\|plugin.json> [--host-version X] [--json]` | manifest, bundle analysis, compatibility, entry SRI |
//! | `sri <file> [--algorithm sha256\|sha384\|sha512]` | prints the integrity string (default sha384) |
//! | `sign --key <pkcs8.pem> --manifest <plugin.json> <file> [--out <file.sig>]` | RS256 or ES256 (from the key type) over the manifest + code envelope, base64 |
//! | `verify --key <public-key> --signature <file.sig> --manifest <plugin.json> <file>` | checks a signature |
//! | `envelope --manifest <plugin.json> <file>` | prints the bytes a signature covers |
//! | `csp <plugin.json\|plugin-dir>... [--nonce <base64>]` | prints the host CSP for a set of plugins |
//!
//! Exit codes: **0** clean (warnings allowed), **1** findings (an error-severity finding, an
//! invalid manifest, an incompatible host, an integrity mismatch, an invalid signature),
//! **2** usage or I/O error (including a key that cannot be used). Each command's `--help`
//! (`usage.rs`) documents its output; `check --json` prints the stable shape in `check.rs`.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;

#[path = "plugin_warden/args.rs"]
mod args;
#[path = "plugin_warden/check.rs"]
mod check;
#[path = "plugin_warden/crypto.rs"]
mod crypto;
#[path = "plugin_warden/csp.rs"]
mod csp;
#[path = "plugin_warden/usage.rs"]
mod usage;

/// How a command ended; the process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 0: nothing wrong (warnings allowed).
    Clean,
    /// 1: findings, an invalid signature, an integrity mismatch, an incompatible host.
    Findings,
}

/// Why a command could not run: exit code 2.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments: the message, then the command's usage.
    Usage(String),
    /// A file could not be read or written, or an input (such as a key) cannot be used.
    Input(String),
}

impl CliError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, action: &str, e: &std::io::Error) -> CliError {
        CliError::Input(format!("cannot {action} {}: {e}", path.display()))
    }
}

fn main() -> ExitCode {
    let mut argv = std::env::args_os().skip(1);
    let Some(command) = argv.next() else {
        eprint!("{}", usage::MAIN);
        return ExitCode::from(2);
    };
    let rest: Vec<OsString> = argv.collect();
    let command = command.to_str().unwrap_or("");
    let (result, usage_text) = match command {
        "check" => (check::run(rest), usage::CHECK),
        "sri" => (crypto::sri(rest), usage::SRI),
        "sign" => (crypto::sign(rest), usage::SIGN),
        "verify" => (crypto::verify(rest), usage::VERIFY),
        "envelope" => (crypto::envelope(rest), usage::ENVELOPE),
        "csp" => (csp::run(rest), usage::CSP),
        "-h" | "--help" | "help" => {
            let text = match rest.first().and_then(|c| c.to_str()) {
                Some("check") => usage::CHECK,
                Some("sri") => usage::SRI,
                Some("sign") => usage::SIGN,
                Some("verify") => usage::VERIFY,
                Some("envelope") => usage::ENVELOPE,
                Some("csp") => usage::CSP,
                _ => usage::MAIN,
            };
            return print_help(text);
        }
        "-V" | "--version" => {
            println!("plugin-warden {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        other => (
            Err(CliError::Usage(format!("unknown command {other:?}"))),
            usage::MAIN,
        ),
    };
    match result {
        Ok(Some(Outcome::Clean)) => ExitCode::SUCCESS,
        Ok(Some(Outcome::Findings)) => ExitCode::from(1),
        Ok(None) => print_help(usage_text),
        Err(CliError::Usage(message)) => {
            // A command's synopsis only (its `--help` has the rest); the short main usage whole.
            let (synopsis, help) = match command {
                "check" | "sri" | "sign" | "verify" | "envelope" | "csp" => (
                    usage_text.split("\n\n").next().unwrap_or(usage_text),
                    format!("plugin-warden {command} --help"),
                ),
                _ => (usage::MAIN, "plugin-warden --help".to_owned()),
            };
            eprintln!(
                "plugin-warden: {message}\n{}\nRun `{help}` for details.",
                synopsis.trim_end()
            );
            ExitCode::from(2)
        }
        Err(CliError::Input(message)) => {
            eprintln!("plugin-warden: {message}");
            ExitCode::from(2)
        }
    }
}

/// Write to stdout; a closed pipe or a full disk is an I/O error (exit 2), never a panic.
///
/// # Errors
/// [`CliError::Input`] when stdout cannot be written.
pub fn print_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Input(format!("cannot write to stdout: {e}")))
}

fn print_help(text: &str) -> ExitCode {
    // A closed stdout (`plugin-warden --help | head -1`) is not an error worth reporting.
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}
