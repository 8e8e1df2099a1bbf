//! pgscope's datasource backend as a library: everything the `gpx_pgscope` plugin binary and the
//! `pgscope` CLI do, in layers. A module imports only from layers below its own (within a
//! folder, sibling modules form no cycle); `tests/layers.rs` holds this.
//!
//! ```text
//! L0 leaves     pluginv2 (the gRPC protocol, generated from proto/backend.proto), duration,
//!               frame, telemetry, failure, wire, promql_text, redact,
//!               fallback/ (the pure rewriter), pgss::catalog (exporter schemas and measures)
//! L1 settings/  jsonData/secureJsonData -> typed, validated settings (no domain, no I/O)
//! L2 prom/      request, HTTP client, one answer layer (values, fast reader, frames, typed readers)
//! L3 domains    promql/ (model, macros, step, templating, frames, fallback answers),
//!               pgss/ (schema, names, analysis, plan, frames, fetch, PostgreSQL names),
//!               stack/ (gather, checks, text, frames)
//! L4 tools      lint, stored (the CLI's dashboard and rule-file work; also resources)
//! L5 app        datasource/ (per-datasource instances, routing, promql runner, health, resources)
//! L6 top        grpc, and the binaries in bin/
//! ```
//!
//! Pure modules hold the logic; `prom::client`, `pgss::fetch`, `pgss::postgres`,
//! `stack::gather`, `datasource` and `grpc` are the I/O shells around them.

// L0
pub mod duration;
pub mod failure;
pub mod fallback;
pub mod frame;
pub mod pluginv2;
pub mod promql_text;
pub mod redact;
pub mod telemetry;
pub mod wire;
// L1
pub mod settings;
// L2
pub mod prom;
// L3
pub mod pgss;
pub mod promql;
pub mod stack;
// L4
pub mod lint;
pub mod stored;
// L5
pub mod datasource;
// L6
pub mod grpc;

/// The version of pgscope, as printed by both binaries.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
