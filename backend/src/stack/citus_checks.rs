//! Citus clusters: worker nodes Citus marks inactive, shard placements in the inactive state and
//! nodes whose metadata is not synced, one check per node. Read from custom-query metrics: the
//! `pg_citus_node_*` gauges of Pigsty's pg_exporter collector `pg_citus_node` (one row of
//! pg_dist_node each, labels `node` = nodename:nodeport and `datname`) and `pg_citus_placement_*`,
//! pgscope's query over pg_dist_placement in the same naming (backend/data/catalogue/citus.yaml
//! says where each comes from; docs/stack-health.md gives both queries). Pure. Citus is an
//! extension: a stack without these metrics, or whose TSDB did not answer, gets no check at all.

use std::collections::{BTreeMap, BTreeSet};

use super::text::count;
use super::{Check, Observations, Status};

/// pg_dist_node.isactive: 0 when Citus plans no query on the node (citus_disable_node, or a
/// node that failed activation).
pub const IS_ACTIVE: &str = "pg_citus_node_is_active";
/// pg_dist_node.hasmetadata: the node is meant to hold the cluster's metadata.
pub const HAS_METADATA: &str = "pg_citus_node_has_meta";
/// pg_dist_node.metadatasynced: the metadata it holds is current.
pub const METADATA_SYNCED: &str = "pg_citus_node_meta_synced";
/// Placements with pg_dist_placement.shardstate = 3 (inactive) in the node's group.
pub const INACTIVE_PLACEMENTS: &str = "pg_citus_placement_inactive";
/// Every placement in the node's group.
pub const PLACEMENTS: &str = "pg_citus_placement_total";

/// The metrics asked for, in one selector.
pub const CITUS_METRICS: &[&str] = &[IS_ACTIVE, HAS_METADATA, METADATA_SYNCED, INACTIVE_PLACEMENTS, PLACEMENTS];

/// One Citus node as every exporter that reports it sees it. The coordinator's exporter and,
/// with metadata synced, each worker's report every node: the worst view wins (a worker with
/// stale metadata may still call a node active).
#[derive(Default)]
struct Node {
    active: Option<f64>,
    has_metadata: Option<f64>,
    synced: Option<f64>,
    inactive_placements: Option<f64>,
    placements: Option<f64>,
    reporters: BTreeSet<String>,
    job: String,
}

fn lowest(slot: &mut Option<f64>, value: f64) {
    *slot = Some(slot.map_or(value, |s| s.min(value)));
}

fn highest(slot: &mut Option<f64>, value: f64) {
    *slot = Some(slot.map_or(value, |s| s.max(value)));
}

pub(super) fn citus_checks(obs: &Observations) -> Vec<Check> {
    let mut nodes: BTreeMap<(String, String), Node> = BTreeMap::new();
    for (labels, value) in obs.citus.iter().flatten() {
        let Some(node_name) = labels.get("node").filter(|n| !n.is_empty()) else { continue };
        if !value.is_finite() {
            continue;
        }
        let datname = labels.get("datname").cloned().unwrap_or_default();
        let node = nodes.entry((node_name.clone(), datname)).or_default();
        match labels.get("__name__").map(String::as_str) {
            Some(IS_ACTIVE) => lowest(&mut node.active, *value),
            Some(HAS_METADATA) => highest(&mut node.has_metadata, *value),
            Some(METADATA_SYNCED) => lowest(&mut node.synced, *value),
            Some(INACTIVE_PLACEMENTS) => highest(&mut node.inactive_placements, *value),
            Some(PLACEMENTS) => highest(&mut node.placements, *value),
            _ => continue,
        }
        if let Some(instance) = labels.get("instance") {
            node.reporters.insert(instance.clone());
        }
        if node.job.is_empty() {
            node.job = labels.get("job").cloned().unwrap_or_default();
        }
    }
    nodes.into_iter().map(|((name, datname), node)| node_check(name, &datname, node)).collect()
}

fn node_check(name: String, datname: &str, node: Node) -> Check {
    let seen_by = match node.reporters.len() {
        0 => String::new(),
        _ => format!(", as {} report{}", node.reporters.iter().cloned().collect::<Vec<_>>().join(", "), if node.reporters.len() == 1 { "s" } else { "" }),
    };
    let database = if datname.is_empty() { String::new() } else { format!(" (database {datname})") };
    let inactive = node.active == Some(0.0);
    let mut problems: Vec<(Status, String, String)> = Vec::new();
    if inactive {
        problems.push((
            Status::Failing,
            format!("Citus node {name} inactive"),
            format!(
                "pg_dist_node marks {name}{database} inactive (isactive = false{seen_by}): Citus plans no query on it, and queries that need the shards it holds fail. Bring the node back, then SELECT citus_activate_node('host', port)."
            ),
        ));
    }
    if let Some(bad) = node.inactive_placements.filter(|n| *n >= 0.5) {
        let of = node.placements.map(|total| format!(" of {}", count(total))).unwrap_or_default();
        problems.push((
            Status::Failing,
            format!("{} inactive placements on {name}", count(bad)),
            format!(
                "{}{of} shard placements on {name}{database} are inactive (pg_dist_placement.shardstate = 3): those copies missed writes and Citus no longer reads them, so the shards have one copy fewer, or none. Repair each from a healthy placement (citus_copy_shard_placement).",
                count(bad)
            ),
        ));
    }
    if !inactive && node.has_metadata == Some(1.0) && node.synced == Some(0.0) {
        problems.push((
            Status::Warning,
            format!("Citus metadata not synced to {name}"),
            format!(
                "Citus has not synced its metadata to {name}{database} (metadatasynced = false while hasmetadata = true{seen_by}): queries sent to that node see stale distributed tables. The maintenance daemon retries; if it keeps failing, the coordinator's log says why, and SELECT start_metadata_sync_to_node('host', port) retries by hand."
            ),
        ));
    }
    problems.sort_by_key(|p| std::cmp::Reverse(p.0));
    let (status, summary, reason) = match problems.first() {
        Some(first) => (first.0, first.1.clone(), problems.iter().map(|p| p.2.clone()).collect::<Vec<_>>().join(" ")),
        None => {
            let mut figures = Vec::new();
            if node.active.is_some() {
                figures.push("active".to_string());
            }
            if node.synced == Some(1.0) {
                figures.push("metadata synced".to_string());
            }
            if let Some(total) = node.placements {
                figures.push(format!("{} placements, none inactive", count(total)));
            }
            if figures.is_empty() {
                figures.push("no problem reported".to_string());
            }
            (Status::Ok, format!("Citus node {name} ok"), format!("{name}{database}: {}.", figures.join(", ")))
        }
    };
    Check { component: "Citus", name, job: node.job, instance: String::new(), status, summary, reason, since: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Labels;

    // Hand-written samples (Citus is not installable here), labelled as pg_exporter labels them.
    fn sample(name: &str, node: &str, reporter: &str, value: f64) -> (Labels, f64) {
        let pairs = [("__name__", name), ("node", node), ("datname", "app"), ("job", "postgres"), ("instance", reporter)];
        (pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), value)
    }

    /// One node's gauges as the coordinator's exporter reports them.
    fn node(node: &str, gauges: &[(&str, f64)]) -> Vec<(Labels, f64)> {
        gauges.iter().map(|(name, value)| sample(name, node, "c:9187", *value)).collect()
    }

    fn checks(samples: Vec<(Labels, f64)>) -> Vec<Check> {
        citus_checks(&Observations { citus: Some(samples), ..Default::default() })
    }

    #[test]
    fn no_citus_metric_means_no_check() {
        assert!(checks(vec![]).is_empty());
        assert!(citus_checks(&Observations::default()).is_empty(), "an unanswered request adds no unknown either");
        assert!(checks(vec![sample(IS_ACTIVE, "", "c:9187", 1.0)]).is_empty(), "a row without a node names nothing");
    }

    #[test]
    fn a_healthy_node_says_its_figures() {
        let c = checks(node("w1:5432", &[(IS_ACTIVE, 1.0), (HAS_METADATA, 1.0), (METADATA_SYNCED, 1.0), (INACTIVE_PLACEMENTS, 0.0), (PLACEMENTS, 1234.0)]));
        assert_eq!((c.len(), c[0].status, c[0].component), (1, Status::Ok, "Citus"));
        assert_eq!(c[0].reason, "w1:5432 (database app): active, metadata synced, 1,234 placements, none inactive.");
    }

    #[test]
    fn the_worst_view_of_a_node_wins() {
        let c = checks(vec![sample(IS_ACTIVE, "w2:5432", "c:9187", 0.0), sample(IS_ACTIVE, "w2:5432", "w1:9187", 1.0)]);
        assert_eq!((c[0].status, c[0].summary.as_str()), (Status::Failing, "Citus node w2:5432 inactive"));
        assert!(c[0].reason.contains("as c:9187, w1:9187 report") && c[0].reason.contains("citus_activate_node"), "{}", c[0].reason);
    }

    #[test]
    fn inactive_placements_fail_and_unsynced_metadata_warns() {
        let mut samples = node("w1:5432", &[(INACTIVE_PLACEMENTS, 3.0), (PLACEMENTS, 64.0)]);
        samples.extend(node("w3:5432", &[(IS_ACTIVE, 1.0), (HAS_METADATA, 1.0), (METADATA_SYNCED, 0.0)]));
        let c = checks(samples);
        assert_eq!((c[0].status, c[0].summary.as_str()), (Status::Failing, "3 inactive placements on w1:5432"));
        assert!(c[0].reason.starts_with("3 of 64 shard placements on w1:5432 (database app) are inactive"), "{}", c[0].reason);
        assert_eq!((c[1].status, c[1].summary.as_str()), (Status::Warning, "Citus metadata not synced to w3:5432"));
    }

    #[test]
    fn metadata_a_node_is_not_meant_to_hold_or_an_inactive_node_is_not_a_sync_problem() {
        let c = checks(node("w4:5432", &[(HAS_METADATA, 0.0), (METADATA_SYNCED, 0.0)]));
        assert_eq!(c[0].status, Status::Ok, "{}", c[0].reason);
        let c = checks(node("w5:5432", &[(IS_ACTIVE, 0.0), (HAS_METADATA, 1.0), (METADATA_SYNCED, 0.0)]));
        assert!(!c[0].reason.contains("not synced"), "the inactive node is the news: {}", c[0].reason);
        let c = checks(vec![sample(IS_ACTIVE, "w6:5432", "c:9187", f64::NAN)]);
        assert!(c.is_empty(), "a non-finite value says nothing");
    }
}
