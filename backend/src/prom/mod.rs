//! Talking to a Prometheus-compatible HTTP API: the client (`client`) and the conversion of its
//! JSON answers into Grafana frames (`convert`, with `scan` its fast reader for large answers,
//! partly run while an answer arrives). Not for: building queries or deciding what to
//! ask (see `query`, `health`).

pub mod client;
pub mod convert;
pub mod scan;
