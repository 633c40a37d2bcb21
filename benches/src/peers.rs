//! The servers under test: Lagoa (through the shared test harness) and the peers found on this
//! machine — s3s-fs and Garage (single node, `replication_factor = 1`, once with its default
//! `metadata_fsync = data_fsync = false` and once with both `true`, Lagoa's durability level). A
//! missing peer is reported, never faked. Peers are installed outside the repository and found
//! through a flag, an environment variable, PATH, ~/.cargo/bin or /opt/peers/bin.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use lagoa_conformance::{ROOT_PASSWORD, ROOT_USER, ServerOptions, TestServer};

/// Garage only accepts its own key format (`GK` + 24 hex digits, 64-hex secret).
const GARAGE_KEY_ID: &str = "GK0123456789abcdef01234567";
const GARAGE_SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Compiles benches/nodelay/nodelay.c into `dir` with the system C compiler: an LD_PRELOAD shim
/// that sets TCP_NODELAY on the peers' accepted connections (see the file for why).
pub fn build_nodelay_shim(dir: &Path) -> anyhow::Result<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("nodelay/nodelay.c");
    let lib = dir.join("liblagoa_bench_nodelay.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&source)
        .arg("-ldl")
        .output()
        .with_context(|| format!("running {cc}"))?;
    anyhow::ensure!(out.status.success(), "{cc} failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(lib)
}

/// A server kind and how to start it.
pub struct Target {
    pub name: String,
    /// Whether an acknowledged write survives power loss (Lagoa, Garage with fsync).
    pub durable: bool,
    /// A peer's fsync variant: it differs from the plain peer only in writes, so reads and
    /// listings are not repeated against it.
    pub writes_only: bool,
    /// LD_PRELOAD for a peer (the TCP_NODELAY shim).
    pub preload: Option<PathBuf>,
    kind: Kind,
}

enum Kind {
    Lagoa(PathBuf, Vec<String>),
    S3sFs(PathBuf),
    Garage { bin: PathBuf, fsync: bool },
}

/// A running server: where it listens, whose keys it takes, which process to sample.
pub struct Running {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    handle: Handle,
}

enum Handle {
    Lagoa(TestServer),
    Peer { child: Child, _dir: tempfile::TempDir },
}

impl Running {
    pub fn pid(&self) -> Option<u32> {
        match &self.handle {
            Handle::Lagoa(s) => s.pid(),
            Handle::Peer { child, .. } => Some(child.id()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Handle::Peer { child, .. } = &mut self.handle {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Target {
    pub fn lagoa(bin: &Path) -> Self {
        Self::lagoa_with("lagoa", bin, &[])
    }

    /// Lagoa with extra `serve` flags, reported under its own name.
    pub fn lagoa_with(name: &str, bin: &Path, args: &[&str]) -> Self {
        Self {
            name: name.into(),
            durable: true,
            writes_only: false,
            preload: None,
            kind: Kind::Lagoa(bin.to_path_buf(), args.iter().map(|a| a.to_string()).collect()),
        }
    }

    pub fn s3s_fs(bin: PathBuf) -> Self {
        Self {
            name: "s3s-fs".into(),
            durable: false,
            writes_only: false,
            preload: None,
            kind: Kind::S3sFs(bin),
        }
    }

    pub fn garage(bin: PathBuf, fsync: bool) -> Self {
        Self {
            name: if fsync { "garage-fsync" } else { "garage" }.into(),
            durable: fsync,
            writes_only: fsync,
            preload: None,
            kind: Kind::Garage { bin, fsync },
        }
    }

    /// Starts the server with a fresh data directory under `dir` (or the system temp dir).
    pub fn start(&self, dir: Option<&Path>) -> anyhow::Result<Running> {
        let tmp = || match dir {
            Some(d) => tempfile::tempdir_in(d),
            None => tempfile::tempdir(),
        };
        match &self.kind {
            Kind::Lagoa(bin, args) => {
                let mut options = ServerOptions::new(bin);
                options.args = args.clone();
                options.data_parent = dir.map(Path::to_path_buf);
                let server = TestServer::start(options);
                Ok(Running {
                    endpoint: server.endpoint.clone(),
                    access_key: ROOT_USER.into(),
                    secret_key: ROOT_PASSWORD.into(),
                    handle: Handle::Lagoa(server),
                })
            }
            Kind::S3sFs(bin) => {
                let dir = tmp()?;
                let port = free_port()?;
                let child = preloaded(Command::new(bin), &self.preload)
                    .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--access-key", ROOT_USER, "--secret-key", ROOT_PASSWORD])
                    .arg(dir.path())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .context("starting s3s-fs")?;
                wait_listening(port, "s3s-fs")?;
                Ok(Running {
                    endpoint: format!("http://127.0.0.1:{port}"),
                    access_key: ROOT_USER.into(),
                    secret_key: ROOT_PASSWORD.into(),
                    handle: Handle::Peer { child, _dir: dir },
                })
            }
            Kind::Garage { bin, fsync } => start_garage(bin, *fsync, &self.preload, tmp()?),
        }
    }
}

fn preloaded(mut cmd: Command, preload: &Option<PathBuf>) -> Command {
    if let Some(lib) = preload {
        cmd.env("LD_PRELOAD", lib);
    }
    cmd
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_listening(port: u16, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "{what} did not start listening on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// A single Garage node: config file, server, one-node layout, and an imported key allowed to
/// create buckets — what Garage's own "quick start" does.
fn start_garage(bin: &Path, fsync: bool, preload: &Option<PathBuf>, dir: tempfile::TempDir) -> anyhow::Result<Running> {
    let (s3_port, rpc_port) = (free_port()?, free_port()?);
    let config = dir.path().join("garage.toml");
    std::fs::write(
        &config,
        format!(
            "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"lmdb\"\nreplication_factor = 1\n\
             metadata_fsync = {fsync}\ndata_fsync = {fsync}\n\
             rpc_bind_addr = \"127.0.0.1:{rpc_port}\"\nrpc_public_addr = \"127.0.0.1:{rpc_port}\"\n\
             rpc_secret = \"{secret}\"\n\n[s3_api]\ns3_region = \"us-east-1\"\napi_bind_addr = \"127.0.0.1:{s3_port}\"\n",
            meta = dir.path().join("meta").display(),
            data = dir.path().join("data").display(),
            secret = "4c61676f612062656e63686d61726b2072706320736563726574203030303030",
        ),
    )?;
    let log = std::fs::File::create(dir.path().join("garage.log"))?;
    let child = preloaded(Command::new(bin), preload)
        .arg("-c")
        .arg(&config)
        .arg("server")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting garage")?;
    let log = dir.path().join("garage.log");
    let running = Running {
        endpoint: format!("http://127.0.0.1:{s3_port}"),
        access_key: GARAGE_KEY_ID.into(),
        secret_key: GARAGE_SECRET.into(),
        handle: Handle::Peer { child, _dir: dir },
    };
    wait_listening(rpc_port, "garage").with_context(|| std::fs::read_to_string(&log).unwrap_or_default())?;
    let cli = |args: &[&str]| -> anyhow::Result<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new(bin).arg("-c").arg(&config).args(args).output()?;
            if out.status.success() {
                return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "garage {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let node = cli(&["node", "id", "-q"])?;
    let node = node.trim().split('@').next().unwrap_or_default().to_owned();
    cli(&["layout", "assign", "-z", "dc1", "-c", "100G", &node])?;
    cli(&["layout", "apply", "--version", "1"])?;
    cli(&["key", "import", "--yes", "-n", "bench", GARAGE_KEY_ID, GARAGE_SECRET])?;
    cli(&["key", "allow", "--create-bucket", GARAGE_KEY_ID])?;
    wait_listening(s3_port, "garage S3 API")?;
    Ok(running)
}

/// A peer binary: the flag or environment variable, else PATH, ~/.cargo/bin or /opt/peers/bin.
pub fn find_peer(name: &str, given: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = given {
        return p.exists().then(|| p.to_path_buf());
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin").join(name));
    }
    candidates.push(PathBuf::from("/opt/peers/bin").join(name));
    candidates.into_iter().find(|p| p.exists())
}
