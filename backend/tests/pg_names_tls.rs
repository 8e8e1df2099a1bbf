//! Names from PostgreSQL over TLS and from more than one server (issue 21), against a real
//! PostgreSQL 15 started here with `ssl = on`, a certificate for 127.0.0.1 signed by a test CA
//! (openssl), scram passwords over `hostssl` only (`hostnossl ... reject`, so a connection that
//! works was encrypted), and a role that must also show a client certificate:
//! verify-full succeeds with the right CA and host name; the wrong CA and the wrong host fail
//! with a clear message and no password; verify-ca accepts the wrong host; require and prefer
//! work without a CA; disable is rejected by the server; the client certificate is sent when set;
//! against a server without TLS, require fails saying so and prefer connects in the clear.
//! Then the datasource with `pgssServers` (db1 this server, db2 nobody): a statement of db1's
//! series is named from db1 alone, one of db2's gets db2's error, and Save & test reports each
//! server's reach and the pgss extensions found (in pg_extension and in the TSDB's series).

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use pgscope::datasource::{Datasource, QueryOutcome};
use pgscope::pgss::postgres::PgFleet;
use pgscope::pluginv2;
use pgscope::settings::Settings;
use support::Postgres;

const PASSWORD: &str = "tls-reader-s3cret-5521";

fn openssl(args: &[&str], dir: &Path) {
    let status = Command::new("openssl").args(args).current_dir(dir).stdout(Stdio::null()).stderr(Stdio::null()).status().expect("openssl is not installed");
    assert!(status.success(), "openssl {args:?}");
}

/// PEM texts made by openssl in a temporary directory (removed on return).
struct Pems {
    ca: String,
    other_ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

/// A test CA; a server certificate for 127.0.0.1 and a client certificate for `certreader`
/// it signed; and another CA that signed nothing here.
fn pems() -> Pems {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let read = |name: &str| std::fs::read_to_string(d.join(name)).unwrap();
    for ca in ["ca", "other"] {
        openssl(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", &format!("/CN=pgscope {ca} CA"), "-keyout", &format!("{ca}.key"), "-out", &format!("{ca}.pem")], d);
    }
    for (leaf, subject, extensions) in [("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"), ("client", "/CN=certreader", "basicConstraints=CA:FALSE\n")] {
        openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", &format!("{leaf}.key"), "-out", &format!("{leaf}.csr")], d);
        std::fs::write(d.join(format!("{leaf}.ext")), extensions).unwrap();
        openssl(&["x509", "-req", "-in", &format!("{leaf}.csr"), "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", &format!("{leaf}.ext"), "-out", &format!("{leaf}.pem")], d);
    }
    Pems { ca: read("ca.pem"), other_ca: read("other.pem"), server_cert: read("server.pem"), server_key: read("server.key"), client_cert: read("client.pem"), client_key: read("client.key") }
}

/// PostgreSQL with TLS, pg_stat_statements, pg_stat_kcache and hypopg, the roles `reader` and
/// `certreader`, and one marked statement; its queryid.
fn postgres(pems: &Pems) -> (Postgres, String) {
    let pg = Postgres::start_with(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'root.crt'\nshared_preload_libraries = 'pg_stat_statements,pg_stat_kcache'\n",
        &[("server.crt", &pems.server_cert), ("server.key", &pems.server_key), ("root.crt", &pems.ca)],
        "hostnossl all all 127.0.0.1/32 reject\nhostssl all certreader 127.0.0.1/32 scram-sha-256 clientcert=verify-ca\nhostssl all all 127.0.0.1/32 scram-sha-256",
    );
    pg.psql("postgres", "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pg_stat_kcache; CREATE EXTENSION hypopg");
    for role in ["reader", "certreader"] {
        pg.psql("postgres", &format!("CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'; GRANT pg_read_all_stats TO {role}"));
    }
    pg.psql("postgres", "SELECT 4242 AS pgscope_tls_marker");
    let queryid = pg.psql("postgres", "SELECT queryid FROM pg_stat_statements WHERE query LIKE '%pgscope_tls_marker%' AND query NOT LIKE '%pg_stat_statements%'");
    assert!(queryid.parse::<i64>().is_ok(), "the marked statement's queryid: {queryid:?}");
    (pg, queryid)
}

fn settings(tsdb: &str, json_data: &str, secure: &[(&str, &str)]) -> pluginv2::DataSourceInstanceSettings {
    let mut settings = support::instance("pg-tls", tsdb, json_data);
    settings.decrypted_secure_json_data = secure.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    settings
}

/// The fleet the datasource would build from these secure settings (`pgssConnection` + TLS).
fn fleet(secure: &[(&str, &str)]) -> PgFleet {
    let settings = Settings::from_instance(Some(&settings("http://127.0.0.1:9", "{}", secure))).unwrap_or_else(|e| panic!("{e}"));
    PgFleet::new(settings.pgss_postgres)
}

#[test]
fn names_over_tls_verify_what_the_sslmode_says() {
    let pems = pems();
    let (pg, queryid) = postgres(&pems);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let connection = |extra: &str| format!("host=127.0.0.1 port={} user=reader password={PASSWORD} dbname=postgres {extra}", pg.port);
    let check = |secure: &[(&str, &str)]| {
        let fleet = fleet(secure);
        let mut checks = runtime.block_on(fleet.check());
        assert_eq!(checks.len(), 1);
        let check = checks.remove(0);
        let shown = format!("{check:?}");
        assert!(!shown.contains(PASSWORD) && !shown.contains("PRIVATE KEY"), "a secret in {shown}");
        println!("{shown}");
        check
    };

    // verify-full with the CA that signed the server's certificate, for the host connected to.
    let full = connection("sslmode=verify-full");
    let reach = check(&[("pgssConnection", &full), ("pgssTlsCACert", &pems.ca)]).unwrap();
    assert!(reach.line.ends_with("· TLSv1.3, TLS verify-full (CA from pgssTlsCACert)"), "{}", reach.line);
    assert!(reach.line.contains("reads every user's statements"), "{}", reach.line);
    let names: Vec<&str> = reach.extensions.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["hypopg", "pg_stat_kcache", "pg_stat_statements"]);
    let lookup = runtime.block_on(fleet(&[("pgssConnection", &full), ("pgssTlsCACert", &pems.ca)]).resolve(&[(("postgres".into(), queryid.clone()), None)]));
    assert_eq!(lookup.error, None);
    assert!(lookup.texts[&("postgres".to_string(), queryid.clone())].contains("pgscope_tls_marker"), "{lookup:?}");

    // The wrong CA; no CA (the public ones); the wrong host name (connecting to 127.0.0.1 as
    // db.example.test, which the certificate does not name).
    let wrong_ca = check(&[("pgssConnection", &full), ("pgssTlsCACert", &pems.other_ca)]).unwrap_err();
    assert!(wrong_ca.contains("the server's TLS certificate is not signed by the CA in pgssTlsCACert (sslmode=verify-full)"), "{wrong_ca}");
    let public = check(&[("pgssConnection", &full)]).unwrap_err();
    assert!(public.contains("not signed by a public CA, and no pgssTlsCACert is set (sslmode=verify-full)"), "{public}");
    let other_host = format!("host=db.example.test hostaddr=127.0.0.1 port={} user=reader password={PASSWORD} dbname=postgres", pg.port);
    let wrong_host = check(&[("pgssConnection", &format!("{other_host} sslmode=verify-full")), ("pgssTlsCACert", &pems.ca)]).unwrap_err();
    assert!(wrong_host.contains("the server's TLS certificate does not name the host db.example.test"), "{wrong_host}");
    // verify-ca checks the CA only.
    let any_host = check(&[("pgssConnection", &format!("{other_host} sslmode=verify-ca")), ("pgssTlsCACert", &pems.ca)]).unwrap();
    assert!(any_host.line.contains("TLS verify-ca"), "{}", any_host.line);
    let ca_wrong = check(&[("pgssConnection", &format!("{other_host} sslmode=verify-ca")), ("pgssTlsCACert", &pems.other_ca)]).unwrap_err();
    assert!(ca_wrong.contains("not signed by the CA in pgssTlsCACert (sslmode=verify-ca)"), "{ca_wrong}");

    // require and prefer encrypt without a CA; disable reaches the server's `hostnossl reject`.
    for mode in ["require", "prefer"] {
        let reach = check(&[("pgssConnection", &connection(&format!("sslmode={mode}")))]).unwrap();
        assert!(reach.line.contains("· TLSv1.3, TLS") && reach.line.ends_with(&format!("sslmode={mode})")), "{}", reach.line);
    }
    let plain = check(&[("pgssConnection", &connection("sslmode=disable"))]).unwrap_err();
    assert!(plain.contains("no encryption"), "{plain}");

    // A role the server also asks a client certificate of.
    let cert_role = full.replace("user=reader", "user=certreader");
    let without = check(&[("pgssConnection", &cert_role), ("pgssTlsCACert", &pems.ca)]).unwrap_err();
    assert!(without.contains("certificate"), "{without}");
    let with = check(&[("pgssConnection", &cert_role), ("pgssTlsCACert", &pems.ca), ("pgssTlsClientCert", &pems.client_cert), ("pgssTlsClientKey", &pems.client_key)]).unwrap();
    assert!(with.line.contains("client certificate"), "{}", with.line);
    drop(pg);

    // A server without TLS: require says so, prefer connects in the clear.
    let plain = Postgres::start("shared_preload_libraries = 'pg_stat_statements'");
    plain.psql("postgres", "CREATE EXTENSION pg_stat_statements; CREATE ROLE reader LOGIN; GRANT pg_read_all_stats TO reader");
    let at = |mode: &str| format!("host=127.0.0.1 port={} user=reader password={PASSWORD} dbname=postgres sslmode={mode}", plain.port);
    let refused = check(&[("pgssConnection", &at("require"))]).unwrap_err();
    assert!(refused.contains("server does not support TLS: sslmode=require needs ssl = on in its postgresql.conf"), "{refused}");
    let clear = check(&[("pgssConnection", &at("prefer"))]).unwrap();
    assert!(clear.line.ends_with("· no TLS, TLS if offered, unverified (sslmode=prefer)"), "{}", clear.line);
}

/// Counters of one statement on two instances, db1:9187 and db2:9187, with other queryids.
fn import(vm: &support::VictoriaMetrics, end_s: i64, on_db1: &str, on_db2: &str) {
    let mut lines = String::new();
    let mut series = 0;
    for (queryid, instance) in [(on_db1, "db1:9187"), (on_db2, "db2:9187")] {
        for metric in ["pg_stat_statements_calls_total", "pg_stat_statements_seconds_total"] {
            series += 1;
            for i in 0..41 {
                let t = end_s - (40 - i) * 15;
                lines.push_str(&format!("{metric}{{datname=\"postgres\",user=\"app\",queryid=\"{queryid}\",instance=\"{instance}\"}} {} {}\n", 10.0 + i as f64, t * 1000));
            }
        }
    }
    vm.import(&lines, series);
}

#[test]
fn each_statement_is_named_by_its_instances_server_and_save_and_test_reports_every_server() {
    let pems = pems();
    let (pg, queryid) = postgres(&pems);
    let vm = support::VictoriaMetrics::start();
    let end = chrono::Utc::now().timestamp() / 15 * 15 - 60;
    let on_db2 = "777001";
    import(&vm, end, &queryid, on_db2);
    let down = support::free_port();
    let json_data = serde_json::json!({
        "queryTimeout": "10s",
        "pgssServers": [
            {"name": "db1", "instance": "db1:9187", "connection": format!("host=127.0.0.1 port={} user=reader dbname=postgres sslmode=verify-full", pg.port)},
            {"name": "db2", "instance": "db2:9187", "connection": format!("host=127.0.0.1 port={down} user=reader dbname=postgres sslmode=require")},
        ],
    })
    .to_string();
    let context = support::plugin_context(settings(&vm.url(), &json_data, &[("pgssPassword.db1", PASSWORD), ("pgssPassword.db2", PASSWORD), ("pgssTlsCACert", &pems.ca)]));
    let datasource = Datasource::new();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let detail = |id: &str| {
        let query = pluginv2::DataQuery { query_type: "pgssQuery".into(), ..support::data_query("A", &format!(r#"{{"queryid":"{id}"}}"#), (end - 480) * 1000, end * 1000) };
        let request = pluginv2::QueryDataRequest { plugin_context: Some(context.clone()), headers: Default::default(), queries: vec![query] };
        match runtime.block_on(datasource.query_data(&request)).remove(0).1 {
            QueryOutcome::Frames(frames) => format!("{frames:?}"),
            QueryOutcome::Error { status, message, .. } => panic!("{status}: {message}"),
        }
    };
    let named = detail(&queryid);
    assert!(named.contains("SELECT $1 AS pgscope_tls_marker"), "db1's statement named from db1 over TLS");
    assert!(!named.contains("unavailable"), "only db1 was asked: {named}");
    let unnamed = detail(on_db2);
    assert!(unnamed.contains("names from PostgreSQL (db2 (instance db2:9187)") && unnamed.contains("unavailable"), "db2's error is the notice");
    assert!(!unnamed.contains("db1 (instance"), "db1 was not asked for db2's statement");
    assert!(!named.contains(PASSWORD) && !unnamed.contains(PASSWORD));

    let health = runtime.block_on(datasource.check_health(Some(&context)));
    assert!(health.ok, "{health:?}");
    let details = health.details["message"].as_str().unwrap_or_default().to_string();
    println!("{details}");
    let lines: Vec<&str> = details.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("names from PostgreSQL: db1 (instance db1:9187) reader@127.0.0.1:") && l.contains("TLSv1.3, TLS verify-full")), "{details}");
    assert!(lines.iter().any(|l| l.starts_with("names from PostgreSQL (db2 (instance db2:9187)") && l.ends_with("(names fall back to the info metric and the queryid)")), "{details}");
    let extensions = lines.iter().find(|l| l.starts_with("pgss extensions: ")).unwrap_or_else(|| panic!("no extensions line: {details}"));
    assert!(extensions.contains("pg_stat_statements 1.10 (PostgreSQL, TSDB series)"), "{extensions}");
    assert!(extensions.contains("pg_stat_kcache ") && extensions.contains("hypopg "), "{extensions}");
    assert!(extensions.ends_with("not found: pg_wait_sampling, pg_qualstats"), "{extensions}");
    assert!(!health.details.to_string().contains(PASSWORD) && !health.message.contains(PASSWORD));
    drop(pg);
}
