#!/usr/bin/env bash
# Installs what pgscope's build and tests need on a fresh Debian machine, skipping what is
# already there: Debian packages, the wasm32 Rust target, the wasm-bindgen CLI matching
# Cargo.lock, and the npm packages (npm ci). Safe to run again; prints what it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: zip/unzip/file for packaging checks; openssl for the TLS test; the e2e stack (PostgreSQL 15 with
# pg_stat_statements and pgbench; pg_stat_kcache, pg_wait_sampling, pg_qualstats and hypopg for
# CPU/I/O, wait events and index advice (issue 21), postgres_exporter, node-exporter, VictoriaMetrics, Prometheus,
# curl; Patroni with etcd for the Patroni checks); chromium for the browser specs (playwright-core drives it: browser downloads do not
# work here); nodejs/npm for the JS builds (present on these machines, listed for fresh ones); binaryen for
# wasm-opt, which shrinks the panel's wasm (Makefile, wasm); musl-tools and gcc-aarch64-linux-gnu
# (with its binutils) build the static plugin binaries for linux amd64 and arm64, and qemu-user
# runs the arm64 one in check-dist (the go-plugin handshake).
APT_PACKAGES=(zip unzip file curl openssl postgresql-15 prometheus-postgres-exporter prometheus-node-exporter
  postgresql-15-pg-stat-kcache postgresql-15-pg-wait-sampling postgresql-15-pg-qualstats postgresql-15-hypopg
  victoria-metrics prometheus patroni etcd-server chromium nodejs npm binaryen
  musl-tools gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# nodejs/npm may come from elsewhere (e.g. NodeSource or a preinstalled toolchain).
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]:-}"
if ((${#missing[@]})); then
  echo "setup: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q -o DPkg::Lock::Timeout=300 >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
fi

for target in wasm32-unknown-unknown x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  if ! rustup target list --installed | grep -qx "$target"; then
    echo "setup: rustup target add $target"
    rustup target add "$target"
  fi
done

# The wasm-bindgen CLI must equal the wasm-bindgen crate version in Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$want" != "$have" ]; then
  echo "setup: cargo install wasm-bindgen-cli --version $want (was: ${have:-none}; takes ~6 min on 2 cores)"
  cargo install wasm-bindgen-cli --version "$want"
fi

# npm ci when node_modules was not installed from this exact package-lock.json.
if ! cmp -s package-lock.json node_modules/.pgscope-installed-lock 2>/dev/null; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.pgscope-installed-lock
fi
