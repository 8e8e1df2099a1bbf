//! The host's state: plugins found in dist/, their running backends, datasources (provisioned,
//! then edited through the API, as Grafana keeps them in its database) and dashboards.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use grafana_plugin_sdk::pluginv2;
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
    pub backends: HashMap<String, Backend>,
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
        let parent = self.plugins.iter().find(|p| p.plugin_type == "app" && p.dir != plugin.dir && plugin.dir.starts_with(&p.dir));
        format!("public/plugins/{}", parent.unwrap_or(plugin).id)
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
        }
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
