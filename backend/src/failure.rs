//! Layer 0, the one failure of the query path: what went wrong for one query, as Grafana shows it
//! on the panel (message), the HTTP-like status of the data response, and the outcome label of
//! the plugin's own `pgscope_queries_total`. Each layer converts its own errors into it (`From`
//! impls beside those errors: `prom::client`, `promql::model`). Also who is to blame for a
//! failure (`ErrorSource`), which Grafana reads from the data response's `errorSource`.
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

impl QueryFailure {
    /// Who failed, from the outcome: the TSDB (or PostgreSQL) not answering, or not usefully,
    /// is downstream; our limits, the query's own mistakes and the datasource's settings are the
    /// plugin's; for the rest (`tsdb_error`: the TSDB refused with a status) the status decides,
    /// as grafana-plugin-sdk-go's `ErrorSourceFromHTTPStatus` decides for a downstream answer.
    pub fn source(&self) -> ErrorSource {
        match self.outcome {
            "unreachable" | "timeout" | "unauthorized" | "not_prometheus" | "body_error" | "redirected" | "no_data" => ErrorSource::Downstream,
            "bad_query" | "bad_settings" | "too_large" => ErrorSource::Plugin,
            _ => ErrorSource::from_http_status(self.status),
        }
    }
}

/// The `errorSource` of a failed data response (grafana-plugin-sdk-go `backend.ErrorSource`):
/// Grafana counts only `plugin` failures against the plugin in its request metrics and SLOs,
/// and tags `downstream` ones as the datasource's (its TSDB's) failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// pgscope's own failure: a bug, a limit of ours, a query or setting it cannot use.
    Plugin,
    /// The TSDB or PostgreSQL behind the datasource failed or answered with an error.
    Downstream,
}

impl ErrorSource {
    /// The wire value: `"plugin"` or `"downstream"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorSource::Plugin => "plugin",
            ErrorSource::Downstream => "downstream",
        }
    }

    /// grafana-plugin-sdk-go `backend.ErrorSourceFromHTTPStatus`, for a status a downstream
    /// server answered: the codes that say the request itself was wrong (400, 405, 406, 412,
    /// 413, 414, 416, 417, 426, 431, 501) are the plugin's, every other one is downstream.
    pub fn from_http_status(status: u16) -> ErrorSource {
        match status {
            400 | 405 | 406 | 412 | 413 | 414 | 416 | 417 | 426 | 431 | 501 => ErrorSource::Plugin,
            _ => ErrorSource::Downstream,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ErrorSource, QueryFailure};

    #[test]
    fn sources_follow_the_sdk_status_table_and_the_outcome() {
        use ErrorSource::{Downstream, Plugin};
        for (status, source) in [(400, Plugin), (413, Plugin), (501, Plugin), (401, Downstream), (404, Downstream), (422, Downstream), (429, Downstream), (500, Downstream), (502, Downstream), (503, Downstream), (504, Downstream)] {
            assert_eq!(ErrorSource::from_http_status(status), source, "{status}");
        }
        // The TSDB's own refusals: a 5xx is its failure, a 400 to what we sent is ours.
        assert_eq!(QueryFailure::tsdb(503, "overloaded").source(), Downstream);
        assert_eq!(QueryFailure::tsdb(422, "execution").source(), Downstream);
        assert_eq!(QueryFailure::tsdb(400, "parse error").source(), Plugin);
        // Not answering at all is downstream whatever status we chose for it.
        for outcome in ["unreachable", "timeout", "unauthorized", "not_prometheus", "body_error", "redirected", "no_data"] {
            assert_eq!(QueryFailure::new(outcome, 400, "x").source(), Downstream, "{outcome}");
        }
        for outcome in ["bad_query", "bad_settings", "too_large"] {
            assert_eq!(QueryFailure::new(outcome, 502, "x").source(), Plugin, "{outcome}");
        }
        assert_eq!((Plugin.as_str(), Downstream.as_str()), ("plugin", "downstream"));
    }
}
