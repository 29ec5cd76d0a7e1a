//! `core::collections::{SortedMap, SortedSet}` against `std`'s B-tree collections as the model:
//! the core swapped them in for code size, so every operation it uses must agree (and
//! `collections::join` against `[S]::join`).

use std::collections::{BTreeMap, BTreeSet};

use plugin_warden::core::collections::{SortedMap, SortedSet};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, u16),
    Remove(u8),
    Entry(u8, u16),
    Retain(u8),
    Extend(Vec<(u8, u16)>),
    PopFirst,
    SplitOff(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<u8>(), any::<u16>()).prop_map(|(k, v)| Op::Insert(k, v)),
        any::<u8>().prop_map(Op::Remove),
        (any::<u8>(), any::<u16>()).prop_map(|(k, v)| Op::Entry(k, v)),
        any::<u8>().prop_map(Op::Retain),
        proptest::collection::vec((any::<u8>(), any::<u16>()), 0..20).prop_map(Op::Extend),
        Just(Op::PopFirst),
        any::<u8>().prop_map(Op::SplitOff),
    ]
}

proptest! {
    #[test]
    fn a_map_behaves_like_btreemap(ops in proptest::collection::vec(op(), 0..60), probe in any::<u8>()) {
        let mut ours: SortedMap<u8, u16> = SortedMap::new();
        let mut model: BTreeMap<u8, u16> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Insert(k, v) => prop_assert_eq!(ours.insert(k, v), model.insert(k, v)),
                Op::Remove(k) => prop_assert_eq!(ours.remove(&k), model.remove(&k)),
                Op::Entry(k, v) => {
                    // Wrapping: `v` may be u16::MAX (the test's own overflow, not the map's).
                    let a = ours.entry(k).or_insert(v);
                    *a = a.wrapping_add(1);
                    let b = model.entry(k).or_insert(v);
                    *b = b.wrapping_add(1);
                }
                Op::Retain(m) => {
                    ours.retain(|k, _| k % (m | 1) != 0);
                    model.retain(|k, _| k % (m | 1) != 0);
                }
                Op::Extend(kv) => {
                    ours.extend(kv.clone());
                    model.extend(kv);
                }
                Op::PopFirst => prop_assert_eq!(ours.pop_first(), model.pop_first()),
                Op::SplitOff(k) => {
                    let a: Vec<_> = ours.split_off(&k).into_iter().collect();
                    let b: Vec<_> = model.split_off(&k).into_iter().collect();
                    prop_assert_eq!(a, b);
                }
            }
            prop_assert_eq!(ours.iter().collect::<Vec<_>>(), model.iter().collect::<Vec<_>>());
        }
        prop_assert_eq!(ours.len(), model.len());
        prop_assert_eq!(ours.get(&probe), model.get(&probe));
        prop_assert_eq!(ours.contains_key(&probe), model.contains_key(&probe));
        prop_assert_eq!(
            ours.range(probe..).map(|(k, _)| *k).collect::<Vec<_>>(),
            model.range(probe..).map(|(k, _)| *k).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            ours.range(..=probe).next_back().map(|(k, _)| *k),
            model.range(..=probe).next_back().map(|(k, _)| *k)
        );
        prop_assert_eq!(
            ours.range(probe / 2..probe).count(),
            model.range(probe / 2..probe).count()
        );
        // Serialized the same way, and read back the same way.
        let text = serde_json::to_string(&ours).unwrap();
        prop_assert_eq!(&text, &serde_json::to_string(&model).unwrap());
        let back: SortedMap<u8, u16> = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, ours);
    }

    #[test]
    fn collecting_keeps_the_last_value_of_a_key_as_btreemap_does(kv in proptest::collection::vec((0u8..16, any::<u16>()), 0..40)) {
        let ours: SortedMap<u8, u16> = kv.iter().copied().collect();
        let model: BTreeMap<u8, u16> = kv.iter().copied().collect();
        prop_assert_eq!(ours.into_iter().collect::<Vec<_>>(), model.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_set_behaves_like_btreeset(items in proptest::collection::vec(0u8..32, 0..40), other in proptest::collection::vec(0u8..32, 0..40), probe in 0u8..32) {
        let mut ours: SortedSet<u8> = items.iter().copied().collect();
        let mut model: BTreeSet<u8> = items.iter().copied().collect();
        let ours_other: SortedSet<u8> = other.iter().copied().collect();
        let model_other: BTreeSet<u8> = other.iter().copied().collect();
        prop_assert_eq!(ours.iter().collect::<Vec<_>>(), model.iter().collect::<Vec<_>>());
        prop_assert_eq!(
            ours.difference(&ours_other).collect::<Vec<_>>(),
            model.difference(&model_other).collect::<Vec<_>>()
        );
        prop_assert_eq!(ours.is_subset(&ours_other), model.is_subset(&model_other));
        prop_assert_eq!(ours.first(), model.first());
        prop_assert_eq!(ours.last(), model.last());
        prop_assert_eq!(ours.insert(probe), model.insert(probe));
        prop_assert_eq!(ours.remove(&probe), model.remove(&probe));
        prop_assert_eq!(ours.contains(&probe), model.contains(&probe));
        prop_assert_eq!(ours.pop_first(), model.pop_first());
        let text = serde_json::to_string(&ours).unwrap();
        prop_assert_eq!(&text, &serde_json::to_string(&model).unwrap());
        let back: SortedSet<u8> = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, ours);
    }
}

/// A JSON object with duplicate keys keeps the last value, as `BTreeMap` (and `JSON.parse`) do.
#[test]
fn a_duplicate_key_in_json_keeps_the_last_value() {
    let ours: SortedMap<String, u32> = serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#).unwrap();
    let model: BTreeMap<String, u32> = serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#).unwrap();
    assert_eq!(
        ours.into_iter().collect::<Vec<_>>(),
        model.into_iter().collect::<Vec<_>>()
    );
}

/// A hostile message whose object keys come in reverse order must not cost a memory move per
/// key (quadratic): 200 000 keys sort once. Inserted one by one this would move ~10^10 entries
/// and never finish in a test run.
#[test]
fn keys_in_reverse_order_are_read_in_one_sort() {
    let n = 200_000u32;
    let mut text = String::from("{");
    for i in (0..n).rev() {
        text.push_str(&format!("\"k{i:07}\":{i},"));
    }
    text.pop();
    text.push('}');
    let map: SortedMap<String, u32> = serde_json::from_str(&text).unwrap();
    assert_eq!(map.len(), n as usize);
    assert_eq!(map.first_key_value(), Some((&"k0000000".to_owned(), &0)));
    assert_eq!(map.get("k0199999"), Some(&199_999));
    let set: SortedSet<u32> = (0..n).rev().collect();
    assert_eq!(set.first(), Some(&0));
    assert_eq!(set.len(), n as usize);
}

proptest! {
    /// `collections::sort_by` is a stable sort: the same order as `slice::sort_by`, equal keys
    /// in their original order.
    #[test]
    fn sort_by_is_a_stable_sort(v in proptest::collection::vec((0u8..8, any::<u16>()), 0..200)) {
        let mut ours = v.clone();
        plugin_warden::core::collections::sort_by(&mut ours, |a, b| a.0 < b.0);
        let mut model = v;
        model.sort_by_key(|e| e.0);
        prop_assert_eq!(ours, model);
    }
}

proptest! {
    /// `collections::join` answers what `[S]::join` does, for owned and borrowed strings, any
    /// separator (empty, one byte, several, multi-byte) and any parts (empty ones included).
    #[test]
    fn join_is_std_join(parts in proptest::collection::vec(".{0,6}", 0..12), sep in "(|[;, ]|; |→ |ab\u{e9}c)") {
        let owned: Vec<String> = parts.clone();
        let borrowed: Vec<&str> = parts.iter().map(String::as_str).collect();
        prop_assert_eq!(plugin_warden::core::collections::join(&owned, &sep), owned.join(sep.as_str()));
        prop_assert_eq!(plugin_warden::core::collections::join(&borrowed, &sep), borrowed.join(sep.as_str()));
    }
}
