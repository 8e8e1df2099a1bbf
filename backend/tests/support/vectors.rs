//! The rewrite cases of ../shared/vectors/rewrite-cases.tsv (id, action, query, why).

#![allow(dead_code)]

use std::path::Path;

pub struct Case {
    pub id: String,
    pub action: String,
    pub query: String,
    pub why: String,
}

pub fn cases(manifest_dir: &str, up: &str) -> Vec<Case> {
    let path = Path::new(manifest_dir).join(up).join("shared/vectors/rewrite-cases.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 4, "bad line: {line}");
            Case { id: fields[0].into(), action: fields[1].into(), query: fields[2].into(), why: fields[3].into() }
        })
        .collect()
}
