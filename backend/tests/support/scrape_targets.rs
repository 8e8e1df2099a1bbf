//! Scrape targets at fleet scale (issue 19): `targets` targets in 20 jobs with an hour of `up`
//! and `scrape_*` series (imported into VictoriaMetrics) and the `/api/v1/targets` answer that
//! goes with them, served by `TargetsApi`: a proxy on 127.0.0.1 in front of the TSDB that answers
//! the targets API itself (a VictoriaMetrics without `-promscrape.config` lists no target) and
//! counts every request and the bytes of every answer, so a test can say how many requests one
//! Save & test makes and how much it reads.
//!
//! Target `t` (job `job{t % 20}`, instance `host{t}:9100`):
//! - `t % 97 == 0`: down for the last quarter of the history (`connection refused`);
//! - `t % 89 == 0`: its last scrape returned a fifth of its samples (a collapse);
//! - `t % 83 == 0`: scrapes take 9.5 s of their 10 s timeout;
//! - every other target is up, 500 to 799 samples, scraped in 10 to 89 ms.

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy)]
pub struct ScrapeTargets {
    pub targets: usize,
    pub points: usize,
    pub step_s: i64,
    pub end_s: i64,
}

impl ScrapeTargets {
    /// An hour of history, 15 s apart, ending at `end_s`.
    pub fn new(targets: usize, end_s: i64) -> ScrapeTargets {
        ScrapeTargets { targets, points: 241, step_s: 15, end_s }
    }

    pub fn job(t: usize) -> String {
        format!("job{}", t % 20)
    }

    pub fn instance(t: usize) -> String {
        format!("host{t}:9100")
    }

    pub fn is_down(t: usize) -> bool {
        t.is_multiple_of(97)
    }

    pub fn is_collapsed(t: usize) -> bool {
        t.is_multiple_of(89) && !Self::is_down(t)
    }

    pub fn is_slow(t: usize) -> bool {
        t.is_multiple_of(83) && !Self::is_down(t)
    }

    /// Targets up now.
    pub fn up_now(&self) -> usize {
        (0..self.targets).filter(|t| !Self::is_down(*t)).count()
    }

    /// Series in the TSDB: five per target.
    pub fn series(&self) -> usize {
        self.targets * 5
    }

    fn samples(t: usize) -> f64 {
        (500 + t % 300) as f64
    }

    fn duration(t: usize) -> f64 {
        if Self::is_slow(t) { 9.5 } else { (10 + t % 80) as f64 / 1000.0 }
    }

    /// Target `t` at point `i`: (up, samples scraped).
    fn point(&self, t: usize, i: usize) -> (f64, f64) {
        let last = self.points - 1;
        if Self::is_down(t) && i >= last - last / 4 {
            return (0.0, 0.0);
        }
        if Self::is_collapsed(t) && i == last {
            return (1.0, (Self::samples(t) / 5.0).round());
        }
        (1.0, Self::samples(t))
    }

    /// Every series in Prometheus' text format with millisecond timestamps, for VictoriaMetrics'
    /// `/api/v1/import/prometheus`; targets `from..to` only (imported in slices).
    pub fn write_prometheus_text(&self, from: usize, to: usize, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
        for t in from..to.min(self.targets) {
            let labels = format!("job=\"{}\",instance=\"{}\"", Self::job(t), Self::instance(t));
            for i in 0..self.points {
                let ms = (self.end_s - (self.points - 1 - i) as i64 * self.step_s) * 1000;
                let (up, samples) = self.point(t, i);
                let duration = Self::duration(t);
                writeln!(out, "up{{{labels}}} {up} {ms}")?;
                writeln!(out, "scrape_samples_scraped{{{labels}}} {samples} {ms}")?;
                writeln!(out, "scrape_duration_seconds{{{labels}}} {duration} {ms}")?;
                writeln!(out, "scrape_timeout_seconds{{{labels}}} 10 {ms}")?;
                writeln!(out, "scrape_series_added{{{labels}}} {} {ms}", if i == 0 { samples } else { 0.0 })?;
            }
        }
        Ok(())
    }

    /// Imports every series into the VictoriaMetrics at `addr` and waits until `up` of each
    /// target is queryable at the end.
    pub fn import_vm(&self, addr: &str) {
        for from in (0..self.targets).step_by(100) {
            let mut body = Vec::new();
            self.write_prometheus_text(from, from + 100, &mut body).unwrap();
            let (status, answer) = crate::support::http("POST", addr, "/api/v1/import/prometheus", &body).unwrap();
            assert!(status == 204 || status == 200, "import failed: {status} {answer}");
        }
        let _ = crate::support::http("GET", addr, "/internal/force_flush", b"");
        let want = self.targets as f64;
        crate::support::wait_for("the scrape targets' series", Duration::from_secs(120), || {
            matches!(crate::support::instant(addr, "count(up)", self.end_s as f64), Ok(v) if v.first().map(|s| s.1) == Some(want))
        });
    }

    /// `/api/v1/targets?state=active` as Prometheus words it for these targets.
    pub fn targets_api(&self) -> String {
        let active: Vec<serde_json::Value> = (0..self.targets)
            .map(|t| {
                let (job, instance) = (Self::job(t), Self::instance(t));
                let down = Self::is_down(t);
                serde_json::json!({
                    "discoveredLabels": {"__address__": instance, "__metrics_path__": "/metrics", "__scheme__": "http", "__scrape_interval__": "15s", "__scrape_timeout__": "10s", "job": job},
                    "labels": {"instance": instance, "job": job},
                    "scrapePool": job,
                    "scrapeUrl": format!("http://{instance}/metrics"),
                    "globalUrl": format!("http://{instance}/metrics"),
                    "lastError": if down { format!("Get \"http://{instance}/metrics\": dial tcp: connect: connection refused") } else { String::new() },
                    "lastScrape": "2026-11-28T22:00:00.000Z",
                    "lastScrapeDuration": Self::duration(t),
                    "health": if down { "down" } else { "up" },
                    "scrapeInterval": "15s",
                    "scrapeTimeout": "10s",
                })
            })
            .collect();
        serde_json::json!({"status": "success", "data": {"activeTargets": active, "droppedTargets": []}}).to_string()
    }
}

/// An HTTP/1.1 proxy on 127.0.0.1 to a TSDB that answers `/api/v1/targets` itself with `targets`
/// and passes every other request on; counts requests and answer bytes (bodies). Stops accepting
/// when dropped.
pub struct TargetsApi {
    pub addr: String,
    requests: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl TargetsApi {
    pub fn start(upstream: &str, targets: String) -> TargetsApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (requests, bytes, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let shared = (requests.clone(), bytes.clone(), stop.clone(), upstream.to_string(), Arc::new(targets));
        std::thread::spawn(move || {
            let (requests, bytes, stop, upstream, targets) = shared;
            while !stop.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                let (requests, bytes, upstream, targets) = (requests.clone(), bytes.clone(), upstream.clone(), targets.clone());
                std::thread::spawn(move || {
                    let _ = client.set_nonblocking(false);
                    let _ = serve(client, &upstream, &targets, &requests, &bytes);
                });
            }
        });
        TargetsApi { addr, requests, bytes, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests served so far (the targets API's included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Bytes of the answers' bodies so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl Drop for TargetsApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One client connection: requests in turn (keep-alive), each answered whole.
fn serve(client: TcpStream, upstream: &str, targets: &str, requests: &AtomicU64, bytes: &AtomicU64) -> io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut writer = client;
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            head.push(line.trim_end().to_string());
        }
        let Some(request_line) = head.first().cloned() else { return Ok(()) };
        let length = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        requests.fetch_add(1, Ordering::Relaxed);
        let path = request_line.split(' ').nth(1).unwrap_or("/");
        let (status, content_type, answer) = if path.starts_with("/api/v1/targets") {
            ("200 OK".to_string(), "application/json".to_string(), targets.as_bytes().to_vec())
        } else {
            forward(upstream, &head, &body)?
        };
        bytes.fetch_add(answer.len() as u64, Ordering::Relaxed);
        write!(writer, "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", answer.len())?;
        writer.write_all(&answer)?;
    }
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The request passed on as HTTP/1.0 (one answer, whole, then the upstream closes):
/// (status, content type, body).
fn forward(upstream: &str, head: &[String], body: &[u8]) -> io::Result<(String, String, Vec<u8>)> {
    let mut stream = TcpStream::connect(upstream)?;
    let mut parts = head[0].splitn(3, ' ');
    let (method, path) = (parts.next().unwrap_or("GET"), parts.next().unwrap_or("/"));
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: {upstream}\r\n")?;
    for name in ["content-type", "content-length"] {
        if let Some(value) = header(head, name) {
            write!(stream, "{name}: {value}\r\n")?;
        }
    }
    stream.write_all(b"\r\n")?;
    stream.write_all(body)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(answer.len());
    let response_head: Vec<String> = String::from_utf8_lossy(&answer[..split]).lines().map(String::from).collect();
    let status = response_head.first().and_then(|l| l.split_once(' ')).map(|(_, s)| s.to_string()).unwrap_or_else(|| "502 Bad Gateway".into());
    let content_type = header(&response_head, "content-type").unwrap_or("application/json").to_string();
    Ok((status, content_type, answer[split..].to_vec()))
}
