//! Reads Grafana provisioning files the way Grafana does (pkg/services/provisioning): datasources
//! YAML (`apiVersion: 1`, `datasources: [...]`), dashboard providers (`providers: [{type: file,
//! options: {path}}]`) and apps (`apps: [{type}]`), with `$VAR` / `${VAR}` environment
//! interpolation of values (`$$` is a literal `$`). Not for: serving them (see `api`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DatasourceConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub plugin_id: String,
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub access: String,
    #[serde(default)]
    pub basic_auth: bool,
    #[serde(default)]
    pub basic_auth_user: String,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub json_data: serde_json::Map<String, Value>,
    #[serde(default)]
    pub secure_json_data: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub uid: String,
    pub title: String,
    pub folder: String,
    pub json: Value,
}

#[derive(Debug, Default)]
pub struct Provisioning {
    pub datasources: Vec<DatasourceConfig>,
    pub dashboards: Vec<Dashboard>,
    pub apps: Vec<String>,
}

#[derive(Deserialize)]
struct DatasourcesFile {
    #[serde(default)]
    datasources: Vec<DatasourceConfig>,
}

#[derive(Deserialize)]
struct DashboardsFile {
    #[serde(default)]
    providers: Vec<Provider>,
}

#[derive(Deserialize)]
struct Provider {
    #[serde(default)]
    folder: String,
    #[serde(rename = "type", default)]
    provider_type: String,
    options: ProviderOptions,
}

#[derive(Deserialize)]
struct ProviderOptions {
    path: String,
}

#[derive(Deserialize)]
struct AppsFile {
    #[serde(default)]
    apps: Vec<AppConfig>,
}

#[derive(Deserialize)]
struct AppConfig {
    #[serde(rename = "type")]
    app_type: String,
    #[serde(default)]
    disabled: bool,
}

/// Replaces `$VAR` and `${VAR}` with the environment's value (empty when unset); `$$` is `$`.
pub fn interpolate(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek().map(|&(_, next)| next) {
            Some('$') => {
                chars.next();
                out.push('$');
            }
            Some('{') => match text[i + 2..].find('}') {
                Some(end) => {
                    let name = &text[i + 2..i + 2 + end];
                    out.push_str(&lookup(name).unwrap_or_default());
                    while chars.peek().is_some_and(|&(j, _)| j <= i + 2 + end) {
                        chars.next();
                    }
                }
                None => out.push('$'),
            },
            Some(next) if next == '_' || next.is_ascii_alphabetic() => {
                let mut name = String::new();
                while let Some(&(_, n)) = chars.peek() {
                    if n == '_' || n.is_ascii_alphanumeric() {
                        name.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push_str(&lookup(&name).unwrap_or_default());
            }
            _ => out.push('$'),
        }
    }
    out
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")));
    files.sort();
    files
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_yaml::from_str(&interpolate(&text, &env_lookup)).map_err(|e| format!("{}: {e}", path.display()))
}

/// Loads `<dir>/datasources`, `<dir>/dashboards` and `<dir>/plugins`.
pub fn load(dir: &Path) -> Result<Provisioning, String> {
    let mut provisioning = Provisioning::default();
    for file in yaml_files(&dir.join("datasources")) {
        let parsed: DatasourcesFile = read_yaml(&file)?;
        for mut ds in parsed.datasources {
            if ds.uid.is_empty() {
                ds.uid = ds.name.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-");
            }
            provisioning.datasources.push(ds);
        }
    }
    for file in yaml_files(&dir.join("dashboards")) {
        let parsed: DashboardsFile = read_yaml(&file)?;
        for provider in parsed.providers.into_iter().filter(|p| p.provider_type.is_empty() || p.provider_type == "file") {
            let path = PathBuf::from(&provider.options.path);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|e| format!("dashboard provider path {}: {e}", path.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
                let json: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
                let uid = json["uid"].as_str().unwrap_or_default().to_string();
                let title = json["title"].as_str().unwrap_or_default().to_string();
                provisioning.dashboards.push(Dashboard { uid, title, folder: provider.folder.clone(), json });
            }
        }
    }
    for file in yaml_files(&dir.join("plugins")) {
        let parsed: AppsFile = read_yaml(&file)?;
        provisioning.apps.extend(parsed.apps.into_iter().filter(|a| !a.disabled).map(|a| a.app_type));
    }
    Ok(provisioning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_like_grafana() {
        let lookup = |name: &str| match name {
            "URL" => Some("http://127.0.0.1:8428".to_string()),
            "PORT" => Some("9090".to_string()),
            _ => None,
        };
        assert_eq!(interpolate("url: ${URL}", &lookup), "url: http://127.0.0.1:8428");
        assert_eq!(interpolate("http://localhost:$PORT/x", &lookup), "http://localhost:9090/x");
        assert_eq!(interpolate("cost: $$5 $UNSET.", &lookup), "cost: $5 .");
        assert_eq!(interpolate("${URL}${PORT}", &lookup), "http://127.0.0.1:84289090");
        assert_eq!(interpolate("trailing $", &lookup), "trailing $");
        assert_eq!(interpolate("${unclosed", &lookup), "${unclosed");
        assert_eq!(interpolate("ünïcode ${PORT} ✓", &lookup), "ünïcode 9090 ✓");
    }

    #[test]
    fn loads_the_projects_provisioning() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../provisioning");
        std::env::set_var("PGSCOPE_TSDB_URL", "http://127.0.0.1:8428");
        std::env::set_var("GF_PATHS_PROVISIONING", &dir);
        let provisioning = load(&dir).unwrap();
        let ds = &provisioning.datasources[0];
        assert_eq!((ds.plugin_id.as_str(), ds.uid.as_str(), ds.url.as_str()), ("pgscope-datasource", "pgscope", "http://127.0.0.1:8428"));
        // pgscope's dashboards come with the app (plugin.json includes), not from a provider.
        assert!(provisioning.dashboards.is_empty());
        assert_eq!(provisioning.apps, ["pgscope-app"]);
    }
}
