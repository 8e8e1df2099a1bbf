//! The host's state: plugins found in dist/, their running backends, datasources (provisioned,
//! then edited through the API, as Grafana keeps them in its database) and dashboards.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use pgscope::pluginv2;
use serde_json::{json, Value};
use tokio::sync::RwLock;

use crate::backend::Backend;
use crate::plugins::Plugin;
use crate::provisioning::{Dashboard, DatasourceConfig};

pub struct Datasource {
    pub id: i64,
    pub version: i64,
    pub updated_ms: i64,
    pub config: DatasourceConfig,
}

impl Datasource {
    /// What Grafana hands the plugin (adapters.ModelToInstanceSettings).
    pub fn instance_settings(&self) -> pluginv2::DataSourceInstanceSettings {
        pluginv2::DataSourceInstanceSettings {
            id: self.id,
            uid: self.config.uid.clone(),
            name: self.config.name.clone(),
            url: self.config.url.clone(),
            user: String::new(),
            database: String::new(),
            basic_auth_enabled: self.config.basic_auth,
            basic_auth_user: self.config.basic_auth_user.clone(),
            json_data: serde_json::to_vec(&self.config.json_data).unwrap_or_default(),
            decrypted_secure_json_data: self.config.secure_json_data.clone().into_iter().collect(),
            last_updated_ms: self.updated_ms,
            api_version: String::new(),
        }
    }

    /// The datasource as `GET /api/datasources/uid/:uid` shows it: secrets only as "set" flags.
    pub fn api_json(&self) -> Value {
        let secure_fields: BTreeMap<&String, bool> = self.config.secure_json_data.keys().map(|k| (k, true)).collect();
        json!({
            "id": self.id,
            "uid": self.config.uid,
            "orgId": 1,
            "name": self.config.name,
            "type": self.config.plugin_id,
            "access": if self.config.access.is_empty() { "proxy" } else { &self.config.access },
            "url": self.config.url,
            "basicAuth": self.config.basic_auth,
            "basicAuthUser": self.config.basic_auth_user,
            "isDefault": self.config.is_default,
            "jsonData": self.config.json_data,
            "secureJsonFields": secure_fields,
            "readOnly": false,
            "version": self.version,
        })
    }
}

pub struct Host {
    pub plugins: Vec<Plugin>,
    pub backends: HashMap<String, Arc<Backend>>,
    pub datasources: RwLock<Vec<Datasource>>,
    pub dashboards: Vec<Dashboard>,
    /// App plugins enabled by provisioning/plugins (Grafana serves their pages only then).
    pub enabled_apps: Vec<String>,
    /// The built host page (host.js) and the systemjs files.
    pub web_dir: PathBuf,
    pub systemjs_dir: PathBuf,
}

impl Host {
    pub fn plugin(&self, id: &str) -> Option<&Plugin> {
        self.plugins.iter().find(|p| p.id == id)
    }

    /// A plugin's `baseUrl` as Grafana announces it: `public/plugins/<id>`, except that a plugin
    /// nested in an app gets the app's (pkg/plugins bootstrap configureAppChildPlugin:
    /// child.BaseURL = parent.BaseURL), so its own files are under `<baseUrl>/<sub dir>/`.
    pub fn base_url(&self, plugin: &Plugin) -> String {
        format!("public/plugins/{}", self.parent_app(plugin).unwrap_or(plugin).id)
    }

    /// The app a plugin is nested in (its directory inside the app's).
    fn parent_app(&self, plugin: &Plugin) -> Option<&Plugin> {
        self.plugins.iter().find(|p| p.plugin_type == "app" && p.dir != plugin.dir && plugin.dir.starts_with(&p.dir))
    }

    /// A plugin's module.js as Grafana announces it: a plugin nested in an app is loaded from
    /// under the app's path (bootstrap configureAppChildPlugin: `public/plugins/<app id>/<sub
    /// dir>/module.js`), so its files must be served there too; any other from its own.
    pub fn module(&self, plugin: &Plugin) -> String {
        match self.parent_app(plugin) {
            Some(app) => {
                let sub = plugin.dir.strip_prefix(&app.dir).map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default();
                format!("public/plugins/{}/{}/module.js", app.id, sub.trim_matches('/'))
            }
            None => plugin.module(),
        }
    }

    pub fn plugin_context(&self, plugin_id: &str, settings: Option<pluginv2::DataSourceInstanceSettings>) -> pluginv2::PluginContext {
        pluginv2::PluginContext {
            org_id: 1,
            plugin_id: plugin_id.to_string(),
            user: Some(pluginv2::User {
                login: "admin".into(),
                name: "admin".into(),
                email: "admin@localhost".into(),
                role: "Admin".into(),
            }),
            app_instance_settings: None,
            data_source_instance_settings: settings,
            grafana_config: grafana_config(),
            plugin_version: self.plugin(plugin_id).and_then(|p| p.json["info"]["version"].as_str()).unwrap_or_default().to_string(),
            user_agent: format!("Grafana/{} ({}; {})", crate::backend::GRAFANA_VERSION, std::env::consts::OS, go_arch()),
            api_version: String::new(),
        }
    }
}

/// The per-request config Grafana sends every plugin (pkg/services/pluginsintegration/
/// pluginconfig/request.go PluginRequestConfig) with a default grafana.ini: `[datasources]
/// concurrent_query_count` (10), the SQL connection defaults, the data proxy row limit. No
/// `GF_APP_URL`: the stand-in does not know the address it is reached by (Grafana's root_url).
fn grafana_config() -> HashMap<String, String> {
    [
        ("GF_CONCURRENT_QUERY_COUNT", "10"),
        ("GF_SQL_ROW_LIMIT", "1000000"),
        ("GF_SQL_MAX_OPEN_CONNS_DEFAULT", "100"),
        ("GF_SQL_MAX_IDLE_CONNS_DEFAULT", "100"),
        ("GF_SQL_MAX_CONN_LIFETIME_SECONDS_DEFAULT", "14400"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Go's GOARCH for this machine, as in Grafana's user agent.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
