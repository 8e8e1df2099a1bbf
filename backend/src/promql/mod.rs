//! Layer 3, a domain: the `promql` query type as Grafana's Prometheus datasource answers it.
//! Read top-down: `model` (the query JSON, planned into requests), `macros` (`$__interval` and
//! friends), `step`, `templating` (dashboard variables kept parseable for the linter),
//! `frames` (names, legends, `executedQueryString`) and `fallback_answers` (the fallback's
//! markers stripped from answers, and the notices saying which names are missing).
//!
//! May use: the leaves (`fallback` for the rewrite), `settings` and `prom`. Pure; the requests
//! are sent by `datasource`.

pub mod fallback_answers;
pub mod frames;
pub mod macros;
pub mod model;
pub mod step;
pub mod templating;
