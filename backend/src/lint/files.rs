//! What `pgscope lint` reads, as it matters to the linter: dashboards (every target with the
//! datasource it goes through, and the query variables), Prometheus/vmalert rule files and
//! Grafana-managed rule files (every query, annotation and label template), Grafana datasource
//! provisioning (uid -> type and fallback setting) and scrape configs (target labels). Folders
//! are walked; files of other kinds found in a folder are skipped. Pure over texts, except
//! `load`, which reads the paths.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub const PGSCOPE_TYPE: &str = "pgscope-datasource";

/// A datasource Grafana provisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datasource {
    pub uid: String,
    pub name: String,
    pub kind: String,
    pub fallback_off: bool,
    pub is_default: bool,
}

/// Whether a query goes through pgscope's datasource with its fallback on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// pgscope rewrites its info joins: how we know.
    Protected(String),
    /// Not pgscope, pgscope with the fallback off, or unknown.
    Plain,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Target,
    AlertRule,
    RecordingRule,
    GrafanaRule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub file: String,
    /// `panel 3 "Calls/s" target A`, `group g rule R`, `group g rule R query A`.
    pub location: String,
    pub expr: String,
    pub route: Route,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub file: String,
    /// `group g rule R annotation summary`.
    pub location: String,
    pub text: String,
    /// Some(refIds) for a Grafana-managed rule.
    pub grafana_ref_ids: Option<Vec<String>>,
    /// The template's first line in the file, when found.
    pub file_line: Option<usize>,
}

/// A dashboard variable that asks the TSDB for its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub file: String,
    pub location: String,
    pub query: String,
}

#[derive(Debug, Clone, Default)]
pub struct Workspace {
    pub queries: Vec<Query>,
    pub templates: Vec<Template>,
    pub variables: Vec<Variable>,
    pub datasources: Vec<Datasource>,
    /// Labels scrape configs add to their targets.
    pub target_labels: Vec<String>,
    /// Files read, and files skipped with why.
    pub read: Vec<String>,
    pub skipped: Vec<(String, String)>,
}

/// Reads `paths` (files or folders). A named file that is none of the known kinds is an error;
/// in a folder it is skipped.
pub fn load(paths: &[String]) -> Result<Workspace, String> {
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    for path in paths {
        let path = PathBuf::from(path);
        if path.is_dir() {
            let mut found = Vec::new();
            walk(&path, &mut found).map_err(|e| format!("{}: {e}", path.display()))?;
            found.sort();
            files.extend(found.into_iter().map(|f| (f, false)));
        } else {
            files.push((path, true));
        }
    }
    let mut texts = Vec::new();
    for (path, named) in files {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        texts.push((path.display().to_string(), text, named));
    }
    read_texts(&texts)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("json" | "yml" | "yaml")) {
            out.push(path);
        }
    }
    Ok(())
}

enum Parsed {
    Dashboard(Value),
    Rules(serde_yaml::Value),
    Datasources(serde_yaml::Value),
    ScrapeConfig(serde_yaml::Value),
    Other(String),
}

fn classify(file: &str, text: &str) -> Result<Parsed, String> {
    if file.ends_with(".json") {
        let json: Value = serde_json::from_str(text).map_err(|e| format!("{file}: not JSON: {e}"))?;
        let dashboard = if json.get("dashboard").is_some() { &json["dashboard"] } else { &json };
        return Ok(if dashboard.get("panels").is_some() || dashboard.get("rows").is_some() {
            Parsed::Dashboard(dashboard.clone())
        } else {
            Parsed::Other("JSON without panels: not a dashboard".into())
        });
    }
    if file.ends_with(".yml") || file.ends_with(".yaml") {
        let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| format!("{file}: not YAML: {e}"))?;
        return Ok(if doc.get("groups").is_some() {
            Parsed::Rules(doc)
        } else if doc.get("datasources").is_some() {
            Parsed::Datasources(doc)
        } else if doc.get("scrape_configs").is_some() {
            Parsed::ScrapeConfig(doc)
        } else {
            Parsed::Other("YAML with no `groups:`, `datasources:` or `scrape_configs:`".into())
        });
    }
    Ok(Parsed::Other("expected a dashboard (.json) or a rule file (.yml, .yaml)".into()))
}

/// `(file name, text, named on the command line)` -> what the linter needs.
pub fn read_texts(texts: &[(String, String, bool)]) -> Result<Workspace, String> {
    let mut workspace = Workspace::default();
    let mut parsed = Vec::new();
    for (file, text, named) in texts {
        match classify(file, text)? {
            Parsed::Other(why) if *named => return Err(format!("{file}: {why}")),
            Parsed::Other(why) => workspace.skipped.push((file.clone(), why)),
            Parsed::Datasources(doc) => {
                workspace.datasources.extend(datasources(&doc));
                workspace.read.push(file.clone());
            }
            Parsed::ScrapeConfig(doc) => {
                workspace.target_labels.extend(target_labels(&doc));
                workspace.read.push(file.clone());
            }
            other => parsed.push((file.clone(), text.clone(), other)),
        }
    }
    workspace.target_labels.sort();
    workspace.target_labels.dedup();
    for (file, text, doc) in parsed {
        match doc {
            Parsed::Dashboard(json) => dashboard(&file, &json, &mut workspace),
            Parsed::Rules(yaml) => rules(&file, &text, &yaml, &mut workspace)?,
            _ => {}
        }
        workspace.read.push(file);
    }
    Ok(workspace)
}

fn datasources(doc: &serde_yaml::Value) -> Vec<Datasource> {
    let str_of = |v: &serde_yaml::Value, key: &str| v.get(key).and_then(|x| x.as_str()).unwrap_or_default().to_string();
    doc.get("datasources")
        .and_then(|d| d.as_sequence())
        .into_iter()
        .flatten()
        .map(|d| Datasource {
            uid: str_of(d, "uid"),
            name: str_of(d, "name"),
            kind: str_of(d, "type"),
            fallback_off: d.get("jsonData").and_then(|j| j.get("fallbackMode")).and_then(|m| m.as_str()).map(str::trim) == Some("off"),
            is_default: d.get("isDefault").and_then(|b| b.as_bool()).unwrap_or(false),
        })
        .collect()
}

/// Static target labels and relabelling target labels of a Prometheus/vmagent scrape config.
fn target_labels(doc: &serde_yaml::Value) -> Vec<String> {
    let mut out = Vec::new();
    for job in doc.get("scrape_configs").and_then(|s| s.as_sequence()).into_iter().flatten() {
        for (key, value) in job.as_mapping().into_iter().flatten() {
            let key = key.as_str().unwrap_or_default();
            if key.ends_with("_configs") && key != "relabel_configs" && key != "metric_relabel_configs" {
                for config in value.as_sequence().into_iter().flatten() {
                    for label in config.get("labels").and_then(|l| l.as_mapping()).into_iter().flatten() {
                        out.extend(label.0.as_str().map(String::from));
                    }
                }
            }
        }
        for relabel in job.get("relabel_configs").and_then(|r| r.as_sequence()).into_iter().flatten() {
            if let Some(target) = relabel.get("target_label").and_then(|t| t.as_str()) {
                if !target.starts_with("__") {
                    out.push(target.to_string());
                }
            }
        }
    }
    out
}

/// A dashboard variable's name in `${name}`, `${name:fmt}`, `$name`, `[[name]]`.
fn variable_name(text: &str) -> Option<&str> {
    let name = if let Some(inner) = text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
        inner.split(':').next().unwrap_or(inner)
    } else if let Some(inner) = text.strip_prefix("[[").and_then(|t| t.strip_suffix("]]")) {
        inner
    } else {
        text.strip_prefix('$')?
    };
    (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')).then_some(name)
}

struct Resolver<'a> {
    datasources: &'a [Datasource],
    /// Dashboard variables of type datasource: name -> plugin type they list.
    variables: BTreeMap<String, String>,
}

impl Resolver<'_> {
    /// The route of a query whose datasource reference is `reference` and whose own `fallback`
    /// (a target's or a Grafana rule query's) is `fallback`.
    fn route(&self, reference: Option<&Value>, fallback: Option<&str>) -> Route {
        if fallback.map(str::trim) == Some("off") {
            return Route::Plain;
        }
        let (kind, uid) = match reference {
            Some(Value::Object(map)) => (map.get("type").and_then(Value::as_str), map.get("uid").and_then(Value::as_str)),
            Some(Value::String(text)) => (None, Some(text.as_str())),
            _ => (None, None),
        };
        if let Some(uid) = uid {
            if let Some(name) = variable_name(uid) {
                if self.variables.get(name).map(String::as_str) == Some(PGSCOPE_TYPE) {
                    return Route::Protected(format!("its datasource ${{{name}}} lists {PGSCOPE_TYPE} datasources only"));
                }
            } else if let Some(ds) = self.datasources.iter().find(|d| d.uid == uid || d.name == uid) {
                return self.provisioned(ds);
            }
        }
        if kind == Some(PGSCOPE_TYPE) {
            return Route::Protected(format!("its datasource is of type {PGSCOPE_TYPE}"));
        }
        if reference.is_none_or(Value::is_null) {
            if let Some(ds) = self.datasources.iter().find(|d| d.is_default) {
                return self.provisioned(ds);
            }
        }
        Route::Plain
    }

    fn provisioned(&self, ds: &Datasource) -> Route {
        if ds.kind == PGSCOPE_TYPE && !ds.fallback_off {
            Route::Protected(format!("its datasource (uid {}) is pgscope with the fallback on", ds.uid))
        } else {
            Route::Plain
        }
    }
}

fn dashboard(file: &str, dashboard: &Value, workspace: &mut Workspace) {
    let mut resolver = Resolver { datasources: &workspace.datasources, variables: BTreeMap::new() };
    let variables: Vec<&Value> = dashboard["templating"]["list"].as_array().into_iter().flatten().collect();
    for variable in &variables {
        if variable["type"] == "datasource" {
            if let (Some(name), Some(kind)) = (variable["name"].as_str(), variable["query"].as_str()) {
                resolver.variables.insert(name.to_string(), kind.to_string());
            }
        }
    }
    let mut out = Vec::new();
    let mut asks = Vec::new();
    for variable in &variables {
        if variable["type"] != "query" {
            continue;
        }
        let query = match &variable["query"] {
            Value::String(text) => text.clone(),
            Value::Object(map) => map.get("query").and_then(Value::as_str).unwrap_or_default().to_string(),
            _ => String::new(),
        };
        let is_prometheus_like = match resolver.route(variable.get("datasource"), None) {
            Route::Protected(_) => true,
            Route::Plain => {
                let kind = variable["datasource"]["type"].as_str().unwrap_or("prometheus");
                kind == "prometheus" || kind == PGSCOPE_TYPE
            }
        };
        if !query.trim().is_empty() && is_prometheus_like {
            asks.push(Variable { file: file.to_string(), location: format!("variable {}", variable["name"].as_str().unwrap_or("?")), query });
        }
    }
    let mut panels: Vec<&Value> = dashboard["panels"].as_array().into_iter().flatten().collect();
    for row in dashboard["rows"].as_array().into_iter().flatten() {
        panels.extend(row["panels"].as_array().into_iter().flatten());
    }
    while let Some(panel) = panels.pop() {
        panels.extend(panel["panels"].as_array().into_iter().flatten());
        for target in panel["targets"].as_array().into_iter().flatten() {
            let Some(expr) = target["expr"].as_str() else { continue };
            let panel_ds = panel.get("datasource").filter(|d| !d.is_null() && d["uid"] != "-- Mixed --");
            let reference = target.get("datasource").filter(|d| !d.is_null()).or(panel_ds);
            out.push(Query {
                file: file.to_string(),
                location: format!(
                    "panel {} {:?} target {}",
                    panel["id"].as_i64().unwrap_or_default(),
                    panel["title"].as_str().unwrap_or_default(),
                    target["refId"].as_str().unwrap_or("?")
                ),
                expr: expr.to_string(),
                route: resolver.route(reference, target["fallback"].as_str()),
                kind: Kind::Target,
            });
        }
    }
    out.sort_by(|a, b| a.location.cmp(&b.location));
    workspace.queries.extend(out);
    workspace.variables.extend(asks);
}

fn rules(file: &str, text: &str, doc: &serde_yaml::Value, workspace: &mut Workspace) -> Result<(), String> {
    let groups = doc.get("groups").and_then(|g| g.as_sequence()).ok_or(format!("{file}: not a rule file: `groups:` is not a list"))?;
    let resolver = Resolver { datasources: &workspace.datasources, variables: BTreeMap::new() };
    let mut queries = Vec::new();
    let mut templates = Vec::new();
    for group in groups {
        let group_name = group.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        for rule in group.get("rules").and_then(|r| r.as_sequence()).into_iter().flatten() {
            let name = rule.get("alert").or_else(|| rule.get("record")).or_else(|| rule.get("title")).and_then(|n| n.as_str()).unwrap_or("?");
            let location = format!("group {group_name} rule {name}");
            let data: Vec<&serde_yaml::Value> = rule.get("data").and_then(|d| d.as_sequence()).into_iter().flatten().collect();
            let grafana = !data.is_empty() || rule.get("condition").is_some();
            if let Some(expr) = rule.get("expr").and_then(|e| e.as_str()) {
                let kind = if rule.get("record").is_some() { Kind::RecordingRule } else { Kind::AlertRule };
                queries.push(Query { file: file.to_string(), location: location.clone(), expr: expr.to_string(), route: Route::Plain, kind });
            }
            let mut ref_ids = Vec::new();
            for query in &data {
                let ref_id = query.get("refId").and_then(|r| r.as_str()).unwrap_or("?");
                ref_ids.push(ref_id.to_string());
                let uid = query.get("datasourceUid").and_then(|u| u.as_str());
                if uid == Some("__expr__") {
                    continue;
                }
                let model = query.get("model");
                let Some(expr) = model.and_then(|m| m.get("expr")).and_then(|e| e.as_str()) else { continue };
                let reference = uid.map(|u| Value::String(u.to_string()));
                let fallback = model.and_then(|m| m.get("fallback")).and_then(|f| f.as_str());
                queries.push(Query {
                    file: file.to_string(),
                    location: format!("{location} query {ref_id}"),
                    expr: expr.to_string(),
                    route: resolver.route(reference.as_ref(), fallback),
                    kind: Kind::GrafanaRule,
                });
            }
            for section in ["annotations", "labels"] {
                for (key, value) in rule.get(section).and_then(|a| a.as_mapping()).into_iter().flatten() {
                    let (Some(key), Some(value)) = (key.as_str(), value.as_str()) else { continue };
                    let singular = section.trim_end_matches('s');
                    templates.push(Template {
                        file: file.to_string(),
                        location: format!("{location} {singular} {key}"),
                        text: value.to_string(),
                        grafana_ref_ids: grafana.then(|| ref_ids.clone()),
                        file_line: line_of(text, value),
                    });
                }
            }
        }
    }
    workspace.queries.extend(queries);
    workspace.templates.extend(templates);
    Ok(())
}

/// The line of `text` holding the first line of `value` (best effort: YAML may fold it).
fn line_of(text: &str, value: &str) -> Option<usize> {
    let first = value.lines().next()?.trim();
    if first.is_empty() {
        return None;
    }
    text.lines().position(|l| l.contains(first)).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATASOURCES: &str = "datasources:\n  - {name: pgscope, type: pgscope-datasource, uid: pgs, isDefault: true}\n  - {name: off, type: pgscope-datasource, uid: pgs-off, jsonData: {fallbackMode: 'off'}}\n  - {name: prom, type: prometheus, uid: prom}\n";

    fn routes(dashboard: serde_json::Value) -> Vec<Route> {
        let texts = vec![
            ("ds.yaml".to_string(), DATASOURCES.to_string(), true),
            ("d.json".to_string(), dashboard.to_string(), true),
        ];
        read_texts(&texts).unwrap().queries.into_iter().map(|q| q.route).collect()
    }

    #[test]
    fn routes_by_datasource() {
        let target = |id: i64, ds: serde_json::Value| serde_json::json!({"id": id, "title": "p", "datasource": ds, "targets": [{"refId": "A", "expr": "x"}]});
        let dashboard = serde_json::json!({
            "templating": {"list": [{"name": "ds", "type": "datasource", "query": "pgscope-datasource"}, {"name": "other", "type": "datasource", "query": "prometheus"}]},
            "panels": [
                target(1, serde_json::json!({"type": "pgscope-datasource", "uid": "anything"})),
                target(2, serde_json::json!({"uid": "${ds}"})),
                target(3, serde_json::json!("pgs")),
                target(4, serde_json::json!({"uid": "pgs-off"})),
                target(5, serde_json::json!({"type": "prometheus", "uid": "prom"})),
                target(6, serde_json::Value::Null),
                target(7, serde_json::json!({"uid": "$other"})),
                {"id": 8, "title": "p", "datasource": {"uid": "pgs"}, "targets": [{"refId": "A", "expr": "x", "fallback": "off"}]},
            ]
        });
        let protected: Vec<bool> = routes(dashboard).iter().map(|r| matches!(r, Route::Protected(_))).collect();
        assert_eq!(protected, [true, true, true, false, false, true, false, false]);
    }

    #[test]
    fn rules_templates_and_scrape_labels() {
        let grafana = "apiVersion: 1\ngroups:\n- name: g\n  rules:\n  - title: T\n    condition: B\n    data:\n    - refId: A\n      datasourceUid: pgs\n      model: {expr: up == 0}\n    - refId: B\n      datasourceUid: __expr__\n      model: {expression: $A}\n    annotations:\n      summary: '{{ $values.A.Value }}'\n";
        let scrape = "scrape_configs:\n  - job_name: pg\n    static_configs: [{targets: [a], labels: {cluster: main}}]\n    relabel_configs: [{target_label: env}, {target_label: __address__}]\n";
        let texts = vec![
            ("ds.yaml".to_string(), DATASOURCES.to_string(), true),
            ("g.yaml".to_string(), grafana.to_string(), true),
            ("prometheus.yml".to_string(), scrape.to_string(), true),
        ];
        let w = read_texts(&texts).unwrap();
        assert_eq!(w.queries[0].location, "group g rule T query A");
        assert!(matches!(w.queries[0].route, Route::Protected(_)));
        assert_eq!(w.templates[0].grafana_ref_ids.as_deref(), Some(&["A".to_string(), "B".to_string()][..]));
        assert_eq!(w.templates[0].file_line, Some(15));
        assert_eq!(w.target_labels, ["cluster", "env"]);
        assert!(read_texts(&[("x.yaml".into(), "a: 1".into(), true)]).unwrap_err().contains("no `groups:`"));
        assert!(read_texts(&[("x.yaml".into(), "a: 1".into(), false)]).unwrap().skipped.len() == 1);
    }
}
