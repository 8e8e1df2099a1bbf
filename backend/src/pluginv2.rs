//! Layer 0, the plugin protocol: Grafana's `pluginv2` gRPC messages, servers and clients,
//! generated at build time (build.rs) from the project's own `proto/backend.proto`, which
//! follows Grafana 11/12's field numbers (the grafana-plugin-sdk 0.5.0 crate's copy is older:
//! no `errorSource`, no `grafanaConfig`). The stand-in host and the tests use the same module.
//!
//! May use: nothing of the crate.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

tonic::include_proto!("pluginv2");
