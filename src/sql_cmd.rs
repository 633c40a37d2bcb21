//! `lagoa sql "SELECT …"`: runs a query on a Lagoa compute endpoint and prints the result — a
//! table by default, or CSV / JSON lines as they stream. It signs the request with SigV4 using
//! the same credentials as the server (`LAGOA_ROOT_*`, `MINIO_ROOT_*`) or `LAGOA_ACCESS_KEY` /
//! `LAGOA_SECRET_KEY` for another user.

use std::io::Write;
use std::time::SystemTime;

use anyhow::{Context, bail};
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use clap::{Args, ValueEnum};
use futures::StreamExt;
use lagoa_compute::datafusion::arrow;

/// How `lagoa sql` prints rows.
#[derive(Clone, Copy, ValueEnum)]
pub enum PrintFormat {
    /// An aligned table (the whole result is read first).
    Table,
    /// CSV with a header, streamed.
    Csv,
    /// One JSON object per line, streamed.
    Json,
}

/// `lagoa sql` arguments.
#[derive(Args)]
pub struct SqlArgs {
    /// The SQL to run (several statements separated by `;`: the last one's rows are printed).
    /// It may start with a `--` comment.
    #[arg(allow_hyphen_values = true, required_unless_present = "file", conflicts_with = "file")]
    sql: Option<String>,
    /// Read the SQL from this file instead (`-`: standard input).
    #[arg(long, short = 'f')]
    file: Option<std::path::PathBuf>,
    /// The compute endpoint.
    #[arg(long, env = "LAGOA_SQL_ENDPOINT", default_value = "http://127.0.0.1:9100")]
    endpoint: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: PrintFormat,
    /// Region the request is signed for.
    #[arg(long, env = "LAGOA_REGION", default_value = "us-east-1")]
    region: String,
}

/// Runs `lagoa sql`: exit status 0 with rows printed, or an error with the server's message.
pub async fn run(args: SqlArgs) -> anyhow::Result<()> {
    let accept = match args.format {
        PrintFormat::Table => "application/vnd.apache.arrow.stream",
        PrintFormat::Csv => "text/csv",
        PrintFormat::Json => "application/x-ndjson",
    };
    let sql = match (&args.sql, &args.file) {
        (Some(sql), _) => sql.clone(),
        (None, Some(path)) if path.as_os_str() == "-" => {
            std::io::read_to_string(std::io::stdin()).context("reading the SQL from standard input")?
        }
        (None, Some(path)) => {
            std::fs::read_to_string(path).with_context(|| format!("reading the SQL from {}", path.display()))?
        }
        (None, None) => bail!("give the SQL as an argument or with --file"),
    };
    let response = post_sql(&args.endpoint, &args.region, &sql, accept).await?;
    match args.format {
        PrintFormat::Table => {
            let bytes = response.bytes().await.context("reading the result")?;
            let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
                .context("reading the result (Arrow IPC)")?;
            let batches = reader
                .collect::<Result<Vec<_>, _>>()
                .context("reading the result (Arrow IPC)")?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            println!("{}", arrow::util::pretty::pretty_format_batches(&batches)?);
            eprintln!("{rows} row{}", if rows == 1 { "" } else { "s" });
        }
        PrintFormat::Csv | PrintFormat::Json => {
            let mut stdout = std::io::stdout().lock();
            let mut body = response.bytes_stream();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.context("the result stream broke off (the query failed while running)")?;
                stdout.write_all(&chunk)?;
            }
            stdout.flush()?;
        }
    }
    Ok(())
}

/// The server's message: plain text from the SQL endpoint, or the `<Message>` of an S3 error
/// document (authentication failures).
fn error_message(status: http::StatusCode, text: &str) -> String {
    let message = match (text.find("<Message>"), text.find("</Message>")) {
        (Some(a), Some(b)) if a < b => &text[a + "<Message>".len()..b],
        _ => text.trim(),
    };
    format!("{message} (HTTP {status})")
}

/// Sends `sql` to the compute endpoint at `endpoint`, signed with the caller's credentials
/// ([`crate::credentials::client_credentials`]), asking for `accept`; a non-2xx answer is an
/// error carrying the server's message.
pub(crate) async fn post_sql(endpoint: &str, region: &str, sql: &str, accept: &str) -> anyhow::Result<reqwest::Response> {
    let (access_key, secret_key) = crate::credentials::client_credentials();
    let url = format!("{}{}", endpoint.trim_end_matches('/'), crate::sql_route::SQL_PATH);
    let mut request = http::Request::builder()
        .method("POST")
        .uri(&url)
        .header("accept", accept)
        .header("content-type", "application/sql")
        .body(sql.as_bytes().to_vec())
        .context("building the request")?;
    sign_request(&mut request, &access_key, &secret_key, region)?;
    let request = reqwest::Request::try_from(request.map(reqwest::Body::from)).context("building the request")?;
    let response = reqwest::Client::new()
        .execute(request)
        .await
        .with_context(|| format!("cannot reach {url} (is `lagoa serve` or `lagoa compute` running there?)"))?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        bail!("{}", error_message(status, &text));
    }
    Ok(response)
}

/// Signs `request` with SigV4 (service `s3`, payload hash in `x-amz-content-sha256`).
pub(crate) fn sign_request(
    request: &mut http::Request<Vec<u8>>,
    access_key: &str,
    secret_key: &str,
    region: &str,
) -> anyhow::Result<()> {
    let identity = aws_credential_types::Credentials::new(access_key, secret_key, None, None, "lagoa").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .context("preparing the signature")?
        .into();
    let uri = request.uri().to_string();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    let method = request.method().as_str().to_owned();
    let signable = SignableRequest::new(&method, &uri, headers.into_iter(), SignableBody::Bytes(request.body()))
        .context("preparing the signature")?;
    let (instructions, _) = sign(signable, &params).context("signing the request")?.into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}
