//! The checks of scrape targets (up, down since when, last error, scrape duration against its
//! timeout, sample collapse, series churn), required jobs and info metrics (present, age, share
//! of pgss statements named), and the helpers the database checks share. Pure.

use std::collections::{BTreeMap, BTreeSet};

use super::text::{count, human_duration, percent, scrub, seconds};
use super::{Check, Observations, Sample, Series, StackRules, Status, Target};
use crate::frame::Labels;
use crate::promql_text::QueryidSample;

pub(super) type TargetKey = (String, String);

pub(super) fn key_of(labels: &Labels) -> TargetKey {
    (labels.get("job").cloned().unwrap_or_default(), labels.get("instance").cloned().unwrap_or_default())
}

fn by_target(samples: &Option<Vec<Sample>>) -> BTreeMap<TargetKey, f64> {
    samples.iter().flatten().map(|(labels, v)| (key_of(labels), *v)).collect()
}

/// The jobs whose targets serve an info metric (from its history).
fn info_jobs(obs: &Observations) -> BTreeMap<String, String> {
    let mut jobs = BTreeMap::new();
    for info in &obs.info {
        for (labels, _) in &info.history {
            if let Some(job) = labels.get("job") {
                jobs.insert(job.clone(), info.metric.clone());
            }
        }
    }
    jobs
}

pub(super) fn target_checks(obs: &Observations, rules: &StackRules) -> Vec<Check> {
    let up_history: BTreeMap<TargetKey, &Vec<(f64, f64)>> = obs.up.iter().flatten().map(|(l, points)| (key_of(l), points)).collect();
    let mut targets: BTreeMap<TargetKey, Target> = BTreeMap::new();
    for target in obs.targets.iter().flatten() {
        targets.insert((target.job.clone(), target.instance.clone()), target.clone());
    }
    // Without a targets API (Mimir, a VictoriaMetrics cluster's select path) `up` tells.
    if obs.targets.is_none() {
        for (key, points) in &up_history {
            if let Some(&(_, v)) = points.last().filter(|(t, _)| obs.at - t <= 300.0) {
                targets.insert(key.clone(), Target { job: key.0.clone(), instance: key.1.clone(), up: Some(v == 1.0), ..Default::default() });
            }
        }
    }
    let samples = by_target(&obs.samples_now);
    let samples_max = by_target(&obs.samples_max);
    let durations = by_target(&obs.durations);
    let timeouts = by_target(&obs.timeouts);
    let churn = by_target(&obs.churn);
    let info_jobs = info_jobs(obs);
    // Churn matters where pgss series live (a top-N exporter replaces them); elsewhere new
    // series are mostly benign (a TSDB's own histogram buckets appear one by one).
    let pgss_jobs: BTreeSet<String> = obs.pgss.iter().flat_map(|p| p.history.iter().filter_map(|(l, _)| l.get("job").cloned())).collect();
    let window = human_duration(rules.window.as_secs_f64());

    let mut checks = Vec::new();
    for ((job, instance), target) in targets {
        let key = (job.clone(), instance.clone());
        let mut problems: Vec<(Status, String, String)> = Vec::new();
        let mut since = None;
        let timeout = target.timeout.or_else(|| timeouts.get(&key).copied());
        let duration = durations.get(&key).copied().or(target.last_duration);
        if target.up.is_none() {
            problems.push((
                Status::Unknown,
                format!("{job} not scraped yet"),
                format!("Target {instance} of job {job} has not been scraped yet (the TSDB started recently or the target was just discovered)."),
            ));
        } else if target.up == Some(false) {
            let history = up_history.get(&key).map(|p| p.as_slice()).unwrap_or(&[]);
            since = down_since(history);
            let how_long = match since {
                Some(t) => format!(" for {}", human_duration(obs.at - t)),
                None => format!(" for more than {}", human_duration(obs.at - history.first().map(|p| p.0).unwrap_or(obs.at - rules.window.as_secs_f64()))),
            };
            let short = match since {
                Some(t) => format!("{job} down {}", human_duration(obs.at - t)),
                None => format!("{job} down > {}", human_duration(obs.at - history.first().map(|p| p.0).unwrap_or(obs.at - rules.window.as_secs_f64()))),
            };
            let error = if target.last_error.is_empty() { String::new() } else { format!(": {}", scrub(&target.last_error)) };
            let consequence = match info_jobs.get(&job) {
                Some(metric) => format!(" Its info metric {metric} is gone: pgss panels show queryids instead of names (the fallback keeps their data)."),
                None => String::new(),
            };
            let summary = if info_jobs.contains_key(&job) { format!("{short}: names unavailable") } else { short };
            problems.push((
                Status::Failing,
                summary,
                format!("Target {instance} of job {job} is down{how_long}{error}.{consequence} Check that the exporter runs and listens where the scrape config says."),
            ));
        } else {
            if let (Some(duration), Some(timeout)) = (duration, timeout) {
                if timeout > 0.0 && duration > 0.8 * timeout {
                    problems.push((
                        Status::Warning,
                        format!("{job} scrapes slow"),
                        format!("Scrapes of {instance} take {} of their {} timeout: one slower scrape and the target is marked down. Raise scrape_timeout or make the exporter faster.", seconds(duration), seconds(timeout)),
                    ));
                }
            }
            if let (Some(&now), Some(&max)) = (samples.get(&key), samples_max.get(&key)) {
                // A failed scrape reports 0 samples: that is a down target (or a TSDB that has
                // not caught up with a recovered one), not a collapse.
                if max > 0.0 && now > 0.0 && now < rules.collapse_fraction * max {
                    problems.push((
                        Status::Failing,
                        format!("{job} samples collapsed to {}%", percent(now / max)),
                        format!(
                            "The last scrape of {instance} returned {} samples, {}% of its maximum of {} in the last {window}: the exporter answers, but with part of its data (a cache emptied by a concurrent scrape does this). Panels built on it show gaps without an error.",
                            count(now), percent(now / max), count(max)
                        ),
                    ));
                }
            }
            // Against the recent maximum: a collapsed scrape must not look like churn.
            let size = samples.get(&key).copied().into_iter().chain(samples_max.get(&key).copied()).fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
            // Twice the size: one exporter restart re-adds every series once.
            if let (Some(&added), Some(now), true) = (churn.get(&key), size, pgss_jobs.contains(&job)) {
                if now > 0.0 && added > 2.0 * now {
                    problems.push((
                        Status::Warning,
                        format!("{job} series churn"),
                        format!(
                            "{instance} created {} new series in the last {window}, {:.1}× the {} it returns at most per scrape: labels that keep changing (a top-N list of statements, say) grow the TSDB and break rate().",
                            count(added), added / now, count(now)
                        ),
                    ));
                }
            }
        }
        let status = problems.iter().map(|p| p.0).max().unwrap_or(Status::Ok);
        let (summary, reason) = if problems.is_empty() {
            let mut figures = vec!["up".to_string()];
            if let Some(&n) = samples.get(&key) {
                figures.push(format!("{} samples", count(n)));
            }
            if let Some(d) = duration {
                figures.push(match timeout {
                    Some(t) => format!("scraped in {} (timeout {})", seconds(d), seconds(t)),
                    None => format!("scraped in {}", seconds(d)),
                });
            }
            (format!("{job} up"), figures.join(", "))
        } else {
            problems.sort_by_key(|p| std::cmp::Reverse(p.0));
            (problems[0].1.clone(), problems.iter().map(|p| p.2.clone()).collect::<Vec<_>>().join(" "))
        };
        checks.push(Check {
            component: "Scrape targets",
            name: format!("{job} {instance}"),
            job,
            instance,
            status,
            summary,
            reason,
            since,
        });
    }
    if obs.targets.is_none() && obs.up.is_none() {
        checks.push(unknown("Scrape targets", "targets", "targets unknown", "Neither /api/v1/targets nor the up metric answered in time."));
    }
    checks
}

/// When a target that is down now went down: the first point after its last `up == 1` (or
/// that last point itself, when the history has not caught up yet); None when it was not up at
/// any point of the history.
fn down_since(history: &[(f64, f64)]) -> Option<f64> {
    let last_up = history.iter().rposition(|&(_, v)| v == 1.0)?;
    history.get(last_up + 1).or(history.get(last_up)).map(|p| p.0)
}

pub(super) fn required_job_checks(obs: &Observations, rules: &StackRules) -> Vec<Check> {
    let mut jobs: BTreeSet<String> = obs.targets.iter().flatten().map(|t| t.job.clone()).collect();
    jobs.extend(obs.up.iter().flatten().filter_map(|(l, _)| l.get("job").cloned()));
    let known = obs.targets.is_some() || obs.up.is_some();
    rules
        .required_jobs
        .iter()
        .filter(|job| !jobs.contains(*job))
        .map(|job| {
            if !known {
                return unknown("Scrape targets", job, &format!("{job} unknown"), "The TSDB did not say which targets it scrapes.");
            }
            Check {
                component: "Scrape targets",
                name: format!("{job} (required)"),
                job: job.clone(),
                instance: String::new(),
                status: Status::Failing,
                summary: format!("{job} missing"),
                reason: format!("Job {job} is required by the datasource settings but the TSDB scrapes no target of it: its scrape config is missing or its service discovery finds nothing."),
                since: None,
            }
        })
        .collect()
}

/// `down_since`: when each job's target went down (its info series went with it).
pub(super) fn info_checks(obs: &Observations, rules: &StackRules, down_since: &BTreeMap<String, f64>) -> Vec<Check> {
    // The statements are those of the first calls metric, the one the info metrics' share named
    // was joined with (gather), on the same sample of queryids.
    let calls = obs.pgss.first();
    let statements = calls.and_then(|p| p.statements);
    // Past `SAMPLE_ABOVE` series the counts are of a sample: said, with how it was drawn.
    let sample = match calls.filter(|p| p.statements.is_some()).and_then(|p| p.sampled.map(|digits| (digits, p.count_now))) {
        Some((digits, series)) => format!(
            " (counted on a sample, one statement in {}: the queryids with {} before their last digit; {} series are too many to join whole within Save & test)",
            count(QueryidSample { digits }.scale()),
            "0".repeat(digits as usize),
            count(series.unwrap_or(0.0))
        ),
        None => String::new(),
    };
    let mut checks = Vec::new();
    for info in &obs.info {
        let job = info.history.iter().find_map(|(l, _)| l.get("job").cloned()).unwrap_or_default();
        let last_seen = newest_point(&info.history);
        let check = |status, summary: String, reason: String, since| Check {
            component: "Query names",
            name: info.metric.clone(),
            job: job.clone(),
            instance: String::new(),
            status,
            summary,
            reason,
            since,
        };
        match (info.count_now, last_seen) {
            (None, None) if rules.info_metrics.contains(&info.metric) => checks.push(check(
                Status::Warning,
                format!("{} absent", info.metric),
                format!("The info metric {} is configured but has no series in the last {}: check its exporter and the scrape config.", info.metric, human_duration(rules.window.as_secs_f64())),
                None,
            )),
            (None, None) => {}
            (None, Some(seen)) => {
                let seen = down_since.get(&job).copied().unwrap_or(seen);
                checks.push(check(
                Status::Failing,
                format!("{} gone: names unavailable", info.metric),
                format!(
                    "{} has had no series for {} ({}): pgss panels that join it show queryids instead of names; pgscope's fallback keeps their data. Restart the exporter that serves it{}.",
                    info.metric,
                    human_duration(obs.at - seen),
                    if job.is_empty() { "its job is unknown".to_string() } else { format!("job {job}") },
                    if job.is_empty() { String::new() } else { format!(" ({job})") }
                ),
                Some(seen),
            ))
            }
            (Some(count_now), _) => {
                let named = info.named.zip(statements).filter(|(_, total)| *total > 0.0);
                match named {
                    Some((named, total)) if named / total < 0.9 => checks.push(check(
                        Status::Warning,
                        format!("{}% of statements named", percent(named / total)),
                        format!(
                            "{} names {} of the {} statements in pg_stat_statements ({}%){sample}: the others show as queryids. The info exporter may read fewer statements than the pgss exporter, or lag behind new ones.",
                            info.metric, count(named), count(total), percent(named / total)
                        ),
                        None,
                    )),
                    _ => {
                        // Counted on a sample of queryids past `SAMPLE_ABOVE` (gather's `info_count`).
                        let series = match info.count_sampled {
                            Some(_) => format!("about {}", count(count_now)),
                            None => count(count_now),
                        };
                        checks.push(check(
                            Status::Ok,
                            format!("{series} names"),
                            match named {
                                Some((named, total)) => format!("{series} series; {} of {} statements named{sample}", count(named), count(total)),
                                None => format!("{series} series"),
                            },
                            None,
                        ))
                    }
                }
            }
        }
    }
    checks
}

/// The time of the newest point of a range answer, if it has any.
pub(super) fn newest_point(history: &[Series]) -> Option<f64> {
    history.iter().flat_map(|(_, points)| points.iter().map(|p| p.0)).reduce(f64::max)
}


pub(super) fn unknown(component: &'static str, name: &str, summary: &str, reason: &str) -> Check {
    Check {
        component,
        name: name.to_string(),
        job: String::new(),
        instance: String::new(),
        status: Status::Unknown,
        summary: summary.to_string(),
        reason: reason.to_string(),
        since: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_since_is_the_start_of_the_last_run_of_zeros() {
        assert_eq!(down_since(&[(0.0, 1.0), (30.0, 1.0), (60.0, 0.0), (90.0, 0.0)]), Some(60.0));
        assert_eq!(down_since(&[(0.0, 0.0), (30.0, 0.0)]), None);
        assert_eq!(down_since(&[(0.0, 1.0), (30.0, 0.0), (60.0, 1.0), (90.0, 0.0)]), Some(90.0));
        assert_eq!(down_since(&[(0.0, 1.0), (30.0, 1.0)]), Some(30.0), "the history lags the targets API");
    }

    #[test]
    fn a_share_named_counted_on_a_sample_says_so_and_keeps_its_verdict() {
        let pgss = |statements: f64, sampled| super::super::PgssObservation { metric: "pg_stat_statements_calls_total".into(), count_now: Some(100_000.0), statements: Some(statements), sampled, ..Default::default() };
        let info = super::super::InfoObservation { metric: "pgss_query_info".into(), count_now: Some(90_000.0), named: Some(8_000.0), ..Default::default() };
        let obs = Observations { info: vec![info.clone()], pgss: vec![pgss(9_000.0, Some(1))], ..Default::default() };
        let checks = info_checks(&obs, &StackRules::default(), &BTreeMap::new());
        assert_eq!((checks[0].status, checks[0].summary.as_str()), (Status::Warning, "89% of statements named"));
        assert!(checks[0].reason.contains("names 8,000 of the 9,000 statements in pg_stat_statements (89%) (counted on a sample, one statement in 10: the queryids with 0 before their last digit; 100,000 series"), "{}", checks[0].reason);
        let whole = Observations { info: vec![super::super::InfoObservation { named: Some(80_000.0), ..info.clone() }], pgss: vec![pgss(90_000.0, None)], ..Default::default() };
        let checks = info_checks(&whole, &StackRules::default(), &BTreeMap::new());
        assert_eq!(checks[0].summary, "89% of statements named");
        assert!(!checks[0].reason.contains("sample"), "{}", checks[0].reason);
        // Named enough, the info metric itself counted on the sample: its count is "about".
        let sampled = super::super::InfoObservation { named: Some(8_900.0), count_sampled: Some(1), ..info };
        let checks = info_checks(&Observations { info: vec![sampled], pgss: vec![pgss(9_000.0, Some(1))], ..Default::default() }, &StackRules::default(), &BTreeMap::new());
        assert_eq!((checks[0].status, checks[0].summary.as_str()), (Status::Ok, "about 90,000 names"));
        assert!(checks[0].reason.starts_with("about 90,000 series; 8,900 of 9,000 statements named (counted on a sample"), "{}", checks[0].reason);
    }
}

