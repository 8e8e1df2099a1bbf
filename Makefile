# pgscope: the commands docs, CI and checks share. Each target installs what it needs first
# (scripts/setup.sh skips what is already there).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
APP_DIR := dist/pgscope-app
ZIP := dist/pgscope-app-$(VERSION).zip
# The plugin binaries Grafana loads (gpx_pgscope_linux_<arch>): static musl builds, so one file
# runs on glibc distributions and on Grafana's Alpine image alike; arm64 is cross-built
# (.cargo/config.toml names Debian's aarch64 gcc as its linker).
AMD64_TARGET := x86_64-unknown-linux-musl
ARM64_TARGET := aarch64-unknown-linux-musl
WASM_OUT := target/wasm-bindgen
PGSCOPE_TSDB_URL ?= http://127.0.0.1:8428
export PGSCOPE_TSDB_URL

.PHONY: help setup dist test e2e bench bench-fleet demo backend-static wasm fuzz soak

help:
	@echo "make demo   build the plugin and start the demo stack (see README)"
	@echo "make test   set up and run every test"
	@echo "make dist   build $(APP_DIR)/ and $(ZIP)"
	@echo "make e2e    browser specs against the stand-in host and a real stack"
	@echo "make fuzz   the fuzz targets of make test (backend and panel), 200,000 cases each with a new seed (FUZZ_CASES=, FUZZ_SEED= to set)"
	@echo "make soak   every dashboard query under load with injected faults, 5 min, 8 refreshers (SOAK_SECONDS=, SOAK_REFRESHERS=)"
	@echo "make bench  benchmarks that print figures (rewrite, QueryData, pgssTopQueries, the panel with 1,000 statements, the panel vs Grafana's Table)"
	@echo "make bench-fleet  pgssTopQueries, pgssQuery and Save & test at 10k and 100k statements (~20 min)"

setup:
	@bash scripts/setup.sh

# The plugin binaries for linux amd64 and arm64, statically linked against musl.
backend-static: setup
	cargo build --release --locked -p pgscope-backend --bin gpx_pgscope --target $(AMD64_TARGET)
	cargo build --release --locked -p pgscope-backend --bin gpx_pgscope --target $(ARM64_TARGET)

# wasm-opt (binaryen) shrinks the panel and drops its name section; no inlining, which grows the
# gzipped file by ~10%; --converge repeats its passes while they still shrink the file. It runs
# before wasm-bindgen: Debian's binaryen 108 renumbers the export of wasm-bindgen's externref table
# (the panel then fails with "WebAssembly.Table.set(): Argument 1 is invalid"). wasm-bindgen then
# drops the name section it writes for its own shims and the producers section (~4 KB).
# The panic locations the wasm keeps name crates.io sources by their path in this machine's
# cargo registry: remapped to <crate>-<version>/src/... (~2 KB; only the wasm target's flags).
WASM_OPT_FLAGS := -Oz --converge --always-inline-max-function-size 0 --flexible-inline-max-function-size 0 --one-caller-inline-max-function-size 0
WASM_REMAP := $(foreach dir,$(wildcard $(or $(CARGO_HOME),$(HOME)/.cargo)/registry/src/*/),--remap-path-prefix=$(dir)=)
wasm: setup
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$(WASM_REMAP)" cargo build --locked -p pgscope-panel --target wasm32-unknown-unknown --profile wasm-release
	mkdir -p target/wasm-opt
	wasm-opt $(WASM_OPT_FLAGS) target/wasm32-unknown-unknown/wasm-release/pgscope_panel.wasm -o target/wasm-opt/pgscope_panel.wasm
	wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section --out-dir $(WASM_OUT) target/wasm-opt/pgscope_panel.wasm

dist: backend-static wasm
	rm -rf $(APP_DIR) $(ZIP)
	node scripts/build.mjs $(WASM_OUT) $(APP_DIR)
	install -s -m 0755 target/$(AMD64_TARGET)/release/gpx_pgscope $(APP_DIR)/datasource/gpx_pgscope_linux_amd64
	install -m 0755 target/$(ARM64_TARGET)/release/gpx_pgscope $(APP_DIR)/datasource/gpx_pgscope_linux_arm64
	aarch64-linux-gnu-strip $(APP_DIR)/datasource/gpx_pgscope_linux_arm64
	cd dist && zip -qr $(notdir $(ZIP)) pgscope-app
# Checksums beside the zip: SHA-1 is what the catalog's submission form and validator take (MD5 or SHA-1 only).
	cd dist && sha1sum $(notdir $(ZIP)) >$(notdir $(ZIP)).sha1 && sha256sum $(notdir $(ZIP)) >$(notdir $(ZIP)).sha256
	@echo "dist: $(APP_DIR)/ and $(ZIP)"

test: dist
	cargo test --locked --workspace
	node --test frontend/js/test/
	bash scripts/check-dist.sh $(APP_DIR) $(ZIP)
	bash scripts/check-install.sh $(ZIP)
	bash scripts/check-private-checkout.sh
	bash scripts/e2e.sh

e2e: dist
	bash scripts/e2e.sh

FUZZ_CASES ?= 200000
fuzz: setup
	seed=$${FUZZ_SEED:-$$(date +%s)}; echo "fuzz: seed $$seed, $(FUZZ_CASES) cases per target (PGSCOPE_FUZZ_SEED=$$seed replays)"; \
	PGSCOPE_FUZZ_SEED=$$seed PGSCOPE_FUZZ_CASES=$(FUZZ_CASES) cargo test --locked --release -p pgscope-backend --test fuzz -- --nocapture; \
	PGSCOPE_FUZZ_SEED=$$seed PGSCOPE_FUZZ_CASES=$(FUZZ_CASES) cargo test --locked --release -p pgscope-panel fuzz -- --nocapture

SOAK_SECONDS ?= 300
SOAK_REFRESHERS ?= 8
soak: setup
	PGSCOPE_SOAK_SECONDS=$(SOAK_SECONDS) PGSCOPE_SOAK_REFRESHERS=$(SOAK_REFRESHERS) cargo test --locked --release -p pgscope-backend --test soak -- --nocapture

bench: setup wasm
	cargo bench --locked -p pgscope-backend --bench rewrite --bench datasource --bench pgss
	node frontend/bench/panel.mjs
	node frontend/bench/grafana-table.mjs

# pgss at fleet scale (issue 19): 10k and 100k statements in VictoriaMetrics, 10k in Prometheus;
# ~20 min on 2 cores. PGSCOPE_FLEET_SIZES=, PGSCOPE_FLEET_PROMETHEUS=, PGSCOPE_FLEET_RUNS= to set.
bench-fleet: setup
	cargo bench --locked -p pgscope-backend --bench pgss_fleet

demo: dist
	bash scripts/demo.sh $(APP_DIR)
