//! Mount planning: turns the host's `mount` options into exactly what the browser layer builds.
//!
//! Every safety decision about a mount is made here, natively tested: which sandbox tokens a
//! host may opt into, when `allow-same-origin` is refused, which URLs a frame may load, and
//! which Permissions Policy features the manifest grants.

use super::weburl::WebUrl;
use serde::Deserialize;
use thiserror::Error;

use super::collections::join;
use super::csp::{frame_csp, runner_csp, srcdoc_csp, Nonce, RunnerKind};
use super::error::{cold_text, Coded, ErrorCode};

/// Default time for a plugin to complete its handshake (DESIGN.md §7).
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u32 = 10_000;

/// Sandbox tokens a host may add to the always-present `allow-scripts`.
///
/// Deliberately absent: `allow-popups-to-escape-sandbox` (the popup would run unsandboxed) and
/// `allow-storage-access-by-user-activation`. `allow-same-origin` is checked separately.
pub const OPT_IN_SANDBOX_TOKENS: [&str; 9] = [
    "allow-forms",
    "allow-modals",
    "allow-popups",
    "allow-downloads",
    "allow-pointer-lock",
    "allow-presentation",
    "allow-orientation-lock",
    "allow-top-navigation-by-user-activation",
    "allow-same-origin",
];

/// The `mount` options as the host passes them (`{ mode, src | srcdoc | html | code, … }`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MountOptions {
    /// `"iframe"` (default), `"worker"` or `"shadow"`.
    pub mode: Option<String>,
    /// The plugin page's URL (iframe) or script URL (worker).
    pub src: Option<String>,
    /// A whole HTML document for the iframe.
    pub srcdoc: Option<String>,
    /// Declarative HTML for a shadow mount.
    pub html: Option<String>,
    /// Script source for a worker mount.
    pub code: Option<String>,
    /// Extra sandbox tokens the host opts into (see [`OPT_IN_SANDBOX_TOKENS`]).
    pub sandbox: Option<Vec<String>>,
    /// Handshake timeout in milliseconds.
    pub timeout: Option<u32>,
    /// Accessible title for the frame.
    pub title: Option<String>,
    /// For `srcdoc` documents: the host page's CSP nonce, so the document's own (nonced) inline
    /// scripts pass both its own policy and the host policy it inherits (DESIGN.md §9).
    pub nonce: Option<String>,
    /// Set by the browser layer when the host passed a `render` function (shadow mounts of
    /// first-party code); functions are not part of the JSON options.
    #[serde(skip)]
    pub render: bool,
    /// The worker runner page's URL (worker mounts; the package's entry module supplies its
    /// own `worker-runner.html` when this is absent).
    pub runner: Option<String>,
    /// `"shadow"` on a worker mount: a remote UI (see [`UiMode`]).
    pub ui: Option<String>,
}

// `render` is not read from JSON (a function; set by the browser layer), so it is not a field
// here: `{"render": …}` is an unknown field, as with serde's `skip`.
crate::core::json::from_json_struct!(MountOptions, "struct MountOptions", {
    mode: "mode",
    src: "src",
    srcdoc: "srcdoc",
    html: "html",
    code: "code",
    sandbox: "sandbox",
    timeout: "timeout",
    title: "title",
    nonce: "nonce",
    runner: "runner",
    ui: "ui",
});

/// Where a worker plugin's UI goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UiMode {
    /// `ui: 'shadow'`: a closed shadow root in the mount element, filled by the host with the
    /// sanitized HTML of the plugin's `ui.render` calls; `data-action` clicks, inputs and
    /// submits go back to the plugin as `ui.action` events (the remote-UI pattern).
    Shadow,
}

impl UiMode {
    /// Parse the `ui` mount option.
    ///
    /// # Errors
    /// [`MountError::Options`] for anything but `"shadow"`.
    ///
    /// ```
    /// use plugin_warden::core::mount::UiMode;
    /// assert_eq!(UiMode::parse("shadow").unwrap(), UiMode::Shadow);
    /// assert!(UiMode::parse("iframe").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<UiMode, MountError> {
        match s {
            "shadow" => Ok(UiMode::Shadow),
            other => Err(MountError::Options(format!(
                "ui: expected \"shadow\" (a host-rendered remote UI), found {other:?}"
            ))),
        }
    }
}

/// Where an iframe's document comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameSource {
    /// A URL (absolute, normalized).
    Src(String),
    /// An inline document.
    Srcdoc(String),
}

/// Everything needed to build a plugin iframe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IframePlan {
    /// The document.
    pub source: FrameSource,
    /// The `sandbox` attribute value (always starts with `allow-scripts`).
    pub sandbox: String,
    /// The `allow` attribute (Permissions Policy), from the manifest's `allow` list only.
    pub allow: String,
    /// The frame's accessible title.
    pub title: String,
    /// Handshake timeout in milliseconds.
    pub timeout_ms: u32,
    /// The `csp` attribute (CSP Embedded Enforcement): the policy the frame's document must
    /// enforce ([`frame_csp`] for a `src` page, [`srcdoc_csp`] for a `srcdoc` document). `None`
    /// for the runner page, which applies its own policy whatever its server sends.
    pub csp: Option<String>,
}

/// What a mount will be.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MountPlan {
    /// A sandboxed iframe.
    Iframe(IframePlan),
    /// A dedicated worker started from `code` inside a hidden sandboxed runner frame, so it
    /// does not share the host's origin.
    Worker {
        /// The runner frame (sandbox `allow-scripts` only, no Permissions Policy).
        frame: IframePlan,
        /// Code given with the mount; `None` means the code checked at install.
        code: Option<String>,
        /// The policy the runner applies to itself before starting the worker
        /// ([`runner_csp`]).
        csp: String,
        /// A host-rendered UI for the worker, if the mount asked for one.
        ui: Option<UiMode>,
    },
    /// A bundle iframe: the package's runner page, which runs the plugin's verified code in its
    /// own (sandboxed) document under [`runner_csp`] — no `src` server involved.
    Bundle {
        /// The runner frame (the host's sandbox tokens and Permissions Policy apply).
        frame: IframePlan,
        /// Code given with the mount; `None` means the code checked at install.
        code: Option<String>,
        /// The policy the runner applies to itself before running the code.
        csp: String,
    },
    /// A closed shadow root holding this HTML, sanitized on the way in. No plugin script runs.
    Shadow {
        /// The plugin's HTML (sanitized by the browser layer through the Trusted Types policy).
        html: Option<String>,
        /// Whether a first-party `render` callback gets the root and a scoped SDK.
        render: bool,
    },
}

/// Facts about the host and the plugin that a plan depends on.
#[derive(Clone, Debug)]
pub struct MountContext<'a> {
    /// The host page's URL (`location.href`), for resolving relative `src` and comparing origins.
    pub host_url: &'a str,
    /// The plugin's id (for the default title).
    pub plugin_id: &'a str,
    /// Permissions Policy features from the manifest's `allow`.
    pub allow: &'a [String],
    /// The manifest's `entry.src`, used when the options name no document.
    pub entry_src: Option<&'a str>,
    /// The manifest's `assets` origins (images, fonts, styles, media; scripts for `src` pages).
    pub assets: &'a [String],
    /// Whether the plugin was installed with code (a bundle iframe runs it when the options
    /// and the manifest name no document).
    pub has_code: bool,
}

/// `Err(MountError::Options(…))` for a message that is a literal, its text read out of line
/// (then not in the core's first part, where `plan` runs: `cold_text!`).
macro_rules! refuse {
    ($message:literal) => {
        Err(MountError::Options(cold_text!($message).to_owned()))
    };
}

/// Why a mount was refused before anything was created.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MountError {
    /// The options are malformed or contradictory.
    #[error("{0}")]
    Options(String),
    /// A mode that exists in the API but is not built yet.
    #[error("mode {0:?} is not implemented yet")]
    NotImplemented(String),
}

impl Coded for MountError {
    fn code(&self) -> ErrorCode {
        match self {
            MountError::Options(_) => ErrorCode::MountFailed,
            MountError::NotImplemented(_) => ErrorCode::NotImplemented,
        }
    }
}

/// Plan a mount.
///
/// # Errors
/// [`MountError::Options`] (`MOUNT_FAILED`) for an unknown mode, a missing or doubled document,
/// a URL that is not `http(s)`, an unknown or refused sandbox token, or `allow-same-origin` on a
/// document that would share the host's origin (the plugin could then remove its own sandbox).
///
/// ```
/// use plugin_warden::core::mount::{plan, MountContext, MountOptions, MountPlan};
/// let ctx = MountContext { host_url: "https://host.example/app", plugin_id: "acme",
///     allow: &[], entry_src: None, assets: &[], has_code: false };
/// let opts = MountOptions { src: Some("https://plugins.example/acme/".into()), ..Default::default() };
/// let MountPlan::Iframe(p) = plan(&opts, &ctx).unwrap() else { panic!() };
/// assert_eq!(p.sandbox, "allow-scripts");
/// assert!(p.csp.unwrap().contains("connect-src 'none'"));
/// let same = MountOptions { src: Some("/acme/".into()),
///     sandbox: Some(vec!["allow-same-origin".into()]), ..Default::default() };
/// assert!(plan(&same, &ctx).is_err());
/// ```
pub fn plan(opts: &MountOptions, ctx: &MountContext<'_>) -> Result<MountPlan, MountError> {
    let bad = |m: String| Err(MountError::Options(m));
    let mode = opts.mode.as_deref().unwrap_or("iframe");
    if opts.ui.is_some() && mode != "worker" {
        return refuse!("`ui` is for worker mounts (`{ mode: 'worker', ui: 'shadow' }`): an iframe draws its own UI and a shadow mount is one");
    }
    match mode {
        "iframe" => {}
        "worker" => return plan_worker(opts, ctx),
        "shadow" => {
            if opts.src.is_some()
                || opts.srcdoc.is_some()
                || opts.code.is_some()
                || opts.sandbox.is_some()
            {
                return refuse!("shadow mounts take only `html` (declarative HTML; no plugin script runs there) and, for first-party code, `render`");
            }
            if opts.html.is_none() && !opts.render {
                return refuse!("a shadow mount needs `html` or a first-party `render` function");
            }
            return Ok(MountPlan::Shadow {
                html: opts.html.clone(),
                render: opts.render,
            });
        }
        other => {
            return bad(format!(
                "mode: expected \"iframe\", \"worker\" or \"shadow\", found {other:?}"
            ))
        }
    }
    if opts.html.is_some() {
        return refuse!(
            "iframe mounts take `src`, `srcdoc` or `code`; `html` is for shadow mounts"
        );
    }
    let host = WebUrl::parse(ctx.host_url).map_err(|e| {
        MountError::Options(format!("host URL {:?} does not parse: {e}", ctx.host_url))
    })?;
    let documents = [
        opts.src.is_some(),
        opts.srcdoc.is_some(),
        opts.code.is_some(),
    ];
    if documents.iter().filter(|d| **d).count() > 1 {
        return refuse!("give one of `src`, `srcdoc` or `code`, not several");
    }
    let (source, csp) = match (&opts.src, &opts.srcdoc, ctx.entry_src) {
        (None, Some(doc), _) => {
            let nonce = opts
                .nonce
                .as_deref()
                .map(Nonce::parse)
                .transpose()
                .map_err(|e| MountError::Options(format!("nonce: {e}")))?;
            let csp = srcdoc_csp(nonce.as_ref());
            (FrameSource::Srcdoc(srcdoc_document(doc, nonce.as_ref())), csp)
        }
        (Some(src), _, _) => src_frame(&host, src, ctx)?,
        (None, None, _) if opts.code.is_some() => return plan_bundle(opts, ctx, &host),
        (None, None, Some(entry)) => src_frame(&host, entry, ctx)?,
        (None, None, None) if ctx.has_code => return plan_bundle(opts, ctx, &host),
        (None, None, None) => {
            return refuse!("an iframe mount needs `src`, `srcdoc` or `code` (or the manifest's `entry.src`, or code given to install)")
        }
    };
    let sandbox = sandbox_tokens(opts, &host, &source)?;
    Ok(MountPlan::Iframe(IframePlan {
        source,
        sandbox,
        allow: permissions_policy(ctx),
        title: opts
            .title
            .clone()
            .unwrap_or_else(|| format!("plugin {}", ctx.plugin_id)),
        timeout_ms: opts.timeout.unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT_MS),
        csp: Some(csp),
    }))
}

/// A `src` page and the policy it must accept.
fn src_frame(
    host: &WebUrl,
    src: &str,
    ctx: &MountContext<'_>,
) -> Result<(FrameSource, String), MountError> {
    let url = frame_url(host, src)?;
    let csp = frame_csp(&url, ctx.assets).map_err(|e| MountError::Options(e.to_string()))?;
    Ok((FrameSource::Src(url), csp))
}

/// The `allow` attribute: the manifest's `allow` features, nothing else.
fn permissions_policy(ctx: &MountContext<'_>) -> String {
    let features: Vec<&str> = ctx.allow.iter().map(|f| f.as_str()).collect();
    join(&features, "; ")
}

/// The runner frame both worker plugins and bundle iframes live in.
fn runner_frame(
    opts: &MountOptions,
    host: &WebUrl,
    sandbox: String,
    allow: String,
    title: String,
) -> Result<IframePlan, MountError> {
    let runner = opts.runner.as_deref().ok_or_else(|| {
        MountError::Options(
            "this mount needs `runner` (the package's worker-runner.html; the package's entry module supplies it)".into(),
        )
    })?;
    Ok(IframePlan {
        source: FrameSource::Src(frame_url(host, runner)?),
        sandbox,
        allow,
        title,
        timeout_ms: opts.timeout.unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT_MS),
        // The runner page enforces its own policy (a `<meta>` it carries, then
        // `runner_csp`): it is the host's file, whose server need not opt in.
        csp: None,
    })
}

fn plan_bundle(
    opts: &MountOptions,
    ctx: &MountContext<'_>,
    host: &WebUrl,
) -> Result<MountPlan, MountError> {
    if opts.nonce.is_some() {
        return Err(MountError::Options(
            "`nonce` is for `srcdoc` documents; a bundle iframe runs in the package's runner page"
                .into(),
        ));
    }
    let mut frame = runner_frame(
        opts,
        host,
        String::new(),
        permissions_policy(ctx),
        opts.title
            .clone()
            .unwrap_or_else(|| format!("plugin {}", ctx.plugin_id)),
    )?;
    // The runner is the host's own file: `allow-same-origin` is refused here, always.
    frame.sandbox = sandbox_tokens(opts, host, &frame.source)?;
    let csp = runner_csp(RunnerKind::Frame, ctx.assets)
        .map_err(|e| MountError::Options(e.to_string()))?;
    Ok(MountPlan::Bundle {
        frame,
        code: opts.code.clone(),
        csp,
    })
}

/// `allow-scripts` plus the tokens the host opted into, each checked.
fn sandbox_tokens(
    opts: &MountOptions,
    host: &WebUrl,
    source: &FrameSource,
) -> Result<String, MountError> {
    let bad = |m: String| Err(MountError::Options(m));
    let mut sandbox = vec!["allow-scripts".to_owned()];
    for token in opts.sandbox.iter().flatten() {
        if !OPT_IN_SANDBOX_TOKENS.contains(&token.as_str()) {
            return bad(format!(
                "sandbox: {token:?} is not a token a host may add; expected one of {}",
                join(&OPT_IN_SANDBOX_TOKENS, ", ")
            ));
        }
        if token == "allow-same-origin" {
            let shares_origin = match source {
                FrameSource::Srcdoc(_) => true,
                FrameSource::Src(u) => WebUrl::parse(u)
                    .map(|u| u.origin() == host.origin())
                    .unwrap_or(true),
            };
            if shares_origin {
                return refuse!("sandbox: \"allow-same-origin\" is refused because the plugin's document would share the host's origin, and a same-origin frame with scripts can remove its own sandbox");
            }
        }
        if !sandbox.contains(token) {
            sandbox.push(token.clone());
        }
    }
    Ok(join(&sandbox, " "))
}

/// The document a `srcdoc` plugin frame gets: its own restrictive CSP first (as a `<meta>`,
/// which applies to everything after it), then the plugin's document. A leading doctype in the
/// plugin's document is moved before the `<meta>` so the frame stays in standards mode.
///
/// ```
/// use plugin_warden::core::mount::srcdoc_document;
/// let doc = srcdoc_document("<!DOCTYPE html><p>hi", None);
/// assert!(doc.starts_with("<!doctype html><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"));
/// assert!(doc.ends_with("<p>hi"));
/// ```
pub fn srcdoc_document(doc: &str, nonce: Option<&Nonce>) -> String {
    let trimmed = doc.trim_start();
    let body = match trimmed.get(..9) {
        Some(head) if head.eq_ignore_ascii_case("<!doctype") => trimmed
            .find('>')
            .and_then(|i| trimmed.get(i + 1..))
            .unwrap_or(""),
        _ => doc,
    };
    // srcdoc_csp's output has no double quotes, so it is safe inside the attribute.
    format!(
        "<!doctype html><meta http-equiv=\"Content-Security-Policy\" content=\"{}\">{body}",
        srcdoc_csp(nonce)
    )
}

fn plan_worker(opts: &MountOptions, ctx: &MountContext<'_>) -> Result<MountPlan, MountError> {
    if opts.src.is_some() || opts.srcdoc.is_some() || opts.html.is_some() {
        return refuse!("worker mounts take `code` (or use the code checked at install); `src`, `srcdoc` and `html` are for other modes");
    }
    if opts.sandbox.is_some() {
        return refuse!(
            "worker mounts take no sandbox tokens: the runner frame is `allow-scripts` only"
        );
    }
    let host = WebUrl::parse(ctx.host_url).map_err(|e| {
        MountError::Options(format!("host URL {:?} does not parse: {e}", ctx.host_url))
    })?;
    let frame = runner_frame(
        opts,
        &host,
        "allow-scripts".to_owned(),
        String::new(),
        opts.title
            .clone()
            .unwrap_or_else(|| format!("plugin {} (worker)", ctx.plugin_id)),
    )?;
    let csp =
        runner_csp(RunnerKind::Worker, &[]).map_err(|e| MountError::Options(e.to_string()))?;
    Ok(MountPlan::Worker {
        frame,
        code: opts.code.clone(),
        csp,
        ui: opts.ui.as_deref().map(UiMode::parse).transpose()?,
    })
}

fn frame_url(host: &WebUrl, src: &str) -> Result<String, MountError> {
    let url = host
        .join(src)
        .map_err(|e| MountError::Options(format!("src: {src:?} is not a URL: {e}")))?;
    match url.scheme() {
        "https" | "http" => Ok(url.into()),
        other => Err(MountError::Options(format!(
            "src: expected an http(s) URL, found scheme {other:?} in {src:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(allow: &'a [String]) -> MountContext<'a> {
        MountContext {
            host_url: "http://127.0.0.1:8700/",
            plugin_id: "demo",
            allow,
            entry_src: None,
            assets: &[],
            has_code: false,
        }
    }

    fn iframe(opts: MountOptions, allow: &[String]) -> Result<IframePlan, MountError> {
        match plan(&opts, &ctx(allow))? {
            MountPlan::Iframe(p) => Ok(p),
            other => panic!("expected an iframe plan, got {other:?}"),
        }
    }

    #[test]
    fn default_sandbox_is_scripts_only() {
        let p = iframe(
            MountOptions {
                src: Some("http://localhost:8701/p.html".into()),
                ..Default::default()
            },
            &[],
        )
        .unwrap();
        assert_eq!(p.sandbox, "allow-scripts");
        assert_eq!(
            p.source,
            FrameSource::Src("http://localhost:8701/p.html".into())
        );
        assert_eq!(p.timeout_ms, DEFAULT_HANDSHAKE_TIMEOUT_MS);
    }

    #[test]
    fn same_origin_is_refused_for_same_origin_documents_and_srcdoc() {
        let so = Some(vec!["allow-same-origin".to_owned()]);
        for opts in [
            MountOptions {
                src: Some("/plugin.html".into()),
                sandbox: so.clone(),
                ..Default::default()
            },
            MountOptions {
                srcdoc: Some("<p>x".into()),
                sandbox: so.clone(),
                ..Default::default()
            },
        ] {
            let err = iframe(opts, &[]).unwrap_err();
            assert_eq!(err.code(), ErrorCode::MountFailed);
            assert!(err.to_string().contains("share the host's origin"), "{err}");
        }
        let cross = iframe(
            MountOptions {
                src: Some("http://localhost:8701/p".into()),
                sandbox: so,
                ..Default::default()
            },
            &[],
        )
        .unwrap();
        assert_eq!(cross.sandbox, "allow-scripts allow-same-origin");
    }

    #[test]
    fn dangerous_or_unknown_tokens_are_refused() {
        for t in [
            "allow-popups-to-escape-sandbox",
            "allow-top-navigation",
            "allow-scripts allow-same-origin",
            "",
        ] {
            let opts = MountOptions {
                src: Some("http://localhost:8701/".into()),
                sandbox: Some(vec![t.to_owned()]),
                ..Default::default()
            };
            assert!(iframe(opts, &[]).is_err(), "{t:?} accepted");
        }
    }

    #[test]
    fn only_http_urls_load() {
        for src in [
            "javascript:alert(1)",
            "data:text/html,<script>",
            "blob:http://x/1",
            "about:blank",
        ] {
            let err = iframe(
                MountOptions {
                    src: Some(src.into()),
                    ..Default::default()
                },
                &[],
            )
            .unwrap_err();
            assert!(err.to_string().contains("http(s)"), "{src}: {err}");
        }
    }

    #[test]
    fn permissions_policy_comes_from_the_manifest_only() {
        let allow = vec!["clipboard-write".to_owned(), "fullscreen".to_owned()];
        let p = iframe(
            MountOptions {
                src: Some("http://localhost:8701/".into()),
                ..Default::default()
            },
            &allow,
        )
        .unwrap();
        assert_eq!(p.allow, "clipboard-write; fullscreen");
    }

    #[test]
    fn contradictory_options_are_refused() {
        let both = MountOptions {
            src: Some("/a".into()),
            srcdoc: Some("b".into()),
            ..Default::default()
        };
        assert!(iframe(both, &[]).is_err());
        assert!(iframe(MountOptions::default(), &[]).is_err());
        let html = MountOptions {
            src: Some("/a".into()),
            html: Some("<b>".into()),
            ..Default::default()
        };
        assert!(iframe(html, &[]).is_err());
        let mode = MountOptions {
            mode: Some("popup".into()),
            ..Default::default()
        };
        assert!(plan(&mode, &ctx(&[])).is_err());
    }

    #[test]
    fn entry_src_is_the_fallback_document() {
        let c = MountContext {
            entry_src: Some("http://localhost:8701/entry.html"),
            ..ctx(&[])
        };
        let MountPlan::Iframe(p) = plan(&MountOptions::default(), &c).unwrap() else {
            panic!("not an iframe")
        };
        assert_eq!(
            p.source,
            FrameSource::Src("http://localhost:8701/entry.html".into())
        );
    }

    #[test]
    fn shadow_mounts_take_html_only() {
        let ok = MountOptions {
            mode: Some("shadow".into()),
            html: Some("<b>hi</b>".into()),
            ..Default::default()
        };
        assert_eq!(
            plan(&ok, &ctx(&[])).unwrap(),
            MountPlan::Shadow {
                html: Some("<b>hi</b>".into()),
                render: false
            }
        );
        let render = MountOptions {
            mode: Some("shadow".into()),
            render: true,
            ..Default::default()
        };
        assert_eq!(
            plan(&render, &ctx(&[])).unwrap(),
            MountPlan::Shadow {
                html: None,
                render: true
            }
        );
        let with_src = MountOptions {
            src: Some("/x".into()),
            ..ok.clone()
        };
        assert_eq!(
            plan(&with_src, &ctx(&[])).unwrap_err().code(),
            ErrorCode::MountFailed
        );
        let no_html = MountOptions {
            mode: Some("shadow".into()),
            ..Default::default()
        };
        assert!(plan(&no_html, &ctx(&[])).is_err());
        let worker = MountOptions {
            mode: Some("worker".into()),
            code: Some("1".into()),
            ..Default::default()
        };
        assert_eq!(
            plan(&worker, &ctx(&[])).unwrap_err().code(),
            ErrorCode::MountFailed,
            "a worker mount without a runner"
        );
    }

    #[test]
    fn worker_mounts_run_in_a_scripts_only_runner_frame() {
        let opts = MountOptions {
            mode: Some("worker".into()),
            code: Some("postMessage(1)".into()),
            runner: Some("/pkg/worker-runner.html".into()),
            ..Default::default()
        };
        let allow = vec!["camera".to_owned()];
        let MountPlan::Worker {
            frame, code, csp, ..
        } = plan(&opts, &ctx(&allow)).unwrap()
        else {
            panic!("not a worker")
        };
        assert_eq!(frame.csp, None, "the runner enforces its own policy");
        assert!(csp.contains("connect-src 'none'") && csp.contains("script-src blob:;"));
        assert_eq!(frame.sandbox, "allow-scripts");
        assert_eq!(
            frame.allow, "",
            "a worker gets no Permissions Policy features"
        );
        assert_eq!(
            frame.source,
            FrameSource::Src("http://127.0.0.1:8700/pkg/worker-runner.html".into())
        );
        assert_eq!(code.as_deref(), Some("postMessage(1)"));
        for bad in [
            MountOptions {
                sandbox: Some(vec!["allow-same-origin".into()]),
                ..opts.clone()
            },
            MountOptions {
                src: Some("/w.js".into()),
                ..opts.clone()
            },
            MountOptions {
                runner: Some("javascript:alert(1)".into()),
                ..opts.clone()
            },
        ] {
            assert_eq!(
                plan(&bad, &ctx(&[])).unwrap_err().code(),
                ErrorCode::MountFailed,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn srcdoc_documents_get_their_own_csp_and_the_host_nonce() {
        let opts = MountOptions {
            srcdoc: Some(
                "<!DOCTYPE html><script nonce=\"AAAAAAAAAAAAAAAAAAAAAA==\">go()</script>".into(),
            ),
            nonce: Some("AAAAAAAAAAAAAAAAAAAAAA==".into()),
            ..Default::default()
        };
        let p = iframe(opts.clone(), &[]).unwrap();
        let FrameSource::Srcdoc(doc) = p.source else {
            panic!("not srcdoc")
        };
        assert!(doc.starts_with("<!doctype html><meta http-equiv=\"Content-Security-Policy\""));
        assert!(doc.contains("script-src 'nonce-AAAAAAAAAAAAAAAAAAAAAA=='"));
        assert!(doc.contains("connect-src 'none'") && !doc.contains("'self'"));
        assert_eq!(
            doc.matches("<!").count(),
            1,
            "one doctype, before the policy"
        );
        assert_eq!(p.sandbox, "allow-scripts");
        let bad = MountOptions {
            nonce: Some("not base64 '".into()),
            ..opts
        };
        assert_eq!(iframe(bad, &[]).unwrap_err().code(), ErrorCode::MountFailed);
    }

    #[test]
    fn src_pages_must_accept_a_policy_of_their_own_origin_and_assets_only() {
        let assets = ["https://cdn.example".to_owned()];
        let c = MountContext {
            assets: &assets,
            ..ctx(&[])
        };
        let opts = MountOptions {
            src: Some("http://localhost:8701/p/index.html?x=1".into()),
            ..Default::default()
        };
        let MountPlan::Iframe(p) = plan(&opts, &c).unwrap() else {
            panic!("not an iframe")
        };
        let csp = p.csp.unwrap();
        assert!(
            csp.starts_with("default-src 'none'; script-src http://localhost:8701 https://cdn.example 'unsafe-inline' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        for d in [
            "connect-src 'none'",
            "frame-src 'none'",
            "form-action 'none'",
            "base-uri 'none'",
            "object-src 'none'",
            "worker-src blob:",
        ] {
            assert!(csp.split("; ").any(|x| x == d), "{d} missing from {csp}");
        }
        assert!(
            !csp.contains("127.0.0.1:8700"),
            "the host origin is never a source"
        );
        assert!(!csp.contains("'self'"));
        // A hostile asset origin cannot inject a directive: the plan fails instead.
        let hostile = ["https://x.example; script-src *".to_owned()];
        let c = MountContext {
            assets: &hostile,
            ..ctx(&[])
        };
        assert_eq!(plan(&opts, &c).unwrap_err().code(), ErrorCode::MountFailed);
    }

    #[test]
    fn srcdoc_frames_carry_their_policy_as_the_csp_attribute_too() {
        let p = iframe(
            MountOptions {
                srcdoc: Some("<p>x".into()),
                ..Default::default()
            },
            &[],
        )
        .unwrap();
        assert_eq!(p.csp.as_deref(), Some(srcdoc_csp(None).as_str()));
    }

    #[test]
    fn code_without_a_document_is_a_bundle_iframe_in_the_runner() {
        let assets = ["https://cdn.example".to_owned()];
        let allow = ["clipboard-write".to_owned()];
        let runner = Some("/pkg/worker-runner.html".to_owned());
        let installed = MountContext {
            has_code: true,
            assets: &assets,
            ..ctx(&allow)
        };
        // Installed code, no document named: a bundle iframe.
        let opts = MountOptions {
            runner: runner.clone(),
            ..Default::default()
        };
        let MountPlan::Bundle { frame, code, csp } = plan(&opts, &installed).unwrap() else {
            panic!("not a bundle")
        };
        assert_eq!(code, None);
        assert_eq!(frame.sandbox, "allow-scripts");
        assert_eq!(frame.allow, "clipboard-write");
        assert_eq!(frame.csp, None);
        assert_eq!(
            frame.source,
            FrameSource::Src("http://127.0.0.1:8700/pkg/worker-runner.html".into())
        );
        assert!(
            csp.contains("img-src https://cdn.example data: blob:"),
            "{csp}"
        );
        assert!(csp.contains("connect-src 'none'"));
        // Mount-time code is a bundle too, whatever the manifest says.
        let with_code = MountOptions {
            code: Some("document.body.textContent = 1".into()),
            runner: runner.clone(),
            ..Default::default()
        };
        let entry = MountContext {
            entry_src: Some("http://localhost:8701/entry.html"),
            ..ctx(&[])
        };
        assert!(matches!(
            plan(&with_code, &entry).unwrap(),
            MountPlan::Bundle { code: Some(_), .. }
        ));
        // An `entry.src` wins over installed code when nothing is named (existing plugins).
        let both = MountContext {
            has_code: true,
            ..entry
        };
        assert!(matches!(
            plan(&opts, &both).unwrap(),
            MountPlan::Iframe(IframePlan {
                source: FrameSource::Src(_),
                ..
            })
        ));
        for bad in [
            MountOptions {
                sandbox: Some(vec!["allow-same-origin".into()]),
                ..opts.clone()
            },
            MountOptions {
                nonce: Some("AAECAwQFBgcICQoLDA0ODw==".into()),
                ..opts.clone()
            },
            MountOptions {
                src: Some("http://localhost:8701/p.html".into()),
                ..with_code.clone()
            },
            MountOptions {
                runner: None,
                ..opts.clone()
            },
        ] {
            assert_eq!(
                plan(&bad, &installed).unwrap_err().code(),
                ErrorCode::MountFailed,
                "{bad:?}"
            );
        }
    }
}
