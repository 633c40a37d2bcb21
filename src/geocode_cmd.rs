//! `lagoa geocode`: the Olist geocode join, run on a compute endpoint. A thin wrapper over
//! `geocode.sql` (shown in full in the README): it checks the inputs first — every file there,
//! Kaggle's columns in Kaggle's order, rows in it, zip prefixes that are prefixes — so a bad
//! input is reported by file and column before anything is written; then it runs the join,
//! which writes the outputs, and prints the summary.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lagoa_compute::datafusion::arrow;
use lagoa_compute::datafusion::arrow::array::RecordBatch;

/// The join, with `{input}` and `{output}` to fill in.
pub const GEOCODE_SQL: &str = include_str!("geocode.sql");

/// `lagoa geocode` arguments.
#[derive(Args)]
pub struct GeocodeArgs {
    /// Bucket holding the Olist CSVs; the outputs are written there too.
    #[arg(long, default_value = "datalake")]
    bucket: String,
    /// Key prefix of the input CSVs (their Kaggle names follow it).
    #[arg(long, default_value = "olist/")]
    prefix: String,
    /// Key prefix of the outputs: customers_geo/, sellers_geo/, order_distances/, zip_centroids/,
    /// summary/.
    #[arg(long, default_value = "enriched/")]
    out: String,
    /// The compute endpoint (as for `lagoa sql`).
    #[arg(long, env = "LAGOA_SQL_ENDPOINT", default_value = "http://127.0.0.1:9100")]
    endpoint: String,
    /// Region requests are signed for.
    #[arg(long, env = "LAGOA_REGION", default_value = "us-east-1")]
    region: String,
}

/// An input file: its Kaggle name, the columns the join needs it to have (all of its columns, in
/// order), and the zip-prefix column to check.
struct Input {
    file: &'static str,
    columns: &'static [&'static str],
    zip_column: Option<&'static str>,
}

const INPUTS: [Input; 5] = [
    Input {
        file: lagoa_olist::FILES[1],
        columns: lagoa_olist::HEADERS[1],
        zip_column: Some("geolocation_zip_code_prefix"),
    },
    Input {
        file: lagoa_olist::FILES[2],
        columns: lagoa_olist::HEADERS[2],
        zip_column: Some("customer_zip_code_prefix"),
    },
    Input {
        file: lagoa_olist::FILES[3],
        columns: lagoa_olist::HEADERS[3],
        zip_column: Some("seller_zip_code_prefix"),
    },
    Input {
        file: lagoa_olist::FILES[5],
        columns: lagoa_olist::HEADERS[5],
        zip_column: None,
    },
    Input {
        file: lagoa_olist::FILES[6],
        columns: lagoa_olist::HEADERS[6],
        zip_column: None,
    },
];

/// The geocode SQL for inputs under `s3://bucket/prefix` and outputs under `s3://bucket/out`.
pub fn geocode_sql(bucket: &str, prefix: &str, out: &str) -> String {
    GEOCODE_SQL
        .replace("{input}", &format!("s3://{bucket}/{prefix}"))
        .replace("{output}", &format!("s3://{bucket}/{out}"))
}

/// Runs `lagoa geocode`.
pub async fn run(args: GeocodeArgs) -> anyhow::Result<()> {
    for (name, value) in [("--bucket", &args.bucket), ("--prefix", &args.prefix), ("--out", &args.out)] {
        if value.contains(['\'', '\\'])
            || value.starts_with('/')
            || (name != "--bucket" && !value.is_empty() && !value.ends_with('/'))
        {
            bail!("{name} {value:?}: use a plain bucket name and key prefixes ending in '/'");
        }
    }
    let started = Instant::now();
    let spinner = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner.set_message("checking the input files");
    check_inputs(&args).await?;
    spinner.set_message("joining (centroids, places, customers, sellers, order distances)");
    let sql = geocode_sql(&args.bucket, &args.prefix, &args.out);
    let summary = query(&args, &sql).await.context("the geocode join failed")?;
    spinner.finish_and_clear();
    println!("{}", arrow::util::pretty::pretty_format_batches(&summary)?);
    eprintln!(
        "geocoded s3://{0}/{1} into s3://{0}/{2}{{customers_geo,sellers_geo,order_distances,zip_centroids,summary}}/ in {3:.2} s",
        args.bucket,
        args.prefix,
        args.out,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs `sql` and reads the whole (small) result.
async fn query(args: &GeocodeArgs, sql: &str) -> anyhow::Result<Vec<RecordBatch>> {
    Ok(query_with_schema(args, sql).await?.1)
}

/// [`query`], with the result's schema (there even when no row came back).
async fn query_with_schema(args: &GeocodeArgs, sql: &str) -> anyhow::Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
    let response = crate::sql_cmd::post_sql(&args.endpoint, &args.region, sql, "application/vnd.apache.arrow.stream").await?;
    let bytes = response.bytes().await.context("reading the result")?;
    let reader =
        arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).context("reading the result (Arrow IPC)")?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .context("reading the result (Arrow IPC)")?;
    Ok((schema, batches))
}

/// Every input has Kaggle's header and rows; every zip prefix is one `zip5` understands.
async fn check_inputs(args: &GeocodeArgs) -> anyhow::Result<()> {
    let location = |file: &str| format!("s3://{}/{}{file}", args.bucket, args.prefix);
    for input in &INPUTS {
        let url = location(input.file);
        let sql = format!("SELECT * FROM '{url}' LIMIT 0",);
        let header: Vec<String> = match query_with_schema(args, &sql).await {
            Ok((schema, _)) => schema.fields().iter().map(|f| f.name().clone()).collect(),
            Err(e) => bail!("{url}: cannot be read: {e:#}"),
        };
        for (i, column) in input.columns.iter().enumerate() {
            if !header.iter().any(|h| h == column) {
                bail!(
                    "{url}: column {column} is missing (the header is {:?}; Kaggle's is {:?})",
                    header,
                    input.columns
                );
            }
            if header.get(i).map(String::as_str) != Some(*column) {
                bail!(
                    "{url}: column {column} is not column {} (the header is {:?}; Kaggle's is {:?})",
                    i + 1,
                    header,
                    input.columns
                );
            }
        }
        if header.len() != input.columns.len() {
            bail!(
                "{url}: has {} columns, Kaggle's file has {}: {:?}",
                header.len(),
                input.columns.len(),
                input.columns
            );
        }
    }
    // Rows and prefixes, with the columns typed as the join reads them.
    let mut sql = geocode_sql(&args.bucket, &args.prefix, &args.out);
    sql.truncate(sql.find("-- One row per zip prefix").unwrap_or(sql.len()));
    let checks: Vec<String> = INPUTS
        .iter()
        .map(|input| {
            let table = table_of(input.file);
            match input.zip_column {
                Some(zip) => format!(
                    "SELECT '{file}' AS file, count(*) AS rows, \
                     count(*) FILTER (WHERE zip5({zip}) IS NULL) AS bad, \
                     min({zip}) FILTER (WHERE zip5({zip}) IS NULL) AS example FROM {table}",
                    file = input.file
                ),
                None => format!(
                    "SELECT '{file}' AS file, count(*) AS rows, 0 AS bad, CAST(NULL AS VARCHAR) AS example FROM {table}",
                    file = input.file
                ),
            }
        })
        .collect();
    sql.push_str(&checks.join("\nUNION ALL\n"));
    let batches = query(args, &sql).await.context("checking the input files")?;
    for batch in &batches {
        let files = batch.column(0).as_any().downcast_ref::<arrow::array::StringArray>();
        let rows = batch.column(1).as_any().downcast_ref::<arrow::array::Int64Array>();
        let bad = batch.column(2).as_any().downcast_ref::<arrow::array::Int64Array>();
        let examples = arrow::compute::cast(batch.column(3), &arrow::datatypes::DataType::Utf8)?;
        let examples = examples.as_any().downcast_ref::<arrow::array::StringArray>();
        let (Some(files), Some(rows), Some(bad), Some(examples)) = (files, rows, bad, examples) else {
            bail!("checking the input files: unexpected result types");
        };
        for i in 0..batch.num_rows() {
            let file = files.value(i);
            let input = INPUTS.iter().find(|x| x.file == file);
            if rows.value(i) == 0 {
                bail!("{}: has no rows", location(file));
            }
            if bad.value(i) > 0 {
                let column = input.and_then(|x| x.zip_column).unwrap_or("?");
                bail!(
                    "{}: column {column} holds {} values that are not zip prefixes, such as {:?}",
                    location(file),
                    bad.value(i),
                    examples.value(i)
                );
            }
        }
    }
    Ok(())
}

/// The table name `geocode.sql` gives a file.
fn table_of(file: &str) -> &'static str {
    match file {
        "olist_geolocation_dataset.csv" => "geolocation",
        "olist_customers_dataset.csv" => "customers",
        "olist_sellers_dataset.csv" => "sellers",
        "olist_orders_dataset.csv" => "orders",
        _ => "order_items",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_shows_the_sql_lagoa_geocode_runs() {
        let readme = include_str!("../README.md");
        assert!(readme.contains(&super::geocode_sql("datalake", "olist/", "enriched/")));
    }
}
