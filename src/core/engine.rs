//! The engine: the host's plugin registry and lifecycle, with no browser in it.
//!
//! The browser layer (`web`) feeds it what happened (a manifest to install, a handshake, a
//! message from a plugin, a failure) and carries out what it answers.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::{ErrorCode, WardenError};

/// Where a plugin is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Status {
    /// Installed and checked; not mounted.
    Installed,
    /// A mount is waiting for the plugin's handshake.
    Mounting,
    /// Handshake done; the plugin talks over its port.
    Mounted,
    /// Failed, with the reason. A failed plugin gets no more calls until it is mounted again.
    Failed {
        /// Why.
        code: ErrorCode,
        /// What happened.
        message: String,
    },
}

/// One installed plugin.
#[derive(Clone, Debug)]
struct Record {
    status: Status,
    grants: Vec<String>,
}

/// The registry of installed plugins.
#[derive(Debug, Default)]
pub struct Engine {
    plugins: BTreeMap<String, Record>,
}

impl Engine {
    /// An empty engine.
    pub fn new() -> Self {
        Engine::default()
    }

    /// Install a plugin from its manifest JSON; answers its id.
    ///
    /// # Errors
    /// `INVALID_MANIFEST` when the manifest is not an object with a string `id`;
    /// `ALREADY_EXISTS` when that id is installed.
    pub fn install(&mut self, manifest_json: &str) -> Result<String, WardenError> {
        let value: serde_json::Value = serde_json::from_str(manifest_json)
            .map_err(|e| WardenError::new(ErrorCode::InvalidManifest, format!("not JSON: {e}")))?;
        let id = value
            .get("id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| WardenError::new(ErrorCode::InvalidManifest, "id: expected a string"))?
            .to_owned();
        let grants = value
            .get("permissions")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if self.plugins.contains_key(&id) {
            return Err(WardenError::new(
                ErrorCode::AlreadyExists,
                format!("plugin {id:?} is already installed"),
            ));
        }
        self.plugins.insert(
            id.clone(),
            Record {
                status: Status::Installed,
                grants,
            },
        );
        Ok(id)
    }

    /// The plugin's status.
    ///
    /// # Errors
    /// `NOT_FOUND` for an id that is not installed.
    pub fn status(&self, id: &str) -> Result<&Status, WardenError> {
        self.record(id).map(|r| &r.status)
    }

    /// Set a plugin's status (mount progress, failure, unmount).
    ///
    /// # Errors
    /// `NOT_FOUND` for an id that is not installed.
    pub fn set_status(&mut self, id: &str, status: Status) -> Result<(), WardenError> {
        let rec = self.plugins.get_mut(id).ok_or_else(|| not_found(id))?;
        rec.status = status;
        Ok(())
    }

    /// Capabilities granted now, as sent in the `welcome`.
    ///
    /// # Errors
    /// `NOT_FOUND` for an id that is not installed.
    pub fn grants(&self, id: &str) -> Result<Vec<String>, WardenError> {
        self.record(id).map(|r| r.grants.clone())
    }

    /// Handle one message from a plugin's port (JSON text; `None` when it could not be
    /// serialized). Answers the reply to send, if any.
    pub fn handle(&mut self, id: &str, message: Option<&str>) -> Option<String> {
        let value: serde_json::Value = serde_json::from_str(message?).ok()?;
        let call_id = value.get("id")?.as_u64()?;
        let method = value.get("method").and_then(|m| m.as_str()).unwrap_or("");
        let reply = match method {
            "permissions.list" => match self.grants(id) {
                Ok(g) => serde_json::json!({"v": 1, "id": call_id, "ok": true, "value": g}),
                Err(e) => error_reply(call_id, &e),
            },
            other => error_reply(
                call_id,
                &WardenError::new(
                    ErrorCode::NotImplemented,
                    format!("method {other:?} is not implemented yet"),
                ),
            ),
        };
        Some(reply.to_string())
    }

    fn record(&self, id: &str) -> Result<&Record, WardenError> {
        self.plugins.get(id).ok_or_else(|| not_found(id))
    }
}

fn error_reply(id: u64, e: &WardenError) -> serde_json::Value {
    serde_json::json!({"v": 1, "id": id, "ok": false, "error": e})
}

fn not_found(id: &str) -> WardenError {
    WardenError::new(
        ErrorCode::NotFound,
        format!("no plugin {id:?} is installed"),
    )
}
