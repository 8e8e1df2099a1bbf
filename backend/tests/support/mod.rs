//! Fixtures for the integration tests: a real VictoriaMetrics (Debian's `victoria-metrics`) on
//! 127.0.0.1 with imported series, the real `gpx_pgscope` binary started the way Grafana starts
//! it, and tiny HTTP servers that misbehave. Every process is killed by PID when dropped; every
//! wait is for a condition, with a deadline.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pgscope::pgss::catalog::SchemaDef;

/// A `promql` query over [from_ms, to_ms] with the given query JSON, as Grafana forwards it.
pub fn data_query(ref_id: &str, json: &str, from_ms: i64, to_ms: i64) -> pgscope::pluginv2::DataQuery {
    pgscope::pluginv2::DataQuery {
        ref_id: ref_id.into(),
        max_data_points: 100,
        interval_ms: 15_000,
        time_range: Some(pgscope::pluginv2::TimeRange { from_epoch_ms: from_ms, to_epoch_ms: to_ms }),
        json: json.as_bytes().to_vec(),
        query_type: "promql".into(),
    }
}

/// A datasource's settings as Grafana sends them with every request.
pub fn instance(uid: &str, url: &str, json_data: &str) -> pgscope::pluginv2::DataSourceInstanceSettings {
    pgscope::pluginv2::DataSourceInstanceSettings {
        id: 1,
        uid: uid.into(),
        url: url.into(),
        json_data: json_data.as_bytes().to_vec(),
        last_updated_ms: 1,
        ..Default::default()
    }
}

/// A request's context for the pgscope datasource with `instance`.
pub fn plugin_context(instance: pgscope::pluginv2::DataSourceInstanceSettings) -> pgscope::pluginv2::PluginContext {
    pgscope::pluginv2::PluginContext {
        org_id: 1,
        plugin_id: "pgscope-datasource".into(),
        data_source_instance_settings: Some(instance),
        ..Default::default()
    }
}

/// The median of benchmark timings.
pub fn p50(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Waits until `ready` returns true, or panics with `what` after `deadline`.
pub fn wait_for(what: &str, deadline: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A plain HTTP/1.1 GET or POST with a body; returns (status, body).
pub fn http(method: &str, addr: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len())?;
    stream.write_all(body)?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

/// VictoriaMetrics' own time per query (`/api/v1/status/top_queries`'s answer), one line each:
/// the summed time, how many times it ran and the query cut to `width` characters.
pub fn vm_query_time_lines(stats: &serde_json::Value, width: usize) -> Vec<String> {
    stats["topBySumDuration"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|q| {
            let query: String = q["query"].as_str().unwrap_or_default().chars().take(width).collect();
            format!("{:8.1} ms  x{:<3} {query}", q["sumDurationSeconds"].as_f64().unwrap_or(0.0) * 1000.0, q["count"])
        })
        .collect()
}

pub struct VictoriaMetrics {
    child: Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl VictoriaMetrics {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new("victoria-metrics")
            .arg(format!("-storageDataPath={}", dir.path().join("data").display()))
            .arg(format!("-httpListenAddr={addr}"))
            .arg("-search.latencyOffset=1s")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("victoria-metrics is not installed: run `make test`, which installs it (apt package victoria-metrics)");
        let vm = VictoriaMetrics { child, addr, _dir: dir };
        wait_for("VictoriaMetrics /health", Duration::from_secs(30), || {
            matches!(http("GET", &vm.addr, "/health", b""), Ok((200, _)))
        });
        vm
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Imports Prometheus text-format lines (`name{labels} value timestamp_ms`) and waits until
    /// `count({__name__=~".+"})` says `series` series are queryable.
    pub fn import(&self, lines: &str, series: usize) {
        let (status, body) = http("POST", &self.addr, "/api/v1/import/prometheus", lines.as_bytes()).unwrap();
        assert!(status == 204 || status == 200, "import failed: {status} {body}");
        let (_, _) = http("GET", &self.addr, "/internal/force_flush", b"").unwrap();
        let want = format!("\"{series}\"");
        wait_for("imported series to be queryable", Duration::from_secs(30), || {
            let path = "/api/v1/query?query=count(last_over_time(%7B__name__%3D~%22.%2B%22%7D%5B1d%5D))";
            matches!(http("GET", &self.addr, path, b""), Ok((200, body)) if body.contains(&want))
        });
    }
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The plugin binary, started as Grafana's go-plugin host starts it.
pub struct PluginProcess {
    child: Child,
    /// The plugin's log lines (stderr) so far.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// `127.0.0.1:PORT` from the handshake line.
    pub grpc_addr: String,
    pub handshake: String,
}

pub fn plugin_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gpx_pgscope"))
}

impl PluginProcess {
    pub fn start() -> Self {
        Self::start_with_log_level("info")
    }

    /// `RUST_LOG` for the plugin (e.g. "debug", to check what it would log).
    pub fn start_with_log_level(level: &str) -> Self {
        Self::start_binary(&plugin_binary(), level)
    }

    /// Another build of the plugin (a benchmark's baseline), started the same way.
    pub fn start_binary(binary: &std::path::Path, level: &str) -> Self {
        // Grafana (pkg/plugins/backendplugin/grpcplugin) runs the executable with no arguments
        // and go-plugin's environment, plus Grafana's own variables.
        let mut child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("grafana_plugin_type", "datasource")
            .env("PLUGIN_PROTOCOL_VERSIONS", "2")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("GF_VERSION", "12.3.0")
            .env("GF_EDITION", "Open Source")
            .env("GF_PLUGIN_VERSION", env!("CARGO_PKG_VERSION"))
            .env("RUST_LOG", level)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let stderr = child.stderr.take().unwrap();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = logs.clone();
        std::thread::spawn(move || {
            // Drain the plugin's hclog output so it never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("PGSCOPE_TEST_LOGS").is_some() {
                    eprintln!("plugin: {line}");
                }
                kept.lock().unwrap().push(line);
            }
        });
        let handshake = receiver.recv_timeout(Duration::from_secs(20)).expect("no handshake line within 20 s").trim().to_string();
        let parts: Vec<&str> = handshake.split('|').collect();
        assert_eq!(parts.len(), 5, "handshake {handshake:?}");
        assert_eq!((parts[0], parts[1], parts[2], parts[4]), ("1", "2", "tcp", "grpc"), "handshake {handshake:?}");
        PluginProcess { child, logs, grpc_addr: parts[3].to_string(), handshake }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server on 127.0.0.1 that answers every request with `response` (raw HTTP), until dropped,
/// and keeps the requests it received.
pub struct FakeServer {
    pub addr: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    received: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl FakeServer {
    /// The requests received so far (head and body as text).
    pub fn requests(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }

    pub fn start(response: &'static str) -> Self {
        Self::start_bytes(response.as_bytes().to_vec())
    }

    /// Like `start`, with a raw (e.g. compressed) answer.
    pub fn start_bytes(response: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = received.clone();
        std::thread::spawn(move || {
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        stream.set_nonblocking(false).ok();
                        stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
                        let mut buf = [0u8; 65536];
                        let n = stream.read(&mut buf).unwrap_or(0);
                        record.lock().unwrap().push(String::from_utf8_lossy(&buf[..n]).into_owned());
                        let _ = stream.write_all(&response);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakeServer { addr, stop, received }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Debian's Prometheus on 127.0.0.1 over a data directory backfilled by `promtool tsdb
/// create-blocks-from openmetrics` (Prometheus has no import API).
pub struct Prometheus {
    child: Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// `openmetrics`: series grouped by metric family, timestamps in seconds, ending in `# EOF`.
    pub fn start_with(openmetrics: &str) -> Self {
        Self::start_from(|out| out.write_all(openmetrics.as_bytes()), Duration::from_secs(30))
    }

    /// Backfills the OpenMetrics that `write` streams into a file (a fleet's is never held in
    /// memory whole) and starts Prometheus on it; large blocks take minutes to open, hence
    /// `ready_within`. Killed by PID when dropped.
    pub fn start_from(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>, ready_within: Duration) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input.om");
        {
            let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&input).unwrap());
            write(&mut file).unwrap();
            file.flush().unwrap();
        }
        let data = dir.path().join("data");
        let output = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&data)
            .output()
            .expect("promtool is not installed: run `make test`, which installs the prometheus package");
        assert!(output.status.success(), "promtool failed: {}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let _ = std::fs::remove_file(&input);
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 15s\n").unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--storage.tsdb.retention.time=30d")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus is not installed");
        let prometheus = Prometheus { child, addr, _dir: dir };
        wait_for("Prometheus /-/ready", ready_within, || matches!(http("GET", &prometheus.addr, "/-/ready", b""), Ok((200, _))));
        prometheus
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An instant query; returns each series as (sorted `k=v` label text, value).
pub fn instant(addr: &str, expr: &str, time: f64) -> Result<Vec<(String, f64)>, String> {
    let body = format!("query={}&time={time}", urlencode(expr));
    let (status, text) = http_form(addr, "/api/v1/query", &body).map_err(|e| e.to_string())?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("HTTP {status}: {e}: {text}"))?;
    if json["status"] != "success" {
        return Err(format!("HTTP {status}: {text}"));
    }
    let mut out: Vec<(String, f64)> = json["data"]["result"]
        .as_array()
        .ok_or_else(|| format!("not a vector: {text}"))?
        .iter()
        .map(|series| {
            let labels: std::collections::BTreeMap<String, String> = serde_json::from_value(series["metric"].clone()).unwrap_or_default();
            let text = labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
            let value = series["value"][1].as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
            (text, value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn http_form(addr: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    // Prometheus answers chunked; VictoriaMetrics with a length. Undo chunking if present.
    let body = if response.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(&body) } else { body };
    Ok((status, body))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub const STEP_S: i64 = 15;
pub const SPAN_S: i64 = 40 * 60;
pub const DATABASES: [&str; 2] = ["app", "shop"];
pub const QUERYIDS: [&str; 2] = ["-4733054171989341815", "1234567"];

pub fn now_s() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn label_text(labels: &BTreeMap<&str, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect::<Vec<_>>().join(",")
}

/// One pgss schema's series over the last `SPAN_S` before `end_s`, as its exporter names and
/// labels them (counters growing at known rates, plus its info metric), and how many there are.
pub fn pgss_dataset(schema: &SchemaDef, end_s: i64) -> (String, usize) {
    let mut lines = String::new();
    let mut series = 0;
    for (m, source) in schema.sources.iter().enumerate() {
        for (d, db) in DATABASES.iter().enumerate() {
            for (q, queryid) in QUERYIDS.iter().enumerate() {
                let mut labels = BTreeMap::from([
                    ("job", "pgss".to_string()),
                    ("instance", "exporter:9187".to_string()),
                    (schema.database_label, db.to_string()),
                    ("queryid", queryid.to_string()),
                ]);
                if schema.instance_label != "instance" {
                    labels.insert(schema.instance_label, "node1".into());
                }
                if let Some(cluster) = schema.cluster_label {
                    labels.insert(cluster, "main".into());
                }
                if let Some(user) = schema.user_label {
                    labels.insert(user, "app".into());
                }
                if let Some(text) = schema.text_label {
                    labels.insert(text, format!("SELECT * FROM t{q} WHERE id = $1 /* {db} */"));
                }
                let per_step = (1 + m + 3 * d + 7 * q) as f64;
                let mut t = end_s - SPAN_S;
                let mut i = 0.0;
                while t <= end_s {
                    lines.push_str(&format!("{}{{{}}} {} {}\n", source.metric, label_text(&labels), i * per_step, t * 1000));
                    t += STEP_S;
                    i += 1.0;
                }
                series += 1;
            }
        }
    }
    // The info metric each stack names statements with (pgwatch keeps the text on the series).
    let info: Vec<(&str, Vec<(&str, String)>)> = match schema.id {
        "postgres_exporter" => DATABASES
            .iter()
            .flat_map(|db| QUERYIDS.iter().map(move |q| ("pgss_query_info", vec![("datname", db.to_string()), ("queryid", q.to_string())])))
            .collect(),
        "postgres_ai" => QUERYIDS.iter().map(|q| ("pgwatch_query_info", vec![("queryid", q.to_string())])).collect(),
        _ => Vec::new(),
    };
    for (name, pairs) in info {
        let mut labels: BTreeMap<&str, String> = pairs.into_iter().collect();
        labels.insert("displayname", format!("statement {}", labels["queryid"]));
        labels.insert("job", "query-info".into());
        let mut t = end_s - SPAN_S;
        while t <= end_s {
            lines.push_str(&format!("{name}{{{}}} 1 {}\n", label_text(&labels), t * 1000));
            t += STEP_S;
        }
        series += 1;
    }
    (lines, series)
}

/// Prometheus text lines (`name{labels} value timestamp_ms`, as `pgss_dataset` writes them) as
/// OpenMetrics for `Prometheus::start_with` (families grouped, seconds).
pub fn openmetrics(lines: &str) -> String {
    let mut families: Vec<(&str, Vec<String>)> = Vec::new();
    for line in lines.lines() {
        let family = &line[..line.find('{').unwrap_or(line.len())];
        let (head, ts) = line.rsplit_once(' ').unwrap();
        let sample = format!("{head} {}", ts.parse::<i64>().unwrap() / 1000);
        match families.iter_mut().find(|(f, _)| *f == family) {
            Some((_, samples)) => samples.push(sample),
            None => families.push((family, vec![sample])),
        }
    }
    let mut text = String::new();
    for (family, samples) in families {
        text.push_str(&format!("# TYPE {family} gauge\n"));
        for sample in samples {
            text.push_str(&sample);
            text.push('\n');
        }
    }
    text + "# EOF\n"
}

const VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1700000000,"1"]}]}}"#;

/// How the fake TSDB misbehaves.
#[derive(Clone, Copy)]
pub enum Fault {
    /// Answers after `secs` seconds.
    Slow(u64),
    /// An HTML error page with a 500.
    Html500,
    /// A 200 whose body stops half-way (the connection closes before Content-Length).
    Truncated,
    /// A complete 200 answer whose JSON stops half-way.
    HalfJson,
    /// 200 MB of JSON-looking body, sent as fast as it is read.
    Huge,
    /// A valid answer.
    Healthy,
}

/// A TSDB on 127.0.0.1 with one fault, until dropped.
pub struct FaultyTsdb {
    pub addr: String,
    stop: Arc<AtomicBool>,
}

impl FaultyTsdb {
    pub fn start(fault: Fault) -> FaultyTsdb {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), fault)
    }

    pub fn start_on(listener: TcpListener, fault: Fault) -> FaultyTsdb {
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let stopped = stopped.clone();
                        std::thread::spawn(move || answer(stream, fault, &stopped));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FaultyTsdb { addr, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FaultyTsdb {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn answer(mut stream: TcpStream, fault: Fault, stopped: &AtomicBool) {
    stream.set_nonblocking(false).ok();
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
    let mut buf = [0u8; 65536];
    let _ = stream.read(&mut buf);
    let head = |status: &str, content_type: &str, length: usize| format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n");
    match fault {
        Fault::Slow(secs) => {
            let until = Instant::now() + Duration::from_secs(secs);
            while Instant::now() < until && !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = stream.write_all(format!("{}{VECTOR}", head("200 OK", "application/json", VECTOR.len())).as_bytes());
        }
        Fault::Html500 => {
            let page = "<html><head><title>502 upstream down</title></head><body>nginx</body></html>";
            let _ = stream.write_all(format!("{}{page}", head("500 Internal Server Error", "text/html", page.len())).as_bytes());
        }
        Fault::Truncated => {
            let _ = stream.write_all(format!("{}{}", head("200 OK", "application/json", VECTOR.len()), &VECTOR[..VECTOR.len() / 2]).as_bytes());
        }
        Fault::HalfJson => {
            let half = &VECTOR[..VECTOR.len() / 2];
            let _ = stream.write_all(format!("{}{half}", head("200 OK", "application/json", half.len())).as_bytes());
        }
        Fault::Huge => {
            // No Content-Length: the client must stop reading at its own limit.
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[");
            let chunk = format!("{{\"metric\":{{\"job\":\"{}\"}},\"value\":[1700000000,\"1\"]}},", "x".repeat(1000)).repeat(64);
            for _ in 0..(200 << 20) / chunk.len() {
                if stream.write_all(chunk.as_bytes()).is_err() || stopped.load(Ordering::Relaxed) {
                    return;
                }
            }
        }
        Fault::Healthy => {
            let _ = stream.write_all(format!("{}{VECTOR}", head("200 OK", "application/json", VECTOR.len())).as_bytes());
        }
    }
}

/// Where Debian's PostgreSQL 15 is (scripts/setup.sh installs it with the pgss extensions).
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// `program` as the postgres user when the tests run as root (PostgreSQL refuses root).
pub fn as_postgres(program: &str) -> Command {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

/// A PostgreSQL 15 on 127.0.0.1 in a temporary directory (removed with it), trusting local
/// socket connections; stopped by `pg_ctl` when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Postgres {
    /// Started with `conf` appended to postgresql.conf.
    pub fn start(conf: &str) -> Postgres {
        Postgres::start_with(conf, &[], "")
    }

    /// The same, with `files` written into the data directory first (owned by the server's
    /// user, mode 0600, as PostgreSQL wants its TLS key) and `hba` put before pg_hba.conf's lines.
    pub fn start_with(conf: &str, files: &[(&str, &str)], hba: &str) -> Postgres {
        use std::os::unix::fs::PermissionsExt;
        assert!(std::path::Path::new(&format!("{PG_BIN}/initdb")).exists(), "PostgreSQL 15 (scripts/setup.sh) is not installed");
        let dir = tempfile::Builder::new().prefix("pgscope-pg").tempdir_in("/tmp").unwrap();
        let _ = Command::new("chown").args(["postgres", dir.path().to_str().unwrap()]).status();
        let pg = Postgres { port: free_port(), dir };
        let data = pg.data();
        let out = as_postgres(&format!("{PG_BIN}/initdb")).args(["-D", data.to_str().unwrap(), "--auth=trust", "--no-sync", "-U", "postgres"]).output().unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let conf = format!("listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nfsync = off\n{conf}\n", pg.port, pg.dir.path().display());
        let append = |name: &str, text: &str, first: bool| {
            let path = data.join(name);
            let old = std::fs::read_to_string(&path).unwrap();
            std::fs::write(&path, if first { format!("{text}\n{old}") } else { format!("{old}\n{text}") }).unwrap();
        };
        append("postgresql.conf", &conf, false);
        append("pg_hba.conf", hba, true);
        for (name, text) in files {
            let path = data.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let _ = Command::new("chown").args(["postgres", path.to_str().unwrap()]).status();
        }
        let log = pg.dir.path().join("postgres.log");
        let out = as_postgres(&format!("{PG_BIN}/pg_ctl")).args(["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-w", "-t", "30", "start"]).output().unwrap();
        assert!(out.status.success(), "pg_ctl start: {}", std::fs::read_to_string(&log).unwrap_or_default());
        pg
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("pg")
    }

    /// `sql` run by the superuser over the local socket; its output, trimmed.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let socket = self.dir.path().to_str().unwrap().to_string();
        let out = Command::new("psql")
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", &socket, "-p", &self.port.to_string(), "-U", "postgres", "-d", database, "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres(&format!("{PG_BIN}/pg_ctl")).args(["-D", self.data().to_str().unwrap(), "-m", "immediate", "-w", "stop"]).output();
    }
}
