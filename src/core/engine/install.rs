//! Install and update: manifest, signature, integrity, analysis, compatibility, consent.

use super::*;
use crate::core::error::cold_text;

/// The code an install or update checked, as the plugin will keep it, and the key that
/// signed it.
fn verified_input(
    id: &str,
    input: &InstallInput,
    provenance: &Provenance,
    warnings: &[String],
) -> (Option<VerifiedCode>, Option<PublicKey>) {
    let signed_by = match provenance {
        Provenance::Signed(s) => Some(s.key().clone()),
        Provenance::Unsigned => None,
    };
    let code = input.code.clone().map(|code| VerifiedCode {
        plugin: id.to_owned(),
        code,
        signed: matches!(provenance, Provenance::Signed(_)),
        warnings: warnings.to_vec(),
    });
    (code, signed_by)
}

/// The manifest's `id`, read without validating anything else (for `allowPlugins`).
fn read_id(manifest_json: &str) -> Result<PluginId, WardenError> {
    let id = crate::core::json::parse_value(manifest_json)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
    let Some(id) = id else {
        return Err(WardenError::new(
            ErrorCode::InvalidManifest,
            "id: expected a JSON object with a string `id` (checked first: this host has allowPlugins)",
        ));
    };
    PluginId::parse(&id).map_err(coded)
}

impl<B: StorageBackend> Engine<B> {
    // ----- install ------------------------------------------------------------------------

    /// First install step: the `allowPlugins` check (on the id alone), then parse and
    /// validate the manifest (`INVALID_MANIFEST` lists every problem). Then
    /// [`Engine::install_signature`] says which signature the adapter must verify, and
    /// [`Engine::finish_install`] does the rest. [`Engine::install_begin`] runs these steps in
    /// order (the browser layer's entry).
    ///
    /// # Errors
    /// `PERMISSION_DENIED` for an id outside `allowPlugins` (and `INVALID_MANIFEST` when there
    /// is a list and the id cannot be read); `INVALID_MANIFEST`; `ALREADY_EXISTS` when the id
    /// is installed and not failed.
    pub fn check_manifest(
        &mut self,
        manifest_json: &str,
        now_ms: f64,
    ) -> Result<CheckedManifest, WardenError> {
        if let Some(allow) = &self.allow_plugins {
            let refused = match read_id(manifest_json) {
                Err(e) => Some((None, e)),
                Ok(id) if !allow.allows(id.as_str()) => {
                    let shown: Vec<&str> =
                        allow.entries().iter().take(5).map(String::as_str).collect();
                    let more = if allow.entries().len() > 5 {
                        ", …"
                    } else {
                        ""
                    };
                    let e = WardenError::new(
                        ErrorCode::PermissionDenied,
                        format!(
                            "plugin {:?} is not in this host's allowPlugins [{}{more}]; nothing else was checked",
                            id.as_str(),
                            shown.join(", ")
                        ),
                    );
                    Some((Some(id), e))
                }
                Ok(_) => None,
            };
            if let Some((id, e)) = refused {
                self.record_failed_install(id.as_ref().map(PluginId::as_str), &e, now_ms);
                return Err(e);
            }
        }
        let manifest = match Manifest::parse(manifest_json, &self.manifest_opts) {
            Ok(m) => m,
            Err(e) => {
                let id = crate::core::json::parse_value(manifest_json)
                    .ok()
                    .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
                let err = coded(e);
                self.record_failed_install(id.as_deref(), &err, now_ms);
                return Err(err);
            }
        };
        let id = manifest.id().as_str();
        if self.plugins.contains_key(id) {
            return Err(WardenError::new(
                ErrorCode::AlreadyExists,
                format!("plugin {id:?} is already installed; uninstall it first"),
            ));
        }
        let digest = LazyDigest::of_json(manifest_json);
        Ok(CheckedManifest { manifest, digest })
    }

    /// Second install step: the signature the adapter must verify before
    /// [`Engine::finish_install`], or `None` when the install carries none.
    ///
    /// # Errors
    /// `SIGNATURE_INVALID` for a signature without `code`, a `publicKey` without a signature,
    /// a signature with no key to check it (no `publicKey`, no `trustedKeys`), a key that is
    /// not one of the host's `trustedKeys`, a malformed signature; `INVALID_ARGUMENT` for a
    /// `publicKey` that does not parse.
    pub fn install_signature(
        &self,
        checked: &CheckedManifest,
        input: &InstallInput,
    ) -> Result<Option<SignatureCheck>, WardenError> {
        match (&input.signature, &input.code) {
            (None, _) if input.public_key.is_some() => Err(WardenError::new(
                ErrorCode::SignatureInvalid,
                "`publicKey` was given without a `signature`",
            )),
            (None, _) => Ok(None),
            (Some(_), None) => Err(WardenError::new(
                ErrorCode::SignatureInvalid,
                "a signature needs the `code` it covers (with the manifest)",
            )),
            (Some(sig), Some(code)) => {
                let given = input
                    .public_key
                    .as_ref()
                    .map(key_from_value)
                    .transpose()
                    .map_err(|e| WardenError::new(e.code(), format!("publicKey: {e}")))?;
                self.signature_check(&checked.digest, code, sig, given)
                    .map(Some)
            }
        }
    }

    /// The check of `signature` over the envelope of `digest` and `code`, under the keys this
    /// host accepts.
    pub(super) fn signature_check(
        &self,
        digest: &LazyDigest,
        code: &str,
        signature: &str,
        given: Option<PublicKey>,
    ) -> Result<SignatureCheck, WardenError> {
        let keys = match (&self.trusted_keys, given) {
            (Some(trusted), given) => trusted.candidates(given).map_err(coded)?,
            (None, Some(k)) => vec![k],
            (None, None) => {
                return Err(WardenError::new(
                    ErrorCode::SignatureInvalid,
                    "a signature needs `publicKey` (or the host option `trustedKeys`)",
                ))
            }
        };
        let raw = decode_signature(signature.as_bytes()).map_err(coded)?;
        // invariant: the manifest parsed, so the text is JSON.
        let digest = digest.get().map_err(coded)?;
        SignatureCheck::new(Envelope::new(digest, code.as_bytes()), &raw, keys).map_err(coded)
    }

    /// Last install step: signature (`requireSignatures`), integrity, bundle analysis and
    /// compatibility, then registration. `provenance` is what the adapter made of
    /// [`Engine::install_signature`]'s check ([`Provenance::Unsigned`] when there was none).
    ///
    /// # Errors
    /// `SIGNATURE_INVALID` (a signature was required and none verified, or the signed envelope
    /// is not this manifest and code), `INTEGRITY_MISMATCH`, `BUNDLE_REJECTED`, `INCOMPATIBLE`;
    /// the plugin is then recorded as failed.
    pub fn finish_install(
        &mut self,
        checked: CheckedManifest,
        input: &InstallInput,
        provenance: Provenance,
        now_ms: f64,
    ) -> Result<InstallInfo, WardenError> {
        let CheckedManifest { manifest, digest } = checked;
        let id = manifest.id().as_str().to_owned();
        let checks = self
            .code_checks(
                &manifest,
                &digest,
                input.code.as_deref(),
                input.integrity.as_deref(),
                &provenance,
            )
            .and_then(|warnings| self.compatibility(&manifest).map(|()| warnings));
        match checks {
            Ok(warnings) => {
                let (code, signed_by) = verified_input(&id, input, &provenance, &warnings);
                self.rbac.register(&manifest).map_err(coded)?;
                let perms = PermissionSet::from_manifest(&manifest);
                let allowlist = Allowlist::new(manifest.network().to_vec());
                self.failed.remove(&id);
                self.plugins.insert(
                    id.clone(),
                    Plugin {
                        perms,
                        allowlist,
                        status: Status::Installed,
                        limiter: RateLimiter::new(&self.rate),
                        in_flight: InFlight::new(self.rate.max_in_flight),
                        subscriptions: SortedSet::new(),
                        denied_requests: SortedSet::new(),
                        allowed_calls: 0,
                        rate_audit: (f64::NEG_INFINITY, 0),
                        unserved_audit: f64::NEG_INFINITY,
                        fetches: SortedMap::new(),
                        remote_ui: None,
                        render_budget: BusyBudget::new(
                            self.rate.render_share,
                            self.rate.render_burst_ms,
                        ),
                        render_started: None,
                        code,
                        digest,
                        signed_by,
                        announced: None,
                        previous_version: None,
                        liveness: None,
                        mount: None,
                        manifest,
                    },
                );
                self.audit.push(
                    AuditEvent::new(AuditKind::Install, now_ms)
                        .with_plugin(id.clone())
                        .with_decision(AuditDecision::Allow)
                        .with_detail(json!({ "warnings": warnings.len() })),
                );
                Ok(InstallInfo {
                    id,
                    status: Status::Installed,
                    warnings,
                })
            }
            Err(e) => {
                self.record_failed_install(Some(&id), &e, now_ms);
                Err(e)
            }
        }
    }

    /// The checks every piece of code passes before it may run, at install and at mount alike:
    /// the signature (`requireSignatures`; a signed envelope must cover exactly this manifest
    /// and code), SRI (`integrity`, else the manifest's `entry.integrity`), bundle analysis.
    pub(super) fn code_checks(
        &self,
        manifest: &Manifest,
        digest: &LazyDigest,
        code: Option<&str>,
        integrity: Option<&str>,
        provenance: &Provenance,
    ) -> Result<Vec<String>, WardenError> {
        let mut warnings = Vec::new();
        match provenance {
            Provenance::Signed(signed) => {
                let digest = digest.get().map_err(coded)?;
                let covered = code.is_some_and(|c| signed.envelope().covers(&digest, c.as_bytes()));
                if !covered {
                    return Err(WardenError::new(
                        ErrorCode::SignatureInvalid,
                        cold_text!(
                            "the signature verified over another manifest or code than these"
                        ),
                    ));
                }
            }
            Provenance::Unsigned if self.require_signatures => {
                let keys = if self.trusted_keys.is_some() {
                    "(by one of the host's trustedKeys)"
                } else {
                    "and `publicKey`"
                };
                return Err(WardenError::new(
                    ErrorCode::SignatureInvalid,
                    format!("this host requires signed plugins: give `code`, `signature` {keys}"),
                ));
            }
            Provenance::Unsigned => {}
        }
        let sri = integrity.or_else(|| manifest.entry().and_then(|e| e.integrity()));
        if let (Some(sri), Some(code)) = (sri, code) {
            let parsed = Integrity::parse(sri).map_err(coded)?;
            parsed.verify(code.as_bytes()).map_err(coded)?;
        } else if integrity.is_some() {
            return Err(WardenError::new(
                ErrorCode::IntegrityMismatch,
                cold_text!("`integrity` was given without the `code` it covers"),
            ));
        }
        if let Some(code) = code {
            let report =
                analyze(code, &AnalysisOptions::from_network(manifest.network())).map_err(coded)?;
            warnings.extend(describe_findings(&report));
            if self.bundle_policy == BundlePolicy::Reject {
                report.check().map_err(coded)?;
            }
        }
        Ok(warnings)
    }

    fn compatibility(&self, manifest: &Manifest) -> Result<(), WardenError> {
        match (manifest.compatibility(), &self.host_version) {
            (Some(range), Some(host)) => range.check(host).map_err(|e| {
                WardenError::new(
                    e.code(),
                    format!("plugin {:?}: {e}", manifest.id().as_str()),
                )
            }),
            _ => Ok(()),
        }
    }

    /// Record that installing `manifest` failed outside the engine (e.g. its signature did
    /// not verify in the browser): status `failed` with the code, audited.
    pub fn fail_install(&mut self, manifest: &Manifest, e: &WardenError, now_ms: f64) {
        self.record_failed_install(Some(manifest.id().as_str()), e, now_ms);
    }

    fn record_failed_install(&mut self, id: Option<&str>, e: &WardenError, now_ms: f64) {
        let mut event = AuditEvent::new(AuditKind::Install, now_ms)
            .with_decision(AuditDecision::Deny)
            .with_code(e.code)
            .with_detail(json!({ "message": e.message }));
        if let Some(id) = id.filter(|id| !self.plugins.contains_key(*id)) {
            // Only ids that look like ids are remembered, so a hostile manifest cannot grow
            // the failure table with arbitrary keys.
            if id.len() <= 64 {
                if self.failed.len() >= 256 {
                    self.failed.pop_first();
                }
                self.failed.insert(
                    id.to_owned(),
                    Status::Failed {
                        code: e.code,
                        message: e.message.clone(),
                    },
                );
            }
            event = event.with_plugin(id);
        }
        self.audit.push(event);
    }

    /// Remove a plugin; with `remove_data`, its storage namespace too.
    ///
    /// # Errors
    /// `NOT_FOUND`; storage failures.
    pub fn uninstall(
        &mut self,
        id: &str,
        remove_data: bool,
        now_ms: f64,
    ) -> Result<(), WardenError> {
        let plugin = self.plugins.remove(id).ok_or_else(|| not_found(id))?;
        let _ = self.rbac.unregister(plugin.manifest.id());
        // `info().counts` are refusals since install: a reinstalled plugin starts from zero.
        self.audit.forget(id);
        if remove_data {
            self.store.remove_all(id).map_err(coded)?;
        }
        self.audit
            .push(AuditEvent::new(AuditKind::Uninstall, now_ms).with_plugin(id));
        Ok(())
    }

    // ----- update -------------------------------------------------------------------------

    /// First update step: parse the new manifest of installed plugin `id` and check that its
    /// version increases. Then [`Engine::install_signature`] says which signature the adapter
    /// must verify before [`Engine::prepare_update`]. A refusal is audited (kind `update`,
    /// deny). [`Engine::update_begin`] runs the update's steps in order (the browser layer's
    /// entry).
    ///
    /// # Errors
    /// `NOT_FOUND` for an id that is not installed; `INVALID_MANIFEST`; `INCOMPATIBLE` for the
    /// same or a lower version; `INVALID_ARGUMENT` for a manifest of another plugin.
    pub fn check_update(
        &mut self,
        id: &str,
        manifest_json: &str,
        now_ms: f64,
    ) -> Result<CheckedManifest, WardenError> {
        let old = &self.plugins.get(id).ok_or_else(|| not_found(id))?.manifest;
        let result = Manifest::parse(manifest_json, &self.manifest_opts)
            .map_err(coded)
            .and_then(|m| check_version(old, &m).map(|()| m).map_err(coded))
            .map(|manifest| CheckedManifest {
                manifest,
                digest: LazyDigest::of_json(manifest_json),
            });
        if let Err(e) = &result {
            self.refuse_update(id, e, now_ms);
        }
        result
    }

    /// Second update step: the install checks (signature requirement, integrity, bundle
    /// analysis, compatibility) on the new version, and the difference from the installed one.
    /// Nothing changes yet: the installed version keeps running.
    ///
    /// # Errors
    /// As [`Engine::check_update`], and the install checks' codes; audited.
    pub fn prepare_update(
        &mut self,
        checked: CheckedManifest,
        input: &InstallInput,
        provenance: Provenance,
        now_ms: f64,
    ) -> Result<PendingUpdate, WardenError> {
        let CheckedManifest { manifest, digest } = checked;
        let id = manifest.id().as_str().to_owned();
        let result = self
            .plugins
            .get(&id)
            .ok_or_else(|| not_found(&id))
            .and_then(|old| {
                check_version(&old.manifest, &manifest).map_err(coded)?;
                let warnings = self.code_checks(
                    &manifest,
                    &digest,
                    input.code.as_deref(),
                    input.integrity.as_deref(),
                    &provenance,
                )?;
                self.compatibility(&manifest)?;
                let (code, signed_by) = verified_input(&id, input, &provenance, &warnings);
                Ok(PendingUpdate {
                    diff: ManifestDiff::between(&old.manifest, &manifest),
                    from: old.manifest.version().unwrap_or_default().to_owned(),
                    to: manifest.version().unwrap_or_default().to_owned(),
                    code,
                    signed_by,
                    digest,
                    warnings,
                    manifest,
                })
            });
        if let Err(e) = &result {
            self.refuse_update(&id, e, now_ms);
        }
        result
    }

    /// Last update step: apply `pending` when it narrows, or when it widens and `consented`.
    /// Storage is kept (it is keyed by the id), so are runtime grants and revocations of
    /// capabilities the new manifest still lists; the welcome of the next mount carries the
    /// previous version. Audited either way. The browser layer remounts a mounted plugin.
    ///
    /// # Errors
    /// `PERMISSION_DENIED` when the update widens and was not consented to (nothing changes:
    /// the installed version keeps running); `NOT_FOUND` / `INCOMPATIBLE` when the plugin was
    /// uninstalled or updated while consent was asked; RBAC registration errors.
    pub fn finish_update(
        &mut self,
        pending: PendingUpdate,
        consented: bool,
        now_ms: f64,
    ) -> Result<UpdateInfo, WardenError> {
        let id = pending.manifest.id().as_str().to_owned();
        let result = self.apply_update(&id, pending, consented);
        match &result {
            Ok(info) => {
                self.audit.push(
                    AuditEvent::new(AuditKind::Update, now_ms)
                        .with_plugin(id.clone())
                        .with_decision(AuditDecision::Allow)
                        .with_detail(json!({
                            "from": info.from,
                            "to": info.to,
                            "added": info.added.iter().map(|c| &c.value).collect::<Vec<_>>(),
                            "removed": info.removed.iter().map(|c| &c.value).collect::<Vec<_>>(),
                            "consented": info.consent_needed,
                        })),
                );
            }
            Err(e) => self.refuse_update(&id, e, now_ms),
        }
        result
    }

    fn apply_update(
        &mut self,
        id: &str,
        pending: PendingUpdate,
        consented: bool,
    ) -> Result<UpdateInfo, WardenError> {
        let plugin = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        if plugin.manifest.version().unwrap_or_default() != pending.from {
            return Err(WardenError::new(
                ErrorCode::Incompatible,
                format!(
                    "plugin {id:?} is no longer at version {} (another update came first)",
                    pending.from
                ),
            ));
        }
        let PendingUpdate {
            manifest,
            digest,
            signed_by,
            code,
            diff,
            from,
            to,
            warnings,
        } = pending;
        let consent_needed = diff.widens();
        if consent_needed && !consented {
            let words: Vec<&str> = diff.added.iter().map(|c| c.words.as_str()).collect();
            return Err(WardenError::new(
                ErrorCode::PermissionDenied,
                format!(
                    "the update of plugin {id:?} from {from} to {to} asks to {} and was not consented to; version {from} keeps running",
                    words.join("; ")
                ),
            ));
        }
        let _ = self.rbac.unregister(manifest.id());
        if let Err(e) = self.rbac.register(&manifest) {
            // invariant: the installed manifest registered before; put it back as it was.
            let _ = self.rbac.register(&plugin.manifest);
            return Err(coded(e));
        }
        plugin.perms = plugin.perms.carried_over(&manifest);
        let perms = &plugin.perms;
        plugin.denied_requests.retain(|c| perms.is_optional(*c));
        plugin.allowlist = Allowlist::new(manifest.network().to_vec());
        plugin.previous_version = Some(from.clone());
        plugin.code = code;
        plugin.digest = digest;
        plugin.signed_by = signed_by;
        plugin.manifest = manifest;
        Ok(UpdateInfo {
            id: id.to_owned(),
            from,
            to,
            added: diff.added,
            removed: diff.removed,
            consent_needed,
            warnings,
            remounted: false,
        })
    }

    /// Record that updating `id` failed outside the engine (e.g. its signature did not verify
    /// in the browser): audited; the installed version is untouched.
    pub fn fail_update(&mut self, id: &str, e: &WardenError, now_ms: f64) {
        self.refuse_update(id, e, now_ms);
    }

    fn refuse_update(&mut self, id: &str, e: &WardenError, now_ms: f64) {
        self.audit.push(
            AuditEvent::new(AuditKind::Update, now_ms)
                .with_plugin(id)
                .with_decision(AuditDecision::Deny)
                .with_code(e.code)
                .with_detail(json!({ "message": e.message })),
        );
    }
}

fn describe_findings(report: &AnalysisReport) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}:{} {} {}: {}",
                f.line,
                f.column,
                f.rule.as_str(),
                f.severity.as_str(),
                f.message
            )
        })
        .collect()
}
