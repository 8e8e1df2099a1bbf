//! The backend's layering, held: every `crate::` and `super::` path in `src/` (test modules
//! and `tests.rs` files left out: they may compare across modules) is an edge from the file that names it to the
//! module file it reaches. An edge may not go up a layer (see `src/lib.rs`), two domains of one
//! layer may not use each other, and the files import each other in no cycle (a folder's
//! `mod.rs` re-exporting its children with `pub use` is a facade, not a dependency).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Layers by module path, most specific first wins.
const LAYERS: &[(&str, u8)] = &[
    ("pluginv2", 0),
    ("duration", 0),
    ("frame", 0),
    ("telemetry", 0),
    ("failure", 0),
    ("wire", 0),
    ("promql_text", 0),
    ("redact", 0),
    ("fallback", 0),
    ("pgss::catalog", 0),
    ("settings", 1),
    ("prom", 2),
    ("promql", 3),
    ("pgss", 3),
    ("stack", 3),
    ("lint", 4),
    ("stored", 4),
    ("datasource", 5),
    ("grpc", 6),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS
        .iter()
        .filter(|(prefix, _)| module == *prefix || module.starts_with(&format!("{prefix}::")))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, layer)| *layer)
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// `src/pgss/fetch.rs` -> `pgss::fetch`, `src/pgss/mod.rs` -> `pgss`, `src/lib.rs` -> ``.
fn module_of(relative: &str) -> String {
    let path = relative.trim_end_matches(".rs").trim_end_matches("/mod");
    if path == "lib" {
        String::new()
    } else {
        path.replace('/', "::")
    }
}

/// The source without comments and without `#[cfg(test)]` items.
fn code_lines(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            // Skip the next item: one line, or a block up to its closing brace.
            let Some(item) = lines.next() else { break };
            let mut depth = item.matches('{').count() as i64 - item.matches('}').count() as i64;
            while depth > 0 {
                let Some(next) = lines.next() else { break };
                depth += next.matches('{').count() as i64 - next.matches('}').count() as i64;
            }
            continue;
        }
        let code = line.split("//").next().unwrap_or("");
        out.push(code.to_string());
    }
    out
}

/// Module paths a piece of code names after `crate::` or `super::` (groups expanded).
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().last();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
        let path = path.trim_end_matches(':').to_string();
        let after = &rest[path.len()..];
        let group = after.strip_prefix("::{").or_else(|| (path.is_empty()).then(|| after.strip_prefix('{')).flatten());
        match group {
            Some(group) => {
                let inner: String = group.chars().take_while(|c| *c != '}').collect();
                for member in inner.split(',') {
                    let member = member.trim().split(' ').next().unwrap_or("");
                    let joined = if path.is_empty() { member.to_string() } else { format!("{path}::{member}") };
                    found.push(joined);
                }
            }
            None => found.push(path),
        }
    }
    found
}

/// The module file a path reaches: its longest prefix that is a module of the crate.
fn resolve(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty() && *s != "self").collect();
    (1..=segments.len()).rev().map(|n| segments[..n].join("::")).find(|candidate| modules.contains(candidate))
}

/// Edges (from, to) between module files, from sources by relative path.
fn edges(sources: &BTreeMap<String, String>) -> BTreeSet<(String, String)> {
    let modules: BTreeSet<String> = sources.keys().map(|p| module_of(p)).collect();
    let mut edges = BTreeSet::new();
    for (relative, source) in sources {
        let from = module_of(relative);
        let is_folder_root = relative.ends_with("mod.rs") || relative == "lib.rs";
        let parent = match from.rsplit_once("::") {
            Some((parent, _)) => parent.to_string(),
            None => String::new(),
        };
        for line in code_lines(source) {
            let trimmed = line.trim_start();
            // A folder root declaring or re-exporting its children is a facade, not a user.
            if is_folder_root && (trimmed.starts_with("mod ") || trimmed.starts_with("pub mod ") || trimmed.starts_with("pub use ")) {
                continue;
            }
            let mut named: Vec<String> = paths_after(&line, "crate::");
            // `super::` in a folder's child is its folder; in a folder root, the folder's parent.
            let base = if is_folder_root { from.rsplit_once("::").map_or(String::new(), |(p, _)| p.to_string()) } else { parent.clone() };
            for path in paths_after(&line, "super::") {
                named.push(if base.is_empty() { path } else { format!("{base}::{path}") });
            }
            // A child named without a prefix from its folder root (`use walk::Walker;`).
            if is_folder_root && trimmed.starts_with("use ") {
                let path = trimmed.trim_start_matches("use ").split(['{', ';', ' ']).next().unwrap_or("");
                let child = format!("{from}::{}", path.split("::").next().unwrap_or(""));
                if !from.is_empty() && modules.contains(&child) {
                    named.push(format!("{from}::{path}"));
                }
            }
            for path in named {
                if let Some(to) = resolve(&path, &modules) {
                    if to != from {
                        edges.insert((from.clone(), to));
                    }
                }
            }
        }
    }
    edges
}

/// Every violation: edges up a layer, between domains of one layer, and cycles.
fn violations(sources: &BTreeMap<String, String>) -> Vec<String> {
    let edges = edges(sources);
    let mut found = Vec::new();
    for (from, to) in &edges {
        if from.is_empty() || to.is_empty() {
            continue;
        }
        let (Some(lf), Some(lt)) = (layer(from), layer(to)) else {
            found.push(format!("{from} -> {to}: a module without a layer (add it to LAYERS and to lib.rs's map)"));
            continue;
        };
        if lt > lf {
            found.push(format!("{from} (layer {lf}) -> {to} (layer {lt}): imports up a layer"));
        } else if lt == lf && top(from) != top(to) {
            found.push(format!("{from} -> {to}: two modules of layer {lf} use each other's code (move the shared part down a layer)"));
        }
    }
    // Cycles, by depth-first search over the file graph.
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in &edges {
        graph.entry(from.as_str()).or_default().push(to.as_str());
    }
    let mut state: BTreeMap<&str, u8> = BTreeMap::new(); // 1 visiting, 2 done
    fn visit<'a>(node: &'a str, graph: &BTreeMap<&'a str, Vec<&'a str>>, state: &mut BTreeMap<&'a str, u8>, stack: &mut Vec<&'a str>, found: &mut Vec<String>) {
        state.insert(node, 1);
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next) {
                Some(1) => {
                    let start = stack.iter().position(|n| n == next).unwrap_or(0);
                    found.push(format!("import cycle: {} -> {next}", stack[start..].join(" -> ")));
                }
                Some(_) => {}
                None => visit(next, graph, state, stack, found),
            }
        }
        stack.pop();
        state.insert(node, 2);
    }
    let nodes: Vec<&str> = graph.keys().copied().collect();
    for node in nodes {
        if !state.contains_key(node) {
            visit(node, &graph, &mut state, &mut Vec::new(), &mut found);
        }
    }
    found
}

fn read_sources(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "bin") {
                read_sources(&path, root, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") && path.file_name().is_some_and(|n| n != "tests.rs") {
            let relative = path.strip_prefix(root).expect("under src").to_string_lossy().replace('\\', "/");
            out.insert(relative, std::fs::read_to_string(&path).expect("readable source"));
        }
    }
}

#[test]
fn the_backend_imports_only_down_its_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    read_sources(&root, &root, &mut sources);
    assert!(sources.len() > 30, "read {} files only", sources.len());
    let found = violations(&sources);
    assert!(found.is_empty(), "layering violations:\n{}", found.join("\n"));
    // The edges seen, summarised (`cargo test --test layers -- --nocapture` prints them).
    for (from, to) in edges(&sources) {
        println!("{from} -> {to}");
    }
}

fn synthetic(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files.iter().map(|(p, s)| (p.to_string(), s.to_string())).collect()
}

#[test]
fn an_upward_import_a_sideways_one_and_a_cycle_are_caught() {
    // settings (layer 1) using stack (layer 3): up.
    let up = synthetic(&[("settings/mod.rs", "use crate::stack::StackRules;\n"), ("stack/mod.rs", "pub struct StackRules;\n")]);
    assert!(violations(&up).iter().any(|v| v.contains("settings (layer 1) -> stack (layer 3)")), "{:?}", violations(&up));
    // pgss using stack: two domains of layer 3.
    let sideways = synthetic(&[("pgss/analysis.rs", "fn f() { crate::stack::thing(); }\n"), ("pgss/mod.rs", "mod analysis;\n"), ("stack/mod.rs", "")]);
    assert!(violations(&sideways).iter().any(|v| v.contains("pgss::analysis -> stack")), "{:?}", violations(&sideways));
    // Two files of one folder using each other, grouped imports included.
    let cycle = synthetic(&[
        ("prom/mod.rs", "pub mod a;\npub mod b;\n"),
        ("prom/a.rs", "use super::b::X;\n"),
        ("prom/b.rs", "use crate::prom::{a, c};\n"),
    ]);
    assert!(violations(&cycle).iter().any(|v| v.starts_with("import cycle")), "{:?}", violations(&cycle));
    // Test modules and comments do not count; a facade's re-exports do not either.
    let fine = synthetic(&[
        ("settings/mod.rs", "// crate::stack::x\n#[cfg(test)]\nmod tests {\n    use crate::stack::X;\n}\n"),
        ("stack/mod.rs", "mod checks;\npub use checks::evaluate;\n"),
        ("stack/checks.rs", "use super::Check;\nuse crate::settings::Settings;\n"),
    ]);
    assert_eq!(violations(&fine), Vec::<String>::new());
}
