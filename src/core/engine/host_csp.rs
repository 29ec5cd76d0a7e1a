//! The host page's CSP, its sanitizer and approved scripts.

use super::*;

impl<B: StorageBackend> Engine<B> {
    // ----- HTML and CSP ---------------------------------------------------------------------

    /// The host's sanitizer.
    pub fn sanitizer(&self) -> &Sanitizer {
        &self.sanitizer
    }

    /// The host page's CSP for the installed plugins.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a bad nonce or policy name.
    pub fn csp_header(&self, nonce: &str, policy: &str) -> Result<String, WardenError> {
        self.csp_headers(nonce, policy, &Reporting::default())
            .map(|h| h.value)
    }

    /// [`Engine::csp_header`] as headers: enforced or report-only, with a reporting endpoint
    /// (see [`crate::core::csp::CspHeader`]).
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a bad nonce or policy name.
    pub fn csp_headers(
        &self,
        nonce: &str,
        policy: &str,
        reporting: &Reporting,
    ) -> Result<CspHeader, WardenError> {
        // A plugin installed with code can be mounted as a worker, in the runner frame.
        let workers = self.plugins.values().any(|p| p.code.is_some());
        // The API client (in the host page) also calls the plugins' routes: their origins, as
        // the host's values resolve them, need `connect-src` too. A route that does not
        // resolve (yet) adds nothing.
        let empty = RouteConfig::default();
        let mut route_origins = Vec::new();
        for p in self.plugins.values() {
            let config = self.routes.get(p.manifest.id().as_str()).unwrap_or(&empty);
            for r in p.manifest.routes() {
                if let Ok(resolved) =
                    routes::resolve(r, config, None, self.manifest_opts.allow_loopback_http)
                {
                    route_origins.push(resolved.url.origin().ascii_serialization());
                }
            }
        }
        host_csp_header(
            self.plugins.values().map(|p| &p.manifest),
            nonce,
            policy,
            workers,
            &route_origins,
            reporting,
        )
    }

    /// Whether `loadScript` may insert `src` with `integrity`: approved origins are installed
    /// plugins' `entry.src` origins and the host's `approvedScriptOrigins`.
    ///
    /// # Errors
    /// See [`crate::core::scripts::plan_script`].
    pub fn plan_script(
        &self,
        src: &str,
        integrity: &str,
    ) -> Result<crate::core::scripts::ScriptLoad, WardenError> {
        let mut approved = self.approved_script_origins.clone();
        for p in self.plugins.values() {
            if let Some(Ok(u)) = p
                .manifest
                .entry()
                .map(|e| crate::core::weburl::WebUrl::parse(e.src()))
            {
                approved.insert(u.origin().ascii_serialization());
            }
        }
        crate::core::scripts::plan_script(src, integrity, &approved, self.allow_loopback_http)
            .map_err(coded)
    }
}

/// The host page's CSP for a set of plugin manifests (DESIGN.md §6 `cspHeader`), usable
/// without a host (e.g. on the server that sends the page): `frame-src` from the manifests'
/// `entry.src` origins (plus `'self'` for the worker runner when `worker_runner`),
/// `connect-src` from their `network` origins and `extra_connect_origins` (e.g. resolved
/// route origins), deduplicated.
///
/// # Errors
/// `INVALID_ARGUMENT` for a malformed nonce, policy name or origin.
///
/// ```
/// use plugin_warden::core::engine::host_csp;
/// use plugin_warden::core::manifest::{Manifest, ManifestOptions};
/// let m = Manifest::parse(r#"{"id":"acme","name":"A","permissions":[],
///     "network":["https://api.acme.example/v1/"],
///     "entry":{"src":"https://plugins.acme.example/a/"}}"#, &ManifestOptions::default()).unwrap();
/// let csp = host_csp([&m], "AAAAAAAAAAAAAAAAAAAAAA==", "plugin-warden", false, &[]).unwrap();
/// assert!(csp.contains("frame-src https://plugins.acme.example;"));
/// assert!(csp.contains("connect-src 'self' https://api.acme.example;"));
/// ```
pub fn host_csp<'a>(
    manifests: impl IntoIterator<Item = &'a Manifest>,
    nonce: &str,
    policy: &str,
    worker_runner: bool,
    extra_connect_origins: &[String],
) -> Result<String, WardenError> {
    host_csp_header(
        manifests,
        nonce,
        policy,
        worker_runner,
        extra_connect_origins,
        &Reporting::default(),
    )
    .map(|h| h.value)
}

/// [`host_csp`] as headers, enforced or report-only per `reporting` (the one builder behind
/// `hostCsp`, `host.cspHeader` and the CLI's `csp`).
///
/// # Errors
/// As [`host_csp`].
///
/// ```
/// use plugin_warden::core::csp::{ReportEndpoint, Reporting};
/// use plugin_warden::core::engine::host_csp_header;
/// let r = Reporting { report_only: true, endpoint: Some(ReportEndpoint::new("https://h.example/r").unwrap()) };
/// let h = host_csp_header([], "AAAAAAAAAAAAAAAAAAAAAA==", "plugin-warden", false, &[], &r).unwrap();
/// assert_eq!(h.name, "Content-Security-Policy-Report-Only");
/// assert!(h.value.ends_with("; report-uri https://h.example/r; report-to csp-endpoint"));
/// ```
pub fn host_csp_header<'a>(
    manifests: impl IntoIterator<Item = &'a Manifest>,
    nonce: &str,
    policy: &str,
    worker_runner: bool,
    extra_connect_origins: &[String],
    reporting: &Reporting,
) -> Result<CspHeader, WardenError> {
    // One copy of the builder for every kind of manifest iterator (the engine's plugin map,
    // the API's list): the generic part is this call.
    build_header(
        &mut manifests.into_iter(),
        nonce,
        policy,
        worker_runner,
        extra_connect_origins,
        reporting,
    )
}

fn build_header(
    manifests: &mut dyn Iterator<Item = &Manifest>,
    nonce: &str,
    policy: &str,
    worker_runner: bool,
    extra_connect_origins: &[String],
    reporting: &Reporting,
) -> Result<CspHeader, WardenError> {
    let nonce = Nonce::parse(nonce).map_err(coded)?;
    let mut b = CspBuilder::new()
        .nonce(&nonce)
        .trusted_types_policy(policy)
        .map_err(coded)?
        .worker_runner(worker_runner);
    for m in manifests {
        if let Some(entry) = m.entry() {
            if let Ok(url) = crate::core::weburl::WebUrl::parse(entry.src()) {
                b = b
                    .plugin_frame_origin(&url.origin().ascii_serialization())
                    .map_err(coded)?;
            }
        }
        for n in m.network() {
            b = b.plugin_connect_origin(&n.origin()).map_err(coded)?;
        }
        for a in m.assets() {
            b = b.plugin_asset_origin(a).map_err(coded)?;
        }
    }
    for o in extra_connect_origins {
        b = b.plugin_connect_origin(o).map_err(coded)?;
    }
    Ok(b.header(reporting))
}
