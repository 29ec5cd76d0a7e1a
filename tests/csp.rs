//! The host and `srcdoc` Content Security Policies, nonces and origin validation.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashSet;

use plugin_warden::core::csp::{
    frame_csp, parse_origin, runner_csp, srcdoc_csp, CounterRng, CspBuilder, CspError, Nonce,
    ReportEndpoint, Reporting, Rng, RunnerKind, DEFAULT_TRUSTED_TYPES_POLICY,
};
use plugin_warden::core::error::{Coded, ErrorCode};

fn nonce(seed: u8) -> Nonce {
    Nonce::generate(&mut CounterRng::new(seed)).expect("a counter never fails")
}

fn directives(csp: &str) -> Vec<(String, String)> {
    csp.split("; ")
        .map(|d| match d.split_once(' ') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => (d.to_owned(), String::new()),
        })
        .collect()
}

#[test]
fn host_policy_has_every_directive_exactly() {
    let n = nonce(0);
    let csp = CspBuilder::new()
        .nonce(&n)
        .trusted_types_policy("acme-host")
        .and_then(|b| b.plugin_frame_origin("https://plugins.acme.example"))
        .and_then(|b| b.plugin_connect_origin("https://api.acme.example"))
        .expect("valid")
        .build();
    let expected = [
        ("default-src", "'self'"),
        (
            "script-src",
            "'self' 'nonce-AAECAwQFBgcICQoLDA0ODw==' 'wasm-unsafe-eval'",
        ),
        ("style-src", "'self' 'nonce-AAECAwQFBgcICQoLDA0ODw=='"),
        ("object-src", "'none'"),
        ("base-uri", "'none'"),
        ("frame-src", "https://plugins.acme.example"),
        ("connect-src", "'self' https://api.acme.example"),
        ("worker-src", "'self' blob:"),
        ("form-action", "'self'"),
        ("frame-ancestors", "'self'"),
        ("require-trusted-types-for", "'script'"),
        ("trusted-types", "acme-host"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(directives(&csp), expected, "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"));
}

#[test]
fn defaults_without_nonce_or_plugins() {
    let csp = CspBuilder::default().build();
    let d = directives(&csp);
    assert!(d.contains(&("frame-src".into(), "'none'".into())));
    assert!(d.contains(&("connect-src".into(), "'self'".into())));
    assert!(d.contains(&("script-src".into(), "'self' 'wasm-unsafe-eval'".into())));
    assert!(d.contains(&("trusted-types".into(), DEFAULT_TRUSTED_TYPES_POLICY.into())));
    assert!(!csp.contains("nonce-") && !csp.contains("img-src"));
    let with_images = CspBuilder::new().data_images(true).build();
    assert!(directives(&with_images).contains(&("img-src".into(), "'self' data:".into())));
}

#[test]
fn origins_from_several_plugins_are_unioned_sorted_and_deduplicated() {
    let mut b = CspBuilder::new();
    // Three plugins' origins, in arbitrary order, with duplicates in different spellings.
    for o in [
        "https://z.example",
        "https://A.example:443",
        "https://a.example/",
        "http://localhost:8080",
        "https://z.example",
    ] {
        b = b.plugin_frame_origin(o).expect("valid");
    }
    for o in [
        "https://api.z.example",
        "https://api.a.example:8443",
        "https://API.a.example:8443/",
        "http://127.0.0.1:80",
    ] {
        b = b.plugin_connect_origin(o).expect("valid");
    }
    let csp = b.build();
    let d = directives(&csp);
    assert!(
        d.contains(&(
            "frame-src".into(),
            "http://localhost:8080 https://a.example https://z.example".into()
        )),
        "{csp}"
    );
    assert!(
        d.contains(&(
            "connect-src".into(),
            "'self' http://127.0.0.1 https://api.a.example:8443 https://api.z.example".into()
        )),
        "{csp}"
    );
}

#[test]
fn origins_are_normalized() {
    let cases = [
        ("https://a.example:443", "https://a.example"),
        ("http://a.example:80/", "http://a.example"),
        ("https://a.example:8443", "https://a.example:8443"),
        ("HTTPS://A.EXAMPLE", "https://a.example"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://ＡＢＣ.example", "https://abc.example"),
        ("https://a.example.", "https://a.example."),
        ("https://192.168.0.1:8080", "https://192.168.0.1:8080"),
        ("https://0x7f.1", "https://127.0.0.1"),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_origin(input).as_deref(), Ok(expected), "{input}");
    }
}

#[test]
fn hostile_origins_are_refused_and_named() {
    let hostile = [
        "https://a.example; script-src *",
        "https://a.example;script-src",
        "https://a.example,https://b.example",
        "https://a.example https://b.example",
        "'unsafe-inline'",
        "'self'",
        "'none'",
        "*",
        "https://*.example",
        "https://a.example:*",
        "javascript:alert(1)",
        "data:",
        "data:text/html,x",
        "blob:https://a.example/1",
        "ftp://a.example",
        "ws://a.example",
        "https://user:pw@a.example",
        "https://user@a.example",
        "https://a.example/path",
        "https://a.example/?q",
        "https://a.example/#f",
        "https://[::1]",
        "//a.example",
        "a.example",
        "https://a.example\t",
        "\nhttps://a.example",
        "https://a.exa\u{0}mple",
        "https://a.example\"",
        "",
        "null",
        "https://",
    ];
    for input in hostile {
        let err = parse_origin(input).expect_err(input);
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{input}");
        assert!(
            err.to_string().contains(&format!("{input:?}")),
            "the error names the input: {err}"
        );
        assert!(CspBuilder::new().plugin_frame_origin(input).is_err());
        assert!(CspBuilder::new().plugin_connect_origin(input).is_err());
    }
}

#[test]
fn accepted_origins_cannot_inject() {
    // Whatever passes, the policy keeps its shape: one directive per "; ", no quotes or stars
    // inside the origin lists.
    let inputs = [
        "https://a.example",
        "https://xn--bcher-kva.example",
        "http://localhost:3000",
        "https://a-b.c-d.example:1",
    ];
    let mut b = CspBuilder::new();
    for i in inputs {
        b = b
            .plugin_frame_origin(i)
            .and_then(|b| b.plugin_connect_origin(i))
            .expect("valid");
    }
    let csp = b.build();
    assert_eq!(directives(&csp).len(), 12);
    for (name, value) in directives(&csp) {
        if name == "frame-src" || name == "connect-src" {
            for source in value.split(' ').filter(|s| *s != "'self'") {
                assert!(
                    source.starts_with("https://") || source.starts_with("http://"),
                    "{source}"
                );
                assert!(!source.contains(['\'', '*', ';', ',']), "{source}");
            }
        }
    }
}

#[test]
fn nonces_are_128_bit_standard_base64_and_fresh() {
    let mut rng = CounterRng::new(7);
    let a = Nonce::generate(&mut rng).expect("ok");
    let b = Nonce::generate(&mut rng).expect("ok");
    assert_ne!(a, b, "two generates from one counting RNG differ");
    for n in [&a, &b] {
        assert_eq!(n.as_str().len(), 24);
        assert!(n.as_str().ends_with("=="));
        assert!(n
            .as_str()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=')));
        assert_eq!(Nonce::parse(n.as_str()).as_ref(), Ok(n));
        assert_eq!(n.to_string(), n.as_str());
    }
    assert_eq!(
        format!("{a:?}"),
        "Nonce(…)",
        "Debug does not leak the nonce"
    );
    // Nonces from one source are pairwise distinct (a byte counter cycles after 16).
    let set: HashSet<String> = (0..16)
        .map(|_| Nonce::generate(&mut rng).expect("ok").as_str().to_owned())
        .collect();
    assert_eq!(set.len(), 16);
}

#[test]
fn nonce_parse_is_strict() {
    assert!(Nonce::parse("AAECAwQFBgcICQoLDA0ODw==").is_ok());
    assert!(Nonce::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").is_ok()); // 32 bytes
    assert!(Nonce::parse("+/+/+/+/+/+/+/+/+/+/+w==").is_ok());
    for bad in [
        "",
        "AAECAwQFBgcICQoLDA0O",                     // 15 bytes, unpadded
        "AAECAwQFBgcICQoLDA0ODg",                   // no padding
        "AAECAwQFBgcICQoLDA0ODw",                   // no padding
        "AAECAwQFBgcICQoLDA0ODw=",                  // wrong padding
        "AAECAwQFBgcICQoLDA0ODw==\n",               // trailing newline
        "AAECAwQFBgcICQoLDA0ODw== ",                // trailing space
        "AAECAwQFBgcICQoLDA0ODw==' 'unsafe-inline", // injection
        "-_ECAwQFBgcICQoLDA0ODw==",                 // base64url alphabet
        "AAECAwQFBgc=",                             // 8 bytes
        "AAEC AwQFBgcICQoLDA0ODw==",
    ] {
        let err = Nonce::parse(bad).expect_err(bad);
        assert_eq!(err.code(), ErrorCode::InvalidArgument);
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
    assert!(Nonce::parse(&"A".repeat(4096)).is_err());
}

struct FailingRng;
impl Rng for FailingRng {
    fn fill_bytes(&mut self, _: &mut [u8]) -> Result<(), CspError> {
        Err(CspError::Rng {
            reason: "no crypto".into(),
        })
    }
}

#[test]
fn rng_failure_is_an_error_not_a_weak_nonce() {
    let err = Nonce::generate(&mut FailingRng).expect_err("must fail");
    assert_eq!(err.code(), ErrorCode::Internal);
}

#[test]
fn policy_names_follow_the_trusted_types_grammar() {
    for ok in [
        "plugin-warden",
        "a",
        "A-Za-z0-9-#=_/@.%",
        "default",
        &"x".repeat(128),
    ] {
        let csp = CspBuilder::new()
            .trusted_types_policy(ok)
            .expect(ok)
            .build();
        assert!(csp.ends_with(&format!("; trusted-types {ok}")), "{csp}");
    }
    for bad in [
        "",
        "*",
        "'allow-duplicates'",
        "'none'",
        "a b",
        "a;script-src *",
        "a,b",
        "naïve",
        "a\"",
        "a\n",
        &"x".repeat(129),
    ] {
        let err = CspBuilder::new().trusted_types_policy(bad).expect_err(bad);
        assert_eq!(err.code(), ErrorCode::InvalidArgument);
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
}

#[test]
fn srcdoc_policy_is_exact_and_never_uses_self() {
    let n = nonce(0);
    assert_eq!(
        srcdoc_csp(Some(&n)),
        "default-src 'none'; script-src 'nonce-AAECAwQFBgcICQoLDA0ODw=='; \
         style-src 'nonce-AAECAwQFBgcICQoLDA0ODw=='; img-src data: blob:; font-src data:; \
         connect-src 'none'; worker-src blob:; base-uri 'none'; form-action 'none'"
    );
    assert_eq!(
        srcdoc_csp(None),
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
         img-src data: blob:; font-src data:; connect-src 'none'; worker-src blob:; \
         base-uri 'none'; form-action 'none'"
    );
    for csp in [srcdoc_csp(Some(&n)), srcdoc_csp(None)] {
        assert!(!csp.contains("'self'"));
        assert!(
            !csp.contains(['"', '<', '>', '&']),
            "safe in a meta content attribute"
        );
    }
}

#[test]
fn src_frame_policy_is_exact() {
    let assets = vec![
        "https://CDN.example:443/".to_owned(),
        "https://a.example".to_owned(),
    ];
    assert_eq!(
        frame_csp("https://plugins.example/acme/index.html?v=2#x", &assets).unwrap(),
        "default-src 'none'; \
         script-src https://a.example https://cdn.example https://plugins.example 'unsafe-inline' 'wasm-unsafe-eval'; \
         style-src https://a.example https://cdn.example https://plugins.example 'unsafe-inline'; \
         img-src https://a.example https://cdn.example https://plugins.example data: blob:; \
         font-src https://a.example https://cdn.example https://plugins.example data:; \
         media-src https://a.example https://cdn.example https://plugins.example data: blob:; \
         worker-src blob:; connect-src 'none'; frame-src 'none'; form-action 'none'; \
         base-uri 'none'; object-src 'none'; manifest-src 'none'"
    );
}

#[test]
fn runner_policies_are_exact_and_workers_ignore_assets() {
    let assets = vec!["https://cdn.example".to_owned()];
    let lockdown = "connect-src 'none'; frame-src 'none'; form-action 'none'; base-uri 'none'; \
                    object-src 'none'; manifest-src 'none'";
    assert_eq!(
        runner_csp(RunnerKind::Worker, &assets).unwrap(),
        format!("default-src 'none'; script-src blob:; worker-src blob:; {lockdown}")
    );
    assert_eq!(
        runner_csp(RunnerKind::Frame, &assets).unwrap(),
        format!(
            "default-src 'none'; script-src blob:; style-src https://cdn.example 'unsafe-inline'; \
             img-src https://cdn.example data: blob:; font-src https://cdn.example data:; \
             media-src https://cdn.example data: blob:; worker-src blob:; {lockdown}"
        )
    );
    assert_eq!(
        runner_csp(RunnerKind::Frame, &[]).unwrap(),
        format!(
            "default-src 'none'; script-src blob:; style-src 'unsafe-inline'; img-src data: blob:; \
             font-src data:; media-src data: blob:; worker-src blob:; {lockdown}"
        )
    );
}

#[test]
fn frame_policies_never_name_keywords_or_wildcards_from_a_manifest() {
    for hostile in [
        "'self'",
        "*",
        "https://*.example",
        "https://a.example; connect-src *",
        "https://a.example 'unsafe-eval'",
        "data:",
        "javascript:alert(1)",
        "https://a.example/path",
        "https://user@a.example",
    ] {
        let assets = vec![hostile.to_owned()];
        let e = frame_csp("https://plugins.example/", &assets).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{hostile}");
        assert!(
            runner_csp(RunnerKind::Frame, &assets).is_err(),
            "{hostile} reached a runner policy"
        );
    }
    assert!(frame_csp("not a url", &[]).is_err());
    assert!(frame_csp("data:text/html,x", &[]).is_err());
}

#[test]
fn asset_origins_reach_img_and_media_only() {
    let csp = CspBuilder::new()
        .plugin_asset_origin("https://cdn.example/")
        .unwrap()
        .build();
    let d = directives(&csp);
    let get = |name: &str| d.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(get("img-src"), Some("'self' https://cdn.example"));
    assert_eq!(get("media-src"), Some("'self' https://cdn.example"));
    assert!(!get("script-src").unwrap().contains("cdn.example"));
    assert!(!get("connect-src").unwrap().contains("cdn.example"));
    let both = CspBuilder::new()
        .data_images(true)
        .plugin_asset_origin("https://cdn.example")
        .unwrap()
        .build();
    assert!(both.contains("img-src 'self' data: https://cdn.example;"));
    assert!(CspBuilder::new()
        .plugin_asset_origin("https://cdn.example; script-src *")
        .is_err());
}

// ---------------------------------------------------------------------------------------------
// Report-only rollout

fn endpoint(url: &str) -> ReportEndpoint {
    ReportEndpoint::new(url).expect("valid endpoint")
}

#[test]
fn report_only_header_is_the_same_policy_plus_reporting() {
    let n = nonce(3);
    let b = CspBuilder::new()
        .nonce(&n)
        .plugin_frame_origin("https://plugins.acme.example")
        .expect("origin");
    let enforced = b.header(&Reporting::default());
    assert_eq!(enforced.name, "Content-Security-Policy");
    assert_eq!(enforced.value, b.build());
    assert_eq!(enforced.reporting_endpoints, None);

    let r = Reporting {
        report_only: true,
        endpoint: Some(endpoint("https://host.acme.example/csp-reports?src=host")),
    };
    let h = b.header(&r);
    assert_eq!(h.name, "Content-Security-Policy-Report-Only");
    assert_eq!(
        h.value,
        format!(
            "{}; report-uri https://host.acme.example/csp-reports?src=host; report-to csp-endpoint",
            b.build()
        )
    );
    assert_eq!(
        h.reporting_endpoints.as_deref(),
        Some(r#"csp-endpoint="https://host.acme.example/csp-reports?src=host""#)
    );
    let d = directives(&h.value);
    assert_eq!(d.iter().filter(|(k, _)| k == "report-to").count(), 1);
    assert_eq!(
        serde_json::to_value(&h).expect("serializes"),
        serde_json::json!({
            "name": "Content-Security-Policy-Report-Only",
            "value": h.value,
            "reportingEndpoints": h.reporting_endpoints,
        })
    );
    // Report-only without an endpoint: console only, no Reporting-Endpoints.
    let quiet = b.header(&Reporting {
        report_only: true,
        endpoint: None,
    });
    assert_eq!(quiet.value, b.build());
    assert_eq!(quiet.reporting_endpoints, None);
    // Enforced with reporting.
    let both = b.header(&Reporting {
        report_only: false,
        endpoint: r.endpoint.clone(),
    });
    assert_eq!(both.name, "Content-Security-Policy");
    assert!(both.value.ends_with("report-to csp-endpoint"));
}

#[test]
fn report_endpoints_are_validated_and_normalized() {
    for (ok, want) in [
        ("https://H.Example:443/r", "https://h.example/r"),
        ("https://h.example/r?a=1&b=2", "https://h.example/r?a=1&b=2"),
        (
            "http://127.0.0.1:8700/csp-reports",
            "http://127.0.0.1:8700/csp-reports",
        ),
        ("http://localhost/r", "http://localhost/r"),
        ("http://[::1]:9/r", "http://[::1]:9/r"),
        (
            "https://bücher.example/r",
            "https://xn--bcher-kva.example/r",
        ),
    ] {
        assert_eq!(endpoint(ok).url(), want, "{ok}");
    }
    for (bad, says) in [
        ("", "absolute"),
        ("/csp-reports", "absolute"),
        ("http://h.example/r", "loopback"),
        ("ftp://h.example/r", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("https://u:p@h.example/r", "credentials"),
        ("https://h.example/r#x", "fragment"),
        ("https://h.example/r; script-src *", "whitespace"),
        ("https://h.example/r;script-src", "`;`"),
        ("https://h.example/r,x", "`,`"),
        ("https://h.example/\"x", "quote"),
        ("https://h.example/r\n", "control"),
        ("https://h.example/*", "serialization"),
    ] {
        let e = ReportEndpoint::new(bad).expect_err(bad);
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
        assert!(e.to_string().contains(says), "{bad}: {e}");
    }
    assert!(ReportEndpoint::with_group("main-csp_1.x", "https://h.example/r").is_ok());
    for g in ["", "Main", "1x", "a b", "a=b", &"a".repeat(65)] {
        let e = ReportEndpoint::with_group(g, "https://h.example/r").expect_err(g);
        assert!(matches!(e, CspError::InvalidReportGroup { .. }), "{g}");
    }
}

#[test]
fn engine_host_csp_header_matches_host_csp() {
    use plugin_warden::core::engine::{host_csp, host_csp_header};
    use plugin_warden::core::manifest::{Manifest, ManifestOptions};
    let m = Manifest::parse(
        r#"{"id":"acme","name":"A","network":["https://api.acme.example/v1/"],
            "entry":{"src":"https://plugins.acme.example/a/"}}"#,
        &ManifestOptions::default(),
    )
    .expect("manifest");
    let n = "AAECAwQFBgcICQoLDA0ODw==";
    let plain = host_csp([&m], n, "plugin-warden", true, &[]).expect("csp");
    let r = Reporting {
        report_only: true,
        endpoint: Some(endpoint("https://h.example/r")),
    };
    let h = host_csp_header([&m], n, "plugin-warden", true, &[], &r).expect("csp");
    assert_eq!(
        h.value,
        format!("{plain}; report-uri https://h.example/r; report-to csp-endpoint")
    );
}
