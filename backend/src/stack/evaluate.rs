//! Every check run over one set of observations, worst first. Pure.

use std::collections::BTreeMap;

use super::checks::{info_checks, required_job_checks, target_checks};
use super::citus_checks::citus_checks;
use super::coverage_checks::coverage_checks;
use super::database_checks::{patroni_checks, pgss_checks, postgres_checks};
use super::{Check, Observations, StackRules};

/// Turns observations into checks, worst first.
pub fn evaluate(obs: &Observations, rules: &StackRules) -> Vec<Check> {
    let mut checks = target_checks(obs, rules);
    checks.extend(required_job_checks(obs, rules));
    let down_since: BTreeMap<String, f64> = checks.iter().filter_map(|c| Some((c.job.clone(), c.since?))).collect();
    checks.extend(info_checks(obs, rules, &down_since));
    checks.extend(pgss_checks(obs, rules));
    checks.extend(postgres_checks(obs));
    checks.extend(coverage_checks(obs, rules));
    checks.extend(patroni_checks(obs, rules));
    checks.extend(citus_checks(obs));
    checks.sort_by(|a, b| b.status.cmp(&a.status).then(a.component.cmp(b.component)).then(a.name.cmp(&b.name)));
    checks
}
