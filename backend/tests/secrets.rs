//! Credentials reach the TSDB and nothing else: the bearer token and custom headers are sent,
//! and no secret (basic auth password, bearer token, header value, password in the URL) appears
//! in health messages, health details, query errors, resource answers or the plugin's own
//! logs at debug level, whatever goes wrong.

mod support;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use pgscope::pluginv2::{
    self, data_client::DataClient, diagnostics_client::DiagnosticsClient, resource_client::ResourceClient,
};
use support::{FakeServer, PluginProcess};

const SECRETS: [&str; 5] = ["pw-SECRET-1", "tok-SECRET-2", "tenant-SECRET-3", "url-SECRET-4", "pg-SECRET-5"];

fn settings(url: &str, basic_auth: bool) -> pluginv2::DataSourceInstanceSettings {
    let mut secure = HashMap::new();
    secure.insert("basicAuthPassword".to_string(), SECRETS[0].to_string());
    secure.insert("bearerToken".to_string(), SECRETS[1].to_string());
    secure.insert("httpHeaderValue1".to_string(), SECRETS[2].to_string());
    // Nothing listens on port 1: Save & test reports the failed connection, without the password.
    secure.insert("pgssConnection".to_string(), format!("host=127.0.0.1 port=1 user=reader password={}", SECRETS[4]));
    pluginv2::DataSourceInstanceSettings {
        id: 1,
        uid: format!("s-{url}-{basic_auth}"),
        url: url.to_string(),
        basic_auth_enabled: basic_auth,
        basic_auth_user: "grafana".into(),
        json_data: br#"{"httpHeaderName1":"X-Scope-OrgID"}"#.to_vec(),
        decrypted_secure_json_data: secure,
        last_updated_ms: 1,
        ..Default::default()
    }
}

fn context(url: &str, basic_auth: bool) -> pluginv2::PluginContext {
    pluginv2::PluginContext {
        org_id: 1,
        plugin_id: "pgscope-datasource".into(),
        data_source_instance_settings: Some(settings(url, basic_auth)),
        ..Default::default()
    }
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} contains {secret}: {text}");
    }
}

/// Every way the plugin talks back, against a server answering `url`.
async fn everything_the_user_sees(plugin: &PluginProcess, url: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut diagnostics = DiagnosticsClient::connect(plugin.endpoint()).await.unwrap();
    let mut data = DataClient::connect(plugin.endpoint()).await.unwrap();
    let mut resource = ResourceClient::connect(plugin.endpoint()).await.unwrap();
    for basic_auth in [true, false] {
        let health = diagnostics
            .check_health(pluginv2::CheckHealthRequest { plugin_context: Some(context(url, basic_auth)), headers: HashMap::new() })
            .await
            .unwrap()
            .into_inner();
        out.push(format!("{} {}", health.message, String::from_utf8_lossy(&health.json_details)));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        let query = support::data_query("A", r#"{"expr":"up"}"#, now - 60_000, now);
        let responses = data
            .query_data(pluginv2::QueryDataRequest { plugin_context: Some(context(url, basic_auth)), headers: HashMap::new(), queries: vec![query] })
            .await
            .unwrap()
            .into_inner()
            .responses;
        out.push(responses["A"].error.clone());
        let mut stream = resource
            .call_resource(pluginv2::CallResourceRequest {
                plugin_context: Some(context(url, basic_auth)),
                path: "labels".into(),
                method: "GET".into(),
                url: "labels".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let first = stream.message().await.unwrap().unwrap();
        out.push(String::from_utf8_lossy(&first.body).into_owned());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_sent_and_never_shown() {
    let plugin = PluginProcess::start_with_log_level("debug");

    // What reaches the TSDB: the bearer token (it overrides basic auth) and the tenant header.
    let tsdb = FakeServer::start("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 43\r\nConnection: close\r\n\r\n{\"status\":\"success\",\"data\":[\"job\",\"x\"]}   ");
    let shown = everything_the_user_sees(&plugin, &tsdb.url()).await;
    let requests = tsdb.requests().join("\n").to_ascii_lowercase();
    assert!(requests.contains(&format!("authorization: bearer {}", SECRETS[1].to_ascii_lowercase())), "{requests}");
    assert!(requests.contains(&format!("x-scope-orgid: {}", SECRETS[2].to_ascii_lowercase())), "{requests}");
    for text in &shown {
        assert_no_secret("an answer", text);
    }

    // Whatever goes wrong, the messages carry no secret.
    let unauthorized = FakeServer::start("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let html = FakeServer::start("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 25\r\nConnection: close\r\n\r\n<html>tok-SECRET-2</html>");
    let closed = format!("http://127.0.0.1:{}", support::free_port());
    let with_password_in_url = format!("http://admin:{}@{}", SECRETS[3], unauthorized.addr);
    for url in [unauthorized.url(), closed, with_password_in_url] {
        for text in everything_the_user_sees(&plugin, &url).await {
            assert!(!text.is_empty());
            assert_no_secret(&format!("an answer for {url}"), &text);
        }
    }
    // Pages that echo the token: their excerpts must not show it either.
    let echo = FakeServer::start("HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 31\r\nConnection: close\r\n\r\nproxy said: bearer tok-SECRET-2");
    for server in [&html, &echo] {
        let texts = everything_the_user_sees(&plugin, &server.url()).await;
        assert!(texts.iter().any(|t| t.contains("not Prometheus API JSON")), "{texts:?}");
        for text in texts {
            assert_no_secret("an answer quoting the server's page", &text);
        }
    }
    // A title and a JSON error quoting secrets (the basic-auth header's base64 too), as proxies
    // and TSDBs do; with basic auth on or off (Grafana sends every secret decrypted).
    let basic = pgscope::redact::base64(format!("grafana:{}", SECRETS[0]).as_bytes());
    let title_page = format!("<html><head><title>denied: {} / Basic {basic}</title></head></html>", SECRETS[2]);
    let title = FakeServer::start_bytes(http_answer("403 Forbidden", "text/html", &title_page).into_bytes());
    let title_ok = FakeServer::start_bytes(http_answer("200 OK", "text/html", &title_page).into_bytes());
    let json_error = format!(r#"{{"status":"error","errorType":"bad_data","error":"token {} and tok-SECRET-2 rejected, header {}"}}"#, SECRETS[1], SECRETS[2]);
    let json_error = FakeServer::start_bytes(http_answer("400 Bad Request", "application/json", &json_error).into_bytes());
    for server in [&title, &title_ok, &json_error] {
        let texts = everything_the_user_sees(&plugin, &server.url()).await;
        for text in texts {
            assert_no_secret(&format!("an answer from {}", server.url()), &text);
            assert!(!text.contains(&basic), "{text}");
        }
    }
    // A redirect to another server: not followed, so the credentials never reach it.
    let elsewhere = FakeServer::start("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 43\r\nConnection: close\r\n\r\n{\"status\":\"success\",\"data\":[\"job\",\"x\"]}   ");
    let redirect = format!("HTTP/1.1 302 Found\r\nLocation: http://admin:{}@{}/api/v1/query\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", SECRETS[3], elsewhere.addr);
    let redirecting = FakeServer::start_bytes(redirect.into_bytes());
    let texts = everything_the_user_sees(&plugin, &redirecting.url()).await;
    assert!(texts.iter().any(|t| t.contains("redirected to another server")), "{texts:?}");
    for text in texts {
        assert_no_secret("an answer about a redirect", &text);
    }
    assert!(elsewhere.requests().is_empty(), "the redirect was followed: {:?}", elsewhere.requests());

    let logs = plugin.logs.lock().unwrap().join("\n");
    assert!(logs.contains("DEBUG") || logs.contains("\"@level\":\"debug\""), "the plugin logged at debug level");
    assert_no_secret("the plugin's logs", &logs);
}

fn http_answer(status: &str, content_type: &str, body: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}
