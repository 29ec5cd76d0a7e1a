//! `localStorage` / `sessionStorage`, and a JS `Map` for `storage: 'memory'`, as
//! [`StorageBackend`]s. Their values are JS strings the browser layer reads itself for a
//! `storage.get` ([`StorageBackend::read_by_caller`], `Host::post_stored`): a value's text
//! enters wasm only when the core needs it (writes, quota counts), never to be read.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::sys::describe;
use crate::core::error::cold_text;
use crate::core::storage::{BackendError, StorageBackend};

#[wasm_bindgen]
extern "C" {
    /// A `Storage` whose `getItem` answers the JS string itself, for [`super::binary::string_of`]
    /// (web_sys's copies it into wasm by a JS loop over every character).
    type StorageArea;
    #[wasm_bindgen(method, catch, js_name = getItem)]
    fn get_item_value(this: &StorageArea, key: &str) -> Result<JsValue, JsValue>;
}

/// A Web Storage area (`localStorage` or `sessionStorage`).
pub(crate) struct WebStorage {
    area: web_sys::Storage,
}

/// `storage: 'memory'`: a JS `Map` (backend key → JSON text) in the host page's heap.
pub(crate) struct JsMemory {
    map: js_sys::Map,
}

impl JsMemory {
    pub(crate) fn new() -> JsMemory {
        JsMemory {
            map: js_sys::Map::new(),
        }
    }

    /// The map, where the browser layer reads values (`pwPostStored`).
    pub(crate) fn area(&self) -> JsValue {
        self.map.clone().into()
    }
}

impl StorageBackend for JsMemory {
    fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
        Ok(super::binary::string_of(
            &self.map.get(&JsValue::from_str(key)),
        ))
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), BackendError> {
        self.map
            .set(&JsValue::from_str(key), &JsValue::from_str(value));
        Ok(())
    }
    fn remove(&mut self, key: &str) -> Result<(), BackendError> {
        self.map.delete(&JsValue::from_str(key));
        Ok(())
    }
    fn keys(&self) -> Result<Vec<String>, BackendError> {
        // Sorted, as the in-memory backend's (a SortedMap) are.
        let mut keys: Vec<String> = self
            .map
            .keys()
            .into_iter()
            .filter_map(|k| k.ok().and_then(|k| k.as_string()))
            .collect();
        crate::core::collections::sort_by(&mut keys, |a, b| a < b);
        Ok(keys)
    }
    fn read_by_caller(&self) -> bool {
        true
    }
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
                    "storage: expected \"local\", \"session\", \"indexeddb\" or \"memory\", found {other:?}"
                ))
            }
        }
        .map_err(|e| format!("{kind}Storage is not available: {}", describe(&e)))?
        .ok_or_else(|| format!("{kind}Storage is not available"))?;
        Ok(WebStorage { area })
    }

    /// The area, where the browser layer reads values (`pwPostStored`).
    pub(crate) fn area(&self) -> JsValue {
        self.area.clone().into()
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
        self.area
            .unchecked_ref::<StorageArea>()
            .get_item_value(key)
            .map(|v| super::binary::string_of(&v))
            .map_err(failure)
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
    fn read_by_caller(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------------------------
// IndexedDB (`storage: 'indexeddb'`), optionally sealed with AES-GCM (`encrypt: true`)
// ---------------------------------------------------------------------------------------------

use std::rc::Rc;

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen_futures::JsFuture;

use crate::core::storage::deferred::{finish_keys, StoragePlan};
use crate::core::storage::{decode_key, namespace_prefix, StorageError};

#[wasm_bindgen(module = "/src/web/idb.js")]
extern "C" {
    #[wasm_bindgen(js_name = pwIdbGet)]
    fn idb_get(encoded: &str) -> Promise;
    #[wasm_bindgen(js_name = pwIdbSet)]
    fn idb_set(
        encoded: &str,
        prefix: &str,
        stored: &JsValue,
        bytes: f64,
        admit: &Closure<dyn FnMut(f64, f64) -> Result<f64, JsValue>>,
    ) -> Promise;
    #[wasm_bindgen(js_name = pwIdbRemove)]
    fn idb_remove(encoded: &str, prefix: &str) -> Promise;
    #[wasm_bindgen(js_name = pwIdbKeys)]
    fn idb_keys(prefix: &str) -> Promise;
    #[wasm_bindgen(js_name = pwIdbClear)]
    fn idb_clear(prefix: &str) -> Promise;
    #[wasm_bindgen(js_name = pwPluginKey)]
    fn plugin_key(prefix: &str) -> Promise;
    #[wasm_bindgen(js_name = pwDropKey)]
    fn drop_key(prefix: &str) -> Promise;
    #[wasm_bindgen(js_name = pwSeal)]
    fn seal(key: &JsValue, aad: &Uint8Array, text: &str) -> Promise;
    #[wasm_bindgen(js_name = pwOpen)]
    fn open_sealed(key: &JsValue, aad: &Uint8Array, stored: &JsValue) -> Promise;
}

/// Whether this browser offers IndexedDB (and, for `encrypt`, WebCrypto's `subtle`).
pub(crate) fn indexeddb_available(encrypt: bool) -> Result<(), String> {
    let win = web_sys::window().ok_or("no window")?;
    let global: &JsValue = win.as_ref();
    let idb = js_sys::Reflect::get(global, &"indexedDB".into()).unwrap_or(JsValue::UNDEFINED);
    if idb.is_undefined() || idb.is_null() {
        return Err(cold_text!(
            "storage: 'indexeddb' needs IndexedDB, which this browser does not offer here"
        )
        .to_owned());
    }
    if encrypt {
        let subtle = js_sys::Reflect::get(global, &"crypto".into())
            .and_then(|c| js_sys::Reflect::get(&c, &"subtle".into()))
            .unwrap_or(JsValue::UNDEFINED);
        if subtle.is_undefined() {
            return Err(cold_text!("encrypt: true needs WebCrypto (crypto.subtle), which only secure contexts (https:, localhost) offer").to_owned());
        }
    }
    Ok(())
}

fn backend_failure(e: JsValue) -> StorageError {
    match failure(e) {
        BackendError::QuotaExceeded(_) => StorageError::BackendFull { key: String::new() },
        other => StorageError::Backend(other),
    }
}

async fn wait(p: Promise) -> Result<JsValue, StorageError> {
    JsFuture::from(p).await.map_err(backend_failure)
}

/// The namespace a backend key belongs to.
fn prefix_of(encoded: &str) -> String {
    decode_key(encoded).map_or_else(String::new, |(plugin, _)| namespace_prefix(plugin))
}

/// Perform `plan` on IndexedDB (sealing and opening values when `encrypt`), finishing it
/// through the core: the value read (or `null`), or the coded error.
pub(crate) async fn perform(
    plan: &StoragePlan,
    encrypt: bool,
) -> Result<Option<serde_json::Value>, StorageError> {
    let aad = plan.aad().map(Uint8Array::from);
    let key = |prefix: String| async move {
        if encrypt {
            wait(plugin_key(&prefix)).await.map(Some)
        } else {
            Ok(None)
        }
    };
    match plan {
        StoragePlan::Get { encoded, .. } => {
            let stored = wait(idb_get(encoded)).await?;
            if stored.is_undefined() {
                return Ok(None);
            }
            let text = match (key(prefix_of(encoded)).await?, &aad) {
                (Some(k), Some(aad)) => JsFuture::from(open_sealed(&k, aad, &stored))
                    .await
                    .map_err(|e| StorageError::Tampered {
                        reason: super::sys::describe(&e),
                    })?
                    .as_string(),
                _ => stored.as_string(),
            };
            let Some(text) = text else {
                // A sealed record read without `encrypt`, or anything else that is not text.
                return Err(StorageError::Tampered {
                    reason: "the stored value is not JSON text".to_owned(),
                });
            };
            plan.finish_get(Some(&text))
        }
        StoragePlan::Set(set) => {
            let stored = match (key(set.prefix.clone()).await?, &aad) {
                (Some(k), Some(aad)) => wait(seal(&k, aad, &set.text)).await?,
                _ => JsValue::from_str(&set.text),
            };
            let refused: Rc<RefCell<Option<StorageError>>> = Rc::default();
            let (plan_for_admit, refused_in) = (set.clone(), refused.clone());
            let admit = Closure::<dyn FnMut(f64, f64) -> Result<f64, JsValue>>::new(
                move |usage: f64, old: f64| match plan_for_admit.admit(usage as usize, old as usize)
                {
                    Ok(next) => Ok(next as f64),
                    Err(e) => {
                        let message = e.to_string();
                        *refused_in.borrow_mut() = Some(e);
                        Err(js_sys::Error::new(&message).into())
                    }
                },
            );
            let result = JsFuture::from(idb_set(
                &set.encoded,
                &set.prefix,
                &stored,
                set.bytes as f64,
                &admit,
            ))
            .await;
            drop(admit);
            match result {
                Ok(_) => Ok(Some(serde_json::Value::Null)),
                Err(e) => {
                    Err(refused
                        .borrow_mut()
                        .take()
                        .unwrap_or_else(|| match backend_failure(e) {
                            StorageError::BackendFull { .. } => StorageError::BackendFull {
                                key: set.key.clone(),
                            },
                            other => other,
                        }))
                }
            }
        }
        StoragePlan::Remove { encoded } => {
            wait(idb_remove(encoded, &prefix_of(encoded))).await?;
            Ok(Some(serde_json::Value::Null))
        }
        StoragePlan::Keys { prefix } => {
            let keys: Vec<String> = Array::from(&wait(idb_keys(prefix)).await?)
                .iter()
                .filter_map(|k| k.as_string())
                .collect();
            Ok(Some(serde_json::json!(finish_keys(prefix, &keys))))
        }
        StoragePlan::Clear { prefix } => {
            wait(idb_clear(prefix)).await?;
            Ok(Some(serde_json::Value::Null))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sealed values in `localStorage` / `sessionStorage` (`encrypt: true`)
// ---------------------------------------------------------------------------------------------

use crate::core::storage::deferred::{sealed_entry_bytes, Sealed};

fn web_failure(e: BackendError, key: &str) -> StorageError {
    match e {
        BackendError::QuotaExceeded(_) => StorageError::BackendFull {
            key: key.to_owned(),
        },
        other => StorageError::Backend(other),
    }
}

/// Bytes of `prefix`'s namespace in `area`, counted as the core counts sealed entries.
fn sealed_usage(area: &WebStorage, prefix: &str) -> Result<usize, StorageError> {
    let mut used = 0usize;
    for encoded in area.keys()? {
        if let Some(key) = encoded.strip_prefix(prefix) {
            if let Some(v) = area.get(&encoded)? {
                used = used.saturating_add(sealed_entry_bytes(key, &v));
            }
        }
    }
    Ok(used)
}

fn bytes_of(obj: &JsValue, field: &str) -> Vec<u8> {
    js_sys::Reflect::get(obj, &field.into())
        .ok()
        .map(|v| Uint8Array::new(&v).to_vec())
        .unwrap_or_default()
}

/// Perform `plan` on the `kind` Web Storage area with every value sealed (`pwe1.…` text).
/// After the asynchronous sealing, a write is checked and made synchronously.
pub(crate) async fn perform_sealed_web(
    kind: &str,
    plan: &StoragePlan,
) -> Result<Option<serde_json::Value>, StorageError> {
    let mut area =
        WebStorage::open(kind).map_err(|m| StorageError::Backend(BackendError::Failure(m)))?;
    let aad = plan.aad().map(Uint8Array::from).unwrap_or_default();
    match plan {
        StoragePlan::Get { encoded, .. } => {
            let Some(stored) = area.get(encoded)? else {
                return Ok(None);
            };
            let sealed = Sealed::parse(&stored)?;
            let key = wait(plugin_key(&prefix_of(encoded))).await?;
            let obj = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&obj, &"iv".into(), &Uint8Array::from(&sealed.iv[..]));
            let _ = js_sys::Reflect::set(
                &obj,
                &"ct".into(),
                &Uint8Array::from(&sealed.ciphertext[..]),
            );
            let text = JsFuture::from(open_sealed(&key, &aad, &obj))
                .await
                .map_err(|e| StorageError::Tampered {
                    reason: super::sys::describe(&e),
                })?
                .as_string()
                .unwrap_or_default();
            plan.finish_get(Some(&text))
        }
        StoragePlan::Set(set) => {
            let key = wait(plugin_key(&set.prefix)).await?;
            let obj = wait(seal(&key, &aad, &set.text)).await?;
            let text = Sealed {
                iv: bytes_of(&obj, "iv"),
                ciphertext: bytes_of(&obj, "ct"),
            }
            .to_text();
            // Synchronous from here on: count, admit, write.
            let usage = sealed_usage(&area, &set.prefix)?;
            let old = area
                .get(&set.encoded)?
                .map_or(0, |v| sealed_entry_bytes(&set.key, &v));
            set.admit(usage, old)?;
            area.set(&set.encoded, &text)
                .map_err(|e| web_failure(e, &set.key))?;
            Ok(Some(serde_json::Value::Null))
        }
        StoragePlan::Remove { encoded } => {
            area.remove(encoded)?;
            Ok(Some(serde_json::Value::Null))
        }
        StoragePlan::Keys { prefix } => {
            Ok(Some(serde_json::json!(finish_keys(prefix, &area.keys()?))))
        }
        StoragePlan::Clear { prefix } => {
            for k in area.keys()? {
                if k.starts_with(prefix.as_str()) {
                    area.remove(&k)?;
                }
            }
            Ok(Some(serde_json::Value::Null))
        }
    }
}

/// Uninstall with `removeData`: delete `plugin`'s IndexedDB namespace (when `indexeddb`) and
/// its encryption key (when `encrypt`). Web Storage namespaces are removed synchronously by
/// the engine's store.
pub(crate) async fn remove_plugin_data(
    plugin: &str,
    indexeddb: bool,
    encrypt: bool,
) -> Result<(), StorageError> {
    let prefix = namespace_prefix(plugin);
    if indexeddb {
        wait(idb_clear(&prefix)).await?;
    }
    if encrypt {
        wait(drop_key(&prefix)).await?;
    }
    Ok(())
}
