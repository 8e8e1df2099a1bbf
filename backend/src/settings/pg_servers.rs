//! Which PostgreSQL servers name statements: `pgssConnection` (secureJsonData, the default
//! server) and `pgssServers` (jsonData), one per value of the series' instance or cluster label,
//! each with its password and TLS material in secureJsonData under keys suffixed with its name:
//!
//! ```yaml
//! jsonData:
//!   pgssServers:
//!     - name: db1
//!       instance: "db1:9187"          # or cluster: "eu-main"
//!       connection: host=db1.internal user=pgscope_reader dbname=postgres sslmode=verify-full
//! secureJsonData:
//!   pgssPassword.db1: ...
//!   pgssTlsCACert: |                  # the CA of every server without TLS settings of its own
//!     -----BEGIN CERTIFICATE-----      # (pgssTlsCACert.db1, pgssTlsClientCert.db1, pgssTlsClientKey.db1)
//! ```
//!
//! A password is never accepted in jsonData (Grafana stores it in clear). Configuration only:
//! routing a statement to its server and connecting is `pgss::postgres`'s job.

use std::collections::HashMap;

use serde::Deserialize;

use super::postgres::{PgConnection, PgTls};

/// At most this many servers (each is a connection in Save & test).
const MAX_SERVERS: usize = 200;

/// The label a server is matched on: the schema's instance label (`instance`, postgres_ai's
/// `node_name`) or its cluster label (`cluster`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerLabel {
    Instance,
    Cluster,
}

impl ServerLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerLabel::Instance => "instance",
            ServerLabel::Cluster => "cluster",
        }
    }
}

/// One server of `pgssServers`: the statements whose series carry `label` = `value` are named
/// from it.
#[derive(Debug, Clone, PartialEq)]
pub struct PgServer {
    pub name: String,
    pub label: ServerLabel,
    pub value: String,
    pub connection: PgConnection,
}

/// Every PostgreSQL connection of a datasource.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PgServers {
    /// `pgssConnection`: names the statements no server of `matched` claims.
    pub default: Option<PgConnection>,
    pub matched: Vec<PgServer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerJson {
    #[serde(default)]
    name: String,
    #[serde(default)]
    instance: Option<String>,
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    connection: String,
}

impl PgServers {
    /// From jsonData `pgssServers` and secureJsonData. Errors name the server and the setting,
    /// never a value from secureJsonData.
    pub fn from_settings(servers: Option<&serde_json::Value>, secure: &HashMap<String, String>) -> Result<PgServers, String> {
        let secret = |key: &str| secure.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        // A server with any TLS setting of its own (`pgssTlsCACert.db1`, ...) uses its own set,
        // the others the datasource's (`pgssTlsCACert`, ...).
        let tls = |suffix: &str| {
            let own = ["pgssTlsCACert", "pgssTlsClientCert", "pgssTlsClientKey"].iter().any(|key| secret(&format!("{key}{suffix}")).is_some());
            let suffix = if own { suffix } else { "" };
            let get = |key: &str| secret(&format!("{key}{suffix}"));
            PgTls::new(get("pgssTlsCACert"), get("pgssTlsClientCert"), get("pgssTlsClientKey"), suffix)
        };
        let default = match secret("pgssConnection") {
            None => None,
            Some(text) => Some(PgConnection::parse(text).and_then(|c| Ok(c.with_tls(tls("")?))).map_err(|e| format!("pgssConnection: {e}"))?),
        };
        let entries: Vec<ServerJson> = match servers {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(value) => serde_json::from_value(value.clone()).map_err(|e| {
                format!("pgssServers must be a list of {{name, instance or cluster, connection}}: {e}")
            })?,
        };
        if entries.len() > MAX_SERVERS {
            return Err(format!("pgssServers lists {} servers, at most {MAX_SERVERS} are allowed", entries.len()));
        }
        let mut matched: Vec<PgServer> = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let name = entry.name.trim().to_string();
            if name.is_empty() || name.len() > 63 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(format!("pgssServers[{i}]: the name {name:?} must be 1 to 63 letters, digits, _ or - (it suffixes the server's secure settings, e.g. pgssPassword.db1)"));
            }
            let at = format!("pgssServers {name}");
            if matched.iter().any(|s| s.name == name) {
                return Err(format!("{at}: the name is used twice"));
            }
            let (label, value) = match (entry.instance.as_deref().map(str::trim), entry.cluster.as_deref().map(str::trim)) {
                (Some(v), None) if !v.is_empty() => (ServerLabel::Instance, v.to_string()),
                (None, Some(v)) if !v.is_empty() => (ServerLabel::Cluster, v.to_string()),
                _ => return Err(format!("{at}: give exactly one of instance or cluster, the label value of this server's series")),
            };
            if let Some(other) = matched.iter().find(|s| s.label == label && s.value == value) {
                return Err(format!("{at}: {} {value:?} is already {}'s", label.as_str(), other.name));
            }
            let connection = PgConnection::parse(&entry.connection).map_err(|e| format!("{at}: {e}"))?;
            if connection.password().is_some() {
                return Err(format!("{at}: the connection string holds a password, but jsonData is stored unencrypted: remove it and put it in the secure setting pgssPassword.{name}"));
            }
            let suffix = format!(".{name}");
            let connection = match secret(&format!("pgssPassword{suffix}")) {
                Some(password) => connection.with_password(password),
                None => connection,
            };
            let connection = connection.with_tls(tls(&suffix).map_err(|e| format!("{at}: {e}"))?);
            matched.push(PgServer { name, label, value, connection });
        }
        Ok(PgServers { default, matched })
    }

    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.matched.is_empty()
    }

    /// Every password, to keep out of every message.
    pub fn passwords(&self) -> Vec<String> {
        self.default.iter().chain(self.matched.iter().map(|s| &s.connection)).filter_map(PgConnection::password).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secure(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn servers_take_their_password_and_tls_from_secure_settings() {
        let servers = json!([
            {"name": "db1", "instance": "db1:9187", "connection": "host=db1.internal user=reader dbname=postgres sslmode=verify-full"},
            {"name": "eu", "cluster": "eu-main", "connection": "postgresql://reader@eu.internal/postgres?sslmode=require"},
        ]);
        let got = PgServers::from_settings(
            Some(&servers),
            &secure(&[("pgssPassword.db1", "pw-db1"), ("pgssConnection", "host=main user=reader password=pw-main")]),
        )
        .unwrap();
        assert_eq!(got.default.as_ref().map(PgConnection::describe).as_deref(), Some("reader@main:5432/reader"));
        let names: Vec<(&str, ServerLabel, &str)> = got.matched.iter().map(|s| (s.name.as_str(), s.label, s.value.as_str())).collect();
        assert_eq!(names, [("db1", ServerLabel::Instance, "db1:9187"), ("eu", ServerLabel::Cluster, "eu-main")]);
        assert_eq!(got.matched[0].connection.password().as_deref(), Some("pw-db1"));
        assert_eq!(got.matched[1].connection.password(), None);
        let mut passwords = got.passwords();
        passwords.sort();
        assert_eq!(passwords, ["pw-db1", "pw-main"]);
        assert!(PgServers::from_settings(None, &HashMap::new()).unwrap().is_empty());
    }

    #[test]
    fn bad_servers_say_which_and_why_without_secrets() {
        let one = |entry: serde_json::Value| PgServers::from_settings(Some(&json!([entry])), &secure(&[("pgssTlsCACert.db1", "s3cret-not-pem")])).unwrap_err();
        for (entry, why) in [
            (json!({"name": "db 1", "instance": "x", "connection": "host=x user=y"}), "must be 1 to 63 letters"),
            (json!({"name": "db1", "connection": "host=x user=y"}), "exactly one of instance or cluster"),
            (json!({"name": "db1", "instance": "a", "cluster": "b", "connection": "host=x user=y"}), "exactly one of instance or cluster"),
            (json!({"name": "db1", "instance": "a", "connection": "host=x user=y password=s3cret"}), "put it in the secure setting pgssPassword.db1"),
            (json!({"name": "db1", "instance": "a", "connection": "host=x"}), "pgssServers db1: the connection string names no user"),
            (json!({"name": "db1", "instance": "a", "connection": "host=x user=y", "instace": "typo"}), "unknown field `instace`"),
            (json!({"name": "db1", "instance": "a", "connection": "host=x user=y sslmode=verify-full"}), "pgssTlsCACert.db1: holds no PEM certificate"),
        ] {
            let error = one(entry.clone());
            assert!(error.contains(why), "{entry}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
        let twice = json!([
            {"name": "a", "instance": "db1:9187", "connection": "host=x user=y"},
            {"name": "b", "instance": "db1:9187", "connection": "host=z user=y"},
        ]);
        assert!(PgServers::from_settings(Some(&twice), &HashMap::new()).unwrap_err().contains("instance \"db1:9187\" is already a's"));
        let error = PgServers::from_settings(Some(&json!({"name": "a"})), &HashMap::new()).unwrap_err();
        assert!(error.contains("pgssServers must be a list"), "{error}");
        let error = PgServers::from_settings(None, &secure(&[("pgssConnection", "host=x user=y password=s3cret sslmode=verify-full"), ("pgssTlsClientKey", "k")])).unwrap_err();
        assert!(error.contains("pgssConnection: pgssTlsClientKey is set but its certificate pgssTlsClientCert is not"), "{error}");
    }
}
