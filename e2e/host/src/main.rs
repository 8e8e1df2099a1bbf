//! pgscope-host: a stand-in for Grafana's plugin host, for pgscope's e2e tests and demo on
//! machines where no Grafana server can be installed. It honours Grafana's plugin contract
//! (shared/notes/grafana-host-contract.md): loads plugins from a plugins dir, starts backend
//! plugins as Grafana does and speaks pluginv2 gRPC to them, reads provisioning/, serves the HTTP
//! API the plugins' frontends call, and a page that loads their module.js with SystemJS and the
//! real @grafana/* packages. What it does not reproduce is listed in e2e/host/README.md.
//!
//! Usage: pgscope-host --plugins DIR --provisioning DIR --web DIR --systemjs DIR [--listen ADDR]

mod api;
mod backend;
mod plugins;
mod provisioning;
mod state;
mod timerange;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use state::{now_ms, Datasource, Host};
use tokio::sync::RwLock;

struct Args {
    listen: String,
    plugins: PathBuf,
    provisioning: PathBuf,
    web: PathBuf,
    systemjs: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:3000".into(),
        plugins: PathBuf::new(),
        provisioning: PathBuf::new(),
        web: PathBuf::new(),
        systemjs: PathBuf::new(),
    };
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        let mut value = || iter.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => args.listen = value()?,
            "--plugins" => args.plugins = value()?.into(),
            "--provisioning" => args.provisioning = value()?.into(),
            "--web" => args.web = value()?.into(),
            "--systemjs" => args.systemjs = value()?.into(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    for (name, path) in [("--plugins", &args.plugins), ("--provisioning", &args.provisioning), ("--web", &args.web), ("--systemjs", &args.systemjs)] {
        if !path.is_dir() {
            return Err(format!("{name} {:?} is not a directory", path));
        }
    }
    if !args.listen.starts_with("127.") && !args.listen.starts_with("[::1]") && !args.listen.starts_with("localhost:") {
        return Err(format!("--listen {} : the stand-in only binds to loopback", args.listen));
    }
    Ok(args)
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
    let plugins = plugins::discover(&args.plugins)?;
    let provisioning = provisioning::load(&args.provisioning)?;
    for app in &provisioning.apps {
        if !plugins.iter().any(|p| &p.id == app) {
            return Err(format!("provisioned app {app} is not in {}", args.plugins.display()));
        }
    }
    let mut backends = HashMap::new();
    for plugin in &plugins {
        if let Some(executable) = plugin.executable() {
            let version = plugin.json["info"]["version"].as_str().unwrap_or_default();
            let backend = backend::start(&plugin.id, version, &executable).await?;
            eprintln!("pgscope-host: started backend {} ({})", backend.plugin_id, executable.display());
            backends.insert(plugin.id.clone(), backend);
        }
    }
    let datasources = provisioning
        .datasources
        .into_iter()
        .enumerate()
        .map(|(i, config)| Datasource { id: i as i64 + 1, version: 1, updated_ms: now_ms(), config })
        .collect();
    let host = Arc::new(Host {
        plugins,
        backends,
        datasources: RwLock::new(datasources),
        dashboards: provisioning.dashboards,
        web_dir: args.web,
        systemjs_dir: args.systemjs,
    });
    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|e| format!("bind {}: {e}", args.listen))?;
    eprintln!("pgscope-host: serving http://{}/", args.listen);
    axum::serve(listener, api::router(host.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    // Dropping the host kills the backend processes (kill_on_drop).
    drop(host);
    Ok(())
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {}
    }
}
