//! The fallback rewrite: makes info joins degrade instead of vanish.
//!
//! A pgss panel joins a rate with an *info* metric to get a readable name:
//!
//! ```text
//! topk(5, irate(calls[1m])) * on(queryid) group_left(displayname) pgwatch_query_info
//! ```
//!
//! When the exporter behind `pgwatch_query_info` stops, the join is empty and the panel goes
//! blank. `rewrite` turns such a join `J = A * on(K) group_left(L) INFO` into
//!
//! ```text
//! (J) or ignoring(L, __info_fallback) label_replace(A, "__info_fallback", "$1,INFO", "__info_fallback", "(.*)")
//! ```
//!
//! so every series of `A` comes back, named when `INFO` has it and marked with
//! `__info_fallback` when not (the data path strips the marker and says which names are missing).
//! `ignoring(L, marker)` keeps the named series from also appearing unnamed; `topk`/`bottomk`
//! around `A` move outside the `or` (two separate topk may pick different tied series).
//!
//! One entry point, `rewrite(query, rules) -> Rewrite`: parse, walk, print, as
//! prom-label-proxy's `Enforce` does. The walk is one exhaustive match over the AST. Every join
//! that is left alone gets a note saying why, in words a Grafana user understands. What cannot
//! be parsed (MetricsQL, Prometheus 3 additions, typos) is sent exactly as written, with a note.
//! When nothing changes the original text is sent, never the re-printed one (printing
//! normalises it). Facts behind these rules: shared/notes/promql-fallback.md.
//!
//! Layer 0, a leaf: pure, may use nothing of the crate. Read top-down: this file (rules, notes,
//! the result), `rewrite` (the entry point), `walk` (the match over the AST), `templates` (the
//! nodes it builds), `ast` (reading trees; also the linter's).

mod ast;
pub mod guard;
mod rewrite;
mod templates;
mod walk;

use std::time::Duration;

pub use ast::{metric_name, nodes, selectors};
pub use rewrite::rewrite;

/// The label that marks series of the fallback side; its value lists the missing info metrics
/// (`,pgss_query_info` or `,a_info,b_info`).
pub const MARKER_LABEL: &str = "__info_fallback";

/// What counts as an info metric, and how far to go.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// Metric names that are info metrics although they do not end in `_info`.
    pub info_metrics: Vec<String>,
    /// Treat every metric whose name ends in `_info` as an info metric.
    pub info_suffix: bool,
    /// Rewrite `A / on(K) group_left(L) INFO` too (dividing by 1).
    pub allow_division: bool,
    /// Join against `last_over_time(INFO[window])`, so names survive short exporter outages.
    pub sticky_window: Option<Duration>,
    /// At most this many joins are rewritten in one query.
    pub max_rewrites: usize,
    /// A rewritten query longer than this is abandoned (the original is sent).
    pub max_output_len: usize,
}

/// postgres_exporter's (>= 0.18) and postgres_ai's info metrics, whose names lack `_info`.
pub const DEFAULT_INFO_METRICS: &[&str] = &["pg_stat_statements_query_id", "pgwatch_query_info"];

impl Default for Rules {
    fn default() -> Self {
        Rules {
            info_metrics: DEFAULT_INFO_METRICS.iter().map(|s| s.to_string()).collect(),
            info_suffix: true,
            allow_division: false,
            sticky_window: None,
            max_rewrites: 16,
            max_output_len: 64 * 1024,
        }
    }
}

impl Rules {
    pub fn is_info_metric(&self, name: &str) -> bool {
        (self.info_suffix && name.ends_with("_info")) || self.info_metrics.iter().any(|m| m == name)
    }
}

/// Why a note was written: tests and the editor can tell cases apart without parsing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The join got a fallback.
    Rewritten,
    /// Could not be parsed as PromQL; sent as written.
    NotAnalysed,
    /// An enclosing aggregation groups by a copied label but not by the join key.
    WouldCollapse,
    /// The info selector has a matcher the data side lacks: it filters the data.
    InfoFilters,
    /// Already `(J) or ignoring(L) A`.
    AlreadyHasFallback,
    /// Already `(J) or A`: duplicates while the info metric is present.
    PlainOrDuplicates,
    /// `and`/`unless` with an info metric, or a group_left that copies no label.
    Filter,
    /// `+`, `-`, comparisons...: a fallback would change values.
    ChangesValues,
    /// Division by an info metric, which the settings do not allow.
    DivisionDisabled,
    /// A join without `on(...)`.
    NoJoinKey,
    /// Safety caps: too many joins, output too long, or the output did not re-parse.
    Abandoned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub reason: Reason,
    pub text: String,
}

/// One rewritten join, for the data path (which labels the fallback lacks, what key names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    pub info_metric: String,
    pub copied_labels: Vec<String>,
    pub join_keys: Vec<String>,
}

/// The query to send, and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    pub query: String,
    pub changed: bool,
    pub fallbacks: Vec<Fallback>,
    pub notes: Vec<Note>,
}
