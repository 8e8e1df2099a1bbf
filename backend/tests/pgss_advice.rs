//! Index advice (issue 21) against a real PostgreSQL 15 started here (Debian's, with
//! pg_stat_statements, pg_qualstats and hypopg from scripts/setup.sh): a statement filtering on an
//! unindexed column gets `CREATE INDEX ON public.orders (customer)`, whose hypothetical index the
//! planner uses at a lower estimated cost; the role is read-only; a database without the
//! extensions is refused with a message naming them; nothing is written.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pgscope::pgss::advice;

const BIN: &str = "/usr/lib/postgresql/15/bin";

fn as_postgres(program: &str) -> Command {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
}

impl Postgres {
    fn data(&self) -> PathBuf {
        self.dir.path().join("pg")
    }

    fn start() -> Postgres {
        let dir = tempfile::Builder::new().prefix("pgscope-advice").tempdir_in("/tmp").unwrap();
        let _ = Command::new("chown").args(["postgres", dir.path().to_str().unwrap()]).status();
        let pg = Postgres { port: support::free_port(), dir };
        let out = as_postgres(&format!("{BIN}/initdb")).args(["-D", pg.data().to_str().unwrap(), "--auth=trust", "--no-sync", "-U", "postgres"]).output().unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nshared_preload_libraries = 'pg_stat_statements,pg_qualstats'\npg_qualstats.sample_rate = 1\nfsync = off\n",
            pg.port,
            pg.dir.path().display()
        );
        let path = pg.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&conf);
        std::fs::write(&path, text).unwrap();
        let log = pg.dir.path().join("postgres.log");
        let out = as_postgres(&format!("{BIN}/pg_ctl")).args(["-D", pg.data().to_str().unwrap(), "-l", log.to_str().unwrap(), "-w", "-t", "30", "start"]).output().unwrap();
        assert!(out.status.success(), "pg_ctl start: {}", std::fs::read_to_string(&log).unwrap_or_default());
        pg
    }

    fn psql(&self, database: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", database, "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres(&format!("{BIN}/pg_ctl")).args(["-D", self.data().to_str().unwrap(), "-m", "immediate", "-w", "stop"]).output();
    }
}

#[test]
fn an_unindexed_filter_gets_a_hypothetical_index_that_lowers_its_cost() {
    assert!(Path::new(&format!("{BIN}/initdb")).exists(), "PostgreSQL 15 (scripts/setup.sh) is not installed");
    let pg = Postgres::start();
    pg.psql("postgres", "CREATE DATABASE shop");
    pg.psql("postgres", "CREATE DATABASE bare");
    pg.psql("shop", "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pg_qualstats; CREATE EXTENSION hypopg");
    pg.psql("shop", "CREATE TABLE orders AS SELECT g AS id, g % 1000 AS customer, md5(g::text) AS note FROM generate_series(1, 100000) g; ANALYZE orders");
    pg.psql("postgres", "CREATE ROLE reader LOGIN; GRANT pg_read_all_stats, pg_read_all_data TO reader");
    for customer in [42, 7, 42, 999, 3] {
        pg.psql("shop", &format!("SELECT count(*) FROM orders WHERE customer = {customer}"));
    }
    let queryid: i64 = pg.psql("shop", "SELECT queryid FROM pg_stat_statements WHERE query LIKE 'SELECT count(*) FROM orders WHERE customer%'").parse().unwrap();
    let tables_before = pg.psql("shop", "SELECT count(*) FROM pg_class WHERE relkind = 'i'");

    let mut config = tokio_postgres::Config::new();
    config.host("127.0.0.1").port(pg.port).user("reader").dbname("postgres").connect_timeout(Duration::from_secs(3));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    let advice = runtime.block_on(advice::advise(&config, "shop", queryid)).unwrap();
    assert_eq!(advice.queryid, queryid.to_string());
    assert!(advice.example.contains("customer = "), "{}", advice.example);
    assert_eq!(advice.predicates.len(), 1, "{:?}", advice.predicates);
    assert_eq!((advice.predicates[0].table.as_str(), advice.predicates[0].column.as_str(), advice.predicates[0].operator.as_str()), ("public.orders", "customer", "="));
    let best = advice.candidates.first().unwrap_or_else(|| panic!("no candidate: {advice:?}"));
    assert_eq!(best.create_index, "CREATE INDEX ON public.orders (customer)");
    assert!(best.used && best.cost_after < best.cost_before / 2.0, "{best:?}");
    eprintln!("estimated cost {:.1} -> {:.1} with {}", best.cost_before, best.cost_after, best.create_index);
    assert_eq!(pg.psql("shop", "SELECT count(*) FROM pg_class WHERE relkind = 'i'"), tables_before, "nothing was created");

    let refused = runtime.block_on(advice::advise(&config, "bare", queryid)).unwrap_err();
    assert!(refused.contains("needs the extensions pg_qualstats and hypopg in database bare"), "{refused}");
    let unknown = runtime.block_on(advice::advise(&config, "shop", 12345)).unwrap_err();
    assert!(unknown.contains("no example of queryid 12345"), "{unknown}");

    // The same through the datasource's resource route, with the connection from secureJsonData.
    let datasource = pgscope::datasource::Datasource::new();
    let mut settings = support::instance("advice", "http://127.0.0.1:9", "{}");
    settings.decrypted_secure_json_data.insert("pgssConnection".into(), format!("host=127.0.0.1 port={} user=reader password=never-shown dbname=postgres", pg.port));
    let context = support::plugin_context(settings);
    let call = |url: &str| runtime.block_on(datasource.call_resource(Some(&context), "advice", url));
    let (code, body) = call(&format!("advice?queryid={queryid}&database=shop"));
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["candidates"][0]["createIndex"], "CREATE INDEX ON public.orders (customer)");
    assert!(body["candidates"][0]["costAfter"].as_f64().unwrap() < body["candidates"][0]["costBefore"].as_f64().unwrap());
    let (code, body) = call(&format!("advice?queryid={queryid}&database=bare"));
    assert_eq!(code, 422);
    assert!(body["message"].as_str().unwrap().contains("pg_qualstats and hypopg"), "{body}");
    assert_eq!(call("advice?queryid=x&database=shop").0, 400);
    let without = support::plugin_context(support::instance("plain", "http://127.0.0.1:9", "{}"));
    let (code, body) = runtime.block_on(datasource.call_resource(Some(&without), "advice", &format!("advice?queryid={queryid}&database=shop")));
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().contains("needs the PostgreSQL connection"), "{body}");
    assert!(!body.to_string().contains("never-shown"));
}
