//! Remote UI (worker logic, host-rendered UI): the `ui` mount option, the `ui.render` policy
//! and the engine's render outcome, natively. The browser half is tests/e2e/remote-ui.test.mjs.
#![cfg(not(target_arch = "wasm32"))]

use plugin_warden::core::engine::{Engine, HostConfig, InstallInput, Status};
use plugin_warden::core::error::{Coded, ErrorCode};
use plugin_warden::core::mount::{plan, MountContext, MountOptions, MountPlan, UiMode};
use plugin_warden::core::provenance::Provenance;
use plugin_warden::core::sanitize::{set_clean_clock, TIME_LIMIT_CHUNK};
use plugin_warden::core::storage::MemoryBackend;
use serde_json::{json, Value};

mod support;
use support::{completed, send, ticking, ticking_now, Sent};

const T: f64 = 1_000.0;

fn ctx() -> MountContext<'static> {
    MountContext {
        host_url: "https://host.example/app",
        plugin_id: "acme-ui",
        allow: &[],
        entry_src: None,
        assets: &[],
        has_code: true,
    }
}

fn worker(ui: Option<&str>) -> MountOptions {
    MountOptions {
        mode: Some("worker".into()),
        runner: Some("/pkg/worker-runner.html".into()),
        ui: ui.map(Into::into),
        ..Default::default()
    }
}

#[test]
fn the_ui_option_is_for_worker_mounts_and_names_shadow() {
    let Ok(MountPlan::Worker { ui, .. }) = plan(&worker(Some("shadow")), &ctx()) else {
        panic!("a worker plan")
    };
    assert_eq!(ui, Some(UiMode::Shadow));
    let Ok(MountPlan::Worker { ui, .. }) = plan(&worker(None), &ctx()) else {
        panic!("a worker plan")
    };
    assert_eq!(ui, None);

    let e = plan(&worker(Some("iframe")), &ctx()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::MountFailed);
    assert!(e.to_string().contains("ui: expected \"shadow\""), "{e}");
    for mode in ["iframe", "shadow"] {
        let opts = MountOptions {
            mode: Some(mode.into()),
            src: Some("https://p.example/".into()),
            html: Some("<b>x</b>".into()),
            ui: Some("shadow".into()),
            ..Default::default()
        };
        let e = plan(&opts, &ctx()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::MountFailed, "{mode}");
        assert!(e.to_string().contains("`ui` is for worker mounts"), "{e}");
    }
    // The JS options deserialize with the field (unknown fields are refused).
    let o: MountOptions =
        serde_json::from_value(json!({"mode": "worker", "ui": "shadow"})).expect("known field");
    assert_eq!(o.ui.as_deref(), Some("shadow"));
}

// ---- the engine

fn engine() -> Engine<MemoryBackend> {
    let config: HostConfig = serde_json::from_value(json!({ "storage": "memory" })).unwrap();
    Engine::new(config, MemoryBackend::new()).unwrap()
}

fn install(e: &mut Engine<MemoryBackend>, id: &str, permissions: Value) {
    let m = json!({
        "id": id, "name": "UI", "permissions": permissions,
        "assets": ["https://cdn.example", "https://fonts.example:8443"],
    });
    let checked = e.check_manifest(&m.to_string(), T).expect("valid manifest");
    e.finish_install(checked, &InstallInput::default(), Provenance::Unsigned, T)
        .expect("installs");
}

fn mount(e: &mut Engine<MemoryBackend>, id: &str, ui: Option<UiMode>) {
    e.set_status(id, Status::Mounting, T).unwrap();
    e.set_mount_ui(id, ui).unwrap();
    e.set_status(id, Status::Mounted, T).unwrap();
}

fn render(e: &mut Engine<MemoryBackend>, id: &str, html: &str) -> Sent {
    let msg = json!({"v": 1, "id": 7, "method": "ui.render", "params": {"html": html}});
    send(e, id, Some(&msg.to_string()), T)
}

#[track_caller]
fn refused(o: Sent, code: &str) -> Value {
    let Sent::Reply(r) = o else {
        panic!("expected a reply, found {o:?}")
    };
    let r: Value = serde_json::from_str(&r).unwrap();
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["id"], 7, "{r}");
    assert_eq!(r["error"]["code"], code, "{r}");
    r["error"].clone()
}

#[test]
fn render_is_sanitized_with_the_plugins_asset_origins() {
    let mut e = engine();
    install(&mut e, "acme-ui", json!(["ui:render"]));
    mount(&mut e, "acme-ui", Some(UiMode::Shadow));
    let html = concat!(
        r#"<img src="https://cdn.example/logo.png" alt="logo">"#,
        r#"<img src="https://evil.example/track.png">"#,
        r#"<img src="/relative.png">"#,
        r#"<p style="background:url(https://evil.example/bg.png)" onclick="x()">hi</p>"#,
        r#"<form data-action="save" action="https://evil.example/"><input name="q"><button>Go</button></form>"#,
        r#"<script>alert(1)</script>"#,
    );
    let Sent::Render { call_id, html } = render(&mut e, "acme-ui", html) else {
        panic!("a render outcome")
    };
    assert_eq!(call_id, 7);
    assert_eq!(
        html,
        concat!(
            r#"<img src="https://cdn.example/logo.png" alt="logo"><img><img><p>hi</p>"#,
            r#"<form data-action="save" autocomplete="off"><input name="q" autocomplete="off"><button>Go</button></form>"#,
        )
    );
    assert!(e
        .audit_log()
        .iter()
        .any(|a| serde_json::to_value(a).unwrap()["method"] == "ui.render"));
}

#[test]
fn render_needs_the_capability_and_a_remote_ui_mount() {
    let mut e = engine();
    install(&mut e, "no-cap", json!([]));
    mount(&mut e, "no-cap", Some(UiMode::Shadow));
    let err = refused(render(&mut e, "no-cap", "<b>x</b>"), "PERMISSION_DENIED");
    assert_eq!(err["permission"], "ui:render");

    install(&mut e, "plain", json!(["ui:render"]));
    mount(&mut e, "plain", None);
    let err = refused(render(&mut e, "plain", "<b>x</b>"), "PERMISSION_DENIED");
    assert!(err.get("permission").is_none(), "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("mode: 'worker', ui: 'shadow'"),
        "{err}"
    );
}

#[test]
fn the_ui_ends_with_its_mount() {
    let mut e = engine();
    install(&mut e, "acme-ui", json!(["ui:render"]));
    mount(&mut e, "acme-ui", Some(UiMode::Shadow));
    assert!(matches!(
        render(&mut e, "acme-ui", "<b>1</b>"),
        Sent::Render { .. }
    ));
    e.set_status("acme-ui", Status::Installed, T).unwrap();
    // Mounted again as a plain worker: no UI left over from the previous mount.
    e.set_status("acme-ui", Status::Mounting, T).unwrap();
    e.set_status("acme-ui", Status::Mounted, T).unwrap();
    refused(render(&mut e, "acme-ui", "<b>2</b>"), "PERMISSION_DENIED");

    mount(&mut e, "acme-ui", Some(UiMode::Shadow));
    e.set_status(
        "acme-ui",
        Status::Failed {
            code: ErrorCode::MountFailed,
            message: "gone".into(),
        },
        T,
    )
    .unwrap();
    e.set_status("acme-ui", Status::Mounting, T).unwrap();
    e.set_status("acme-ui", Status::Mounted, T).unwrap();
    refused(render(&mut e, "acme-ui", "<b>3</b>"), "PERMISSION_DENIED");
    assert_eq!(
        e.set_mount_ui("nobody", Some(UiMode::Shadow))
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
}

#[test]
fn oversized_markup_is_refused_with_a_code() {
    let config: HostConfig =
        serde_json::from_value(json!({ "storage": "memory", "sanitizer": { "maxTags": 10 } }))
            .unwrap();
    let mut e = Engine::new(config, MemoryBackend::new()).unwrap();
    install(&mut e, "acme-ui", json!(["ui:render"]));
    mount(&mut e, "acme-ui", Some(UiMode::Shadow));
    let err = refused(
        render(&mut e, "acme-ui", &"<b>x</b>".repeat(11)),
        "MESSAGE_REJECTED",
    );
    assert!(
        err["message"].as_str().unwrap().contains("start tags"),
        "{err}"
    );
    assert!(matches!(
        render(&mut e, "acme-ui", ""),
        Sent::Render { html, .. } if html.is_empty()
    ));
}

/// A render's cost is the host page's main thread (the core's clean, the browser layer's second
/// clean and insert), and HTML of one size can cost far more than the call rate limit assumes
/// (deep nesting parses in quadratic time). Each plugin's renders get a share of the page's
/// time: measured from admission to completion on the engine's clock, refused `RATE_LIMITED`
/// (unparsed, audited) while over it, admitted again once it drains.
#[test]
fn slow_renders_get_a_quarter_of_the_page_time() {
    use plugin_warden::core::ratelimit::RateLimitConfig;
    let (share, burst) = (
        RateLimitConfig::default().render_share,
        RateLimitConfig::default().render_burst_ms,
    );
    assert_eq!((share, burst), (0.25, 250.0));
    use plugin_warden::core::ratelimit::ManualClock;
    use std::rc::Rc;

    let clock = Rc::new(ManualClock::new(10_000.0));
    let mut e = engine();
    e.set_clock(Box::new(Shared(clock.clone())));
    install(&mut e, "acme-ui", json!(["ui:render"]));
    mount(&mut e, "acme-ui", Some(UiMode::Shadow));
    // A render that takes 300 ms (the browser layer's part, on the engine's clock).
    assert!(matches!(
        render(&mut e, "acme-ui", "<p>slow</p>"),
        Sent::Render { .. }
    ));
    clock.advance(300.0);
    rendered(&mut e);
    // Over the burst: refused at once, and again and again while it drains.
    refused_saying(
        render(&mut e, "acme-ui", "<p>again</p>"),
        "RATE_LIMITED",
        "more than 25% of the host page's time",
    );
    // Refusals are audited like any other.
    assert!(render_refused_in_audit(&e, "RATE_LIMITED"));
    let drain = (300.0 - burst) / share; // 200 ms
    clock.advance(drain - 1.0);
    refused(render(&mut e, "acme-ui", "<p>again</p>"), "RATE_LIMITED");
    clock.advance(1.0);
    assert!(matches!(
        render(&mut e, "acme-ui", "<p>drained</p>"),
        Sent::Render { .. }
    ));
    rendered(&mut e);
    // Fast renders (1 ms each, every 25 ms, under the call rate limit) are never refused.
    for _ in 0..1000 {
        clock.advance(24.0);
        assert!(matches!(
            render(&mut e, "acme-ui", "<p>fast</p>"),
            Sent::Render { .. }
        ));
        clock.advance(1.0);
        rendered(&mut e);
    }
}

/// The budget is the host's to set (`limits.renderShare`, `limits.renderBurstMs`), within
/// sense: a share above 0 and at most 1, a burst of 0 ms or more.
#[test]
fn the_render_budget_is_configurable_and_checked() {
    use plugin_warden::core::ratelimit::ManualClock;
    use std::rc::Rc;
    refused_limits(
        &[
            json!({ "renderShare": 0 }),
            json!({ "renderShare": 1.5 }),
            json!({ "renderShare": -0.1 }),
            json!({ "renderBurstMs": -1 }),
        ],
        "limits.render",
    );
    // Half the time, no burst: a 100 ms render, then refused until 200 ms have passed.
    let clock = Rc::new(ManualClock::new(10_000.0));
    let mut e = with_limits(json!({ "renderShare": 0.5, "renderBurstMs": 0 })).unwrap();
    e.set_clock(Box::new(Shared(clock.clone())));
    install(&mut e, "acme-ui", json!(["ui:render"]));
    mount(&mut e, "acme-ui", Some(UiMode::Shadow));
    assert!(matches!(
        render(&mut e, "acme-ui", "<p>a</p>"),
        Sent::Render { .. }
    ));
    clock.advance(100.0);
    rendered(&mut e);
    refused_saying(
        render(&mut e, "acme-ui", "<p>b</p>"),
        "RATE_LIMITED",
        "more than 50% of",
    );
    clock.advance(199.0);
    refused(render(&mut e, "acme-ui", "<p>b</p>"), "RATE_LIMITED");
    clock.advance(1.0);
    assert!(matches!(
        render(&mut e, "acme-ui", "<p>c</p>"),
        Sent::Render { .. }
    ));
}

/// The browser layer's report that the pending render (call 7) was inserted.
fn rendered(e: &mut Engine<MemoryBackend>) {
    use plugin_warden::core::engine::Completion;
    e.complete(
        "acme-ui",
        Completion::Render {
            call_id: 7,
            result: Ok(()),
        },
        T,
    );
}

/// [`refused`], and its message says `words`.
#[track_caller]
fn refused_saying(o: Sent, code: &str, words: &str) {
    let err = refused(o, code);
    assert!(err["message"].as_str().unwrap().contains(words), "{err}");
}

/// Whether the audit log holds a `ui.render` refused with `code`.
fn render_refused_in_audit(e: &Engine<MemoryBackend>, code: &str) -> bool {
    e.audit_log().iter().any(|a| {
        let a = serde_json::to_value(a).unwrap();
        a["method"] == "ui.render" && a["code"] == code
    })
}

/// An engine with the host option `limits`.
fn with_limits(
    limits: Value,
) -> Result<Engine<MemoryBackend>, plugin_warden::core::error::WardenError> {
    let c: HostConfig =
        serde_json::from_value(json!({ "storage": "memory", "limits": limits })).unwrap();
    Engine::new(c, MemoryBackend::new())
}

/// Each of `bad` refused at host creation, `INVALID_ARGUMENT` naming `what`.
#[track_caller]
fn refused_limits(bad: &[Value], what: &str) {
    for limits in bad {
        let Err(err) = with_limits(limits.clone()) else {
            panic!("{limits} was taken")
        };
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{limits}");
        assert!(err.to_string().contains(what), "{err}");
    }
}

/// A [`ManualClock`] the test keeps moving while the engine reads it.
struct Shared(std::rc::Rc<plugin_warden::core::ratelimit::ManualClock>);

impl plugin_warden::core::ratelimit::Clock for Shared {
    fn now_ms(&self) -> f64 {
        self.0.now_ms()
    }
}

/// One render's clean may take `limits.renderCleanMs` (100 ms by default), the budget above
/// notwithstanding: the first render of deep nesting would otherwise hold the page for as long
/// as html5ever's quadratic parse takes. Past it, the render is refused `TIMEOUT`, nothing of
/// it shown, audited, and charged to the budget like any render.
#[test]
fn a_render_whose_clean_takes_too_long_is_refused_timeout() {
    set_clean_clock(ticking);
    refused_limits(
        &[
            json!({ "renderCleanMs": 0 }),
            json!({ "renderCleanMs": 60_001 }),
        ],
        "limits.renderCleanMs",
    );
    let mut e = with_limits(json!({ "renderCleanMs": 20 })).unwrap();
    install(&mut e, "acme-ui", json!(["ui:render"]));
    mount(&mut e, "acme-ui", Some(UiMode::Shadow));
    // A remote UI cleans twice, and the engine looks at the clock once more to take the
    // render's deadline: 9 pieces a pass fit in 20 ms, 10 do not.
    let html = |pieces: usize| format!("<p>{}</p>", "w".repeat(pieces * TIME_LIMIT_CHUNK - 7));
    assert!(matches!(
        render(&mut e, "acme-ui", &html(9)),
        Sent::Render { .. }
    ));
    rendered(&mut e);
    refused_saying(
        render(&mut e, "acme-ui", &html(10)),
        "TIMEOUT",
        "longer than 20 ms",
    );
    assert!(render_refused_in_audit(&e, "TIMEOUT"));
    // The default: 100 ms.
    let mut e = engine();
    install(&mut e, "acme-ui", json!(["ui:render"]));
    mount(&mut e, "acme-ui", Some(UiMode::Shadow));
    refused(render(&mut e, "acme-ui", &html(50)), "TIMEOUT");
    assert!(matches!(
        render(&mut e, "acme-ui", &html(49)),
        Sent::Render { .. }
    ));
}

/// A render is cleaned twice on the host page: by the engine, then by the Trusted Types policy
/// as it enters the DOM. Both end by one deadline, which the engine hands on with the render,
/// so that together they hold the page at most `limits.renderCleanMs`, not twice that.
#[test]
fn a_renders_two_cleans_keep_to_one_deadline() {
    use plugin_warden::core::engine::{Completion, Effect, Incoming};
    use plugin_warden::core::error::WardenError;
    use plugin_warden::core::sanitize::{cleans_ending_by, Sanitizer};
    set_clean_clock(ticking);
    let mut e = with_limits(json!({ "renderCleanMs": 30 })).unwrap();
    install(&mut e, "acme-ui", json!(["ui:render"]));
    mount(&mut e, "acme-ui", Some(UiMode::Shadow));
    // The browser's clean: the same policy, the same limit (web::mounting).
    let browser = Sanitizer::default()
        .for_remote_ui(&[
            "https://cdn.example".into(),
            "https://fonts.example:8443".into(),
        ])
        .with_time_limit(30)
        .unwrap();
    // `pieces` pieces of HTML: the engine's clean reads the clock twice to start (the render's
    // deadline, its own) and once per piece of each of its two passes.
    let send_render = |e: &mut Engine<_>, pieces: usize| {
        let html = format!("<p>{}</p>", "w".repeat(pieces * TIME_LIMIT_CHUNK - 7));
        let msg = json!({"v": 1, "id": 7, "method": "ui.render", "params": {"html": html}});
        let start = ticking_now();
        let effects = e.receive("acme-ui", Incoming::new(Some(msg.to_string())), T);
        let [Effect::Render { html, clean_by, .. }, Effect::Audit(_)] = effects.as_slice() else {
            panic!("a render: {effects:?}")
        };
        // The deadline: the first look at the clock, and the limit.
        assert_eq!(*clean_by, Some(start + 1.0 + 30.0));
        (html.clone(), *clean_by)
    };
    // 10 pieces: the engine's clean ends at 22 ms of the 30, and each clean alone would fit in
    // 30 ms, but the browser's, by the render's deadline, stops at 31.
    let (html, clean_by) = send_render(&mut e, 10);
    let err = cleans_ending_by(clean_by, || browser.try_sanitize(&html)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout);
    assert_eq!(browser.try_sanitize(&html).unwrap(), html);
    // The browser answers that the render failed: the plugin is told, and it is audited.
    assert!(!render_refused_in_audit(&e, "TIMEOUT"));
    let failed = WardenError::new(err.code(), err.to_string());
    let reply = completed(
        &mut e,
        "acme-ui",
        Completion::Render {
            call_id: 7,
            result: Err(failed),
        },
        T,
    );
    refused_saying(Sent::Reply(reply), "TIMEOUT", "longer than 30 ms");
    assert!(render_refused_in_audit(&e, "TIMEOUT"));
    // 4 pieces: both cleans end by 19 ms.
    let (html, clean_by) = send_render(&mut e, 4);
    assert_eq!(
        cleans_ending_by(clean_by, || browser.try_sanitize(&html)).unwrap(),
        html
    );
}
