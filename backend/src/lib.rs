//! pgscope's datasource backend as a library: everything the `gpx_pgscope` plugin binary and the
//! `pgscope` CLI do, in modules by concern. Pure modules (`frame`, `prom::convert`, `query`,
//! `settings`, `duration`) hold the logic; `prom::client`, `datasource`, `health` and `grpc` are
//! the I/O shells around them.

pub mod connection;
pub mod datasource;
pub mod duration;
pub mod fallback;
pub mod fallback_data;
pub mod frame;
pub mod grpc;
pub mod health;
pub mod lint;
pub mod macros;
pub mod pgnames;
pub mod pgss;
pub mod pgss_query;
pub mod prom;
pub mod query;
pub mod resources;
pub mod settings;
pub mod stack;
pub mod stored;
pub mod telemetry;
pub mod templating;

/// The version of pgscope, as printed by both binaries.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
