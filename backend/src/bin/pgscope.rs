//! The `pgscope` command line: preview the fallback rewrite, lint dashboards and rule files for
//! silent failures, and fix dashboards for Grafana's built-in Prometheus datasource. A thin shell
//! over the library (`fallback`, `lint`, `stored`).

use std::process::ExitCode;

use pgscope::fallback::{self, Rules};
use pgscope::lint;
use pgscope::stored;

const HELP: &str = "\
pgscope — PostgreSQL query performance in Grafana: the command-line tool

Usage:
  pgscope rewrite [OPTIONS] '<promql>'     print the query pgscope sends, and why
  pgscope lint [--tsdb URL] [--format text|json] [--target-label L]... [--queries FILE]
               FILE|FOLDER...              report silent failures in dashboards (.json),
                                           Prometheus/vmalert and Grafana-managed rule files
  pgscope fix DASHBOARD.json -o OUT.json   give every fragile info join an `or` fallback
  pgscope stack --tsdb URL [--require JOB]... [--window 1h] [--record FILE]
  pgscope stack --replay FILE [--require JOB]...
                                           check the monitoring stack behind the TSDB (the
                                           datasource's stack health), worst first
  pgscope diff --tsdb URL [--range 30m] [--compare previous|OFFSET] [--order KEY] [--limit N]
               [--database RE] [--threshold PCT] [--min-calls N] [--at TIME] [--format text|json]
                                           what changed: the last RANGE against the RANGE
                                           before (or OFFSET earlier), one line per statement
  pgscope --version | --help

Rewrite options (as in the datasource settings):
  --info-metric NAME   also treat NAME as an info metric (repeatable)
  --division           also rewrite division by an info metric
  --sticky WINDOW      join against last_over_time(INFO[WINDOW]), e.g. 1h

lint exits 1 when it finds something (hints and info lines do not count), 2 on a usage or file
error. Folders are walked; Grafana datasource provisioning and scrape configs found among the
files tell which queries go through pgscope and which target labels exist. --queries adds a
postgres_exporter custom-queries file to the metric catalogue. With --tsdb it also asks that
Prometheus-compatible TSDB (e.g. http://127.0.0.1:8428) for metrics without series, matchers
that match nothing, rules that returned nothing for an hour and variables without values.
diff orders by the rise of time per call (exec_time_per_call_change_pct) unless --order names
another key (any pgssTopQueries orderBy, e.g. calls or exec_time_change); states are new, gone,
regressed, improved and unchanged (time per call past --threshold %, default 20, with at least
--min-calls calls, default 20, in both windows); --at ends the range at TIME (epoch seconds or
RFC 3339) instead of now. It exits 1 when any statement regressed, 0 when none did.
stack exits 1 when a check is failing; --record keeps the TSDB's answers (test fixtures),
--replay evaluates such a file instead of asking a TSDB.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("-h") | Some("--help") | Some("help") => {
            println!("{HELP}");
            Ok(ExitCode::SUCCESS)
        }
        Some("-V") | Some("--version") => {
            println!("pgscope {}", pgscope::VERSION);
            Ok(ExitCode::SUCCESS)
        }
        Some("rewrite") => rewrite(&args[1..]),
        Some("lint") => lint(&args[1..]),
        Some("fix") => fix(&args[1..]),
        Some("stack") => stack(&args[1..]),
        Some("diff") => diff(&args[1..]),
        Some(other) => Err(format!("unknown command {other:?}")),
    };
    result.unwrap_or_else(|message| {
        eprintln!("pgscope: {message}\n\n{HELP}");
        ExitCode::from(2)
    })
}

/// Splits rewrite options from the other arguments.
fn rules_and_rest(args: &[String]) -> Result<(Rules, Vec<String>), String> {
    let mut rules = Rules::default();
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--info-metric" => rules.info_metrics.push(iter.next().ok_or("--info-metric needs a name")?.clone()),
            "--division" => rules.allow_division = true,
            "--sticky" => {
                let window = iter.next().ok_or("--sticky needs a window, e.g. 1h")?;
                rules.sticky_window = Some(pgscope::duration::parse(window).map_err(|e| e.to_string())?);
            }
            _ => rest.push(arg.clone()),
        }
    }
    Ok((rules, rest))
}

fn rewrite(args: &[String]) -> Result<ExitCode, String> {
    let (rules, rest) = rules_and_rest(args)?;
    let [query] = rest.as_slice() else { return Err("rewrite takes one query (quote it)".into()) };
    let out = match stored::fix_query(query, &rules) {
        Some(fixed) => fixed,
        None => query.clone(),
    };
    println!("{out}");
    for note in fallback::rewrite(&lint::parseable(query), &rules).notes {
        eprintln!("-- {}", note.text);
    }
    Ok(ExitCode::SUCCESS)
}

fn lint(args: &[String]) -> Result<ExitCode, String> {
    let (rules, rest) = rules_and_rest(args)?;
    let mut options = lint::Options { rules, ..Default::default() };
    let (mut tsdb, mut json) = (None, false);
    let mut paths = Vec::new();
    let mut iter = rest.into_iter();
    while let Some(arg) = iter.next() {
        let mut value = || iter.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--tsdb" => tsdb = Some(value()?),
            "--format" => match value()?.as_str() {
                "json" => json = true,
                "text" => json = false,
                other => return Err(format!("--format {other}: expected text or json")),
            },
            "--target-label" => options.target_labels.push(value()?),
            "--queries" => {
                let file = value()?;
                let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
                options.catalogue.add_queries(&text, &file)?;
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            _ => paths.push(arg),
        }
    }
    if paths.is_empty() {
        return Err("lint needs at least one file or folder".into());
    }
    let workspace = lint::files::load(&paths)?;
    let mut reports = lint::lint_workspace(&workspace, &options);
    if let Some(url) = &tsdb {
        let client = tsdb_client(url)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        for query in &workspace.queries {
            let findings = runtime.block_on(lint::tsdb::query_findings(&client, query, url)).map_err(|e| format!("--tsdb: {e}"))?;
            reports.extend(findings.into_iter().map(|finding| lint::Report { file: query.file.clone(), line: None, location: query.location.clone(), finding }));
        }
        for variable in &workspace.variables {
            if let Some(finding) = runtime.block_on(lint::tsdb::variable_finding(&client, variable)).map_err(|e| format!("--tsdb: {e}"))? {
                reports.push(lint::Report { file: variable.file.clone(), line: None, location: variable.location.clone(), finding });
            }
        }
    }
    reports.sort_by(|a, b| (&a.file, &a.location).cmp(&(&b.file, &b.location)));
    for (file, why) in &workspace.skipped {
        eprintln!("{file}: skipped: {why}");
    }
    if workspace.queries.is_empty() && workspace.templates.is_empty() {
        eprintln!("no queries found in {}", paths.join(", "));
    }
    let text = if json {
        let all: Vec<serde_json::Value> = reports.iter().map(lint::Report::json).collect();
        serde_json::to_string_pretty(&all).map_err(|e| e.to_string())? + "\n"
    } else {
        reports.iter().map(|r| r.line() + "\n").collect()
    };
    // A reader that stops early (`| head`) is not an error.
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(format!("stdout: {e}")),
        _ => {}
    }
    let failing = reports.iter().filter(|r| r.finding.kind.severity().fails()).count();
    let quiet = reports.len() - failing;
    eprintln!("pgscope lint: {failing} finding(s) and {quiet} hint or info line(s) in {} file(s)", workspace.read.len());
    Ok(if failing == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn tsdb_client(url: &str) -> Result<pgscope::prom::client::PromClient, String> {
    let instance = pgscope::pluginv2::DataSourceInstanceSettings {
        url: url.to_string(),
        json_data: br#"{"queryTimeout":"10s"}"#.to_vec(),
        ..Default::default()
    };
    let settings = pgscope::settings::Settings::from_instance(Some(&instance)).map_err(|e| format!("--tsdb: {e}"))?;
    pgscope::prom::client::PromClient::new(settings, pgscope::telemetry::Telemetry::new()).map_err(|e| e.to_string())
}

fn fix(args: &[String]) -> Result<ExitCode, String> {
    let (rules, rest) = rules_and_rest(args)?;
    let (input, output) = match rest.as_slice() {
        [input, flag, output] if flag == "-o" => (input, output),
        _ => return Err("usage: pgscope fix DASHBOARD.json -o OUT.json".into()),
    };
    let text = std::fs::read_to_string(input).map_err(|e| format!("{input}: {e}"))?;
    let (fixed_text, fixed) = stored::fix_dashboard(&text, &rules).map_err(|e| format!("{input}: {e}"))?;
    std::fs::write(output, fixed_text).map_err(|e| format!("{output}: {e}"))?;
    for change in &fixed {
        eprintln!("fixed: {}\n   to: {}", change.before, change.after);
    }
    eprintln!("pgscope fix: {} quer{} rewritten, written to {output}", fixed.len(), if fixed.len() == 1 { "y" } else { "ies" });
    Ok(ExitCode::SUCCESS)
}

fn stack(args: &[String]) -> Result<ExitCode, String> {
    use pgscope::stack::{self, Recorder, Recording, StackRules};
    let mut rules = StackRules { scrape_interval: std::time::Duration::from_secs(15), ..Default::default() };
    let (mut tsdb, mut record, mut replay) = (None, None, None);
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = || iter.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--tsdb" => tsdb = Some(value()?),
            "--record" => record = Some(value()?),
            "--replay" => replay = Some(value()?),
            "--require" => rules.required_jobs.push(value()?),
            "--info-metric" => rules.info_metrics.push(value()?),
            "--window" => rules.window = pgscope::duration::parse(&value()?).map_err(|e| format!("--window: {e}"))?,
            "--scrape-interval" => rules.scrape_interval = pgscope::duration::parse(&value()?).map_err(|e| format!("--scrape-interval: {e}"))?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let checks = match (&tsdb, &replay) {
        (Some(url), None) => {
            let client = tsdb_client(url)?;
            let at = chrono::Utc::now().timestamp() as f64;
            let start = at - rules.window.as_secs_f64();
            let recorder = Recorder { inner: &client, answers: Default::default() };
            let observations = runtime.block_on(stack::gather(&recorder, &rules, at, start));
            if let Some(file) = &record {
                let recording = Recording { at, start, answers: recorder.answers.into_inner().unwrap_or_default() };
                let text = serde_json::to_string_pretty(&recording).map_err(|e| e.to_string())?;
                std::fs::write(file, text + "\n").map_err(|e| format!("{file}: {e}"))?;
            }
            stack::evaluate(&observations, &rules)
        }
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            let recording: Recording = serde_json::from_str(&text).map_err(|e| format!("{file}: not a recording: {e}"))?;
            let observations = runtime.block_on(stack::gather(&recording, &rules, recording.at, recording.start));
            stack::evaluate(&observations, &rules)
        }
        _ => return Err("stack needs --tsdb URL or --replay FILE".into()),
    };
    println!("{}", stack::summary_line(&checks));
    println!("{}", stack::verbose_lines(&checks));
    Ok(if checks.iter().any(|c| c.status == stack::Status::Failing) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// A statement's text or name on one line: control characters shown as `?`, at most `max`
/// characters.
fn one_line(text: &str, max: usize) -> String {
    let mut out: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(1)).collect::<String>() + "…";
    }
    out
}

/// Seconds per call as milliseconds, `-` when unknown.
fn ms(value: f64) -> String {
    if value.is_finite() { format!("{:.3}ms", value * 1000.0) } else { "-".into() }
}

fn per_s(value: f64) -> String {
    if value.is_finite() { format!("{value:.2}/s") } else { "-".into() }
}

fn pct(value: f64) -> String {
    if value.is_finite() { format!("{value:+.0}%") } else { "-".into() }
}

fn diff(args: &[String]) -> Result<ExitCode, String> {
    use pgscope::frame::Values;
    let (mut tsdb, mut range, mut compare, mut order, mut limit, mut database) = (None, "30m".to_string(), "previous".to_string(), "exec_time_per_call_change_pct".to_string(), "20".to_string(), None);
    let (mut threshold, mut min_calls, mut at, mut json) = (None, None, None, false);
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = || iter.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--tsdb" => tsdb = Some(value()?),
            "--range" => range = value()?,
            "--compare" => compare = value()?,
            "--order" => order = value()?,
            "--limit" => limit = value()?,
            "--database" => database = Some(value()?),
            "--threshold" => threshold = Some(value()?),
            "--min-calls" => min_calls = Some(value()?),
            "--at" => at = Some(value()?),
            "--format" => match value()?.as_str() {
                "text" => json = false,
                "json" => json = true,
                other => return Err(format!("--format {other}: expected text or json")),
            },
            other => return Err(format!("unknown option {other}")),
        }
    }
    let url = tsdb.ok_or("diff needs --tsdb URL")?;
    let window = pgscope::duration::parse(&range).map_err(|e| format!("--range: {e}"))?.as_secs_f64();
    if window < 1.0 {
        return Err("--range must be at least 1s".into());
    }
    let end = match at {
        None => chrono::Utc::now().timestamp() as f64,
        Some(text) => match text.trim().parse::<f64>() {
            Ok(seconds) if seconds.is_finite() && seconds > 0.0 => seconds,
            _ => chrono::DateTime::parse_from_rfc3339(text.trim()).map_err(|_| format!("--at {text:?}: expected epoch seconds or an RFC 3339 time"))?.timestamp() as f64,
        },
    };
    let mut query = serde_json::json!({"compareTo": compare, "orderBy": order, "limit": limit});
    if let Some(database) = database {
        query["database"] = database.into();
    }
    if let Some(threshold) = threshold {
        query["threshold"] = threshold.into();
    }
    if let Some(min_calls) = min_calls {
        query["minCalls"] = min_calls.into();
    }
    let client = tsdb_client(&url)?;
    let state = pgscope::pgss::PgssState::default();
    let span = pgscope::pgss::Span { from: end - window, to: end, interval_ms: 15_000, max_points: 100 };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let frames = runtime.block_on(pgscope::pgss::top_queries(&client, &state, query.to_string().as_bytes(), span)).map_err(|e| e.message)?;
    let table = frames.first().ok_or("the TSDB gave no table")?;
    let text = |name: &str| match table.fields.iter().find(|f| f.name == name).map(|f| &f.values) {
        Some(Values::String(v)) => v.clone(),
        _ => vec![String::new(); table.fields.first().map(|f| f.values.len()).unwrap_or(0)],
    };
    let number = |name: &str| match table.fields.iter().find(|f| f.name == name).map(|f| &f.values) {
        Some(Values::Float64(v)) => v.clone(),
        _ => vec![f64::NAN; table.fields.first().map(|f| f.values.len()).unwrap_or(0)],
    };
    let (ids, databases, names, states) = (text("queryid"), text("database"), text("name"), text("state"));
    let (per_call, per_call_then, change) = (number("exec_time_per_call"), number("exec_time_per_call_then"), number("exec_time_per_call_change_pct"));
    let (calls, calls_then) = (number("calls_per_s"), number("calls_per_s_then"));
    let meta = table.meta.as_ref();
    let compared = meta.and_then(|m| m.custom.as_ref()).and_then(|c| c.get("compare")).cloned().unwrap_or_default();
    let regressed = compared["counts"]["regressed"].as_f64().unwrap_or(0.0);
    if json {
        let rows: Vec<serde_json::Value> = (0..ids.len())
            .map(|i| {
                let n = |v: f64| if v.is_finite() { serde_json::Value::from(v) } else { serde_json::Value::Null };
                serde_json::json!({
                    "queryid": ids[i], "database": databases[i], "name": names[i], "state": states[i],
                    "exec_time_per_call": n(per_call[i]), "exec_time_per_call_then": n(per_call_then[i]), "exec_time_per_call_change_pct": n(change[i]),
                    "calls_per_s": n(calls[i]), "calls_per_s_then": n(calls_then[i]),
                })
            })
            .collect();
        let notices: Vec<String> = meta.map(|m| m.notices.iter().map(|n| n.text.clone()).collect()).unwrap_or_default();
        println!("{}", serde_json::json!({"compare": compared, "statements": rows, "notices": notices}));
    } else {
        println!("{:<21} {:<12} {:<10} {:>12} {:>12} {:>7} {:>10} {:>10}  name", "queryid", "database", "state", "time/call", "then", "change", "calls", "then");
        for i in 0..ids.len() {
            println!(
                "{:<21} {:<12} {:<10} {:>12} {:>12} {:>7} {:>10} {:>10}  {}",
                one_line(&ids[i], 21),
                one_line(&databases[i], 12),
                states[i],
                ms(per_call[i]),
                ms(per_call_then[i]),
                pct(change[i]),
                per_s(calls[i]),
                per_s(calls_then[i]),
                one_line(&names[i], 80)
            );
        }
        for notice in meta.map(|m| m.notices.as_slice()).unwrap_or_default() {
            eprintln!("note: {}", one_line(&notice.text, 400));
        }
        let count = |state: &str| compared["counts"][state].as_f64().unwrap_or(0.0);
        eprintln!(
            "pgscope diff: the last {range} against {}: {:.0} regressed, {:.0} improved, {:.0} new, {:.0} gone (of every statement the filters keep)",
            compared["label"].as_str().unwrap_or("?"),
            count("regressed"),
            count("improved"),
            count("new"),
            count("gone")
        );
    }
    Ok(if regressed > 0.0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
