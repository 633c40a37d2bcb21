//! `lagoa-bench`: an end-to-end load driver. It starts Lagoa (and every installed peer) on
//! loopback, runs the same scenarios against each in one run, samples each server's RSS and CPU
//! time from /proc, and prints one table with Lagoa/peer ratios.

mod peers;
mod proc_stats;
mod scenarios;

use std::path::PathBuf;

use clap::Parser;

use crate::peers::Target;
use crate::scenarios::{Outcome, Scale};

/// Runs the benchmark scenarios against Lagoa and the installed peers.
#[derive(Parser)]
struct Args {
    /// The lagoa binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/lagoa")]
    lagoa: PathBuf,
    /// The s3s-fs binary; looked up on PATH and in ~/.cargo/bin when not given.
    #[arg(long, env = "LAGOA_BENCH_S3S_FS")]
    s3s_fs: Option<PathBuf>,
    /// Smaller counts for a quick smoke run.
    #[arg(long)]
    quick: bool,
    /// Only these scenarios (comma-separated names); all when empty.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Also run Lagoa with inlining of small objects switched off (to measure what it buys).
    #[arg(long)]
    compare_inline: bool,
    /// Where the data directories go (a real disk, not tmpfs, for honest fsync numbers).
    #[arg(long, env = "LAGOA_BENCH_DIR")]
    dir: Option<PathBuf>,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scale = if args.quick { Scale::quick() } else { Scale::full() };
    let mut targets = vec![Target::lagoa(&args.lagoa)];
    if args.compare_inline {
        targets.push(Target::lagoa_with(
            "lagoa-no-inline",
            &args.lagoa,
            &["--inline-max-bytes", "0"],
        ));
    }
    match peers::find_s3s_fs(args.s3s_fs.as_deref()) {
        Some(bin) => targets.push(Target::s3s_fs(bin)),
        None => eprintln!("peer s3s-fs: not installed (cargo install s3s-fs --version 0.14.1 --locked); skipped"),
    }
    println!("machine: {}", proc_stats::machine());
    let mut rows: Vec<(String, String, Outcome)> = Vec::new();
    // Each scenario gets a fresh server and data directory, so that its peak RSS and CPU time
    // are its own (not the memtables or page cache of the scenario before).
    for scenario in scenarios::all() {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == scenario.name) {
            continue;
        }
        for target in &targets {
            let server = target.start(args.dir.as_deref())?;
            eprintln!("-- {} on {} at {}", scenario.name, target.name, server.endpoint());
            let outcome = (scenario.run)(server.endpoint().to_owned(), server.pid(), scale.clone()).await?;
            eprintln!("   {}", outcome.summary());
            rows.push((target.name.clone(), scenario.name.to_owned(), outcome));
        }
    }
    print!("{}", scenarios::table(&rows));
    Ok(())
}
