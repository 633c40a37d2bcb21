//! `lagoa-conformance`: starts the real `lagoa serve` (temp data dir, free loopback port), runs
//! every client suite against it, and prints the feature × client matrix. A failing cell fails
//! the run unless `conformance/KNOWN_GAPS.md` lists it with a reason.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use lagoa_conformance::{ROOT_PASSWORD, ROOT_USER, ServerOptions, TestServer};

/// One client suite: a command run with the server's address in its environment.
struct ClientSuite {
    name: &'static str,
    command: Vec<String>,
}

/// Every client suite. Python suites run from `conformance/clients/`; the minio-go suite is built
/// by `conformance/run` next to the lagoa binary (`bin_dir`); the Spark s3a replay is a binary of
/// this crate, next to this one.
fn suites(root: &Path, bin_dir: &Path) -> Vec<ClientSuite> {
    let py = |file: &str| {
        vec![
            "python3".to_owned(),
            root.join("conformance/clients").join(file).display().to_string(),
        ]
    };
    let own_bin = |name: &str| {
        let exe = std::env::current_exe().unwrap_or_default();
        vec![exe.with_file_name(name).display().to_string()]
    };
    vec![
        ClientSuite {
            name: "boto3",
            command: py("boto3_suite.py"),
        },
        ClientSuite {
            name: "aws-sdk-rust",
            command: own_bin("sdk-suite"),
        },
        ClientSuite {
            name: "awscli",
            command: py("awscli_suite.py"),
        },
        ClientSuite {
            name: "minio-py",
            command: py("minio_py_suite.py"),
        },
        ClientSuite {
            name: "minio-go",
            command: vec![bin_dir.join("minio-go-suite").display().to_string()],
        },
        ClientSuite {
            name: "rclone",
            command: py("rclone_suite.py"),
        },
        ClientSuite {
            name: "s3cmd",
            command: py("s3cmd_suite.py"),
        },
        ClientSuite {
            name: "spark-s3a",
            command: own_bin("s3a-replay"),
        },
        ClientSuite {
            name: "browser POST",
            command: py("browser_post_suite.py"),
        },
    ]
}

#[derive(Debug)]
struct Cell {
    ok: bool,
    detail: String,
}

fn main() {
    let started = Instant::now();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let lagoa = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/debug/lagoa"));
    let only: Option<BTreeSet<String>> = std::env::var("LAGOA_CONFORMANCE_CLIENTS")
        .ok()
        .map(|v| v.split(',').map(str::to_owned).collect());
    let server = TestServer::start(ServerOptions::new(&lagoa));
    let mut results: BTreeMap<(String, String), Cell> = BTreeMap::new();
    let mut clients = Vec::new();
    let bin_dir = lagoa.parent().map(Path::to_path_buf).unwrap_or_default();
    for suite in suites(&root, &bin_dir) {
        if only.as_ref().is_some_and(|o| !o.contains(suite.name)) {
            continue;
        }
        clients.push(suite.name.to_owned());
        let t0 = Instant::now();
        let cells = run_suite(&suite, &server);
        eprintln!(
            "{}: {} features in {:.1}s",
            suite.name,
            cells.len(),
            t0.elapsed().as_secs_f64()
        );
        for (feature, cell) in cells {
            results.insert((feature, suite.name.to_owned()), cell);
        }
    }
    let gaps = known_gaps(&root.join("conformance/KNOWN_GAPS.md"));
    let (matrix, passed, failed, known) = render(&results, &clients, &gaps);
    print!("{matrix}");
    let _ = std::fs::write(root.join("conformance/MATRIX.md"), &matrix);
    eprintln!("suite time: {:.1}s", started.elapsed().as_secs_f64());
    println!("{passed} passed, {failed} failed, {known} skipped");
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Runs one suite and collects its JSON result lines; a suite that cannot start or dies is a
/// failed cell of its own, never a silent gap.
fn run_suite(suite: &ClientSuite, server: &TestServer) -> Vec<(String, Cell)> {
    let mut cells = Vec::new();
    let child = Command::new(&suite.command[0])
        .args(&suite.command[1..])
        .env("LAGOA_ENDPOINT", &server.endpoint)
        .env("LAGOA_ACCESS_KEY", ROOT_USER)
        .env("LAGOA_SECRET_KEY", ROOT_PASSWORD)
        .env_remove("AWS_CA_BUNDLE")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            cells.push((
                "client runs".to_owned(),
                Cell {
                    ok: false,
                    detail: format!("cannot start {:?}: {e}", suite.command),
                },
            ));
            return cells;
        }
    };
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(v) if v.get("feature").is_some() => {
                    let feature = v["feature"].as_str().unwrap_or("?").to_owned();
                    let ok = v["ok"].as_bool().unwrap_or(false);
                    let detail = v["detail"].as_str().unwrap_or("").to_owned();
                    cells.push((feature, Cell { ok, detail }));
                }
                _ => eprintln!("[{}] {line}", suite.name),
            }
        }
    }
    let status = child.wait();
    let clean = status.as_ref().is_ok_and(|s| s.success()) || cells.iter().any(|(_, c)| !c.ok);
    cells.push((
        "client runs".to_owned(),
        Cell {
            ok: clean && !cells.is_empty(),
            detail: format!("exit: {status:?}"),
        },
    ));
    cells
}

/// `(feature, client)` pairs listed in KNOWN_GAPS.md table rows: `| client | feature | reason |`.
fn known_gaps(path: &Path) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            (cols.len() >= 4 && !cols[1].is_empty() && cols[1] != "client" && !cols[1].starts_with('-'))
                .then(|| (cols[2].to_owned(), cols[1].to_owned()))
        })
        .collect()
}

fn render(
    results: &BTreeMap<(String, String), Cell>,
    clients: &[String],
    gaps: &BTreeSet<(String, String)>,
) -> (String, usize, usize, usize) {
    let features: BTreeSet<&String> = results.keys().map(|(f, _)| f).collect();
    let mut s = format!(
        "# Compatibility matrix\n\n| feature | {} |\n|---|{}\n",
        clients.join(" | "),
        "---|".repeat(clients.len())
    );
    let (mut passed, mut failed, mut known) = (0, 0, 0);
    let mut failures = Vec::new();
    for feature in features {
        s.push_str(&format!("| {feature} |"));
        for client in clients {
            let cell = match results.get(&(feature.clone(), client.clone())) {
                None => " |".to_owned(),
                Some(c) if c.ok => {
                    passed += 1;
                    " ✅ |".to_owned()
                }
                Some(c) if gaps.contains(&(feature.clone(), client.clone())) => {
                    known += 1;
                    failures.push(format!("- known gap: {client} / {feature}: {}", c.detail));
                    " ⚠️ known gap |".to_owned()
                }
                Some(c) => {
                    failed += 1;
                    failures.push(format!("- FAILED: {client} / {feature}: {}", c.detail));
                    " ❌ |".to_owned()
                }
            };
            s.push_str(&cell);
        }
        s.push('\n');
    }
    if !failures.is_empty() {
        s.push('\n');
        s.push_str(&failures.join("\n"));
        s.push('\n');
    }
    (s, passed, failed, known)
}
