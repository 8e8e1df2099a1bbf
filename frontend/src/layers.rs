//! The panel's layering, checked: the model (every file directly under src/ but lib.rs and this
//! one: model.rs, frame.rs, table.rs, pgss.rs, compare.rs, viewport.rs, detail.rs, stack.rs) is pure Rust
//! the view (src/view/) draws, so no model file may use the view. Test-only; reads the sources
//! as text.

use std::fs;
use std::path::{Path, PathBuf};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The model's source files: the .rs files directly under src/ but lib.rs (it mounts the view)
/// and this file.
fn model_files() -> Vec<PathBuf> {
    let dir = crate_dir().join("src");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs") && !p.ends_with("lib.rs") && !p.ends_with("layers.rs"))
        .collect();
    files.sort();
    files
}

/// The lines of `source` that reach into the view, comments left out ("file:line: text"): a
/// path through `view` from `crate` or `super` (`crate::view::Props`, `super::super::view`),
/// or `view` in a one-line `use crate::{...}` group.
fn upward_uses(name: &str, source: &str) -> Vec<String> {
    let reaches_view = |line: &str| {
        let code = line.split("//").next().unwrap_or_default();
        let paths: Vec<&str> = code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).filter(|t| !t.is_empty()).collect();
        let through_view = paths.iter().any(|path| {
            let segments: Vec<&str> = path.split("::").collect();
            matches!(segments[0], "crate" | "super") && segments[1..].iter().find(|s| **s != "super") == Some(&"view")
        });
        let grouped = code.trim_start().starts_with("use crate::{") && paths.contains(&"view");
        through_view || grouped
    };
    source.lines().enumerate().filter(|(_, line)| reaches_view(line)).map(|(i, line)| format!("{name}:{}: {}", i + 1, line.trim())).collect()
}

#[test]
fn the_model_never_uses_the_view() {
    let files = model_files();
    assert!(files.len() >= 7, "the model's files: {files:?}");
    let violations: Vec<String> = files.iter().flat_map(|path| upward_uses(&path.strip_prefix(crate_dir()).unwrap_or(path).display().to_string(), &fs::read_to_string(path).unwrap())).collect();
    assert!(violations.is_empty(), "the model must not use the view (the view uses the model, not the other way round):\n{}", violations.join("\n"));
}

#[test]
fn an_upward_use_is_caught() {
    let source = "use crate::view::Props;\n// crate::view draws this\nuse crate::{model, view};\nlet x = super::super::view::style::X;";
    assert_eq!(upward_uses("m.rs", source), ["m.rs:1: use crate::view::Props;", "m.rs:3: use crate::{model, view};", "m.rs:4: let x = super::super::view::style::X;"]);
    assert!(upward_uses("m.rs", "use super::viewport::window; // the view draws it\nuse crate::model::viewport;\nlet view = 1;").is_empty());
}
