//! Namespaced plugin storage: isolation, key encoding, limits, quotas and failure handling.

use plugin_warden::core::error::{Coded, ErrorCode};
use plugin_warden::core::storage::{
    decode_key, encode_key, namespace_prefix, BackendError, MemoryBackend, NamespacedStore,
    StorageBackend, StorageError, StorageLimits,
};
use serde_json::{json, Value};

mod support;

fn store() -> NamespacedStore<MemoryBackend> {
    NamespacedStore::new(MemoryBackend::new(), StorageLimits::default())
}

fn code_of(r: Result<impl std::fmt::Debug, StorageError>) -> ErrorCode {
    r.expect_err("an error").code()
}

#[test]
fn colon_and_dash_plugin_ids_never_collide() {
    let mut s = store();
    s.set("a", "b:c", &json!(1)).unwrap();
    s.set("a:b", "c", &json!(2)).unwrap();
    s.set("a-b", "c", &json!(3)).unwrap();
    s.set("a", "b-c", &json!(4)).unwrap();
    assert_eq!(s.get("a", "b:c").unwrap(), Some(json!(1)));
    assert_eq!(s.get("a:b", "c").unwrap(), Some(json!(2)));
    assert_eq!(s.get("a-b", "c").unwrap(), Some(json!(3)));
    assert_eq!(s.get("a", "b-c").unwrap(), Some(json!(4)));
    assert_eq!(s.keys("a").unwrap(), vec!["b-c", "b:c"]);
    assert_eq!(s.keys("a:b").unwrap(), vec!["c"]);
    assert_eq!(s.keys("a-b").unwrap(), vec!["c"]);
    assert_eq!(s.backend().len(), 4, "four distinct backend keys");
    assert_ne!(encode_key("a", "b:c"), encode_key("a:b", "c"));
    // lengths with more digits do not make one prefix a prefix of another
    let ten = "abcdefghij";
    assert!(!namespace_prefix(ten).starts_with(&namespace_prefix("a")));
    assert!(!namespace_prefix("a").starts_with(&namespace_prefix(ten)));
    s.clear("a").unwrap();
    assert_eq!(s.get("a:b", "c").unwrap(), Some(json!(2)));
    assert_eq!(s.get("a-b", "c").unwrap(), Some(json!(3)));
}

#[test]
fn another_plugins_key_cannot_be_named() {
    let mut s = store();
    s.set("victim", "secret", &json!("v")).unwrap();
    let victim_encoded = encode_key("victim", "secret");
    // whatever the attacker writes as a key, it is inside its own namespace
    for attempt in [
        victim_encoded.as_str(),
        "../victim/secret",
        "pw1:6:victim:secret",
        ":secret",
        "secret",
    ] {
        assert_eq!(s.get("attacker", attempt).unwrap(), None, "{attempt}");
        s.set("attacker", attempt, &json!("overwritten")).unwrap();
        s.remove("attacker", attempt).unwrap();
    }
    assert_eq!(s.get("victim", "secret").unwrap(), Some(json!("v")));
    assert_eq!(s.keys("attacker").unwrap(), Vec::<String>::new());
}

#[test]
fn host_keys_are_never_listed_counted_or_cleared() {
    let mut backend = MemoryBackend::new();
    for (k, v) in [
        ("theme", "dark"),
        ("pw1", "x"),
        ("pw1:", "x"),
        ("pw1:x:a:b", "1"),
        ("pw1:01:a:b", "1"),
        ("pw2:1:a:b", "1"),
        ("PW1:1:a:b", "1"),
    ] {
        backend.set(k, v).unwrap();
    }
    let host_keys = backend.keys().unwrap();
    let mut s = NamespacedStore::new(backend, StorageLimits::default());
    s.set("a", "b", &json!(true)).unwrap();
    assert_eq!(s.keys("a").unwrap(), vec!["b"]);
    assert_eq!(s.usage("a").unwrap(), "b".len() + "true".len());
    s.clear("a").unwrap();
    assert_eq!(s.remove_all("a").unwrap(), 0);
    let mut left = s.backend().keys().unwrap();
    left.sort();
    let mut expected = host_keys;
    expected.sort();
    assert_eq!(left, expected, "every host key survives");
    for k in &left {
        assert_eq!(decode_key(k), None, "{k} is not a plugin key");
    }
}

#[test]
fn missing_keys_read_as_none_never_as_an_error() {
    let mut s = store();
    assert_eq!(s.get("p", "nothing").unwrap(), None);
    s.set("q", "nothing", &json!(1)).unwrap();
    assert_eq!(
        s.get("p", "nothing").unwrap(),
        None,
        "another plugin's key looks missing"
    );
    s.remove("p", "nothing").unwrap();
    assert_eq!(s.get("q", "nothing").unwrap(), Some(json!(1)));
}

#[test]
fn values_round_trip_as_json() {
    let mut s = store();
    let values = [
        json!(null),
        json!(0),
        json!(-1.5),
        json!("ünïcødé \u{0} \"q\""),
        json!([1, [2, {}]]),
        json!({"a": {"b": [true, false]}}),
    ];
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{i}");
        s.set("p", &key, v).unwrap();
        assert_eq!(s.get("p", &key).unwrap().as_ref(), Some(v));
    }
    // overwrite
    s.set("p", "k0", &json!("new")).unwrap();
    assert_eq!(s.get("p", "k0").unwrap(), Some(json!("new")));
    assert_eq!(
        s.backend().get(&encode_key("p", "k0")).unwrap().as_deref(),
        Some("\"new\"")
    );
}

#[test]
fn keys_are_validated_before_any_lookup() {
    let mut s = store();
    assert_eq!(code_of(s.get("p", "")), ErrorCode::MessageRejected);
    assert_eq!(
        code_of(s.set("p", "", &json!(1))),
        ErrorCode::MessageRejected
    );
    assert_eq!(code_of(s.remove("p", "")), ErrorCode::MessageRejected);
    let max = "k".repeat(256);
    let over = "k".repeat(257);
    s.set("p", &max, &json!(1)).unwrap();
    assert_eq!(s.get("p", &max).unwrap(), Some(json!(1)));
    assert_eq!(
        code_of(s.set("p", &over, &json!(1))),
        ErrorCode::QuotaExceeded
    );
    assert_eq!(code_of(s.get("p", &over)), ErrorCode::QuotaExceeded);
    // multibyte characters count in bytes
    let multibyte = "é".repeat(129); // 258 bytes
    assert_eq!(
        code_of(s.set("p", &multibyte, &json!(1))),
        ErrorCode::QuotaExceeded
    );
    // the host passing an empty plugin id is a host bug
    assert_eq!(code_of(s.get("", "k")), ErrorCode::InvalidArgument);
    assert_eq!(code_of(s.keys("")), ErrorCode::InvalidArgument);
    assert_eq!(code_of(s.clear("")), ErrorCode::InvalidArgument);
    assert_eq!(code_of(s.usage("")), ErrorCode::InvalidArgument);
}

#[test]
fn value_size_limit_counts_json_bytes() {
    let mut s = store();
    let fits = Value::String("x".repeat(65_536 - 2)); // plus two quotes
    s.set("p", "big", &fits).unwrap();
    let over = Value::String("x".repeat(65_536 - 1));
    let err = s.set("p", "big", &over).unwrap_err();
    assert_eq!(err.code(), ErrorCode::QuotaExceeded);
    assert!(err.to_string().contains("65537"), "{err}");
    assert_eq!(s.get("p", "big").unwrap(), Some(fits), "old value intact");
}

#[test]
fn plugin_quota_counts_key_and_value_bytes_and_keeps_the_old_value() {
    let limits = StorageLimits {
        quota_bytes_per_plugin: 20,
        ..StorageLimits::default()
    };
    let mut s = NamespacedStore::new(MemoryBackend::new(), limits);
    s.set("p", "a", &json!("12345678")).unwrap(); // 1 + 10 = 11
    s.set("p", "b", &json!("123456")).unwrap(); // 1 + 8 = 9 -> 20, exactly the quota
    assert_eq!(s.usage("p").unwrap(), 20);
    let err = s.set("p", "c", &json!(1)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::QuotaExceeded);
    assert_eq!(s.get("p", "c").unwrap(), None, "nothing written");
    // growing an existing key past the quota leaves it as it was
    assert_eq!(
        code_of(s.set("p", "b", &json!("1234567"))),
        ErrorCode::QuotaExceeded
    );
    assert_eq!(s.get("p", "b").unwrap(), Some(json!("123456")));
    // shrinking is fine, and frees room
    s.set("p", "b", &json!(1)).unwrap();
    assert_eq!(s.usage("p").unwrap(), 13);
    s.set("p", "c", &json!(1234)).unwrap();
    // another plugin has its own quota
    s.set("q", "a", &json!("12345678")).unwrap();
    assert_eq!(s.usage("q").unwrap(), 11);
    // removing frees room
    s.remove("p", "a").unwrap();
    assert_eq!(s.usage("p").unwrap(), 2 + 5);
}

#[test]
fn backend_quota_maps_to_quota_exceeded_and_keeps_the_old_value() {
    let limits = StorageLimits::default();
    let cap = encode_key("p", "k").len() + "\"old\"".len() + 4;
    let mut s = NamespacedStore::new(MemoryBackend::with_capacity_bytes(cap), limits);
    s.set("p", "k", &json!("old")).unwrap();
    let err = s.set("p", "k", &json!("much longer")).unwrap_err();
    assert!(matches!(err, StorageError::BackendFull { .. }), "{err:?}");
    assert_eq!(err.code(), ErrorCode::QuotaExceeded);
    assert_eq!(s.get("p", "k").unwrap(), Some(json!("old")));
    assert_eq!(s.usage("p").unwrap(), 1 + 5);
    assert_eq!(
        code_of(s.set("p", "other", &json!(1))),
        ErrorCode::QuotaExceeded
    );
    assert_eq!(s.keys("p").unwrap(), vec!["k"]);
}

/// A backend that misbehaves on purpose: it can half-write before reporting a full quota,
/// and fail reads or writes.
#[derive(Default)]
struct FaultyBackend {
    inner: MemoryBackend,
    half_write_then_quota: bool,
    fail_writes: bool,
    fail_reads: bool,
}

impl StorageBackend for FaultyBackend {
    fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
        if self.fail_reads {
            return Err(BackendError::Failure("read refused".into()));
        }
        self.inner.get(key)
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), BackendError> {
        if self.half_write_then_quota {
            self.half_write_then_quota = false; // the repair write succeeds
            let half: String = value.chars().take(value.chars().count() / 2).collect();
            self.inner.set(key, &half)?;
            return Err(BackendError::QuotaExceeded("full".into()));
        }
        if self.fail_writes {
            return Err(BackendError::Failure("write refused".into()));
        }
        self.inner.set(key, value)
    }
    fn remove(&mut self, key: &str) -> Result<(), BackendError> {
        if self.fail_writes {
            return Err(BackendError::Failure("write refused".into()));
        }
        self.inner.remove(key)
    }
    fn keys(&self) -> Result<Vec<String>, BackendError> {
        if self.fail_reads {
            return Err(BackendError::Failure("read refused".into()));
        }
        self.inner.keys()
    }
}

fn faulty() -> NamespacedStore<FaultyBackend> {
    NamespacedStore::new(FaultyBackend::default(), StorageLimits::default())
}

#[test]
fn a_half_written_value_is_repaired() {
    let mut s = faulty();
    s.set("p", "k", &json!({"v": "old value"})).unwrap();
    s.set("p", "fresh-sibling", &json!(1)).unwrap();
    let before = s.usage("p").unwrap();
    // NamespacedStore only holds the backend by value; rebuild with the fault switched on.
    let mut backend = s.into_backend();
    backend.half_write_then_quota = true;
    let mut s = NamespacedStore::new(backend, StorageLimits::default());
    let err = s
        .set("p", "k", &json!({"v": "a new value that is longer"}))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::QuotaExceeded);
    assert_eq!(s.get("p", "k").unwrap(), Some(json!({"v": "old value"})));
    assert_eq!(s.usage("p").unwrap(), before);

    // a fresh key half-written is removed again
    let mut backend = s.into_backend();
    backend.half_write_then_quota = true;
    let mut s = NamespacedStore::new(backend, StorageLimits::default());
    assert_eq!(
        code_of(s.set("p", "new", &json!("abcdef"))),
        ErrorCode::QuotaExceeded
    );
    assert_eq!(s.get("p", "new").unwrap(), None);
    assert_eq!(s.keys("p").unwrap(), vec!["fresh-sibling", "k"]);
}

#[test]
fn backend_failures_are_internal_errors() {
    let mut s = faulty();
    s.set("p", "k", &json!(1)).unwrap();
    let mut backend = s.into_backend();
    backend.fail_writes = true;
    let mut s = NamespacedStore::new(backend, StorageLimits::default());
    assert_eq!(code_of(s.set("p", "k", &json!(2))), ErrorCode::Internal);
    assert_eq!(code_of(s.remove("p", "k")), ErrorCode::Internal);
    assert_eq!(code_of(s.clear("p")), ErrorCode::Internal);
    assert_eq!(s.get("p", "k").unwrap(), Some(json!(1)));
    let mut backend = s.into_backend();
    backend.fail_writes = false;
    backend.fail_reads = true;
    let mut s = NamespacedStore::new(backend, StorageLimits::default());
    assert_eq!(code_of(s.get("p", "k")), ErrorCode::Internal);
    assert_eq!(code_of(s.keys("p")), ErrorCode::Internal);
    assert_eq!(
        code_of(s.usage("p")),
        ErrorCode::Internal,
        "never a silent 0"
    );
    assert_eq!(code_of(s.set("p", "k", &json!(3))), ErrorCode::Internal);
}

#[test]
fn corrupt_stored_text_is_internal() {
    let mut backend = MemoryBackend::new();
    backend.set(&encode_key("p", "k"), "{not json").unwrap();
    let s = NamespacedStore::new(backend, StorageLimits::default());
    let err = s.get("p", "k").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Internal);
}

#[test]
fn clear_and_remove_all_touch_only_one_namespace() {
    let mut s = store();
    for p in ["p", "q"] {
        for k in ["a", "b", "c"] {
            s.set(p, k, &json!(k)).unwrap();
        }
    }
    s.clear("p").unwrap();
    assert!(s.keys("p").unwrap().is_empty());
    assert_eq!(s.usage("p").unwrap(), 0);
    assert_eq!(s.keys("q").unwrap(), vec!["a", "b", "c"]);
    assert_eq!(s.remove_all("q").unwrap(), 3);
    assert!(s.keys("q").unwrap().is_empty());
    assert_eq!(s.usage("q").unwrap(), 0);
    assert!(s.backend().is_empty());
}

/// Two tabs sharing one `localStorage`: both stores see the same map.
#[derive(Clone, Default)]
struct SharedBackend(std::rc::Rc<std::cell::RefCell<MemoryBackend>>);

impl StorageBackend for SharedBackend {
    fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
        self.0.borrow().get(key)
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), BackendError> {
        self.0.borrow_mut().set(key, value)
    }
    fn remove(&mut self, key: &str) -> Result<(), BackendError> {
        self.0.borrow_mut().remove(key)
    }
    fn keys(&self) -> Result<Vec<String>, BackendError> {
        self.0.borrow().keys()
    }
}

#[test]
fn usage_cache_is_rebuilt_after_invalidation() {
    let shared = SharedBackend::default();
    let limits = StorageLimits {
        quota_bytes_per_plugin: 10,
        ..StorageLimits::default()
    };
    let mut tab1 = NamespacedStore::new(shared.clone(), limits);
    let mut tab2 = NamespacedStore::new(shared, limits);
    tab1.set("p", "a", &json!(1)).unwrap();
    assert_eq!(tab1.usage("p").unwrap(), 2);
    tab2.set("p", "b", &json!(1234)).unwrap(); // tab2 scans: 2 + 5 = 7
    assert_eq!(tab2.usage("p").unwrap(), 7);
    // tab1's cache is stale until the `storage` event arrives
    assert_eq!(tab1.usage("p").unwrap(), 2);
    tab1.invalidate_usage();
    assert_eq!(tab1.usage("p").unwrap(), 7);
    assert_eq!(
        code_of(tab1.set("p", "c", &json!(123))),
        ErrorCode::QuotaExceeded
    ); // 7 + 1 + 3 > 10
    tab1.set("p", "c", &json!(12)).unwrap(); // exactly 10
}

#[cfg(not(target_arch = "wasm32"))]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn id() -> impl Strategy<Value = String> {
        "[a:b0-9é-]{0,6}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// encode_key is injective and decode_key inverts it.
        #[test]
        fn encoding_is_injective(p1 in id(), k1 in id(), p2 in id(), k2 in id()) {
            let (e1, e2) = (encode_key(&p1, &k1), encode_key(&p2, &k2));
            prop_assert_eq!(e1 == e2, p1 == p2 && k1 == k2);
            prop_assert_eq!(decode_key(&e1), Some((p1.as_str(), k1.as_str())));
        }

        /// No plugin's namespace prefix is a prefix of another plugin's.
        #[test]
        fn prefixes_are_prefix_free(p1 in id(), p2 in id()) {
            let (a, b) = (namespace_prefix(&p1), namespace_prefix(&p2));
            prop_assert_eq!(a.starts_with(&b) || b.starts_with(&a), p1 == p2);
        }

        /// After any sequence of operations the cached usage equals a fresh scan, and each
        /// plugin sees exactly the keys a model map says it has.
        #[test]
        fn cached_usage_matches_a_rescan(ops in proptest::collection::vec((0u8..4, 0usize..3, 0usize..4, 0usize..40), 0..40)) {
            let limits = StorageLimits { quota_bytes_per_plugin: 60, ..StorageLimits::default() };
            let mut s = NamespacedStore::new(MemoryBackend::new(), limits);
            let plugins = ["a", "a:b", "b"];
            let keys = ["k", "b:k", "k2", "x"];
            let mut model: std::collections::BTreeMap<(usize, usize), String> = Default::default();
            for (op, p, k, len) in ops {
                let (plugin, key) = (plugins[p], keys[k]);
                match op {
                    0 | 1 => {
                        let v = json!("v".repeat(len));
                        if s.set(plugin, key, &v).is_ok() { model.insert((p, k), v.to_string()); }
                    }
                    2 => { s.remove(plugin, key).unwrap(); model.remove(&(p, k)); }
                    _ => { s.clear(plugin).unwrap(); model.retain(|(mp, _), _| *mp != p); }
                }
            }
            for (p, plugin) in plugins.iter().enumerate() {
                let cached = s.usage(plugin).unwrap();
                prop_assert!(cached <= 60);
                let expected: usize = model.iter().filter(|((mp, _), _)| *mp == p).map(|((_, k), v)| keys[*k].len() + v.len()).sum();
                prop_assert_eq!(cached, expected);
                s.invalidate_usage();
                prop_assert_eq!(s.usage(plugin).unwrap(), expected);
                let mut listed: Vec<String> = model.keys().filter(|(mp, _)| *mp == p).map(|(_, k)| keys[*k].to_owned()).collect();
                listed.sort();
                prop_assert_eq!(s.keys(plugin).unwrap(), listed);
            }
        }
    }
}

/// Issue 15: a plugin open in two tabs must not store twice its quota. Each tab caches the
/// plugin's byte count; the other tab's writes make it stale until the `storage` event says
/// so (`Engine::storage_changed_elsewhere`, wired to the window's `storage` event).
#[test]
fn two_tabs_share_one_quota_once_told_of_each_others_writes() {
    let limits = StorageLimits {
        quota_bytes_per_plugin: 40,
        ..StorageLimits::default()
    };
    let backend = SharedBackend::default();
    let mut tab_a = NamespacedStore::new(backend.clone(), limits);
    let mut tab_b = NamespacedStore::new(backend.clone(), limits);
    let v = json!("0123456789012345678901234567"); // 30 bytes of JSON, + 2 for the key
    assert_eq!(tab_b.usage("p").unwrap(), 0); // tab B has counted (and cached) the namespace
    tab_a.set("p", "k1", &v).unwrap();
    // Without the event tab B still believes the namespace is empty and would write a second
    // 32 bytes: 64 > 40. Told, it rescans and refuses.
    tab_b.invalidate_usage();
    assert_eq!(code_of(tab_b.set("p", "k2", &v)), ErrorCode::QuotaExceeded);
    assert_eq!(tab_b.usage("p").unwrap(), 32);
    // A stale cache is the bug this guards against: shown here so the test fails without the
    // invalidation above.
    let mut stale = NamespacedStore::new(backend.clone(), limits);
    assert_eq!(stale.usage("p").unwrap(), 32);
    tab_a.remove("p", "k1").unwrap();
    stale.invalidate_usage();
    assert_eq!(stale.usage("p").unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// Asynchronous backends: the core plans, an executor performs, the core finishes. The double
// below is an in-memory IndexedDB as the executor contract describes it (records with their
// byte counts, one usage record per namespace, all-or-nothing transactions), optionally
// sealing values with a toy AEAD bound to the backend key (a stand-in for WebCrypto AES-GCM:
// the tests are about the core's handling, not about the cipher).
// ---------------------------------------------------------------------------------------------

mod deferred_double {
    use std::collections::BTreeMap;

    use plugin_warden::core::storage::deferred::{finish_keys, Sealed, StoragePlan};
    use plugin_warden::core::storage::StorageError;
    use serde_json::Value;
    use sha2::{Digest, Sha256};

    #[derive(Clone, Debug, Default)]
    pub struct Db {
        /// backend key -> (stored text, bytes)
        pub records: BTreeMap<String, (String, usize)>,
        /// namespace prefix -> bytes
        pub usage: BTreeMap<String, usize>,
        /// Per-plugin key (by namespace prefix) when encrypting.
        pub keys: BTreeMap<String, [u8; 32]>,
        pub encrypt: bool,
        /// Make the next write fail after the quota check (a transaction abort).
        pub fail_next_write: bool,
    }

    fn keystream(key: &[u8; 32], iv: &[u8], len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut counter = 0u32;
        while out.len() < len {
            let mut h = Sha256::new();
            h.update(key);
            h.update(iv);
            h.update(counter.to_be_bytes());
            out.extend_from_slice(&h.finalize());
            counter += 1;
        }
        out.truncate(len);
        out
    }

    fn tag(key: &[u8; 32], aad: &[u8], iv: &[u8], ct: &[u8]) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update(key);
        h.update((aad.len() as u64).to_be_bytes());
        h.update(aad);
        h.update(iv);
        h.update(ct);
        h.finalize()[..16].to_vec()
    }

    fn seal(key: &[u8; 32], aad: &[u8], text: &str, nonce: u8) -> String {
        let iv = vec![nonce; 12];
        let mut ct: Vec<u8> = text
            .bytes()
            .zip(keystream(key, &iv, text.len()))
            .map(|(a, b)| a ^ b)
            .collect();
        let t = tag(key, aad, &iv, &ct);
        ct.extend(t);
        Sealed { iv, ciphertext: ct }.to_text()
    }

    fn open(key: &[u8; 32], aad: &[u8], stored: &str) -> Result<String, StorageError> {
        let sealed = Sealed::parse(stored)?;
        let (ct, t) = sealed.ciphertext.split_at(sealed.ciphertext.len() - 16);
        if tag(key, aad, &sealed.iv, ct) != t {
            return Err(StorageError::Tampered {
                reason: "the tag does not verify".to_owned(),
            });
        }
        let plain: Vec<u8> = ct
            .iter()
            .zip(keystream(key, &sealed.iv, ct.len()))
            .map(|(a, b)| a ^ b)
            .collect();
        String::from_utf8(plain).map_err(|_| StorageError::Tampered {
            reason: "not UTF-8".to_owned(),
        })
    }

    fn prefix_of(encoded: &str) -> String {
        let (plugin, _) = plugin_warden::core::storage::decode_key(encoded).expect("ours");
        plugin_warden::core::storage::namespace_prefix(plugin)
    }

    impl Db {
        fn plugin_key(&mut self, prefix: &str) -> [u8; 32] {
            let n = self.keys.len() as u8 + 1;
            *self.keys.entry(prefix.to_owned()).or_insert([n; 32])
        }

        /// Perform `plan` as the browser would, and finish it through the core.
        pub fn run(&mut self, plan: &StoragePlan) -> Result<Value, StorageError> {
            match plan {
                StoragePlan::Get { encoded, .. } => {
                    let stored = self.records.get(encoded).map(|r| r.0.clone());
                    let text = match (stored, self.encrypt) {
                        (Some(s), true) => {
                            let k = self.plugin_key(&prefix_of(encoded));
                            Some(open(&k, plan.aad().unwrap_or(&[]), &s)?)
                        }
                        (s, _) => s,
                    };
                    Ok(plan.finish_get(text.as_deref())?.unwrap_or(Value::Null))
                }
                StoragePlan::Set(set) => {
                    let stored = if self.encrypt {
                        let k = self.plugin_key(&set.prefix);
                        seal(
                            &k,
                            set.encoded.as_bytes(),
                            &set.text,
                            self.records.len() as u8,
                        )
                    } else {
                        set.text.clone()
                    };
                    // One transaction: read usage and the old entry, admit, write both.
                    let snapshot = (self.records.clone(), self.usage.clone());
                    let usage = self.usage.get(&set.prefix).copied().unwrap_or(0);
                    let old = self.records.get(&set.encoded).map_or(0, |r| r.1);
                    let new_usage = set.admit(usage, old)?;
                    self.records
                        .insert(set.encoded.clone(), (stored, set.bytes));
                    if std::mem::take(&mut self.fail_next_write) {
                        (self.records, self.usage) = snapshot; // the transaction aborts
                        return Err(StorageError::BackendFull {
                            key: set.key.clone(),
                        });
                    }
                    self.usage.insert(set.prefix.clone(), new_usage);
                    Ok(Value::Null)
                }
                StoragePlan::Remove { encoded } => {
                    if let Some((_, bytes)) = self.records.remove(encoded) {
                        let u = self.usage.entry(prefix_of(encoded)).or_insert(0);
                        *u = u.saturating_sub(bytes);
                    }
                    Ok(Value::Null)
                }
                StoragePlan::Keys { prefix } => {
                    let all: Vec<String> = self.records.keys().cloned().collect();
                    Ok(serde_json::json!(finish_keys(prefix, &all)))
                }
                StoragePlan::Clear { prefix } => {
                    self.records.retain(|k, _| !k.starts_with(prefix.as_str()));
                    self.usage.insert(prefix.clone(), 0);
                    Ok(Value::Null)
                }
            }
        }

        /// Usage records agree with the records they count.
        pub fn consistent(&self) -> bool {
            self.usage.iter().all(|(prefix, used)| {
                let sum: usize = self
                    .records
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix.as_str()))
                    .map(|(_, r)| r.1)
                    .sum();
                sum == *used
            })
        }
    }
}

mod deferred_tests {
    use super::deferred_double::Db;
    use super::*;
    use plugin_warden::core::storage::deferred::{
        plan_get, plan_namespace, plan_remove, plan_set, Sealed, StoragePlan,
    };

    fn limits(quota: usize) -> StorageLimits {
        StorageLimits {
            quota_bytes_per_plugin: quota,
            ..StorageLimits::default()
        }
    }

    fn set(
        db: &mut Db,
        l: &StorageLimits,
        plugin: &str,
        key: &str,
        v: Value,
    ) -> Result<Value, StorageError> {
        db.run(&StoragePlan::Set(plan_set(l, plugin, key, &v)?))
    }

    fn get(db: &mut Db, l: &StorageLimits, plugin: &str, key: &str) -> Result<Value, StorageError> {
        db.run(&plan_get(l, plugin, key)?)
    }

    #[test]
    fn round_trip_keys_remove_and_clear_plain_and_encrypted() {
        for encrypt in [false, true] {
            let l = limits(1 << 20);
            let mut db = Db {
                encrypt,
                ..Db::default()
            };
            set(&mut db, &l, "a", "k", json!({"x": [1, 2]})).unwrap();
            set(&mut db, &l, "a", "j", json!("two")).unwrap();
            set(&mut db, &l, "a:b", "k", json!(3)).unwrap();
            assert_eq!(get(&mut db, &l, "a", "k").unwrap(), json!({"x": [1, 2]}));
            assert_eq!(get(&mut db, &l, "a:b", "k").unwrap(), json!(3));
            assert_eq!(get(&mut db, &l, "a", "missing").unwrap(), Value::Null);
            assert_eq!(
                db.run(&plan_namespace("a", false).unwrap()).unwrap(),
                json!(["j", "k"])
            );
            db.run(&plan_remove(&l, "a", "j").unwrap()).unwrap();
            assert_eq!(
                db.run(&plan_namespace("a", false).unwrap()).unwrap(),
                json!(["k"])
            );
            db.run(&plan_namespace("a", true).unwrap()).unwrap();
            assert_eq!(
                db.run(&plan_namespace("a", false).unwrap()).unwrap(),
                json!([])
            );
            assert_eq!(
                get(&mut db, &l, "a:b", "k").unwrap(),
                json!(3),
                "other namespace kept"
            );
            assert!(db.consistent());
            if encrypt {
                let stored = &db.records[&encode_key("a:b", "k")].0;
                assert!(stored.starts_with("pwe1."), "{stored}");
                assert!(Sealed::parse(stored).is_ok());
            }
        }
    }

    #[test]
    fn the_quota_is_decided_in_the_write_transaction_and_nothing_is_half_written() {
        let l = limits(20);
        let mut db = Db::default();
        set(&mut db, &l, "p", "k", json!("0123456789")).unwrap(); // 1 + 12 = 13 bytes
        let err = set(&mut db, &l, "p", "j", json!("0123456789")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::QuotaExceeded);
        assert_eq!(db.usage[&namespace_prefix("p")], 13);
        // Replacing within the quota is fine.
        set(&mut db, &l, "p", "k", json!("012345678901234")).unwrap();
        assert_eq!(db.usage[&namespace_prefix("p")], 18);
        // A write failing after the check leaves the previous value and usage.
        db.fail_next_write = true;
        let err = set(&mut db, &l, "p", "k", json!("x")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::QuotaExceeded);
        assert_eq!(
            get(&mut db, &l, "p", "k").unwrap(),
            json!("012345678901234")
        );
        assert_eq!(db.usage[&namespace_prefix("p")], 18);
        assert!(db.consistent());
        // Limits that need no stored state are checked while planning.
        assert_eq!(
            code_of(plan_set(&l, "p", "", &json!(1))),
            ErrorCode::MessageRejected
        );
        assert_eq!(code_of(plan_get(&l, "", "k")), ErrorCode::InvalidArgument);
        let small = StorageLimits {
            max_value_bytes: 4,
            ..l
        };
        assert_eq!(
            code_of(plan_set(&small, "p", "k", &json!("long"))),
            ErrorCode::QuotaExceeded
        );
    }

    #[test]
    fn two_tabs_planning_against_one_database_share_one_quota() {
        // Plans carry no cached usage: the count lives with the data, so interleaved tabs
        // cannot overshoot.
        let l = limits(30);
        let mut db = Db::default();
        let tab_a = plan_set(&l, "p", "a", &json!("0123456789012345")).unwrap();
        let tab_b = plan_set(&l, "p", "b", &json!("0123456789012345")).unwrap();
        db.run(&StoragePlan::Set(tab_a)).unwrap();
        let err = db.run(&StoragePlan::Set(tab_b)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::QuotaExceeded);
        assert!(db.consistent());
    }

    #[test]
    fn a_tampered_or_moved_sealed_value_is_integrity_mismatch_never_data() {
        let l = limits(1 << 20);
        let mut db = Db {
            encrypt: true,
            ..Db::default()
        };
        set(&mut db, &l, "alice", "k", json!("secret note")).unwrap();
        set(&mut db, &l, "alice", "other", json!("x")).unwrap();
        set(&mut db, &l, "bob", "k", json!("bob's")).unwrap();
        let here = encode_key("alice", "k");
        // Flip one ciphertext byte.
        let mut sealed = Sealed::parse(&db.records[&here].0).unwrap();
        sealed.ciphertext[0] ^= 1;
        db.records.get_mut(&here).unwrap().0 = sealed.to_text();
        assert_eq!(
            code_of(get(&mut db, &l, "alice", "k")),
            ErrorCode::IntegrityMismatch
        );
        // Not a sealed value at all (someone wrote plaintext into the backend).
        db.records.get_mut(&here).unwrap().0 = "\"planted\"".to_owned();
        assert_eq!(
            code_of(get(&mut db, &l, "alice", "k")),
            ErrorCode::IntegrityMismatch
        );
        // A valid sealed value moved to another key of the same plugin…
        let moved = db.records[&encode_key("alice", "other")].clone();
        db.records.insert(here.clone(), moved);
        assert_eq!(
            code_of(get(&mut db, &l, "alice", "k")),
            ErrorCode::IntegrityMismatch
        );
        // …or to another plugin's key.
        let alices = db.records[&encode_key("alice", "other")].clone();
        db.records.insert(encode_key("bob", "other"), alices);
        assert_eq!(
            code_of(get(&mut db, &l, "bob", "other")),
            ErrorCode::IntegrityMismatch
        );
        // Bob's own value still opens.
        assert_eq!(get(&mut db, &l, "bob", "k").unwrap(), json!("bob's"));
    }

    #[test]
    fn sealed_text_form_refuses_anything_malformed() {
        for bad in [
            "",
            "pwe1.",
            "pwe1.AAAA",
            "pwe1.AAAAAAAAAAAAAAAA.AA",
            "pwe2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
            "pwe1.!!.!!",
        ] {
            assert_eq!(
                code_of(Sealed::parse(bad)),
                ErrorCode::IntegrityMismatch,
                "{bad}"
            );
        }
    }
}

/// An engine on `backend` with `config`, plugins `app` (storage) and `nostore` (no
/// permissions) installed and mounted.
fn mounted_pair<B: plugin_warden::core::storage::StorageBackend>(
    config: Value,
    backend: B,
) -> plugin_warden::core::engine::Engine<B> {
    use plugin_warden::core::engine::{Engine, HostConfig, InstallInput, Status};
    let config: HostConfig = serde_json::from_value(config).unwrap();
    let mut e = Engine::new(config, backend).unwrap();
    for (id, perms) in [("app", json!(["storage"])), ("nostore", json!([]))] {
        let m = json!({"id": id, "name": "T", "version": "1.0.0", "permissions": perms});
        let checked = e.check_manifest(&m.to_string(), 0.0).unwrap();
        e.finish_install(
            checked,
            &InstallInput::default(),
            plugin_warden::core::provenance::Provenance::Unsigned,
            0.0,
        )
        .unwrap();
        e.set_status(id, Status::Mounting, 0.0).unwrap();
        e.set_status(id, Status::Mounted, 0.0).unwrap();
    }
    e
}

/// A plugin's call message.
fn msg(id: u64, method: &str, params: Value) -> String {
    json!({"v": 1, "id": id, "method": method, "params": params}).to_string()
}

/// The engine's side of the seam: with `storage: 'indexeddb'` (or `encrypt: true`) storage
/// calls become plans, every check that needs no stored state is made first (permission, key,
/// value size), and `Engine::complete` answers the call.
#[test]
fn the_engine_plans_storage_calls_for_asynchronous_backends() {
    use crate::support::{send, storage_reply, Sent};
    use plugin_warden::core::storage::deferred::StoragePlan;

    use plugin_warden::core::storage::INDEXEDDB_QUOTA_BYTES;
    for (config, quota) in [
        (json!({"storage": "indexeddb"}), INDEXEDDB_QUOTA_BYTES),
        (json!({"storage": "local", "encrypt": true}), 1_048_576),
    ] {
        let mut e = mounted_pair(config, MemoryBackend::new());
        let mut db = deferred_double::Db::default();
        let outcome = send(
            &mut e,
            "app",
            Some(&msg(1, "storage.set", json!({"key": "k", "value": [1]}))),
            0.0,
        );
        let Sent::Storage { call_id, plan } = outcome else {
            panic!("a plan, found {outcome:?}");
        };
        assert_eq!(call_id, 1);
        assert!(matches!(&plan, StoragePlan::Set(s) if s.encoded == encode_key("app", "k")));
        let StoragePlan::Set(set) = &plan else {
            unreachable!()
        };
        // IndexedDB's default quota is larger; the others keep 1 MiB.
        assert_eq!(set.quota, quota);
        let reply: Value = serde_json::from_str(&storage_reply(
            &mut e,
            "app",
            call_id,
            db.run(&plan).map(Some),
            0.0,
        ))
        .unwrap();
        assert_eq!(reply["ok"], true, "{reply}");
        let Sent::Storage { call_id, plan } = send(
            &mut e,
            "app",
            Some(&msg(2, "storage.get", json!({"key": "k"}))),
            0.0,
        ) else {
            panic!("a plan");
        };
        let reply: Value = serde_json::from_str(&storage_reply(
            &mut e,
            "app",
            call_id,
            db.run(&plan).map(Some),
            0.0,
        ))
        .unwrap();
        assert_eq!(reply["value"], json!([1]), "{reply}");
        // A missing key answers no value (`undefined` in the plugin), as the synchronous
        // backends do; a stored null stays null.
        let reply: Value =
            serde_json::from_str(&storage_reply(&mut e, "app", 9, Ok(None), 0.0)).unwrap();
        assert_eq!(reply, json!({"v": 1, "id": 9, "ok": true}), "{reply}");
        let reply: Value =
            serde_json::from_str(&storage_reply(&mut e, "app", 9, Ok(Some(Value::Null)), 0.0))
                .unwrap();
        assert_eq!(reply["value"], Value::Null, "{reply}");
        assert!(reply.as_object().unwrap().contains_key("value"), "{reply}");
        // A coded error from the executor reaches the plugin with its code.
        let tampered = Err(StorageError::Tampered {
            reason: "tag".into(),
        });
        let reply: Value =
            serde_json::from_str(&storage_reply(&mut e, "app", 3, tampered, 0.0)).unwrap();
        assert_eq!(reply["error"]["code"], "INTEGRITY_MISMATCH", "{reply}");
        // Checks that need no stored state answer at once, without a plan.
        for (plugin, params, code) in [
            ("app", json!({"key": ""}), "MESSAGE_REJECTED"),
            ("nostore", json!({"key": "k"}), "PERMISSION_DENIED"),
        ] {
            let Sent::Reply(r) = send(&mut e, plugin, Some(&msg(4, "storage.get", params)), 0.0)
            else {
                panic!("an immediate reply");
            };
            let r: Value = serde_json::from_str(&r).unwrap();
            assert_eq!(r["error"]["code"], code, "{r}");
        }
    }
}

/// A backend the browser layer reads itself (Web Storage, a JS `Map`): `storage.get` becomes a
/// plan naming the plugin's own backend key, after every check a read makes (permission, key);
/// writes stay synchronous; a stored text the browser finds is not JSON is answered through
/// `Engine::complete` as INTERNAL, naming the key.
#[test]
fn the_engine_plans_reads_for_backends_the_browser_reads() {
    use crate::support::{send, storage_reply, Sent};
    use plugin_warden::core::storage::deferred::StoragePlan;
    use plugin_warden::core::storage::{BackendError, StorageBackend};

    /// The in-memory backend, read by its caller.
    #[derive(Default)]
    struct ReadByCaller(MemoryBackend);
    impl StorageBackend for ReadByCaller {
        fn get(&self, key: &str) -> Result<Option<String>, BackendError> {
            self.0.get(key)
        }
        fn set(&mut self, key: &str, value: &str) -> Result<(), BackendError> {
            self.0.set(key, value)
        }
        fn remove(&mut self, key: &str) -> Result<(), BackendError> {
            self.0.remove(key)
        }
        fn keys(&self) -> Result<Vec<String>, BackendError> {
            self.0.keys()
        }
        fn read_by_caller(&self) -> bool {
            true
        }
    }
    // A box delegates the answer (the browser host holds `Box<dyn StorageBackend>`).
    let boxed: Box<dyn StorageBackend> = Box::new(ReadByCaller::default());
    assert!(boxed.read_by_caller());
    assert!(!MemoryBackend::new().read_by_caller());

    let mut e = mounted_pair(json!({"storage": "memory"}), ReadByCaller::default());
    // Writes are the core's, synchronously, as before.
    let Sent::Reply(r) = send(
        &mut e,
        "app",
        Some(&msg(1, "storage.set", json!({"key": "k", "value": [1]}))),
        0.0,
    ) else {
        panic!("a write answers at once");
    };
    assert_eq!(
        serde_json::from_str::<Value>(&r).unwrap(),
        json!({"v": 1, "id": 1, "ok": true, "value": null})
    );
    // A read is a plan for the plugin's own key.
    let outcome = send(
        &mut e,
        "app",
        Some(&msg(2, "storage.get", json!({"key": "k"}))),
        0.0,
    );
    let Sent::Storage { call_id, plan } = outcome else {
        panic!("a plan, found {outcome:?}");
    };
    assert_eq!(call_id, 2);
    assert_eq!(
        plan,
        StoragePlan::Get {
            key: "k".into(),
            encoded: encode_key("app", "k"),
        }
    );
    // Not JSON where the browser read it: INTERNAL, naming the key.
    let reply: Value = serde_json::from_str(&storage_reply(
        &mut e,
        "app",
        call_id,
        Err(StorageError::Corrupt { key: "k".into() }),
        0.0,
    ))
    .unwrap();
    assert_eq!(reply["error"]["code"], "INTERNAL", "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"k\""),
        "{reply}"
    );
    // Checks that need no stored state answer at once, without a plan.
    for (plugin, params, code) in [
        ("app", json!({"key": ""}), "MESSAGE_REJECTED"),
        ("app", json!({"key": "k", "extra": 1}), "MESSAGE_REJECTED"),
        ("nostore", json!({"key": "k"}), "PERMISSION_DENIED"),
    ] {
        let Sent::Reply(r) = send(&mut e, plugin, Some(&msg(4, "storage.get", params)), 0.0) else {
            panic!("an immediate reply");
        };
        let r: Value = serde_json::from_str(&r).unwrap();
        assert_eq!(r["error"]["code"], code, "{r}");
    }
}

#[test]
fn namespace_prefix_writes_the_length_in_decimal_at_every_width() {
    // Written out by hand (no `format!` on a call's path): the same text as the format it
    // replaced, for ids of every length up to past the manifest's limit.
    for len in 0..=1_200 {
        let plugin = "a".repeat(len);
        assert_eq!(
            namespace_prefix(&plugin),
            format!("pw1:{len}:{plugin}:"),
            "length {len}"
        );
        if len > 0 {
            assert_eq!(
                decode_key(&encode_key(&plugin, "k")),
                Some((plugin.as_str(), "k"))
            );
        }
    }
}
