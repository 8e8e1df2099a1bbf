//! The `pgssConnection` setting: a libpq-style connection string (`host=... user=...` or a
//! `postgresql://` URL) parsed and checked, with a description that never shows the password.
//! Configuration only: connecting is `pgss::postgres`'s job.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A connect plus one query must finish within this, or the names fall back.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The `pgssConnection` setting: a libpq-style connection string (`host=... user=...` or a
/// `postgresql://` URL). Its Debug output never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgConnection(tokio_postgres::Config);

impl PgConnection {
    pub fn parse(text: &str) -> Result<PgConnection, String> {
        let mut config = tokio_postgres::Config::from_str(text.trim())
            .map_err(|e| format!("not a PostgreSQL connection string (key=value pairs or a postgresql:// URL): {e}"))?;
        if config.get_hosts().is_empty() {
            return Err("the connection string names no host (add host=... or a host in the URL)".into());
        }
        if config.get_user().is_none() {
            return Err("the connection string names no user (add user=..., a role with pg_read_all_stats)".into());
        }
        if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            return Err("sslmode=require is not supported yet (pgscope connects without TLS): connect over a private network or a local TLS proxy, with sslmode=disable or prefer".into());
        }
        if config.get_application_name().is_none() {
            config.application_name("pgscope");
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        Ok(PgConnection(config))
    }

    /// "pgscope_reader@127.0.0.1:5432/postgres": where it connects, without secrets.
    pub fn describe(&self) -> String {
        let host = match self.0.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        };
        let port = self.0.get_ports().first().copied().unwrap_or(5432);
        let user = self.0.get_user().unwrap_or_default();
        let db = self.0.get_dbname().unwrap_or(user);
        format!("{user}@{host}:{port}/{db}")
    }
}

impl fmt::Debug for PgConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgConnection({})", self.describe())
    }
}

impl PgConnection {
    /// The password, to keep it out of every message.
    pub fn password(&self) -> Option<String> {
        self.0.get_password().map(|p| String::from_utf8_lossy(p).into_owned())
    }

    /// The driver's configuration, for the code that connects.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_are_checked_and_never_printed_with_their_password() {
        let c = PgConnection::parse("host=db.internal port=6432 user=reader password=s3cret dbname=postgres").unwrap();
        assert_eq!(c.describe(), "reader@db.internal:6432/postgres");
        assert!(!format!("{c:?}").contains("s3cret"));
        let url = PgConnection::parse("postgresql://reader:s3cret@127.0.0.1/app").unwrap();
        assert_eq!(url.describe(), "reader@127.0.0.1:5432/app");
        for (bad, why) in [
            ("host=x user=y port=notaport", "not a PostgreSQL connection string"),
            ("user=y password=s3cret", "no host"),
            ("host=x", "no user"),
            ("host=x user=y sslmode=require password=s3cret", "sslmode=require"),
            ("postgresql://reader:s3cret@[::1", "not a PostgreSQL connection string"),
        ] {
            let error = PgConnection::parse(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }
}
