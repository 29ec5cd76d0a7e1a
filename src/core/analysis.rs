//! Bundle static analysis: flag the careless and the obvious in a plugin's JavaScript.
//!
//! # Security
//!
//! **This is a filter, not a security boundary.** It catches code that calls `eval` in plain
//! sight, writes strings into `innerHTML`, or talks to origins its manifest did not declare;
//! it helps reviewers and keeps honest mistakes out of a marketplace. Code written to evade it
//! always can (obfuscation, values built at run time, `Function` reached through
//! `(()=>{}).constructor`, and so on). What contains a hostile plugin is the sandbox — the
//! iframe or worker, its CSP and the permission checks on every message — never this scan.
//!
//! # How it reads code
//!
//! A small JavaScript lexer (not regular expressions over raw text) splits the bundle into
//! tokens: it skips line and block comments, reads single- and double-quoted strings with their
//! escapes, template literals with nested `${ … }` substitutions (the code inside a
//! substitution is scanned as code), regular-expression literals, numbers, identifiers (with
//! `\u` escapes decoded) and punctuators. Whether a `/` starts a regular expression or divides
//! is decided by the usual heuristic: it starts one unless the previous significant token ends
//! an expression (an identifier that is not a keyword such as `return`/`typeof`/`case`/`in`/
//! `of`, a number, a string, a closing template, `)`, `]` or `}`); a `)` closing the condition
//! of `if`/`while`/`for`/`with` counts as not ending one. The lexer never fails: anything it
//! cannot read becomes a `parse-error` warning and scanning goes on.
//!
//! Positions are 1-based. **Columns count UTF-16 code units**, as JavaScript string indices,
//! browser devtools and source maps do (an astral character such as `😀` is two columns).
//! Lines end at `\n`, `\r\n`, `\r`, U+2028 and U+2029.
//!
//! # Rules
//!
//! | rule | severity | flags |
//! | --- | --- | --- |
//! | `no-eval` | error | a call of the global `eval` (`eval(…)`, `eval?.(…)`, `window.eval(…)`) |
//! | `no-eval` | warning | `eval` referenced as a value (an alias such as `(0, eval)(s)` still runs strings) |
//! | `no-function-constructor` | error | `new Function`, `Function(…)` |
//! | `no-string-timer` | error | `setTimeout`/`setInterval` whose first argument is a string or template literal |
//! | `no-html-sink` | warning | `.innerHTML =`/`+=`, `.outerHTML =`/`+=` (also `["innerHTML"] =`), `.insertAdjacentHTML(` |
//! | `no-document-write` | warning | `document.write(`, `document.writeln(` |
//! | `no-dynamic-import` | warning | `import(…)` whose argument is not one plain string literal |
//! | `undeclared-origin` | warning | an `http://`/`https://` URL in a string or template whose origin is not declared (first occurrence of each origin) |
//! | `computed-global-access` | error | `window["eval"]` and friends, or a key built by concatenation (`window["ev" + "al"]`) |
//! | `computed-global-access` | warning | any other non-literal key: `window[name]` |
//! | `obfuscation-escaped-identifier` | warning | an identifier spelled with `\u` escapes; a string dense with `\x`/`\u` escapes of plain ASCII |
//! | `obfuscation-long-line` | warning | a line longer than [`AnalysisOptions::long_line_chars`] characters, at least half of it escapes or hex literals |
//! | `parse-error` | warning | an unterminated string, template, regular expression or comment |
//! | `secret-private-key` | error | a PEM private key block (a service-account JSON `private_key` included) |
//! | `secret-aws-access-key` | error | an AWS access key id (`AKIA…`, `ASIA…`) |
//! | `secret-github-token` | error | a GitHub token (`ghp_…`, `github_pat_…`, …) |
//! | `secret-slack-token` | error | a Slack token (`xoxb-…`, `xoxp-…`, …) |
//! | `secret-stripe-key` | error / warning | a Stripe secret or restricted key, live (error) or test mode (warning) |
//! | `secret-jwt` | warning | a JSON Web Token whose header decodes to JSON with `alg` |
//! | `secret-literal` | warning | `api_key=`/`secret:`/`password =` style names given a credential-looking literal |
//!
//! The `secret-*` rules read the raw text (comments included) and are specified exactly in
//! the [`secrets`] module. **No output shows a secret in full**: a finding's message and
//! excerpt, and the excerpt of any other finding on the same line, show a secret as its
//! non-secret prefix, `…` and its length (`AKIA…(20 chars)`, see [`redact`]).
//!
//! Decisions worth knowing:
//!
//! - A property named like a global is not the global: `obj.eval(x)`, `x.evaluate()`,
//!   `medieval`, `{ eval: 1 }` and `typeof eval` are not flagged. A property of a global-object
//!   name (`window`, `self`, `globalThis`, `top`, `parent`, `frames`) is: `window.eval(x)`.
//! - A template literal without substitutions counts as a plain string, so
//!   ``import(`./x.js`)`` is as fine as `import('./x.js')`.
//! - Method shorthand named `eval` (`class A { eval() {} }`) is a known false positive.
//! - URLs are checked by origin only; `http://www.w3.org` and `https://www.w3.org` (XML
//!   namespace names, not fetched) are never reported.
//!
//! # Limits
//!
//! Bundles over [`AnalysisOptions::max_bytes`] (10 MiB by default) are refused with
//! `BUNDLE_REJECTED` before any scanning. At most [`AnalysisOptions::max_findings`] findings of
//! each severity are kept (the counts stay exact), so a flood of warnings cannot hide an error.
//! The lexer is a single pass with no recursion and a few tokens of look-ahead.

use std::borrow::Cow;
use std::collections::VecDeque;

use crate::core::collections::SortedSet;

use super::weburl::WebUrl;
use serde::Serialize;
use thiserror::Error;

use super::error::{Coded, ErrorCode};
use super::network::NetworkEntry;

mod excerpt;
pub mod secrets;

use excerpt::{excerpt, locate};
pub use secrets::redact;
use secrets::SecretHit;

/// Default for [`AnalysisOptions::max_bytes`]: 10 MiB.
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Default for [`AnalysisOptions::max_findings`] (per severity).
pub const DEFAULT_MAX_FINDINGS: usize = 1000;
/// Default for [`AnalysisOptions::long_line_chars`].
pub const DEFAULT_LONG_LINE_CHARS: usize = 1000;
/// The longest excerpt, in characters.
pub const MAX_EXCERPT_CHARS: usize = 120;

/// Names under which scripts reach the global object.
const GLOBAL_OBJECTS: &[&str] = &["window", "self", "globalThis", "top", "parent", "frames"];
/// Globals that turn strings into code.
const CODE_FROM_STRING_GLOBALS: &[&str] = &[
    "eval",
    "Function",
    "setTimeout",
    "setInterval",
    "execScript",
];
/// Keywords after which `/` starts a regular expression.
const REGEX_AFTER_KEYWORDS: &[&str] = &[
    "return",
    "typeof",
    "instanceof",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "case",
    "do",
    "else",
    "yield",
    "await",
    "extends",
];
/// Origins that appear in URLs but are names, not fetch targets.
const IGNORED_ORIGINS: &[&str] = &["http://www.w3.org", "https://www.w3.org"];
/// Look-ahead kept by the rule matcher, in tokens.
const LOOKAHEAD: usize = 4;

/// What the analysis is told about the plugin, and its limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnalysisOptions {
    /// The plugin's declared network allowlist: URLs (`https://api.acme.example/v1/`) or bare
    /// origins. Only their origins are used.
    pub declared_origins: Vec<String>,
    /// The largest bundle accepted, in bytes.
    pub max_bytes: usize,
    /// The most findings of each severity kept in the report.
    pub max_findings: usize,
    /// The length (in characters) above which a line may count as obfuscated.
    pub long_line_chars: usize,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            declared_origins: Vec::new(),
            max_bytes: DEFAULT_MAX_BYTES,
            max_findings: DEFAULT_MAX_FINDINGS,
            long_line_chars: DEFAULT_LONG_LINE_CHARS,
        }
    }
}

impl AnalysisOptions {
    /// Default limits, with the origins of a manifest's validated `network` entries declared.
    ///
    /// ```
    /// use plugin_warden::core::analysis::{analyze, AnalysisOptions};
    /// use plugin_warden::core::network::{NetworkEntry, NetworkOptions};
    /// let entry = NetworkEntry::parse("https://api.acme.example/v1/", NetworkOptions::default()).unwrap();
    /// let opts = AnalysisOptions::from_network(&[entry]);
    /// let report = analyze("fetch('https://api.acme.example/v2/x')", &opts).unwrap();
    /// assert!(report.findings.is_empty());
    /// ```
    pub fn from_network(entries: &[NetworkEntry]) -> Self {
        AnalysisOptions {
            declared_origins: entries.iter().map(NetworkEntry::origin).collect(),
            ..AnalysisOptions::default()
        }
    }
}

/// How serious a finding is. `has_errors` is what install gates on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a reviewer's look; does not fail a bundle by itself.
    Warning,
    /// Fails the bundle.
    Error,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A rule, with a stable kebab-case id (see the module docs for what each flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Rule {
    /// `no-eval`
    NoEval,
    /// `no-function-constructor`
    NoFunctionConstructor,
    /// `no-string-timer`
    NoStringTimer,
    /// `no-html-sink`
    NoHtmlSink,
    /// `no-document-write`
    NoDocumentWrite,
    /// `no-dynamic-import`
    NoDynamicImport,
    /// `undeclared-origin`
    UndeclaredOrigin,
    /// `obfuscation-long-line`
    ObfuscationLongLine,
    /// `obfuscation-escaped-identifier`
    ObfuscationEscapedIdentifier,
    /// `computed-global-access`
    ComputedGlobalAccess,
    /// `parse-error`
    ParseError,
    /// `secret-private-key`
    SecretPrivateKey,
    /// `secret-aws-access-key`
    SecretAwsAccessKey,
    /// `secret-github-token`
    SecretGithubToken,
    /// `secret-slack-token`
    SecretSlackToken,
    /// `secret-stripe-key`
    SecretStripeKey,
    /// `secret-jwt`
    SecretJwt,
    /// `secret-literal`
    SecretLiteral,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 18] = [
        Rule::NoEval,
        Rule::NoFunctionConstructor,
        Rule::NoStringTimer,
        Rule::NoHtmlSink,
        Rule::NoDocumentWrite,
        Rule::NoDynamicImport,
        Rule::UndeclaredOrigin,
        Rule::ObfuscationLongLine,
        Rule::ObfuscationEscapedIdentifier,
        Rule::ComputedGlobalAccess,
        Rule::ParseError,
        Rule::SecretPrivateKey,
        Rule::SecretAwsAccessKey,
        Rule::SecretGithubToken,
        Rule::SecretSlackToken,
        Rule::SecretStripeKey,
        Rule::SecretJwt,
        Rule::SecretLiteral,
    ];

    /// The stable id.
    ///
    /// ```
    /// use plugin_warden::core::analysis::Rule;
    /// assert_eq!(Rule::NoEval.as_str(), "no-eval");
    /// assert_eq!(Rule::ComputedGlobalAccess.as_str(), "computed-global-access");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Rule::NoEval => "no-eval",
            Rule::NoFunctionConstructor => "no-function-constructor",
            Rule::NoStringTimer => "no-string-timer",
            Rule::NoHtmlSink => "no-html-sink",
            Rule::NoDocumentWrite => "no-document-write",
            Rule::NoDynamicImport => "no-dynamic-import",
            Rule::UndeclaredOrigin => "undeclared-origin",
            Rule::ObfuscationLongLine => "obfuscation-long-line",
            Rule::ObfuscationEscapedIdentifier => "obfuscation-escaped-identifier",
            Rule::ComputedGlobalAccess => "computed-global-access",
            Rule::ParseError => "parse-error",
            Rule::SecretPrivateKey => "secret-private-key",
            Rule::SecretAwsAccessKey => "secret-aws-access-key",
            Rule::SecretGithubToken => "secret-github-token",
            Rule::SecretSlackToken => "secret-slack-token",
            Rule::SecretStripeKey => "secret-stripe-key",
            Rule::SecretJwt => "secret-jwt",
            Rule::SecretLiteral => "secret-literal",
        }
    }
}

/// One thing the analysis found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which rule.
    pub rule: Rule,
    /// How serious.
    pub severity: Severity,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in UTF-16 code units.
    pub column: usize,
    /// The source line, trimmed; a long line is cut to a window around the finding and marked
    /// with `…`. At most [`MAX_EXCERPT_CHARS`] characters. Secrets are redacted (see
    /// [`redact`]).
    pub excerpt: String,
    /// What was found and why it matters.
    pub message: String,
}

/// The result of [`analyze`]. Serialized with camelCase keys (`errorCount`, `warningCount`), as
/// JavaScript callers of `analyzeBundle` expect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisReport {
    /// Findings in source order, at most [`AnalysisOptions::max_findings`] of each severity.
    pub findings: Vec<Finding>,
    /// How many lines the bundle has (as `str::lines` counts, with every JS line terminator).
    pub lines: usize,
    /// The bundle's size in bytes.
    pub bytes: usize,
    /// Every error found, including those not kept in `findings`.
    pub error_count: usize,
    /// Every warning found, including those not kept in `findings`.
    pub warning_count: usize,
    /// Whether some findings were dropped because of `max_findings`.
    pub truncated: bool,
}

impl AnalysisReport {
    /// Whether any error-severity finding was made (kept in `findings` or not).
    ///
    /// ```
    /// use plugin_warden::core::analysis::{analyze, AnalysisOptions};
    /// let opts = AnalysisOptions::default();
    /// assert!(analyze("eval(x)", &opts).unwrap().has_errors());
    /// assert!(!analyze("// eval(x)", &opts).unwrap().has_errors());
    /// ```
    pub fn has_errors(&self) -> bool {
        self.error_count > 0
    }

    /// The error-severity findings kept in the report.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// Turn a report with errors into [`AnalysisError::Rejected`], for the install pipeline.
    ///
    /// # Errors
    /// [`AnalysisError::Rejected`] (`BUNDLE_REJECTED`) naming the first error when
    /// [`AnalysisReport::has_errors`].
    ///
    /// ```
    /// use plugin_warden::core::analysis::{analyze, AnalysisOptions};
    /// use plugin_warden::core::error::{Coded, ErrorCode};
    /// let report = analyze("new Function('return 1')", &AnalysisOptions::default()).unwrap();
    /// let err = report.check().unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::BundleRejected);
    /// assert!(err.to_string().contains("no-function-constructor"));
    /// ```
    pub fn check(&self) -> Result<(), AnalysisError> {
        if !self.has_errors() {
            return Ok(());
        }
        let first = self
            .errors()
            .next()
            .map(|f| {
                format!(
                    "{} at {}:{}: {}",
                    f.rule.as_str(),
                    f.line,
                    f.column,
                    f.message
                )
            })
            .unwrap_or_default();
        Err(AnalysisError::Rejected {
            errors: self.error_count,
            first,
        })
    }
}

/// Why a bundle could not be analysed, or was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnalysisError {
    /// The bundle is larger than [`AnalysisOptions::max_bytes`].
    #[error("bundle is {bytes} bytes; at most {max} are accepted")]
    TooLarge {
        /// The bundle's size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The bundle is not UTF-8.
    #[error("bundle is not valid UTF-8 (first invalid byte at offset {offset})")]
    NotUtf8 {
        /// The byte offset where decoding failed.
        offset: usize,
    },
    /// The analysis found errors.
    #[error("bundle analysis found {errors} error(s); first: {first}")]
    Rejected {
        /// How many errors.
        errors: usize,
        /// The first one, as `rule at line:column: message`.
        first: String,
    },
}

impl Coded for AnalysisError {
    fn code(&self) -> ErrorCode {
        ErrorCode::BundleRejected
    }
}

/// Scan a JavaScript bundle.
///
/// # Errors
/// [`AnalysisError::TooLarge`] (`BUNDLE_REJECTED`) when `code` is over `opts.max_bytes`.
/// Anything else, including code that does not lex, gives a report (never a panic).
///
/// # Security
/// A filter for careless and obvious cases, not a boundary: see the module docs.
///
/// ```
/// use plugin_warden::core::analysis::{analyze, AnalysisOptions, Rule, Severity};
/// let code = "const s = 'eval(x)'; // eval(y)\nel.innerHTML = s;\nwindow.eval(s);";
/// let report = analyze(code, &AnalysisOptions::default()).unwrap();
/// let found: Vec<_> = report.findings.iter().map(|f| (f.rule, f.line, f.column)).collect();
/// assert_eq!(found, [(Rule::NoHtmlSink, 2, 4), (Rule::NoEval, 3, 8)]);
/// assert_eq!(report.findings[1].severity, Severity::Error);
/// assert_eq!(report.findings[1].excerpt, "window.eval(s);");
/// assert_eq!(report.lines, 3);
/// ```
pub fn analyze(code: &str, opts: &AnalysisOptions) -> Result<AnalysisReport, AnalysisError> {
    check_size(code.len(), opts)?;
    let mut scan = Scan::new(code, opts);
    let mut lexer = Lexer::new(code, opts.long_line_chars);
    let mut window: VecDeque<Token<'_>> = VecDeque::with_capacity(LOOKAHEAD + 1);
    let mut prev: [Option<Token<'_>>; 2] = [None, None];
    loop {
        while window.len() < LOOKAHEAD {
            match lexer.next_token(&mut scan) {
                Some(t) => window.push_back(t),
                None => break,
            }
        }
        let Some(cur) = window.pop_front() else {
            break;
        };
        let [p1, p2] = &prev;
        scan.rules(&cur, p1.as_ref(), p2.as_ref(), &window);
        prev = [Some(cur), prev[0].take()];
    }
    let lines = lexer.finish(&mut scan);
    scan.report_secrets();
    Ok(scan.into_report(lines))
}

/// [`AnalysisError::TooLarge`] when `bytes` is over `opts.max_bytes`.
fn check_size(bytes: usize, opts: &AnalysisOptions) -> Result<(), AnalysisError> {
    if bytes > opts.max_bytes {
        return Err(AnalysisError::TooLarge {
            bytes,
            max: opts.max_bytes,
        });
    }
    Ok(())
}

/// [`analyze`] raw bytes, which must be UTF-8.
///
/// # Errors
/// [`AnalysisError::TooLarge`] over the size limit (checked first), [`AnalysisError::NotUtf8`]
/// for invalid UTF-8 (the browser would decode it differently than any review did); both
/// `BUNDLE_REJECTED`.
///
/// ```
/// use plugin_warden::core::analysis::{analyze_bytes, AnalysisOptions};
/// assert!(analyze_bytes(b"let a = 1;", &AnalysisOptions::default()).is_ok());
/// assert!(analyze_bytes(b"let a = '\xff';", &AnalysisOptions::default()).is_err());
/// ```
pub fn analyze_bytes(code: &[u8], opts: &AnalysisOptions) -> Result<AnalysisReport, AnalysisError> {
    check_size(code.len(), opts)?;
    let text = std::str::from_utf8(code).map_err(|e| AnalysisError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    analyze(text, opts)
}

/// Only the secret rules (`secret-*`), for text that is not JavaScript: a JSON credentials
/// file, `.env`, a PEM key, HTML. Positions, excerpts and redaction are as in [`analyze`].
///
/// # Errors
/// [`AnalysisError::TooLarge`] (`BUNDLE_REJECTED`) over `opts.max_bytes`.
///
/// ```
/// use plugin_warden::core::analysis::{scan_secrets, AnalysisOptions, Rule};
/// let report = scan_secrets("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n", &AnalysisOptions::default()).unwrap();
/// assert_eq!(report.findings[0].rule, Rule::SecretAwsAccessKey);
/// assert_eq!(report.findings[0].excerpt, "AWS_ACCESS_KEY_ID=AKIA…(20 chars)");
/// ```
pub fn scan_secrets(text: &str, opts: &AnalysisOptions) -> Result<AnalysisReport, AnalysisError> {
    check_size(text.len(), opts)?;
    let mut scan = Scan::new(text, opts);
    scan.report_secrets();
    Ok(scan.into_report(text.lines().count()))
}

// ---------------------------------------------------------------------------------------------
// Tokens and the lexer
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TemplatePart {
    /// `` `…` `` (no substitution).
    Full,
    /// `` `…${ ``
    Head,
    /// `}…${`
    Middle,
    /// `` }…` ``
    Tail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ident,
    Number,
    Str,
    Template(TemplatePart),
    Regex,
    Punct,
}

/// Escape statistics of one literal, for the density rule.
#[derive(Clone, Copy, Debug, Default)]
struct Escapes {
    /// Raw characters of `\x`/`\u` escapes that decode to printable ASCII.
    ascii_escape_chars: usize,
    /// Raw characters between the delimiters.
    raw_chars: usize,
}

#[derive(Clone, Debug)]
struct Token<'a> {
    kind: Kind,
    /// Identifier name (escapes decoded), punctuator, or cooked string/template text.
    text: Cow<'a, str>,
    /// An identifier written with `\u` escapes.
    escaped: bool,
    escapes: Escapes,
    pos: Pos,
}

impl Token<'_> {
    fn is_punct(&self, p: &str) -> bool {
        self.kind == Kind::Punct && self.text == p
    }
    fn is_ident(&self, name: &str) -> bool {
        self.kind == Kind::Ident && self.text == name
    }
    fn is_ident_in(&self, names: &[&str]) -> bool {
        self.kind == Kind::Ident && names.contains(&self.text.as_ref())
    }
    /// A string literal, or a template without substitutions.
    fn is_plain_string(&self) -> bool {
        matches!(self.kind, Kind::Str | Kind::Template(TemplatePart::Full))
    }
    fn is_member_dot(&self) -> bool {
        self.is_punct(".") || self.is_punct("?.")
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Pos {
    line: usize,
    column: usize,
    /// Byte offset of the token.
    offset: usize,
    /// Byte offset of the start of its line.
    line_start: usize,
}

const PUNCTUATORS: &[&str] = &[
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=", "=>", "==", "!=",
    "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
    "**", "<<", ">>",
];

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

fn is_id_start(c: char) -> bool {
    c == '$' || c == '_' || c.is_alphabetic()
}

fn is_id_part(c: char) -> bool {
    is_id_start(c) || c.is_alphanumeric() || c == '\u{200c}' || c == '\u{200d}'
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    column: usize,
    line_start: usize,
    /// Characters on the current line, and how many belong to escapes or hex literals.
    line_chars: usize,
    line_obfuscated: usize,
    long_line_chars: usize,
    /// Whether a `/` here would start a regular expression.
    regex_allowed: bool,
    /// Open `{`: `Some(start of the template)` for a template substitution `${`.
    braces: Vec<Option<Pos>>,
    /// Open `(`: `true` when it follows `if`/`while`/`for`/`with`.
    parens: Vec<bool>,
    /// The last significant token was the keyword `if`/`while`/`for`/`with`.
    after_condition_keyword: bool,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str, long_line_chars: usize) -> Self {
        Lexer {
            src,
            pos: 0,
            line: 1,
            column: 1,
            line_start: 0,
            line_chars: 0,
            line_obfuscated: 0,
            long_line_chars,
            regex_allowed: true,
            braces: Vec::new(),
            parens: Vec::new(),
            after_condition_keyword: false,
        }
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn here(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
            offset: self.pos,
            line_start: self.line_start,
        }
    }

    /// Consume one character, keeping line and column.
    fn bump(&mut self, scan: &mut Scan<'_>) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        match c {
            '\r' if self.peek() == Some('\n') => {} // the `\n` ends the line
            c if is_line_terminator(c) => self.newline(scan),
            c => {
                self.column += c.len_utf16();
                self.line_chars += 1;
            }
        }
        Some(c)
    }

    fn newline(&mut self, scan: &mut Scan<'_>) {
        self.end_line(scan);
        self.line += 1;
        self.column = 1;
        self.line_start = self.pos;
        self.line_chars = 0;
        self.line_obfuscated = 0;
    }

    fn end_line(&mut self, scan: &mut Scan<'_>) {
        if self.line_chars > self.long_line_chars && self.line_obfuscated * 2 >= self.line_chars {
            let pos = Pos {
                line: self.line,
                column: 1,
                offset: self.line_start,
                line_start: self.line_start,
            };
            scan.report(
                Rule::ObfuscationLongLine,
                Severity::Warning,
                pos,
                format!(
                    "a {}-character line of which {} are escape sequences or hex literals",
                    self.line_chars, self.line_obfuscated
                ),
            );
        }
    }

    /// Close the last line and report a template left open; returns the line count.
    fn finish(&mut self, scan: &mut Scan<'_>) -> usize {
        self.end_line(scan);
        if let Some(start) = self.braces.iter().flatten().next() {
            scan.report(
                Rule::ParseError,
                Severity::Warning,
                *start,
                "unterminated template literal: a `${` substitution is never closed".to_owned(),
            );
        }
        if self.src.is_empty() {
            0
        } else if self.line_chars > 0 {
            self.line
        } else {
            self.line - 1
        }
    }

    fn next_token(&mut self, scan: &mut Scan<'a>) -> Option<Token<'a>> {
        loop {
            let c = self.peek()?;
            if c.is_whitespace() || c == '\u{feff}' {
                self.bump(scan);
                continue;
            }
            let start = self.here();
            let next = self.peek2();
            let token = match c {
                '/' if next == Some('/') => {
                    self.skip_line();
                    continue;
                }
                '#' if self.pos == 0 && next == Some('!') => {
                    self.skip_line();
                    continue;
                }
                '/' if next == Some('*') => {
                    self.skip_block_comment(scan, start);
                    continue;
                }
                '`' => {
                    self.bump(scan);
                    self.template(scan, start, true)
                }
                '}' if self.braces.last().is_some_and(Option::is_some) => {
                    self.braces.pop();
                    self.bump(scan);
                    self.template(scan, start, false)
                }
                '"' | '\'' => self.string(scan, start, c),
                '/' if self.regex_allowed => self.regex(scan, start),
                '0'..='9' => self.number(scan, start),
                '.' if next.is_some_and(|n| n.is_ascii_digit()) => self.number(scan, start),
                '\\' if next == Some('u') => self.ident(scan, start),
                c if is_id_start(c) => self.ident(scan, start),
                _ => self.punct(scan, start),
            };
            self.after(&token);
            return Some(token);
        }
    }

    /// Update the regex heuristic and bracket stacks after a token.
    fn after(&mut self, t: &Token<'_>) {
        let mut condition_keyword = false;
        self.regex_allowed = match t.kind {
            Kind::Ident => {
                condition_keyword = t.is_ident_in(&["if", "while", "for", "with"]);
                t.is_ident_in(REGEX_AFTER_KEYWORDS)
            }
            Kind::Number | Kind::Str | Kind::Regex => false,
            Kind::Template(part) => matches!(part, TemplatePart::Head | TemplatePart::Middle),
            Kind::Punct => match t.text.as_ref() {
                "(" => {
                    self.parens.push(self.after_condition_keyword);
                    true
                }
                ")" => self.parens.pop().unwrap_or(false),
                "{" => {
                    self.braces.push(None);
                    true
                }
                "}" => {
                    self.braces.pop();
                    false
                }
                "]" | "++" | "--" => false,
                _ => true,
            },
        };
        self.after_condition_keyword = condition_keyword;
    }

    fn skip_line(&mut self) {
        // No line terminator is consumed here, so `bump`'s line tracking is not needed;
        // columns still advance.
        while let Some(c) = self.peek() {
            if is_line_terminator(c) {
                break;
            }
            self.pos += c.len_utf8();
            self.column += c.len_utf16();
            self.line_chars += 1;
        }
    }

    fn skip_block_comment(&mut self, scan: &mut Scan<'_>, start: Pos) {
        self.bump(scan);
        self.bump(scan);
        loop {
            match self.bump(scan) {
                None => {
                    scan.report(
                        Rule::ParseError,
                        Severity::Warning,
                        start,
                        "unterminated block comment: `/*` without `*/`".to_owned(),
                    );
                    return;
                }
                Some('*') if self.peek() == Some('/') => {
                    self.bump(scan);
                    return;
                }
                Some(_) => {}
            }
        }
    }

    fn string(&mut self, scan: &mut Scan<'_>, start: Pos, quote: char) -> Token<'a> {
        self.bump(scan);
        let mut text = String::new();
        let mut escapes = Escapes::default();
        loop {
            match self.peek() {
                Some(c) if c == quote => {
                    self.bump(scan);
                    break;
                }
                None | Some('\n' | '\r') => {
                    scan.report(
                        Rule::ParseError,
                        Severity::Warning,
                        start,
                        format!("unterminated string literal: no closing {quote}"),
                    );
                    break;
                }
                Some('\\') => {
                    self.bump(scan);
                    escapes.raw_chars += 1;
                    self.escape(scan, &mut text, &mut escapes);
                }
                Some(c) => {
                    self.bump(scan);
                    escapes.raw_chars += 1;
                    text.push(c);
                }
            }
        }
        Token {
            kind: Kind::Str,
            text: Cow::Owned(text),
            escaped: false,
            escapes,
            pos: start,
        }
    }

    /// After the opening `` ` `` (`opening`) or a substitution's closing `}`.
    fn template(&mut self, scan: &mut Scan<'_>, start: Pos, opening: bool) -> Token<'a> {
        let mut text = String::new();
        let mut escapes = Escapes::default();
        let part = loop {
            match self.peek() {
                None => {
                    scan.report(
                        Rule::ParseError,
                        Severity::Warning,
                        start,
                        "unterminated template literal: no closing `".to_owned(),
                    );
                    break if opening {
                        TemplatePart::Full
                    } else {
                        TemplatePart::Tail
                    };
                }
                Some('`') => {
                    self.bump(scan);
                    break if opening {
                        TemplatePart::Full
                    } else {
                        TemplatePart::Tail
                    };
                }
                Some('$') if self.peek2() == Some('{') => {
                    self.bump(scan);
                    self.bump(scan);
                    self.braces.push(Some(start));
                    break if opening {
                        TemplatePart::Head
                    } else {
                        TemplatePart::Middle
                    };
                }
                Some('\\') => {
                    self.bump(scan);
                    escapes.raw_chars += 1;
                    self.escape(scan, &mut text, &mut escapes);
                }
                Some(c) => {
                    self.bump(scan);
                    escapes.raw_chars += 1;
                    text.push(c);
                }
            }
        };
        Token {
            kind: Kind::Template(part),
            text: Cow::Owned(text),
            escaped: false,
            escapes,
            pos: start,
        }
    }

    /// After a `\` in a string or template: decode one escape into `out`.
    fn escape(&mut self, scan: &mut Scan<'_>, out: &mut String, escapes: &mut Escapes) {
        let Some(c) = self.bump(scan) else {
            return;
        };
        escapes.raw_chars += 1;
        let decoded = match c {
            'x' => self.hex_digits(scan, 2).map(|v| (v, 4)),
            'u' => self.unicode_escape_body(scan),
            'n' => Some(('\n' as u32, 0)),
            't' => Some(('\t' as u32, 0)),
            'r' => Some(('\r' as u32, 0)),
            'b' => Some((0x08, 0)),
            'f' => Some((0x0c, 0)),
            'v' => Some((0x0b, 0)),
            '0' => Some((0, 0)),
            '\r' => {
                if self.peek() == Some('\n') {
                    self.bump(scan);
                }
                return; // line continuation
            }
            c if is_line_terminator(c) => return,
            other => Some((other as u32, 0)),
        };
        match decoded {
            Some((value, raw)) => {
                if raw > 0 {
                    // `raw` counts the whole escape; `\` and the letter are already counted.
                    escapes.raw_chars += raw.saturating_sub(2);
                    self.line_obfuscated += raw;
                    if (0x20..0x7f).contains(&value) {
                        escapes.ascii_escape_chars += raw;
                    }
                }
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
            }
            None => out.push(c), // `\x` or `\u` not followed by hex digits
        }
    }

    /// Exactly `n` hex digits, consumed only if all are present.
    fn hex_digits(&mut self, scan: &mut Scan<'_>, n: usize) -> Option<u32> {
        let digits = self.rest().get(..n)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let value = u32::from_str_radix(digits, 16).ok()?;
        for _ in 0..n {
            self.bump(scan);
        }
        Some(value)
    }

    /// After `\u`: `XXXX` or `{X…}`; returns the code point and the escape's raw length.
    fn unicode_escape_body(&mut self, scan: &mut Scan<'_>) -> Option<(u32, usize)> {
        if self.peek() != Some('{') {
            return self.hex_digits(scan, 4).map(|v| (v, 6));
        }
        let rest = self.rest();
        // At most six digits: look no further for the `}` (searching to the end of the input
        // would make a run of `\u{` quadratic).
        let close = rest.bytes().skip(1).take(7).position(|b| b == b'}')?;
        let digits = rest.get(1..1 + close)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let value = u32::from_str_radix(digits, 16).ok()?;
        for _ in 0..close + 2 {
            self.bump(scan);
        }
        Some((value, close + 4))
    }

    fn regex(&mut self, scan: &mut Scan<'_>, start: Pos) -> Token<'a> {
        self.bump(scan);
        let mut in_class = false;
        loop {
            match self.peek() {
                None => break self.unterminated_regex(scan, start),
                Some(c) if is_line_terminator(c) => break self.unterminated_regex(scan, start),
                Some('\\') => {
                    self.bump(scan);
                    if self.peek().is_some_and(|c| !is_line_terminator(c)) {
                        self.bump(scan);
                    }
                }
                Some('[') => {
                    in_class = true;
                    self.bump(scan);
                }
                Some(']') => {
                    in_class = false;
                    self.bump(scan);
                }
                Some('/') if !in_class => {
                    self.bump(scan);
                    while self.peek().is_some_and(is_id_part) {
                        self.bump(scan);
                    }
                    break;
                }
                Some(_) => {
                    self.bump(scan);
                }
            }
        }
        Token {
            kind: Kind::Regex,
            text: Cow::Borrowed(self.src.get(start.offset..self.pos).unwrap_or("")),
            escaped: false,
            escapes: Escapes::default(),
            pos: start,
        }
    }

    fn unterminated_regex(&mut self, scan: &mut Scan<'_>, start: Pos) {
        scan.report(
            Rule::ParseError,
            Severity::Warning,
            start,
            "unterminated regular expression literal".to_owned(),
        );
    }

    fn number(&mut self, scan: &mut Scan<'_>, start: Pos) -> Token<'a> {
        let hex = self.peek() == Some('0') && matches!(self.peek2(), Some('x' | 'X'));
        let mut last = '\0';
        while let Some(c) = self.peek() {
            let exponent_sign = !hex && matches!(c, '+' | '-') && matches!(last, 'e' | 'E');
            if !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || exponent_sign) {
                break;
            }
            last = c;
            self.bump(scan);
        }
        let text = self.src.get(start.offset..self.pos).unwrap_or("");
        if hex {
            self.line_obfuscated += text.len();
        }
        Token {
            kind: Kind::Number,
            text: Cow::Borrowed(text),
            escaped: false,
            escapes: Escapes::default(),
            pos: start,
        }
    }

    fn ident(&mut self, scan: &mut Scan<'_>, start: Pos) -> Token<'a> {
        let mut decoded: Option<String> = None;
        loop {
            match self.peek() {
                Some('\\') if self.peek2() == Some('u') => {
                    let before = self.pos;
                    self.bump(scan);
                    self.bump(scan);
                    // `\u` without digits ends the identifier and is not an escape.
                    let Some((value, raw)) = self.unicode_escape_body(scan) else {
                        break;
                    };
                    self.line_obfuscated += raw;
                    decoded
                        .get_or_insert_with(|| {
                            self.src.get(start.offset..before).unwrap_or("").to_owned()
                        })
                        .push(char::from_u32(value).unwrap_or('\u{fffd}'));
                }
                Some(c) if is_id_part(c) => {
                    self.bump(scan);
                    if let Some(name) = decoded.as_mut() {
                        name.push(c);
                    }
                }
                _ => break,
            }
        }
        let escaped = decoded.is_some();
        let text = match decoded {
            Some(name) => Cow::Owned(name),
            None => Cow::Borrowed(self.src.get(start.offset..self.pos).unwrap_or("")),
        };
        Token {
            kind: Kind::Ident,
            text,
            escaped,
            escapes: Escapes::default(),
            pos: start,
        }
    }

    fn punct(&mut self, scan: &mut Scan<'_>, start: Pos) -> Token<'a> {
        let rest = self.rest();
        let matched = PUNCTUATORS.iter().copied().find(|p| {
            // `?.` followed by a digit is `?` then a number (`a?.5:b`).
            rest.starts_with(p)
                && !(*p == "?." && rest.as_bytes().get(2).is_some_and(u8::is_ascii_digit))
        });
        match matched {
            Some(p) => {
                for _ in p.chars() {
                    self.bump(scan);
                }
            }
            None => {
                self.bump(scan);
            }
        }
        Token {
            kind: Kind::Punct,
            text: Cow::Borrowed(self.src.get(start.offset..self.pos).unwrap_or("")),
            escaped: false,
            escapes: Escapes::default(),
            pos: start,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// The state of one analysis: findings so far and what the rules need to know.
struct Scan<'a> {
    src: &'a str,
    /// Every secret in the source, sorted: reported once, redacted in every excerpt.
    secrets: Vec<SecretHit>,
    declared: SortedSet<String>,
    /// Origins already reported, a set. A script may name hundreds of thousands of distinct
    /// origins, so not a [`SortedSet`] (O(n) inserts); serde_json's own map, a
    /// `BTreeMap<String, Value>` the module already holds for every JSON object, keeps inserts
    /// O(log n) without a hash table's code (the values are all `null`).
    reported_origins: serde_json::Map<String, serde_json::Value>,
    max_findings: usize,
    findings: Vec<Finding>,
    kept: [usize; 2],
    error_count: usize,
    warning_count: usize,
}

impl<'a> Scan<'a> {
    fn new(src: &'a str, opts: &AnalysisOptions) -> Self {
        let declared = opts
            .declared_origins
            .iter()
            .map(|d| match WebUrl::parse(d.trim()) {
                Ok(url) => url.origin().ascii_serialization(),
                Err(_) => d.trim().trim_end_matches('/').to_ascii_lowercase(),
            })
            .collect();
        Scan {
            src,
            secrets: secrets::find(src),
            declared,
            reported_origins: serde_json::Map::new(),
            max_findings: opts.max_findings,
            findings: Vec::new(),
            kept: [0, 0],
            error_count: 0,
            warning_count: 0,
        }
    }

    fn report(&mut self, rule: Rule, severity: Severity, pos: Pos, message: String) {
        let kept = match severity {
            Severity::Error => {
                self.error_count += 1;
                &mut self.kept[0]
            }
            Severity::Warning => {
                self.warning_count += 1;
                &mut self.kept[1]
            }
        };
        if *kept >= self.max_findings {
            return;
        }
        *kept += 1;
        self.findings.push(Finding {
            rule,
            severity,
            line: pos.line,
            column: pos.column,
            excerpt: excerpt(self.src, pos.line_start, pos.offset, &self.secrets),
            message,
        });
    }

    /// Report every secret found (see the `secrets` module).
    fn report_secrets(&mut self) {
        let offsets: Vec<usize> = self.secrets.iter().map(|h| h.start).collect();
        let positions = locate(self.src, &offsets);
        for (i, pos) in positions.into_iter().enumerate() {
            let Some(hit) = self.secrets.get(i) else {
                break;
            };
            if hit.echo {
                continue;
            }
            let (rule, severity, message) = (hit.rule, hit.severity, hit.message.clone());
            self.report(rule, severity, pos, message);
        }
    }

    fn into_report(mut self, lines: usize) -> AnalysisReport {
        // Findings are made in source order except long lines, reported when the line ends.
        crate::core::collections::sort_by(&mut self.findings, |a, b| {
            (a.line, a.column) < (b.line, b.column)
        });
        let truncated = self.findings.len() < self.error_count + self.warning_count;
        AnalysisReport {
            findings: self.findings,
            lines,
            bytes: self.src.len(),
            error_count: self.error_count,
            warning_count: self.warning_count,
            truncated,
        }
    }

    /// Every token-stream rule, for `cur` with two tokens of look-behind and a few of look-ahead.
    fn rules(
        &mut self,
        cur: &Token<'_>,
        p1: Option<&Token<'_>>,
        p2: Option<&Token<'_>>,
        ahead: &VecDeque<Token<'_>>,
    ) {
        let a0 = ahead.front();
        let a1 = ahead.get(1);
        let a2 = ahead.get(2);
        let is_punct = |t: Option<&Token<'_>>, p: &str| t.is_some_and(|t| t.is_punct(p));
        let is_call = is_punct(a0, "(") || (is_punct(a0, "?.") && is_punct(a1, "("));
        let after_dot = p1.is_some_and(Token::is_member_dot);
        // A global, or a property of a global-object name (`window.eval`).
        let global_ref = !after_dot || p2.is_some_and(|t| t.is_ident_in(GLOBAL_OBJECTS));
        match cur.kind {
            Kind::Ident => {
                if cur.escaped {
                    self.report(
                        Rule::ObfuscationEscapedIdentifier,
                        Severity::Warning,
                        cur.pos,
                        format!("identifier `{}` is spelled with \\u escapes", cur.text),
                    );
                }
                let declared_here = p1
                    .is_some_and(|t| t.is_ident_in(&["function", "var", "let", "const", "class"]));
                match cur.text.as_ref() {
                    "eval" if global_ref && !declared_here => {
                        let typeof_ = p1.is_some_and(|t| t.is_ident("typeof"));
                        let object_key = is_punct(a0, ":")
                            && p1.is_some_and(|t| t.is_punct("{") || t.is_punct(","));
                        if is_call {
                            self.report(
                                Rule::NoEval,
                                Severity::Error,
                                cur.pos,
                                "eval() runs a string as code".to_owned(),
                            );
                        } else if !typeof_ && !object_key {
                            self.report(
                                Rule::NoEval,
                                Severity::Warning,
                                cur.pos,
                                "eval referenced as a value: calling an alias of eval still runs strings as code".to_owned(),
                            );
                        }
                    }
                    "Function"
                        if global_ref
                            && !declared_here
                            && (p1.is_some_and(|t| t.is_ident("new")) || is_call) =>
                    {
                        self.report(
                            Rule::NoFunctionConstructor,
                            Severity::Error,
                            cur.pos,
                            "the Function constructor compiles a string as code".to_owned(),
                        );
                    }
                    "setTimeout" | "setInterval"
                        if global_ref
                            && is_punct(a0, "(")
                            && a1.is_some_and(|t| {
                                matches!(t.kind, Kind::Str | Kind::Template(_))
                            }) =>
                    {
                        self.report(
                            Rule::NoStringTimer,
                            Severity::Error,
                            cur.pos,
                            format!(
                                "{}() with a string argument runs it as code; pass a function",
                                cur.text
                            ),
                        );
                    }
                    "innerHTML" | "outerHTML"
                        if after_dot && (is_punct(a0, "=") || is_punct(a0, "+=")) =>
                    {
                        self.html_sink(cur.pos, &cur.text);
                    }
                    "insertAdjacentHTML" if after_dot && is_call => {
                        self.report(
                            Rule::NoHtmlSink,
                            Severity::Warning,
                            cur.pos,
                            "insertAdjacentHTML() parses a string as HTML; build nodes or sanitize"
                                .to_owned(),
                        );
                    }
                    "write" | "writeln"
                        if after_dot && is_call && p2.is_some_and(|t| t.is_ident("document")) =>
                    {
                        self.report(
                            Rule::NoDocumentWrite,
                            Severity::Warning,
                            cur.pos,
                            format!(
                                "document.{}() writes unparsed HTML into the document",
                                cur.text
                            ),
                        );
                    }
                    "import" if !after_dot && is_punct(a0, "(") => {
                        let literal = a1.is_some_and(Token::is_plain_string)
                            && (is_punct(a2, ")") || is_punct(a2, ","));
                        if !literal {
                            self.report(
                                Rule::NoDynamicImport,
                                Severity::Warning,
                                cur.pos,
                                "import() of a computed specifier can load code no one reviewed"
                                    .to_owned(),
                            );
                        }
                    }
                    name if !after_dot && GLOBAL_OBJECTS.contains(&name) && is_punct(a0, "[") => {
                        self.computed_global(cur, a1, a2);
                    }
                    _ => {}
                }
            }
            Kind::Punct if cur.is_punct("[") => {
                // el["innerHTML"] = …
                let key = a0.filter(|t| t.is_plain_string());
                if let Some(key) = key {
                    if matches!(key.text.as_ref(), "innerHTML" | "outerHTML")
                        && is_punct(a1, "]")
                        && (is_punct(a2, "=") || is_punct(a2, "+="))
                    {
                        self.html_sink(cur.pos, &key.text);
                    }
                }
            }
            Kind::Str | Kind::Template(_) => {
                self.escape_density(cur);
                self.origins(cur);
            }
            _ => {}
        }
    }

    fn html_sink(&mut self, pos: Pos, property: &str) {
        self.report(
            Rule::NoHtmlSink,
            Severity::Warning,
            pos,
            format!("assigning to {property} parses a string as HTML; build nodes or sanitize"),
        );
    }

    /// `window[…]` and friends; `a1`/`a2` are the two tokens after the `[`.
    fn computed_global(&mut self, cur: &Token<'_>, a1: Option<&Token<'_>>, a2: Option<&Token<'_>>) {
        let object = &cur.text;
        let (severity, message) = match a1 {
            Some(key) if key.is_plain_string() && a2.is_some_and(|t| t.is_punct("]")) => {
                if !CODE_FROM_STRING_GLOBALS.contains(&key.text.as_ref()) {
                    return; // `window["myCallback"]`: a literal, harmless key
                }
                (
                    Severity::Error,
                    format!(
                        "{object}[{:?}] reaches {} through a computed key",
                        key.text, key.text
                    ),
                )
            }
            Some(key)
                if (key.is_plain_string() && a2.is_some_and(|t| t.is_punct("+")))
                    || key.kind == Kind::Template(TemplatePart::Head) =>
            {
                (
                    Severity::Error,
                    format!(
                        "{object}[…] with a key built from strings hides which global it reaches"
                    ),
                )
            }
            _ => (
                Severity::Warning,
                format!("{object}[…] with a non-literal key can reach any global, eval included"),
            ),
        };
        self.report(Rule::ComputedGlobalAccess, severity, cur.pos, message);
    }

    fn escape_density(&mut self, t: &Token<'_>) {
        let e = t.escapes;
        if e.ascii_escape_chars >= 16 && e.ascii_escape_chars * 2 >= e.raw_chars {
            self.report(
                Rule::ObfuscationEscapedIdentifier,
                Severity::Warning,
                t.pos,
                format!(
                    "string literal of which {} of {} characters are \\x/\\u escapes of plain ASCII",
                    e.ascii_escape_chars, e.raw_chars
                ),
            );
        }
    }

    fn origins(&mut self, t: &Token<'_>) {
        let text = t.text.as_ref();
        let lower = text.to_ascii_lowercase();
        let mut from = 0;
        while let Some(found) = lower.get(from..).and_then(|s| s.find("http")) {
            let at = from + found;
            from = at + 4;
            let rest = lower.get(at..).unwrap_or("");
            let scheme_len = if rest.starts_with("https://") {
                8
            } else if rest.starts_with("http://") {
                7
            } else {
                continue;
            };
            let candidate: &str = text
                .get(at..)
                .unwrap_or("")
                .split(|c: char| {
                    c.is_whitespace()
                        || matches!(
                            c,
                            '"' | '\'' | '`' | '<' | '>' | '\\' | '{' | '}' | '|' | '^'
                        )
                })
                .next()
                .unwrap_or("");
            from = at + candidate.len().max(scheme_len);
            let origin = match WebUrl::parse(candidate) {
                Ok(url) if url.host().is_some() => url.origin().ascii_serialization(),
                _ => {
                    let computed_host = candidate.len() == scheme_len
                        && at + scheme_len == text.len()
                        && matches!(
                            t.kind,
                            Kind::Template(TemplatePart::Head | TemplatePart::Middle)
                        );
                    if computed_host {
                        self.report(
                            Rule::UndeclaredOrigin,
                            Severity::Warning,
                            t.pos,
                            "URL whose host is computed at run time; its origin cannot be checked against the network allowlist".to_owned(),
                        );
                    }
                    continue;
                }
            };
            if self.declared.contains(&origin)
                || IGNORED_ORIGINS.contains(&origin.as_str())
                || self.reported_origins.contains_key(&origin)
            {
                continue;
            }
            self.report(
                Rule::UndeclaredOrigin,
                Severity::Warning,
                t.pos,
                format!("URL origin {origin} is not in the manifest's network allowlist"),
            );
            self.reported_origins
                .insert(origin, serde_json::Value::Null);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, String)> {
        let opts = AnalysisOptions::default();
        let mut scan = Scan::new(src, &opts);
        let mut lexer = Lexer::new(src, 1000);
        std::iter::from_fn(|| lexer.next_token(&mut scan))
            .map(|t| (t.kind, t.text.into_owned()))
            .collect()
    }

    #[test]
    fn lexes_templates_with_nested_substitutions() {
        let toks = kinds("`a${ {b:`c${d}`}.b }e`");
        let k: Vec<Kind> = toks.iter().map(|t| t.0).collect();
        assert_eq!(
            k,
            [
                Kind::Template(TemplatePart::Head),
                Kind::Punct,
                Kind::Ident,
                Kind::Punct,
                Kind::Template(TemplatePart::Head),
                Kind::Ident,
                Kind::Template(TemplatePart::Tail),
                Kind::Punct,
                Kind::Punct,
                Kind::Ident,
                Kind::Template(TemplatePart::Tail),
            ]
        );
        assert_eq!(toks.last().map(|t| t.1.as_str()), Some("e"));
    }

    #[test]
    fn division_and_regex() {
        let k = |s: &str| kinds(s).into_iter().map(|t| t.0).collect::<Vec<_>>();
        assert_eq!(
            k("a / b / c").iter().filter(|k| **k == Kind::Regex).count(),
            0
        );
        assert_eq!(k("x = /a/g").last(), Some(&Kind::Regex));
        assert_eq!(k("return /a/").last(), Some(&Kind::Regex));
        assert_eq!(k("if (x) /a/.test(y)").get(4), Some(&Kind::Regex));
        assert_eq!(k("(x) / 2").get(3), Some(&Kind::Punct));
        assert_eq!(k("x = /[/]/").last(), Some(&Kind::Regex));
    }

    #[test]
    fn cooks_escapes() {
        assert_eq!(
            kinds(
                r#""\x65\u0076\u{61}l\
x""#
            )[0]
            .1,
            "evalx"
        );
        assert_eq!(kinds(r"\u0065val")[0], (Kind::Ident, "eval".to_owned()));
    }

    #[test]
    fn excerpt_windows_long_lines() {
        let src = format!("{}eval(x){}", "a".repeat(500), "b".repeat(500));
        let e = excerpt(&src, 0, 500, &[]);
        assert!(e.chars().count() <= MAX_EXCERPT_CHARS, "{e}");
        assert!(
            e.starts_with('…') && e.ends_with('…') && e.contains("eval(x)"),
            "{e}"
        );
        assert_eq!(excerpt("  x = 1;  \nnext", 0, 2, &[]), "x = 1;");
    }
}
