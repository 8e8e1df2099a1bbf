//! One request to a Prometheus-compatible query API, as planned by `promql` and sent by
//! `client`. Data only.

use std::time::Duration;

/// One request to make to the TSDB.
#[derive(Debug, Clone, PartialEq)]
pub enum PromRequest {
    Range { expr: String, start: f64, end: f64, step: Duration },
    Instant { expr: String, time: f64 },
}
