//! Compiles the plugin protocol (proto/backend.proto, package `pluginv2`) into Rust at build
//! time: `protox` parses it (a protobuf compiler written in Rust: no `protoc` binary needed),
//! tonic-build writes the prost messages and the gRPC servers and clients into OUT_DIR, where
//! `src/pluginv2.rs` includes them.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const PROTO: &str = "proto/backend.proto";
    println!("cargo:rerun-if-changed={PROTO}");
    let descriptors = protox::compile([PROTO], ["proto"])?;
    tonic_build::configure()
        .build_server(true)
        .build_client(true)
        // Resource bodies as `bytes::Bytes`, handed to and from HTTP bodies without a copy.
        .bytes([".pluginv2.CallResourceRequest", ".pluginv2.CallResourceResponse"])
        .compile_fds(descriptors)?;
    Ok(())
}
