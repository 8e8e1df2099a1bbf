//! Layer 2, the Prometheus HTTP API: `request` (what to ask), `client` (HTTP: limits, auth,
//! TLS, errors in words a Grafana user can act on), and one answer layer: `value` (sample
//! values), `scan` (the fast one-pass reader of large answers, partly run while an answer
//! arrives), `convert` (answers into Grafana frames, with the TSDB's own error words) and `read`
//! (typed vectors, matrices and label values for pgss and stack health).
//!
//! May use: the leaves and `settings`. Not for: building queries or deciding what to ask
//! (see `promql`, `pgss`, `stack`).

pub mod client;
pub mod convert;
pub mod read;
pub mod request;
pub mod scan;
pub mod value;
