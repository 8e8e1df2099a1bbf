//! The fleet fixture (issue 19): `statements` pg_stat_statements entries over `instances`
//! PostgreSQL servers, every measure of a schema (postgres_exporter's names, or postgres_ai's)
//! as a counter with a known rate, `points` samples `step_s` apart ending at `end_s`, plus the
//! schema's info metric naming nine statements in ten. Some counters reset half-way, some
//! statements appear half-way and some vanish: what a real fleet's pgss series do. Written as
//! VictoriaMetrics' JSON-lines import (streamed into `/api/v1/import`, never held whole) or as
//! OpenMetrics for `promtool tsdb create-blocks-from openmetrics`.
//!
//! Statement `s` (`Fleet::rate` gives its rates):
//! - database `db{s % 4}`, instance `pg{s % instances}`, user `app` or `batch` (every third);
//! - `s % 10 == 3`: its counters restart from 0 at the middle point (a reset);
//! - `s % 10 == 7`: appears at the middle point; `s % 10 == 8`: gone after it;
//! - `s % 10 == 9`: no name in the info metric;
//! - temp and WAL measures are 0 for four statements in five (ties at 0, as in real fleets).

#![allow(dead_code)]

use std::io::{self, BufWriter, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use pgscope::pgss::catalog::{Measure, SchemaDef, Source};

#[derive(Clone, Copy)]
pub struct Fleet {
    pub schema: &'static SchemaDef,
    pub statements: usize,
    pub instances: usize,
    pub points: usize,
    pub step_s: i64,
    pub end_s: i64,
}

/// A deterministic spread of 0..1 for (statement, measure).
fn unit(s: usize, m: usize) -> f64 {
    let mut x = (s as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (m as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl Fleet {
    pub fn new(schema: &'static SchemaDef, statements: usize, points: usize, end_s: i64) -> Fleet {
        Fleet { schema, statements, instances: (statements / 500).max(1), points, step_s: 15, end_s }
    }

    /// Series in the TSDB: every measure of every statement, plus the info metric.
    pub fn series(&self) -> usize {
        let named = (0..self.statements).filter(|s| s % 10 != 9).count();
        self.statements * self.schema.sources.len() + named
    }

    pub fn queryid(s: usize) -> String {
        let id = 1_000_000_007i64 + s as i64 * 7919;
        if s % 5 == 0 { (-id).to_string() } else { id.to_string() }
    }

    pub fn database(s: usize) -> String {
        format!("db{}", s % 4)
    }

    /// Statement `s`'s rate of measure `m` per second, in the exporter's units: calls from
    /// 0.01 to 50/s, the others per call from a spread, skewed so a few statements dominate.
    pub fn rate(&self, s: usize, m: Measure) -> f64 {
        let index = Measure::ALL.iter().position(|x| *x == m).unwrap_or(0);
        let skew = |u: f64| u * u * u;
        let calls = 0.01 + 50.0 * skew(unit(s, 99));
        let quiet = matches!(m, Measure::TempRead | Measure::TempWritten | Measure::WalRecords | Measure::WalFpi | Measure::WalBytes) && s % 5 != 0;
        if m == Measure::Calls {
            calls
        } else if quiet {
            0.0
        } else {
            calls * (0.001 + 10.0 * skew(unit(s, index)))
        }
    }

    /// Indices of the points statement `s` has (appearing or vanishing half-way).
    fn span(&self, s: usize) -> std::ops::Range<usize> {
        let half = self.points / 2;
        match s % 10 {
            7 => half..self.points,
            8 => 0..half + 1,
            _ => 0..self.points,
        }
    }

    fn time_s(&self, i: usize) -> i64 {
        self.end_s - (self.points - 1 - i) as i64 * self.step_s
    }

    /// The counter's value at point `i` (a reset at the middle for `s % 10 == 3`).
    fn value(&self, s: usize, source: &Source, i: usize) -> f64 {
        let rate = self.rate(s, source.measure);
        let base = (unit(s, 7) * 1e6).floor();
        let half = self.points / 2;
        if s % 10 == 3 && i >= half {
            return rate * ((i - half) as i64 * self.step_s) as f64;
        }
        base + rate * (i as i64 * self.step_s) as f64
    }

    fn labels(&self, s: usize) -> Vec<(&'static str, String)> {
        let def = self.schema;
        let mut labels = vec![("job", "pgss".to_string()), (def.database_label, Self::database(s)), ("queryid", Self::queryid(s))];
        labels.push(("instance", format!("pg{}:9187", s % self.instances)));
        if def.instance_label != "instance" {
            labels.push((def.instance_label, format!("pg{}", s % self.instances)));
        }
        if let Some(cluster) = def.cluster_label {
            labels.push((cluster, format!("cluster{}", s % self.instances % 3)));
        }
        if let Some(user) = def.user_label {
            labels.push((user, if s % 3 == 0 { "batch" } else { "app" }.to_string()));
        }
        if let Some(text) = def.text_label {
            labels.push((text, format!("SELECT * FROM t{} WHERE id = $1", s % 1000)));
        }
        labels
    }

    /// The info metric of the schema and its labels for `s`, if it names `s`.
    fn info(&self, s: usize) -> Option<(&'static str, Vec<(&'static str, String)>)> {
        if s % 10 == 9 {
            return None;
        }
        let displayname = format!("stmt {s} on t{}", s % 1000);
        let query = format!("SELECT c{s} FROM t{} WHERE id = $1", s % 1000);
        match self.schema.id {
            "postgres_ai" => Some(("pgwatch_query_info", vec![("queryid", Self::queryid(s)), ("displayname", displayname), ("displayname_full", query)])),
            _ => Some(("pgss_query_info", vec![(self.schema.database_label, Self::database(s)), ("queryid", Self::queryid(s)), ("displayname", displayname), ("query", query)])),
        }
    }

    /// Every series as VictoriaMetrics' `/api/v1/import` JSON lines.
    pub fn write_vm_json(&self, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
        let json_labels = |name: &str, labels: &[(&str, String)]| {
            let mut text = format!("{{\"__name__\":\"{name}\"");
            for (k, v) in labels {
                text.push_str(&format!(",\"{k}\":{}", serde_json::Value::from(v.as_str())));
            }
            text.push('}');
            text
        };
        let mut line = String::new();
        for s in 0..self.statements {
            let labels = self.labels(s);
            let span = self.span(s);
            let times = span.clone().map(|i| (self.time_s(i) * 1000).to_string()).collect::<Vec<_>>().join(",");
            for source in self.schema.sources {
                line.clear();
                let values = span.clone().map(|i| format!("{}", self.value(s, source, i))).collect::<Vec<_>>().join(",");
                line.push_str(&format!("{{\"metric\":{},\"values\":[{values}],\"timestamps\":[{times}]}}\n", json_labels(source.metric, &labels)));
                out.write_all(line.as_bytes())?;
            }
            if let Some((name, labels)) = self.info(s) {
                let ones = span.clone().map(|_| "1").collect::<Vec<_>>().join(",");
                out.write_all(format!("{{\"metric\":{},\"values\":[{ones}],\"timestamps\":[{times}]}}\n", json_labels(name, &labels)).as_bytes())?;
            }
        }
        Ok(())
    }

    /// Every series as OpenMetrics (families grouped, timestamps in seconds, `# EOF`).
    pub fn write_openmetrics(&self, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
        let text_labels = |labels: &[(&str, String)]| labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect::<Vec<_>>().join(",");
        for source in self.schema.sources {
            writeln!(out, "# TYPE {} gauge", source.metric)?;
            for s in 0..self.statements {
                let labels = text_labels(&self.labels(s));
                for i in self.span(s) {
                    writeln!(out, "{}{{{labels}}} {} {}", source.metric, self.value(s, source, i), self.time_s(i))?;
                }
            }
        }
        let info_name = if self.schema.id == "postgres_ai" { "pgwatch_query_info" } else { "pgss_query_info" };
        writeln!(out, "# TYPE {info_name} gauge")?;
        for s in 0..self.statements {
            let Some((name, labels)) = self.info(s) else { continue };
            let labels = text_labels(&labels);
            for i in self.span(s) {
                writeln!(out, "{name}{{{labels}}} 1 {}", self.time_s(i))?;
            }
        }
        writeln!(out, "# EOF")
    }

    /// Streams the fleet into a VictoriaMetrics at `addr` (`/api/v1/import`, chunked), flushes
    /// it and waits until every series is queryable.
    pub fn import_vm(&self, addr: &str) {
        let mut stream = TcpStream::connect(addr).expect("VictoriaMetrics is listening");
        write!(stream, "POST /api/v1/import HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").unwrap();
        {
            let mut body = BufWriter::with_capacity(1 << 20, Chunked(&mut stream));
            self.write_vm_json(&mut body).unwrap();
            body.flush().unwrap();
        }
        stream.write_all(b"0\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 204") || response.starts_with("HTTP/1.1 200"), "import failed: {response}");
        get(addr, "/internal/force_flush");
        // Counted on the calls metric (one series a statement): VictoriaMetrics refuses a query
        // over more than 300,000 series (-search.maxUniqueTimeseries), as a fleet's all are.
        let want = format!("\"{}\"", self.statements);
        let path = format!("/api/v1/query?query=count(last_over_time({}%5B1d%5D))", self.schema.sources[0].metric);
        let started = Instant::now();
        loop {
            if get(addr, &path).contains(&want) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(600), "the fleet's {} statements never became queryable", self.statements);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A GET's whole answer (head and body), empty when the server cannot be reached.
fn get(addr: &str, path: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(addr) else { return String::new() };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// HTTP/1.1 chunked transfer coding over a stream: each write one chunk.
struct Chunked<'a>(&'a mut TcpStream);

impl Write for Chunked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        write!(self.0, "{:x}\r\n", buf.len())?;
        self.0.write_all(buf)?;
        self.0.write_all(b"\r\n")?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A TCP proxy on 127.0.0.1 to `upstream` that counts the bytes `upstream` sends back: what a
/// client of it read from the TSDB. Stops accepting when dropped.
pub struct CountingProxy {
    pub addr: String,
    received: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CountingProxy {
    pub fn start(upstream: &str) -> CountingProxy {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let received = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counted, stopped, upstream) = (received.clone(), stop.clone(), upstream.to_string());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(&upstream) else { continue };
                let (mut client_in, mut server_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = io::copy(&mut client_in, &mut server_out);
                    let _ = server_out.shutdown(std::net::Shutdown::Write);
                });
                let counted = counted.clone();
                std::thread::spawn(move || {
                    let (mut server, mut client) = (server, client);
                    let mut buf = vec![0u8; 1 << 16];
                    while let Ok(n) = server.read(&mut buf) {
                        if n == 0 || client.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        counted.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    let _ = client.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        CountingProxy { addr, received, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bytes received from upstream so far (heads and bodies).
    pub fn received(&self) -> u64 {
        self.received.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

