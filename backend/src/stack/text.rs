//! The checks in words: durations and counts as people write them, scrape errors without
//! credentials, the one-line summary and the per-check lines of Save & test. Pure.

use std::collections::BTreeSet;

use super::{Check, Status};

/// "12 min", "3 h 5 min", "45 s".
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=89 => format!("{s} s"),
        90..=5399 => format!("{} min", (s + 30) / 60),
        5400..=172_799 => {
            let (h, m) = (s / 3600, (s % 3600 + 30) / 60);
            if m == 0 || h >= 10 { format!("{} h", (s + 1800) / 3600) } else { format!("{h} h {m} min") }
        }
        // Saturating: a TSDB's odd timestamp (or infinity) must not overflow.
        _ => format!("{} d", s.saturating_add(43_200) / 86_400),
    }
}

pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(super) fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{} ms", (s * 1000.0).round())
    } else {
        format!("{:.1} s", s)
    }
}

pub(super) fn count(n: f64) -> String {
    let n = n.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

pub(super) fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p < 1.0 { format!("{:.2}", p) } else { format!("{:.0}", p) }
}

/// The one-line stack summary for Save & test: "5 of 6 targets up · query-info down 12 min:
/// names unavailable". Problems worst first, at most four.
pub fn summary_line(checks: &[Check]) -> String {
    let targets: Vec<&Check> = checks.iter().filter(|c| c.component == "Scrape targets" && !c.instance.is_empty()).collect();
    let up = targets.iter().filter(|c| !c.summary.contains(" down")).count();
    let mut parts = Vec::new();
    if !targets.is_empty() {
        parts.push(format!("{up} of {} targets up", targets.len()));
    }
    let problems: Vec<&Check> = checks.iter().filter(|c| c.status >= Status::Warning).collect();
    // A down info job already says "names unavailable"; the info check would repeat it.
    let down_info_jobs: BTreeSet<&str> = problems.iter().filter(|c| c.summary.ends_with("names unavailable") && c.component == "Scrape targets").map(|c| c.job.as_str()).collect();
    let problems: Vec<&&Check> = problems.iter().filter(|c| !(c.component == "Query names" && down_info_jobs.contains(c.job.as_str()))).collect();
    for check in problems.iter().take(4) {
        parts.push(check.summary.clone());
    }
    if problems.len() > 4 {
        let more = problems.len() - 4;
        parts.push(format!("{more} more problem{}", if more == 1 { "" } else { "s" }));
    }
    if problems.is_empty() {
        parts.push("stack healthy".into());
    }
    parts.join(" · ")
}

/// One line per check for the health details: "[failing] Scrape targets / query-info …: reason".
pub fn verbose_lines(checks: &[Check]) -> String {
    checks.iter().map(|c| format!("[{}] {} / {}: {}", c.status.as_str(), c.component, c.name, c.reason)).collect::<Vec<_>>().join("\n")
}

/// How many checks Save & test's details list one by one (worst first): with 1,000 scrape
/// targets every one would make a quarter of a megabyte of details.
pub const DETAILED_CHECKS: usize = 100;

/// The line that counts the checks past the first `shown`, by status, when there are any:
/// "… 905 more checks (900 ok, 5 unknown): the Stack health page and the stackHealth query list
/// every one".
pub fn more_checks_line(checks: &[Check], shown: usize) -> Option<String> {
    let rest = checks.get(shown..).filter(|rest| !rest.is_empty())?;
    let by_status: Vec<String> = [Status::Failing, Status::Warning, Status::Unknown, Status::Ok]
        .iter()
        .map(|status| (rest.iter().filter(|c| c.status == *status).count(), status.as_str()))
        .filter(|(n, _)| *n > 0)
        .map(|(n, status)| format!("{n} {status}"))
        .collect();
    Some(format!(
        "… {} ({}): the Stack health page and the stackHealth query list every one",
        plural(rest.len(), "more check", "more checks"),
        by_status.join(", ")
    ))
}


/// Scrape errors quote URLs, which may carry credentials (`http://user:pass@host`).
pub(super) fn scrub(text: &str) -> String {
    crate::redact::url_credentials(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(human_duration(4.2), "4 s");
        assert_eq!(human_duration(720.0), "12 min");
        assert_eq!(human_duration(3600.0 + 300.0), "65 min");
        assert_eq!(human_duration(2.0 * 3600.0 + 600.0), "2 h 10 min");
        assert_eq!(human_duration(30.0 * 3600.0), "30 h");
        assert_eq!(human_duration(3.0 * 86400.0), "3 d");
        assert_eq!(count(117000.0), "117,000");
        assert_eq!(percent(54.0 / 117000.0), "0.05");
        // Whatever a TSDB answers: no overflow, no panic.
        for odd in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, f64::MAX, -f64::MAX, 1e300] {
            let _ = (human_duration(odd), count(odd), percent(odd), seconds(odd));
        }
        assert_eq!(count(f64::NEG_INFINITY), "-9,223,372,036,854,775,808");
    }



    #[test]
    fn checks_past_the_detailed_ones_are_counted_by_status() {
        let check = |status| Check { component: "Scrape targets", name: "n".into(), job: String::new(), instance: String::new(), status, summary: String::new(), reason: String::new(), since: None };
        let checks: Vec<Check> = [Status::Failing, Status::Unknown, Status::Ok, Status::Ok].into_iter().map(check).collect();
        assert_eq!(more_checks_line(&checks, 1).as_deref(), Some("… 3 more checks (1 unknown, 2 ok): the Stack health page and the stackHealth query list every one"));
        assert_eq!(more_checks_line(&checks, 3).as_deref(), Some("… 1 more check (1 ok): the Stack health page and the stackHealth query list every one"));
        assert_eq!(more_checks_line(&checks, 4), None);
        assert_eq!(more_checks_line(&checks, 9), None, "past the end: nothing, no panic");
    }

    #[test]
    fn credentials_in_scrape_errors_are_removed() {
        let text = r#"error when scraping "http://admin:hunter2@10.0.0.1:9187/metrics": dial tcp"#;
        let scrubbed = scrub(text);
        assert!(!scrubbed.contains("hunter2") && !scrubbed.contains("admin"), "{scrubbed}");
        assert!(scrubbed.contains("http://<redacted>@10.0.0.1:9187/metrics"), "{scrubbed}");
    }
}

