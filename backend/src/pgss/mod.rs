//! Layer 3, a domain: pg_stat_statements analysis. Read top-down: `catalog` (layer 0: the
//! exporter schemas and measures), `schema` (what a TSDB holds, selectors for filters), `names`
//! (statement names), `analysis` (totals, per second and per call, ranking), `plan` (the query
//! JSON and the PromQL it needs), `frames` (what the panel reads), `fetch` (the requests, with
//! the per-instance `PgssState`) and `postgres` (names from PostgreSQL itself, I/O).
//!
//! May use: the leaves, `settings` and `prom`. Not for: Grafana's query routing (see
//! `datasource`). A facade: the submodules are private but `catalog` (a leaf `settings` reads)
//! and `postgres`; the items below are the API.

mod analysis;
pub mod catalog;
mod fetch;
mod frames;
mod names;
mod plan;
pub mod postgres;
mod schema;

pub use analysis::{analyse, rank, totals, Order, Statement, Totals};
pub use catalog::{Kind, Measure, SchemaDef, Source, POSTGRES_EXPORTER, SCHEMAS};
pub use fetch::{one_query, plan_top, schema, top_queries, PgssState};
pub use frames::table_frame;
pub use names::{NameSource, Names};
pub use plan::{Span, TopModel, TopPlan, TopQuery};
pub use schema::{detect, Filters, Schema};
