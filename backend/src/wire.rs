//! Layer 0, the wire names: the words Grafana, the panel and dashboards exchange with the
//! backend, parsed in one place. Query types (the query JSON's `queryType`), fallback modes
//! (`fallbackMode` in jsonData, `fallback` in a query) and the frame kinds the panel recognises
//! (`meta.custom.pgscope`). A misspelt word gets the full list of valid ones.
//!
//! May use: nothing of the crate. Not for: what a query type does (see `datasource`).

/// The query types the datasource answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryType {
    /// PromQL, shaped like Grafana's Prometheus datasource (also an empty `queryType`).
    Promql,
    /// The monitoring stack's checks and sparklines.
    StackHealth,
    /// Top statements over the range, one wide table.
    PgssTopQueries,
    /// One statement's series for the detail view.
    PgssQuery,
}

impl QueryType {
    pub const ALL: [QueryType; 4] = [QueryType::Promql, QueryType::StackHealth, QueryType::PgssTopQueries, QueryType::PgssQuery];

    /// The name as the query JSON spells it (also the `query_type` label of own metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            QueryType::Promql => "promql",
            QueryType::StackHealth => "stackHealth",
            QueryType::PgssTopQueries => "pgssTopQueries",
            QueryType::PgssQuery => "pgssQuery",
        }
    }

    /// `""` is PromQL, as in Grafana's Prometheus datasource; anything unknown is an error
    /// naming every supported type.
    pub fn parse(text: &str) -> Result<QueryType, String> {
        if text.is_empty() {
            return Ok(QueryType::Promql);
        }
        QueryType::ALL.into_iter().find(|t| t.as_str() == text).ok_or_else(|| {
            let known: Vec<&str> = QueryType::ALL.iter().map(|t| t.as_str()).collect();
            format!("query type {text:?} is not supported by this datasource (supported: {})", known.join(", "))
        })
    }
}

/// Whether info joins get an `or` fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackMode {
    Auto,
    Off,
}

impl FallbackMode {
    /// `Ok(None)` for an empty text (the datasource's setting applies), else auto or off.
    pub fn parse(text: &str) -> Result<Option<FallbackMode>, String> {
        match text.trim() {
            "" => Ok(None),
            "auto" => Ok(Some(FallbackMode::Auto)),
            "off" => Ok(Some(FallbackMode::Off)),
            other => Err(format!("{other:?} is neither auto nor off")),
        }
    }
}

/// Frame kinds (`meta.custom.pgscope`) the panel draws: the stack checks table and its
/// sparklines, the pgss top table and sparklines, one statement's series.
pub const FRAME_KIND_STACK_CHECKS: &str = "stackHealth";
pub const FRAME_KIND_STACK_SPARKLINE: &str = "stackHealth.sparkline";
pub const FRAME_KIND_PGSS_TOP: &str = "pgss.top";
pub const FRAME_KIND_PGSS_SPARKLINE: &str = "pgss.sparkline";
pub const FRAME_KIND_PGSS_QUERY: &str = "pgss.query";
pub const FRAME_KIND_PGSS_SERIES: &str = "pgss.series";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_types_round_trip_and_unknown_ones_list_all() {
        for t in QueryType::ALL {
            assert_eq!(QueryType::parse(t.as_str()), Ok(t));
        }
        assert_eq!(QueryType::parse(""), Ok(QueryType::Promql));
        let error = QueryType::parse("pgssTopQuery").unwrap_err();
        assert!(error.contains("\"pgssTopQuery\"") && error.contains("promql, stackHealth, pgssTopQueries, pgssQuery"), "{error}");
    }

    #[test]
    fn fallback_modes() {
        assert_eq!(FallbackMode::parse(" "), Ok(None));
        assert_eq!(FallbackMode::parse("auto"), Ok(Some(FallbackMode::Auto)));
        assert_eq!(FallbackMode::parse(" off "), Ok(Some(FallbackMode::Off)));
        assert!(FallbackMode::parse("sometimes").unwrap_err().contains("neither auto nor off"));
    }
}
