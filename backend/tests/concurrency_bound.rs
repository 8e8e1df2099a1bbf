//! `maxConcurrentRequests`: at most that many requests to the TSDB are in flight per datasource;
//! the rest wait their turn. A TSDB stand-in that answers slowly counts the requests it serves
//! at once.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pgscope::prom::client::PromClient;
use pgscope::settings::Settings;
use pgscope::telemetry::Telemetry;

/// Serves every connection in its own thread, answering each request after 150 ms; returns the
/// URL and the highest number of requests it held at once.
fn slow_tsdb() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let most_seen = most.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (now, most) = (now.clone(), most.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    // One request: headers, then the form body.
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    std::io::Read::read_exact(&mut reader, &mut body).unwrap();
                    let in_flight = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(in_flight, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(150));
                    now.fetch_sub(1, Ordering::SeqCst);
                    let answer = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", answer.len());
                    if stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(answer.as_bytes())).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, most_seen)
}

async fn most_in_flight(bound: Option<usize>, queries: usize) -> usize {
    let (url, most) = slow_tsdb();
    let json = match bound {
        Some(n) => format!(r#"{{"maxConcurrentRequests":{n}}}"#),
        None => "{}".into(),
    };
    let client = PromClient::new(Settings::from_instance(Some(&support::instance("bound", &url, &json))).unwrap(), Telemetry::default()).unwrap();
    let answers = futures_util::future::join_all((0..queries).map(|i| {
        let client = client.clone();
        async move { client.query_instant(&format!("up + {i}"), 1.0, None).await }
    }))
    .await;
    assert!(answers.iter().all(|a| a.as_ref().is_ok_and(|a| a.status.is_success())), "every query is answered, in turn");
    most.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_never_exceed_the_bound() {
    assert_eq!(most_in_flight(Some(2), 8).await, 2, "bound 2: two at a time, never more");
    assert_eq!(most_in_flight(Some(1), 4).await, 1);
    // Without the setting the default (10) lets 8 go at once: the bound is what held them back.
    assert_eq!(most_in_flight(None, 8).await, 8);
}
