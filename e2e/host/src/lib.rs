//! pgscope-host: a stand-in for Grafana's plugin host, for pgscope's e2e tests and demo on
//! machines where no Grafana server can be installed. It honours Grafana's plugin contract
//! (shared/notes/grafana-host-contract.md): loads plugins from a plugins dir, starts backend
//! plugins as Grafana does and speaks pluginv2 gRPC to them, reads provisioning/, serves the HTTP
//! API the plugins' frontends call, and a page that loads their module.js with SystemJS and the
//! real @grafana/* packages. What it does not reproduce is listed in e2e/host/README.md.

pub mod api;
pub mod backend;
pub mod plugins;
pub mod provisioning;
pub mod state;
pub mod timerange;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use state::{now_ms, Datasource, Host};
use tokio::sync::RwLock;

/// Where the host finds what it serves.
pub struct HostPaths {
    pub plugins: PathBuf,
    pub provisioning: PathBuf,
    pub web: PathBuf,
    pub systemjs: PathBuf,
}

/// Discovers plugins, reads provisioning and starts every backend plugin.
pub async fn build_host(paths: HostPaths) -> Result<Arc<Host>, String> {
    let plugins = plugins::discover(&paths.plugins)?;
    let provisioning = provisioning::load(&paths.provisioning)?;
    for app in &provisioning.apps {
        if !plugins.iter().any(|p| &p.id == app) {
            return Err(format!("provisioned app {app} is not in {}", paths.plugins.display()));
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
    Ok(Arc::new(Host {
        plugins,
        backends,
        datasources: RwLock::new(datasources),
        dashboards: provisioning.dashboards,
        enabled_apps: provisioning.apps,
        web_dir: paths.web,
        systemjs_dir: paths.systemjs,
    }))
}
