//! docker-compose.yaml cannot run on our CI machines (no Docker engine); this checks what can
//! be checked without it: every long-running service restarts unless stopped and has a memory
//! limit, images are pinned, only loopback ports are published, and the files it mounts exist.

use std::path::Path;

use serde_yaml::Value;

fn compose() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docker-compose.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_service_restarts_has_a_memory_limit_and_a_pinned_image() {
    let compose = compose();
    let services = compose["services"].as_mapping().unwrap();
    for wanted in ["grafana", "victoriametrics", "postgres", "postgres-exporter", "info-exporter", "node-exporter", "cadvisor"] {
        assert!(services.contains_key(wanted), "service {wanted} is missing");
    }
    for (name, service) in services {
        let name = name.as_str().unwrap();
        assert_eq!(service["restart"].as_str(), Some("unless-stopped"), "{name}: restart");
        let limit = service["mem_limit"].as_str().or_else(|| service["deploy"]["resources"]["limits"]["memory"].as_str());
        assert!(limit.is_some_and(|l| l.ends_with('m') || l.ends_with('g')), "{name}: memory limit");
        let image = service["image"].as_str().unwrap();
        let tag = image.rsplit_once(':').map(|(_, tag)| tag).unwrap_or("");
        assert!(!tag.is_empty() && tag != "latest" && !tag.contains('/'), "{name}: image {image} is not pinned");
        for port in service["ports"].as_sequence().into_iter().flatten() {
            assert!(port.as_str().unwrap().starts_with("127.0.0.1:"), "{name}: port {port:?} is not loopback-only");
        }
    }
}

#[test]
fn grafana_loads_the_unsigned_plugins_and_the_provisioning() {
    let compose = compose();
    let grafana = &compose["services"]["grafana"];
    assert_eq!(
        grafana["environment"]["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"].as_str(),
        Some("pgscope-app,pgscope-datasource,pgscope-panel")
    );
    assert!(grafana["environment"]["PGSCOPE_TSDB_URL"].as_str().is_some());
    let volumes: Vec<&str> = grafana["volumes"].as_sequence().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(volumes.contains(&"./dist/pgscope-app:/var/lib/grafana/plugins/pgscope-app:ro"), "{volumes:?}");
    assert!(volumes.contains(&"./provisioning:/etc/grafana/provisioning:ro"), "{volumes:?}");
}

#[test]
fn mounted_files_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let compose = compose();
    for (name, service) in compose["services"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            let source = volume.as_str().unwrap().split(':').next().unwrap();
            if let Some(relative) = source.strip_prefix("./") {
                if relative.starts_with("dist/") {
                    continue; // built by `make dist`
                }
                assert!(root.join(relative).exists(), "{name}: {source} does not exist");
            }
        }
    }
}
