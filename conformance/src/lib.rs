//! The test harness every integration test, conformance run and bench uses: it starts the real
//! `lagoa serve` process on a free loopback port with a temporary data directory and hands out
//! real clients (aws-sdk-s3) configured for it. Nobody else re-implements server start-up.

pub mod raw_http;
pub mod s3a_settings;
pub mod sdk;
pub mod sigv4;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_s3::config::{BehaviorVersion, Region};

/// The master key test servers seal SSE-S3/SSE-KMS objects with (`name:base64`, as
/// `LAGOA_KMS_SECRET_KEY` takes it); a test can override it through the server's environment.
pub const TEST_KMS_KEY: &str = "lagoa-test-key:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";

/// The name of [`TEST_KMS_KEY`] (an SSE-KMS key id).
pub const TEST_KMS_KEY_NAME: &str = "lagoa-test-key";

/// Root credentials the harness starts the server with.
pub const ROOT_USER: &str = "lagoa-test-root";
/// Root secret the harness starts the server with.
pub const ROOT_PASSWORD: &str = "lagoa-test-root-secret";

/// A second identity (from the users file) for ownership tests.
pub const OTHER_USER: (&str, &str) = ("lagoa-other", "lagoa-other-secret");

/// A user with MinIO's canned `readonly` policy attached.
pub const READER_USER: (&str, &str) = ("lagoa-reader", "lagoa-reader-secret");

/// A user with MinIO's canned `writeonly` policy attached.
pub const WRITER_USER: (&str, &str) = ("lagoa-writer", "lagoa-writer-secret");

/// A user with a custom policy: everything under `home/<access key>/` of any bucket, and
/// listing only that prefix (IAM's home-directory example with `${aws:username}`).
pub const HOME_USER: (&str, &str) = ("lagoa-home", "lagoa-home-secret");

/// The users file every test server starts with.
fn users_file() -> String {
    let home_policy = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::*","Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}},
  {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::*/home/${aws:username}/*"}]}"#;
    let user = |(key, secret): (&str, &str), policies: &str| {
        format!("[[users]]\naccess_key = \"{key}\"\nsecret_key = \"{secret}\"\n{policies}\n")
    };
    [
        user(OTHER_USER, ""),
        user(READER_USER, "policies = [\"readonly\"]"),
        user(WRITER_USER, "policies = [\"writeonly\"]"),
        user(HOME_USER, "policies = [\"home\"]"),
        format!("[[policies]]\nname = \"home\"\ndocument = '''{home_policy}'''\n"),
    ]
    .concat()
}

/// How the server is started.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The `lagoa` binary.
    pub binary: PathBuf,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Extra command-line arguments after `serve`.
    pub args: Vec<String>,
    /// Where to create the temporary data directory (default: the system temp dir).
    pub data_parent: Option<PathBuf>,
}

impl ServerOptions {
    /// Defaults: the given binary, no extras.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            env: Vec::new(),
            args: Vec::new(),
            data_parent: None,
        }
    }
}

/// A running `lagoa serve` process and its data directory.
pub struct TestServer {
    child: Option<Child>,
    options: ServerOptions,
    data: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The embedded compute service (`POST /v1/sql`), unless started with `--no-compute`.
    pub compute_endpoint: Option<String>,
    /// Collected log lines of the current process.
    logs: mpsc::Receiver<String>,
}

impl TestServer {
    /// Starts a server on a fresh temporary data directory.
    pub fn start(options: ServerOptions) -> Self {
        let data = match &options.data_parent {
            Some(parent) => tempfile::tempdir_in(parent),
            None => tempfile::tempdir(),
        }
        .expect("creating a temp data dir");
        let (child, endpoints, logs) = spawn(&options, data.path(), "127.0.0.1:0");
        Self {
            child: Some(child),
            options,
            data,
            endpoint: endpoints.s3,
            compute_endpoint: endpoints.compute,
            logs,
        }
    }

    /// Starts `binary` with default options.
    pub fn start_default(binary: impl Into<PathBuf>) -> Self {
        Self::start(ServerOptions::new(binary))
    }

    /// The data directory of this server.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("endpoint has a port")
    }

    /// The server's process id (for RSS and CPU sampling).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// An aws-sdk-s3 client authenticated as root.
    pub fn client(&self) -> aws_sdk_s3::Client {
        self.client_as(ROOT_USER, ROOT_PASSWORD)
    }

    /// An aws-sdk-s3 client with the given keys (path style, plain HTTP, us-east-1).
    pub fn client_as(&self, access_key: &str, secret_key: &str) -> aws_sdk_s3::Client {
        client_for(&self.endpoint, access_key, secret_key)
    }

    /// Kills the process with SIGKILL (no chance to clean up) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same data directory and port (after kill/terminate).
    pub fn restart(&mut self) {
        self.kill();
        let address = self.endpoint.trim_start_matches("http://").to_owned();
        let (child, endpoints, logs) = spawn(&self.options, self.data.path(), &address);
        self.child = Some(child);
        self.endpoint = endpoints.s3;
        self.compute_endpoint = endpoints.compute;
        self.logs = logs;
    }

    /// Log lines printed so far by the current process.
    pub fn logs(&self) -> Vec<String> {
        self.logs.try_iter().collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An aws-sdk-s3 client for any endpoint (also used against peer servers in benches).
pub fn client_for(endpoint: &str, access_key: &str, secret_key: &str) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(config_for(endpoint, access_key, secret_key))
}

/// The client configuration behind [`client_for`], for tests that adjust it (e.g. no retries).
pub fn config_for(endpoint: &str, access_key: &str, secret_key: &str) -> aws_sdk_s3::Config {
    let http = aws_smithy_http_client::Builder::new().build_http();
    aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "lagoa-test"))
        .force_path_style(true)
        .http_client(http)
        .build()
}

/// Where a started server listens.
struct Endpoints {
    s3: String,
    compute: Option<String>,
}

/// The URL a `… listening on http://HOST:PORT` log line announces. Text logs end the line with
/// the URL; JSON logs close a string after it.
fn announced_url(line: &str) -> Option<String> {
    let pos = line.find("listening on http://")?;
    let rest = &line[pos + "listening on ".len()..];
    Some(
        rest.split(|c: char| c == '"' || c.is_whitespace())
            .next()
            .unwrap_or(rest)
            .to_owned(),
    )
}

fn spawn(options: &ServerOptions, data: &Path, address: &str) -> (Child, Endpoints, mpsc::Receiver<String>) {
    let users = data.with_extension("users.toml");
    std::fs::write(&users, users_file()).expect("writing the users file");
    // Binding a just-freed port can race with TIME_WAIT sockets: retry a few times.
    for attempt in 0..50 {
        let mut cmd = Command::new(&options.binary);
        cmd.arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--address")
            .arg(address)
            .arg("--users")
            .arg(&users)
            // Compute on a free port too, so that servers of parallel tests do not collide.
            .args(
                (!options
                    .args
                    .iter()
                    .any(|a| a == "--no-compute" || a.starts_with("--compute-address")))
                .then_some(["--compute-address", "127.0.0.1:0"])
                .into_iter()
                .flatten(),
            )
            .args(&options.args)
            .env("LAGOA_ROOT_USER", ROOT_USER)
            .env("LAGOA_ROOT_PASSWORD", ROOT_PASSWORD)
            .env("LAGOA_KMS_SECRET_KEY", TEST_KMS_KEY)
            .env_remove("LAGOA_KMS_KEY_FILE")
            .env_remove("LAGOA_LOG")
            .env_remove("LAGOA_LOG_FORMAT")
            .envs(std::env::var("LAGOA_TEST_LOG").map(|filter| ("LAGOA_LOG", filter)))
            .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", options.binary.display()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("LAGOA_TEST_ECHO").is_some() {
                    eprintln!("[lagoa] {line}");
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut endpoint = None;
        let mut compute = None;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    // The compute listener (if any) is announced before the S3 one.
                    match announced_url(&line) {
                        Some(url) if line.contains("compute listening on") => compute = Some(url),
                        Some(url) => {
                            endpoint = Some(url);
                            break;
                        }
                        None => seen.push(line),
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let Some(endpoint) = endpoint else {
            let _ = child.kill();
            let _ = child.wait();
            if attempt < 49 && seen.iter().any(|l| l.contains("Address already in use")) {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            panic!("lagoa did not start:\n{}", seen.join("\n"));
        };
        wait_ready(&endpoint);
        if let Some(compute) = &compute {
            wait_ready(compute);
        }
        return (child, Endpoints { s3: endpoint, compute }, rx);
    }
    unreachable!("the loop returns or panics")
}

/// Polls `/minio/health/ready` until it answers 200.
fn wait_ready(endpoint: &str) {
    let addr = endpoint.trim_start_matches("http://");
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let req = format!("GET /minio/health/ready HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            if s.write_all(req.as_bytes()).is_ok() {
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("lagoa at {endpoint} never became ready");
}
