//! Serving a plugin's calls: rate limit, parse, decide, serve; plugin-to-plugin relays; the
//! answers to planned fetches and permission requests.

use super::*;
use crate::core::protocol::Call;
use crate::core::sanitize::{cleans_ending_by, deadline_in, Sanitizer};

/// What serving one message came to, inside [`Engine::receive`], which turns it into the
/// [`Effect`]s the browser layer carries out.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Outcome {
    /// Post this reply on the plugin's port.
    Reply(String),
    /// Nothing can be answered (no call id could be read); already audited.
    Drop,
    /// Perform this request ([`Effect::Fetch`]), answered by [`Engine::fetch_done`].
    Fetch(FetchPlan),
    /// Ask the user ([`Effect::AskPermission`]), answered by [`Engine::permission_answer`].
    AskPermission {
        /// The call to answer.
        call_id: u64,
        /// The capability asked for.
        permission: Capability,
        /// The plugin's reason, to show to the user.
        reason: String,
    },
    /// Show a notification, then post the reply.
    Notify {
        /// The text.
        message: String,
        /// Its level.
        level: Level,
        /// The reply to post.
        reply: String,
    },
    /// The plugin emitted an event for the host, then post the reply.
    Emitted {
        /// Event name.
        name: String,
        /// Event data.
        data: Value,
        /// The reply to post.
        reply: String,
    },
    /// Replace the plugin's remote UI with this HTML (already sanitized by the plugin's
    /// remote-UI policy; the browser inserts it through the Trusted Types policy, which
    /// sanitizes it again with the same policy), then post `Reply::ok(call_id, null)`, or
    /// `Reply::err(call_id, …)` if the browser could not.
    Render {
        /// The call to answer.
        call_id: u64,
        /// The sanitized HTML.
        html: String,
        /// When the render's cleaning must be over ([`crate::core::sanitize::deadline_in`]).
        clean_by: Option<f64>,
    },
    /// A plugin-to-plugin call: post `message` on plugin `to`'s port (a `plugins.call` event to
    /// the callee, or the answer to the caller), then `reply` (when not empty) on the sender's.
    Relay {
        /// The plugin to post `message` to.
        to: String,
        /// JSON text.
        message: String,
        /// The reply to the sender, or empty.
        reply: String,
    },
    /// The plugin kept flooding: post the reply, then tear its mount down (status is `failed`).
    Suspend {
        /// The reply to post.
        reply: String,
    },
    /// Perform this storage plan on the asynchronous backend (`storage: 'indexeddb'` or
    /// `encrypt: true`) ([`Effect::Storage`], see [`crate::core::storage::deferred`]),
    /// answered by [`Engine::storage_done`].
    Storage {
        /// The call to answer.
        call_id: u64,
        /// What to do.
        plan: StoragePlan,
    },
}

/// A request the API client may send on a plugin's behalf (already checked).
///
/// # Security
/// For a route request (`route` is `Some`) the URL and headers hold the host's route secrets:
/// hand them to the API client and nowhere else. `Debug` prints only the origin and the
/// header names of a route request.
#[derive(Clone, PartialEq, Eq)]
pub struct FetchPlan {
    /// The call to answer.
    pub call_id: u64,
    /// The URL, parsed and allowed.
    pub url: String,
    /// The HTTP method (upper case).
    pub method: String,
    /// Request headers from the plugin.
    pub headers: Vec<(String, String)>,
    /// Request body: text, or the message's side-table entry ([`crate::core::binary`]).
    pub body: Option<FetchBody>,
    /// Answer the body as an `ArrayBuffer` (`responseType: "arraybuffer"`).
    pub binary_response: bool,
    /// Whether the method may be retried (idempotent).
    pub retryable: bool,
    /// Timeout in milliseconds.
    pub timeout_ms: u32,
    /// Largest response body accepted.
    pub max_response_bytes: usize,
    /// For a route request (`route:<path>`), the manifest route's path.
    pub route: Option<String>,
}

impl std::fmt::Debug for FetchPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("FetchPlan");
        d.field("call_id", &self.call_id);
        if self.route.is_some() {
            let origin = crate::core::weburl::WebUrl::parse(&self.url)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default();
            let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
            d.field("route", &self.route)
                .field("origin", &origin)
                .field("header_names", &names);
        } else {
            d.field("url", &self.url).field("headers", &self.headers);
        }
        d.field("method", &self.method)
            .field("body", &self.body)
            .field("retryable", &self.retryable)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// A response from the API client, before it reaches the plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers (filtered to safe ones here).
    pub headers: Vec<(String, String)>,
    /// The body as text (empty when `binary` is set).
    pub body: String,
    /// For a binary response, the body's byte length: the browser layer holds the bytes and
    /// the reply names them as side-table entry 0.
    pub binary: Option<usize>,
    /// The final URL after redirects (checked against the allowlist again; for a route
    /// request, against the route URL's origin).
    pub url: String,
}

/// A plugin's call decided by reading the engine alone ([`Engine::plan`]), for
/// [`Engine::receive`] to carry out: made by [`Incoming::plan`].
#[derive(Debug)]
pub(crate) struct Planned {
    call_id: u64,
    method: &'static str,
    decided: Decided,
}

/// What [`Engine::plan`] found a call comes to.
#[derive(Debug)]
enum Decided {
    /// Its plugin is not mounted: nothing is answered.
    Drop,
    /// Its mount's policy refuses it (audited as a refusal).
    Denied(WardenError),
    /// Its answer, or the change left to make, or why serving it refuses it (audited as a
    /// call).
    Served(Result<Served, WardenError>),
}

/// A call [`Engine::check`] served as far as reading can.
#[derive(Debug)]
enum Served {
    /// Answered: nothing to change.
    Answer(Outcome),
    /// Checked: this change is what is left ([`Engine::change`]).
    Change(Mutation),
}

/// The change a checked call makes ([`Engine::change`]); every check it needs is behind it.
#[derive(Debug)]
enum Mutation {
    /// Store a value under `key`.
    Set { key: String, write: Write },
    /// Remove a key.
    Remove(String),
    /// Clear the plugin's storage.
    Clear,
    /// Ask the user for an optional capability (one more call in flight).
    Ask {
        permission: Capability,
        reason: String,
    },
    /// Send a request (one more call in flight), a route's pending with its origin.
    Fetch {
        plan: FetchPlan,
        route: Option<PendingFetch>,
    },
    /// Listen for an event.
    Subscribe(String),
    /// Stop listening for an event.
    Unsubscribe(String),
    /// Render into the remote UI.
    Render(String),
    /// Relay a `plugins.call` (relay id `relay`) to `callee`.
    Relay {
        relay: u64,
        callee: String,
        message: String,
    },
    /// Pass a callee's answer to relay `relay` to `caller`.
    Respond {
        relay: u64,
        caller: String,
        message: String,
    },
}

/// Where an `api.fetch` may go.
enum FetchTarget {
    /// A manifest route, resolved (its path, and URL and headers with templates filled).
    Route {
        path: String,
        resolved: routes::Resolved,
    },
    /// A URL the plugin's network allowlist admits.
    Plain(crate::core::weburl::WebUrl),
}

/// The policy `api.fetch` applies to a URL and method, shared with `api.canFetch` so the two
/// can never disagree: a `route:` URL must name a manifest route the current user may use
/// (RBAC) and whose templates resolve; any other URL must pass the plugin's network allowlist.
/// (The capability is checked before, by the policy module.)
fn fetch_target(
    plugin: &Plugin,
    rbac: &Rbac,
    route_config: Option<&RouteConfig>,
    route_secrets: &[String],
    allow_loopback_http: bool,
    url: &str,
    method: &str,
) -> Result<FetchTarget, WardenError> {
    let Some(request) = routes::parse_request(url) else {
        return plugin
            .allowlist
            .check(url)
            .map(FetchTarget::Plain)
            .map_err(coded);
    };
    let request = request.map_err(coded)?;
    let route = routes::find(&plugin.manifest, request.path, method).map_err(coded)?;
    let allowed = rbac
        .can_access_route(plugin.manifest.id(), request.path, method)
        .map_err(coded)?;
    if !allowed {
        let path = route.path().to_owned();
        return Err(coded(match route.req_action() {
            Some(a) => RouteError::ActionDenied {
                path,
                action: a.as_str().to_owned(),
            },
            None => RouteError::RoleDenied {
                path,
                role: route.req_role().map(|r| r.to_string()).unwrap_or_default(),
            },
        }));
    }
    let empty = RouteConfig::default();
    let resolved = routes::resolve(
        route,
        route_config.unwrap_or(&empty),
        request.query,
        allow_loopback_http,
    )
    .map_err(|e| scrubbed(coded(e), route_secrets))?;
    Ok(FetchTarget::Route {
        path: route.path().to_owned(),
        resolved,
    })
}

impl<B: StorageBackend> Engine<B> {
    // ----- calls --------------------------------------------------------------------------

    /// The rate limiter, the first step of [`Engine::receive`]: `None` when the call may go on
    /// to [`Engine::handle_admitted`], else what to do with it (a `RATE_LIMITED` reply to
    /// `id_hint`, a suspension, or nothing for a plugin that is not mounted). It runs before
    /// the parse, so a flood's refused messages are never parsed.
    pub(super) fn admit(&mut self, id: &str, id_hint: Option<u64>, now_ms: f64) -> Option<Outcome> {
        self.admit_with(id, || id_hint, now_ms)
    }

    fn admit_with(
        &mut self,
        id: &str,
        call_id: impl FnOnce() -> Option<u64>,
        now_ms: f64,
    ) -> Option<Outcome> {
        let mono_ms = self.monotonic_ms(now_ms);
        let Some(plugin) = self.plugins.get_mut(id) else {
            return Some(Outcome::Drop);
        };
        if !matches!(plugin.status, Status::Mounted) {
            return Some(Outcome::Drop);
        }
        let decision = plugin.limiter.check(mono_ms);
        if decision == RateDecision::Allow {
            return None;
        }
        let err = plugin
            .limiter
            .error(decision)
            .map(coded)
            .unwrap_or_else(|| WardenError::new(ErrorCode::RateLimited, "too many calls"));
        let reply = call_id().map(|cid| Reply::err(cid, &err));
        // One audit event per second of flood (plus the suspension); the rest are counted.
        let (last_ms, unaudited) = plugin.rate_audit;
        if decision == RateDecision::Limited && mono_ms - last_ms < 1000.0 {
            plugin.rate_audit.1 = unaudited.saturating_add(1);
            self.audit.count(id, ErrorCode::RateLimited);
        } else {
            plugin.rate_audit = (mono_ms, 0);
            let detail = if unaudited == 0 {
                json!({ "message": err.message })
            } else {
                json!({ "message": err.message, "unauditedBefore": unaudited })
            };
            self.audit.push(
                AuditEvent::new(AuditKind::Refusal, now_ms)
                    .with_plugin(id)
                    .with_decision(AuditDecision::Deny)
                    .with_code(err.code)
                    .with_detail(detail),
            );
        }
        if decision == RateDecision::Suspend {
            let msg = format!("suspended for flooding: {}", err.message);
            let _ = self.set_status(
                id,
                Status::Failed {
                    code: ErrorCode::RateLimited,
                    message: msg,
                },
                now_ms,
            );
            return Some(Outcome::Suspend {
                reply: reply.unwrap_or_default(),
            });
        }
        Some(reply.map(Outcome::Reply).unwrap_or(Outcome::Drop))
    }

    /// Audit plugin `id`'s message that was not served: the code that answers or refuses it
    /// (in the browser, the core's second part) could not be loaded, and the plugin's port
    /// listener answered it `MODULE_NOT_LOADED` itself (src/web/binary.js `pwListen`). `method`
    /// is the method the message names, if it names one: as the plugin sent it (the log
    /// redacts it), not checked against the protocol, which is the code that could not load.
    /// Like a flood's refusals, at most one event per second of a plugin is written; every one
    /// is counted ([`AuditLog::counts`](crate::core::audit::AuditLog::counts), a plugin's
    /// `counts` in [`Engine::info`]). Nothing for a plugin that is not mounted.
    pub fn unserved(&mut self, id: &str, method: Option<&str>, now_ms: f64) {
        let mono_ms = self.monotonic_ms(now_ms);
        let Some(plugin) = self.plugins.get_mut(id) else {
            return;
        };
        if !matches!(plugin.status, Status::Mounted) {
            return;
        }
        if mono_ms - plugin.unserved_audit < 1000.0 {
            self.audit.count(id, ErrorCode::ModuleNotLoaded);
            return;
        }
        plugin.unserved_audit = mono_ms;
        // A literal, not `WardenError::new`: that generic's `&str` instance is second-part
        // code (src/web/handshake.rs `answer_stopped`), and this runs when it could not load.
        let err = WardenError {
            code: ErrorCode::ModuleNotLoaded,
            message: String::from("not served: the code that answers it is not loaded"),
            permission: None,
        };
        self.refuse(id, method, &err, now_ms);
    }

    /// The rest of [`Engine::receive`] once [`Engine::admit`] let the call through: decide the
    /// call `message` parsed into ([`Engine::plan`], unless it came decided) and carry it out
    /// ([`Engine::apply`]), or audit and answer its refusal ([`Prepared`]).
    pub(super) fn handle_admitted(&mut self, id: &str, message: Prepared, now_ms: f64) -> Outcome {
        let planned = match message {
            Prepared::Call(call) => self.plan(id, call),
            Prepared::Planned(planned) => planned,
            Prepared::Refused { error, reply } => {
                if !self.mounted(id) {
                    return Outcome::Drop;
                }
                self.refuse(id, None, &error, now_ms);
                return reply.map(Outcome::Reply).unwrap_or(Outcome::Drop);
            }
        };
        self.apply(id, planned, now_ms)
    }

    /// Whether plugin `id` is mounted (its calls are served).
    fn mounted(&self, id: &str) -> bool {
        self.plugins
            .get(id)
            .is_some_and(|p| matches!(p.status, Status::Mounted))
    }

    /// Decide plugin `id`'s `call` by reading the engine alone: the mount's policy, then every
    /// check serving it makes, and the whole answer of a call that changes nothing. What is
    /// left to change is done by [`Engine::apply`], as long as nothing changed the engine in
    /// between. Nothing here changes anything, so the browser layer may run it before the
    /// engine is borrowed, where a call that needs code not yet loaded can be cut off without
    /// leaving the engine half changed ([`Incoming::plan`], src/web/effects.rs).
    pub(super) fn plan(&self, id: &str, call: Call) -> Planned {
        let method = call.method.name();
        let decided = match self.plugins.get(id) {
            Some(plugin) if matches!(plugin.status, Status::Mounted) => {
                let ui = plugin.remote_ui.as_ref().map(|_| UiMode::Shadow);
                match decide_for_mount(&plugin.perms, &call.method, ui) {
                    Decision::Deny(e) => Decided::Denied(coded(e)),
                    Decision::Allow => {
                        Decided::Served(self.check(id, plugin, call.id, call.method))
                    }
                }
            }
            _ => Decided::Drop,
        };
        Planned {
            call_id: call.id,
            method,
            decided,
        }
    }

    /// Carry out a call [`Engine::plan`] decided: audit it, make its change, answer it.
    fn apply(&mut self, id: &str, planned: Planned, now_ms: f64) -> Outcome {
        let Planned {
            call_id,
            method: method_name,
            decided,
        } = planned;
        let served = match decided {
            Decided::Drop => return Outcome::Drop,
            Decided::Denied(err) => {
                self.refuse(id, Some(method_name), &err, now_ms);
                return Outcome::Reply(Reply::err(call_id, &err));
            }
            Decided::Served(served) => served,
        };
        // A render is admitted by its plugin's share of the page's time, and charged with what
        // it took once it completes (`Engine::complete`), or here if it ended in the core.
        let render = matches!(served, Ok(Served::Change(Mutation::Render(_))));
        if render {
            if let Some(refused) = self.admit_render(id, call_id, now_ms) {
                return refused;
            }
        }
        let outcome = served.and_then(|served| match served {
            Served::Answer(outcome) => Ok(outcome),
            Served::Change(change) => self.change(id, call_id, change),
        });
        if render && !matches!(outcome, Ok(Outcome::Render { .. })) {
            self.render_done(id, now_ms);
        }
        let (decision, code) = match &outcome {
            Ok(_) => (AuditDecision::Allow, None),
            Err(e) => (AuditDecision::Deny, Some(e.code)),
        };
        let mut event = AuditEvent::new(AuditKind::Call, now_ms)
            .with_plugin(id)
            .with_method(method_name)
            .with_decision(decision);
        if let Ok(Outcome::Fetch(FetchPlan {
            route: Some(path), ..
        })) = &outcome
        {
            event = event.with_detail(json!({ "route": path }));
        }
        if let Err(e) = &outcome {
            // Why it was refused, e.g. the URL an allowlist refused (the log redacts URL
            // credentials, sensitive query parameters and declared secrets on the way in).
            event = event.with_detail(json!({ "message": e.message }));
        }
        if let Some(c) = code {
            event = event.with_code(c);
        } else if let Some(p) = self.plugins.get_mut(id) {
            p.allowed_calls += 1;
        }
        self.audit.push(event);
        match outcome {
            Ok(o) => o,
            Err(e) => Outcome::Reply(Reply::err(call_id, &e)),
        }
    }

    /// Admit plugin `id`'s render (call `call_id`) by its share of the page's time: `None` once
    /// started, else what to answer.
    #[inline(never)]
    fn admit_render(&mut self, id: &str, call_id: u64, now_ms: f64) -> Option<Outcome> {
        let started = self.monotonic_ms(now_ms);
        let Some(plugin) = self.plugins.get_mut(id) else {
            return Some(Outcome::Drop);
        };
        if plugin.render_budget.admits(started) {
            plugin.render_started = Some(started);
            return None;
        }
        let err = WardenError::new(
            ErrorCode::RateLimited,
            format!("ui.render: this plugin's renders have taken more than {}% of the host page's time; render less often, or smaller or less deeply nested HTML", (self.rate.render_share * 100.0).round() as u32),
        );
        self.refuse(id, Some("ui.render"), &err, now_ms);
        Some(Outcome::Reply(Reply::err(call_id, &err)))
    }

    pub(super) fn refuse(
        &mut self,
        id: &str,
        method: Option<&str>,
        err: &WardenError,
        now_ms: f64,
    ) {
        let mut e = AuditEvent::new(AuditKind::Refusal, now_ms)
            .with_plugin(id)
            .with_decision(AuditDecision::Deny)
            .with_code(err.code)
            .with_detail(json!({ "message": err.message }));
        if let Some(m) = method {
            e = e.with_method(m);
        }
        self.audit.push(e);
    }

    /// Serve call `call_id` of mounted plugin `id` (`plugin`), which its mount's policy
    /// allows, as far as reading can: its answer, or the change left to make, or why it is
    /// refused.
    fn check(
        &self,
        id: &str,
        plugin: &Plugin,
        call_id: u64,
        method: Method,
    ) -> Result<Served, WardenError> {
        let answer = |outcome| Ok(Served::Answer(outcome));
        let ok = |v: Option<&Value>| answer(Outcome::Reply(Reply::ok(call_id, v)));
        if self.deferred_storage {
            if let Some(served) = self.check_deferred(id, call_id, &method) {
                return served;
            }
        } else if let Method::StorageGet { key } = &method {
            // The browser reads the value and posts it: its text never enters the core.
            if self.store.backend().read_by_caller() {
                let plan = deferred::plan_get(&self.store.limits(), id, key).map_err(coded)?;
                return answer(Outcome::Storage { call_id, plan });
            }
        }
        match method {
            Method::StorageGet { key } => {
                // The stored text goes into the reply as it is (no Value round trip).
                let reply = match self.store.get_text(id, &key).map_err(coded)? {
                    Some(text) => Reply::ok_text(call_id, &text),
                    None => Reply::ok(call_id, None),
                };
                answer(Outcome::Reply(reply))
            }
            Method::StorageSet { key, value } => {
                let write = self.store.check_set(id, &key, &value).map_err(coded)?;
                Ok(Served::Change(Mutation::Set { key, write }))
            }
            Method::StorageRemove { key } => {
                self.store.check_key(id, &key).map_err(coded)?;
                Ok(Served::Change(Mutation::Remove(key)))
            }
            Method::StorageKeys => {
                let keys = self.store.keys(id).map_err(coded)?;
                ok(Some(&json!(keys)))
            }
            Method::StorageClear => Ok(Served::Change(Mutation::Clear)),
            Method::PermissionsList => {
                let granted: Vec<&str> = plugin
                    .perms
                    .granted()
                    .into_iter()
                    .map(Capability::as_str)
                    .collect();
                ok(Some(&json!(granted)))
            }
            Method::PermissionsHas { permission } => {
                // A plugin learns its own capabilities and the user's actions in its own
                // namespace (`<pluginId>.…`), nothing more: the user's core RBAC
                // (`folders:admin`) and other plugins' actions answer `false`, so a plugin
                // cannot fingerprint who is using it. `host.hasPermission` is unaffected.
                let has = match Capability::parse(&permission) {
                    Ok(cap) => plugin.perms.has(cap),
                    Err(_) => {
                        permission
                            .strip_prefix(id)
                            .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1)
                            && self.rbac.has_permission(&permission, None)
                    }
                };
                ok(Some(&Value::Bool(has)))
            }
            Method::PermissionsRequest { permission, reason } => {
                let cap =
                    Capability::parse(&permission).map_err(|_| not_a_capability(&permission))?;
                if plugin.perms.has(cap) {
                    return ok(Some(&Value::Bool(true)));
                }
                if !plugin.perms.is_optional(cap) {
                    return Err(not_optional(id, &permission, cap));
                }
                if plugin.denied_requests.contains(&cap) {
                    // Remembered: a plugin cannot spam the user with the same prompt.
                    return ok(Some(&Value::Bool(false)));
                }
                room(plugin)?;
                Ok(Served::Change(Mutation::Ask {
                    permission: cap,
                    reason,
                }))
            }
            Method::ApiFetch {
                url,
                method,
                headers,
                body,
                binary_response,
            } => {
                let method = method.unwrap_or_else(|| "GET".to_owned());
                if body.is_some() && (method == "GET" || method == "HEAD") {
                    return Err(no_body(&method));
                }
                let target = fetch_target(
                    plugin,
                    &self.rbac,
                    self.routes.get(id),
                    &self.route_secrets,
                    self.manifest_opts.allow_loopback_http,
                    &url,
                    &method,
                )?;
                self.fetch_change(
                    plugin,
                    call_id,
                    target,
                    method,
                    headers,
                    body,
                    binary_response,
                )
            }
            Method::ApiCanFetch { url, method } => {
                // The same two decisions `api.fetch` makes, and nothing sent: the capability
                // (a missing one answers false), then `fetch_target`.
                let probe = Method::ApiFetch {
                    url: url.clone(),
                    method: method.clone(),
                    headers: None,
                    body: None,
                    binary_response: false,
                };
                let method = method.unwrap_or_else(|| "GET".to_owned());
                let allowed = matches!(decide(&plugin.perms, &probe), Decision::Allow)
                    && fetch_target(
                        plugin,
                        &self.rbac,
                        self.routes.get(id),
                        &self.route_secrets,
                        self.manifest_opts.allow_loopback_http,
                        &url,
                        &method,
                    )
                    .is_ok();
                ok(Some(&Value::Bool(allowed)))
            }
            Method::EventsSubscribe { name } => {
                if plugin.subscriptions.len() >= 256 && !plugin.subscriptions.contains(&name) {
                    return Err(too_many_subscriptions());
                }
                Ok(Served::Change(Mutation::Subscribe(name)))
            }
            Method::EventsUnsubscribe { name } => Ok(Served::Change(Mutation::Unsubscribe(name))),
            Method::EventsEmit { name, data } => answer(Outcome::Emitted {
                name,
                data,
                reply: Reply::ok(call_id, Some(&Value::Null)),
            }),
            Method::UiNotify { message, level } => answer(Outcome::Notify {
                message,
                level: level.unwrap_or(Level::Info),
                reply: Reply::ok(call_id, Some(&Value::Null)),
            }),
            Method::UiRender { html } => {
                // invariant: the policy allowed ui.render only with a remote UI; refuse otherwise.
                if plugin.remote_ui.is_none() {
                    return Err(no_remote_ui(id));
                }
                Ok(Served::Change(Mutation::Render(html)))
            }
            Method::PluginsCall {
                plugin: callee,
                name,
                args,
            } => self.check_plugins_call(id, plugin, &callee, &name, args),
            Method::PluginsRespond { call, result } => self.check_plugins_respond(id, call, result),
        }
    }

    /// A storage call of a host whose store answers later (`storage: 'indexeddb'`, `encrypt`):
    /// the plan its store carries out ([`Outcome::Storage`]); `None` for any other call.
    #[inline(never)]
    fn check_deferred(
        &self,
        id: &str,
        call_id: u64,
        method: &Method,
    ) -> Option<Result<Served, WardenError>> {
        let limits = self.store.limits();
        let plan = match method {
            Method::StorageGet { key } => deferred::plan_get(&limits, id, key),
            Method::StorageSet { key, value } => {
                deferred::plan_set(&limits, id, key, value).map(StoragePlan::Set)
            }
            Method::StorageRemove { key } => deferred::plan_remove(&limits, id, key),
            Method::StorageKeys => deferred::plan_namespace(id, false),
            Method::StorageClear => deferred::plan_namespace(id, true),
            _ => return None,
        };
        Some(
            plan.map(|plan| Served::Answer(Outcome::Storage { call_id, plan }))
                .map_err(coded),
        )
    }

    /// The rest of `api.fetch`'s checks once `fetch_target` allowed its URL: the request to
    /// send, or why it may not be sent now.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn fetch_change(
        &self,
        plugin: &Plugin,
        call_id: u64,
        target: FetchTarget,
        method: String,
        headers: Option<SortedMap<String, String>>,
        body: Option<FetchBody>,
        binary_response: bool,
    ) -> Result<Served, WardenError> {
        let (path, resolved) = match target {
            FetchTarget::Route { path, resolved } => (path, resolved),
            FetchTarget::Plain(url) => {
                if matches!(
                    plugin.fetches.get(&call_id),
                    Some(PendingFetch::Route { .. })
                ) {
                    return Err(duplicate_fetch(call_id));
                }
                room(plugin)?;
                return Ok(Served::Change(Mutation::Fetch {
                    plan: FetchPlan {
                        call_id,
                        url: url.into(),
                        retryable: crate::core::network::is_retryable(&method),
                        method,
                        headers: headers.unwrap_or_default().into_iter().collect(),
                        body,
                        binary_response,
                        timeout_ms: self.fetch_timeout_ms,
                        max_response_bytes: self.max_response_bytes,
                        route: None,
                    },
                    route: None,
                }));
            }
        };
        if binary_response {
            // Route secrets are scrubbed from what the upstream answers, and only
            // text can be scrubbed here: a route answers text.
            return Err(WardenError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "route {path:?}: responseType \"arraybuffer\" is not available for \
                     route requests (their answers are scrubbed of the route's secrets, \
                     which needs text)"
                ),
            ));
        }
        if plugin.fetches.contains_key(&call_id) {
            return Err(duplicate_fetch(call_id));
        }
        room(plugin)?;
        let route = PendingFetch::Route {
            path: path.clone(),
            origin: resolved.url.origin().ascii_serialization(),
        };
        Ok(Served::Change(Mutation::Fetch {
            plan: FetchPlan {
                call_id,
                url: resolved.url.into(),
                retryable: crate::core::network::is_retryable(&method),
                method,
                headers: routes::merge_headers(headers.unwrap_or_default(), resolved.headers),
                body,
                binary_response: false,
                timeout_ms: self.fetch_timeout_ms,
                max_response_bytes: self.max_response_bytes,
                route: Some(path),
            },
            route: Some(route),
        }))
    }

    /// Make the change [`Engine::check`] left for call `call_id` of plugin `id`.
    fn change(&mut self, id: &str, call_id: u64, change: Mutation) -> Result<Outcome, WardenError> {
        let done = || Ok(Outcome::Reply(Reply::ok(call_id, Some(&Value::Null))));
        let plugin = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        match change {
            Mutation::Set { key, write } => {
                self.store.write(id, &key, write).map_err(coded)?;
                done()
            }
            Mutation::Remove(key) => {
                self.store.remove(id, &key).map_err(coded)?;
                done()
            }
            Mutation::Clear => {
                self.store.clear(id).map_err(coded)?;
                done()
            }
            Mutation::Ask { permission, reason } => {
                plugin.in_flight.try_begin();
                Ok(Outcome::AskPermission {
                    call_id,
                    permission,
                    reason,
                })
            }
            Mutation::Fetch { plan, route } => Ok(begin_fetch(plugin, plan, route)),
            Mutation::Subscribe(name) => {
                plugin.subscriptions.insert(name);
                done()
            }
            Mutation::Unsubscribe(name) => {
                plugin.subscriptions.remove(&name);
                done()
            }
            Mutation::Render(html) => match &plugin.remote_ui {
                Some(ui) => render_cleaned(ui, call_id, &html),
                None => Err(not_found(id)),
            },
            change @ (Mutation::Relay { .. } | Mutation::Respond { .. }) => {
                Ok(self.relay(id, call_id, change))
            }
        }
    }

    /// Make a `plugins.call`'s or a `plugins.respond`'s change ([`Engine::change`]).
    #[inline(never)]
    fn relay(&mut self, id: &str, call_id: u64, change: Mutation) -> Outcome {
        match change {
            Mutation::Relay {
                relay,
                callee,
                message,
            } => {
                if let Some(c) = self.plugins.get_mut(id) {
                    c.in_flight.try_begin();
                }
                self.next_relay = relay;
                self.relays.insert(
                    relay,
                    Relay {
                        caller: id.to_owned(),
                        call_id,
                        callee: callee.clone(),
                    },
                );
                Outcome::Relay {
                    to: callee,
                    message,
                    reply: String::new(),
                }
            }
            Mutation::Respond {
                relay,
                caller,
                message,
            } => {
                self.relays.remove(&relay);
                if let Some(c) = self.plugins.get_mut(&caller) {
                    c.in_flight.end();
                }
                Outcome::Relay {
                    to: caller,
                    message,
                    reply: Reply::ok(call_id, Some(&Value::Null)),
                }
            }
            _ => Outcome::Drop,
        }
    }

    /// `plugins.call` from `caller`: both declarations (the caller's `consumes`, the callee's
    /// `exposes`) and the current user's RBAC action of the exposure are checked, then the
    /// call is relayed to the callee with the true caller `{pluginId, version}`. Not inlined, as
    /// the other pieces below that a first visit does not run: the browser's split
    /// (scripts/split-module.mjs) leaves them out of the part every host loads.
    #[inline(never)]
    fn check_plugins_call(
        &self,
        caller: &str,
        c: &Plugin,
        callee: &str,
        name: &str,
        args: Value,
    ) -> Result<Served, WardenError> {
        let denied = |message: String| WardenError::new(ErrorCode::PermissionDenied, message);
        let declared = c
            .manifest
            .consumes()
            .iter()
            .any(|x| x.plugin().as_str() == callee && x.name() == name);
        if !declared {
            return Err(denied(format!(
                "plugin {caller:?} does not declare {{\"plugin\": {callee:?}, \"name\": {name:?}}} in its manifest's consumes"
            )));
        }
        let caller_version = c.manifest.version().map(str::to_owned);
        let target = self.plugins.get(callee).ok_or_else(|| not_found(callee))?;
        let Some(exposure) = target.manifest.exposes().iter().find(|x| x.name() == name) else {
            return Err(denied(format!(
                "plugin {callee:?} does not expose {name:?}"
            )));
        };
        if let Some(action) = exposure.action() {
            if !self.rbac.holds(action) {
                let mut e = denied(format!(
                    "{callee:?}.{name} needs the action {:?}, which the current user does not hold",
                    action.as_str()
                ));
                e.permission = Some(action.as_str().to_owned());
                return Err(e);
            }
        }
        if !matches!(target.status, Status::Mounted) {
            return Err(WardenError::new(
                ErrorCode::NotFound,
                format!("plugin {callee:?} is not running"),
            ));
        }
        if self.relays.len() >= MAX_RELAYS {
            return Err(WardenError::new(
                ErrorCode::RateLimited,
                "too many plugin-to-plugin calls in flight",
            ));
        }
        room(c)?;
        let relay = self.next_relay + 1;
        Ok(Served::Change(Mutation::Relay {
            relay,
            callee: callee.to_owned(),
            message: event_message(
                EVENT_PLUGINS_CALL,
                &json!({
                    "call": relay,
                    "name": name,
                    "args": args,
                    "caller": { "pluginId": caller, "version": caller_version },
                }),
            ),
        }))
    }

    /// `plugins.respond` from `callee`: the answer to relayed call `relay`, passed to its caller.
    #[inline(never)]
    fn check_plugins_respond(
        &self,
        callee: &str,
        relay: u64,
        result: Result<Value, String>,
    ) -> Result<Served, WardenError> {
        let Some(r) = self.relays.get(&relay).filter(|r| r.callee == callee) else {
            return Err(WardenError::new(
                ErrorCode::NotFound,
                format!("no plugins.call {relay} is waiting for an answer from plugin {callee:?}"),
            ));
        };
        let caller_call = r.call_id;
        let message = match result {
            Ok(v) => Reply::ok(caller_call, Some(&v)),
            Err(m) => Reply::err(
                caller_call,
                &WardenError::new(
                    ErrorCode::Internal,
                    format!("plugin {callee:?} answered with an error: {m}"),
                ),
            ),
        };
        Ok(Served::Change(Mutation::Respond {
            relay,
            caller: r.caller.clone(),
            message,
        }))
    }

    /// The user's answer to a [`Outcome::AskPermission`]; answers the reply to post.
    pub(super) fn permission_answer(
        &mut self,
        id: &str,
        call_id: u64,
        permission: Capability,
        granted: bool,
        now_ms: f64,
    ) -> String {
        let Some(plugin) = self.plugins.get_mut(id) else {
            return Reply::err(call_id, &not_found(id));
        };
        plugin.in_flight.end();
        let granted = granted && plugin.perms.grant(permission).is_ok();
        if granted {
            plugin.denied_requests.remove(&permission);
        } else {
            plugin.denied_requests.insert(permission);
        }
        let kind = if granted {
            AuditKind::Grant
        } else {
            AuditKind::Refusal
        };
        let mut e = AuditEvent::new(kind, now_ms)
            .with_plugin(id)
            .with_method("permissions.request")
            .with_decision(if granted {
                AuditDecision::Allow
            } else {
                AuditDecision::Deny
            })
            .with_detail(json!({ "permission": permission.as_str(), "byUser": true }));
        if !granted {
            e = e.with_code(ErrorCode::PermissionDenied);
        }
        self.audit.push(e);
        Reply::ok(call_id, Some(&Value::Bool(granted)))
    }

    /// The outcome of a [`Outcome::Fetch`]; answers the reply to post. The final URL is
    /// checked against the allowlist again — for a route request, against the route URL's
    /// origin instead — and headers are filtered to safe ones.
    ///
    /// # Security
    /// Every route secret the host holds is scrubbed from the reply (error message, header
    /// values and body), so neither an error that quotes the URL nor an upstream that echoes
    /// a header hands a secret to the plugin.
    pub(super) fn fetch_done(
        &mut self,
        id: &str,
        call_id: u64,
        result: Result<FetchResponse, WardenError>,
        now_ms: f64,
    ) -> String {
        let Some(plugin) = self.plugins.get_mut(id) else {
            return Reply::err(call_id, &not_found(id));
        };
        plugin.in_flight.end();
        let route = match plugin.fetches.remove(&call_id) {
            Some(PendingFetch::Plain(n)) if n > 1 => {
                plugin.fetches.insert(call_id, PendingFetch::Plain(n - 1));
                None
            }
            Some(PendingFetch::Route { path, origin }) => Some((path, origin)),
            _ => None,
        };
        let secrets = &self.route_secrets;
        let result = result
            .map_err(|e| match &route {
                Some((path, _)) => WardenError {
                    message: format!("route {path:?}: {}", e.message),
                    ..e
                },
                None => e,
            })
            .and_then(|r| {
                match &route {
                    Some((path, origin)) => {
                        let same = crate::core::weburl::WebUrl::parse(&r.url)
                            .is_ok_and(|u| u.origin().ascii_serialization() == *origin);
                        if !same {
                            return Err(coded(RouteError::Escaped { path: path.clone() }));
                        }
                    }
                    None => {
                        plugin.allowlist.check(&r.url).map_err(coded)?;
                    }
                }
                let headers: SortedMap<String, String> =
                    crate::core::network::safe_response_headers(r.headers)
                        .into_iter()
                        .map(|(k, v)| (k, routes::scrub(&v, secrets)))
                        .collect();
                let body = match r.binary {
                    // Never a route's answer (refused when planned), so nothing to scrub.
                    Some(bytes) if route.is_none() => {
                        BinaryRef::table_value(0, "ArrayBuffer", bytes)
                    }
                    _ => Value::String(routes::scrub(&r.body, secrets)),
                };
                Ok(json!({
                    "status": r.status,
                    "headers": headers,
                    "body": body,
                }))
            })
            .map_err(|e| scrubbed(e, secrets));
        match result {
            Ok(v) => Reply::ok(call_id, Some(&v)),
            Err(e) => {
                self.refuse(id, Some("api.fetch"), &e, now_ms);
                Reply::err(call_id, &e)
            }
        }
    }

    /// Plugins subscribed to `name` that may receive events now.
    pub fn subscribers(&self, name: &str) -> Vec<String> {
        self.plugins
            .iter()
            .filter(|(_, p)| {
                matches!(p.status, Status::Mounted)
                    && p.perms.has(Capability::Events)
                    && p.subscriptions.contains(name)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// A remote UI's render, cleaned by `ui` by the deadline it hands on to the browser's clean
/// ([`Outcome::Render`]'s `clean_by`): one deadline for both. A function of its own, never
/// inlined: the browser's split (scripts/split-module.mjs) leaves it out of the part every host
/// loads.
#[inline(never)]
fn render_cleaned(ui: &Sanitizer, call_id: u64, html: &str) -> Result<Outcome, WardenError> {
    let clean_by = ui.time_limit_ms().and_then(deadline_in);
    let html = cleans_ending_by(clean_by, || ui.try_sanitize(html)).map_err(coded)?;
    Ok(Outcome::Render {
        call_id,
        html,
        clean_by,
    })
}

/// `err` with every route secret scrubbed from its message.
fn scrubbed(mut err: WardenError, secrets: &[String]) -> WardenError {
    if !secrets.is_empty() {
        err.message = routes::scrub(&err.message, secrets);
    }
    err
}

/// Start the request `plan` of `plugin` ([`Engine::change`]): one more call in flight, and the
/// answer it expects (a route's from its origin).
#[inline(never)]
fn begin_fetch(plugin: &mut Plugin, plan: FetchPlan, route: Option<PendingFetch>) -> Outcome {
    plugin.in_flight.try_begin();
    match route {
        Some(route) => {
            plugin.fetches.insert(plan.call_id, route);
        }
        None => {
            let pending = plugin
                .fetches
                .entry(plan.call_id)
                .or_insert(PendingFetch::Plain(0));
            if let PendingFetch::Plain(n) = pending {
                *n = n.saturating_add(1);
            }
        }
    }
    Outcome::Fetch(plan)
}

// The refusals serving a call makes, out of line: not a first visit's code (the browser's split,
// scripts/split-module.mjs, leaves them out of the part every host loads).

#[cold]
#[inline(never)]
fn not_a_capability(permission: &str) -> WardenError {
    WardenError::new(
        ErrorCode::PermissionDenied,
        format!(
            "{permission:?} is not a capability; ask for one of the manifest's optionalPermissions"
        ),
    )
}

#[cold]
#[inline(never)]
fn not_optional(id: &str, permission: &str, cap: Capability) -> WardenError {
    let mut e = WardenError::new(
        ErrorCode::PermissionDenied,
        format!("{permission:?} is not in plugin {id:?}'s optionalPermissions, so it cannot be requested"),
    );
    e.permission = Some(cap.as_str().to_owned());
    e
}

#[cold]
#[inline(never)]
fn no_body(method: &str) -> WardenError {
    WardenError::new(
        ErrorCode::MessageRejected,
        format!("api.fetch: a {method} request cannot have a body"),
    )
}

#[cold]
#[inline(never)]
fn too_many_subscriptions() -> WardenError {
    WardenError::new(ErrorCode::QuotaExceeded, "at most 256 event subscriptions")
}

#[cold]
#[inline(never)]
fn no_remote_ui(id: &str) -> WardenError {
    WardenError::new(
        ErrorCode::PermissionDenied,
        format!("plugin {id:?} has no remote UI to render into"),
    )
}

/// Whether `plugin` may start one more call, else its refusal. Inlined: the three checks'
/// code as it was before they shared it (a call of its own cost a first load 0.05 KiB).
#[inline(always)]
fn room(plugin: &Plugin) -> Result<(), WardenError> {
    if plugin.in_flight.has_room() {
        Ok(())
    } else {
        Err(in_flight_error())
    }
}

/// A call refused because its plugin has as many calls in flight as it may.
#[cold]
#[inline(never)]
fn in_flight_error() -> WardenError {
    WardenError::new(ErrorCode::RateLimited, "too many calls in flight")
}

fn duplicate_fetch(call_id: u64) -> WardenError {
    WardenError::new(
        ErrorCode::MessageRejected,
        format!("call id {call_id} is already in flight for a route request; use a fresh id"),
    )
}

/// Read a call id from raw JSON cheaply (for refusals before parsing), if it is plainly there.
/// A message over the host's `max_message_bytes` is never parsed, here as in `parse_call`:
/// a flood of oversized messages must stay as cheap to refuse as any other.
pub(super) fn peek_id(text: &str, max_bytes: usize) -> Option<u64> {
    if text.len() > max_bytes.min(1 << 20) {
        return None;
    }
    let v = crate::core::json::parse_value(text).ok()?;
    v.get("id")?.as_u64()
}
