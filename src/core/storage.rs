//! Per-plugin key-value storage over a [`StorageBackend`] (the browser's `localStorage` or
//! `sessionStorage` in `web`, [`MemoryBackend`] here and in tests).
//!
//! # Security
//!
//! Every plugin key lives in the backend under an encoded key
//! `pw1:<byte length of plugin id>:<plugin id>:<key>`. The encoding is injective (the length
//! says where the plugin id ends, so the rest is the key) and the per-plugin prefixes are
//! prefix-free (two different plugins' prefixes differ at or before the `:` that ends the
//! length), so:
//! - plugin `a` key `b:c`, plugin `a:b` key `c` and plugin `a-b` can never collide;
//! - a plugin reaches only keys under its own prefix: reading another plugin's key is
//!   impossible by construction, there is no way to name it;
//! - the host's own keys (anything not starting with `pw1:`) are never listed, counted or
//!   cleared.
//!
//! A missing key reads as `Ok(None)`; validation errors depend only on the key given, never on
//! what is stored, so no answer reveals whether another plugin's data exists.

use crate::core::collections::SortedMap;

use thiserror::Error;

use super::error::{Coded, ErrorCode};
use super::protocol::JsonText;

pub mod deferred;

/// The version tag every encoded key starts with.
pub const KEY_PREFIX: &str = "pw1:";

/// A failure reported by a [`StorageBackend`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendError {
    /// The backend is full (the browser's `QuotaExceededError`). A backend reporting this has
    /// not changed anything.
    #[error("the storage backend is full: {0}")]
    QuotaExceeded(String),
    /// Any other failure (storage disabled, a security error, a serialization failure).
    #[error("the storage backend failed: {0}")]
    Failure(String),
}

impl Coded for BackendError {
    fn code(&self) -> ErrorCode {
        match self {
            BackendError::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            BackendError::Failure(_) => ErrorCode::Internal,
        }
    }
}

/// A string key-value store shared by the host and every plugin (`localStorage`-like).
///
/// Implementations must leave the previous state intact when `set` fails (as
/// `localStorage.setItem` does when it throws). [`NamespacedStore`] also checks and repairs
/// that after a failed `set`, but cannot do so if the backend keeps failing.
pub trait StorageBackend {
    /// The value stored under `key`, if any.
    ///
    /// # Errors
    /// [`BackendError::Failure`] when the backend cannot be read.
    fn get(&self, key: &str) -> Result<Option<String>, BackendError>;
    /// Store `value` under `key`, replacing any previous value.
    ///
    /// # Errors
    /// [`BackendError::QuotaExceeded`] when the backend is full, [`BackendError::Failure`]
    /// otherwise.
    fn set(&mut self, key: &str, value: &str) -> Result<(), BackendError>;
    /// Remove `key`; removing a missing key succeeds.
    ///
    /// # Errors
    /// [`BackendError::Failure`] when the backend cannot be written.
    fn remove(&mut self, key: &str) -> Result<(), BackendError>;
    /// Every key in the backend, the host's and every plugin's.
    ///
    /// # Errors
    /// [`BackendError::Failure`] when the backend cannot be read.
    fn keys(&self) -> Result<Vec<String>, BackendError>;

    /// Whether the layer that posts replies can read this backend's values itself (the
    /// browser's Web Storage, or a JS `Map`): the engine then answers a `storage.get` with a
    /// plan ([`deferred::StoragePlan::Get`], after every check it makes for any call) and the
    /// value goes from the backend to the plugin without its text crossing into the core and
    /// back (docs/benchmarks.md: at 64 KiB those two copies were most of the host's time).
    /// The layer reading it must refuse a value that is not one JSON value with the
    /// [`StorageError::Corrupt`] answer, as [`NamespacedStore::get_text`] does. Default: no.
    fn read_by_caller(&self) -> bool {
        false
    }
}

/// A boxed backend is a backend, so a host can choose one at run time.
impl<T: StorageBackend + ?Sized> StorageBackend for Box<T> {
    fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
        (**self).get(key)
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), BackendError> {
        (**self).set(key, value)
    }
    fn remove(&mut self, key: &str) -> Result<(), BackendError> {
        (**self).remove(key)
    }
    fn keys(&self) -> Result<Vec<String>, BackendError> {
        (**self).keys()
    }
    fn read_by_caller(&self) -> bool {
        (**self).read_by_caller()
    }
}

/// An in-memory [`StorageBackend`], with an optional capacity in bytes (key + value, UTF-8)
/// to simulate the browser's quota.
///
/// ```
/// use plugin_warden::core::storage::{BackendError, MemoryBackend, StorageBackend};
/// let mut b = MemoryBackend::with_capacity_bytes(8);
/// b.set("k", "1234567").unwrap();                      // 1 + 7 bytes: full
/// assert!(matches!(b.set("k2", "x"), Err(BackendError::QuotaExceeded(_))));
/// assert_eq!(b.get("k").unwrap().as_deref(), Some("1234567"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryBackend {
    entries: SortedMap<String, String>,
    capacity_bytes: Option<usize>,
    used_bytes: usize,
}

impl MemoryBackend {
    /// An empty backend without a capacity limit.
    pub fn new() -> Self {
        MemoryBackend::default()
    }

    /// An empty backend that refuses writes beyond `capacity` bytes (key + value, all keys).
    pub fn with_capacity_bytes(capacity: usize) -> Self {
        MemoryBackend {
            capacity_bytes: Some(capacity),
            ..MemoryBackend::default()
        }
    }

    /// Bytes in use (key + value over all keys).
    pub fn used_bytes(&self) -> usize {
        self.used_bytes
    }

    /// Number of keys stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl StorageBackend for MemoryBackend {
    fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
        Ok(self.entries.get(key).cloned())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), BackendError> {
        let old = self
            .entries
            .get(key)
            .map_or(0, |v| key.len().saturating_add(v.len()));
        let new_used = self
            .used_bytes
            .saturating_sub(old)
            .saturating_add(key.len())
            .saturating_add(value.len());
        if let Some(cap) = self.capacity_bytes {
            if new_used > cap {
                return Err(BackendError::QuotaExceeded(format!(
                    "{new_used} bytes needed, capacity {cap}"
                )));
            }
        }
        self.entries.insert(key.to_owned(), value.to_owned());
        self.used_bytes = new_used;
        Ok(())
    }

    fn remove(&mut self, key: &str) -> Result<(), BackendError> {
        if let Some(v) = self.entries.remove(key) {
            self.used_bytes = self
                .used_bytes
                .saturating_sub(key.len().saturating_add(v.len()));
        }
        Ok(())
    }

    fn keys(&self) -> Result<Vec<String>, BackendError> {
        Ok(self.entries.keys().cloned().collect())
    }
}

/// The default per-plugin quota with `storage: 'indexeddb'` (10 MiB): IndexedDB's origin
/// quota is a share of the disk, where `localStorage` holds about 5 MiB per origin in all.
pub const INDEXEDDB_QUOTA_BYTES: usize = 10 * 1024 * 1024;

/// Size limits of a [`NamespacedStore`] (DESIGN.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageLimits {
    /// Largest key, in UTF-8 bytes (default 256).
    pub max_key_bytes: usize,
    /// Largest value as JSON text, in UTF-8 bytes (default 65 536).
    pub max_value_bytes: usize,
    /// Key + JSON value bytes one plugin may hold in total (default 1 MiB).
    pub quota_bytes_per_plugin: usize,
}

impl Default for StorageLimits {
    fn default() -> Self {
        StorageLimits {
            max_key_bytes: 256,
            max_value_bytes: 65_536,
            quota_bytes_per_plugin: 1_048_576,
        }
    }
}

/// Why a storage operation failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageError {
    /// The plugin id given by the host is empty (`INVALID_ARGUMENT`).
    #[error("the plugin id is empty; expected the id of an installed plugin")]
    InvalidPlugin,
    /// The key is empty (`MESSAGE_REJECTED`).
    #[error("the storage key is empty; expected 1 to {max} bytes")]
    EmptyKey {
        /// The key limit.
        max: usize,
    },
    /// The key is longer than the limit (`QUOTA_EXCEEDED`).
    #[error("the storage key is {bytes} bytes; the limit is {max}")]
    KeyTooLarge {
        /// Bytes found.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The value's JSON text is longer than the limit (`QUOTA_EXCEEDED`).
    #[error("the value for key {key:?} is {bytes} bytes of JSON; the limit is {max}")]
    ValueTooLarge {
        /// The key written.
        key: String,
        /// Bytes found.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The write would take the plugin over its quota; nothing was written (`QUOTA_EXCEEDED`).
    #[error("writing key {key:?} would use {needed} bytes; the plugin's quota is {quota}")]
    QuotaExceeded {
        /// The key written.
        key: String,
        /// The plugin's usage after the write.
        needed: usize,
        /// The quota.
        quota: usize,
    },
    /// The backend is full (the browser's quota); the previous value is intact
    /// (`QUOTA_EXCEEDED`).
    #[error("the browser's storage is full; key {key:?} was not written")]
    BackendFull {
        /// The key written.
        key: String,
    },
    /// A stored value is not valid JSON (`INTERNAL`).
    #[error("the stored value for key {key:?} is not valid JSON")]
    Corrupt {
        /// The key read.
        key: String,
    },
    /// The backend failed (`INTERNAL`).
    #[error("{0}")]
    Backend(BackendError),
    /// An encrypted value does not open under the plugin's key with its backend key as
    /// additional data: altered, truncated, or moved from another key or plugin
    /// (`INTEGRITY_MISMATCH`). Nothing of it reaches the plugin.
    #[error("the stored value does not verify ({reason}); it was altered or moved")]
    Tampered {
        /// What failed.
        reason: String,
    },
}

impl Coded for StorageError {
    fn code(&self) -> ErrorCode {
        match self {
            StorageError::InvalidPlugin => ErrorCode::InvalidArgument,
            StorageError::EmptyKey { .. } => ErrorCode::MessageRejected,
            StorageError::KeyTooLarge { .. }
            | StorageError::ValueTooLarge { .. }
            | StorageError::QuotaExceeded { .. }
            | StorageError::BackendFull { .. } => ErrorCode::QuotaExceeded,
            StorageError::Corrupt { .. } | StorageError::Backend(_) => ErrorCode::Internal,
            StorageError::Tampered { .. } => ErrorCode::IntegrityMismatch,
        }
    }
}

impl From<BackendError> for StorageError {
    fn from(e: BackendError) -> Self {
        StorageError::Backend(e)
    }
}

/// The backend key prefix of one plugin's namespace: `pw1:<len>:<plugin>:`.
///
/// ```
/// use plugin_warden::core::storage::namespace_prefix;
/// assert_eq!(namespace_prefix("a"), "pw1:1:a:");
/// assert_eq!(namespace_prefix("a:b"), "pw1:3:a:b:");
/// ```
pub fn namespace_prefix(plugin: &str) -> String {
    // Written out rather than with `format!`, which is most of a `storage.get`'s key (a call's
    // path: every storage call builds one).
    let mut s = String::with_capacity(KEY_PREFIX.len() + 4 + plugin.len() + 2);
    s.push_str(KEY_PREFIX);
    push_decimal(&mut s, plugin.len());
    s.push(':');
    s.push_str(plugin);
    s.push(':');
    s
}

/// `n` in decimal, appended to `s`.
fn push_decimal(s: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(s, n / 10);
    }
    s.push(char::from(b'0' + (n % 10) as u8));
}

/// The backend key of `key` in `plugin`'s namespace.
///
/// ```
/// use plugin_warden::core::storage::encode_key;
/// assert_eq!(encode_key("a", "b:c"), "pw1:1:a:b:c");
/// assert_eq!(encode_key("a:b", "c"), "pw1:3:a:b:c");
/// assert_ne!(encode_key("a", "b:c"), encode_key("a:b", "c"));
/// ```
pub fn encode_key(plugin: &str, key: &str) -> String {
    let mut s = namespace_prefix(plugin);
    s.push_str(key);
    s
}

/// Split a backend key into `(plugin, key)`; `None` for host keys and malformed `pw1:` keys.
/// The inverse of [`encode_key`].
///
/// ```
/// use plugin_warden::core::storage::{decode_key, encode_key};
/// assert_eq!(decode_key(&encode_key("a:b", "c")), Some(("a:b", "c")));
/// assert_eq!(decode_key("theme"), None);
/// assert_eq!(decode_key("pw1:01:a:b"), None); // not canonical
/// ```
pub fn decode_key(encoded: &str) -> Option<(&str, &str)> {
    let rest = encoded.strip_prefix(KEY_PREFIX)?;
    let (len, rest) = rest.split_once(':')?;
    let canonical = !len.is_empty()
        && len.bytes().all(|b| b.is_ascii_digit())
        && (len == "0" || !len.starts_with('0'));
    if !canonical {
        return None;
    }
    let len: usize = len.parse().ok()?;
    let plugin = rest.get(..len)?;
    let key = rest.get(len..)?.strip_prefix(':')?;
    Some((plugin, key))
}

/// Every plugin's storage over one backend, each confined to its namespace, with limits.
///
/// ```
/// use plugin_warden::core::storage::{MemoryBackend, NamespacedStore, StorageLimits};
/// use serde_json::json;
/// let mut store = NamespacedStore::new(MemoryBackend::new(), StorageLimits::default());
/// store.set("acme-app", "prefs", &json!({"theme": "dark"})).unwrap();
/// assert_eq!(store.get("acme-app", "prefs").unwrap(), Some(json!({"theme": "dark"})));
/// assert_eq!(store.get("other-app", "prefs").unwrap(), None);
/// assert_eq!(store.keys("acme-app").unwrap(), vec!["prefs".to_owned()]);
/// ```
#[derive(Debug)]
pub struct NamespacedStore<B: StorageBackend> {
    backend: B,
    limits: StorageLimits,
    /// Bytes used per plugin, filled lazily by a scan and kept up to date by our own writes.
    usage: SortedMap<String, usize>,
}

/// A write [`NamespacedStore::check_set`] checked, for [`NamespacedStore::write`] to make.
#[derive(Debug)]
pub struct Write {
    encoded: String,
    text: String,
    old: Option<String>,
    needed: usize,
}

impl<B: StorageBackend> NamespacedStore<B> {
    /// A store over `backend` with `limits`.
    pub fn new(backend: B, limits: StorageLimits) -> Self {
        NamespacedStore {
            backend,
            limits,
            usage: SortedMap::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> StorageLimits {
        self.limits
    }

    /// The backend, read-only.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The backend back.
    pub fn into_backend(self) -> B {
        self.backend
    }

    /// Forget cached usage totals, so the next quota check rescans the backend.
    ///
    /// Call it when the backend changed behind this store's back — in the browser, on a
    /// `storage` event from another tab.
    pub fn invalidate_usage(&mut self) {
        self.usage.clear();
    }

    /// The JSON value `plugin` stored under `key`, or `Ok(None)`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for an empty plugin id, `MESSAGE_REJECTED`/`QUOTA_EXCEEDED` for an
    /// empty or too long key (checked before any lookup), `INTERNAL` when the backend fails or
    /// the stored text is not JSON.
    ///
    /// # Security
    /// Only `plugin`'s own namespace is read, and a missing key is `Ok(None)`, never an error.
    pub fn get(&self, plugin: &str, key: &str) -> Result<Option<serde_json::Value>, StorageError> {
        self.check_key(plugin, key)?;
        match self.backend.get(&encode_key(plugin, key))? {
            None => Ok(None),
            Some(text) => crate::core::json::parse_value(&text)
                .map(Some)
                .map_err(|_| StorageError::Corrupt {
                    key: key.to_owned(),
                }),
        }
    }

    /// Like [`get`](Self::get), but the stored JSON text itself, checked to be one JSON value
    /// and never turned into a `Value` and back: a reply can carry it as it is
    /// ([`Reply::ok_text`](super::protocol::Reply::ok_text)). What is stored was written by
    /// [`set`](Self::set), which checked the value.
    ///
    /// ```
    /// use plugin_warden::core::storage::{MemoryBackend, NamespacedStore, StorageLimits};
    /// let mut store = NamespacedStore::new(MemoryBackend::new(), StorageLimits::default());
    /// store.set("p1", "k", &serde_json::json!({"b": [1, 2]})).unwrap();
    /// assert_eq!(store.get_text("p1", "k").unwrap().unwrap().as_str(), r#"{"b":[1,2]}"#);
    /// assert!(store.get_text("p1", "missing").unwrap().is_none());
    /// ```
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn get_text(&self, plugin: &str, key: &str) -> Result<Option<JsonText>, StorageError> {
        self.check_key(plugin, key)?;
        match self.backend.get(&encode_key(plugin, key))? {
            None => Ok(None),
            Some(text) => JsonText::new(text)
                .map(Some)
                .map_err(|_| StorageError::Corrupt {
                    key: key.to_owned(),
                }),
        }
    }

    /// Store `value` (as JSON text) under `key` in `plugin`'s namespace.
    ///
    /// # Errors
    /// As [`NamespacedStore::get`] for the plugin and key; `QUOTA_EXCEEDED` when the JSON is
    /// over `max_value_bytes`, when the plugin would go over `quota_bytes_per_plugin` (key +
    /// JSON bytes of its namespace), or when the backend is full; `INTERNAL` when the backend
    /// fails.
    ///
    /// # Security
    /// Nothing is half-written: limits are checked before writing, and if the backend write
    /// fails the previous value is still (or again) in place.
    ///
    /// ```
    /// use plugin_warden::core::storage::{MemoryBackend, NamespacedStore, StorageLimits};
    /// use plugin_warden::core::error::{Coded, ErrorCode};
    /// use serde_json::json;
    /// let limits = StorageLimits { quota_bytes_per_plugin: 16, ..StorageLimits::default() };
    /// let mut store = NamespacedStore::new(MemoryBackend::new(), limits);
    /// store.set("p1", "k", &json!("small")).unwrap();
    /// let err = store.set("p1", "k", &json!("far too large for sixteen")).unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::QuotaExceeded);
    /// assert_eq!(store.get("p1", "k").unwrap(), Some(json!("small")));
    /// ```
    pub fn set(
        &mut self,
        plugin: &str,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), StorageError> {
        let write = self.check_set(plugin, key, value)?;
        self.write(plugin, key, write)
    }

    /// Everything [`set`](Self::set) checks before it writes, by reading alone: the write it
    /// would make, or why it would refuse it. [`write`](Self::write) then makes it, as long as
    /// nothing changed the store in between.
    ///
    /// # Errors
    /// As [`set`](Self::set), but for the backend's own write.
    pub fn check_set(
        &self,
        plugin: &str,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<Write, StorageError> {
        self.check_key(plugin, key)?;
        let text = value_text(&self.limits, key, value)?;
        let encoded = encode_key(plugin, key);
        let old = self.backend.get(&encoded)?;
        let old_bytes = old.as_ref().map_or(0, |v| entry_bytes(key, v));
        let new_bytes = entry_bytes(key, &text);
        let used = self.used(plugin)?;
        let needed = used.saturating_sub(old_bytes).saturating_add(new_bytes);
        if needed > self.limits.quota_bytes_per_plugin {
            return Err(StorageError::QuotaExceeded {
                key: key.to_owned(),
                needed,
                quota: self.limits.quota_bytes_per_plugin,
            });
        }
        Ok(Write {
            encoded,
            text,
            old,
            needed,
        })
    }

    /// Make the write [`check_set`](Self::check_set) checked of `key` by `plugin`.
    ///
    /// # Errors
    /// `QUOTA_EXCEEDED` when the backend is full, `INTERNAL` when it fails; the previous value
    /// is then still (or again) in place.
    pub fn write(&mut self, plugin: &str, key: &str, write: Write) -> Result<(), StorageError> {
        let Write {
            encoded,
            text,
            old,
            needed,
        } = write;
        if let Err(e) = self.backend.set(&encoded, &text) {
            self.restore(plugin, &encoded, old.as_deref());
            return Err(match e {
                BackendError::QuotaExceeded(_) => StorageError::BackendFull {
                    key: key.to_owned(),
                },
                other => StorageError::Backend(other),
            });
        }
        self.usage.insert(plugin.to_owned(), needed);
        Ok(())
    }

    /// Remove `key` from `plugin`'s namespace; removing a missing key succeeds.
    ///
    /// # Errors
    /// As [`NamespacedStore::get`] for the plugin and key; `INTERNAL` when the backend fails.
    pub fn remove(&mut self, plugin: &str, key: &str) -> Result<(), StorageError> {
        self.check_key(plugin, key)?;
        let encoded = encode_key(plugin, key);
        let old = self.backend.get(&encoded)?;
        if let Err(e) = self.backend.remove(&encoded) {
            self.usage.remove(plugin);
            return Err(e.into());
        }
        if let (Some(old), Some(used)) = (old, self.usage.get_mut(plugin)) {
            *used = used.saturating_sub(entry_bytes(key, &old));
        }
        Ok(())
    }

    /// The keys of `plugin`'s namespace, decoded, sorted.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for an empty plugin id, `INTERNAL` when the backend fails.
    pub fn keys(&self, plugin: &str) -> Result<Vec<String>, StorageError> {
        check_plugin(plugin)?;
        let prefix = namespace_prefix(plugin);
        let mut keys: Vec<String> = self
            .backend
            .keys()?
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(str::to_owned)
            .collect();
        crate::core::collections::sort_by(&mut keys, |a, b| a < b);
        Ok(keys)
    }

    /// Remove every key of `plugin`'s namespace (the plugin's `storage.clear`).
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for an empty plugin id, `INTERNAL` when the backend fails (keys
    /// removed before the failure stay removed).
    ///
    /// # Security
    /// Host keys and other plugins' keys are never touched.
    pub fn clear(&mut self, plugin: &str) -> Result<(), StorageError> {
        self.remove_namespace(plugin)?;
        self.usage.insert(plugin.to_owned(), 0);
        Ok(())
    }

    /// Remove every key of `plugin`'s namespace and forget its bookkeeping (uninstall).
    /// Returns how many keys were removed.
    ///
    /// # Errors
    /// As [`NamespacedStore::clear`].
    pub fn remove_all(&mut self, plugin: &str) -> Result<usize, StorageError> {
        let removed = self.remove_namespace(plugin)?;
        self.usage.remove(plugin);
        Ok(removed)
    }

    /// Bytes `plugin` uses: key + JSON value bytes over its namespace (the encoded prefix is
    /// not counted). Cached per plugin; the first call after [`NamespacedStore::invalidate_usage`]
    /// scans the backend.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for an empty plugin id, `INTERNAL` when the backend fails. A failure
    /// is an error, not 0, so a broken backend never lets a plugin past its quota.
    pub fn usage(&mut self, plugin: &str) -> Result<usize, StorageError> {
        let used = self.used(plugin)?;
        self.usage.insert(plugin.to_owned(), used);
        Ok(used)
    }

    /// [`usage`](Self::usage), by reading alone: a scan is not kept.
    fn used(&self, plugin: &str) -> Result<usize, StorageError> {
        check_plugin(plugin)?;
        if let Some(used) = self.usage.get(plugin) {
            return Ok(*used);
        }
        let prefix = namespace_prefix(plugin);
        let mut used = 0usize;
        for encoded in self.backend.keys()? {
            if let Some(key) = encoded.strip_prefix(&prefix) {
                if let Some(value) = self.backend.get(&encoded)? {
                    used = used.saturating_add(entry_bytes(key, &value));
                }
            }
        }
        Ok(used)
    }

    /// The plugin id and key limits every call on a key checks first.
    ///
    /// # Errors
    /// As [`NamespacedStore::get`] for the plugin and key.
    pub fn check_key(&self, plugin: &str, key: &str) -> Result<(), StorageError> {
        check_key(&self.limits, plugin, key)
    }

    fn remove_namespace(&mut self, plugin: &str) -> Result<usize, StorageError> {
        check_plugin(plugin)?;
        let prefix = namespace_prefix(plugin);
        let mut removed = 0;
        for encoded in self.backend.keys()? {
            if encoded.starts_with(&prefix) {
                if let Err(e) = self.backend.remove(&encoded) {
                    self.usage.remove(plugin);
                    return Err(e.into());
                }
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// After a failed write, make sure the previous value is in place; if that cannot be
    /// verified, forget the cached usage so the next check rescans.
    fn restore(&mut self, plugin: &str, encoded: &str, old: Option<&str>) {
        let intact = match self.backend.get(encoded) {
            Ok(now) => now.as_deref() == old,
            Err(_) => false,
        };
        if !intact {
            // Best effort: the original error is what the caller reports.
            let _ = match old {
                Some(v) => self.backend.set(encoded, v),
                None => self.backend.remove(encoded),
            };
            self.usage.remove(plugin);
        }
    }
}

/// The plugin id and key limits, checked before any lookup.
fn check_key(limits: &StorageLimits, plugin: &str, key: &str) -> Result<(), StorageError> {
    check_plugin(plugin)?;
    if key.is_empty() {
        return Err(StorageError::EmptyKey {
            max: limits.max_key_bytes,
        });
    }
    if key.len() > limits.max_key_bytes {
        return Err(StorageError::KeyTooLarge {
            bytes: key.len(),
            max: limits.max_key_bytes,
        });
    }
    Ok(())
}

/// `value` as JSON text, within the value limit.
fn value_text(
    limits: &StorageLimits,
    key: &str,
    value: &serde_json::Value,
) -> Result<String, StorageError> {
    let text = serde_json::to_string(value).map_err(|e| {
        StorageError::Backend(BackendError::Failure(format!("serializing the value: {e}")))
    })?;
    if text.len() > limits.max_value_bytes {
        return Err(StorageError::ValueTooLarge {
            key: key.to_owned(),
            bytes: text.len(),
            max: limits.max_value_bytes,
        });
    }
    Ok(text)
}

fn check_plugin(plugin: &str) -> Result<(), StorageError> {
    if plugin.is_empty() {
        return Err(StorageError::InvalidPlugin);
    }
    Ok(())
}

fn entry_bytes(key: &str, value: &str) -> usize {
    key.len().saturating_add(value.len())
}
