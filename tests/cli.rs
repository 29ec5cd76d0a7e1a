//! The `plugin-warden` binary, run as a reviewer would run it. Needs the `cli` feature (the
//! binary only exists with it): `cargo test --features cli --test cli`.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_plugin-warden"))
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli")
}

fn fx(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = bin();
    for a in args {
        cmd.arg(a);
    }
    cmd.stdin(Stdio::null()).output().expect("the binary runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("pw-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(out)))
}

// ---------------------------------------------------------------------------------------------
// check

#[test]
fn check_clean_plugin_dir_exits_0() {
    let out = run(&[&"check", &fx("clean"), &"--host-version", &"3.2.0"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "only the summary: {text}");
    assert!(
        text.contains("clean-app: 0 errors, 0 warnings in 1 file scanned"),
        "{text}"
    );
    assert!(
        text.contains("compatibility: compatible; integrity: match"),
        "{text}"
    );
    // node_modules (which holds an eval) was not scanned.
    assert!(!text.contains("node_modules"));
}

#[test]
fn check_hostile_plugin_reports_eval_and_undeclared_origin_with_positions() {
    let out = run(&[&"check", &fx("hostile")]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert!(
        lines
            .iter()
            .any(|l| l == "main.js:2:1 no-eval error eval() runs a string as code"),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("main.js:3:7 undeclared-origin warning ")
                && l.contains("https://evil.example")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("lib/util.mjs:2:6 no-html-sink warning ")),
        "{lines:#?}"
    );
    assert!(lines
        .last()
        .is_some_and(|l| l.starts_with("hostile-app: 1 error, 2 warnings in 2 files")));
}

#[test]
fn check_warnings_alone_exit_0() {
    let dir = Scratch::new("warn");
    std::fs::write(
        dir.path("plugin.json"),
        r#"{"id":"warn-app","name":"W","network":["https://api.warn.example/"]}"#,
    )
    .unwrap();
    std::fs::write(dir.path("a.js"), "fetch('https://other.example/x');\n").unwrap();
    let out = run(&[&"check", &dir.0]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("a.js:1:7 undeclared-origin warning"));
}

#[test]
fn check_bad_manifest_lists_every_problem_by_json_path() {
    let out = run(&[&"check", &fx("bad-manifest")]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    for expected in [
        "plugin.json:id invalid-manifest error ",
        "plugin.json:name invalid-manifest error ",
        "plugin.json:permissions[1] invalid-manifest error ",
        "plugin.json:network[0] invalid-manifest error ",
        "plugin.json:roles[0].grants[0] invalid-manifest error ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // The manifest file itself works too, and reports the same problems.
    let direct = run(&[&"check", &fx("bad-manifest/plugin.json"), &"--json"]);
    assert_eq!(code(&direct), 1);
    let report = json(&direct);
    assert_eq!(report["errors"], 5);
    assert_eq!(report["plugin"], Value::Null);
    assert_eq!(report["findings"][4]["path"], "roles[0].grants[0]");
    assert_eq!(report["findings"][4]["code"], "INVALID_MANIFEST");
}

#[test]
fn check_incompatible_host_version_exits_1() {
    let out = run(&[&"check", &fx("clean"), &"--host-version", &"2.0.0"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(
        text.starts_with("plugin.json:compatibility incompatible error "),
        "{text}"
    );
    let out = run(&[&"check", &fx("clean"), &"--host-version=2.0.0", &"--json"]);
    let report = json(&out);
    assert_eq!(report["findings"][0]["code"], "INCOMPATIBLE");
    assert_eq!(report["compatibility"]["status"], "incompatible");
    assert_eq!(report["compatibility"]["range"], "^3.0.0");
}

#[test]
fn check_json_has_the_documented_shape() {
    let out = run(&[
        &"check",
        &fx("hostile"),
        &"--json",
        &"--host-version",
        &"3.0.0",
    ]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(report["schema"], "plugin-warden/check@1");
    assert_eq!(report["plugin"], "hostile-app");
    assert_eq!(report["ok"], false);
    assert_eq!(
        (&report["errors"], &report["warnings"], &report["files"]),
        (&Value::from(1), &Value::from(2), &Value::from(2))
    );
    let keys = [
        "file", "line", "column", "path", "rule", "severity", "code", "message", "excerpt",
    ];
    let findings = report["findings"].as_array().expect("findings array");
    for f in findings {
        let obj = f.as_object().expect("finding object");
        assert_eq!(obj.len(), keys.len(), "{f}");
        for k in keys {
            assert!(obj.contains_key(k), "{k} missing in {f}");
        }
    }
    let eval = findings
        .iter()
        .find(|f| f["rule"] == "no-eval")
        .expect("no-eval finding");
    assert_eq!(eval["file"], "main.js");
    assert_eq!((&eval["line"], &eval["column"]), (&2.into(), &1.into()));
    assert_eq!(eval["severity"], "error");
    assert_eq!(eval["code"], "BUNDLE_REJECTED");
    assert_eq!(eval["excerpt"], "eval(payload);");
    assert_eq!(report["compatibility"]["status"], "compatible");
    assert_eq!(report["integrity"]["status"], "not-set");
    // Clean: ok true, integrity matched with sha384.
    let clean = json(&run(&[&"check", &fx("clean"), &"--json"]));
    assert_eq!(clean["ok"], true);
    assert_eq!(clean["findings"], Value::Array(vec![]));
    assert_eq!(clean["integrity"]["status"], "match");
    assert_eq!(clean["integrity"]["file"], "index.html");
    assert_eq!(clean["integrity"]["algorithm"], "sha384");
}

#[test]
fn check_entry_integrity_mismatch_exits_1() {
    let out = run(&[&"check", &fx("sri-mismatch"), &"--json"]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(report["integrity"]["status"], "mismatch");
    assert_eq!(report["findings"][0]["path"], "entry.integrity");
    assert_eq!(report["findings"][0]["code"], "INTEGRITY_MISMATCH");
}

#[test]
fn check_does_not_follow_symlinks_and_reports_non_utf8_files() {
    let dir = Scratch::new("links");
    std::fs::write(dir.path("plugin.json"), r#"{"id":"link-app","name":"L"}"#).unwrap();
    std::fs::write(dir.path("bad.js"), b"let s = '\xff';\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(fx("hostile"), dir.path("outside")).unwrap();
    let report = json(&run(&[&"check", &dir.0, &"--json"]));
    assert_eq!(report["files"], 1, "{report}");
    assert_eq!(report["findings"][0]["rule"], "bundle-rejected");
    assert_eq!(report["findings"][0]["file"], "bad.js");
}

// ---------------------------------------------------------------------------------------------
// sri

/// `openssl dgst -<alg> -binary tests/fixtures/cli/signed/bundle.js | openssl base64 -A`,
/// recorded when the fixture was made (tests/fixtures/cli/keys/README.md).
const OPENSSL_SRI: [(&str, &str); 3] = [
    ("sha256", "sha256-ogmL2SsQv4uBbSS3VWsc6MSah50TBIkGXvEFHBfgQvY="),
    (
        "sha384",
        "sha384-ikZ73SkpeVKecHr7elzJWfj9+687EjDbwuBxv4Y9r+0kWi0jb5fuIoOCDE+E/0m6",
    ),
    (
        "sha512",
        "sha512-boTRL6lSQSfsJBlbWZYu2spmtwubX1grBk/euoJvcFh1kvDpLKlv/U5pUNHqnRmuhHfrnTSrOdGTptFVnyzgpw==",
    ),
];

#[test]
fn sri_matches_openssl() {
    let file = fx("signed/bundle.js");
    let default = run(&[&"sri", &file]);
    assert_eq!(code(&default), 0);
    assert_eq!(stdout(&default), format!("{}\n", OPENSSL_SRI[1].1));
    for (alg, expected) in OPENSSL_SRI {
        let out = run(&[&"sri", &file, &"--algorithm", &alg]);
        assert_eq!(stdout(&out).trim_end(), expected, "{alg}");
    }
}

/// The same, against the openssl on this machine, on bytes it has never seen.
#[test]
fn sri_matches_live_openssl() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("openssl not installed: live comparison skipped (recorded values still checked)");
        return;
    }
    let dir = Scratch::new("sri");
    let file = dir.path("blob.bin");
    let bytes: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&file, bytes).unwrap();
    let pipeline = format!(
        "openssl dgst -sha384 -binary '{}' | openssl base64 -A",
        file.display()
    );
    let openssl = Command::new("sh").args(["-c", &pipeline]).output().unwrap();
    assert!(openssl.status.success());
    let expected = format!("sha384-{}\n", String::from_utf8_lossy(&openssl.stdout));
    assert_eq!(stdout(&run(&[&"sri", &file])), expected);
}

// ---------------------------------------------------------------------------------------------
// sign and verify

fn sign_verify_round_trip(private: &str, public: &str) {
    let dir = Scratch::new(private);
    let data = fx("signed/bundle.js");
    let sig = dir.path("bundle.js.sig");
    let out = run(&[
        &"sign",
        &"--manifest",
        &fx("signed/plugin.json"),
        &"--key",
        &fx(&format!("keys/{private}")),
        &data,
        &"--out",
        &sig,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let verify = |file: &Path, key: &str| {
        run(&[
            &"verify",
            &"--manifest",
            &fx("signed/plugin.json"),
            &"--key",
            &fx(&format!("keys/{key}")),
            &"--signature",
            &sig,
            &file,
        ])
    };
    let ok = verify(&data, public);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    assert!(stdout(&ok).starts_with("valid: "));

    // The same code under a manifest with one permission added.
    let manifest = dir.path("plugin.json");
    let mut m: Value =
        serde_json::from_slice(&std::fs::read(fx("signed/plugin.json")).unwrap()).unwrap();
    m["permissions"]
        .as_array_mut()
        .unwrap()
        .push("api:write".into());
    std::fs::write(&manifest, m.to_string()).unwrap();
    let widened = run(&[
        &"verify",
        &"--key",
        &fx(&format!("keys/{public}")),
        &"--signature",
        &sig,
        &"--manifest",
        &manifest,
        &data,
    ]);
    assert_eq!(code(&widened), 1, "{}", stderr(&widened));
    assert!(stderr(&widened).contains("SIGNATURE_INVALID"));
    // Re-serialized with other whitespace and member order, the manifest still verifies.
    let mut pairs: Vec<(String, Value)> = serde_json::from_slice::<serde_json::Map<String, Value>>(
        &std::fs::read(fx("signed/plugin.json")).unwrap(),
    )
    .unwrap()
    .into_iter()
    .collect();
    pairs.reverse();
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("\n\t{}  :  {}", Value::String(k.clone()), v))
        .collect();
    std::fs::write(&manifest, format!("{{{}\n}}", body.join(","))).unwrap();
    let relaid = run(&[
        &"verify",
        &"--key",
        &fx(&format!("keys/{public}")),
        &"--signature",
        &sig,
        &"--manifest",
        &manifest,
        &data,
    ]);
    assert_eq!(code(&relaid), 0, "{}", stderr(&relaid));

    // Tampered file.
    let tampered = dir.path("tampered.js");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&tampered, bytes).unwrap();
    let bad = verify(&tampered, public);
    assert_eq!(code(&bad), 1);
    assert!(
        stderr(&bad).contains("SIGNATURE_INVALID"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn sign_verify_round_trip_p256() {
    sign_verify_round_trip("p256.pem", "p256.pub.pem");
}

#[test]
fn sign_verify_round_trip_rsa2048() {
    sign_verify_round_trip("rsa2048.pem", "rsa2048.pub.jwk");
}

/// The envelope of the `signed/` fixture, as `plugin-warden envelope` prints it. The digests
/// were computed independently: `sha256sum signed/bundle.js`, and for the manifest
/// `python3 -c 'import json,hashlib; print(hashlib.sha256(json.dumps(json.load(open(
/// "signed/plugin.json")), sort_keys=True, separators=(",",":"), ensure_ascii=False).encode()).hexdigest())'`.
const SIGNED_ENVELOPE: &str = "plugin-warden/signature/v1
manifest-sha256 f1fb4d58e24873674cce40f11ba102176cf37c4f101e521747b6a162a06437b8
code-sha256 a2098bd92b10bf8b816d24b7556b1ce8c49a879d130489065ef1051c17e042f6
";

#[test]
fn envelope_prints_the_signed_bytes() {
    let out = run(&[
        &"envelope",
        &"--manifest",
        &fx("signed/plugin.json"),
        &fx("signed/bundle.js"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), SIGNED_ENVELOPE);
    let dir = Scratch::new("envelope-not-json");
    let bad = dir.path("plugin.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let out = run(&[&"envelope", &"--manifest", &bad, &fx("signed/bundle.js")]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("not JSON"), "{}", stderr(&out));
}

/// `openssl dgst -sha256 -sign` over the envelope (tests/fixtures/cli/keys/README.md) verifies.
#[test]
fn openssl_signatures_over_the_envelope_verify() {
    for (key, sig) in [
        ("p256.pub.pem", "bundle.js.p256.der.sig"),
        ("p256.pub.pem", "bundle.js.p256.der.sig.b64"),
        ("rsa2048.pub.der", "bundle.js.rsa2048.sig"),
        ("p256.pub.jwk", "bundle.js.p256.sig"),
    ] {
        let out = run(&[
            &"verify",
            &"--key",
            &fx(&format!("keys/{key}")),
            &"--signature",
            &fx(&format!("signed/{sig}")),
            &"--manifest",
            &fx("signed/plugin.json"),
            &fx("signed/bundle.js"),
        ]);
        assert_eq!(code(&out), 0, "{sig}: {}", stderr(&out));
    }
}

#[test]
fn ecdsa_signature_on_stdout_is_base64_of_64_raw_bytes() {
    use base64::Engine as _;
    let out = run(&[
        &"sign",
        &"--manifest",
        &fx("signed/plugin.json"),
        &"--key",
        &fx("keys/p256.pem"),
        &fx("signed/bundle.js"),
    ]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.ends_with('\n') && text.lines().count() == 1);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text.trim_end())
        .expect("standard base64");
    assert_eq!(raw.len(), 64, "WebCrypto's raw r||s, not DER");
}

#[test]
fn verify_with_the_wrong_key_exits_1_and_a_weak_key_exits_2() {
    let args = |key: &str| {
        run(&[
            &"verify",
            &"--manifest",
            &fx("signed/plugin.json"),
            &"--key",
            &fx(&format!("keys/{key}")),
            &"--signature",
            &fx("signed/bundle.js.rsa2048.sig"),
            &fx("signed/bundle.js"),
        ])
    };
    assert_eq!(code(&args("rsa2048.pub.pem")), 0);
    let other = args("rsa2048-other.pub.pem");
    assert_eq!(code(&other), 1);
    assert!(stderr(&other).contains("SIGNATURE_INVALID"));
    let weak = args("rsa1024.pub.pem");
    assert_eq!(code(&weak), 2);
    assert!(stderr(&weak).contains("1024 bits"), "{}", stderr(&weak));
    let private = args("rsa2048.pem");
    assert_eq!(code(&private), 2);
    // Signing with a too-small key is refused as well.
    let out = run(&[
        &"sign",
        &"--manifest",
        &fx("signed/plugin.json"),
        &"--key",
        &fx("keys/rsa1024.pem"),
        &fx("signed/bundle.js"),
    ]);
    assert_eq!(code(&out), 2);
    assert!(stdout(&out).is_empty());
}

// ---------------------------------------------------------------------------------------------
// csp

#[test]
fn csp_for_two_plugins_lists_both_origins_once() {
    let nonce = "AAECAwQFBgcICQoLDA0ODw==";
    let out = run(&[
        &"csp",
        &fx("csp-a/plugin.json"),
        &fx("csp-b"),
        &"--nonce",
        &nonce,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let policy = stdout(&out);
    assert!(
        policy.contains("frame-src https://plugins.shared.example;"),
        "{policy}"
    );
    assert!(
        policy.contains("connect-src 'self' https://api.a.example https://api.shared.example;"),
        "{policy}"
    );
    assert_eq!(policy.matches("https://api.shared.example").count(), 1);
    assert!(policy.contains(&format!("script-src 'self' 'nonce-{nonce}'")));
    assert!(stderr(&out).is_empty(), "a given nonce is not printed");
}

#[test]
fn csp_generates_a_fresh_nonce_and_prints_it_on_stderr() {
    let nonce_of = |out: &Output| {
        stderr(out)
            .strip_prefix("nonce: ")
            .map(|n| n.trim_end().to_owned())
            .unwrap_or_else(|| panic!("no nonce line: {}", stderr(out)))
    };
    let a = run(&[&"csp", &fx("csp-a")]);
    let b = run(&[&"csp", &fx("csp-a")]);
    assert_eq!((code(&a), code(&b)), (0, 0));
    let (na, nb) = (nonce_of(&a), nonce_of(&b));
    assert_eq!(na.len(), 24);
    assert_ne!(na, nb);
    assert!(stdout(&a).contains(&format!("'nonce-{na}'")));
}

#[test]
fn csp_with_an_invalid_manifest_exits_1() {
    let out = run(&[&"csp", &fx("csp-a"), &fx("bad-manifest")]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("invalid-manifest"));
}

#[test]
fn csp_report_only_prints_both_headers_from_the_core_builder() {
    let nonce = "AAECAwQFBgcICQoLDA0ODw==";
    let plain = run(&[&"csp", &fx("csp-a"), &fx("csp-b"), &"--nonce", &nonce]);
    let out = run(&[
        &"csp",
        &fx("csp-a"),
        &fx("csp-b"),
        &"--nonce",
        &nonce,
        &"--report-only",
        &"--report-to",
        &"https://host.example/csp-reports",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let policy = stdout(&plain);
    assert_eq!(
        lines[0],
        format!(
            "Content-Security-Policy-Report-Only: {}; report-uri https://host.example/csp-reports; report-to csp-endpoint",
            policy.trim_end()
        )
    );
    assert_eq!(
        lines[1],
        "Reporting-Endpoints: csp-endpoint=\"https://host.example/csp-reports\""
    );
    // --report-only alone: the report-only header, no endpoint.
    let only = run(&[&"csp", &fx("csp-a"), &"--nonce", &nonce, &"--report-only"]);
    assert!(stdout(&only).starts_with("Content-Security-Policy-Report-Only: default-src"));
    assert_eq!(stdout(&only).lines().count(), 1);
    // --report-to alone: enforced, with reporting.
    let enforced = run(&[
        &"csp",
        &fx("csp-a"),
        &"--nonce",
        &nonce,
        &"--report-to",
        &"http://127.0.0.1:9/r",
    ]);
    assert!(
        stdout(&enforced).starts_with("Content-Security-Policy: default-src"),
        "{}",
        stdout(&enforced)
    );
    for bad in [
        "http://host.example/r",
        "/csp-reports",
        "https://h.example/r;x",
        "https://u:p@h.example/r",
    ] {
        let out = run(&[&"csp", &fx("csp-a"), &"--report-to", &bad]);
        assert_eq!(code(&out), 2, "{bad}");
        assert!(
            stderr(&out).contains("--report-to"),
            "{bad}: {}",
            stderr(&out)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// usage

#[test]
fn usage_errors_exit_2() {
    let cases: &[&[&str]] = &[
        &[],
        &["frobnicate"],
        &["check"],
        &["check", "a", "b"],
        &["check", "--bogus", "x"],
        &["check", "--json=yes", "x"],
        &["check", "x", "--host-version"],
        &["check", "x", "--host-version", "v3"],
        &["sri", "x", "--algorithm", "md5"],
        &["sign", "x"],
        &["sign", "--key", "k", "--key", "k", "x"],
        &["verify", "--key", "k", "x"],
        // A signature covers the manifest and the code: --manifest is required.
        &["sign", "--key", "k", "x"],
        &["verify", "--key", "k", "--signature", "s", "x"],
        &["envelope", "x"],
        &["csp"],
        &["csp", "x", "--nonce", "short"],
    ];
    for args in cases {
        let mut cmd = bin();
        cmd.args(*args);
        let out = cmd.output().unwrap();
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
        assert!(stderr(&out).contains("Usage"), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn io_errors_exit_2() {
    let missing = fixtures().join("no-such-file");
    for out in [
        run(&[&"check", &missing]),
        run(&[&"sri", &missing]),
        run(&[
            &"sign",
            &"--manifest",
            &fx("signed/plugin.json"),
            &"--key",
            &fx("keys/p256.pem"),
            &missing,
        ]),
        run(&[
            &"sign",
            &"--manifest",
            &fx("signed/plugin.json"),
            &"--key",
            &missing,
            &fx("signed/bundle.js"),
        ]),
        run(&[
            &"verify",
            &"--manifest",
            &fx("signed/plugin.json"),
            &"--key",
            &fx("keys/p256.pub.pem"),
            &"--signature",
            &missing,
            &fx("signed/bundle.js"),
        ]),
        run(&[&"csp", &missing]),
    ] {
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
    }
}

#[test]
fn help_and_version() {
    for cmd in ["check", "sri", "sign", "verify", "envelope", "csp"] {
        for flag in ["--help", "-h"] {
            let out = run(&[&cmd, &flag]);
            assert_eq!(code(&out), 0);
            assert!(
                stdout(&out).starts_with(&format!("Usage: plugin-warden {cmd}")),
                "{cmd} {flag}"
            );
        }
    }
    let out = run(&[&"--help"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("Exit codes"));
    let out = run(&[&"--version"]);
    assert_eq!(
        stdout(&out),
        format!("plugin-warden {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_reports_secrets_redacted_in_every_output() {
    let secrets = [
        "AKIAIOSFODNN7EXAMPLE",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmYWtlIn0.c2lnbmF0dXJlLW5vdC1yZWFs",
        "9f8e7d6c5b4a3f2e1d0c",
        "TUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3Z2dTakFnRUFBb0lCQVFDN0ZBS0VLRVlGQUtFS0VZ",
    ];
    let human = run(&[&"check", &fx("secrets")]);
    assert_eq!(code(&human), 1, "{}", stderr(&human));
    let text = stdout(&human);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..4]
            .iter()
            .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        [
            "credentials.json:5:19 secret-private-key error",
            "main.js:2:19 secret-aws-access-key error",
            "main.js:3:18 secret-jwt warning",
            "main.js:4:17 secret-literal warning",
        ],
        "{text}"
    );
    assert!(text.contains("AKIA…(20 chars)"), "{text}");
    assert!(
        lines[4].starts_with("leaky-app: 2 errors, 2 warnings in 1 file scanned"),
        "{text}"
    );
    let json_out = run(&[&"check", &fx("secrets"), &"--json"]);
    let raw = stdout(&json_out);
    let report = json(&json_out);
    assert_eq!(report["ok"], false);
    let aws = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "secret-aws-access-key")
        .expect("aws finding");
    assert_eq!(aws["excerpt"], "const awsKeyId = \"AKIA…(20 chars)\";");
    for secret in secrets {
        let probe = &secret[secret.len() / 2..];
        assert!(!text.contains(probe), "{probe} in {text}");
        assert!(!raw.contains(probe), "{probe} in {raw}");
        assert!(!stderr(&human).contains(probe));
    }
    // The placeholder password is not a finding.
    assert!(!raw.contains("main.js\",\n      \"line\": 5"), "{raw}");
}
