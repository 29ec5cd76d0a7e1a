//! A plugin's life after install: status, mount-time code, liveness, grants and what each
//! mount was told it may do.

use super::*;

impl<B: StorageBackend> Engine<B> {
    // ----- lifecycle ----------------------------------------------------------------------

    /// The plugin's status (also for plugins whose install failed).
    ///
    /// # Errors
    /// `NOT_FOUND` for an id never seen.
    pub fn status(&self, id: &str) -> Result<&Status, WardenError> {
        match self.plugins.get(id) {
            Some(p) => Ok(&p.status),
            None => self.failed.get(id).ok_or_else(|| not_found(id)),
        }
    }

    /// The installed plugin's manifest.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub fn manifest(&self, id: &str) -> Result<&Manifest, WardenError> {
        self.plugins
            .get(id)
            .map(|p| &p.manifest)
            .ok_or_else(|| not_found(id))
    }

    /// The signature the adapter must verify for `code` given at mount time (a worker's `code`
    /// or fetched `src`, a bundle iframe's `code`), or `None` without a `signature`. The
    /// envelope covers the manifest as installed and this code.
    ///
    /// # Security
    /// The key is the one the plugin's install was signed with (pinned), else one of the
    /// host's `trustedKeys`; a mount never brings its own key.
    ///
    /// # Errors
    /// `NOT_FOUND`; as [`Engine::install_signature`].
    pub fn mount_signature(
        &self,
        id: &str,
        code: &str,
        signature: Option<&str>,
    ) -> Result<Option<SignatureCheck>, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        let Some(signature) = signature else {
            return Ok(None);
        };
        self.signature_check(&p.digest, code, signature, p.signed_by.clone())
            .map(Some)
    }

    /// Check code given at mount time exactly as install-time code is checked
    /// (`requireSignatures`, `entry.integrity`, bundle analysis); `provenance` is what the
    /// adapter made of [`Engine::mount_signature`] (its error, if that or the signature
    /// verification failed). A refusal is audited (`mount`, `deny`, with the code).
    ///
    /// # Security
    /// Every path that runs code not checked at install goes through here: worker `code` and
    /// `src`, bundle-iframe `code`. Code that would not install does not mount.
    ///
    /// # Errors
    /// `NOT_FOUND`; `SIGNATURE_INVALID`, `INTEGRITY_MISMATCH`, `BUNDLE_REJECTED`, or the error
    /// `provenance` carries.
    pub fn verify_code(
        &mut self,
        id: &str,
        code: String,
        provenance: Result<Provenance, WardenError>,
        now_ms: f64,
    ) -> Result<VerifiedCode, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        let checked = provenance.and_then(|provenance| {
            let warnings =
                self.code_checks(&p.manifest, &p.digest, Some(&code), None, &provenance)?;
            Ok(VerifiedCode {
                plugin: id.to_owned(),
                code,
                signed: matches!(provenance, Provenance::Signed(_)),
                warnings,
            })
        });
        if let Err(e) = &checked {
            self.audit.push(
                AuditEvent::new(AuditKind::Mount, now_ms)
                    .with_plugin(id)
                    .with_decision(AuditDecision::Deny)
                    .with_code(e.code)
                    .with_detail(json!({ "message": e.message, "codeGivenAtMount": true })),
            );
        }
        checked
    }

    /// The code a mount runs: `provided` (from [`Engine::verify_code`] for this plugin), else
    /// the code checked at install.
    ///
    /// # Errors
    /// `NOT_FOUND`; `MOUNT_FAILED` when there is no code, or `provided` was verified for
    /// another plugin.
    pub fn mount_code(
        &self,
        id: &str,
        provided: Option<VerifiedCode>,
    ) -> Result<VerifiedCode, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        match provided {
            Some(code) if code.plugin == id => Ok(code),
            Some(code) => Err(WardenError::new(
                ErrorCode::MountFailed,
                format!(
                    "code verified for plugin {:?} cannot run as plugin {id:?}",
                    code.plugin
                ),
            )),
            None => p.code.clone().ok_or_else(|| {
                WardenError::new(
                    ErrorCode::MountFailed,
                    format!("plugin {id:?} has no code: give `code` to install or to the mount"),
                )
            }),
        }
    }

    /// Set a plugin's status (mount progress, failure, unmount), audited.
    ///
    /// # Errors
    /// `NOT_FOUND` for an id that is not installed.
    pub fn set_status(&mut self, id: &str, status: Status, now_ms: f64) -> Result<(), WardenError> {
        if !self.plugins.contains_key(id) {
            return Err(not_found(id));
        }
        if matches!(
            status,
            Status::Installed | Status::Failed { .. } | Status::Mounting
        ) {
            // Calls to or from this mount will never be answered: forget them (the caller's
            // client times them out), and free the callers' in-flight slots.
            let gone: Vec<(u64, String)> = self
                .relays
                .iter()
                .filter(|(_, r)| r.callee == id || r.caller == id)
                .map(|(k, r)| (*k, r.caller.clone()))
                .collect();
            for (k, caller) in gone {
                self.relays.remove(&k);
                if caller != id {
                    if let Some(c) = self.plugins.get_mut(&caller) {
                        c.in_flight.end();
                    }
                }
            }
        }
        let plugin = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        let event = match &status {
            Status::Mounted => Some(AuditEvent::new(AuditKind::Mount, now_ms)),
            Status::Installed if plugin.status != Status::Installed => {
                Some(AuditEvent::new(AuditKind::Unmount, now_ms))
            }
            Status::Failed { code, message } => Some(
                AuditEvent::new(AuditKind::Failure, now_ms)
                    .with_code(*code)
                    .with_detail(json!({ "message": message })),
            ),
            _ => None,
        };
        if matches!(status, Status::Installed | Status::Failed { .. }) {
            // The mount ended: so did its UI.
            plugin.remote_ui = None;
        }
        if !matches!(status, Status::Mounted) {
            plugin.liveness = None;
        }
        plugin.announced = match status {
            // The welcome (built just before) told the plugin what it may do now.
            Status::Mounted => Some(view_of(plugin, &self.rbac)),
            _ => None,
        };
        if let Some(m) = plugin.mount.as_mut() {
            m.on_status(&status);
        }
        if matches!(status, Status::Mounting) {
            // A mount begun without `begin_mount` (tests) has no record.
            plugin.mount = None;
            // A fresh mount starts with fresh counters: a plugin suspended for flooding may
            // be mounted again by the host.
            plugin.limiter = RateLimiter::new(&self.rate);
            plugin.in_flight = InFlight::new(self.rate.max_in_flight);
            plugin.rate_audit = (f64::NEG_INFINITY, 0);
            plugin.unserved_audit = f64::NEG_INFINITY;
            plugin.subscriptions.clear();
            plugin.fetches.clear();
        }
        plugin.status = status;
        if let Some(e) = event {
            self.audit.push(e.with_plugin(id));
        }
        Ok(())
    }

    /// The heartbeat's timing (the browser layer's timer runs every
    /// [`LivenessConfig::tick_ms`]).
    pub fn liveness_config(&self) -> LivenessConfig {
        self.liveness
    }

    /// Start the heartbeat of `id`'s current mount (an iframe or worker that just connected);
    /// it stops when the mount ends.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub fn watch_liveness(&mut self, id: &str, now_ms: f64) -> Result<(), WardenError> {
        let plugin = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        plugin.liveness = Some(Liveness::new(self.liveness, now_ms));
        Ok(())
    }

    /// One heartbeat tick: the pings to post and the plugins to fail with `TIMEOUT` now.
    pub fn heartbeat(&mut self, now_ms: f64) -> Vec<Heartbeat> {
        let mut out = Vec::new();
        for (id, p) in self.plugins.iter_mut() {
            let Some(l) = p.liveness.as_mut() else {
                continue;
            };
            match l.tick(now_ms) {
                Beat::Idle => {}
                Beat::Ping(seq) => out.push(Heartbeat::Ping {
                    plugin: id.clone(),
                    message: event_message(EVENT_PING, &json!({ "seq": seq })),
                }),
                Beat::Unresponsive { silent_ms } => {
                    p.liveness = None;
                    // Whole milliseconds through serde_json's integer printer, which the pings
                    // link anyway: `{}` of an `f64` would link core's float formatting (see
                    // `core::ratelimit::num`), of an integer core's integer formatting, both
                    // for this message alone on a first visit's path (the browser fails a
                    // silent plugin with code its first load holds).
                    let ms = |n: u64| serde_json::to_string(&n).unwrap_or_default();
                    out.push(Heartbeat::Unresponsive {
                        plugin: id.clone(),
                        message: format!(
                            "plugin {id:?} did not answer the host's pings for {} ms (limits.unresponsiveAfterMs = {}); it was stopped",
                            ms(silent_ms as u64),
                            ms(u64::from(self.liveness.unresponsive_after_ms))
                        ),
                    });
                }
            }
        }
        out
    }

    /// A `pong` with `seq` came from `id`'s port. `true` when it answered a ping (it is then
    /// consumed: no rate limit, no reply); `false` for anything else, which the caller handles
    /// as any other message.
    pub fn pong(&mut self, id: &str, seq: u64, now_ms: f64) -> bool {
        self.plugins
            .get_mut(id)
            .filter(|p| matches!(p.status, Status::Mounted))
            .and_then(|p| p.liveness.as_mut())
            .is_some_and(|l| l.pong(seq, now_ms))
    }

    /// Give the current mount of `id` a host-rendered UI (`Some`, from the mount plan) or none.
    /// With one, `ui.render` is served, sanitized by [`Sanitizer::for_remote_ui`] of the host's
    /// policy with the manifest's `assets` origins; the UI ends with the mount (status
    /// `installed` or `failed`), whatever the order of this call and [`Engine::set_status`].
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown plugin.
    pub fn set_mount_ui(&mut self, id: &str, ui: Option<UiMode>) -> Result<(), WardenError> {
        let plugin = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        let clean_ms = self.rate.render_clean_ms;
        plugin.remote_ui = ui.map(|UiMode::Shadow| {
            let policy = self.sanitizer.for_remote_ui(plugin.manifest.assets());
            // (The limit was checked when the host was created.)
            policy.with_time_limit(clean_ms).unwrap_or(policy)
        });
        plugin.render_started = None;
        Ok(())
    }

    /// Record a refused handshake or an ignored window message (audit only; the browser layer
    /// goes through [`Engine::refuse_handshake`], which also counts it).
    ///
    /// One event per second per source (a plugin, or the windows that are no mount), like a
    /// flood's `RATE_LIMITED` refusals; the rest are counted, and the next event says how many
    /// (`unauditedBefore`). Any frame that can post to the host page can send refused hellos,
    /// and one event each would push everything else out of the log.
    pub fn audit_handshake_rejected(&mut self, plugin: Option<&str>, why: &str, now_ms: f64) {
        let mono_ms = self.monotonic_ms(now_ms);
        let source = plugin.unwrap_or_default();
        let (last_ms, unaudited) = self
            .handshake_audit
            .get(source)
            .copied()
            .unwrap_or((f64::NEG_INFINITY, 0));
        if mono_ms - last_ms < 1000.0 {
            self.handshake_audit
                .insert(source.to_owned(), (last_ms, unaudited.saturating_add(1)));
            self.audit.count_for(plugin, ErrorCode::MessageRejected);
            return;
        }
        self.handshake_audit.insert(source.to_owned(), (mono_ms, 0));
        let detail = if unaudited == 0 {
            json!({ "reason": why })
        } else {
            json!({ "reason": why, "unauditedBefore": unaudited })
        };
        let mut e = AuditEvent::new(AuditKind::HandshakeRejected, now_ms)
            .with_decision(AuditDecision::Deny)
            .with_code(ErrorCode::MessageRejected)
            .with_detail(detail);
        if let Some(p) = plugin {
            e = e.with_plugin(p);
        }
        self.audit.push(e);
    }

    /// Capabilities granted now, as names.
    ///
    /// # Errors
    /// `NOT_FOUND` for an id that is not installed.
    pub fn grants(&self, id: &str) -> Result<Vec<&'static str>, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        Ok(p.perms
            .granted()
            .into_iter()
            .map(Capability::as_str)
            .collect())
    }

    /// Grant a capability the manifest lists (e.g. an optional one), effective at once.
    /// Answers the `permissions.changed` events to post (none when nothing changed).
    ///
    /// # Errors
    /// `NOT_FOUND`; `PERMISSION_DENIED` when the manifest does not list it; `INVALID_ARGUMENT`
    /// for an unknown capability.
    pub fn grant(
        &mut self,
        id: &str,
        permission: &str,
        now_ms: f64,
    ) -> Result<Vec<PermissionChange>, WardenError> {
        let cap = Capability::parse(permission).map_err(|e| invalid(e.to_string()))?;
        let p = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        p.perms.grant(cap).map_err(coded)?;
        p.denied_requests.remove(&cap);
        self.audit.push(
            AuditEvent::new(AuditKind::Grant, now_ms)
                .with_plugin(id)
                .with_detail(json!({ "permission": cap.as_str() })),
        );
        Ok(self.permission_changes())
    }

    /// Revoke a capability, effective for the plugin's very next message. Answers the
    /// `permissions.changed` events to post (none when nothing changed).
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_ARGUMENT` for an unknown capability.
    pub fn revoke(
        &mut self,
        id: &str,
        permission: &str,
        now_ms: f64,
    ) -> Result<Vec<PermissionChange>, WardenError> {
        let cap = Capability::parse(permission).map_err(|e| invalid(e.to_string()))?;
        let p = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        p.perms.revoke(cap);
        if p.perms.is_optional(cap) {
            // The host took it back: the plugin may not re-prompt the user until the host grants it.
            p.denied_requests.insert(cap);
        }
        if cap == Capability::Events {
            p.subscriptions.clear();
        }
        self.audit.push(
            AuditEvent::new(AuditKind::Revoke, now_ms)
                .with_plugin(id)
                .with_detail(json!({ "permission": cap.as_str() })),
        );
        Ok(self.permission_changes())
    }

    /// The `permissions.changed` events owed to mounted plugins: each one whose
    /// [`PermissionView`] differs from what it was last told, which becomes what it was told.
    /// [`Engine::grant`], [`Engine::revoke`] and [`Engine::set_user`] answer these themselves;
    /// [`Engine::complete`] answers them after the user's answer to a permission request.
    pub fn permission_changes(&mut self) -> Vec<PermissionChange> {
        let rbac = &self.rbac;
        let mut out = Vec::new();
        for (id, p) in self.plugins.iter_mut() {
            let Some(announced) = &p.announced else {
                continue;
            };
            let view = view_of(p, rbac);
            if *announced != view {
                p.announced = Some(view.clone());
                out.push(PermissionChange {
                    plugin: id.clone(),
                    view,
                });
            }
        }
        out
    }

    /// What the welcome tells plugin `id`: its permission view, version and previous version.
    ///
    /// # Errors
    /// `NOT_FOUND`.
    pub fn welcome_info(&self, id: &str) -> Result<WelcomeInfo, WardenError> {
        let p = self.plugins.get(id).ok_or_else(|| not_found(id))?;
        Ok(WelcomeInfo {
            view: view_of(p, &self.rbac),
            version: p.manifest.version().map(str::to_owned),
            previous_version: p.previous_version.clone(),
        })
    }
}
