//! One PostgreSQL connection for names (`pgssConnection`, or one of `pgssServers`): a libpq-style
//! connection string (`host=... user=...` or a `postgresql://` URL) parsed and checked, its
//! `sslmode` (libpq's five) and the TLS material from secureJsonData, with a description that
//! never shows the password. Configuration only: connecting is `pgss::postgres`'s job.
//!
//! tokio-postgres knows `sslmode` disable, prefer and require only, and reads no certificate
//! files: `sslmode` is taken out of the string here (verify-ca and verify-full become require
//! plus a verifying connector), and the certificates come as PEM from secureJsonData, never as
//! file paths.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A connect plus one query must finish within this, or the names fall back.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// libpq's `sslmode`: whether TLS is used and what is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, unverified (libpq's default).
    #[default]
    Prefer,
    /// TLS or no connection, unverified (encryption only).
    Require,
    /// TLS, the server's certificate signed by the CA (any host name).
    VerifyCa,
    /// TLS, the certificate signed by the CA and naming the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => return Err(format!("sslmode={other:?} is not one of disable, prefer, require, verify-ca, verify-full")),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the server's certificate is checked against a CA.
    pub fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// The TLS material of a connection, PEM from secureJsonData (`pgssTlsCACert`,
/// `pgssTlsClientCert`, `pgssTlsClientKey`), checked when read. Debug shows none of it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PgTls {
    /// The CA that signs the server's certificate; None: the public CAs (Mozilla's list).
    pub ca_pem: Option<String>,
    /// A client certificate and its key, for servers that ask for one (`clientcert=verify-ca`).
    pub client_pem: Option<(String, String)>,
}

impl PgTls {
    /// Checks the PEM texts: a CA with at least one certificate, a client certificate only with
    /// its key. `which` names the settings in messages.
    pub fn new(ca: Option<&str>, client_cert: Option<&str>, client_key: Option<&str>, which: &str) -> Result<PgTls, String> {
        let given = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(String::from);
        let ca_pem = given(ca);
        if let Some(pem) = &ca_pem {
            certificates(pem).map_err(|e| format!("pgssTlsCACert{which}: {e}"))?;
        }
        let client_pem = match (given(client_cert), given(client_key)) {
            (None, None) => None,
            (Some(cert), Some(key)) => {
                certificates(&cert).map_err(|e| format!("pgssTlsClientCert{which}: {e}"))?;
                private_key(&key).map_err(|e| format!("pgssTlsClientKey{which}: {e}"))?;
                Some((cert, key))
            }
            (Some(_), None) => return Err(format!("pgssTlsClientCert{which} is set but its key pgssTlsClientKey{which} is not")),
            (None, Some(_)) => return Err(format!("pgssTlsClientKey{which} is set but its certificate pgssTlsClientCert{which} is not")),
        };
        Ok(PgTls { ca_pem, client_pem })
    }
}

impl fmt::Debug for PgTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgTls {{ ca: {}, client certificate: {} }}", self.ca_pem.is_some(), self.client_pem.is_some())
    }
}

/// The certificates of a PEM text (at least one, each an X.509 certificate).
pub fn certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let not_pem = || "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_string();
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<Vec<_>, _>>().map_err(|_| not_pem())?;
    if certs.is_empty() {
        return Err(not_pem());
    }
    for cert in &certs {
        rustls::RootCertStore::empty().add(cert.clone()).map_err(|e| format!("a certificate in it is not valid X.509 ({e})"))?;
    }
    Ok(certs)
}

/// The private key of a PEM text (PKCS#8, PKCS#1 or SEC1; RSA, ECDSA or Ed25519). The message
/// never quotes it.
pub fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>, String> {
    let key = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| "holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA or EC)".to_string())?;
    rustls::crypto::ring::sign::any_supported_type(&key).map_err(|_| "holds a private key of a kind TLS cannot use, or a damaged one".to_string())?;
    Ok(key)
}

/// A PostgreSQL connection: a libpq-style connection string (`host=... user=...` or a
/// `postgresql://` URL), its `sslmode` and TLS material. Its Debug output never shows the
/// password or a key.
#[derive(Clone, PartialEq, Eq)]
pub struct PgConnection {
    config: tokio_postgres::Config,
    ssl_mode: SslMode,
    tls: PgTls,
}

/// libpq options naming files: pgscope reads certificates from secureJsonData instead.
const FILE_OPTIONS: [(&str, &str); 4] = [("sslrootcert", "pgssTlsCACert"), ("sslcert", "pgssTlsClientCert"), ("sslkey", "pgssTlsClientKey"), ("sslcrl", "")];

impl PgConnection {
    /// The connection string checked, without TLS material (see `with_tls`).
    pub fn parse(text: &str) -> Result<PgConnection, String> {
        let (text, ssl_mode) = take_ssl_mode(text.trim())?;
        let mut config = tokio_postgres::Config::from_str(&text)
            .map_err(|e| format!("not a PostgreSQL connection string (key=value pairs or a postgresql:// URL): {e}"))?;
        if config.get_hosts().is_empty() {
            return Err("the connection string names no host (add host=... or a host in the URL)".into());
        }
        if config.get_user().is_none() {
            return Err("the connection string names no user (add user=..., a role with pg_read_all_stats)".into());
        }
        // verify-ca and verify-full are `require` for the driver: the connector verifies.
        config.ssl_mode(match ssl_mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
        });
        if config.get_application_name().is_none() {
            config.application_name("pgscope");
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        Ok(PgConnection { config, ssl_mode, tls: PgTls::default() })
    }

    /// The same connection with its TLS material.
    pub fn with_tls(self, tls: PgTls) -> PgConnection {
        PgConnection { tls, ..self }
    }

    /// "pgscope_reader@127.0.0.1:5432/postgres": where it connects, without secrets.
    pub fn describe(&self) -> String {
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let user = self.config.get_user().unwrap_or_default();
        let db = self.config.get_dbname().unwrap_or(user);
        format!("{user}@{}:{port}/{db}", self.host())
    }

    /// The first host, as the connection string names it (what verify-full checks).
    pub fn host(&self) -> String {
        match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        }
    }

    /// "TLS verify-full (CA from pgssTlsCACert)", "no TLS", ...: what Save & test shows.
    pub fn describe_tls(&self) -> String {
        let ca = if self.tls.ca_pem.is_some() { "CA from pgssTlsCACert" } else { "public CAs" };
        let client = if self.tls.client_pem.is_some() { ", client certificate" } else { "" };
        match self.ssl_mode {
            SslMode::Disable => "no TLS (sslmode=disable)".into(),
            SslMode::Prefer => format!("TLS if offered, unverified (sslmode=prefer{client})"),
            SslMode::Require => format!("TLS, unverified (sslmode=require{client})"),
            mode => format!("TLS {} ({ca}{client})", mode.as_str()),
        }
    }

    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    pub fn tls(&self) -> &PgTls {
        &self.tls
    }

    /// The password, to keep it out of every message.
    pub fn password(&self) -> Option<String> {
        self.config.get_password().map(|p| String::from_utf8_lossy(p).into_owned())
    }

    /// The driver's configuration, for the code that connects.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The same connection with this password (a server of `pgssServers`, whose password is in
    /// secureJsonData while its connection string is in jsonData).
    pub fn with_password(mut self, password: &str) -> PgConnection {
        self.config.password(password);
        self
    }
}

impl fmt::Debug for PgConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgConnection({}, sslmode={}, {:?})", self.describe(), self.ssl_mode.as_str(), self.tls)
    }
}

/// The connection string without `sslmode`, and the mode (prefer when absent, as in libpq).
/// Refuses the options that name certificate files. Messages never quote a value.
fn take_ssl_mode(text: &str) -> Result<(String, SslMode), String> {
    let mut mode = None;
    let mut keep = |key: &str, value: &str| -> Result<bool, String> {
        if key == "sslmode" {
            mode = Some(SslMode::parse(value)?);
            return Ok(false);
        }
        if let Some((_, setting)) = FILE_OPTIONS.iter().find(|(option, _)| *option == key) {
            return Err(match *setting {
                "" => format!("{key} (a file) is not read by pgscope: leave it out"),
                setting => format!("{key} (a file) is not read by pgscope: paste the PEM into the secure setting {setting} instead"),
            });
        }
        Ok(true)
    };
    let rest = if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        let (base, query) = text.split_once('?').unwrap_or((text, ""));
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if keep(key, &value.replace("%2D", "-").replace("%2d", "-"))? {
                kept.push(pair);
            }
        }
        if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) }
    } else {
        let mut kept = Vec::new();
        for (key, value) in key_values(text)? {
            if keep(&key, &value)? {
                kept.push(format!("{key}='{}'", value.replace('\\', "\\\\").replace('\'', "\\'")));
            }
        }
        kept.join(" ")
    };
    Ok((rest, mode.unwrap_or_default()))
}

/// libpq's `key = value` pairs: values plain or single-quoted, `\` escaping the next character.
fn key_values(text: &str) -> Result<Vec<(String, String)>, String> {
    let bad = |why: &str| format!("not a PostgreSQL connection string (key=value pairs or a postgresql:// URL): {why}");
    let mut chars = text.chars().peekable();
    let mut pairs = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            // Not quoted: a stray word may be part of a password.
            return Err(bad("a word has no value (write key=value)"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let quoted = chars.next_if_eq(&'\'').is_some();
        let mut value = String::new();
        let mut closed = !quoted;
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.extend(chars.next()),
                '\'' if quoted => {
                    closed = true;
                    break;
                }
                c if c.is_whitespace() && !quoted => break,
                c => value.push(c),
            }
        }
        if !closed {
            return Err(bad(&format!("the value of {key} has no closing quote")));
        }
        pairs.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_are_checked_and_never_printed_with_their_password() {
        let c = PgConnection::parse("host=db.internal port=6432 user=reader password=s3cret dbname=postgres").unwrap();
        assert_eq!(c.describe(), "reader@db.internal:6432/postgres");
        assert_eq!(c.ssl_mode(), SslMode::Prefer, "libpq's default");
        assert!(!format!("{c:?}").contains("s3cret"));
        let url = PgConnection::parse("postgresql://reader:s3cret@127.0.0.1/app").unwrap();
        assert_eq!(url.describe(), "reader@127.0.0.1:5432/app");
        for (bad, why) in [
            ("host=x user=y port=notaport", "not a PostgreSQL connection string"),
            ("user=y password=s3cret", "no host"),
            ("host=x", "no user"),
            ("host=x user=y sslmode=maybe password=s3cret", "is not one of disable"),
            ("host=x user=y password='s3cret", "no closing quote"),
            ("host=x user=y s3cret", "a word has no value"),
            ("host=x user=y password=s3cret sslrootcert=/etc/ca.pem", "paste the PEM into the secure setting pgssTlsCACert"),
            ("postgresql://reader:s3cret@x/db?sslkey=/k.pem", "pgssTlsClientKey"),
            ("postgresql://reader:s3cret@[::1", "not a PostgreSQL connection string"),
        ] {
            let error = PgConnection::parse(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn every_sslmode_is_read_from_either_form_and_the_rest_kept() {
        for (text, mode) in [
            ("host=x user=y sslmode=disable", SslMode::Disable),
            ("host=x user=y", SslMode::Prefer),
            ("host=x user=y sslmode = require", SslMode::Require),
            ("host=x sslmode='verify-ca' user=y", SslMode::VerifyCa),
            ("postgresql://y@x:6432/app?sslmode=verify-full&application_name=mine", SslMode::VerifyFull),
            ("postgresql://y@x/app?sslmode=verify%2Dfull", SslMode::VerifyFull),
        ] {
            let c = PgConnection::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(c.ssl_mode(), mode, "{text}");
            let driver = if mode == SslMode::Disable {
                tokio_postgres::config::SslMode::Disable
            } else if mode == SslMode::Prefer {
                tokio_postgres::config::SslMode::Prefer
            } else {
                tokio_postgres::config::SslMode::Require
            };
            assert_eq!(c.config().get_ssl_mode(), driver, "{text}: TLS is mandatory from require on");
        }
        let url = PgConnection::parse("postgresql://y@x:6432/app?sslmode=verify-full&application_name=mine").unwrap();
        assert_eq!((url.describe().as_str(), url.config().get_application_name()), ("y@x:6432/app", Some("mine")));
        // Quotes and escapes survive the round trip through the rebuilt string.
        let quoted = PgConnection::parse(r"host=x user=y password='it\'s a \\ pass' sslmode=require").unwrap();
        assert_eq!(quoted.password().as_deref(), Some(r"it's a \ pass"));
    }

    #[test]
    fn tls_material_is_checked_and_never_printed() {
        // A throwaway self-signed Ed25519 pair (openssl req -x509 -newkey ed25519), for its shape.
        let key = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIMO8xrfL7QNmqX7jOhyNV1bbnlM4SU5JzqRG9vKAuXEw\n-----END PRIVATE KEY-----\n";
        let cert = "-----BEGIN CERTIFICATE-----\nMIIBMjCB5aADAgECAhQm5GPQ180p1W+HL6CAwlyH98WGujAFBgMrZXAwDzENMAsG\nA1UEAwwEdGVzdDAeFw0yNjExMjgyMTUzNTlaFw0zNjExMjUyMTUzNTlaMA8xDTAL\nBgNVBAMMBHRlc3QwKjAFBgMrZXADIQCcoleLJkVlXdr6on9JLI7Y+PZBaUQa2IaE\nsoZ7nFVWy6NTMFEwHQYDVR0OBBYEFGc9ZRDDFht4eQuxMeOVZAZ0PNzrMB8GA1Ud\nIwQYMBaAFGc9ZRDDFht4eQuxMeOVZAZ0PNzrMA8GA1UdEwEB/wQFMAMBAf8wBQYD\nK2VwA0EA5bIvbreM+k8Nn/7KaWO8Lz2MqXdsxlEfvXo/ZN/ldNTMdN8jS7sUuBxN\nqnWWk/24Cag83iY9VBSAWNtHeB+8Cg==\n-----END CERTIFICATE-----\n";
        let tls = PgTls::new(Some(cert), Some(cert), Some(key), "").unwrap();
        assert!(tls.ca_pem.is_some() && tls.client_pem.is_some());
        assert!(!format!("{tls:?}").contains("MC4CAQAw"));
        for (ca, client_cert, client_key, why) in [
            (Some("not pem"), None, None, "pgssTlsCACert.db1: holds no PEM certificate"),
            (None, Some(cert), None, "its key pgssTlsClientKey.db1 is not"),
            (None, None, Some(key), "its certificate pgssTlsClientCert.db1 is not"),
            (None, Some(cert), Some("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"), "pgssTlsClientKey.db1"),
        ] {
            let error = PgTls::new(ca, client_cert, client_key, ".db1").unwrap_err();
            assert!(error.contains(why), "{error}");
            assert!(!error.contains("MC4CAQAw") && !error.contains("bm90IGEga2V5"), "{error}");
        }
        let c = PgConnection::parse("host=x user=y sslmode=verify-full").unwrap().with_tls(tls);
        assert_eq!(c.describe_tls(), "TLS verify-full (CA from pgssTlsCACert, client certificate)");
        assert!(!format!("{c:?}").contains("MC4CAQAw"));
        assert_eq!(PgConnection::parse("host=x user=y sslmode=verify-ca").unwrap().describe_tls(), "TLS verify-ca (public CAs)");
    }
}
