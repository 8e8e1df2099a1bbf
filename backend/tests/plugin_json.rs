//! The three plugin.json files validate against Grafana's own schema
//! (../shared/grafana/plugin.schema.json) and agree with each other and with the packaging.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn plugin_files() -> [(PathBuf, &'static str, &'static str); 3] {
    [
        (root().join("plugin.json"), "pgscope-app", "app"),
        (root().join("backend/plugin.json"), "pgscope-datasource", "datasource"),
        (root().join("frontend/plugin.json"), "pgscope-panel", "panel"),
    ]
}

#[test]
fn every_plugin_json_validates_against_grafanas_schema() {
    let schema = read(&root().join("../shared/grafana/plugin.schema.json"));
    let validator = jsonschema::validator_for(&schema).expect("Grafana's schema compiles");
    for (path, id, plugin_type) in plugin_files() {
        let plugin = read(&path);
        let errors: Vec<String> = validator.iter_errors(&plugin).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        assert_eq!(plugin["id"], id);
        assert_eq!(plugin["type"], plugin_type);
    }
}

#[test]
fn the_schema_check_can_fail() {
    let schema = read(&root().join("../shared/grafana/plugin.schema.json"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut plugin = read(&root().join("backend/plugin.json"));
    plugin["id"] = Value::from("pgscope_datasource");
    assert!(!validator.is_valid(&plugin));
}

#[test]
fn datasource_runs_the_backend_binary_with_alerting_and_metrics() {
    let plugin = read(&root().join("backend/plugin.json"));
    assert_eq!(plugin["backend"], true);
    assert_eq!(plugin["executable"], "gpx_pgscope");
    assert_eq!(plugin["alerting"], true);
    assert_eq!(plugin["metrics"], true);
    assert!(Path::new(env!("CARGO_BIN_EXE_gpx_pgscope")).exists());
}

#[test]
fn the_app_includes_the_datasource_the_panel_and_existing_dashboards() {
    let app = read(&root().join("plugin.json"));
    let includes = app["includes"].as_array().unwrap();
    let types: Vec<&str> = includes.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"datasource") && types.contains(&"panel"), "{types:?}");
    let mut included = Vec::new();
    for include in includes.iter().filter(|i| i["type"] == "dashboard") {
        // dist/pgscope-app/dashboards/ is a copy of provisioning/dashboards/json/.
        let file = include["path"].as_str().unwrap().trim_start_matches("dashboards/");
        let dashboard = read(&root().join("provisioning/dashboards/json").join(file));
        assert!(dashboard["uid"].is_string() && dashboard["panels"].is_array());
        assert_eq!(include["name"], dashboard["title"], "{file}: the include's name is the dashboard's title");
        included.push(file.to_string());
    }
    // And every dashboard shipped is included (else Grafana never imports it).
    let mut files: Vec<String> = std::fs::read_dir(root().join("provisioning/dashboards/json"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|f| f.ends_with(".json"))
        .collect();
    files.sort();
    included.sort();
    assert_eq!(files, included);
    // The app's one page is its root (AppRootPage at /a/<id>), the default entry of its nav section.
    let pages: Vec<&Value> = includes.iter().filter(|i| i["type"] == "page").collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert_eq!(pages[0]["path"], format!("/a/{}", app["id"].as_str().unwrap()));
    assert_eq!((pages[0]["addToNav"].as_bool(), pages[0]["defaultNav"].as_bool()), (Some(true), Some(true)));
}

/// Every dashboard uid reaches Grafana once. The app's `includes` are imported by Grafana's
/// plugindashboards service (General folder, owned by the app, deleted when it is disabled); a
/// file provider under provisioning/dashboards would deliver its own copy, and which one wins
/// would depend on timing. So: each uid once, counted over both routes.
#[test]
fn no_dashboard_uid_is_delivered_twice() {
    let mut delivered: Vec<(String, String)> = Vec::new();
    let app = read(&root().join("plugin.json"));
    for include in app["includes"].as_array().unwrap().iter().filter(|i| i["type"] == "dashboard") {
        let file = include["path"].as_str().unwrap().trim_start_matches("dashboards/");
        let dashboard = read(&root().join("provisioning/dashboards/json").join(file));
        delivered.push((dashboard["uid"].as_str().unwrap().to_string(), format!("app include {file}")));
    }
    assert!(!delivered.is_empty());
    let providers_dir = root().join("provisioning/dashboards");
    for entry in std::fs::read_dir(&providers_dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if !matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            continue; // Grafana reads only the YAML files at the top of provisioning/dashboards
        }
        let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for provider in doc["providers"].as_sequence().into_iter().flatten() {
            let dir = provider["options"]["path"].as_str().unwrap().replace("${GF_PATHS_PROVISIONING}", root().join("provisioning").to_str().unwrap());
            for json in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok).map(|e| e.path()) {
                if json.extension().and_then(|e| e.to_str()) == Some("json") {
                    delivered.push((read(&json)["uid"].as_str().unwrap().to_string(), format!("provider {}", path.display())));
                }
            }
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    for (uid, route) in &delivered {
        if let Some(first) = seen.insert(uid.clone(), route.clone()) {
            panic!("dashboard uid {uid} is delivered twice: {first} and {route}");
        }
    }
}

/// What the catalog reads beside the ids (scripts/check-validator.sh holds the built package to
/// it too): the nested plugins are includes of the app by their path in the package
/// (`includesnested`), and every screenshot plugin.json names is a committed file the e2e specs
/// write (docs/img/), a PNG under 300 KB.
#[test]
fn the_app_declares_its_nested_plugins_by_path_and_names_committed_screenshots() {
    let app = read(&root().join("plugin.json"));
    let includes = app["includes"].as_array().unwrap();
    for (path, plugin_type) in [("datasource/plugin.json", "datasource"), ("panel/plugin.json", "panel")] {
        assert!(
            includes.iter().any(|i| i["path"] == path && i["type"] == plugin_type),
            "the app does not include {path} as a {plugin_type}: {includes:#?}"
        );
    }
    let screenshots = app["info"]["screenshots"].as_array().expect("info.screenshots");
    assert!(screenshots.len() >= 4, "{screenshots:?}");
    for shot in screenshots {
        let file = root().join(shot["path"].as_str().unwrap());
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", file.display());
        assert!(bytes.len() < 300 * 1024, "{} is {} bytes", file.display(), bytes.len());
    }
}
