//! The offline catalogue of metrics real exporters export and the labels each carries: data in
//! `backend/data/catalogue/*.yaml` (each file says where it comes from), pgscope's own stack
//! queries (`e2e/stack/queries.yaml`, postgres_exporter's custom-query format) and any
//! `--queries FILE` the user passes. A selector on a *closed* family (a prefix one exporter owns,
//! such as `patroni_`) that names a metric not in it, or a matcher on a label the metric never
//! carries, is a mistake no TSDB can answer; unknown families (recording rules, custom queries)
//! are not judged. `job` and `instance` come from the scrape and are always allowed, as are the
//! target labels the caller names (a scrape config's static labels and relabelling targets).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;

/// Files of the built-in catalogue: (name, text).
const FILES: &[(&str, &str)] = &[
    ("postgres_exporter.yaml", include_str!("../../data/catalogue/postgres_exporter.yaml")),
    ("pgwatch.yaml", include_str!("../../data/catalogue/pgwatch.yaml")),
    ("postgres_ai.yaml", include_str!("../../data/catalogue/postgres_ai.yaml")),
    ("patroni.yaml", include_str!("../../data/catalogue/patroni.yaml")),
    ("node_exporter.yaml", include_str!("../../data/catalogue/node_exporter.yaml")),
    ("prometheus.yaml", include_str!("../../data/catalogue/prometheus.yaml")),
    ("citus.yaml", include_str!("../../data/catalogue/citus.yaml")),
];

/// pgscope's demo stack's custom queries for postgres_exporter (they extend the
/// `pg_stat_statements_` family with shared blocks, temp and WAL columns).
const STACK_QUERIES: &str = include_str!("../../../e2e/stack/queries.yaml");

/// Labels every scraped series carries.
pub const SCRAPE_LABELS: &[&str] = &["job", "instance"];

#[derive(Debug, Clone, Deserialize)]
struct FileDef {
    project: String,
    #[serde(default)]
    families: Vec<FamilyDef>,
}

#[derive(Debug, Clone, Deserialize)]
struct FamilyDef {
    prefix: String,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    labels_open: bool,
    #[serde(default)]
    extra_labels: Vec<String>,
    #[serde(default)]
    metrics: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    optional: Option<String>,
}

/// One exporter's family of metrics.
#[derive(Debug, Clone)]
pub struct Family {
    pub prefix: String,
    /// Where it comes from (the catalogue file's project, or the queries file).
    pub source: String,
    pub closed: bool,
    pub labels_open: bool,
    pub extra_labels: Vec<String>,
    pub metrics: BTreeMap<String, Vec<String>>,
    /// Why having no series is normal (the family exists only where an extension is), if so.
    pub optional: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub families: Vec<Family>,
}

/// What the catalogue says of one metric name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Exported, with these labels (None: the family's labels are not known in full).
    Known(Option<BTreeSet<String>>),
    /// In a family an exporter owns, yet not exported: the closest name, if any.
    Unknown { suggestion: Option<String>, source: String },
    /// Not catalogued.
    NotCatalogued,
}

impl Catalogue {
    /// The built-in catalogue plus pgscope's stack queries.
    pub fn builtin() -> &'static Catalogue {
        static BUILTIN: OnceLock<Catalogue> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let mut catalogue = Catalogue::default();
            for (name, text) in FILES {
                // The files are part of the binary and parsed by a test: a broken one is a build
                // mistake, reported there; here it only leaves its families out.
                if let Ok(families) = parse_file(text, name) {
                    catalogue.families.extend(families);
                }
            }
            if let Ok(families) = parse_queries(STACK_QUERIES, "pgscope's stack queries (e2e/stack/queries.yaml)") {
                catalogue.families.extend(families);
            }
            catalogue
        })
    }

    /// Adds a postgres_exporter custom-queries file (`--extend.query-path`).
    pub fn add_queries(&mut self, text: &str, source: &str) -> Result<(), String> {
        self.families.extend(parse_queries(text, source)?);
        Ok(())
    }

    /// Families whose prefix `name` starts with.
    fn matching<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Family> + 'a {
        self.families.iter().filter(move |f| name.starts_with(&f.prefix))
    }

    /// Why `name` may have no series anywhere (its family is optional), or None.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.families.iter().filter(|f| name.starts_with(&f.prefix)).find_map(|f| f.optional.as_deref())
    }

    pub fn verdict(&self, name: &str) -> Verdict {
        let mut labels: Option<BTreeSet<String>> = Some(BTreeSet::new());
        let mut known = false;
        for family in self.matching(name) {
            if let Some(own) = family.metrics.get(name) {
                known = true;
                if family.labels_open {
                    labels = None;
                } else if let Some(set) = labels.as_mut() {
                    set.extend(own.iter().cloned());
                    set.extend(family.extra_labels.iter().cloned());
                }
            }
        }
        if known {
            return Verdict::Known(labels);
        }
        // The longest matching closed prefix owns the name.
        let Some(owner) = self.matching(name).filter(|f| f.closed).max_by_key(|f| f.prefix.len()) else {
            return Verdict::NotCatalogued;
        };
        let candidates: Vec<&str> =
            self.families.iter().filter(|f| f.prefix == owner.prefix).flat_map(|f| f.metrics.keys().map(String::as_str)).collect();
        Verdict::Unknown { suggestion: closest(name, &candidates), source: owner.source.clone() }
    }
}

fn parse_file(text: &str, name: &str) -> Result<Vec<Family>, String> {
    let file: FileDef = serde_yaml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
    Ok(file
        .families
        .into_iter()
        .map(|f| Family {
            prefix: f.prefix,
            source: file.project.clone(),
            closed: f.closed,
            labels_open: f.labels_open,
            extra_labels: f.extra_labels,
            metrics: f.metrics,
            optional: f.optional,
        })
        .collect())
}

/// postgres_exporter's custom-query format: `name: {query, metrics: [{column: {usage}}]}`;
/// LABEL columns are labels, COUNTER/GAUGE/MAPPEDMETRIC/DURATION columns become `name_column`.
/// Such metrics also carry the exporter's `server` label (0.11 and older).
fn parse_queries(text: &str, source: &str) -> Result<Vec<Family>, String> {
    let doc: BTreeMap<String, serde_yaml::Value> = serde_yaml::from_str(text).map_err(|e| format!("{source}: not a queries file: {e}"))?;
    let mut out = Vec::new();
    for (name, query) in doc {
        let columns = query.get("metrics").and_then(|m| m.as_sequence()).ok_or(format!("{source}: {name} has no `metrics:` list"))?;
        let mut labels = Vec::new();
        let mut values = Vec::new();
        for column in columns {
            let Some(map) = column.as_mapping() else { continue };
            for (key, def) in map {
                let (Some(key), usage) = (key.as_str(), def.get("usage").and_then(|u| u.as_str()).unwrap_or("")) else { continue };
                match usage {
                    "LABEL" => labels.push(key.to_string()),
                    "DISCARD" => {}
                    _ => values.push(format!("{name}_{key}")),
                }
            }
        }
        out.push(Family {
            prefix: format!("{name}_"),
            source: source.to_string(),
            closed: false,
            labels_open: false,
            extra_labels: vec!["server".into()],
            metrics: values.into_iter().map(|v| (v, labels.clone())).collect(),
            optional: None,
        });
    }
    Ok(out)
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb { previous } else { 1 + previous.min(row[j]).min(current) };
            previous = current;
        }
    }
    row[b.len()]
}

/// The candidate `name` most likely meant: one holding all of its `_` words in order (the
/// shortest), else the nearest by edit distance within half the name's length.
pub fn closest(name: &str, candidates: &[&str]) -> Option<String> {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let holds_all = |candidate: &str| {
        let mut rest = candidate;
        words.iter().all(|w| match rest.find(w) {
            Some(at) => {
                rest = &rest[at + w.len()..];
                true
            }
            None => false,
        })
    };
    if let Some(best) = candidates.iter().filter(|c| holds_all(c)).min_by_key(|c| (c.len(), **c)) {
        return Some(best.to_string());
    }
    candidates
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, _)| *d <= name.len() / 2)
        .min()
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_file_parses_and_says_where_it_comes_from() {
        for (name, text) in FILES {
            let families = parse_file(text, name).unwrap();
            assert!(!families.is_empty(), "{name}");
            assert!(text.contains("project:") && text.contains("version:") && text.contains("read:"), "{name} lacks its provenance");
        }
        parse_queries(STACK_QUERIES, "stack").unwrap();
    }

    #[test]
    fn verdicts() {
        let c = Catalogue::builtin();
        assert_eq!(
            c.verdict("patroni_timeline"),
            Verdict::Unknown { suggestion: Some("patroni_postgres_timeline".into()), source: "patroni/patroni".into() }
        );
        let Verdict::Known(Some(labels)) = c.verdict("pg_stat_statements_calls_total") else { panic!() };
        assert!(labels.contains("datname") && labels.contains("queryid") && labels.contains("server"));
        assert!(matches!(c.verdict("pg_stat_statements_wal_bytes_total"), Verdict::Known(_)), "the stack's queries count");
        assert_eq!(c.verdict("my_recording:rule"), Verdict::NotCatalogued);
        assert_eq!(c.verdict("pg_custom_thing"), Verdict::NotCatalogued);
        assert_eq!(c.verdict("pgwatch_stat_statements_calls"), Verdict::Known(None));
        let Verdict::Unknown { suggestion, .. } = c.verdict("scrape_sample_scraped") else { panic!() };
        assert_eq!(suggestion.as_deref(), Some("scrape_samples_scraped"));
        let Verdict::Known(Some(labels)) = c.verdict("pg_citus_node_is_active") else { panic!() };
        assert!(labels.contains("node") && labels.contains("datname"), "{labels:?}");
        let Verdict::Unknown { suggestion, .. } = c.verdict("pg_citus_node_isactive") else { panic!() };
        assert_eq!(suggestion.as_deref(), Some("pg_citus_node_is_active"));
        assert_eq!(c.verdict("pg_citus_dist_table_size_bytes"), Verdict::NotCatalogued, "someone's own Citus query");
    }

    #[test]
    fn only_optional_families_may_be_absent() {
        let c = Catalogue::builtin();
        assert_eq!(c.optional("pg_citus_placement_inactive"), Some("Citus is not installed or not exported here"));
        assert_eq!(c.optional("pg_stat_statements_calls_total"), None);
        assert_eq!(c.optional("patroni_primary"), None);
        assert_eq!(c.optional("my_recording:rule"), None);
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(closest("zzz_qqq_www", &["patroni_primary"]), None);
    }
}
