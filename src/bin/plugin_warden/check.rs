//! `plugin-warden check`: manifest, bundle analysis, compatibility and entry SRI.
//!
//! # `--json` output (shape `plugin-warden/check@1`)
//!
//! ```json
//! {
//!   "schema": "plugin-warden/check@1",
//!   "target": "path/as/given",
//!   "plugin": "acme-app",            // null when the manifest is invalid
//!   "ok": false,                     // no error-severity finding
//!   "errors": 1, "warnings": 1, "files": 2,
//!   "findings": [
//!     { "file": "plugin.json", "line": null, "column": null, "path": "roles[0].grants[0]",
//!       "rule": "invalid-manifest", "severity": "error", "code": "INVALID_MANIFEST",
//!       "message": "…", "excerpt": null },
//!     { "file": "src/main.js", "line": 2, "column": 1, "path": null, "rule": "no-eval",
//!       "severity": "error", "code": "BUNDLE_REJECTED", "message": "…", "excerpt": "eval(x);" }
//!   ],
//!   "compatibility": { "status": "compatible|incompatible|no-range|not-checked",
//!                      "range": "^3.0.0", "host_version": "3.2.0" },
//!   "integrity": { "status": "match|mismatch|not-found|not-set|not-checked",
//!                  "file": "index.html", "algorithm": "sha384" }
//! }
//! ```
//!
//! Every key is always present (`null` when it does not apply). `file` is relative to the plugin
//! directory with `/` separators. Findings come in this order: manifest, compatibility,
//! integrity, then files in path order, each by line and column. Rules are the analysis rule
//! ids (`no-eval`, `undeclared-origin`, …) plus `invalid-manifest`, `incompatible`,
//! `integrity-mismatch` and `bundle-rejected` (a file that could not be scanned: not UTF-8,
//! over 10 MiB). `code` is the stable error code (`INVALID_MANIFEST`, `INCOMPATIBLE`,
//! `INTEGRITY_MISMATCH`, `BUNDLE_REJECTED`).
//!
//! Scripts (`.js`, `.mjs`; counted in `files`) get the whole analysis. Every other text file
//! (`plugin.json`, `.env`, `*.pem`, HTML, …; binary and over-10-MiB files are skipped) is
//! scanned for secrets only (`secret-*` rules). A secret never appears in full in any output,
//! human or `--json`: messages and excerpts show it as `AKIA…(20 chars)`.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use plugin_warden::core::analysis::{
    analyze_bytes, scan_secrets, AnalysisOptions, AnalysisReport, Finding as AnalysisFinding, Rule,
    Severity,
};
use plugin_warden::core::compat::parse_host_version;
use plugin_warden::core::error::{Coded, ErrorCode};
use plugin_warden::core::integrity::Integrity;
use plugin_warden::core::manifest::{Manifest, ManifestOptions, MAX_MANIFEST_BYTES};

use crate::args::{Args, Spec};
use crate::{CliError, Outcome};

const SPEC: Spec = Spec {
    options: &["host-version"],
    flags: &["json"],
};

/// Directories never scanned: dependencies and VCS metadata are not the plugin's code.
const SKIPPED_DIRS: &[&str] = &["node_modules", ".git"];

/// A plugin on disk: its manifest file and, for a directory, the directory.
pub struct Located {
    /// The manifest file.
    pub manifest: PathBuf,
    /// The plugin directory, when a directory was given.
    pub dir: Option<PathBuf>,
}

/// A directory means `<dir>/plugin.json`; anything else is the manifest itself.
pub fn locate(target: &Path) -> Located {
    if target.is_dir() {
        Located {
            manifest: target.join("plugin.json"),
            dir: Some(target.to_path_buf()),
        }
    } else {
        Located {
            manifest: target.to_path_buf(),
            dir: None,
        }
    }
}

/// Read a manifest's text (at most the core's size limit plus one byte, so the core reports
/// an oversized manifest as a problem rather than the CLI reading gigabytes).
///
/// # Errors
/// [`CliError::Input`] when the file cannot be read.
pub fn read_manifest(path: &Path) -> Result<String, CliError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| CliError::io(path, "read", &e))?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::io(path, "read", &e))?;
    // Invalid UTF-8 becomes U+FFFD; the JSON parser then reports where.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[derive(Serialize)]
struct Finding {
    file: String,
    line: Option<usize>,
    column: Option<usize>,
    path: Option<String>,
    rule: String,
    severity: Severity,
    code: ErrorCode,
    message: String,
    excerpt: Option<String>,
}

#[derive(Serialize)]
struct CompatStatus {
    status: &'static str,
    range: Option<String>,
    host_version: Option<String>,
}

#[derive(Serialize)]
struct IntegrityStatus {
    status: &'static str,
    file: Option<String>,
    algorithm: Option<&'static str>,
}

#[derive(Serialize)]
struct Report {
    schema: &'static str,
    target: String,
    plugin: Option<String>,
    ok: bool,
    errors: usize,
    warnings: usize,
    files: usize,
    findings: Vec<Finding>,
    compatibility: CompatStatus,
    integrity: IntegrityStatus,
}

/// Run `check`.
///
/// # Errors
/// [`CliError`] for usage and I/O errors (exit 2).
pub fn run(argv: Vec<OsString>) -> Result<Option<Outcome>, CliError> {
    let args = Args::parse(argv, &SPEC)?;
    if args.help {
        return Ok(None);
    }
    let target = PathBuf::from(args.one_positional("plugin directory or plugin.json")?);
    let host = args
        .text("host-version")?
        .map(|v| {
            parse_host_version(v)
                .map(|parsed| (v.to_owned(), parsed))
                .map_err(|e| CliError::Usage(format!("--host-version: {} ({})", e, e.code())))
        })
        .transpose()?;
    let located = locate(&target);
    let manifest_name = if located.dir.is_some() {
        "plugin.json".to_owned()
    } else {
        display_path(&located.manifest)
    };
    let text = read_manifest(&located.manifest)?;

    let mut findings = Vec::new();
    let manifest = match Manifest::parse(&text, &ManifestOptions::default()) {
        Ok(m) => Some(m),
        Err(e) => {
            for p in &e.problems {
                findings.push(Finding {
                    file: manifest_name.clone(),
                    line: None,
                    column: None,
                    path: Some(p.path.clone()),
                    rule: "invalid-manifest".to_owned(),
                    severity: Severity::Error,
                    code: e.code(),
                    message: p.message.clone(),
                    excerpt: None,
                });
            }
            None
        }
    };

    // Compatibility.
    let compatibility = match (&manifest, &host) {
        (_, None) => CompatStatus {
            status: "not-checked",
            range: None,
            host_version: None,
        },
        (None, Some((v, _))) => CompatStatus {
            status: "not-checked",
            range: None,
            host_version: Some(v.clone()),
        },
        (Some(m), Some((v, version))) => match m.compatibility() {
            None => CompatStatus {
                status: "no-range",
                range: None,
                host_version: Some(v.clone()),
            },
            Some(c) => {
                let result = c.check(version);
                let status = match result {
                    Ok(()) => "compatible",
                    Err(e) => {
                        findings.push(Finding {
                            file: manifest_name.clone(),
                            line: None,
                            column: None,
                            path: Some("compatibility".to_owned()),
                            rule: if e.code() == ErrorCode::Incompatible {
                                "incompatible"
                            } else {
                                "invalid-manifest"
                            }
                            .to_owned(),
                            severity: Severity::Error,
                            code: e.code(),
                            message: e.to_string(),
                            excerpt: None,
                        });
                        "incompatible"
                    }
                };
                CompatStatus {
                    status,
                    range: Some(c.as_str().to_owned()),
                    host_version: Some(v.clone()),
                }
            }
        },
    };

    // Entry SRI (directory mode only).
    let integrity = check_integrity(
        manifest.as_ref(),
        located.dir.as_deref(),
        &manifest_name,
        &mut findings,
    )?;

    // Bundle analysis (directory mode only).
    let mut files = 0;
    if let Some(dir) = &located.dir {
        let opts = manifest
            .as_ref()
            .map_or_else(AnalysisOptions::default, |m| {
                AnalysisOptions::from_network(m.network())
            });
        let first_file_finding = findings.len();
        let mut scripts = Vec::new();
        let mut others = Vec::new();
        collect_files(dir, &mut scripts, &mut others)?;
        scripts.sort();
        others.sort();
        files = scripts.len();
        for path in scripts {
            let name = relative(dir, &path);
            let bytes = std::fs::read(&path).map_err(|e| CliError::io(&path, "read", &e))?;
            match analyze_bytes(&bytes, &opts) {
                Ok(report) => {
                    // Without a valid manifest the declared origins are unknown: every URL
                    // would be "undeclared", which says nothing.
                    let keep = |f: &AnalysisFinding| {
                        manifest.is_some() || f.rule != Rule::UndeclaredOrigin
                    };
                    push_report(&name, report, keep, &mut findings);
                }
                Err(e) => findings.push(Finding {
                    file: name,
                    line: None,
                    column: None,
                    path: None,
                    rule: "bundle-rejected".to_owned(),
                    severity: Severity::Error,
                    code: e.code(),
                    message: e.to_string(),
                    excerpt: None,
                }),
            }
        }
        // Every other text file (JSON, `.env`, PEM, HTML, …) is scanned for secrets only.
        // Binary files (not UTF-8, or holding NUL) and files over the size limit are skipped.
        for path in others {
            let bytes = std::fs::read(&path).map_err(|e| CliError::io(&path, "read", &e))?;
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            if text.contains('\0') {
                continue;
            }
            if let Ok(report) = scan_secrets(text, &opts) {
                push_report(&relative(dir, &path), report, |_| true, &mut findings);
            }
        }
        // Files in path order (a stable sort keeps each file's findings by line and column).
        findings[first_file_finding..].sort_by(|a, b| a.file.cmp(&b.file));
    }

    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let report = Report {
        schema: "plugin-warden/check@1",
        target: display_path(&target),
        plugin: manifest.as_ref().map(|m| m.id().as_str().to_owned()),
        ok: errors == 0,
        errors,
        warnings: findings.len() - errors,
        files,
        findings,
        compatibility,
        integrity,
    };
    let out = if args.flag("json") {
        let mut json = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::Input(format!("cannot serialize the report: {e}")))?;
        json.push('\n');
        json
    } else {
        human(&report)
    };
    crate::print_stdout(&out)?;
    Ok(Some(if report.ok {
        Outcome::Clean
    } else {
        Outcome::Findings
    }))
}

fn human(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let position = match (f.line, f.column, &f.path) {
            (Some(line), Some(col), _) => format!("{}:{line}:{col}", f.file),
            (_, _, Some(path)) => format!("{}:{path}", f.file),
            _ => f.file.clone(),
        };
        let _ = writeln!(
            out,
            "{position} {} {} {}",
            f.rule,
            f.severity.as_str(),
            one_line(&f.message)
        );
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let _ = write!(
        out,
        "{}: {}, {} in {} scanned; compatibility: {}; integrity: {}",
        report.plugin.as_deref().unwrap_or(&report.target),
        plural(report.errors, "error"),
        plural(report.warnings, "warning"),
        plural(report.files, "file"),
        report.compatibility.status,
        report.integrity.status,
    );
    out.push('\n');
    out
}

/// Messages quote plugin-controlled text with `{:?}`, but keep one finding on one line anyway.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn check_integrity(
    manifest: Option<&Manifest>,
    dir: Option<&Path>,
    manifest_name: &str,
    findings: &mut Vec<Finding>,
) -> Result<IntegrityStatus, CliError> {
    let status = |status, file: Option<&str>, algorithm| IntegrityStatus {
        status,
        file: file.map(str::to_owned),
        algorithm,
    };
    let Some(entry) = manifest.and_then(Manifest::entry) else {
        return Ok(status("not-set", None, None));
    };
    let Some(metadata) = entry.integrity() else {
        return Ok(status("not-set", None, None));
    };
    let Some(dir) = dir else {
        return Ok(status("not-checked", None, None));
    };
    let name = entry_file_name(entry.src());
    let path = dir.join(&name);
    if !path.is_file() {
        return Ok(status("not-found", Some(&name), None));
    }
    let bytes = std::fs::read(&path).map_err(|e| CliError::io(&path, "read", &e))?;
    // The manifest validator already accepted the metadata, so a parse error here is unusual;
    // report it as a finding all the same rather than trusting that.
    let result = Integrity::parse(metadata).and_then(|i| i.verify(&bytes));
    match result {
        Ok(alg) => Ok(status("match", Some(&name), Some(alg.as_str()))),
        Err(e) => {
            findings.push(Finding {
                file: manifest_name.to_owned(),
                line: None,
                column: None,
                path: Some("entry.integrity".to_owned()),
                rule: "integrity-mismatch".to_owned(),
                severity: Severity::Error,
                code: e.code(),
                message: format!("{name}: {e}"),
                excerpt: None,
            });
            Ok(status("mismatch", Some(&name), None))
        }
    }
}

/// The entry document's file name: the last segment of `entry.src`'s path, or `index.html`
/// when the path ends in `/`. Never a path: only a plain segment is used.
fn entry_file_name(src: &str) -> String {
    let path = url::Url::parse(src)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    match path.rsplit('/').next() {
        Some(seg) if !seg.is_empty() && seg != "." && seg != ".." && !seg.contains('\\') => {
            seg.to_owned()
        }
        _ => "index.html".to_owned(),
    }
}

/// The findings of one file's report (those `keep` accepts), and a note when it was truncated.
fn push_report(
    name: &str,
    report: AnalysisReport,
    keep: impl Fn(&AnalysisFinding) -> bool,
    findings: &mut Vec<Finding>,
) {
    for f in report.findings.into_iter().filter(|f| keep(f)) {
        findings.push(Finding {
            file: name.to_owned(),
            line: Some(f.line),
            column: Some(f.column),
            path: None,
            rule: f.rule.as_str().to_owned(),
            severity: f.severity,
            code: ErrorCode::BundleRejected,
            message: f.message,
            // Secrets are redacted by the core, in excerpts and messages alike.
            excerpt: Some(f.excerpt),
        });
    }
    if report.truncated {
        findings.push(Finding {
            file: name.to_owned(),
            line: None,
            column: None,
            path: None,
            rule: "analysis-truncated".to_owned(),
            severity: Severity::Warning,
            code: ErrorCode::BundleRejected,
            message: format!(
                "only the first findings are listed: {} errors and {} warnings in all",
                report.error_count, report.warning_count
            ),
            excerpt: None,
        });
    }
}

/// Scripts (`.js`, `.mjs`) into `scripts`, every other regular file into `others`.
fn collect_files(
    dir: &Path,
    scripts: &mut Vec<PathBuf>,
    others: &mut Vec<PathBuf>,
) -> Result<(), CliError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CliError::io(dir, "list", &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| CliError::io(dir, "list", &e))?;
        let path = entry.path();
        // `file_type` does not follow symbolic links: a link is neither scanned nor descended
        // into, so a plugin directory cannot make the scan loop or leave the directory.
        let kind = entry
            .file_type()
            .map_err(|e| CliError::io(&path, "inspect", &e))?;
        let name = entry.file_name();
        if kind.is_dir() {
            if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                collect_files(&path, scripts, others)?;
            }
        } else if kind.is_file() {
            let is_script = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("js") || e.eq_ignore_ascii_case("mjs"));
            if is_script {
                scripts.push(path);
            } else {
                others.push(path);
            }
        }
    }
    Ok(())
}

fn relative(dir: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn display_path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::entry_file_name;

    #[test]
    fn entry_file_name_rule() {
        assert_eq!(
            entry_file_name("https://p.example/a/page.html"),
            "page.html"
        );
        assert_eq!(entry_file_name("https://p.example/a/"), "index.html");
        assert_eq!(entry_file_name("https://p.example"), "index.html");
        assert_eq!(entry_file_name("https://p.example/a/../b.html"), "b.html");
        assert_eq!(entry_file_name("https://p.example/a.html?x=1#y"), "a.html");
    }
}
