//! A datasource's PostgreSQL servers (`pgssConnection` and `pgssServers`) and which one names a
//! statement: the server whose instance or cluster label value is the statement's series', else
//! the default one (`pgssConnection`). A statement whose series' labels are not known (the
//! ranked top-queries table sums them away) is asked of every server (unless one gave its text
//! within the cache's TTL): a queryid hashes the statement's parse tree with its tables' OIDs,
//! so the server that knows it is its own.
//! Not for: one server's lookups and cache (`PgNames`).

use std::time::Instant;

use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};

use super::{Lookup, PgNames, Reach};
use crate::settings::pg_servers::{PgServers, ServerLabel};

/// At most this many servers are checked at once by Save & test.
const CHECKS_AT_ONCE: usize = 16;

/// Where a statement's series come from: their instance and cluster label values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Location {
    pub instance: Option<String>,
    pub cluster: Option<String>,
}

/// The servers, the default one (if any) first.
#[derive(Default)]
pub struct PgFleet {
    default: Option<PgNames>,
    matched: Vec<(ServerLabel, String, PgNames)>,
}

impl PgFleet {
    pub fn new(servers: PgServers) -> PgFleet {
        PgFleet {
            default: servers.default.map(PgNames::new),
            matched: servers
                .matched
                .into_iter()
                .map(|s| {
                    let shown = format!("{} ({} {}) {}", s.name, s.label.as_str(), s.value, s.connection.describe());
                    (s.label, s.value, PgNames::shown_as(s.connection, shown))
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.matched.is_empty()
    }

    /// The server for requests that name none (index advice): the default one, or the only one.
    pub fn primary(&self) -> Option<&PgNames> {
        match (&self.default, self.matched.as_slice()) {
            (Some(default), _) => Some(default),
            (None, [(_, _, only)]) => Some(only),
            _ => None,
        }
    }

    /// Every server, the default first.
    pub fn servers(&self) -> impl Iterator<Item = &PgNames> {
        self.default.iter().chain(self.matched.iter().map(|(_, _, names)| names))
    }

    /// The servers (indexes into `servers()`) that name a statement at `location`: those whose
    /// label value it carries, else the default; every server when the location is unknown.
    fn route(&self, location: Option<&Location>) -> Vec<usize> {
        let offset = usize::from(self.default.is_some());
        let Some(location) = location else { return (0..offset + self.matched.len()).collect() };
        let claimed: Vec<usize> = self
            .matched
            .iter()
            .enumerate()
            .filter(|(_, (label, value, _))| {
                let carried = match label {
                    ServerLabel::Instance => &location.instance,
                    ServerLabel::Cluster => &location.cluster,
                };
                carried.as_deref() == Some(value.as_str())
            })
            .map(|(i, _)| i + offset)
            .collect();
        if claimed.is_empty() && self.default.is_some() {
            vec![0]
        } else {
            claimed
        }
    }

    /// The texts of `wanted` (database, queryid) pairs, each asked of its servers, the servers
    /// concurrently; the errors of those that failed, joined.
    pub async fn resolve(&self, wanted: &[((String, String), Option<Location>)]) -> Lookup {
        let servers: Vec<&PgNames> = self.servers().collect();
        let mut asked: Vec<Vec<(String, String)>> = vec![Vec::new(); servers.len()];
        let mut lookup = Lookup::default();
        let now = Instant::now();
        for (key, location) in wanted {
            // A statement of unknown location that a server named lately is that server's.
            if location.is_none() && servers.len() > 1 {
                if let Some(text) = servers.iter().find_map(|s| s.cached_text(key, now)) {
                    lookup.texts.insert(key.clone(), text);
                    continue;
                }
            }
            for i in self.route(location.as_ref()) {
                if !asked[i].contains(key) {
                    asked[i].push(key.clone());
                }
            }
        }
        let answers = join_all(servers.iter().zip(&asked).filter(|(_, keys)| !keys.is_empty()).map(|(server, keys)| server.resolve(keys))).await;
        let mut errors = Vec::new();
        for answer in answers {
            for (key, text) in answer.texts {
                lookup.texts.entry(key).or_insert(text);
            }
            errors.extend(answer.error);
        }
        lookup.error = (!errors.is_empty()).then(|| errors.join("; "));
        lookup
    }

    /// Save & test: every server's reach or error, in `servers()` order.
    pub async fn check(&self) -> Vec<Result<Reach, String>> {
        stream::iter(self.servers().map(PgNames::check)).buffered(CHECKS_AT_ONCE).collect().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::pg_servers::PgServer;
    use crate::settings::postgres::PgConnection;

    fn server(name: &str, label: ServerLabel, value: &str) -> PgServer {
        PgServer { name: name.into(), label, value: value.into(), connection: PgConnection::parse(&format!("host={name}.internal user=reader")).unwrap() }
    }

    fn at(instance: Option<&str>, cluster: Option<&str>) -> Location {
        Location { instance: instance.map(String::from), cluster: cluster.map(String::from) }
    }

    #[test]
    fn statements_go_to_the_server_of_their_label_else_the_default_else_everywhere() {
        let fleet = PgFleet::new(PgServers {
            default: Some(PgConnection::parse("host=main user=reader").unwrap()),
            matched: vec![server("db1", ServerLabel::Instance, "db1:9187"), server("eu", ServerLabel::Cluster, "eu-main")],
        });
        let shown: Vec<String> = fleet.servers().map(PgNames::describe).collect();
        assert_eq!(shown, ["reader@main:5432/reader", "db1 (instance db1:9187) reader@db1.internal:5432/reader", "eu (cluster eu-main) reader@eu.internal:5432/reader"]);
        assert_eq!(fleet.route(Some(&at(Some("db1:9187"), None))), [1]);
        assert_eq!(fleet.route(Some(&at(Some("db9:9187"), Some("eu-main")))), [2]);
        assert_eq!(fleet.route(Some(&at(Some("db1:9187"), Some("eu-main")))), [1, 2], "both labels claim it");
        assert_eq!(fleet.route(Some(&at(Some("db9:9187"), None))), [0], "unclaimed: the default server");
        assert_eq!(fleet.route(None), [0, 1, 2], "unknown: every server");
        assert_eq!(fleet.primary().map(PgNames::describe).as_deref(), Some("reader@main:5432/reader"));

        let without_default = PgFleet::new(PgServers { default: None, matched: vec![server("db1", ServerLabel::Instance, "db1:9187")] });
        assert_eq!(without_default.route(Some(&at(Some("db9:9187"), None))), Vec::<usize>::new(), "nobody names it");
        assert_eq!(without_default.route(Some(&at(Some("db1:9187"), None))), [0]);
        assert!(without_default.primary().is_some(), "the only server answers advice");
        let two = PgFleet::new(PgServers { default: None, matched: vec![server("a", ServerLabel::Instance, "a"), server("b", ServerLabel::Instance, "b")] });
        assert!(two.primary().is_none());
        assert!(PgFleet::default().is_empty());
    }

    #[tokio::test]
    async fn a_text_one_server_gave_spares_asking_the_others() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let down = |name: &str| PgServer { name: name.into(), label: ServerLabel::Instance, value: name.into(), connection: PgConnection::parse(&format!("host=127.0.0.1 port={port} user=reader")).unwrap() };
        let fleet = PgFleet::new(PgServers { default: None, matched: vec![down("db1"), down("db2")] });
        let key = ("app".to_string(), "7".to_string());
        fleet.matched[1].2.state().cache.insert(key.clone(), super::super::Entry { text: Some("SELECT 7".into()), at: Instant::now() });
        let lookup = fleet.resolve(&[(key.clone(), None)]).await;
        assert_eq!((lookup.texts.get(&key).map(String::as_str), lookup.error), (Some("SELECT 7"), None), "db1 (down) was not asked");
        let lookup = fleet.resolve(&[(key.clone(), Some(at(Some("db1"), None)))]).await;
        assert!(lookup.error.is_some_and(|e| e.contains("db1 (instance db1)")), "a located statement goes to its own server");
    }

    #[tokio::test]
    async fn each_server_down_is_named_in_the_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let down = |name: &str, value: &str| PgServer {
            name: name.into(),
            label: ServerLabel::Instance,
            value: value.into(),
            connection: PgConnection::parse(&format!("host=127.0.0.1 port={port} user=reader")).unwrap().with_password("s3cret"),
        };
        let fleet = PgFleet::new(PgServers { default: None, matched: vec![down("db1", "db1:9187"), down("db2", "db2:9187")] });
        let lookup = fleet.resolve(&[(("app".into(), "1".into()), Some(at(Some("db2:9187"), None)))]).await;
        let error = lookup.error.unwrap();
        assert!(error.contains("db2 (instance db2:9187)") && !error.contains("db1"), "only the statement's server is asked: {error}");
        let lookup = fleet.resolve(&[(("app".into(), "1".into()), None)]).await;
        let error = lookup.error.unwrap();
        assert!(error.contains("db1 (instance db1:9187)") && error.contains("db2 (instance db2:9187)") && !error.contains("s3cret"), "{error}");
        let checks = fleet.check().await;
        assert_eq!(checks.len(), 2);
        assert!(checks.iter().all(|c| c.as_ref().is_err_and(|e| !e.contains("s3cret"))), "{checks:?}");
    }
}
