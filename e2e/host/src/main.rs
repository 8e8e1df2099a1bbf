//! The stand-in host's command line (see the library's documentation).
//!
//! Usage: pgscope-host --plugins DIR --provisioning DIR --web DIR --systemjs DIR [--listen ADDR]

use std::path::PathBuf;

use pgscope_e2e_host::{api, build_host, HostPaths};

struct Args {
    listen: String,
    paths: HostPaths,
}

fn parse_args() -> Result<Args, String> {
    let mut listen = "127.0.0.1:3000".to_string();
    let (mut plugins, mut provisioning, mut web, mut systemjs) = (PathBuf::new(), PathBuf::new(), PathBuf::new(), PathBuf::new());
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        let mut value = || iter.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = value()?,
            "--plugins" => plugins = value()?.into(),
            "--provisioning" => provisioning = value()?.into(),
            "--web" => web = value()?.into(),
            "--systemjs" => systemjs = value()?.into(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    for (name, path) in [("--plugins", &plugins), ("--provisioning", &provisioning), ("--web", &web), ("--systemjs", &systemjs)] {
        if !path.is_dir() {
            return Err(format!("{name} {path:?} is not a directory"));
        }
    }
    if !(listen.starts_with("127.") || listen.starts_with("[::1]") || listen.starts_with("localhost:")) {
        return Err(format!("--listen {listen}: the stand-in only binds to loopback"));
    }
    Ok(Args { listen, paths: HostPaths { plugins, provisioning, web, systemjs } })
}

#[tokio::main]
async fn main() {
    if let Err(message) = run().await {
        eprintln!("pgscope-host: {message}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let host = build_host(args.paths).await?;
    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|e| format!("bind {}: {e}", args.listen))?;
    eprintln!("pgscope-host: serving http://{}/", args.listen);
    axum::serve(listener, api::router(host.clone())).with_graceful_shutdown(shutdown_signal()).await.map_err(|e| e.to_string())?;
    // Dropping the host kills the backend processes (kill_on_drop).
    drop(host);
    Ok(())
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match terminate.as_mut() {
                Some(signal) => { signal.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}
