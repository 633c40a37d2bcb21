//! The servers under test: Lagoa (through the shared test harness) and peers found on this
//! machine. A missing peer is reported, never faked.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lagoa_conformance::{ROOT_PASSWORD, ROOT_USER, ServerOptions, TestServer};

/// A server kind and how to start it.
pub struct Target {
    pub name: String,
    kind: Kind,
}

enum Kind {
    Lagoa(PathBuf, Vec<String>),
    S3sFs(PathBuf),
}

/// A running server.
pub enum Running {
    Lagoa(TestServer),
    Peer {
        child: Child,
        endpoint: String,
        _dir: tempfile::TempDir,
    },
}

impl Running {
    pub fn endpoint(&self) -> &str {
        match self {
            Running::Lagoa(s) => &s.endpoint,
            Running::Peer { endpoint, .. } => endpoint,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        match self {
            Running::Lagoa(s) => s.pid(),
            Running::Peer { child, .. } => Some(child.id()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Running::Peer { child, .. } = self {
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
            kind: Kind::Lagoa(bin.to_path_buf(), args.iter().map(|a| a.to_string()).collect()),
        }
    }

    pub fn s3s_fs(bin: PathBuf) -> Self {
        Self {
            name: "s3s-fs".into(),
            kind: Kind::S3sFs(bin),
        }
    }

    /// Starts the server with a fresh data directory under `dir` (or the system temp dir).
    pub fn start(&self, dir: Option<&Path>) -> anyhow::Result<Running> {
        match &self.kind {
            Kind::Lagoa(bin, args) => {
                let mut options = ServerOptions::new(bin);
                options.args = args.clone();
                options.data_parent = dir.map(Path::to_path_buf);
                Ok(Running::Lagoa(TestServer::start(options)))
            }
            Kind::S3sFs(bin) => {
                let tmp = match dir {
                    Some(d) => tempfile::tempdir_in(d)?,
                    None => tempfile::tempdir()?,
                };
                let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
                let child = Command::new(bin)
                    .args([
                        "--host",
                        "127.0.0.1",
                        "--port",
                        &port.to_string(),
                        "--access-key",
                        ROOT_USER,
                        "--secret-key",
                        ROOT_PASSWORD,
                    ])
                    .arg(tmp.path())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()?;
                let endpoint = format!("http://127.0.0.1:{port}");
                let deadline = Instant::now() + Duration::from_secs(30);
                while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                    anyhow::ensure!(Instant::now() < deadline, "s3s-fs did not start");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(Running::Peer {
                    child,
                    endpoint,
                    _dir: tmp,
                })
            }
        }
    }
}

/// s3s-fs from the flag, PATH or ~/.cargo/bin.
pub fn find_s3s_fs(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = given {
        return p.exists().then(|| p.to_path_buf());
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("s3s-fs")).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin/s3s-fs"));
    }
    candidates.push(PathBuf::from("/opt/peers/bin/s3s-fs"));
    candidates.into_iter().find(|p| p.exists())
}
