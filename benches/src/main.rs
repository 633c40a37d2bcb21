//! `lagoa-bench`: the benchmark instrument. In one run on one machine it measures the machine's
//! limits, then runs every scenario against Lagoa and every installed peer (s3s-fs, Garage with
//! and without fsync), alternating the servers and repeating each scenario, and reports the
//! median runs with Lagoa/peer and Lagoa/limit ratios, the targets it is steered by, and
//! (with `--out`) writes it all to a RESULTS.md.

mod attacks;
mod driver;
mod limits;
mod peers;
mod proc_stats;
mod raw_client;
mod report;
mod scenarios;

use std::path::PathBuf;

use clap::Parser;

use crate::peers::Target;
use crate::report::Results;
use crate::scenarios::{Ctx, Headline, LIFECYCLE, LIST, LIST_VERSIONED, LIST_VERSIONS, Scale};

/// Runs the benchmark scenarios against Lagoa and the installed peers.
#[derive(Parser)]
struct Args {
    /// The lagoa binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/lagoa")]
    lagoa: PathBuf,
    /// The s3s-fs binary; else PATH, ~/.cargo/bin or /opt/peers/bin.
    #[arg(long, env = "LAGOA_BENCH_S3S_FS")]
    s3s_fs: Option<PathBuf>,
    /// The garage binary; else PATH, ~/.cargo/bin or /opt/peers/bin.
    #[arg(long, env = "LAGOA_BENCH_GARAGE")]
    garage: Option<PathBuf>,
    /// Smaller counts for a quick smoke run.
    #[arg(long)]
    quick: bool,
    /// Runs of each scenario per server (servers alternate; the median run is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Only these scenarios (comma-separated names); all when empty.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Another lagoa binary (e.g. built from the previous commit) run side by side as
    /// "lagoa-baseline": the before/after of an optimisation, measured in one run.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Also run Lagoa with inlining of small objects switched off (to measure what it buys).
    #[arg(long)]
    compare_inline: bool,
    /// Where the data directories go (a real disk, not tmpfs, for honest fsync numbers).
    #[arg(long, env = "LAGOA_BENCH_DIR")]
    dir: Option<PathBuf>,
    /// Run the peers as they come, without forcing TCP_NODELAY on their connections.
    #[arg(long)]
    peers_as_is: bool,
    /// Length of `soak-mixed` (which runs only when named in `--only`).
    #[arg(long, default_value_t = 30)]
    soak_minutes: u64,
    /// Write the report (machine, command, limits, results, targets) to this Markdown file.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let known = report::scenario_names();
    if let Some(bad) = args.only.iter().find(|o| !known.contains(&o.as_str())) {
        anyhow::bail!("unknown scenario {bad:?}; known: {}", known.join(", "));
    }
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let mut scale = if args.quick { Scale::quick() } else { Scale::full() };
    if !args.quick || args.only.iter().any(|o| o == "soak-mixed") {
        scale.soak = std::time::Duration::from_secs(args.soak_minutes * 60);
    }
    let dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut targets = vec![Target::lagoa(&args.lagoa)];
    if let Some(baseline) = &args.baseline {
        targets.push(Target::lagoa_with("lagoa-baseline", baseline, &[]));
    }
    if args.compare_inline {
        targets.push(Target::lagoa_with(
            "lagoa-no-inline",
            &args.lagoa,
            &["--inline-max-bytes", "0"],
        ));
    }
    let mut missing = Vec::new();
    match peers::find_peer("s3s-fs", args.s3s_fs.as_deref()) {
        Some(bin) => targets.push(Target::s3s_fs(bin)),
        None => missing.push("s3s-fs (cargo install s3s-fs --version 0.14.1 --locked --features binary)"),
    }
    match peers::find_peer("garage", args.garage.as_deref()) {
        Some(bin) => {
            targets.push(Target::garage(bin.clone(), false));
            targets.push(Target::garage(bin, true));
        }
        None => missing.push("garage (cargo install garage --locked)"),
    }
    for m in &missing {
        eprintln!("peer not installed, skipped: {m}");
    }
    let shim_dir = tempfile::tempdir()?;
    let nodelay = if args.peers_as_is {
        "peers ran as they come (no TCP_NODELAY: small responses wait for delayed ACKs)".to_owned()
    } else {
        let shim = peers::build_nodelay_shim(shim_dir.path())?;
        for t in targets.iter_mut().filter(|t| !t.name.starts_with("lagoa")) {
            t.preload = Some(shim.clone());
        }
        "peers ran with TCP_NODELAY forced on their connections (LD_PRELOAD of benches/nodelay/nodelay.c), \
         as Lagoa sets it itself"
            .to_owned()
    };
    let machine = proc_stats::machine(&dir);
    eprintln!("machine: {machine}");
    eprintln!("measuring the machine's limits in {}", dir.display());
    let mut limits = limits::Limits::measure(&dir, args.quick)?;
    eprint!("{}", limits.table());

    let mut results = Results::default();
    for scenario in scenarios::all() {
        if !wanted(scenario.name) || (scenario.opt_in && !args.only.iter().any(|o| o == scenario.name)) {
            continue;
        }
        for round in 0..args.repeat {
            for target in &targets {
                if (target.writes_only && !scenario.writes) || (scenario.lagoa_only && !target.name.starts_with("lagoa")) {
                    continue;
                }
                let server = target.start(Some(&dir))?;
                let ctx = Ctx::new(&server, &scale);
                let outcome = (scenario.run)(ctx).await?;
                eprintln!(
                    "{} [{}] round {}: {}",
                    scenario.name,
                    target.name,
                    round + 1,
                    outcome.summary()
                );
                results.add(scenario.name, scenario.headline, &target.name, outcome);
            }
        }
    }
    if wanted(LIST) {
        // One filled bucket per server, all kept running, then sampled in alternating rounds.
        let mut filled = Vec::new();
        for target in targets.iter().filter(|t| !t.writes_only) {
            let server = target.start(Some(&dir))?;
            let ctx = Ctx::new(&server, &scale);
            let t0 = std::time::Instant::now();
            let keys = scenarios::list_fill(&ctx).await?;
            eprintln!(
                "{LIST} [{}]: filled {keys} keys in {:.0}s",
                target.name,
                t0.elapsed().as_secs_f64()
            );
            filled.push((target, server, ctx, keys));
        }
        for round in 0..args.repeat {
            for (target, _server, ctx, keys) in &filled {
                let outcome = scenarios::list_round(ctx, *keys).await?;
                eprintln!("{LIST} [{}] round {}: {}", target.name, round + 1, outcome.summary());
                results.add(LIST, Headline::P99Ms, &target.name, outcome);
            }
        }
    }
    if wanted(LIST_VERSIONED) || wanted(LIST_VERSIONS) {
        // Lagoa only (the peers have no versioning): 3 versions per key, every tenth key under
        // a delete marker; ListObjectsV2 pages (compare with LIST) and ListObjectVersions pages.
        for target in targets.iter().filter(|t| !t.writes_only && t.name.starts_with("lagoa")) {
            let server = target.start(Some(&dir))?;
            let ctx = Ctx::new(&server, &scale);
            let t0 = std::time::Instant::now();
            let keys = scenarios::list_fill_versioned(&ctx).await?;
            eprintln!(
                "{LIST_VERSIONED} [{}]: filled {keys} keys × 3 versions in {:.0}s",
                target.name,
                t0.elapsed().as_secs_f64()
            );
            for round in 0..args.repeat {
                let outcome = scenarios::list_round_in(&ctx, "vlist", keys, Some(10)).await?;
                eprintln!(
                    "{LIST_VERSIONED} [{}] round {}: {}",
                    target.name,
                    round + 1,
                    outcome.summary()
                );
                results.add(LIST_VERSIONED, Headline::P99Ms, &target.name, outcome);
                let outcome = scenarios::list_versions_round(&ctx, keys).await?;
                eprintln!("{LIST_VERSIONS} [{}] round {}: {}", target.name, round + 1, outcome.summary());
                results.add(LIST_VERSIONS, Headline::P99Ms, &target.name, outcome);
            }
        }
    }
    if wanted(LIFECYCLE) {
        // Lagoa only, with a one-second lifecycle day; one round (each needs a fresh million
        // objects, and expiring them is the measurement).
        let target = Target::lagoa_with("lagoa", &args.lagoa, &scenarios::LIFECYCLE_FLAGS);
        for round in 0..1 {
            let server = target.start(Some(&dir))?;
            let ctx = Ctx::new(&server, &scale);
            let keys = scenarios::lifecycle_fill(&ctx).await?;
            let outcome = scenarios::lifecycle_round(&ctx, keys).await?;
            eprintln!("{LIFECYCLE} [lagoa] round {}: {}", round + 1, outcome.summary());
            results.add(LIFECYCLE, Headline::P99Ms, "lagoa", outcome);
        }
    }

    eprintln!("sampling the I/O limits again after the scenarios");
    limits.sample_io(&dir, args.quick)?;
    let table = results.table(&limits);
    let targets_table = results.targets(&limits);
    println!("\n{}\n{table}\n{targets_table}", limits.table());
    if let Some(out) = &args.out {
        let command: Vec<String> = std::env::args().collect();
        let peers_line = targets
            .iter()
            .map(|t| format!("{} ({})", t.name, if t.durable { "durable" } else { "no fsync" }))
            .collect::<Vec<_>>()
            .join(", ");
        let report = format!(
            "# Benchmark results\n\n\
             Produced by `lagoa-bench` on {date} — all figures below come from this one run.\n\n\
             - machine: {machine}\n\
             - command: `{cmd}`\n\
             - servers: {peers_line}{missing}; {nodelay}\n\
             - each scenario ran {repeat} time(s) per server, servers alternating; the median run (by the \
             scenario's headline figure) is shown, errors are summed and peak RSS is the maximum over all runs. \
             The client runs on the same cores as the server.\n\n\
             ## The machine's limits\n\n{limits}\n\
             ## Results\n\n{table}\n\
             ## Targets (issue 4)\n\n{targets_table}",
            date = proc_stats::now_utc(),
            cmd = command.join(" "),
            missing = if missing.is_empty() {
                String::new()
            } else {
                format!(" (not installed: {})", missing.join("; "))
            },
            repeat = args.repeat,
            limits = limits.table(),
        );
        std::fs::write(out, report)?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}
