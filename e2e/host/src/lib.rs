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
    let dashboards = with_app_dashboards(provisioning.dashboards, &plugins, &provisioning.apps)?;
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
        dashboards,
        enabled_apps: provisioning.apps,
        web_dir: paths.web,
        systemjs_dir: paths.systemjs,
    }))
}

/// The dashboards an enabled app includes (plugin.json `includes` of type dashboard, paths
/// relative to the app's directory), added as Grafana's plugindashboards service imports them at
/// start-up: into the General folder, owned by the app. A uid delivered twice (by a provider and
/// by an app, or twice by apps) is refused: in Grafana which copy wins depends on timing.
fn with_app_dashboards(
    mut dashboards: Vec<provisioning::Dashboard>,
    plugins: &[plugins::Plugin],
    enabled_apps: &[String],
) -> Result<Vec<provisioning::Dashboard>, String> {
    for app in plugins.iter().filter(|p| p.plugin_type == "app" && enabled_apps.contains(&p.id)) {
        let includes = app.json["includes"].as_array().cloned().unwrap_or_default();
        for include in includes.iter().filter(|i| i["type"] == "dashboard") {
            let path = app.dir.join(include["path"].as_str().unwrap_or_default());
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{} dashboard {}: {e}", app.id, path.display()))?;
            let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let uid = json["uid"].as_str().unwrap_or_default().to_string();
            let title = json["title"].as_str().unwrap_or_default().to_string();
            dashboards.push(provisioning::Dashboard { uid, title, folder: "General".into(), json });
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for d in &dashboards {
        if !seen.insert(d.uid.as_str()) {
            return Err(format!("dashboard uid {} is delivered twice (a dashboard provider and an app's includes?)", d.uid));
        }
    }
    Ok(dashboards)
}
