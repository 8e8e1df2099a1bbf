//! The stand-in page's pure modules (web/src/panelRequest.js: the request a panel's data carries
//! and the requests sent for it), tested under node by web/test/, run from here so that
//! `cargo test -p pgscope-e2e-host` covers them. node is on PATH wherever the e2e runs.

use std::path::Path;
use std::process::Command;

#[test]
fn the_web_modules_pass_their_node_tests() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/test");
    let out = Command::new("node").arg("--test").arg(&tests).output().expect("node on PATH");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "node --test {}:\n{text}", tests.display());
    assert!(text.contains("# fail 0") && !text.contains("# pass 0"), "{text}");
}
