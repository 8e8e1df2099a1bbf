//! The datasource plugin executable Grafana starts (`gpx_pgscope_<os>_<arch>`): prints the
//! go-plugin handshake line, then serves pluginv2 gRPC until Grafana kills it.

use pgscope::pluginv2::{data_server::DataServer, diagnostics_server::DiagnosticsServer, resource_server::ResourceServer};
use pgscope::grpc::PluginServices;
use tracing_subscriber::{prelude::*, EnvFilter};

// A large answer is thousands of short-lived buffers (frames, their Arrow files, the gRPC message)
// every query; glibc's allocator hands that memory back to the kernel and faults it in again each
// time (measured with `make bench`, README "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go to stderr in hclog's format; stdout carries only the handshake line.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,h2=info,hyper=info"));
    tracing_subscriber::registry().with(grafana_plugin_sdk::backend::layer()).with(filter).init();

    let listener = grafana_plugin_sdk::backend::initialize().await?;
    let services = PluginServices::default();
    // Small answers must not wait for Nagle's algorithm on Grafana's connection.
    let incoming = tokio_stream::StreamExt::map(tokio_stream::wrappers::TcpListenerStream::new(listener), |stream| {
        stream.inspect(|s| {
            let _ = s.set_nodelay(true);
        })
    });
    let (mut health, health_service) = tonic_health::server::health_reporter();
    // go-plugin's host pings the service named "plugin".
    health.set_service_status("plugin", tonic_health::ServingStatus::Serving).await;
    tracing::info!(version = pgscope::VERSION, "pgscope datasource serving");
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(DataServer::new(services.clone()))
        .add_service(DiagnosticsServer::new(services.clone()))
        .add_service(ResourceServer::new(services))
        .serve_with_incoming(incoming)
        .await?;
    Ok(())
}
