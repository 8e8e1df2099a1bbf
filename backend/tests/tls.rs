//! TLS options against a real TLS server (`openssl s_server` with a certificate for 127.0.0.1
//! signed by a test CA): verification on by default, skip-verify, a custom CA, and a CA that is not PEM;
//! and a server that requires a client certificate (`-Verify`): refused without one, reached
//! with the one the CA signed.
//! The server answers HTML, so reaching it shows as "not Prometheus API JSON" — proof that
//! the TLS handshake succeeded.

mod support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pgscope::pluginv2::{self, diagnostics_client::DiagnosticsClient};
use support::PluginProcess;

struct TlsServer {
    child: Child,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(args: &[&str], dir: &std::path::Path) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is not installed");
    assert!(status.success(), "openssl {args:?}");
}

/// A test CA, and a server certificate for 127.0.0.1 it signed. Returns the CA in PEM.
fn tls_server(dir: &std::path::Path) -> (TlsServer, String) {
    tls_server_with(dir, &[])
}

/// The same, with more `openssl s_server` options.
fn tls_server_with(dir: &std::path::Path, options: &[&str]) -> (TlsServer, String) {
    openssl(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=pgscope test CA", "-keyout", "ca.key", "-out", "ca.pem"], dir);
    openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "leaf.csr"], dir);
    std::fs::write(dir.join("leaf.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(&["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "leaf.ext", "-out", "cert.pem"], dir);
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let port = support::free_port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .args(options)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    support::wait_for("openssl s_server", Duration::from_secs(20), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    (TlsServer { child, port }, std::fs::read_to_string(dir.join("ca.pem")).unwrap())
}

async fn health(plugin: &PluginProcess, url: &str, json: &str, secure: &[(&str, &str)]) -> String {
    let settings = pluginv2::DataSourceInstanceSettings {
        id: 1,
        uid: format!("tls-{json}-{secure:?}"),
        url: url.into(),
        json_data: json.as_bytes().to_vec(),
        decrypted_secure_json_data: secure.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        last_updated_ms: 1,
        ..Default::default()
    };
    let mut client = DiagnosticsClient::connect(plugin.endpoint()).await.unwrap();
    client
        .check_health(pluginv2::CheckHealthRequest {
            plugin_context: Some(pluginv2::PluginContext { data_source_instance_settings: Some(settings), ..Default::default() }),
            headers: HashMap::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_verification_skip_verify_and_custom_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = tls_server(dir.path());
    let url = format!("https://127.0.0.1:{}", server.port);
    let plugin = PluginProcess::start();
    let reached = "not Prometheus API JSON";

    let verified = health(&plugin, &url, r#"{"httpMethod":"GET"}"#, &[]).await;
    assert!(verified.contains("Cannot reach the TSDB") && verified.to_lowercase().contains("certificate"), "{verified}");

    let skipped = health(&plugin, &url, r#"{"httpMethod":"GET","tlsSkipVerify":true}"#, &[]).await;
    assert!(skipped.contains(reached), "{skipped}");

    let with_ca = health(&plugin, &url, r#"{"httpMethod":"GET","tlsAuthWithCACert":true}"#, &[("tlsCACert", &ca)]).await;
    assert!(with_ca.contains(reached), "{with_ca}");

    let bad_ca = health(&plugin, &url, r#"{"httpMethod":"GET","tlsAuthWithCACert":true}"#, &[("tlsCACert", "not a certificate")]).await;
    assert!(bad_ca.contains("TLS settings") || bad_ca.contains("certificate"), "{bad_ca}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_requires_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = tls_server_with(dir.path(), &["-Verify", "1", "-CAfile", "ca.pem"]);
    // A client certificate the same CA signed.
    openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=grafana", "-keyout", "client.key", "-out", "client.csr"], dir.path());
    std::fs::write(dir.path().join("client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n").unwrap();
    openssl(&["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "client.ext", "-out", "client.pem"], dir.path());
    let (cert, key) = (std::fs::read_to_string(dir.path().join("client.pem")).unwrap(), std::fs::read_to_string(dir.path().join("client.key")).unwrap());
    let url = format!("https://127.0.0.1:{}", server.port);
    let plugin = PluginProcess::start();

    let without = health(&plugin, &url, r#"{"httpMethod":"GET","tlsAuthWithCACert":true}"#, &[("tlsCACert", &ca)]).await;
    assert!(without.contains("Cannot reach the TSDB") && without.contains("CertificateRequired"), "refused without a client certificate, and says why: {without}");
    let with = health(&plugin, &url, r#"{"httpMethod":"GET","tlsAuthWithCACert":true,"tlsAuth":true}"#, &[("tlsCACert", &ca), ("tlsClientCert", &cert), ("tlsClientKey", &key)]).await;
    assert!(with.contains("not Prometheus API JSON"), "{with}");
    assert!(!with.contains("BEGIN"), "no key material in messages: {with}");
}
