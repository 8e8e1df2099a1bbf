#!/usr/bin/env python3
"""The stack's query-info exporter: serves `pgss_query_info{datname,queryid,displayname} 1` for
every statement in pg_stat_statements, with a readable name (the normalised text, whitespace
collapsed, cut at 80 characters). It plays the small, separate exporter whose death blanks the
pgss panels: tests stop and restart it. Reads PostgreSQL through psql (no Python driver needed).

While the file given by --collapse-flag exists, it serves only its first two series: the
"scrape returns 54 samples instead of 117,000" symptom of an exporter whose cache a concurrent
scrape emptied (shared/notes/pgss-metrics.md), for the stack-health tests.

Usage: info_exporter.py --listen 127.0.0.1:19188 --pg-host DIR_OR_HOST --pg-port 55432 [--collapse-flag FILE]
"""
import os
import argparse
import http.server
import re
import subprocess

QUERY = (
    "SELECT DISTINCT ON (d.datname, s.queryid) d.datname, s.queryid::text, s.query "
    "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
    "WHERE s.queryid IS NOT NULL ORDER BY d.datname, s.queryid"
)


def label(value):
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def display_name(text):
    name = re.sub(r"\s+", " ", text).strip()
    return name if len(name) <= 80 else name[:79] + "…"


def scrape(args):
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-F", "\x1f", "-R", "\x1e", "-h", args.pg_host, "-p", str(args.pg_port),
         "-U", "postgres", "-d", "postgres", "-c", QUERY],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout
    lines = [
        "# HELP pgss_query_info Readable names of pg_stat_statements entries.",
        "# TYPE pgss_query_info gauge",
    ]
    records = out.split("\x1e")
    if args.collapse_flag and os.path.exists(args.collapse_flag):
        records = records[:2]
    for record in records:
        parts = record.strip("\n").split("\x1f")
        if len(parts) != 3:
            continue
        datname, queryid, query = parts
        lines.append(
            f'pgss_query_info{{datname="{label(datname)}",queryid="{label(queryid)}",'
            f'displayname="{label(display_name(query))}"}} 1'
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--pg-host", required=True)
    parser.add_argument("--pg-port", type=int, required=True)
    parser.add_argument("--collapse-flag")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            try:
                body, status = scrape(args).encode(), 200
            except (subprocess.SubprocessError, OSError) as error:
                body, status = f"scrape failed: {error}\n".encode(), 500
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    http.server.ThreadingHTTPServer((host, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
