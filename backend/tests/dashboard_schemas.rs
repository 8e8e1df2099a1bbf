//! The shipped dashboards work for every pgss schema pgscope detects (postgres_exporter, pgwatch
//! v3, postgres_ai's pgwatch): for each schema alone in a real VictoriaMetrics, with synthetic
//! series named as that exporter names them (metric names and labels from pgss::catalog, plus
//! its info metric), every query variable has values and every PromQL target on pgss data
//! returns data (named, where its legend shows displayname), with the variables at "All" and at a real value. The e2e stack exports
//! postgres_exporter names only; this is where the other two are tried.
//! The what-changed dashboard is also tried on seeded changes (a regression, noise, a new and a
//! gone statement): its charts' ranking, and its pgscope panels through the real plugin.

mod support;

use std::collections::BTreeMap;

use pgscope::pgss::catalog::{SchemaDef, SCHEMAS};
use support::{now_s, pgss_dataset as dataset};
use serde_json::Value;

/// An instant query: each series' labels.
fn instant(vm: &support::VictoriaMetrics, expr: &str, time_s: i64) -> Result<Vec<BTreeMap<String, String>>, String> {
    let path = format!("/api/v1/query?query={}&time={time_s}", support::urlencode(expr));
    let (status, body) = support::http("GET", &vm.addr, &path, b"").map_err(|e| e.to_string())?;
    let json: Value = serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
    if json["status"] != "success" {
        return Err(format!("HTTP {status}: {body}"));
    }
    Ok(json["data"]["result"]
        .as_array()
        .ok_or_else(|| format!("not a vector: {body}"))?
        .iter()
        .filter(|s| s["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()).is_some_and(f64::is_finite))
        .map(|s| serde_json::from_value(s["metric"].clone()).unwrap_or_default())
        .collect())
}

/// Grafana's interpolation of what these dashboards use: `$name` and `${name}` from `vars`,
/// `$__rate_interval`, `$__range` (15 minutes: the dataset spans 40, so a range and the range
/// before it both hold data); `$1` (label_replace) is no variable and stays.
fn interpolate(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = text.replace("$__rate_interval", "1m").replace("$__range_s", "900").replace("$__range", "15m");
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for name in names {
        out = out.replace(&format!("${{{name}}}"), &vars[name]).replace(&format!("${name}"), &vars[name]);
    }
    out
}

/// A query variable's values: `query_result(expr)` with a `/label="([^"]+)"/` regex, as the
/// dashboards write them (each schema's label normalised in the expression).
fn variable_values(vm: &support::VictoriaMetrics, variable: &Value, vars: &BTreeMap<String, String>, end_s: i64) -> Result<Vec<String>, String> {
    let query = variable["query"].as_str().ok_or("query variable without a query string")?;
    let expr = query
        .strip_prefix("query_result(")
        .and_then(|q| q.strip_suffix(')'))
        .ok_or_else(|| format!("{query}: not query_result(...)"))?;
    let regex = variable["regex"].as_str().unwrap_or_default();
    let label = regex
        .strip_prefix('/')
        .and_then(|r| r.strip_suffix("=\"([^\"]+)\"/"))
        .ok_or_else(|| format!("regex {regex:?} is not /label=\"([^\"]+)\"/"))?;
    let mut values: Vec<String> = instant(vm, &interpolate(expr, vars), end_s)?.into_iter().filter_map(|mut l| l.remove(label)).collect();
    values.sort();
    values.dedup();
    Ok(values)
}

/// A custom variable's value as the check uses it: an offset further back than half the
/// dataset's span (the what-changed charts' `1d`) is tried at 15 minutes, where data is.
fn within_dataset(value: &str) -> String {
    let seconds = |unit: char, factor: i64| value.strip_suffix(unit).and_then(|n| n.parse::<i64>().ok()).map(|n| n * factor);
    match seconds('d', 86_400).or_else(|| seconds('h', 3_600)) {
        Some(s) if s > support::SPAN_S / 2 => "15m".to_string(),
        _ => value.to_string(),
    }
}

fn panels(list: &[Value]) -> Vec<&Value> {
    list.iter().flat_map(|p| std::iter::once(p).chain(panels(p["panels"].as_array().map(Vec::as_slice).unwrap_or(&[])))).collect()
}

fn dashboards() -> Vec<(String, Value)> {
    let dir = format!("{}/../provisioning/dashboards/json", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every failure for one schema's data: variables without values, targets without data.
fn failures(schema: &SchemaDef, vm: &support::VictoriaMetrics, end_s: i64) -> Vec<String> {
    let mut failures = Vec::new();
    let mut checked_targets = 0;
    for (file, dashboard) in dashboards() {
        // Once with every variable at its first real value, once at All (".*").
        for all in [false, true] {
            let mut vars = BTreeMap::new();
            for variable in dashboard["templating"]["list"].as_array().into_iter().flatten() {
                let name = variable["name"].as_str().unwrap().to_string();
                let value = match variable["type"].as_str() {
                    Some("query") => match variable_values(vm, variable, &vars, end_s) {
                        Ok(values) if values.is_empty() => {
                            failures.push(format!("{file}: variable ${name} has no values"));
                            continue;
                        }
                        Ok(_) if all && variable["includeAll"] == true => ".*".to_string(),
                        Ok(values) => values[0].clone(), // no regex characters in these values
                        Err(e) => {
                            failures.push(format!("{file}: variable ${name}: {e}"));
                            continue;
                        }
                    },
                    Some("custom") => within_dataset(variable["query"].as_str().unwrap().split(',').next().unwrap().trim()),
                    _ => continue,
                };
                vars.insert(name, value);
            }
            for panel in panels(dashboard["panels"].as_array().unwrap()) {
                for target in panel["targets"].as_array().into_iter().flatten() {
                    let Some(expr) = target["expr"].as_str() else { continue };
                    // PromQL targets on pgss data (stack health's scrape panels read `up` and
                    // scrape_*, the same whatever the exporter).
                    if target["queryType"].as_str().is_some_and(|t| t != "promql") || !expr.contains("stat_statements") {
                        continue;
                    }
                    checked_targets += 1;
                    let what = format!("{file}: panel {:?} {} (variables {})", panel["title"], target["refId"], if all { "All" } else { "set" });
                    match instant(vm, &interpolate(expr, &vars), end_s) {
                        Ok(series) if series.is_empty() => failures.push(format!("{what}: no data")),
                        Ok(series) => {
                            let legend = target["legendFormat"].as_str().unwrap_or_default();
                            if legend.contains("{{displayname}}") && series.iter().any(|l| !l.contains_key("displayname")) {
                                failures.push(format!("{what}: a series without displayname for its legend: {series:?}"));
                            }
                        }
                        Err(e) => failures.push(format!("{what}: {e}")),
                    }
                }
            }
        }
    }
    assert!(checked_targets >= 2 * 17, "{} checked only {checked_targets} targets", schema.id);
    failures
}

#[test]
fn every_panel_has_data_for_every_schema() {
    let end = now_s() - 60;
    let mut all = Vec::new();
    for schema in SCHEMAS {
        let vm = support::VictoriaMetrics::start();
        let (lines, series) = dataset(schema, end);
        vm.import(&lines, series);
        all.extend(failures(schema, &vm, end).into_iter().map(|f| format!("[{}] {f}", schema.id)));
    }
    assert!(all.is_empty(), "{all:#?}");
}

#[test]
fn the_check_fails_on_a_dashboard_written_for_one_exporter() {
    // The panels as they were: postgres_exporter names only. On pgwatch data they are empty.
    let end = now_s() - 60;
    let schema = SCHEMAS.iter().find(|s| s.id == "pgwatch").unwrap();
    let vm = support::VictoriaMetrics::start();
    let (lines, series) = dataset(schema, end);
    vm.import(&lines, series);
    let old = "sum by (datname, queryid) (rate(pg_stat_statements_calls_total{datname=~\".*\"}[1m])) * on(datname, queryid) group_left(displayname) pgss_query_info";
    assert!(instant(&vm, old, end).unwrap().is_empty());
    let dashboard = &dashboards().into_iter().find(|(f, _)| f == "pgss-top-queries.json").unwrap().1;
    let calls = panels(dashboard["panels"].as_array().unwrap()).into_iter().find(|p| p["title"] == "Calls per second").unwrap();
    let vars = BTreeMap::from([("instance".to_string(), ".*".to_string()), ("database".to_string(), ".*".to_string()), ("topn".to_string(), "10".to_string())]);
    let now = instant(&vm, &interpolate(calls["targets"][0]["expr"].as_str().unwrap(), &vars), end).unwrap();
    assert_eq!(now.len(), 4, "{now:?}");
    assert!(now.iter().all(|l| l["displayname"].starts_with("SELECT * FROM t")), "{now:?}");
}

/// postgres_exporter counters over the dataset's span, one sample each STEP_S up to `end`:
/// statements 1-6 at 0.01 s per call that rise by 1 % to 6 % for the last 15 minutes (no ties:
/// two topk over ties may pick differently), 7 that goes to 0.05 s, 8 with 9 calls in 15 minutes
/// that triples (noise), 9 that starts 15 minutes before the end (new) and 10 that stops then
/// (gone). No info metric. Returns the import lines and the number of series.
fn seeded_changes(end: i64) -> (String, usize) {
    let mut lines = String::new();
    let mut series = 0;
    for queryid in 1..=10 {
        let labels = format!(r#"job="pgss",instance="exporter:9187",datname="app",user="app",queryid="{queryid}""#);
        let calls_per_step = if queryid == 8 { 0.15 } else { 15.0 };
        let (mut calls, mut seconds) = (0.0, 0.0);
        let mut t = end - support::SPAN_S;
        while t <= end {
            let recent = t > end - 900;
            let per_call = match queryid {
                9 if !recent => None,
                10 if recent => None,
                7 if recent => Some(0.05),
                8 if recent => Some(0.3),
                8 => Some(0.1),
                1..=6 if recent => Some(0.01 * (1.0 + queryid as f64 / 100.0)),
                _ => Some(0.01),
            };
            if let Some(per_call) = per_call {
                lines += &format!("pg_stat_statements_calls_total{{{labels}}} {calls} {}\n", t * 1000);
                lines += &format!("pg_stat_statements_seconds_total{{{labels}}} {seconds} {}\n", t * 1000);
                calls += calls_per_step;
                seconds += calls_per_step * per_call;
            }
            t += support::STEP_S;
        }
        series += 2;
    }
    (lines, series)
}

/// The what-changed charts rank by the rise of time per call over the range against the same
/// range `chart_offset` earlier, need 20 calls in both, and draw the same five statements now and
/// then; with the info exporter dead (no pgss_query_info), as pgscope sends them (the fallback
/// rewrite), where the query as written returns nothing.
#[test]
fn the_what_changed_charts_rank_the_regression_not_the_noise_also_without_names() {
    let end = now_s() - 60;
    let vm = support::VictoriaMetrics::start();
    let (lines, series) = seeded_changes(end);
    vm.import(&lines, series);
    let dashboard = dashboards().into_iter().find(|(f, _)| f == "pgss-what-changed.json").unwrap().1;
    let chart = panels(dashboard["panels"].as_array().unwrap()).into_iter().find(|p| p["title"] == "Time per call: the five largest rises").unwrap();
    let vars = BTreeMap::from([("instance".to_string(), ".*".to_string()), ("database".to_string(), ".*".to_string()), ("chart_offset".to_string(), "15m".to_string())]);
    let run = |ref_id: &str| -> BTreeMap<String, f64> {
        let target = chart["targets"].as_array().unwrap().iter().find(|t| t["refId"] == ref_id).unwrap();
        let expr = interpolate(target["expr"].as_str().unwrap(), &vars);
        assert_eq!(support::instant(&vm.addr, &expr, end as f64).unwrap(), [], "the join without its info metric");
        let sent = pgscope::fallback::rewrite(&expr, &pgscope::fallback::Rules::default());
        assert!(sent.changed, "{}", sent.query);
        let answer = support::instant(&vm.addr, &sent.query, end as f64).unwrap();
        answer.into_iter().map(|(labels, value)| (labels.split(',').find(|l| l.starts_with("queryid=")).unwrap().to_string(), value)).collect()
    };
    let (now, then) = (run("A"), run("B"));
    assert_eq!(now.len(), 5, "{now:?}");
    assert_eq!(now.keys().collect::<Vec<_>>(), then.keys().collect::<Vec<_>>());
    assert!(!now.contains_key("queryid=8"), "the noise ranks: {now:?}");
    assert!((now["queryid=7"] - 0.05).abs() < 1e-9 && (then["queryid=7"] - 0.01).abs() < 1e-9, "{now:?} {then:?}");
    assert_eq!(now.keys().collect::<Vec<_>>(), ["queryid=3", "queryid=4", "queryid=5", "queryid=6", "queryid=7"]);
    for queryid in 3..=6 {
        let key = format!("queryid={queryid}");
        assert!((now[&key] - 0.01 * (1.0 + queryid as f64 / 100.0)).abs() < 1e-9 && (then[&key] - 0.01).abs() < 1e-9, "{now:?} {then:?}");
    }
}

/// One pgscope panel of the what-changed dashboard, its target interpolated with `vars`, through
/// the plugin over the last 15 minutes before `end`: each row's (queryid, state).
async fn panel_rows(plugin: &support::PluginProcess, tsdb: &str, title: &str, vars: &BTreeMap<String, String>, end: i64) -> Vec<(String, String)> {
    use pgscope::frame::{Frame, Values};
    use pgscope::pluginv2::{self, data_client::DataClient};
    let dashboard = dashboards().into_iter().find(|(f, _)| f == "pgss-what-changed.json").unwrap().1;
    let panel = panels(dashboard["panels"].as_array().unwrap()).into_iter().find(|p| p["title"] == title).unwrap().clone();
    let json = interpolate(&panel["targets"][0].to_string(), vars);
    let query = pluginv2::DataQuery { query_type: "pgssTopQueries".into(), ..support::data_query("A", &json, (end - 900) * 1000, end * 1000) };
    let request = pluginv2::QueryDataRequest {
        plugin_context: Some(support::plugin_context(support::instance("changed", tsdb, r#"{"timeInterval":"15s"}"#))),
        headers: Default::default(),
        queries: vec![query],
    };
    let mut client = DataClient::connect(plugin.endpoint()).await.unwrap();
    let response = client.query_data(request).await.unwrap().into_inner().responses.remove("A").unwrap();
    assert_eq!(response.status, 200, "{title}: {}", response.error);
    let frame = Frame::from_arrow(&response.frames[0]).unwrap();
    let column = |name: &str| match frame.fields.iter().find(|f| f.name == name).map(|f| &f.values) {
        Some(Values::String(values)) => values.clone(),
        other => panic!("{title}: no text column {name}: {other:?}"),
    };
    column("queryid").into_iter().zip(column("state")).collect()
}

/// The what-changed dashboard's pgscope panels as it writes them (compare to the range before,
/// threshold 20 %), through the real plugin over the last 15 minutes of `seeded_changes`: the
/// regression first and regressed, the small rises and the noise not; the new and the gone
/// statement in their panels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_what_changed_panels_rank_the_regression_and_list_new_and_gone() {
    let end = now_s() - 60;
    let vm = support::VictoriaMetrics::start();
    let (lines, series) = seeded_changes(end);
    vm.import(&lines, series);
    let plugin = support::PluginProcess::start();
    let vars = BTreeMap::from([
        ("instance".to_string(), ".*".to_string()),
        ("database".to_string(), ".*".to_string()),
        ("compare_to".to_string(), "previous".to_string()),
        ("threshold".to_string(), "20".to_string()),
    ]);
    let changed = panel_rows(&plugin, &vm.url(), "What changed: time per call", &vars, end).await;
    assert_eq!(changed.first(), Some(&("7".to_string(), "regressed".to_string())), "{changed:?}");
    assert_eq!(changed.iter().filter(|(_, state)| state == "regressed").count(), 1, "{changed:?}");
    assert!(changed.iter().any(|(id, state)| id == "8" && state != "regressed"), "the noise: {changed:?}");
    let new = panel_rows(&plugin, &vm.url(), "New statements", &vars, end).await;
    assert_eq!(new, [("9".to_string(), "new".to_string())]);
    let gone = panel_rows(&plugin, &vm.url(), "Gone statements", &vars, end).await;
    assert_eq!(gone, [("10".to_string(), "gone".to_string())]);
}
