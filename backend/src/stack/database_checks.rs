//! The checks of the database side: pgss data freshness, PostgreSQL exporters (pg_up, scrape
//! errors) and Patroni clusters (one primary, timeline, paused, pending restart, DCS contact).
//! Pure.

use std::collections::BTreeMap;

use super::checks::{key_of, newest_point, unknown, TargetKey};
use super::text::{count, human_duration, plural};
use super::{Check, Observations, StackRules, Status, PGSS_CALLS_METRICS, POSTGRES_METRICS};

pub(super) fn pgss_checks(obs: &Observations, rules: &StackRules) -> Vec<Check> {
    let stale_after = (3.0 * rules.scrape_interval.as_secs_f64()).max(60.0);
    let mut checks = Vec::new();
    for pgss in &obs.pgss {
        let last_seen = newest_point(&pgss.history);
        let (status, summary, reason, since) = match (pgss.count_now, pgss.age) {
            (Some(n), Some(age)) if age <= stale_after => (
                Status::Ok,
                format!("{} series", count(n)),
                format!("{} series, newest sample {} old", count(n), human_duration(age)),
                None,
            ),
            (Some(_), Some(age)) => (
                Status::Warning,
                format!("pgss data {} old", human_duration(age)),
                format!("The newest {} sample is {} old (more than 3 scrape intervals): the exporter scrapes slowly or fails part of the time.", pgss.metric, human_duration(age)),
                Some(obs.at - age),
            ),
            _ => (
                Status::Failing,
                "pgss data stale".into(),
                format!(
                    "{} has no current sample{}: pgss panels go blank. Check postgres_exporter (or pgwatch) and its stat_statements collector.",
                    pgss.metric,
                    last_seen.map(|t| format!(" (last seen {} ago)", human_duration(obs.at - t))).unwrap_or_default()
                ),
                last_seen,
            ),
        };
        checks.push(Check { component: "pgss data", name: pgss.metric.clone(), job: String::new(), instance: String::new(), status, summary, reason, since });
    }
    if obs.pgss.is_empty() {
        checks.push(Check {
            component: "pgss data",
            name: "pg_stat_statements metrics".into(),
            job: String::new(),
            instance: String::new(),
            status: Status::Warning,
            summary: "no pgss metrics".into(),
            reason: format!(
                "None of {} has a series in the last {}: no exporter feeds pg_stat_statements into this TSDB (postgres_exporter needs --collector.stat_statements).",
                PGSS_CALLS_METRICS.join(", "),
                human_duration(rules.window.as_secs_f64())
            ),
            since: None,
        });
    }
    checks
}

pub(super) fn postgres_checks(obs: &Observations) -> Vec<Check> {
    let Some(samples) = &obs.postgres else {
        return vec![unknown("PostgreSQL", "exporters", "PostgreSQL unknown", "The TSDB did not answer the pg_up query in time.")];
    };
    let mut by_instance: BTreeMap<TargetKey, Vec<(&str, f64)>> = BTreeMap::new();
    for (labels, value) in samples {
        let name = labels.get("__name__").map(String::as_str).unwrap_or("pg_up");
        let metric = POSTGRES_METRICS.iter().find(|m| **m == name).copied().unwrap_or("pg_up");
        let mut key = key_of(labels);
        if let Some(server) = labels.get("server").or(labels.get("dbname")) {
            key.1 = format!("{} ({server})", key.1);
        }
        by_instance.entry(key).or_default().push((metric, *value));
    }
    by_instance
        .into_iter()
        .map(|((job, instance), values)| {
            let down = values.iter().any(|(m, v)| (*m == "pg_up" || *m == "pgwatch_instance_up") && *v == 0.0);
            let error = values.iter().any(|(m, v)| *m == "pg_exporter_last_scrape_error" && *v == 1.0);
            let (status, summary, reason) = if down {
                (Status::Failing, format!("{job}: PostgreSQL down"), format!("The exporter {instance} cannot reach PostgreSQL (pg_up = 0): the server is down or the exporter's connection string / role is wrong."))
            } else if error {
                (Status::Warning, format!("{job}: scrape errors"), format!("The exporter {instance} had an error in its last scrape of PostgreSQL (pg_exporter_last_scrape_error = 1): a custom query failed or timed out; its log says which."))
            } else {
                (Status::Ok, format!("{job}: PostgreSQL up"), format!("The exporter {instance} reaches PostgreSQL."))
            };
            Check { component: "PostgreSQL", name: format!("{job} {instance}"), job, instance, status, summary, reason, since: None }
        })
        .collect()
}

pub(super) fn patroni_checks(obs: &Observations, rules: &StackRules) -> Vec<Check> {
    let Some(samples) = &obs.patroni else {
        return Vec::new();
    };
    #[derive(Default)]
    struct Member {
        values: BTreeMap<String, f64>,
    }
    let mut scopes: BTreeMap<String, BTreeMap<String, Member>> = BTreeMap::new();
    for (labels, value) in samples {
        let scope = labels.get("scope").cloned().unwrap_or_default();
        let member = labels.get("name").or(labels.get("instance")).cloned().unwrap_or_default();
        let metric = labels.get("__name__").cloned().unwrap_or_default();
        scopes.entry(scope).or_default().entry(member).or_default().values.insert(metric, *value);
    }
    let timeline_min: BTreeMap<String, f64> = obs
        .patroni_timeline_min
        .iter()
        .flatten()
        .map(|(l, v)| (l.get("scope").cloned().unwrap_or_default(), *v))
        .fold(BTreeMap::new(), |mut m, (scope, v)| {
            let e = m.entry(scope).or_insert(v);
            *e = e.min(v);
            m
        });
    let window = human_duration(rules.window.as_secs_f64());
    scopes
        .into_iter()
        .map(|(scope, members)| {
            let mut problems: Vec<(Status, String, String)> = Vec::new();
            let is_primary = |m: &Member| m.values.get("patroni_primary").or(m.values.get("patroni_master")).copied() == Some(1.0);
            let primaries: Vec<&String> = members.iter().filter(|(_, m)| is_primary(m)).map(|(name, _)| name).collect();
            match primaries.len() {
                1 => {}
                0 => problems.push((Status::Failing, format!("{scope}: no primary"), format!("No member of Patroni cluster {scope} is primary ({}): writes fail until a leader is elected.", plural(members.len(), "member reports", "members report")))),
                n => problems.push((Status::Failing, format!("{scope}: {n} primaries"), format!("{n} members of {scope} say they are primary ({}): split brain, stop one now.", primaries.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")))),
            }
            let timeline = members.values().filter_map(|m| m.values.get("patroni_postgres_timeline").copied()).fold(f64::NAN, f64::max);
            if let Some(&first) = timeline_min.get(&scope) {
                if timeline.is_finite() && timeline > first {
                    problems.push((Status::Warning, format!("{scope}: timeline changed"), format!("The timeline of {scope} went from {first} to {timeline} in the last {window}: a failover or switchover happened; check why and that replicas followed.")));
                }
            }
            if members.values().any(|m| m.values.get("patroni_is_paused") == Some(&1.0)) {
                problems.push((Status::Warning, format!("{scope}: paused"), format!("Patroni cluster {scope} is in maintenance mode (paused): automatic failover is off.")));
            }
            let pending: Vec<&String> = members.iter().filter(|(_, m)| m.values.get("patroni_pending_restart") == Some(&1.0)).map(|(n, _)| n).collect();
            if !pending.is_empty() {
                problems.push((Status::Warning, format!("{scope}: restart pending"), format!("Members of {scope} with settings waiting for a restart: {}.", pending.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))));
            }
            for (name, member) in &members {
                if let Some(&seen) = member.values.get("patroni_dcs_last_seen") {
                    let age = obs.at - seen;
                    if seen > 0.0 && age > rules.patroni_ttl.as_secs_f64() {
                        problems.push((Status::Failing, format!("{scope}: DCS unreachable"), format!("Member {name} of {scope} last reached the DCS {} ago (TTL {}): it cannot hold or renew the leader lock.", human_duration(age), human_duration(rules.patroni_ttl.as_secs_f64()))));
                    }
                }
            }
            let status = problems.iter().map(|p| p.0).max().unwrap_or(Status::Ok);
            problems.sort_by_key(|p| std::cmp::Reverse(p.0));
            let (summary, reason) = match problems.first() {
                None => (
                    format!("{scope}: healthy"),
                    format!("{}, primary {}, timeline {}", plural(members.len(), "member", "members"), primaries.first().map(|s| s.as_str()).unwrap_or("?"), if timeline.is_finite() { timeline.to_string() } else { "?".into() }),
                ),
                Some(first) => (first.1.clone(), problems.iter().map(|p| p.2.clone()).collect::<Vec<_>>().join(" ")),
            };
            Check { component: "Patroni", name: scope.clone(), job: String::new(), instance: String::new(), status, summary, reason, since: None }
        })
        .collect()
}

