//! The install allow-list: which plugin ids a host accepts at all (host option
//! `allowPlugins`).
//!
//! # Pattern language
//!
//! Each entry is one of
//!
//! - an **exact id** (`acme-patents-app`), a valid plugin id (3 to 64 characters of
//!   `[a-z0-9-]`, not reserved), matching only that id; or
//! - a **prefix** followed by a single trailing `*` (`acme-*`), the prefix being 1 to 63
//!   characters of `[a-z0-9-]`, matching every id that starts with the prefix (`acme-*`
//!   matches `acme-patents-app` and `acme-x`, not `acme` and not `acmex`).
//!
//! Nothing else: no `*` elsewhere, no `?`, no bare `*` (leave `allowPlugins` out to accept
//! every id), no upper case (ids are lower case, so `ACME-*` could only be a mistake).
//! Matching is plain byte comparison. An empty list accepts no plugin at all.
//!
//! The engine checks the list **first** when installing: before the manifest is validated,
//! before any signature, integrity or bundle check. It reads only the manifest's `id`; a
//! manifest whose id cannot be read as a plugin id is `INVALID_MANIFEST`, an id outside the
//! list is `PERMISSION_DENIED` (see [`AllowPluginsError`]).

use thiserror::Error;

use super::error::{cold_text, Coded, ErrorCode};
use super::manifest::PluginId;

/// Most entries an allow-list may have.
pub const MAX_ALLOW_PLUGINS: usize = 1024;

/// A bad `allowPlugins` entry (`INVALID_ARGUMENT`, raised when the host is constructed).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("allowPlugins{at}: {reason}")]
pub struct AllowPluginsError {
    /// `[i]`, or empty for the list itself.
    at: String,
    /// What was expected and found.
    reason: String,
}

impl Coded for AllowPluginsError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidArgument
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

/// A parsed allow-list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowPlugins {
    patterns: Vec<Pattern>,
    source: Vec<String>,
}

impl AllowPlugins {
    /// Parse the host's `allowPlugins` entries.
    ///
    /// # Errors
    /// [`AllowPluginsError`] (`INVALID_ARGUMENT`) naming the first bad entry and the rule it
    /// breaks, or a list over [`MAX_ALLOW_PLUGINS`].
    ///
    /// ```
    /// use plugin_warden::core::allow_plugins::AllowPlugins;
    /// let a = AllowPlugins::parse(&["acme-*".into(), "grafana-clock-panel".into()]).unwrap();
    /// assert!(a.allows("acme-patents-app"));
    /// assert!(a.allows("grafana-clock-panel"));
    /// assert!(!a.allows("acme"));
    /// assert!(!a.allows("evil-app"));
    /// assert!(AllowPlugins::parse(&["*".into()]).is_err());
    /// assert!(AllowPlugins::parse(&["ac*me".into()]).is_err());
    /// ```
    pub fn parse(entries: &[String]) -> Result<Self, AllowPluginsError> {
        if entries.len() > MAX_ALLOW_PLUGINS {
            return Err(AllowPluginsError {
                at: String::new(),
                reason: format!(
                    "expected at most {MAX_ALLOW_PLUGINS} entries, found {}",
                    entries.len()
                ),
            });
        }
        let patterns = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                parse_entry(e).map_err(|reason| AllowPluginsError {
                    at: format!("[{i}]"),
                    reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(AllowPlugins {
            patterns,
            source: entries.to_vec(),
        })
    }

    /// Whether `id` may be installed.
    pub fn allows(&self, id: &str) -> bool {
        self.patterns.iter().any(|p| match p {
            Pattern::Exact(e) => e == id,
            Pattern::Prefix(p) => id.starts_with(p.as_str()),
        })
    }

    /// The entries as given (for messages).
    pub fn entries(&self) -> &[String] {
        &self.source
    }
}

fn parse_entry(e: &str) -> Result<Pattern, String> {
    let shown: String = e.chars().take(80).collect();
    match e.strip_suffix('*') {
        Some("") => Err(
            cold_text!("expected an id or an id prefix followed by `*`, found a bare \"*\" (leave allowPlugins out to accept every id)")
                .to_owned(),
        ),
        Some(prefix) => {
            if prefix.len() > 63
                || !prefix
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                Err(format!(
                    "expected an id prefix of 1 to 63 characters of [a-z0-9-] before a single trailing `*`, found {shown:?}"
                ))
            } else {
                Ok(Pattern::Prefix(prefix.to_owned()))
            }
        }
        None => PluginId::parse(e)
            .map(|id| Pattern::Exact(id.as_str().to_owned()))
            .map_err(|err| {
                let why = err
                    .problems
                    .first()
                    .map(|p| p.message.clone())
                    .unwrap_or_default();
                format!("expected a plugin id or an id prefix followed by `*`: {why}")
            }),
    }
}
