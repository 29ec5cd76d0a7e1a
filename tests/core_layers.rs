//! No import circle among the vocabulary modules of `src/core`: `manifest`, `permission` and
//! `rbac` used to import each other; the shared words now live in the leaf `vocab`. This reads
//! the sources' `super::<module>` references (comments excluded) and fails on any cycle
//! through those modules, so a new back-edge cannot creep in unnoticed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const WATCHED: [&str; 4] = ["manifest", "permission", "rbac", "vocab"];

fn core_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/core")
}

/// module -> the core modules it names as `super::x` or `crate::core::x` (outside comments).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut g = BTreeMap::new();
    for entry in std::fs::read_dir(core_dir()).expect("src/core") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        if name == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source");
        let mut deps = BTreeSet::new();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            for prefix in ["super::", "crate::core::"] {
                for (i, _) in code.match_indices(prefix) {
                    let rest = &code[i + prefix.len()..];
                    let dep: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !dep.is_empty() && dep != name {
                        deps.insert(dep);
                    }
                }
            }
        }
        g.insert(name, deps);
    }
    g
}

fn reaches(g: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(m) = stack.pop() {
        for d in g.get(&m).into_iter().flatten() {
            if d == to {
                return true;
            }
            if seen.insert(d.clone()) {
                stack.push(d.clone());
            }
        }
    }
    false
}

#[test]
fn manifest_permission_and_rbac_form_no_import_circle() {
    let g = graph();
    for m in WATCHED {
        assert!(g.contains_key(m), "src/core/{m}.rs exists");
        assert!(
            !reaches(&g, m, m),
            "src/core/{m}.rs reaches itself through {:?}",
            g[m]
        );
    }
    assert!(
        g["vocab"].iter().all(|d| !WATCHED.contains(&d.as_str())),
        "vocab is a leaf among them: {:?}",
        g["vocab"]
    );
}
