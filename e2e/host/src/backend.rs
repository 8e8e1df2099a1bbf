//! Runs a backend plugin as Grafana does (pkg/plugins/backendplugin/grpcplugin): the executable
//! with no arguments and go-plugin's environment plus Grafana's own variables, the handshake line
//! `1|2|tcp|127.0.0.1:PORT|grpc` read from stdout (core protocol 1, app protocol 2), stderr
//! (hclog JSON) passed through, gRPC over that address, the process started again when it exits
//! (as Grafana's process manager does) and killed when the host stops. Not for: HTTP (see `api`).

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pgscope::pluginv2::{
    data_client::DataClient, diagnostics_client::DiagnosticsClient, resource_client::ResourceClient,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::Channel;

pub const GRAFANA_VERSION: &str = "12.3.0";

/// The largest gRPC message the host accepts from a plugin.
pub const MAX_MESSAGE_BYTES: usize = 1 << 30;

/// A plugin's gRPC clients (cheap to clone: they share one channel).
#[derive(Clone)]
pub struct Clients {
    pub data: DataClient<Channel>,
    pub diagnostics: DiagnosticsClient<Channel>,
    pub resource: ResourceClient<Channel>,
}

pub struct Backend {
    pub plugin_id: String,
    /// The clients of the process serving now: replaced when a killed plugin is restarted.
    clients: std::sync::RwLock<Clients>,
    /// How many times the process was restarted after it exited.
    restarts: AtomicU64,
    /// The serving process's id (0 for a plugin the host did not start).
    pid: AtomicU32,
}

impl Backend {
    fn new(plugin_id: &str, clients: Clients) -> Backend {
        Backend { plugin_id: plugin_id.to_string(), clients: std::sync::RwLock::new(clients), restarts: AtomicU64::new(0), pid: AtomicU32::new(0) }
    }

    /// The clients of the process serving now.
    pub fn clients(&self) -> Clients {
        self.clients.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::Relaxed)
    }
}

/// Grafana's process manager looks for exited plugins once a second and starts them again
/// (pkg/plugins/backendplugin/grpcplugin, restartKilledProcess); requests in flight when the
/// process dies fail, the next ones reach the new process.
const RESTART_CHECK: Duration = Duration::from_secs(1);

/// Starts `executable` and connects to it; a process that exits is started again, as Grafana
/// does. The process dies with the host (its supervisor task owns it, `kill_on_drop`).
pub async fn start(plugin_id: &str, plugin_version: &str, executable: &Path) -> Result<Arc<Backend>, String> {
    let (child, clients) = spawn(plugin_id, plugin_version, executable).await?;
    let backend = Arc::new(Backend::new(plugin_id, clients));
    backend.pid.store(child.id().unwrap_or(0), Ordering::Relaxed);
    let supervised = Arc::downgrade(&backend);
    let (plugin_id, plugin_version, executable) = (plugin_id.to_string(), plugin_version.to_string(), executable.to_path_buf());
    tokio::spawn(async move {
        let mut child = child;
        loop {
            let status = child.wait().await;
            let Some(backend) = supervised.upgrade() else { return };
            eprintln!("pgscope-host: plugin {plugin_id} exited ({status:?}); restarting it as Grafana does");
            loop {
                tokio::time::sleep(RESTART_CHECK).await;
                match spawn(&plugin_id, &plugin_version, &executable).await {
                    Ok((next, clients)) => {
                        *backend.clients.write().unwrap_or_else(|p| p.into_inner()) = clients;
                        backend.pid.store(next.id().unwrap_or(0), Ordering::Relaxed);
                        backend.restarts.fetch_add(1, Ordering::Relaxed);
                        eprintln!("pgscope-host: plugin {plugin_id} restarted");
                        child = next;
                        break;
                    }
                    Err(e) => eprintln!("pgscope-host: restarting plugin {plugin_id}: {e}"),
                }
            }
        }
    });
    Ok(backend)
}

/// Starts the process, reads its handshake and connects.
async fn spawn(plugin_id: &str, plugin_version: &str, executable: &Path) -> Result<(Child, Clients), String> {
    let mut command = Command::new(executable);
    command
        .env("grafana_plugin_type", "datasource")
        .env("PLUGIN_PROTOCOL_VERSIONS", "2")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("GF_VERSION", GRAFANA_VERSION)
        .env("GF_EDITION", "Open Source")
        .env("GF_PLUGIN_VERSION", plugin_version)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| format!("cannot start {}: {e}", executable.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let id = plugin_id.to_string();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("plugin {id}: {line}");
        }
    });
    let mut stdout_lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), stdout_lines.next_line())
        .await
        .map_err(|_| format!("{plugin_id}: no handshake line within 20 s"))?
        .map_err(|e| format!("{plugin_id}: reading the handshake: {e}"))?
        .ok_or_else(|| format!("{plugin_id}: exited before the handshake"))?;
    let address = parse_handshake(&line).map_err(|e| format!("{plugin_id}: {e}"))?;
    Ok((child, clients(plugin_id, &address).await?))
}

/// Connects to a plugin already serving pluginv2 gRPC at `address` (host:port): what `start`
/// does after the handshake; the host's tests also use it for in-process fake plugins (not
/// restarted: the host did not start them).
pub async fn connect(plugin_id: &str, address: &str) -> Result<Arc<Backend>, String> {
    Ok(Arc::new(Backend::new(plugin_id, clients(plugin_id, address).await?)))
}

async fn clients(plugin_id: &str, address: &str) -> Result<Clients, String> {
    // Flow control like grpc-go's (BDP-based) rather than fixed 64 KiB windows.
    let channel = Channel::from_shared(format!("http://{address}"))
        .map_err(|e| e.to_string())?
        .http2_adaptive_window(true)
        .connect()
        .await
        .map_err(|e| format!("{plugin_id}: gRPC connect to {address}: {e}"))?;
    // tonic's default 4 MiB limit would refuse the frames of a large answer; Grafana's host
    // accepts messages far larger.
    Ok(Clients {
        data: DataClient::new(channel.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES),
        diagnostics: DiagnosticsClient::new(channel.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES),
        resource: ResourceClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES),
    })
}

/// Checks the go-plugin handshake line and returns the gRPC address.
pub fn parse_handshake(line: &str) -> Result<String, String> {
    let parts: Vec<&str> = line.trim().split('|').collect();
    match parts.as_slice() {
        ["1", protocol, "tcp", address, "grpc"] => {
            if protocol.parse::<u32>().map_or(true, |v| v < 2) {
                return Err("plugin protocol version not supported".into());
            }
            Ok(address.to_string())
        }
        _ => Err(format!("unexpected handshake line {line:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_lines() {
        assert_eq!(parse_handshake("1|2|tcp|127.0.0.1:41234|grpc\n").unwrap(), "127.0.0.1:41234");
        assert!(parse_handshake("1|1|tcp|127.0.0.1:1|grpc").unwrap_err().contains("not supported"));
        assert!(parse_handshake("1|2|tcp|127.0.0.1:1|netrpc").is_err());
        assert!(parse_handshake("hello").is_err());
    }
}
