//! The `pgscope` command line. For now it only says what it is; `lint`, `fix` and `rewrite`
//! arrive with the fallback engine.

use std::process::ExitCode;

const HELP: &str = "\
pgscope — PostgreSQL query performance in Grafana: the command-line tool

Usage: pgscope [--version | --help]

Options:
  -V, --version   print the version and exit
  -h, --help      print this help and exit

The datasource plugin itself is the gpx_pgscope binary, started by Grafana.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("-h") | Some("--help") | Some("help") => {
            println!("{HELP}");
            ExitCode::SUCCESS
        }
        Some("-V") | Some("--version") => {
            println!("pgscope {}", pgscope::VERSION);
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("pgscope: unknown argument {other:?}\n\n{HELP}");
            ExitCode::from(2)
        }
    }
}
