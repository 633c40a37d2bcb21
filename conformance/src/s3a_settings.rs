//! The hadoop-aws settings the compatibility matrix proves (`conformance/s3a.conf`), and the
//! reader of Spark's `key value` properties format it is written in. `s3a-replay` checks the
//! file against what it emulates; the Kubernetes tests check Lagoa's `spark-defaults.conf`
//! against the file.

/// `key value` pairs of a Spark properties file (`spark-defaults.conf`), in order; blank lines
/// and `#` comments skipped.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (k.to_owned(), v.trim().to_owned())
        })
        .collect()
}

/// The settings `conformance/s3a.conf` declares proven.
pub fn proven_s3a_settings() -> Vec<(String, String)> {
    parse_properties(include_str!("../s3a.conf"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_key_then_value() {
        let parsed = parse_properties("# c\n\nspark.a   1 2\n  spark.b\ttrue\nspark.c\n");
        let want = [("spark.a", "1 2"), ("spark.b", "true"), ("spark.c", "")];
        assert_eq!(parsed, want.map(|(k, v)| (k.to_owned(), v.to_owned())));
        assert!(
            proven_s3a_settings()
                .iter()
                .any(|(k, v)| k == "spark.hadoop.fs.s3a.path.style.access" && v == "true")
        );
    }
}
