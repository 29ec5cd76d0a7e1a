//! Install and update as step machines: the core runs every check in order and says what the
//! browser layer must do between them (verify a signature with WebCrypto, ask the user's
//! consent), so the browser layer only performs the step asked for and hands the answer back.
//!
//! ```text
//! install_begin ──► Verify ──(install_continue)──► Done
//!        └──────────────────────────────────────► Done
//! update_begin ──► Verify ──(update_continue)──► Consent ──(update_consent)──► Done
//!        └──────────────────┴──────────────────────┴────────────────────────► Done
//! ```
//!
//! Every step carries the [`Effect`]s to carry out before the next one (the audit events it
//! recorded; on `Done` after registration, the access-cache refresh too), so no call site has
//! to remember to deliver them.

use super::*;
use crate::core::provenance::SignedEnvelope;

/// One step of an install or update: the effects to carry out now, then what to do next.
#[derive(Debug)]
#[must_use = "carry out the effects and perform the next step"]
pub struct Step<N> {
    /// Carry these out first, in order.
    pub effects: Vec<Effect>,
    /// What the browser layer must do next.
    pub next: N,
}

/// What an install needs next ([`Engine::install_begin`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallNext {
    /// Verify this signature (WebCrypto), then hand the answer to [`Engine::install_continue`]
    /// with the token.
    Verify(SignatureCheck, InstallToken),
    /// Finished: installed, or refused with its code (recorded and audited).
    Done(Result<InstallInfo, WardenError>),
}

/// What an update needs next ([`Engine::update_begin`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum UpdateNext {
    /// Verify this signature (WebCrypto), then hand the answer to [`Engine::update_continue`]
    /// with the token.
    Verify(SignatureCheck, UpdateToken),
    /// The update widens what the plugin may do: ask the user (`onUpdateConsent` or the
    /// default dialog), then hand the answer to [`Engine::update_consent`].
    Consent(Box<PendingUpdate>),
    /// Finished: applied (the browser layer then remounts a mounted plugin), or refused with
    /// its code (audited; the installed version is untouched).
    Done(Result<UpdateInfo, WardenError>),
}

/// An install waiting for its signature to be verified.
#[derive(Debug)]
pub struct InstallToken(Box<(CheckedManifest, InstallInput)>);

/// An update waiting for its signature to be verified.
#[derive(Debug)]
pub struct UpdateToken(Box<(String, CheckedManifest, InstallInput)>);

fn step<N>(effects: Vec<Effect>, next: N) -> Step<N> {
    Step { effects, next }
}

impl<B: StorageBackend> Engine<B> {
    /// Start installing the plugin of `manifest_json`: `allowPlugins` and the manifest
    /// ([`Engine::check_manifest`]), then the signature the browser must verify
    /// ([`Engine::install_signature`]); without one, the install finishes here
    /// ([`Engine::finish_install`]).
    pub fn install_begin(
        &mut self,
        manifest_json: &str,
        input: InstallInput,
        now_ms: f64,
    ) -> Step<InstallNext> {
        let checked = match self.check_manifest(manifest_json, now_ms) {
            Ok(checked) => checked,
            Err(e) => return self.install_done(Err(e), false),
        };
        match self.install_signature(&checked, &input) {
            Err(e) => {
                self.fail_install(checked.manifest(), &e, now_ms);
                self.install_done(Err(e), false)
            }
            Ok(Some(check)) => step(
                self.undelivered_audit(),
                InstallNext::Verify(check, InstallToken(Box::new((checked, input)))),
            ),
            Ok(None) => self.install_finish(checked, &input, Provenance::Unsigned, now_ms),
        }
    }

    /// Continue an install with what the browser made of [`InstallNext::Verify`]'s check: the
    /// signed envelope, or why no key verified it (the install then fails with that code).
    pub fn install_continue(
        &mut self,
        token: InstallToken,
        verified: Result<SignedEnvelope, WardenError>,
        now_ms: f64,
    ) -> Step<InstallNext> {
        let (checked, input) = *token.0;
        match verified {
            Ok(signed) => self.install_finish(checked, &input, Provenance::Signed(signed), now_ms),
            Err(e) => {
                self.fail_install(checked.manifest(), &e, now_ms);
                self.install_done(Err(e), false)
            }
        }
    }

    fn install_finish(
        &mut self,
        checked: CheckedManifest,
        input: &InstallInput,
        provenance: Provenance,
        now_ms: f64,
    ) -> Step<InstallNext> {
        let result = self.finish_install(checked, input, provenance, now_ms);
        self.install_done(result, true)
    }

    fn install_done(
        &mut self,
        result: Result<InstallInfo, WardenError>,
        registered: bool,
    ) -> Step<InstallNext> {
        step(self.finished(registered), InstallNext::Done(result))
    }

    /// The effects of a finished install or update: the access cache is rebuilt once the
    /// registry was touched, then the audit events.
    fn finished(&mut self, registered: bool) -> Vec<Effect> {
        let effects = if registered {
            vec![Effect::PermissionsChanged(Vec::new())]
        } else {
            Vec::new()
        };
        self.with_audit(effects)
    }

    /// Start updating installed plugin `id` to the version of `manifest_json`
    /// ([`Engine::check_update`]), then the signature the browser must verify (the rules of
    /// install); without one, the update goes on to its checks and, when it widens, consent.
    pub fn update_begin(
        &mut self,
        id: &str,
        manifest_json: &str,
        input: InstallInput,
        now_ms: f64,
    ) -> Step<UpdateNext> {
        let checked = match self.check_update(id, manifest_json, now_ms) {
            Ok(checked) => checked,
            Err(e) => return self.update_done(Err(e), false),
        };
        match self.install_signature(&checked, &input) {
            Err(e) => {
                self.fail_update(id, &e, now_ms);
                self.update_done(Err(e), false)
            }
            Ok(Some(check)) => step(
                self.undelivered_audit(),
                UpdateNext::Verify(
                    check,
                    UpdateToken(Box::new((id.to_owned(), checked, input))),
                ),
            ),
            Ok(None) => self.update_prepare(checked, &input, Provenance::Unsigned, now_ms),
        }
    }

    /// Continue an update with what the browser made of [`UpdateNext::Verify`]'s check. A
    /// signature that did not verify refuses the update (audited; nothing changes).
    pub fn update_continue(
        &mut self,
        token: UpdateToken,
        verified: Result<SignedEnvelope, WardenError>,
        now_ms: f64,
    ) -> Step<UpdateNext> {
        let (id, checked, input) = *token.0;
        match verified {
            Ok(signed) => self.update_prepare(checked, &input, Provenance::Signed(signed), now_ms),
            Err(e) => {
                self.fail_update(&id, &e, now_ms);
                self.update_done(Err(e), false)
            }
        }
    }

    /// Finish an update with the user's answer to [`UpdateNext::Consent`]: applied on yes,
    /// refused with `PERMISSION_DENIED` on no.
    pub fn update_consent(
        &mut self,
        pending: Box<PendingUpdate>,
        consented: bool,
        now_ms: f64,
    ) -> Step<UpdateNext> {
        let result = self.finish_update(*pending, consented, now_ms);
        self.update_done(result, true)
    }

    fn update_prepare(
        &mut self,
        checked: CheckedManifest,
        input: &InstallInput,
        provenance: Provenance,
        now_ms: f64,
    ) -> Step<UpdateNext> {
        match self.prepare_update(checked, input, provenance, now_ms) {
            Err(e) => self.update_done(Err(e), false),
            Ok(pending) if pending.needs_consent() => step(
                self.undelivered_audit(),
                UpdateNext::Consent(Box::new(pending)),
            ),
            // A narrowing (or equal) update needs no consent.
            Ok(pending) => self.update_consent(Box::new(pending), false, now_ms),
        }
    }

    fn update_done(
        &mut self,
        result: Result<UpdateInfo, WardenError>,
        registered: bool,
    ) -> Step<UpdateNext> {
        step(self.finished(registered), UpdateNext::Done(result))
    }
}
