//! The policies MinIO ships under fixed names, so `mc admin policy attach … readwrite` and a
//! users file written for MinIO mean the same here.

/// Name → policy document, as MinIO defines them.
pub const CANNED_POLICIES: &[(&str, &str)] = &[
    (
        "readonly",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetBucketLocation","s3:GetObject"],"Resource":["arn:aws:s3:::*"]}]}"#,
    ),
    (
        "readwrite",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}"#,
    ),
    (
        "writeonly",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::*"]}]}"#,
    ),
    (
        "consoleAdmin",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["admin:*"]},{"Effect":"Allow","Action":["kms:*"]},{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}"#,
    ),
];

/// The document of a canned policy.
pub fn canned_policy(name: &str) -> Option<&'static str> {
    CANNED_POLICIES.iter().find(|(n, _)| *n == name).map(|(_, doc)| *doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Policy, PolicyKind};

    #[test]
    fn canned_policies_are_valid_identity_policies() {
        for (name, doc) in CANNED_POLICIES {
            Policy::parse(doc, PolicyKind::Identity).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
