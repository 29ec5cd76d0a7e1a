//! The audit log: what plugins asked for and what the host decided, with secrets redacted.
//!
//! # Security
//!
//! Nothing enters an [`AuditLog`] unredacted: [`AuditLog::push`] runs the event's `detail`
//! (and `method`) through [`redact_with`] using the host-declared secrets, so
//! `Authorization` headers, cookies, tokens, passwords and route header secrets never reach
//! `host.auditLog()` or the `onAudit` callback (DESIGN.md §7).
//!
//! Redaction errs on the side of hiding: a key named `tokens_used` is redacted too, and the
//! word after "basic" in prose may be. That is the intended trade.

use crate::core::collections::SortedMap;
use std::collections::VecDeque;

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use super::error::{Coded, ErrorCode};
use super::vocab::fold_to_ascii;

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// The default number of events an [`AuditLog`] keeps.
pub const DEFAULT_AUDIT_CAPACITY: usize = 1000;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum AuditKind {
    /// A plugin called a method.
    Call,
    /// The policy decided on a call.
    Decision,
    /// A call was refused (limits, malformed message, rate limit).
    Refusal,
    /// A capability was granted at runtime.
    Grant,
    /// A capability was revoked.
    Revoke,
    /// A plugin was installed (or its installation failed).
    Install,
    /// A plugin was uninstalled.
    Uninstall,
    /// A plugin was updated (allow), or its update was refused (deny, with the code).
    Update,
    /// A plugin was mounted.
    Mount,
    /// A plugin was unmounted.
    Unmount,
    /// A plugin failed (setup throw, crash, timeout, suspension).
    Failure,
    /// A handshake came from the wrong window, with the wrong nonce, or twice.
    HandshakeRejected,
    /// A `message` event on the host window that was not a valid handshake.
    MessageIgnored,
}

/// The policy's verdict, as the audit log records it (`"allow"` / `"deny"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditDecision {
    /// The call was allowed.
    Allow,
    /// The call was denied.
    Deny,
}

/// One audit record. Serializes in camelCase; absent fields are omitted.
///
/// ```
/// use plugin_warden::core::audit::{AuditDecision, AuditEvent, AuditKind};
/// use plugin_warden::core::error::ErrorCode;
/// let e = AuditEvent::new(AuditKind::Decision, 12.5)
///     .with_plugin("acme-app")
///     .with_method("storage.get")
///     .with_decision(AuditDecision::Deny)
///     .with_code(ErrorCode::PermissionDenied);
/// let json = serde_json::to_value(&e).unwrap();
/// assert_eq!(json["timeMs"], 12.5);
/// assert_eq!(json["kind"], "decision");
/// assert_eq!(json["decision"], "deny");
/// assert_eq!(json["code"], "PERMISSION_DENIED");
/// assert!(json.get("detail").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Position in the log, assigned by [`AuditLog::push`] (starts at 1, never reused), so a
    /// reader sees how many events were dropped between two it holds.
    pub seq: u64,
    /// When, in milliseconds (the host's clock, e.g. `performance.now()`).
    pub time_ms: f64,
    /// The plugin concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// What happened.
    pub kind: AuditKind,
    /// The method called, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The verdict, for decisions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<AuditDecision>,
    /// The error code, for refusals and failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// Anything else, redacted on the way in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

impl AuditEvent {
    /// An event of `kind` at `time_ms`, with nothing else set (`seq` is set by the log).
    pub fn new(kind: AuditKind, time_ms: f64) -> Self {
        AuditEvent {
            seq: 0,
            time_ms,
            plugin: None,
            kind,
            method: None,
            decision: None,
            code: None,
            detail: None,
        }
    }

    /// With the plugin concerned.
    pub fn with_plugin(mut self, plugin: impl Into<String>) -> Self {
        self.plugin = Some(plugin.into());
        self
    }

    /// With the method called.
    pub fn with_method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// With the verdict.
    pub fn with_decision(mut self, decision: AuditDecision) -> Self {
        self.decision = Some(decision);
        self
    }

    /// With an error code.
    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = Some(code);
        self
    }

    /// With details (redacted when pushed).
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Why the audit log refused a setting.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditError {
    /// A host-declared secret was empty; scrubbing it would match everywhere.
    #[error("a secret to redact must not be empty")]
    EmptySecret,
}

impl Coded for AuditError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidArgument
    }
}

/// A bounded ring buffer of [`AuditEvent`]s with running totals per plugin per code.
///
/// ```
/// use plugin_warden::core::audit::{AuditEvent, AuditKind, AuditLog};
/// use plugin_warden::core::error::ErrorCode;
/// use serde_json::json;
/// let mut log = AuditLog::with_capacity(2);
/// log.add_secret("s3cr3t-route-key").unwrap();
/// for _ in 0..3 {
///     log.push(AuditEvent::new(AuditKind::Refusal, 0.0).with_plugin("p").with_code(ErrorCode::RateLimited));
/// }
/// log.push(AuditEvent::new(AuditKind::Call, 1.0).with_plugin("p")
///     .with_detail(json!({"headers": {"Authorization": "Bearer abc"}, "note": "key s3cr3t-route-key"})));
/// assert_eq!(log.len(), 2);                                  // bounded
/// assert_eq!(log.dropped(), 2);
/// assert_eq!(log.counts("p")["RATE_LIMITED"], 3);           // totals survive eviction
/// let last = log.snapshot().pop().unwrap();
/// assert_eq!(last.seq, 4);
/// assert_eq!(last.detail.unwrap(), json!({"headers": {"Authorization": "[REDACTED]"}, "note": "key [REDACTED]"}));
/// ```
#[derive(Clone, Debug)]
pub struct AuditLog {
    events: VecDeque<AuditEvent>,
    capacity: usize,
    next_seq: u64,
    dropped: u64,
    counts: SortedMap<String, SortedMap<String, u64>>,
    unattributed: SortedMap<String, u64>,
    secrets: Vec<String>,
    /// Method names redaction leaves as they are under the current `secrets` (at most
    /// [`MAX_CLEAN_METHODS`]; emptied when a secret is added): every call event carries one of
    /// a few names, each checked once instead of per call.
    clean_methods: Vec<String>,
}

/// How many method names [`AuditLog`] remembers as needing no redaction.
const MAX_CLEAN_METHODS: usize = 32;

impl Default for AuditLog {
    fn default() -> Self {
        AuditLog::with_capacity(DEFAULT_AUDIT_CAPACITY)
    }
}

impl AuditLog {
    /// A log keeping the last [`DEFAULT_AUDIT_CAPACITY`] events.
    pub fn new() -> Self {
        AuditLog::default()
    }

    /// A log keeping the last `capacity` events (0 keeps none, but still counts).
    pub fn with_capacity(capacity: usize) -> Self {
        AuditLog {
            events: VecDeque::with_capacity(capacity.min(DEFAULT_AUDIT_CAPACITY)),
            capacity,
            next_seq: 1,
            dropped: 0,
            counts: SortedMap::new(),
            unattributed: SortedMap::new(),
            secrets: Vec::new(),
            clean_methods: Vec::new(),
        }
    }

    /// Declare a secret value (e.g. a route header secret) to scrub verbatim, and in its
    /// percent-encoded form, from every event pushed from now on.
    ///
    /// # Errors
    /// [`AuditError::EmptySecret`] for an empty string.
    pub fn add_secret(&mut self, secret: impl Into<String>) -> Result<(), AuditError> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(AuditError::EmptySecret);
        }
        if !self.secrets.contains(&secret) {
            self.secrets.push(secret);
            // A name clean so far may hold the new secret.
            self.clean_methods.clear();
        }
        Ok(())
    }

    /// Record `event`: assign its `seq`, redact its `detail` and `method`, count its code,
    /// and evict the oldest event when full. Returns the `seq` assigned.
    ///
    /// # Security
    /// Redaction happens here, so no caller can forget it.
    pub fn push(&mut self, mut event: AuditEvent) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        event.seq = seq;
        if let Some(detail) = event.detail.take() {
            event.detail = Some(redact_with(&detail, &self.secrets));
        }
        if let Some(method) = event.method.take() {
            event.method = Some(self.redact_method(method));
        }
        if let Some(code) = event.code {
            self.bump(event.plugin.as_deref(), code);
        }
        if self.capacity == 0 {
            self.dropped = self.dropped.saturating_add(1);
            return seq;
        }
        while self.events.len() >= self.capacity {
            self.events.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        self.events.push_back(event);
        seq
    }

    /// `method` redacted: what [`redact_text`] makes of it, remembered for names it leaves as
    /// they are (redaction is a function of the text and the secrets, which clear the memo).
    fn redact_method(&mut self, method: String) -> String {
        if self.clean_methods.contains(&method) {
            return method;
        }
        let redacted = redact_text(&method, &self.secrets);
        if redacted == method && self.clean_methods.len() < MAX_CLEAN_METHODS {
            self.clean_methods.push(method);
        }
        redacted
    }

    /// Count one `code` for `plugin` without recording an event (repeats of an event already in
    /// the log, such as a flood's `RATE_LIMITED` refusals). [`AuditLog::counts`] includes them.
    ///
    /// ```
    /// use plugin_warden::core::audit::AuditLog;
    /// use plugin_warden::core::error::ErrorCode;
    /// let mut log = AuditLog::new();
    /// log.count("acme-app", ErrorCode::RateLimited);
    /// assert_eq!(log.counts("acme-app").get("RATE_LIMITED"), Some(&1));
    /// assert!(log.snapshot().is_empty());
    /// ```
    pub fn count(&mut self, plugin: &str, code: ErrorCode) {
        self.bump(Some(plugin), code);
    }

    /// [`AuditLog::count`], for a plugin or for none (the unattributed totals).
    pub fn count_for(&mut self, plugin: Option<&str>, code: ErrorCode) {
        self.bump(plugin, code);
    }

    fn bump(&mut self, plugin: Option<&str>, code: ErrorCode) {
        let counter = match plugin {
            Some(p) => self.counts.entry(p.to_owned()).or_default(),
            None => &mut self.unattributed,
        };
        let n = counter.entry(code.as_str().to_owned()).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// The events held, oldest first.
    pub fn snapshot(&self) -> Vec<AuditEvent> {
        self.events.iter().cloned().collect()
    }

    /// The events held whose `seq` is greater than `seq`, oldest first. Cheap when few are new:
    /// it walks back from the newest event only as far as it must.
    ///
    /// ```
    /// use plugin_warden::core::audit::{AuditEvent, AuditKind, AuditLog};
    /// let mut log = AuditLog::new();
    /// let first = log.push(AuditEvent::new(AuditKind::Mount, 0.0));
    /// log.push(AuditEvent::new(AuditKind::Unmount, 1.0));
    /// assert_eq!(log.since(first).len(), 1);
    /// assert_eq!(log.since(0).len(), 2);
    /// ```
    pub fn since(&self, seq: u64) -> Vec<AuditEvent> {
        let newer = self.events.iter().rev().take_while(|e| e.seq > seq).count();
        self.events
            .iter()
            .skip(self.events.len() - newer)
            .cloned()
            .collect()
    }

    /// The `seq` of the newest event pushed (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.next_seq.saturating_sub(1)
    }

    /// How many events are held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// How many events the log holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many events were evicted (or never kept, at capacity 0).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Totals of events with a code, per code (`"RATE_LIMITED" -> 12`), for one plugin, since
    /// the log was created or the plugin [forgotten](AuditLog::forget). Not bounded by the
    /// capacity: evicted events still count.
    pub fn counts(&self, plugin: &str) -> SortedMap<String, u64> {
        self.counts.get(plugin).cloned().unwrap_or_default()
    }

    /// Totals per code of events with no plugin (e.g. rejected handshakes).
    pub fn unattributed_counts(&self) -> SortedMap<String, u64> {
        self.unattributed.clone()
    }

    /// Drop a plugin's totals (on uninstall). Its events stay until evicted.
    pub fn forget(&mut self, plugin: &str) {
        self.counts.remove(plugin);
    }
}

/// Whether a field, header or query parameter with this name holds a secret.
///
/// The name is compared case-insensitively with non-alphanumerics removed (`X-Api-Key`,
/// `x_api_key` and `xApiKey` are the same): `authorization`, `proxy-authorization`, `cookie`,
/// `set-cookie`, `x-api-key`, `api_key`/`apikey`, `auth`, `pwd`, `sig`, and any name
/// containing `token`, `secret`, `password`, `passwd`, `apikey`, `authorization`, `cookie`,
/// `credential`, `privatekey`, `sessionid` or `signature`.
///
/// ```
/// use plugin_warden::core::audit::is_sensitive_key;
/// for k in ["Authorization", "set-cookie", "X-API-KEY", "api_key", "refresh_token", "idToken",
///           "client_secret", "userPassword", "X-Amz-Signature"] {
///     assert!(is_sensitive_key(k), "{k}");
/// }
/// for k in ["content-type", "method", "url", "status", "code", "author"] {
///     assert!(!is_sensitive_key(k), "{k}");
/// }
/// ```
pub fn is_sensitive_key(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(fold_to_ascii)
        .collect();
    names_a_secret(&n)
}

/// Keys that name a secret when they are exactly one of these, after [`is_sensitive_key`]'s
/// folding.
const SECRET_KEYS: [&str; 3] = ["auth", "pwd", "sig"];
/// Keys that name a secret when they contain one of these, after the same folding.
const SECRET_KEY_PARTS: [&str; 11] = [
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "authorization",
    "cookie",
    "credential",
    "privatekey",
    "sessionid",
    "signature",
];

/// Whether a key's letters and digits, folded to lowercase, name a secret.
fn names_a_secret(folded: &str) -> bool {
    SECRET_KEYS.contains(&folded) || SECRET_KEY_PARTS.iter().any(|c| folded.contains(c))
}

/// Redact secrets from a JSON value (no host-declared secrets; see [`redact_with`]).
///
/// - the value of every object key [`is_sensitive_key`] becomes `"[REDACTED]"` (whatever its
///   type; `null` stays `null`), and so does the value of header-like pairs `["X-Api-Key", v]`
///   and `{"name": "Cookie", "value": v}`;
/// - in every string, the credential after `Bearer ` / `Basic ` (any case) is replaced;
/// - in every string, values of sensitive query or fragment parameters
///   (`?access_token=…`, `#id_token=…`, `&api_key=…`) are replaced, URL or not.
///
/// ```
/// use plugin_warden::core::audit::redact;
/// use serde_json::json;
/// let v = json!({
///     "headers": {"authorization": "Bearer abc.def", "accept": "text/plain"},
///     "url": "https://api.acme.example/v1?q=x&access_token=abc#frag",
///     "log": ["sent Basic dXNlcjpwYXNz to the proxy"],
///     "nested": {"Password": {"any": "shape"}},
/// });
/// assert_eq!(redact(&v), json!({
///     "headers": {"authorization": "[REDACTED]", "accept": "text/plain"},
///     "url": "https://api.acme.example/v1?q=x&access_token=[REDACTED]#frag",
///     "log": ["sent Basic [REDACTED] to the proxy"],
///     "nested": {"Password": "[REDACTED]"},
/// }));
/// ```
pub fn redact(value: &Value) -> Value {
    redact_with::<&str>(value, &[])
}

/// [`redact`], and also scrub each of `secrets` verbatim (and percent-encoded) wherever it
/// occurs: in strings and in object keys. Empty secrets are ignored.
///
/// ```
/// use plugin_warden::core::audit::redact_with;
/// use serde_json::json;
/// let v = json!({"x-route": "k/123456", "msg": "upstream said k/123456 and k%2F123456"});
/// assert_eq!(redact_with(&v, &["k/123456"]),
///            json!({"x-route": "[REDACTED]", "msg": "upstream said [REDACTED] and [REDACTED]"}));
/// ```
pub fn redact_with<S: AsRef<str>>(value: &Value, secrets: &[S]) -> Value {
    let mut list: Vec<String> = Vec::new();
    for s in secrets {
        let s = s.as_ref();
        if s.is_empty() {
            continue;
        }
        list.push(s.to_owned());
        let encoded = percent_encode_all(s);
        if encoded != s {
            list.push(encoded);
        }
    }
    // Longest first, so a secret containing another is replaced whole.
    crate::core::collections::sort_by(&mut list, |a, b| a.len() > b.len());
    redact_value(value, &list)
}

fn redact_value(value: &Value, secrets: &[String]) -> Value {
    match value {
        Value::String(s) => Value::String(redact_text(s, secrets)),
        Value::Array(items) => {
            if let [Value::String(name), v] = items.as_slice() {
                if is_sensitive_key(name) {
                    return Value::Array(vec![
                        Value::String(redact_text(name, secrets)),
                        redacted(v),
                    ]);
                }
            }
            Value::Array(items.iter().map(|v| redact_value(v, secrets)).collect())
        }
        Value::Object(map) => {
            let named_secret = map
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(is_sensitive_key);
            // Inserted one by one rather than collected: `Map`'s bulk build is a second copy of
            // B-tree code in the module for this one place (~2.5 KB).
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let hide = is_sensitive_key(k) || (named_secret && k == "value");
                let v = if hide {
                    redacted(v)
                } else {
                    redact_value(v, secrets)
                };
                out.insert(redact_text(k, secrets), v);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn redacted(v: &Value) -> Value {
    if v.is_null() {
        Value::Null
    } else {
        Value::String(REDACTED.to_owned())
    }
}

fn redact_text(s: &str, secrets: &[String]) -> String {
    let mut out = s.to_owned();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    let out = redact_auth_schemes(&out);
    let out = redact_userinfo(&out);
    redact_query_params(&out)
}

/// Replace the user name and password of every `scheme://user:pass@host` in `s`: a refused URL
/// is quoted in its error message, and a URL's credentials are secrets whoever wrote them.
///
/// The authority ends at the first `/`, `?`, `#`, `\`, whitespace or quote after `://`; its
/// user info is everything before the last `@` in it.
fn redact_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("://") {
        let start = at + 3;
        let (head, tail) = rest.split_at(start);
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '\\' | '"' | '\'' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let (authority, after) = tail.split_at(end);
        match authority.rfind('@') {
            Some(userinfo_end) if userinfo_end > 0 => {
                out.push_str(REDACTED);
                out.push_str(authority.get(userinfo_end..).unwrap_or_default());
            }
            _ => out.push_str(authority),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

fn is_token68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Replace the credential after `Bearer` / `Basic` (ASCII case-insensitive, at a word start).
fn redact_auth_schemes(s: &str) -> String {
    let bytes = s.as_bytes();
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0
            || bytes
                .get(i.wrapping_sub(1))
                .is_some_and(|b| !b.is_ascii_alphanumeric());
        let scheme_len = ["bearer", "basic"]
            .iter()
            .find(|w| lower.get(i..).is_some_and(|rest| rest.starts_with(*w)))
            .map(|w| w.len());
        if let (true, Some(len)) = (at_word_start, scheme_len) {
            let mut j = i + len;
            let spaces_start = j;
            while bytes.get(j).is_some_and(|b| matches!(b, b' ' | b'\t')) {
                j += 1;
            }
            let token_start = j;
            while bytes.get(j).copied().is_some_and(is_token68) {
                j += 1;
            }
            if j > spaces_start && token_start > spaces_start && j > token_start {
                // All boundaries are ASCII positions: the slices are on char boundaries.
                out.push_str(s.get(copied..token_start).unwrap_or_default());
                out.push_str(REDACTED);
                copied = j;
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(s.get(copied..).unwrap_or_default());
    out
}

/// Replace values of sensitive `name=value` parameters that follow `?`, `&`, `#` or `;`.
fn redact_query_params(s: &str) -> String {
    let bytes = s.as_bytes();
    let is_name_end = |b: u8| {
        matches!(
            b,
            b'=' | b'&' | b'#' | b'?' | b';' | b'"' | b'\'' | b'<' | b'>'
        ) || b.is_ascii_whitespace()
    };
    let is_value_end = |b: u8| {
        matches!(b, b'&' | b'#' | b';' | b'"' | b'\'' | b'<' | b'>') || b.is_ascii_whitespace()
    };
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes
            .get(i)
            .is_some_and(|b| matches!(b, b'?' | b'&' | b'#' | b';'))
        {
            let name_start = i + 1;
            let mut j = name_start;
            while bytes.get(j).is_some_and(|b| !is_name_end(*b)) {
                j += 1;
            }
            if j > name_start && bytes.get(j) == Some(&b'=') {
                let name = s.get(name_start..j).unwrap_or_default();
                let value_start = j + 1;
                let mut k = value_start;
                while bytes.get(k).is_some_and(|b| !is_value_end(*b)) {
                    k += 1;
                }
                let value = s.get(value_start..k).unwrap_or_default();
                if k > value_start && value != REDACTED && is_sensitive_key(&percent_decode(name)) {
                    out.push_str(s.get(copied..value_start).unwrap_or_default());
                    out.push_str(REDACTED);
                    copied = k;
                    i = k;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push_str(s.get(copied..).unwrap_or_default());
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |k: usize| bytes.get(k).and_then(|c| (*c as char).to_digit(16));
        if let (b'%', Some(hi), Some(lo)) = (b, hex(i + 1), hex(i + 2)) {
            // Two hex digits are at most 0xFF: the cast cannot truncate.
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encode every byte outside the RFC 3986 unreserved set, as `encodeURIComponent`
/// would (it also leaves `!'()*`, which this encodes; both forms are then scrubbed when they
/// differ from the original).
pub(crate) fn percent_encode_all(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What `is_sensitive_key` was with Unicode lowercasing: the new one must agree.
    fn sensitive_by_unicode_lowercase(name: &str) -> bool {
        let n: String = name
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        names_a_secret(&n)
    }

    #[test]
    fn sensitive_keys_are_found_as_with_unicode_lowercasing() {
        // Every character whose lowercase is not itself (the only ones the two can differ on),
        // inserted into and substituted for each letter of every word, and on its own.
        let words = SECRET_KEYS.iter().chain(&SECRET_KEY_PARTS);
        let cased = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|c| c.to_lowercase().ne(std::iter::once(*c)));
        let mut checked = 0;
        for c in cased {
            for w in words.clone() {
                for i in 0..=w.len() {
                    let inserted = format!("{}{c}{}", &w[..i], &w[i..]);
                    assert_eq!(
                        is_sensitive_key(&inserted),
                        sensitive_by_unicode_lowercase(&inserted),
                        "{inserted:?}"
                    );
                    if i < w.len() {
                        let replaced = format!("{}{c}{}", &w[..i], &w[i + 1..]);
                        assert_eq!(
                            is_sensitive_key(&replaced),
                            sensitive_by_unicode_lowercase(&replaced),
                            "{replaced:?}"
                        );
                    }
                }
            }
            let alone = c.to_string();
            assert_eq!(
                is_sensitive_key(&alone),
                sensitive_by_unicode_lowercase(&alone)
            );
            checked += 1;
        }
        assert!(checked > 1000, "{checked}");
        // The Kelvin sign still folds to `k` (`apiKey` spelled with it).
        assert!(is_sensitive_key("api\u{212A}ey"));
    }

    #[test]
    fn url_credentials_are_redacted_wherever_a_url_is_quoted() {
        let r = redact_userinfo;
        assert_eq!(
            r(r#""https://alice:s3cret@api.example/x" is not in the network allowlist"#),
            r#""https://[REDACTED]@api.example/x" is not in the network allowlist"#
        );
        assert_eq!(r("https://tok@h.example"), "https://[REDACTED]@h.example");
        // The last @ of the authority ends the user info; a path's @ is not user info.
        assert_eq!(
            r("https://a@b:c@h.example/p"),
            "https://[REDACTED]@h.example/p"
        );
        assert_eq!(r("https://h.example/@user"), "https://h.example/@user");
        assert_eq!(r("mailto:a@b.example"), "mailto:a@b.example");
        assert_eq!(
            r("x https://u:p@a.example y http://v@b.example"),
            "x https://[REDACTED]@a.example y http://[REDACTED]@b.example"
        );
        assert_eq!(r("no url, a@b"), "no url, a@b");
        assert_eq!(r("ends with ://"), "ends with ://");
        assert_eq!(
            r("ünï https://ü:ß@ê.example"),
            "ünï https://[REDACTED]@ê.example"
        );
    }

    fn event(plugin: Option<&str>, code: Option<ErrorCode>) -> AuditEvent {
        let mut e = AuditEvent::new(AuditKind::Refusal, 1.0);
        e.plugin = plugin.map(str::to_owned);
        e.code = code;
        e
    }

    #[test]
    fn events_serialize_in_camel_case_with_stable_spellings() {
        let e = AuditEvent::new(AuditKind::HandshakeRejected, 3.0)
            .with_detail(json!({"origin": "null"}));
        let v = serde_json::to_value(&e).expect("invariant: events serialize");
        assert_eq!(
            v,
            json!({"seq": 0, "timeMs": 3.0, "kind": "handshakeRejected", "detail": {"origin": "null"}})
        );
        let full = AuditEvent::new(AuditKind::Decision, 0.5)
            .with_plugin("p")
            .with_method("api.fetch")
            .with_decision(AuditDecision::Allow)
            .with_code(ErrorCode::NetworkDenied);
        let v = serde_json::to_value(&full).expect("invariant: events serialize");
        assert_eq!(v["plugin"], "p");
        assert_eq!(v["method"], "api.fetch");
        assert_eq!(v["decision"], "allow");
        assert_eq!(v["code"], "NETWORK_DENIED");
        let kinds = [
            (AuditKind::Call, "call"),
            (AuditKind::Decision, "decision"),
            (AuditKind::Refusal, "refusal"),
            (AuditKind::Grant, "grant"),
            (AuditKind::Revoke, "revoke"),
            (AuditKind::Install, "install"),
            (AuditKind::Uninstall, "uninstall"),
            (AuditKind::Update, "update"),
            (AuditKind::Mount, "mount"),
            (AuditKind::Unmount, "unmount"),
            (AuditKind::Failure, "failure"),
            (AuditKind::HandshakeRejected, "handshakeRejected"),
            (AuditKind::MessageIgnored, "messageIgnored"),
        ];
        for (k, s) in kinds {
            assert_eq!(serde_json::to_value(k).ok(), Some(json!(s)));
        }
    }

    #[test]
    fn the_ring_buffer_is_bounded_and_sequenced() {
        let mut log = AuditLog::default();
        assert_eq!(log.capacity(), 1000);
        for i in 0..1500u64 {
            assert_eq!(log.push(event(Some("p"), None)), i + 1);
        }
        assert_eq!(log.len(), 1000);
        assert_eq!(log.dropped(), 500);
        let snap = log.snapshot();
        assert_eq!(snap.first().map(|e| e.seq), Some(501));
        assert_eq!(snap.last().map(|e| e.seq), Some(1500));
        assert!(snap
            .windows(2)
            .all(|w| matches!(w, [a, b] if b.seq == a.seq + 1)));

        let mut none = AuditLog::with_capacity(0);
        none.push(event(Some("p"), Some(ErrorCode::RateLimited)));
        assert!(none.is_empty());
        assert_eq!(none.dropped(), 1);
        assert_eq!(none.counts("p").get("RATE_LIMITED"), Some(&1));
    }

    #[test]
    fn counts_are_per_plugin_per_code_and_survive_eviction() {
        let mut log = AuditLog::with_capacity(3);
        for _ in 0..5 {
            log.push(event(Some("a"), Some(ErrorCode::RateLimited)));
        }
        log.push(event(Some("a"), Some(ErrorCode::PermissionDenied)));
        log.push(event(Some("b"), Some(ErrorCode::PermissionDenied)));
        log.push(event(Some("b"), None));
        log.push(event(None, Some(ErrorCode::MessageRejected)));
        let a = log.counts("a");
        assert_eq!(a.get("RATE_LIMITED"), Some(&5));
        assert_eq!(a.get("PERMISSION_DENIED"), Some(&1));
        assert_eq!(a.len(), 2);
        assert_eq!(log.counts("b").get("PERMISSION_DENIED"), Some(&1));
        assert_eq!(
            log.counts("b").len(),
            1,
            "events without a code are not counted"
        );
        assert!(log.counts("nobody").is_empty());
        assert_eq!(log.unattributed_counts().get("MESSAGE_REJECTED"), Some(&1));
        log.forget("a");
        assert!(log.counts("a").is_empty());
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn sensitive_keys_are_redacted_at_any_depth_and_any_case() {
        let keys = [
            "authorization",
            "Authorization",
            "PROXY-AUTHORIZATION",
            "cookie",
            "Set-Cookie",
            "x-api-key",
            "api_key",
            "apikey",
            "apiKey",
            "token",
            "access_token",
            "refresh_token",
            "id_token",
            "password",
            "secret",
            "client_secret",
            "csrfToken",
            "my-secret-thing",
            "newPassword",
        ];
        for k in keys {
            let v = json!({"outer": [{"inner": {k: "value-123", "keep": "visible"}}]});
            let r = redact(&v);
            assert_eq!(r["outer"][0]["inner"][k], REDACTED, "{k}");
            assert_eq!(r["outer"][0]["inner"]["keep"], "visible", "{k}");
        }
        // any value shape is replaced whole; null stays null
        let r =
            redact(&json!({"token": {"a": 1}, "secret": [1, 2], "password": null, "x-api-key": 7}));
        assert_eq!(
            r,
            json!({"token": REDACTED, "secret": REDACTED, "password": null, "x-api-key": REDACTED})
        );
    }

    #[test]
    fn header_pairs_and_har_entries_are_redacted() {
        let v = json!({
            "headers": [["Content-Type", "text/plain"], ["X-Api-Key", "k1"], ["Cookie", "sid=1"]],
            "har": [{"name": "Authorization", "value": "Digest abc"}, {"name": "Accept", "value": "*/*"}],
        });
        assert_eq!(
            redact(&v),
            json!({
                "headers": [["Content-Type", "text/plain"], ["X-Api-Key", REDACTED], ["Cookie", REDACTED]],
                "har": [{"name": "Authorization", "value": REDACTED}, {"name": "Accept", "value": "*/*"}],
            })
        );
    }

    #[test]
    fn bearer_and_basic_credentials_are_redacted_in_any_string() {
        let cases = [
            ("Bearer abc.def-ghi_jkl~mno+/=", "Bearer [REDACTED]"),
            (
                "authorization: bearer eyJhbGciOi.x.y",
                "authorization: bearer [REDACTED]",
            ),
            (
                "BASIC dXNlcjpwYXNz== then more",
                "BASIC [REDACTED] then more",
            ),
            (
                "two: Bearer a1, Basic b2",
                "two: Bearer [REDACTED], Basic [REDACTED]",
            ),
            ("Bearer\tabc", "Bearer\t[REDACTED]"),
            ("forbearer abc", "forbearer abc"),
            ("Bearer", "Bearer"),
            ("Bearer ", "Bearer "),
            ("ünï Bearer x ünï", "ünï Bearer [REDACTED] ünï"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(&json!(input)), json!(expected), "{input:?}");
        }
    }

    #[test]
    fn sensitive_query_and_fragment_parameters_are_redacted() {
        let cases = [
            (
                "https://api.acme.example/v1?q=x&access_token=abc123&page=2",
                "https://api.acme.example/v1?q=x&access_token=[REDACTED]&page=2",
            ),
            (
                "https://app.example/cb#id_token=eyJ.x.y&state=s",
                "https://app.example/cb#id_token=[REDACTED]&state=s",
            ),
            (
                "/relative?api_key=K&x=1",
                "/relative?api_key=[REDACTED]&x=1",
            ),
            ("?X-Amz-Signature=abcd", "?X-Amz-Signature=[REDACTED]"),
            ("?access%5Ftoken=abc", "?access%5Ftoken=[REDACTED]"),
            (
                "fetch \"https://h/?password=hunter2\" failed",
                "fetch \"https://h/?password=[REDACTED]\" failed",
            ),
            ("https://h/?q=token&page=1", "https://h/?q=token&page=1"),
            ("https://h/?token=", "https://h/?token="),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(&json!(input)), json!(expected), "{input:?}");
        }
    }

    #[test]
    fn host_secrets_are_scrubbed_verbatim_everywhere() {
        let secret = "rt-9f8e7d6c5b4a";
        let other = "p@ss word";
        let v = json!({
            "x-route-auth": secret,
            "plain": format!("upstream echoed {secret} twice: {secret}"),
            "list": [format!("pre{secret}post"), 1, true],
            secret: "a key that is the secret",
            "encoded": "p%40ss%20word in a URL",
        });
        let r = redact_with(&v, &[secret, other, ""]);
        let text = r.to_string();
        assert!(!text.contains(secret), "{text}");
        assert!(!text.contains("p%40ss%20word"), "{text}");
        assert_eq!(r["plain"], "upstream echoed [REDACTED] twice: [REDACTED]");
        assert_eq!(r["list"], json!(["pre[REDACTED]post", 1, true]));
        assert_eq!(r["[REDACTED]"], "a key that is the secret");
        // an empty secret does nothing rather than everything
        assert_eq!(redact_with(&json!("abc"), &[""]), json!("abc"));
    }

    #[test]
    fn push_redacts_so_secrets_never_enter_the_log() {
        let mut log = AuditLog::new();
        assert_eq!(log.add_secret(""), Err(AuditError::EmptySecret));
        assert_eq!(AuditError::EmptySecret.code(), ErrorCode::InvalidArgument);
        log.add_secret("route-secret-1").expect("non-empty");
        log.push(
            AuditEvent::new(AuditKind::Call, 0.0)
                .with_plugin("p")
                .with_method("api.fetch route-secret-1")
                .with_detail(json!({
                    "url": "https://api.acme.example/v1?token=t0k",
                    "headers": {"Authorization": "Bearer zzz", "X-Route": "route-secret-1"},
                    "body": "Basic Zm9vOmJhcg==",
                })),
        );
        let text = serde_json::to_string(&log.snapshot()).expect("invariant: events serialize");
        for leaked in ["t0k", "zzz", "route-secret-1", "Zm9vOmJhcg"] {
            assert!(!text.contains(leaked), "{leaked} leaked: {text}");
        }
    }

    #[test]
    fn a_method_name_seen_clean_is_redacted_once_a_secret_it_holds_is_added() {
        let mut log = AuditLog::new();
        let call = |m: &str| AuditEvent::new(AuditKind::Call, 0.0).with_method(m);
        for _ in 0..3 {
            log.push(call("storage.get"));
        }
        log.push(call("api.fetch ?token=t0k"));
        log.push(call("api.fetch ?token=t0k"));
        log.add_secret("rage.g").expect("non-empty");
        log.push(call("storage.get"));
        let methods: Vec<Option<String>> = log.snapshot().into_iter().map(|e| e.method).collect();
        let m = |s: &str| Some(s.to_owned());
        assert_eq!(
            methods,
            vec![
                m("storage.get"),
                m("storage.get"),
                m("storage.get"),
                m("api.fetch ?token=[REDACTED]"),
                m("api.fetch ?token=[REDACTED]"),
                m("sto[REDACTED]et"),
            ]
        );
        // The memo is bounded: many distinct clean names are each still redacted correctly.
        for i in 0..(2 * MAX_CLEAN_METHODS) {
            log.push(call(&format!("m{i}")));
        }
        assert!(log.clean_methods.len() <= MAX_CLEAN_METHODS);
        log.push(call("storage.get"));
        assert_eq!(
            log.snapshot().last().and_then(|e| e.method.clone()),
            m("sto[REDACTED]et")
        );
    }

    #[test]
    fn redaction_is_idempotent_and_leaves_clean_values_alone() {
        let clean = json!({"method": "storage.get", "params": {"key": "prefs"}, "n": [1, 2.5, null, false]});
        assert_eq!(redact(&clean), clean);
        let dirty = json!({"a": "Bearer x ?token=y", "token": "z", "h": [["cookie", "c"]]});
        let once = redact_with(&dirty, &["x"]);
        assert_eq!(redact_with(&once, &["x"]), once);
    }
}
