//! Layer 3, a domain: pg_stat_statements analysis. Read top-down: `catalog` (layer 0: the
//! exporter schemas and measures), `schema` (what a TSDB holds, selectors for filters), `names`
//! (statement names), `analysis` (totals, per second and per call, ranking), `plan` (the query
//! JSON and the PromQL it needs), `ranked` (the PromQL that ranks in the TSDB), `frames` (what
//! the panel reads), `fetch` (the requests, with the per-instance `PgssState`), `top`
//! (`pgssTopQueries` ranked in the TSDB), `compare` and `compare_exprs` (a window against
//! another: states, changes and their PromQL), `statement_type`, `tags` and `text_filter` (a
//! statement's type and sqlcommenter tags from its text, and the filters on them) and `postgres`
//! (names from PostgreSQL itself, I/O).
//!
//! May use: the leaves, `settings` and `prom`. Not for: Grafana's query routing (see
//! `datasource`). A facade: the submodules are private but `catalog` (a leaf `settings` reads)
//! and `postgres`; the items below are the API.

pub mod advice;
mod analysis;
pub mod catalog;
pub mod compare;
mod compare_exprs;
pub mod coverage;
mod fetch;
mod frames;
mod names;
mod plan;
pub mod postgres;
mod ranked;
mod schema;
mod statement_type;
mod tags;
mod text_filter;
mod top;
pub mod waits;

pub use analysis::{analyse, rank, totals, Order, Statement, Totals};
pub use catalog::{Kind, Measure, SchemaDef, Source, POSTGRES_EXPORTER, SCHEMAS};
pub use fetch::{one_query, plan_top, schema, schema_from, top_queries_in_plugin, PgssState};
pub use frames::table_frame;
pub use names::{NameSource, Names};
pub use plan::{Span, TopModel, TopPlan, TopQuery};
pub use ranked::{contains_regex, Ranking};
pub use top::top_queries;
pub use schema::{detect, Filters, Schema};
pub use statement_type::{classify, StatementType};
pub use tags::{tags, Tag};
pub use text_filter::TextFilter;
