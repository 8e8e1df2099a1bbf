//! Faults of the optional PostgreSQL names connection (`pgssConnection`), against the real
//! plugin process and a real VictoriaMetrics: the server is down (nothing listens), silent
//! (accepts and never answers), not PostgreSQL (answers HTTP), or hangs up at once. Each time
//! the top-queries answer still comes, within the connect timeout's reach, named by the
//! fallback with a notice saying why; Save & test says the names connection failed without
//! failing; the password is in no answer; the process keeps serving.

mod support;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pgscope::pluginv2::{self, data_client::DataClient, diagnostics_client::DiagnosticsClient};
use support::{data_query, instance, plugin_context, PluginProcess, VictoriaMetrics};

const PASSWORD: &str = "pg-names-s3cret-7781";

/// A fake server on 127.0.0.1 that treats every connection the same way until dropped.
struct FakePostgres {
    port: u16,
    stop: Arc<AtomicBool>,
}

#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Accepts and holds the connection, never sending a byte.
    Silent,
    /// Answers like a web server: not the PostgreSQL protocol.
    Http,
    /// Closes each connection as soon as it is accepted.
    HangUp,
}

impl FakePostgres {
    fn start(behaviour: Behaviour) -> FakePostgres {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => match behaviour {
                        Behaviour::Silent => held.push(stream),
                        Behaviour::Http => {
                            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request");
                        }
                        Behaviour::HangUp => drop(stream),
                    },
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakePostgres { port, stop }
    }
}

impl Drop for FakePostgres {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Two statements with counters and no info metric: every name has to come from PostgreSQL or
/// fall back to the queryid.
fn import(vm: &VictoriaMetrics, end_s: i64) {
    let mut lines = String::new();
    let mut series = 0;
    for (queryid, calls, seconds) in [("31", 2.0, 0.2), ("32", 1.0, 0.5)] {
        for (metric, rate) in [("pg_stat_statements_calls_total", calls), ("pg_stat_statements_seconds_total", seconds)] {
            series += 1;
            for i in 0..41 {
                let t = end_s - (40 - i) * 15;
                let value = 100.0 + rate * (i * 15) as f64;
                lines.push_str(&format!(
                    "{metric}{{datname=\"app\",user=\"alice\",queryid=\"{queryid}\",instance=\"db1:9187\"}} {value} {}\n",
                    t * 1000
                ));
            }
        }
    }
    vm.import(&lines, series);
}

fn settings(uid: &str, tsdb: &str, pg_port: u16) -> pluginv2::DataSourceInstanceSettings {
    let mut settings = instance(uid, tsdb, r#"{"queryTimeout":"10s"}"#);
    settings.decrypted_secure_json_data.insert(
        "pgssConnection".into(),
        format!("host=127.0.0.1 port={pg_port} user=pgscope_reader password={PASSWORD} dbname=postgres"),
    );
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_names_server_down_silent_or_not_postgres_costs_names_never_the_answer() {
    let vm = VictoriaMetrics::start();
    let end = chrono::Utc::now().timestamp() / 15 * 15 - 60;
    import(&vm, end);
    let mut plugin = PluginProcess::start();
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap();
    let mut diagnostics = DiagnosticsClient::connect(plugin.endpoint()).await.unwrap();

    let down_port = support::free_port();
    let silent = FakePostgres::start(Behaviour::Silent);
    let http = FakePostgres::start(Behaviour::Http);
    let hang_up = FakePostgres::start(Behaviour::HangUp);
    for (name, port) in [("down", down_port), ("silent", silent.port), ("not PostgreSQL", http.port), ("hangs up", hang_up.port)] {
        let uid = format!("pg-names-{}", name.replace(' ', "-"));
        let context = plugin_context(settings(&uid, &vm.url(), port));
        let mut query = data_query("A", r#"{"orderBy":"exec_time","limit":10}"#, (end - 480) * 1000, end * 1000);
        query.query_type = "pgssTopQueries".into();
        let started = Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(30),
            data.query_data(pluginv2::QueryDataRequest { plugin_context: Some(context.clone()), headers: Default::default(), queries: vec![query] }),
        )
        .await
        .unwrap_or_else(|_| panic!("{name}: no answer within 30 s"))
        .unwrap()
        .into_inner();
        let took = started.elapsed();
        let response = &answer.responses["A"];
        let bytes: Vec<u8> = response.frames.concat();
        let text = String::from_utf8_lossy(&bytes);
        println!("{name}: HTTP {} in {took:?}", response.status);
        assert_eq!((response.status, response.error.as_str()), (200, ""), "{name}: the statements are answered");
        assert!(text.contains("queryid 31") && text.contains("queryid 32"), "{name}: names fall back to the queryid");
        assert!(text.contains("names from PostgreSQL") && text.contains("unavailable"), "{name}: a notice says why the names are missing");
        assert!(!text.contains(PASSWORD), "{name}: the password is in the answer");
        // The connect timeout is 3 s and a lookup is bounded by it; 10 s leaves room for a
        // loaded machine while still catching a lookup that waits for the query timeout or more.
        assert!(took < Duration::from_secs(10), "{name}: the lookup held the answer for {took:?}");

        let health = tokio::time::timeout(
            Duration::from_secs(30),
            diagnostics.check_health(pluginv2::CheckHealthRequest { plugin_context: Some(context), ..Default::default() }),
        )
        .await
        .unwrap_or_else(|_| panic!("{name}: Save & test waited 30 s"))
        .unwrap()
        .into_inner();
        let details = String::from_utf8_lossy(&health.json_details).to_string();
        println!("{name}: health {:?} · {}", health.status, health.message);
        assert_eq!(health.status, pluginv2::check_health_response::HealthStatus::Ok as i32, "{name}: the TSDB is what Save & test checks");
        assert!(details.contains("names from PostgreSQL") && details.contains("names fall back"), "{name}: {details}");
        assert!(!details.contains(PASSWORD) && !health.message.contains(PASSWORD), "{name}: the password in Save & test");
        assert!(plugin.is_running(), "the plugin died with the names server {name}");
    }
}
