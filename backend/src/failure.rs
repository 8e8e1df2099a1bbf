//! Layer 0, the one failure of the query path: what went wrong for one query, as Grafana shows it
//! on the panel (message), the HTTP-like status of the data response, and the outcome label of
//! the plugin's own `pgscope_queries_total`. Each layer converts its own errors into it (`From`
//! impls beside those errors: `prom::client`, `promql::model`).
//!
//! May use: nothing of the crate.

/// One query's failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFailure {
    /// The `outcome` label of own metrics: `bad_query`, `tsdb_error`, `timeout`, ...
    pub outcome: &'static str,
    pub status: u16,
    pub message: String,
}

impl QueryFailure {
    pub fn new(outcome: &'static str, status: u16, message: impl Into<String>) -> QueryFailure {
        QueryFailure { outcome, status, message: message.into() }
    }

    /// The query itself is wrong (its JSON, a setting of it, its time range): 400.
    pub fn bad_query(message: impl Into<String>) -> QueryFailure {
        QueryFailure::new("bad_query", 400, message)
    }

    /// The TSDB answered, but not with what was asked: its own words when it gave them.
    pub fn tsdb(status: u16, message: impl Into<String>) -> QueryFailure {
        QueryFailure::new("tsdb_error", status, message)
    }
}

impl std::fmt::Display for QueryFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
