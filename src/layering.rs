//! The layering of DESIGN §7, checked: imports run one way, top-down, and no module
//! depends on itself through others. Reads the sources, so that a `use` added anywhere
//! that breaks the rule fails this test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level component and its layer: a component may use its own layer's
/// neighbours below it and anything in a lower layer, never one above.
const LAYERS: &[(&str, u8)] = &[
    ("fold", 0),
    ("config", 0),
    ("i18n", 0),
    ("model", 1),
    ("feeds", 2),
    ("digests", 3),
    ("preflight", 4),
    ("daemon", 5),
    ("cli", 6),
];

/// Every module of the crate (`feeds::store::watch`) with the code of its file,
/// comments removed.
fn modules() -> BTreeMap<String, String> {
    fn visit(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            if path.is_dir() {
                let mut inner = prefix.to_vec();
                inner.push(name);
                visit(&path, &inner, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut module = prefix.to_vec();
                if !matches!(name.as_str(), "mod" | "lib" | "main") {
                    module.push(name);
                }
                let code: String = std::fs::read_to_string(&path)
                    .unwrap()
                    .lines()
                    .map(|line| line.split("//").next().unwrap())
                    .collect::<Vec<_>>()
                    .join("\n");
                out.entry(module.join("::")).or_default().push_str(&code);
            }
        }
    }
    let mut out = BTreeMap::new();
    visit(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    out.remove("");
    out
}

/// Which modules each module names through a `crate::…` path: the longest known module
/// that the path starts with.
fn imports(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for (module, code) in modules {
        let mut uses = BTreeSet::new();
        for (at, _) in code.match_indices("crate::") {
            let path: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let target = (1..=segments.len())
                .rev()
                .map(|n| segments[..n].join("::"))
                .find(|m| modules.contains_key(m));
            if let Some(target) = target {
                // A module naming its own items is no dependency.
                if target != *module {
                    uses.insert(target);
                }
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

fn layer(module: &str) -> u8 {
    let top = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .find(|(name, _)| *name == top)
        .unwrap_or_else(|| panic!("{module}: add its component to LAYERS"))
        .1
}

#[test]
fn imports_follow_the_layers() {
    let graph = imports(&modules());
    let mut wrong = Vec::new();
    for (module, uses) in &graph {
        for used in uses {
            let same_component = module.split("::").next() == used.split("::").next();
            if !same_component && layer(used) >= layer(module) {
                wrong.push(format!("{module} -> {used}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against DESIGN §7's layers: {wrong:#?}"
    );
}

#[test]
fn no_import_cycle() {
    let graph = imports(&modules());
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit<'a>(
        module: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| *m == module) {
            let mut cycle: Vec<String> = path[at..].iter().map(|m| m.to_string()).collect();
            cycle.push(module.to_string());
            return Some(cycle);
        }
        if !done.insert(module) {
            return None;
        }
        path.push(module);
        for used in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(used, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        let cycle = visit(module, &graph, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "import cycle: {}",
            cycle.unwrap().join(" -> ")
        );
    }
}

#[test]
fn the_checks_see_the_crate() {
    let graph = imports(&modules());
    assert!(
        graph["feeds::publish"].contains("feeds::index"),
        "{graph:#?}"
    );
    assert!(graph["daemon"].contains("daemon::publisher"), "{graph:#?}");
}

/// The module map in lib.rs and the README's code map name every module of the crate,
/// each at the start of a line of its own (DESIGN §7).
#[test]
fn the_module_maps_name_every_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["src/lib.rs", "README.md"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let named: BTreeSet<&str> = text
            .lines()
            .map(|line| line.trim_start_matches("//!").trim_start())
            .filter_map(|line| line.split_whitespace().next())
            .collect();
        let missing: Vec<String> = (modules().into_keys())
            .filter(|m| !named.contains(m.as_str()))
            .collect();
        assert!(missing.is_empty(), "{file}'s module map lacks {missing:?}");
    }
}
