//! `localStorage` / `sessionStorage` as a [`StorageBackend`].

use wasm_bindgen::JsCast;

use super::sys::describe;
use crate::core::storage::{BackendError, StorageBackend};

/// A Web Storage area (`localStorage` or `sessionStorage`).
pub(crate) struct WebStorage {
    area: web_sys::Storage,
}

impl WebStorage {
    /// Open `"local"` or `"session"` storage.
    pub(crate) fn open(kind: &str) -> Result<WebStorage, String> {
        let win = web_sys::window().ok_or("no window")?;
        let area = match kind {
            "local" => win.local_storage(),
            "session" => win.session_storage(),
            other => {
                return Err(format!(
                    "storage: expected \"local\", \"session\" or \"memory\", found {other:?}"
                ))
            }
        }
        .map_err(|e| format!("{kind}Storage is not available: {}", describe(&e)))?
        .ok_or_else(|| format!("{kind}Storage is not available"))?;
        Ok(WebStorage { area })
    }
}

fn failure(e: wasm_bindgen::JsValue) -> BackendError {
    // Browsers throw a DOMException named QuotaExceededError when the origin's quota is full.
    let quota = e
        .dyn_ref::<web_sys::DomException>()
        .is_some_and(|d| d.name() == "QuotaExceededError" || d.code() == 22);
    if quota {
        BackendError::QuotaExceeded(describe(&e))
    } else {
        BackendError::Failure(describe(&e))
    }
}

impl StorageBackend for WebStorage {
    fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
        self.area.get_item(key).map_err(failure)
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), BackendError> {
        self.area.set_item(key, value).map_err(failure)
    }
    fn remove(&mut self, key: &str) -> Result<(), BackendError> {
        self.area.remove_item(key).map_err(failure)
    }
    fn keys(&self) -> Result<Vec<String>, BackendError> {
        let n = self.area.length().map_err(failure)?;
        let mut keys = Vec::with_capacity(n as usize);
        for i in 0..n {
            if let Some(k) = self.area.key(i).map_err(failure)? {
                keys.push(k);
            }
        }
        Ok(keys)
    }
}
