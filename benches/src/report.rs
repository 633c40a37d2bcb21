//! Turning repeated runs into the result table: the median run per (scenario, server), the
//! Lagoa/peer and Lagoa/limit ratios, the targets checked one by one, and RESULTS.md.

use std::collections::BTreeMap;

use crate::driver::Outcome;
use crate::limits::Limits;
use crate::scenarios::{self, Headline, LIFECYCLE, LIST, LIST_VERSIONED, LIST_VERSIONS, SEALED_RANGE};

/// Every run, keyed by (scenario, server), in the order they were added.
#[derive(Default)]
pub struct Results {
    runs: BTreeMap<(String, String), Vec<Outcome>>,
    scenario_order: Vec<(String, Headline)>,
    server_order: Vec<String>,
}

fn headline_of(h: Headline, o: &Outcome) -> f64 {
    match h {
        Headline::OpsPerSec => o.ops_per_sec(),
        Headline::MibPerSec => o.mib_per_sec(),
        Headline::P99Ms => o.percentile(0.99),
    }
}

impl Results {
    pub fn add(&mut self, scenario: &str, headline: Headline, server: &str, outcome: Outcome) {
        if !self.scenario_order.iter().any(|(s, _)| s == scenario) {
            self.scenario_order.push((scenario.to_owned(), headline));
        }
        if !self.server_order.iter().any(|s| s == server) {
            self.server_order.push(server.to_owned());
        }
        self.runs
            .entry((scenario.to_owned(), server.to_owned()))
            .or_default()
            .push(outcome);
    }

    fn headline(&self, scenario: &str) -> Headline {
        self.scenario_order
            .iter()
            .find(|(s, _)| s == scenario)
            .map_or(Headline::OpsPerSec, |(_, h)| *h)
    }

    /// The run whose headline figure is the median of the repeats.
    pub fn median(&self, scenario: &str, server: &str) -> Option<&Outcome> {
        let runs = self.runs.get(&(scenario.to_owned(), server.to_owned()))?;
        let h = self.headline(scenario);
        let mut sorted: Vec<&Outcome> = runs.iter().collect();
        sorted.sort_by(|a, b| headline_of(h, a).total_cmp(&headline_of(h, b)));
        sorted.get(sorted.len() / 2).copied()
    }

    fn value(&self, scenario: &str, server: &str) -> Option<f64> {
        self.median(scenario, server).map(|o| headline_of(self.headline(scenario), o))
    }

    /// Lagoa's headline over the peer's (inverted for latencies, so > 1 means Lagoa is better).
    fn ratio(&self, scenario: &str, server: &str) -> Option<f64> {
        let (l, p) = (self.value(scenario, "lagoa")?, self.value(scenario, server)?);
        Some(if self.headline(scenario) == Headline::P99Ms {
            p / l.max(1e-9)
        } else {
            l / p.max(1e-9)
        })
    }

    fn limit_ratio(&self, scenario: &str, limits: &Limits) -> Option<(f64, &'static str)> {
        let (limit, what) = match scenario {
            "put-64m-c4" | "multipart-1g-c8" => (limits.fsync_write_mib(), "fsync'd write"),
            "get-64m-c4" | "get-1m-c16" => (limits.read_path_mib(), "min(loopback, page-cache read)"),
            "put-4k-c16" | "put-4k-c64" => (limits.file_per_object_16, "file-per-object ceiling"),
            _ => return None,
        };
        Some((self.value(scenario, "lagoa")? / limit.max(1e-9), what))
    }

    pub fn table(&self, limits: &Limits) -> String {
        let mut s = String::from(
            "| scenario | server | ops/s | MiB/s | p50 ms | p99 ms | errors | server CPU | peak RSS MiB | lagoa/peer | lagoa/limit | notes |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for (scenario, headline) in &self.scenario_order {
            for server in &self.server_order {
                let Some(runs) = self.runs.get(&(scenario.clone(), server.clone())) else {
                    continue;
                };
                let Some(o) = self.median(scenario, server) else { continue };
                let errors: usize = runs.iter().map(|r| r.errors).sum();
                let rss = runs.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max);
                let cpu = if *headline == Headline::MibPerSec {
                    format!("{:.2} s/GiB", o.cpu_per_gib())
                } else {
                    format!("{:.3} s/1000 ops", o.cpu_per_kop())
                };
                let peer = if server == "lagoa" {
                    String::new()
                } else {
                    self.ratio(scenario, server).map(|r| format!("{r:.2}×")).unwrap_or_default()
                };
                let limit = if server == "lagoa" {
                    self.limit_ratio(scenario, limits)
                        .map(|(r, _)| format!("{:.0}%", r * 100.0))
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                s.push_str(&format!(
                    "| {scenario} | {server} | {:.0} | {:.1} | {:.2} | {:.2} | {errors} | {cpu} | {rss:.0} | {peer} | {limit} | {} run(s) {} |\n",
                    o.ops_per_sec(),
                    o.mib_per_sec(),
                    o.percentile(0.5),
                    o.percentile(0.99),
                    runs.len(),
                    o.note
                ));
            }
        }
        s
    }

    /// The targets, each with the measured figure and whether it is met.
    pub fn targets(&self, limits: &Limits) -> String {
        let mut rows: Vec<(String, String, Option<bool>)> = Vec::new();
        let mut check = |what: &str, measured: Option<String>, ok: Option<bool>| {
            rows.push((what.to_owned(), measured.unwrap_or_else(|| "not measured".into()), ok));
        };
        let v = |sc: &str, srv: &str| self.value(sc, srv);
        let pct = |x: f64| format!("{:.0}%", x * 100.0);
        let r = self.limit_ratio("put-64m-c4", limits).map(|(r, _)| r);
        // MD5 (the ETag every client checks) on every core is the other ceiling of a PUT here.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let md5_ceiling = limits.md5_mib * cores;
        check(
            "64 MiB PUT ≥ 85% of fsync'd write",
            r.map(|r| {
                format!(
                    "{} of {:.0} MiB/s ({:.0}% of MD5 on all {cores} cores, {md5_ceiling:.0} MiB/s)",
                    pct(r),
                    limits.fsync_write_mib(),
                    r * limits.fsync_write_mib() / md5_ceiling * 100.0
                )
            }),
            r.map(|r| r >= 0.85),
        );
        let r = self.limit_ratio("get-64m-c4", limits).map(|(r, _)| r);
        check(
            "64 MiB GET ≥ 85% of min(loopback, page-cache)",
            r.map(|r| format!("{} of {:.0} MiB/s", pct(r), limits.read_path_mib())),
            r.map(|r| r >= 0.85),
        );
        let r = self.ratio("get-64m-c4", "garage");
        check(
            "64 MiB GET ahead of Garage",
            r.map(|r| format!("{r:.2}×")),
            r.map(|r| r > 1.0),
        );
        let r = self.ratio("put-4k-c16", "s3s-fs");
        check(
            "4 KiB PUT c16 ≥ 1.5× s3s-fs",
            r.map(|r| format!("{r:.2}×")),
            r.map(|r| r >= 1.5),
        );
        let r = self.ratio("put-4k-c16", "garage-fsync");
        check(
            "4 KiB PUT c16 ≥ 10× Garage with fsync",
            r.map(|r| format!("{r:.1}×")),
            r.map(|r| r >= 10.0),
        );
        let best_peer = self
            .server_order
            .iter()
            .filter(|s| *s != "lagoa" && !s.starts_with("lagoa"))
            .filter_map(|s| v("get-4k-c16", s))
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        let r = v("get-4k-c16", "lagoa").zip(best_peer).map(|(l, p)| l / p);
        check(
            "4 KiB GET c16 ≥ 1.25× best peer",
            r.map(|r| format!("{r:.2}×")),
            r.map(|r| r >= 1.25),
        );
        let p99 = v(LIST, "lagoa");
        check(
            "LIST page p99 < 20 ms (1M keys)",
            p99.map(|p| format!("{p:.1} ms")),
            p99.map(|p| p < 20.0),
        );
        let walk = |srv: &str| self.median(LIST, srv).and_then(|o| o.secondary);
        let r = walk("lagoa").zip(walk("garage")).map(|(l, g)| l / g);
        check(
            "LIST full walk ≥ 1.5× Garage keys/s",
            r.map(|r| format!("{r:.2}×")),
            r.map(|r| r >= 1.5),
        );
        // Issue 14: what versioning costs.
        let r = v("put-4k-c16-versioned", "lagoa").zip(v("put-4k-c16", "lagoa"));
        check(
            "versioned 4 KiB PUT c16 ≥ 90% of unversioned (new keys)",
            r.map(|(a, b)| format!("{} ({a:.0} vs {b:.0} ops/s)", pct(a / b.max(1e-9)))),
            r.map(|(a, b)| a / b.max(1e-9) >= 0.9),
        );
        let r = v("put-4k-c16-overwrite-versioned", "lagoa").zip(v("put-4k-c16-overwrite", "lagoa"));
        check(
            "versioned 4 KiB PUT c16 ≥ 90% of unversioned (overwrites of 2,000 keys: versioning keeps every old body)",
            r.map(|(a, b)| format!("{} ({a:.0} vs {b:.0} ops/s)", pct(a / b.max(1e-9)))),
            r.map(|(a, b)| a / b.max(1e-9) >= 0.9),
        );
        let r = v("get-4k-c16-versioned", "lagoa").zip(v("get-4k-c16", "lagoa"));
        check(
            "versioned 4 KiB GET c16 ≥ 90% of unversioned (3 versions per key)",
            r.map(|(a, b)| format!("{} ({a:.0} vs {b:.0} ops/s)", pct(a / b.max(1e-9)))),
            r.map(|(a, b)| a / b.max(1e-9) >= 0.9),
        );
        // Issue 15: what a 20-statement bucket policy costs a GET.
        let r = v("get-4k-c16-policy20", "lagoa").zip(v("get-4k-c16-owner", "lagoa"));
        check(
            "4 KiB GET c16 under a 20-statement bucket policy ≥ 90% of the owner's GET without one",
            r.map(|(a, b)| format!("{} ({a:.0} vs {b:.0} ops/s)", pct(a / b.max(1e-9)))),
            r.map(|(a, b)| a / b.max(1e-9) >= 0.9),
        );
        // Issue 15: what SSE-S3 costs large objects, and what a range inside a sealed one reads.
        for (sealed, plain, what) in [
            ("put-64m-c4-sse-s3", "put-64m-c4", "PUT"),
            ("get-64m-c4-sse-s3", "get-64m-c4", "GET"),
        ] {
            let r = v(sealed, "lagoa").zip(v(plain, "lagoa"));
            check(
                &format!("SSE-S3 64 MiB {what} c4 ≥ 70% of plaintext"),
                r.map(|(a, b)| format!("{} ({a:.0} vs {b:.0} MiB/s)", pct(a / b.max(1e-9)))),
                r.map(|(a, b)| a / b.max(1e-9) >= 0.7),
            );
        }
        let read = self.median(SEALED_RANGE, "lagoa").and_then(|o| o.secondary);
        check(
            "1 MiB range GET inside a 1 GiB SSE-S3 object reads ≤ 1.1 MiB",
            read.map(|r| format!("{r:.3} MiB per GET")),
            read.map(|r| r <= 1.1),
        );
        let p99 = v(LIST_VERSIONED, "lagoa");
        check(
            "versioned LIST page p99 < 20 ms (1M keys × 3 versions, 10% delete markers)",
            p99.map(|p| format!("{p:.1} ms")),
            p99.map(|p| p < 20.0),
        );
        let walk = |sc: &str| self.median(sc, "lagoa").and_then(|o| o.secondary);
        let r = walk(LIST_VERSIONED).zip(walk(LIST));
        check(
            "versioned LIST walk within 20% of unversioned keys/s",
            r.map(|(a, b)| format!("{} ({a:.0} vs {b:.0} keys/s)", pct(a / b.max(1e-9)))),
            r.map(|(a, b)| a / b.max(1e-9) >= 0.8),
        );
        let p99 = v(LIST_VERSIONS, "lagoa");
        check(
            "ListObjectVersions page p99 (same bucket; no target)",
            p99.map(|p| format!("{p:.1} ms")),
            None,
        );
        let o = self.median(LIFECYCLE, "lagoa");
        check(
            "lifecycle expiry of 1M objects: time and foreground impact (no target)",
            o.map(|o| o.note.clone()),
            None,
        );
        let rss = |sc: &str| {
            self.runs
                .get(&(sc.to_owned(), "lagoa".to_owned()))
                .map(|runs| runs.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max))
        };
        let m = rss("multipart-1g-c8");
        check(
            "peak RSS < 128 MiB, 1 GiB upload + download",
            m.map(|m| format!("{m:.0} MiB")),
            m.map(|m| m < 128.0),
        );
        let m = rss("put-4k-c64");
        check(
            "peak RSS < 256 MiB at 64 concurrent PUTs",
            m.map(|m| format!("{m:.0} MiB")),
            m.map(|m| m < 256.0),
        );
        let normal = v("normal-4k-c4", "lagoa");
        for attack in [
            "attack-stalled-uploads",
            "attack-stalled-readers",
            "attack-slow-heads",
            "attack-idle",
            "attack-forms-before-auth",
        ] {
            let r = v(attack, "lagoa").zip(normal).map(|(a, n)| a / n.max(1e-9));
            let m = rss(attack);
            let p99 = |sc: &str| self.median(sc, "lagoa").map(|o| o.percentile(0.99));
            check(
                &format!("{attack}: ≥ 90% of normal ops/s, RSS < 256 MiB (1,000 hostile connections)"),
                r.zip(m).map(|(r, m)| {
                    format!(
                        "{} of normal, p99 {:.1} ms (normal {:.1} ms), peak RSS {m:.0} MiB",
                        pct(r),
                        p99(attack).unwrap_or(0.0),
                        p99("normal-4k-c4").unwrap_or(0.0)
                    )
                }),
                r.zip(m).map(|(r, m)| r >= 0.9 && m < 256.0),
            );
        }
        if let Some(o) = self.median("soak-mixed", "lagoa") {
            check("30-minute soak: RSS flat within 10%", Some(o.note.clone()), None);
        }
        let lagoa_errors: usize = self
            .runs
            .iter()
            .filter(|((_, srv), _)| srv == "lagoa")
            .flat_map(|(_, runs)| runs.iter().map(|r| r.errors))
            .sum();
        check(
            "zero errors (Lagoa, every scenario)",
            Some(lagoa_errors.to_string()),
            Some(lagoa_errors == 0),
        );
        let mut s = String::from("| target | measured | met |\n|---|---|---|\n");
        for (what, measured, ok) in rows {
            let mark = match ok {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            };
            s.push_str(&format!("| {what} | {measured} | {mark} |\n"));
        }
        s
    }
}

/// Keeps `scenarios` referenced for documentation links.
pub fn scenario_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = scenarios::all().iter().map(|s| s.name).collect();
    v.push(LIST);
    v.push(LIST_VERSIONED);
    v.push(LIST_VERSIONS);
    v.push(LIFECYCLE);
    v
}
