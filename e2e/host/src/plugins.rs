//! Finds plugins under a plugins directory the way Grafana does: every `plugin.json` below it,
//! nested plugins included (an app's `datasource/` and `panel/`). Not for: running them.

use std::path::{Path, PathBuf};

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Plugin {
    pub id: String,
    pub plugin_type: String,
    pub dir: PathBuf,
    /// plugin.json as read.
    pub json: Value,
}

impl Plugin {
    /// `<dir>/<executable>_<os>_<arch>`, as pkg/plugins/plugins.go `ExecutablePath()` builds it.
    pub fn executable(&self) -> Option<PathBuf> {
        if self.json["backend"] != true {
            return None;
        }
        let name = self.json["executable"].as_str()?;
        let os = std::env::consts::OS;
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        Some(self.dir.join(format!("{name}_{os}_{arch}")))
    }

    /// The URL path of module.js, as Grafana announces it in the boot data.
    pub fn module(&self) -> String {
        format!("public/plugins/{}/module.js", self.id)
    }
}

/// Every plugin below `root`, sorted by id.
pub fn discover(root: &Path) -> Result<Vec<Plugin>, String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "plugin.json") {
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let json: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
                found.push(Plugin {
                    id: json["id"].as_str().unwrap_or_default().to_string(),
                    plugin_type: json["type"].as_str().unwrap_or_default().to_string(),
                    dir: dir.clone(),
                    json,
                });
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}
