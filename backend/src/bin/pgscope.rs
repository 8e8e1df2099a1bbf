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
