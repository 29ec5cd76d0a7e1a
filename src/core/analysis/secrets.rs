//! Secret scanning: credentials written into a bundle's text.
//!
//! The scanner reads the raw text, not the token stream, so a key in a comment, a string, a
//! template or a JSON file is found alike. Every match is a byte range of ASCII text; the
//! analysis reports it at its first character and never shows it in full (see [`SecretHit`]).
//!
//! | rule | severity | matches |
//! | --- | --- | --- |
//! | `secret-private-key` | error | a PEM block `-----BEGIN … PRIVATE KEY-----` (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP … BLOCK) followed by at least 40 base64 characters (whitespace and `\n` escapes allowed in between, as in a JSON or JS string); a Google service-account file's `"private_key"` is one of these |
//! | `secret-aws-access-key` | error | an AWS access key id: `AKIA` (long-term) or `ASIA` (temporary) and 16 characters of `A-Z2-7`, not inside a longer word |
//! | `secret-github-token` | error | `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` and 36 letters or digits; `github_pat_` and at least 82 letters, digits or `_` |
//! | `secret-slack-token` | error | `xoxb-`/`xoxp-`/`xoxa-`/`xoxo-`/`xoxr-`/`xoxs-`, a number, `-`, and at least 10 more letters, digits or `-` |
//! | `secret-stripe-key` | error | a live secret or restricted key, `sk_live_`/`rk_live_` and at least 24 letters or digits |
//! | `secret-stripe-key` | warning | the same in test mode, `sk_test_`/`rk_test_` |
//! | `secret-jwt` | warning | a JSON Web Token: three base64url segments separated by `.`, the first decoding to a JSON object with a string `alg` |
//! | `secret-literal` | warning | a name ending in `apikey`, `secret`, `password`, `passwd`, `passphrase`, `token`, `privatekey` or `secretkey` (case, `_` and `-` ignored) given a credential-looking literal with `=` or `:` (`apiKey: "…"`, `"client_secret": "…"`, `?api_key=…`) |
//!
//! Severity follows what a leak costs: a private key or a live cloud/API key gives its holder
//! the account, so it fails the bundle. A JWT expires and is often a public sample; a generic
//! literal is a guess from a name: both are warnings for a reviewer.
//!
//! A credential-looking literal has 8 to 512 printable ASCII characters without whitespace,
//! at least 5 distinct characters, and either letters and digits with a Shannon entropy of at
//! least 3 bits per character, or at least 20 characters with an entropy of at least 3.5. It
//! is not a placeholder: nothing containing `xxx`, `***`, `...`, `…`, `<`, `>`, `${`, `{{`,
//! `%s`, `://`, or (case-insensitively) `your`, `changeme`, `change_me`, `change-me`,
//! `placeholder`, `example`, `sample`, `dummy`, `fake`, `mock`, `test`, `redacted`,
//! `replace`, `insert`, `todo`, `fixme`, `password`, `secret`, `token`, `process.env`,
//! `import.meta`. Keys that are public by design are not flagged: Google browser API keys
//! (`AIza…`, restricted by referrer) and Stripe publishable keys (`pk_live_`, `pk_test_`).
//! Token rules also skip a body with fewer than 5 distinct characters
//! (`sk_live_xxxxxxxxxxxxxxxxxxxxxxxx`).
//!
//! A token may start right after a string escape (`"…\nAKIA…"`). Once a secret is found,
//! every other occurrence of its text (glued to a longer word, say) is redacted in excerpts
//! and messages too, without a finding of its own.
//!
//! The scanner is a filter like the rest of the analysis: a key split across strings, encoded,
//! or fetched at run time is not found. It reports what a careless build ships.

use crate::core::collections::SortedMap;

use base64::Engine as _;

use super::{Rule, Severity};

/// One credential found in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretHit {
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past its last character.
    pub end: usize,
    /// Which rule.
    pub rule: Rule,
    /// How serious.
    pub severity: Severity,
    /// What was found, with the secret redacted.
    pub message: String,
    /// How many leading bytes may be shown (a fixed, non-secret prefix such as `AKIA`).
    pub shown: usize,
    /// Another occurrence of a secret found elsewhere (inside a longer word, say): redacted
    /// in excerpts, not reported again.
    pub echo: bool,
}

impl SecretHit {
    /// The redacted form: the shown prefix, `…`, and the length in characters.
    pub fn redacted(&self, src: &str) -> String {
        redact(src.get(self.start..self.end).unwrap_or(""), self.shown)
    }
}

/// `AKIA…(20 chars)`: the first `shown` characters of `secret`, then its length.
///
/// ```
/// use plugin_warden::core::analysis::redact;
/// assert_eq!(redact("AKIAIOSFODNN7EXAMPLE", 4), "AKIA…(20 chars)");
/// assert_eq!(redact("hunter2hunter2", 0), "…(14 chars)");
/// ```
pub fn redact(secret: &str, shown: usize) -> String {
    let prefix: String = secret.chars().take(shown).collect();
    format!("{prefix}…({} chars)", secret.chars().count())
}

/// Every secret in `src`, sorted by start, never overlapping.
pub(crate) fn find(src: &str) -> Vec<SecretHit> {
    let bytes = src.as_bytes();
    let mut found = Found::default();
    private_keys(src, &mut found);
    aws_keys(bytes, &mut found);
    github_tokens(bytes, &mut found);
    slack_tokens(bytes, &mut found);
    stripe_keys(bytes, &mut found);
    jwts(bytes, &mut found);
    literals(bytes, &mut found);
    echoes(src, &mut found);
    let mut hits: Vec<SecretHit> = found.hits.into_values().collect();
    // Messages quote names (`apiKey`), which could hold a secret found elsewhere: every
    // secret's text is redacted in every message, then the hit's own redaction goes in.
    let mut known: Vec<(String, String)> = hits
        .iter()
        .filter(|h| h.end - h.start >= 8)
        .filter_map(|h| {
            src.get(h.start..h.end)
                .map(|t| (t.to_owned(), h.redacted(src)))
        })
        .collect();
    crate::core::collections::sort_by(&mut known, |a, b| (b.0.len(), &a.0) < (a.0.len(), &b.0));
    known.dedup_by(|a, b| a.0 == b.0);
    for h in &mut hits {
        let mut message = std::mem::take(&mut h.message);
        for (text, redacted) in &known {
            if message.contains(text.as_str()) {
                message = message.replace(text.as_str(), redacted);
            }
        }
        h.message = message.replace(REDACTED_MARK, &h.redacted(src));
    }
    hits
}

/// Every other occurrence of a found secret's text becomes an echo hit, so that no excerpt
/// shows it where the rules did not match (`AKIA…` glued to a longer word, say).
fn echoes(src: &str, found: &mut Found) {
    let mut secrets: Vec<(String, usize)> = found
        .hits
        .values()
        .filter_map(|h| src.get(h.start..h.end).map(|t| (t.to_owned(), h.shown)))
        .collect();
    crate::core::collections::sort_by(&mut secrets, |a, b| a < b);
    secrets.dedup_by(|a, b| a.0 == b.0);
    for (text, shown) in secrets {
        if text.len() < 8 {
            continue;
        }
        let mut from = 0;
        while let Some(at) = src.get(from..).and_then(|rest| rest.find(&text)) {
            let start = from + at;
            let end = start + text.len();
            from = end;
            if found.overlaps(start, end) {
                continue;
            }
            found.hits.insert(
                start,
                SecretHit {
                    start,
                    end,
                    rule: Rule::SecretLiteral,
                    severity: Severity::Warning,
                    message: String::new(),
                    shown,
                    echo: true,
                },
            );
        }
    }
}

/// Replaced by the redacted secret in a hit's message.
const REDACTED_MARK: &str = "{secret}";

#[derive(Default)]
struct Found {
    /// By start offset.
    hits: SortedMap<usize, SecretHit>,
}

impl Found {
    fn overlaps(&self, start: usize, end: usize) -> bool {
        let before = self.hits.range(..=start).next_back();
        if before.is_some_and(|(_, h)| h.end > start) {
            return true;
        }
        self.hits.range(start..end).next().is_some()
    }

    fn add(
        &mut self,
        (start, end): (usize, usize),
        rule: Rule,
        severity: Severity,
        shown: usize,
        message: String,
    ) {
        if end <= start || self.overlaps(start, end) {
            return;
        }
        self.hits.insert(
            start,
            SecretHit {
                start,
                end,
                rule,
                severity,
                message,
                shown,
                echo: false,
            },
        );
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether a token may start at `start`: nothing of `word` before it, except the letter of an
/// escape (`"…\nAKIA…"` in a string literal starts a new token after the `\n`).
fn starts_token(bytes: &[u8], start: usize, word: impl Fn(u8) -> bool) -> bool {
    match start.checked_sub(1).map(|i| bytes[i]) {
        None => true,
        Some(b) if !word(b) => true,
        Some(b) => b"nrtbfv0".contains(&b) && start >= 2 && bytes[start - 2] == b'\\',
    }
}

/// Every start offset of `needle` in `hay`.
fn occurrences<'h>(hay: &'h [u8], needle: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
    let first = needle.first().copied().unwrap_or(0);
    (0..hay.len().saturating_sub(needle.len().saturating_sub(1)))
        .filter(move |&i| hay[i] == first && hay[i..].starts_with(needle))
}

/// Length of the run of bytes satisfying `ok` from `at`.
fn run(bytes: &[u8], at: usize, ok: impl Fn(u8) -> bool) -> usize {
    bytes
        .get(at..)
        .unwrap_or(&[])
        .iter()
        .take_while(|b| ok(**b))
        .count()
}

fn distinct(bytes: &[u8]) -> usize {
    let mut seen = [false; 256];
    for b in bytes {
        seen[usize::from(*b)] = true;
    }
    seen.iter().filter(|s| **s).count()
}

/// Shannon entropy in bits per byte.
fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for b in bytes {
        counts[usize::from(*b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Minimum distinct characters in a token's body (below: a placeholder like `xxxx…`).
const MIN_DISTINCT: usize = 5;

fn private_keys(src: &str, found: &mut Found) {
    let bytes = src.as_bytes();
    for start in occurrences(bytes, b"-----BEGIN ") {
        let label_at = start + "-----BEGIN ".len();
        let label_len = run(bytes, label_at, |b| {
            b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' '
        });
        if label_len > 40 {
            continue;
        }
        let label = src.get(label_at..label_at + label_len).unwrap_or("");
        if !(label.ends_with("PRIVATE KEY") || label.ends_with("PRIVATE KEY BLOCK")) {
            continue;
        }
        let marker_end = label_at + label_len;
        if !bytes[marker_end..].starts_with(b"-----") {
            continue;
        }
        let body_at = marker_end + 5;
        let (body_end, base64_chars) = pem_body(bytes, body_at);
        if base64_chars < 40 {
            continue; // a marker in a parser's source, not a key
        }
        let mut end = body_end;
        if bytes[body_end..].starts_with(b"-----END ") {
            let after = body_end + "-----END ".len();
            let l = run(bytes, after, |b| {
                b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' '
            });
            if bytes[after + l..].starts_with(b"-----") {
                end = after + l + 5;
            }
        }
        let context = src
            .get(start.saturating_sub(64)..start)
            .unwrap_or("")
            .contains("private_key");
        let what = if context {
            format!("a service-account private key ({label}, the `private_key` of a JSON credentials file)")
        } else {
            format!("a private key ({label})")
        };
        found.add(
            (start, end),
            Rule::SecretPrivateKey,
            Severity::Error,
            marker_end + 5 - start,
            format!(
                "{what} is in the bundle: {REDACTED_MARK}; anyone who loads the plugin has it. Remove it and revoke the key"
            ),
        );
    }
}

/// The end of a PEM body from `at` and how many base64 characters it holds. The body may
/// hold whitespace, `\n`/`\r` escapes (a key in a JSON or JS string) and RFC 1421 header
/// characters (`Proc-Type: 4,ENCRYPTED`); it stops at `-----` or anything else.
fn pem_body(bytes: &[u8], at: usize) -> (usize, usize) {
    let mut i = at;
    let mut count = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => {
                count += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\n' | b'\r' | b':' | b',' => i += 1,
            b'-' if !bytes[i..].starts_with(b"-----") => i += 1,
            b'\\' => {
                let slashes = run(bytes, i, |c| c == b'\\');
                match bytes.get(i + slashes) {
                    Some(b'n' | b'r') => i += slashes + 1,
                    _ => break,
                }
            }
            _ => break,
        }
    }
    (i, count)
}

fn aws_keys(bytes: &[u8], found: &mut Found) {
    for prefix in [&b"AKIA"[..], b"ASIA"] {
        for start in occurrences(bytes, prefix) {
            if !starts_token(bytes, start, |b| b.is_ascii_alphanumeric()) {
                continue;
            }
            let body = run(bytes, start + 4, |b| {
                b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)
            });
            let end = start + 4 + 16;
            if body < 16 || bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
                continue;
            }
            if distinct(&bytes[start + 4..end]) < MIN_DISTINCT {
                continue;
            }
            let kind = if prefix == b"AKIA" {
                "a long-term AWS access key id"
            } else {
                "a temporary AWS access key id (STS)"
            };
            found.add(
                (start, end),
                Rule::SecretAwsAccessKey,
                Severity::Error,
                4,
                format!("{kind} is in the bundle: {REDACTED_MARK}; its secret key is likely near. Remove both and rotate them"),
            );
        }
    }
}

fn github_tokens(bytes: &[u8], found: &mut Found) {
    for prefix in [&b"ghp_"[..], b"gho_", b"ghu_", b"ghs_", b"ghr_"] {
        for start in occurrences(bytes, prefix) {
            if !starts_token(bytes, start, is_word) {
                continue;
            }
            let body = run(bytes, start + 4, |b| b.is_ascii_alphanumeric());
            if body != 36
                || bytes.get(start + 40) == Some(&b'_')
                || distinct(&bytes[start + 4..start + 40]) < MIN_DISTINCT
            {
                continue;
            }
            found.add(
                (start, start + 40),
                Rule::SecretGithubToken,
                Severity::Error,
                4,
                format!(
                    "a GitHub token is in the bundle: {REDACTED_MARK}. Remove it and revoke it"
                ),
            );
        }
    }
    for start in occurrences(bytes, b"github_pat_") {
        if !starts_token(bytes, start, is_word) {
            continue;
        }
        let at = start + "github_pat_".len();
        let body = run(bytes, at, is_word);
        if body < 82 || distinct(&bytes[at..at + body]) < MIN_DISTINCT {
            continue;
        }
        found.add(
            (start, at + body),
            Rule::SecretGithubToken,
            Severity::Error,
            "github_pat_".len(),
            format!("a fine-grained GitHub token is in the bundle: {REDACTED_MARK}. Remove it and revoke it"),
        );
    }
}

fn slack_tokens(bytes: &[u8], found: &mut Found) {
    for kind in [b'b', b'p', b'a', b'o', b'r', b's'] {
        let prefix = [b'x', b'o', b'x', kind, b'-'];
        for start in occurrences(bytes, &prefix) {
            if !starts_token(bytes, start, is_word) {
                continue;
            }
            let at = start + 5;
            let number = run(bytes, at, |b| b.is_ascii_digit());
            if number == 0 || bytes.get(at + number) != Some(&b'-') {
                continue;
            }
            let rest_at = at + number + 1;
            let rest = run(bytes, rest_at, |b| b.is_ascii_alphanumeric() || b == b'-');
            if rest < 10 || distinct(&bytes[rest_at..rest_at + rest]) < MIN_DISTINCT {
                continue;
            }
            found.add(
                (start, rest_at + rest),
                Rule::SecretSlackToken,
                Severity::Error,
                5,
                format!("a Slack token is in the bundle: {REDACTED_MARK}. Remove it and revoke it"),
            );
        }
    }
}

fn stripe_keys(bytes: &[u8], found: &mut Found) {
    for (prefix, severity, mode) in [
        (&b"sk_live_"[..], Severity::Error, "live secret"),
        (b"rk_live_", Severity::Error, "live restricted"),
        (b"sk_test_", Severity::Warning, "test-mode secret"),
        (b"rk_test_", Severity::Warning, "test-mode restricted"),
    ] {
        for start in occurrences(bytes, prefix) {
            if !starts_token(bytes, start, is_word) {
                continue;
            }
            let at = start + prefix.len();
            let body = run(bytes, at, |b| b.is_ascii_alphanumeric());
            if body < 24 || bytes.get(at + body) == Some(&b'_') {
                continue;
            }
            if distinct(&bytes[at..at + body]) < MIN_DISTINCT {
                continue;
            }
            found.add(
                (start, at + body),
                Rule::SecretStripeKey,
                severity,
                prefix.len(),
                format!(
                    "a Stripe {mode} key is in the bundle: {REDACTED_MARK}. Remove it and roll it"
                ),
            );
        }
    }
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The longest JWT considered, in bytes.
const MAX_JWT: usize = 16 * 1024;

fn jwts(bytes: &[u8], found: &mut Found) {
    for start in occurrences(bytes, b"eyJ") {
        if !starts_token(bytes, start, is_base64url) {
            continue;
        }
        let h = run(bytes, start, is_base64url);
        if bytes.get(start + h) != Some(&b'.') {
            continue;
        }
        let p_at = start + h + 1;
        let p = run(bytes, p_at, is_base64url);
        if p == 0 || bytes.get(p_at + p) != Some(&b'.') {
            continue;
        }
        let s_at = p_at + p + 1;
        let s = run(bytes, s_at, is_base64url);
        let end = s_at + s;
        if end - start > MAX_JWT || bytes.get(end) == Some(&b'.') {
            continue; // longer than any token, or five segments (JWE)
        }
        let Ok(header) =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&bytes[start..start + h])
        else {
            continue;
        };
        // `from_str` rather than `from_slice`: JSON outside strings is ASCII, and invalid UTF-8
        // inside one fails either way; one reader type keeps one copy of serde_json's parser.
        let alg = std::str::from_utf8(&header)
            .ok()
            .and_then(|h| crate::core::json::parse_value(h).ok())
            .and_then(|v| v.get("alg").and_then(|a| a.as_str()).map(str::to_owned));
        let Some(alg) = alg else {
            continue;
        };
        let alg =
            if !alg.is_empty() && alg.len() <= 16 && alg.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                format!(" ({alg})")
            } else {
                String::new()
            };
        found.add(
            (start, end),
            Rule::SecretJwt,
            Severity::Warning,
            3,
            format!("a JSON Web Token{alg} is in the bundle: {REDACTED_MARK}; it is a bearer credential until it expires"),
        );
    }
}

/// Name suffixes (lowercase, `_`/`-` removed) whose literal values are checked.
const SECRET_NAMES: &[&str] = &[
    "apikey",
    "secret",
    "secretkey",
    "password",
    "passwd",
    "passphrase",
    "token",
    "privatekey",
];

/// Substrings (matched lowercase) that make a value a placeholder.
const PLACEHOLDERS: &[&str] = &[
    "xxx",
    "***",
    "...",
    "…",
    "<",
    ">",
    "${",
    "{{",
    "%s",
    "://",
    "your",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "example",
    "sample",
    "dummy",
    "fake",
    "mock",
    "test",
    "redacted",
    "replace",
    "insert",
    "todo",
    "fixme",
    "password",
    "secret",
    "token",
    "process.env",
    "import.meta",
];

/// Prefixes of keys that are public by design.
const PUBLIC_KEY_PREFIXES: &[&str] = &["AIza", "pk_live_", "pk_test_"];

/// The longest literal value considered.
const MAX_LITERAL: usize = 512;

/// Whether `value` looks like a real credential (see the module docs).
pub(crate) fn is_credential_like(value: &str) -> bool {
    let bytes = value.as_bytes();
    if !(8..=MAX_LITERAL).contains(&bytes.len())
        || !bytes.iter().all(|b| b.is_ascii_graphic())
        || distinct(bytes) < MIN_DISTINCT
    {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDERS.iter().any(|p| lower.contains(p))
        || PUBLIC_KEY_PREFIXES.iter().any(|p| value.starts_with(p))
    {
        return false;
    }
    let letters = bytes.iter().any(u8::is_ascii_alphabetic);
    let digits = bytes.iter().any(u8::is_ascii_digit);
    let e = entropy(bytes);
    (letters && digits && e >= 3.0) || (bytes.len() >= 20 && e >= 3.5)
}

fn is_name_char(b: u8) -> bool {
    is_word(b) || b == b'-' || b == b'$'
}

fn literals(bytes: &[u8], found: &mut Found) {
    for (op_at, &op) in bytes.iter().enumerate() {
        if op != b'=' && op != b':' {
            continue;
        }
        let prev = op_at.checked_sub(1).and_then(|i| bytes.get(i)).copied();
        let next = bytes.get(op_at + 1).copied();
        let compound = match op {
            b'=' => {
                prev.is_some_and(|p| b"=!<>+-*/%&|^?".contains(&p))
                    || matches!(next, Some(b'=' | b'>'))
            }
            _ => prev == Some(b':') || next == Some(b':'),
        };
        if compound {
            continue;
        }
        // The name, backwards: spaces, an optional closing quote, the name characters.
        let mut i = op_at;
        while i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
            i -= 1;
        }
        let space_before = i < op_at;
        let mut quote = None;
        if i > 0 && matches!(bytes[i - 1], b'"' | b'\'' | b'`') {
            quote = Some(bytes[i - 1]);
            i -= 1;
        }
        let name_end = i;
        while i > 0 && name_end - i < 64 && is_name_char(bytes[i - 1]) {
            i -= 1;
        }
        let name = &bytes[i..name_end];
        if name.is_empty() || (i > 0 && is_name_char(bytes[i - 1])) {
            continue;
        }
        if let Some(q) = quote {
            if i == 0 || bytes[i - 1] != q {
                continue;
            }
        }
        let normalized: String = name
            .iter()
            .filter(|b| **b != b'_' && **b != b'-')
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect();
        if !SECRET_NAMES.iter().any(|s| normalized.ends_with(s)) {
            continue;
        }
        // The value, forwards.
        let mut j = op_at + 1;
        while matches!(bytes.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        let space_after = j > op_at + 1;
        let (start, end) = match bytes.get(j) {
            Some(&q @ (b'"' | b'\'' | b'`')) => {
                let at = j + 1;
                let len = run(bytes, at, |b| {
                    b != q && b != b'\\' && b != b'\n' && b != b'\r'
                });
                if bytes.get(at + len) != Some(&q) || len > MAX_LITERAL {
                    continue;
                }
                (at, at + len)
            }
            Some(_) if op == b'=' && !space_before && !space_after => {
                let len = run(bytes, j, |b| {
                    b.is_ascii_alphanumeric() || b"-_.~+/=%".contains(&b)
                });
                (j, j + len)
            }
            _ => continue,
        };
        let Ok(value) = std::str::from_utf8(&bytes[start..end]) else {
            continue;
        };
        if !is_credential_like(value) {
            continue;
        }
        let name = String::from_utf8_lossy(name);
        found.add(
            (start, end),
            Rule::SecretLiteral,
            Severity::Warning,
            0,
            format!("`{name}` is given a literal that looks like a credential: {REDACTED_MARK}. Let the host supply secrets at run time; a bundle is public"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_credential_shape() {
        assert!(entropy(b"aaaa") < 0.01);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(is_credential_like("9f8e7d6c5b4a3f2e1d0c"));
        assert!(!is_credential_like("changeme"));
        assert!(!is_credential_like("hunter2"));
        assert!(!is_credential_like("access_token"));
    }

    #[test]
    fn overlapping_hits_keep_the_first() {
        let mut f = Found::default();
        f.add(
            (5, 10),
            Rule::SecretJwt,
            Severity::Warning,
            0,
            String::new(),
        );
        f.add(
            (8, 12),
            Rule::SecretLiteral,
            Severity::Warning,
            0,
            String::new(),
        );
        f.add(
            (0, 6),
            Rule::SecretLiteral,
            Severity::Warning,
            0,
            String::new(),
        );
        f.add(
            (10, 12),
            Rule::SecretLiteral,
            Severity::Warning,
            0,
            String::new(),
        );
        let starts: Vec<usize> = f.hits.keys().copied().collect();
        assert_eq!(starts, [5, 10]);
    }
}
