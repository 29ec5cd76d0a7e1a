//! Storage on asynchronous backends (IndexedDB, and any backend with `encrypt: true`, since
//! WebCrypto is asynchronous): the core plans each call, the browser performs the plan, and
//! the core finishes it. Every decision stays here; the browser only moves bytes.
//!
//! # The executor's contract
//!
//! An executor keeps, per backend key ([`encode_key`], the same namespacing as the
//! synchronous store), a record `{ value, bytes }` (`bytes` = key + JSON bytes of the
//! plaintext, whatever the stored form), and per namespace ([`namespace_prefix`]) one usage
//! record: the sum of its records' `bytes`. It performs:
//!
//! - [`StoragePlan::Get`]: read the record, hand its value to [`StoragePlan::finish_get`].
//! - [`StoragePlan::Set`]: in **one transaction**, read the namespace's usage and the old
//!   record's `bytes`, ask [`SetPlan::admit`] (which refuses over the quota), then write the
//!   record and the new usage together. If anything fails the transaction aborts: nothing is
//!   half-written, the usage never disagrees with the records.
//! - [`StoragePlan::Remove`]: in one transaction, delete the record and subtract its `bytes`.
//! - [`StoragePlan::Keys`] / [`StoragePlan::Clear`]: list / delete the namespace's records
//!   (and reset its usage), in one transaction.
//!
//! Because the usage is stored with the data, every tab sees one count: the quota holds
//! across tabs without any cache to invalidate.
//!
//! # Encryption
//!
//! With `encrypt: true` the browser seals each value with AES-GCM under the plugin's
//! non-extractable key, with the backend key ([`StoragePlan::aad`]) as additional data, so a
//! ciphertext moved to another key or another plugin's namespace does not open. A value that
//! does not open is [`StorageError::Tampered`] (`INTEGRITY_MISMATCH`), never handed to the
//! plugin. The sealed form is [`Sealed`].

use base64::Engine as _;
use serde_json::Value;

use super::{encode_key, entry_bytes, namespace_prefix, StorageError, StorageLimits};

/// One planned storage call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoragePlan {
    /// Read one key.
    Get {
        /// The plugin's key (for messages).
        key: String,
        /// The backend key.
        encoded: String,
    },
    /// Write one key (see [`SetPlan`]).
    Set(SetPlan),
    /// Delete one key.
    Remove {
        /// The backend key.
        encoded: String,
    },
    /// List the namespace's keys.
    Keys {
        /// The namespace prefix; the plugin's keys are what follows it.
        prefix: String,
    },
    /// Delete the namespace's keys.
    Clear {
        /// The namespace prefix.
        prefix: String,
    },
}

/// A write, checked against every limit that does not need the stored state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetPlan {
    /// The plugin's key (for messages).
    pub key: String,
    /// The backend key.
    pub encoded: String,
    /// The namespace prefix (where the usage record lives).
    pub prefix: String,
    /// The value as JSON text (what is sealed when encrypting).
    pub text: String,
    /// Key + JSON bytes of the new entry.
    pub bytes: usize,
    /// The plugin's quota.
    pub quota: usize,
}

impl SetPlan {
    /// The namespace's usage after the write, given its usage and the old entry's bytes
    /// (0 when new), both read in the write's transaction.
    ///
    /// # Errors
    /// [`StorageError::QuotaExceeded`] (`QUOTA_EXCEEDED`) when the write would go over the
    /// quota: the executor aborts the transaction.
    ///
    /// ```
    /// use plugin_warden::core::storage::deferred::{plan_set, StoragePlan};
    /// use plugin_warden::core::storage::StorageLimits;
    /// let limits = StorageLimits { quota_bytes_per_plugin: 10, ..StorageLimits::default() };
    /// let plan = plan_set(&limits, "p", "k", &serde_json::json!("abcd")).unwrap(); // 1 + 6 bytes
    /// assert_eq!(plan.admit(0, 0).unwrap(), 7);
    /// assert_eq!(plan.admit(10, 7).unwrap(), 10); // replacing an entry of the same size
    /// assert!(plan.admit(4, 0).is_err());
    /// ```
    pub fn admit(&self, usage: usize, old_bytes: usize) -> Result<usize, StorageError> {
        let needed = usage.saturating_sub(old_bytes).saturating_add(self.bytes);
        if needed > self.quota {
            return Err(StorageError::QuotaExceeded {
                key: self.key.clone(),
                needed,
                quota: self.quota,
            });
        }
        Ok(needed)
    }
}

/// Plan `storage.get`.
///
/// # Errors
/// As [`super::NamespacedStore::get`] for the plugin and key.
pub fn plan_get(
    limits: &StorageLimits,
    plugin: &str,
    key: &str,
) -> Result<StoragePlan, StorageError> {
    super::check_key(limits, plugin, key)?;
    Ok(StoragePlan::Get {
        key: key.to_owned(),
        encoded: encode_key(plugin, key),
    })
}

/// Plan `storage.set`: the key and value limits are checked here, the quota by
/// [`SetPlan::admit`] inside the executor's transaction.
///
/// # Errors
/// As [`super::NamespacedStore::set`], except the quota.
pub fn plan_set(
    limits: &StorageLimits,
    plugin: &str,
    key: &str,
    value: &Value,
) -> Result<SetPlan, StorageError> {
    super::check_key(limits, plugin, key)?;
    let text = super::value_text(limits, key, value)?;
    Ok(SetPlan {
        key: key.to_owned(),
        encoded: encode_key(plugin, key),
        prefix: namespace_prefix(plugin),
        bytes: entry_bytes(key, &text),
        text,
        quota: limits.quota_bytes_per_plugin,
    })
}

/// Plan `storage.remove`.
///
/// # Errors
/// As [`super::NamespacedStore::remove`] for the plugin and key.
pub fn plan_remove(
    limits: &StorageLimits,
    plugin: &str,
    key: &str,
) -> Result<StoragePlan, StorageError> {
    super::check_key(limits, plugin, key)?;
    Ok(StoragePlan::Remove {
        encoded: encode_key(plugin, key),
    })
}

/// Plan `storage.keys` or `storage.clear` (`clear = true`).
///
/// # Errors
/// `INVALID_ARGUMENT` for an empty plugin id.
pub fn plan_namespace(plugin: &str, clear: bool) -> Result<StoragePlan, StorageError> {
    super::check_plugin(plugin)?;
    let prefix = namespace_prefix(plugin);
    Ok(if clear {
        StoragePlan::Clear { prefix }
    } else {
        StoragePlan::Keys { prefix }
    })
}

impl StoragePlan {
    /// The additional data an encrypted value is bound to: its backend key's UTF-8 bytes.
    /// `None` for plans that carry no single key.
    pub fn aad(&self) -> Option<&[u8]> {
        match self {
            StoragePlan::Get { encoded, .. } | StoragePlan::Remove { encoded } => {
                Some(encoded.as_bytes())
            }
            StoragePlan::Set(s) => Some(s.encoded.as_bytes()),
            _ => None,
        }
    }

    /// The answer to a `Get` from the stored (and, when encrypting, opened) JSON text.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] (`INTERNAL`) when the text is not JSON.
    pub fn finish_get(&self, text: Option<&str>) -> Result<Option<Value>, StorageError> {
        let key = match self {
            StoragePlan::Get { key, .. } => key.as_str(),
            _ => "",
        };
        text.map(|t| {
            crate::core::json::parse_value(t).map_err(|_| StorageError::Corrupt {
                key: key.to_owned(),
            })
        })
        .transpose()
    }
}

/// The plugin's keys from the backend keys listed under `prefix`, sorted.
pub fn finish_keys(prefix: &str, encoded: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = encoded
        .iter()
        .filter_map(|k| k.strip_prefix(prefix))
        .map(str::to_owned)
        .collect();
    crate::core::collections::sort_by(&mut keys, |a, b| a < b);
    keys
}

/// The stored form of an encrypted value in a string backend (`localStorage`):
/// `pwe1.<base64url(iv)>.<base64url(ciphertext and tag)>`; IndexedDB stores the two byte
/// arrays as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The 12-byte AES-GCM nonce.
    pub iv: Vec<u8>,
    /// Ciphertext followed by the 16-byte tag.
    pub ciphertext: Vec<u8>,
}

/// The bytes a stored entry counts against the quota in a string backend: key + plaintext
/// JSON bytes, whether the stored text is sealed (AES-GCM ciphertext is as long as its
/// plaintext, plus the 16-byte tag) or not. The same count as an unencrypted store, known
/// without decrypting.
///
/// ```
/// use plugin_warden::core::storage::deferred::{sealed_entry_bytes, Sealed};
/// let sealed = Sealed { iv: vec![0; 12], ciphertext: vec![0; 16 + 7] }.to_text();
/// assert_eq!(sealed_entry_bytes("k", &sealed), 1 + 7);
/// assert_eq!(sealed_entry_bytes("k", "\"abc\""), 1 + 5);
/// ```
pub fn sealed_entry_bytes(key: &str, stored: &str) -> usize {
    let value = Sealed::parse(stored).map_or(stored.len(), |s| s.plaintext_len());
    key.len().saturating_add(value)
}

/// The version tag of [`Sealed`]'s string form.
pub const SEALED_PREFIX: &str = "pwe1.";

impl Sealed {
    /// The plaintext's length in bytes (the ciphertext without its 16-byte tag).
    pub fn plaintext_len(&self) -> usize {
        self.ciphertext.len().saturating_sub(16)
    }

    /// The string form.
    ///
    /// ```
    /// use plugin_warden::core::storage::deferred::Sealed;
    /// let s = Sealed { iv: vec![0; 12], ciphertext: vec![1; 17] };
    /// assert_eq!(Sealed::parse(&s.to_text()).unwrap(), s);
    /// ```
    pub fn to_text(&self) -> String {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{SEALED_PREFIX}{}.{}",
            b.encode(&self.iv),
            b.encode(&self.ciphertext)
        )
    }

    /// Parse the string form.
    ///
    /// # Errors
    /// [`StorageError::Tampered`] (`INTEGRITY_MISMATCH`) for anything that is not a sealed
    /// value (a plaintext written by someone else, a truncated or altered string).
    pub fn parse(text: &str) -> Result<Sealed, StorageError> {
        let tampered = || StorageError::Tampered {
            reason: "the stored value is not a sealed value".to_owned(),
        };
        let rest = text.strip_prefix(SEALED_PREFIX).ok_or_else(tampered)?;
        let (iv, ct) = rest.split_once('.').ok_or_else(tampered)?;
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let iv = b.decode(iv).map_err(|_| tampered())?;
        let ciphertext = b.decode(ct).map_err(|_| tampered())?;
        if iv.len() != 12 || ciphertext.len() < 16 {
            return Err(tampered());
        }
        Ok(Sealed { iv, ciphertext })
    }
}
