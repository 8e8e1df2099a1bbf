//! Statement texts from PostgreSQL itself, so pgss names survive a dead info exporter: an
//! optional read-only connection (`pgssConnection` in secureJsonData) resolves (database,
//! queryid) -> normalised text from `pg_stat_statements`. Best effort and bounded: short
//! timeouts, one lookup at a time per datasource, at most `MAX_LOOKUP` queryids per round trip,
//! a cache of at most `MAX_ENTRIES` entries and `MAX_CACHED_BYTES` of text with a TTL, and a back-off after a failure so a
//! down server costs one timeout per `FAILURE_BACKOFF`, not one per panel.
//!
//! The role needs only `pg_read_all_stats` (without it PostgreSQL hides other users' texts and
//! queryids), and the connected database must have the pg_stat_statements extension.
//! Over TLS as the connection's `sslmode` says (`tls`); one resolver per server, the servers of
//! a datasource routed by the statements' instance or cluster label (`fleet`).
//! Not for: the analysis itself (see `pgss::analysis`, `pgss::fetch`) or parsing the setting
//! (`settings::postgres`, `settings::pg_servers`).

mod fleet;
mod tls;

pub use fleet::{Location, PgFleet};

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::settings::postgres::{PgConnection, CONNECT_TIMEOUT};

/// The extensions Save & test looks for, in this order.
pub const EXTENSIONS: [&str; 5] = ["pg_stat_statements", "pg_stat_kcache", "pg_wait_sampling", "pg_qualstats", "hypopg"];

/// A connect plus one query must finish within this, or the names fall back.
const TIMEOUT: Duration = CONNECT_TIMEOUT;
/// Texts found stay this long (a queryid's text never changes; evictions from pgss do).
const FOUND_TTL: Duration = Duration::from_secs(600);
/// A queryid PostgreSQL did not know is asked again after this.
const MISSING_TTL: Duration = Duration::from_secs(60);
/// After a failed connection or query, no new attempt for this long.
const FAILURE_BACKOFF: Duration = Duration::from_secs(30);
const MAX_ENTRIES: usize = 20_000;
/// The texts the cache holds, in bytes at most: 20,000 entries of 64 KB would be 1.3 GB.
const MAX_CACHED_BYTES: usize = 32 << 20;
const MAX_LOOKUP: usize = 5_000;
/// Longer texts are cut (pg_stat_statements keeps whole statements, some are megabytes).
const MAX_TEXT_CHARS: i32 = 65_536;

struct Entry {
    text: Option<String>,
    at: Instant,
}

#[derive(Default)]
struct State {
    cache: HashMap<(String, String), Entry>,
    failure: Option<(Instant, String)>,
}

/// Texts found for some (database, queryid) pairs, and why the rest may be missing.
#[derive(Debug, Default)]
pub struct Lookup {
    pub texts: HashMap<(String, String), String>,
    /// The connection or query failed (now or within the back-off): names fall back.
    pub error: Option<String>,
}

/// What Save & test learnt from one server.
#[derive(Debug, Clone, PartialEq)]
pub struct Reach {
    /// "names from PostgreSQL: ... · 312 statements · reads every user's statements · TLSv1.3,
    /// TLS verify-full (CA from pgssTlsCACert)".
    pub line: String,
    /// The `EXTENSIONS` installed in the connected database, with their versions.
    pub extensions: Vec<(String, String)>,
}

/// One server's resolver (lives as long as its datasource instance).
pub struct PgNames {
    connection: PgConnection,
    /// How messages name the server: "db1 (instance db1:9187) reader@db1:5432/postgres".
    shown: String,
    /// The TLS setup, or why it failed (then every connection fails with it).
    connector: Result<tls::Connector, String>,
    state: Mutex<State>,
    /// One lookup at a time: a dashboard's panels share the answer instead of each connecting.
    single: tokio::sync::Mutex<()>,
}

impl PgNames {
    pub fn new(connection: PgConnection) -> PgNames {
        let shown = connection.describe();
        PgNames::shown_as(connection, shown)
    }

    /// A resolver whose messages name the server `shown`.
    pub fn shown_as(connection: PgConnection, shown: String) -> PgNames {
        let connector = tls::Connector::new(&connection);
        PgNames { connection, shown, connector, state: Mutex::default(), single: tokio::sync::Mutex::new(()) }
    }

    /// Where it connects, without secrets (and the server's name in `pgssServers`).
    pub fn describe(&self) -> String {
        self.shown.clone()
    }

    /// The connection's settings (index advice connects to a statement's own database with them).
    pub fn config(&self) -> &tokio_postgres::Config {
        self.connection.config()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cached texts, and the pairs still to ask for (fresh entries only).
    fn cached(&self, wanted: &[(String, String)], now: Instant) -> (Lookup, Vec<(String, String)>) {
        let state = self.state();
        let mut lookup = Lookup::default();
        let mut missing = Vec::new();
        for key in wanted {
            match state.cache.get(key) {
                Some(Entry { text: Some(text), at }) if now.duration_since(*at) < FOUND_TTL => {
                    lookup.texts.insert(key.clone(), text.clone());
                }
                Some(Entry { text: None, at }) if now.duration_since(*at) < MISSING_TTL => {}
                _ if key.1.parse::<i64>().is_ok() => missing.push(key.clone()),
                _ => {}
            }
        }
        if let Some((at, message)) = &state.failure {
            if now.duration_since(*at) < FAILURE_BACKOFF {
                lookup.error = Some(message.clone());
                missing.clear();
            }
        }
        (lookup, missing)
    }

    /// The text of `key` when this server gave it within `FOUND_TTL`.
    fn cached_text(&self, key: &(String, String), now: Instant) -> Option<String> {
        match self.state().cache.get(key) {
            Some(Entry { text: Some(text), at }) if now.duration_since(*at) < FOUND_TTL => Some(text.clone()),
            _ => None,
        }
    }

    /// The texts of `wanted` (database, queryid) pairs PostgreSQL knows.
    pub async fn resolve(&self, wanted: &[(String, String)]) -> Lookup {
        let (lookup, missing) = self.cached(wanted, Instant::now());
        if missing.is_empty() {
            return lookup;
        }
        let _turn = self.single.lock().await;
        // Another request may have fetched them while this one waited.
        let (mut lookup, mut missing) = self.cached(wanted, Instant::now());
        if missing.is_empty() {
            return lookup;
        }
        missing.truncate(MAX_LOOKUP);
        let ids: Vec<i64> = {
            let mut ids: Vec<i64> = missing.iter().filter_map(|(_, q)| q.parse().ok()).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let answer = tokio::time::timeout(TIMEOUT, self.fetch(&ids)).await.unwrap_or_else(|_| Err(format!("no answer within {} s", TIMEOUT.as_secs())));
        let now = Instant::now();
        let mut state = self.state();
        match answer {
            Ok(rows) => {
                state.failure = None;
                let found: HashMap<(String, String), String> = rows.into_iter().map(|(db, id, text)| ((db, id), text)).collect();
                for key in missing {
                    let text = found.get(&key).cloned();
                    if let Some(text) = &text {
                        lookup.texts.insert(key.clone(), text.clone());
                    }
                    state.cache.insert(key, Entry { text, at: now });
                }
                if state.cache.len() > MAX_ENTRIES || cached_bytes(&state.cache) > MAX_CACHED_BYTES {
                    evict(&mut state.cache, now);
                }
            }
            Err(message) => {
                let message = format!("names from PostgreSQL ({}) unavailable: {message}", self.describe());
                tracing::warn!(%message, "pgss names lookup failed");
                state.failure = Some((now, message.clone()));
                lookup.error = Some(message);
            }
        }
        lookup
    }

    /// A read-only session, in `database` when given (index advice), else the configured one.
    pub async fn connect_to(&self, database: Option<&str>) -> Result<tokio_postgres::Client, String> {
        let connector = self.connector.clone()?;
        let mut config = self.connection.config().clone();
        if let Some(database) = database {
            config.dbname(database);
        }
        let (client, connection) = config.connect(connector).await.map_err(|e| self.describe_error(&e))?;
        tokio::spawn(async move {
            let _ = connection.await; // ends when the client is dropped
        });
        // Read-only, and never longer than our own deadline on the server side either.
        client
            .batch_execute(&format!("SET default_transaction_read_only = on; SET statement_timeout = {}", TIMEOUT.as_millis()))
            .await
            .map_err(|e| self.describe_error(&e))?;
        Ok(client)
    }

    /// The error in words: a certificate problem as such, else PostgreSQL's own (with what to
    /// do when the server has no TLS and the sslmode wants it).
    fn describe_error(&self, error: &tokio_postgres::Error) -> String {
        if let Some(problem) = tls::certificate_problem(error, &self.connection) {
            return problem;
        }
        let text = describe_error(error);
        if text.ends_with("server does not support TLS") {
            return format!("{text}: sslmode={} needs ssl = on in its postgresql.conf (or use sslmode=prefer)", self.connection.ssl_mode().as_str());
        }
        text
    }

    async fn fetch(&self, ids: &[i64]) -> Result<Vec<(String, String, String)>, String> {
        let client = self.connect_to(None).await?;
        let rows = client
            .query(
                "SELECT d.datname::text, s.queryid::text, left(s.query, $2) \
                 FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid \
                 WHERE s.queryid = ANY($1) AND s.query IS NOT NULL",
                &[&ids, &MAX_TEXT_CHARS],
            )
            .await
            .map_err(|e| self.describe_error(&e))?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                // try_get: a server answering other types (a pooler, another version) is a
                // missing name, never a panic.
                let (db, id, text): (Option<String>, Option<String>, Option<String>) = (row.try_get(0).ok()?, row.try_get(1).ok()?, row.try_get(2).ok()?);
                let text = text.filter(|t| !t.is_empty() && t != "<insufficient privilege>")?;
                Some((db?, id?, text))
            })
            .collect())
    }

    /// For Save & test: whether the connection works, over which TLS, what the role may read
    /// and which of `EXTENSIONS` the database has.
    pub async fn check(&self) -> Result<Reach, String> {
        let work = async {
            let client = self.connect_to(None).await?;
            let row = client
                .query_one(
                    "SELECT current_user::text, \
                     pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'), \
                     (SELECT count(*) FROM pg_stat_statements), \
                     coalesce((SELECT CASE WHEN ssl THEN version ELSE 'no TLS' END FROM pg_stat_ssl WHERE pid = pg_backend_pid()), 'no TLS'), \
                     (SELECT coalesce(array_agg(extname::text || ' ' || extversion ORDER BY extname), '{}') FROM pg_extension WHERE extname = ANY($1))",
                    &[&EXTENSIONS.as_slice()],
                )
                .await
                .map_err(|e| self.describe_error(&e))?;
            let unexpected = |e: tokio_postgres::Error| format!("unexpected answer from PostgreSQL: {e}");
            let (user, all_stats, statements, tls_in_use, extensions): (String, bool, i64, String, Vec<String>) = (
                row.try_get(0).map_err(unexpected)?,
                row.try_get(1).map_err(unexpected)?,
                row.try_get(2).map_err(unexpected)?,
                row.try_get(3).map_err(unexpected)?,
                row.try_get(4).map_err(unexpected)?,
            );
            let reach = if all_stats {
                "reads every user's statements".to_string()
            } else {
                format!("{user} lacks pg_read_all_stats: other users' statements stay unnamed (GRANT pg_read_all_stats TO {user})")
            };
            let line = format!("names from PostgreSQL: {} · {statements} statements · {reach} · {tls_in_use}, {}", self.describe(), self.connection.describe_tls());
            let extensions = extensions.iter().map(|e| e.split_once(' ').map(|(n, v)| (n.to_string(), v.to_string())).unwrap_or((e.clone(), String::new()))).collect();
            Ok::<_, String>(Reach { line, extensions })
        };
        tokio::time::timeout(TIMEOUT, work)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", TIMEOUT.as_secs())))
            .map_err(|e| format!("names from PostgreSQL ({}): {e}", self.describe()))
    }
}

/// The oldest entries go first, down to three quarters of the bound.
fn cached_bytes(cache: &HashMap<(String, String), Entry>) -> usize {
    cache.iter().map(|((db, id), e)| db.len() + id.len() + e.text.as_ref().map_or(0, String::len)).sum()
}

/// Drops expired entries, then the oldest until at most 3/4 of `MAX_ENTRIES` entries and of
/// `MAX_CACHED_BYTES` bytes remain.
fn evict(cache: &mut HashMap<(String, String), Entry>, now: Instant) {
    cache.retain(|_, e| now.duration_since(e.at) < FOUND_TTL);
    if cache.len() > MAX_ENTRIES || cached_bytes(cache) > MAX_CACHED_BYTES {
        let mut by_age: Vec<(Instant, usize)> =
            cache.iter().map(|((db, id), e)| (e.at, db.len() + id.len() + e.text.as_ref().map_or(0, String::len))).collect();
        by_age.sort_unstable_by_key(|a| std::cmp::Reverse(a.0));
        // Keep the newest while both budgets allow.
        let (mut kept, mut bytes, mut cutoff) = (0, 0, None);
        for (at, size) in by_age {
            if kept + 1 > MAX_ENTRIES * 3 / 4 || bytes + size > MAX_CACHED_BYTES * 3 / 4 {
                break;
            }
            (kept, bytes, cutoff) = (kept + 1, bytes + size, Some(at));
        }
        match cutoff {
            Some(cutoff) => cache.retain(|_, e| e.at >= cutoff),
            None => cache.clear(),
        }
    }
}

/// PostgreSQL's own message and hint where there is one ("relation pg_stat_statements does not
/// exist" gets how to fix it); connection errors by their cause. Never the connection string.
fn describe_error(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = db.message().to_string();
        if db.code() == &tokio_postgres::error::SqlState::UNDEFINED_TABLE && text.contains("pg_stat_statements") {
            text.push_str(": run CREATE EXTENSION pg_stat_statements in the connected database, or connect to one that has it");
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!(" ({hint})"));
        }
        return text;
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;


    #[test]
    fn the_cache_answers_and_expires() {
        let names = PgNames::new(PgConnection::parse("host=127.0.0.1 user=x").unwrap());
        let t0 = Instant::now();
        {
            let mut state = names.state();
            state.cache.insert(("app".into(), "1".into()), Entry { text: Some("SELECT 1".into()), at: t0 });
            state.cache.insert(("app".into(), "2".into()), Entry { text: None, at: t0 });
        }
        let wanted = [("app".to_string(), "1".to_string()), ("app".to_string(), "2".to_string()), ("app".to_string(), "3".to_string()), ("app".to_string(), "x".to_string())];
        let (lookup, missing) = names.cached(&wanted, t0);
        assert_eq!(lookup.texts.get(&("app".into(), "1".into())).map(String::as_str), Some("SELECT 1"));
        assert_eq!(missing, [("app".to_string(), "3".to_string())], "known-missing is not asked again; a non-number never");
        let (_, missing) = names.cached(&wanted, t0 + MISSING_TTL);
        assert_eq!(missing.len(), 2, "missing entries expire first");
        let (lookup, missing) = names.cached(&wanted, t0 + FOUND_TTL);
        assert!(lookup.texts.is_empty() && missing.len() == 3);
        names.state().failure = Some((t0, "down".into()));
        let (lookup, missing) = names.cached(&wanted, t0 + Duration::from_secs(1));
        assert_eq!((lookup.error.as_deref(), missing.len()), (Some("down"), 0), "no new attempt during the back-off");
    }

    #[test]
    fn eviction_keeps_the_newest() {
        let t0 = Instant::now();
        let mut cache: HashMap<(String, String), Entry> = (0..MAX_ENTRIES + 10)
            .map(|i| (("db".to_string(), i.to_string()), Entry { text: Some(String::new()), at: t0 + Duration::from_millis(i as u64) }))
            .collect();
        evict(&mut cache, t0 + Duration::from_secs(30));
        assert!(cache.len() <= MAX_ENTRIES * 3 / 4 + 1, "{}", cache.len());
        assert!(cache.contains_key(&("db".to_string(), (MAX_ENTRIES + 9).to_string())));
        assert!(!cache.contains_key(&("db".to_string(), "0".to_string())));
    }

    #[test]
    fn eviction_keeps_the_cache_within_its_byte_budget() {
        let t0 = Instant::now();
        let text = "x".repeat(64 * 1024);
        let mut cache: HashMap<(String, String), Entry> = (0..1_000)
            .map(|i| (("db".to_string(), i.to_string()), Entry { text: Some(text.clone()), at: t0 + Duration::from_millis(i as u64) }))
            .collect();
        assert!(cached_bytes(&cache) > MAX_CACHED_BYTES);
        evict(&mut cache, t0 + Duration::from_secs(30));
        assert!(cached_bytes(&cache) <= MAX_CACHED_BYTES * 3 / 4, "{}", cached_bytes(&cache));
        assert!(cache.contains_key(&("db".to_string(), "999".to_string())), "the newest stay");
    }

    #[tokio::test]
    async fn a_server_that_is_down_is_a_message_and_a_back_off() {
        // A port nothing listens on (bound, then released).
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let names = PgNames::new(PgConnection::parse(&format!("host=127.0.0.1 port={port} user=x password=s3cret")).unwrap());
        let wanted = [("app".to_string(), "42".to_string())];
        let lookup = names.resolve(&wanted).await;
        let error = lookup.error.expect("an error");
        assert!(error.contains("unavailable") && error.contains(&format!("127.0.0.1:{port}")) && !error.contains("s3cret"), "{error}");
        assert!(lookup.texts.is_empty());
        let again = names.resolve(&wanted).await;
        assert_eq!(again.error.as_deref(), Some(error.as_str()), "the back-off answers without connecting");
        assert!(names.check().await.unwrap_err().contains("names from PostgreSQL"));
    }
}
