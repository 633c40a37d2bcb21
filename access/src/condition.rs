//! The `Condition` block of a statement: IAM's operators (String*, Numeric*, Date*, Bool,
//! IpAddress, Arn*, Null, BinaryEquals), their `…IfExists` forms and the `ForAnyValue:` /
//! `ForAllValues:` set qualifiers, evaluated against the values a request supplies for each
//! condition key. Parsed and checked once, when the policy is stored.

use std::borrow::Cow;

use crate::PolicyError;
use crate::variables;

/// Values a request supplies for condition keys.
pub trait Context {
    /// The values of `key` (its `service:name` part lowercase, e.g. `aws:sourceip` or
    /// `s3:existingobjecttag/Project`), `None` when the request has no such key.
    fn values(&self, key: &str) -> Option<Vec<Cow<'_, str>>>;
}

/// How a condition treats a key with several values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    None,
    ForAnyValue,
    ForAllValues,
}

/// The comparison a condition makes (negated operators are the positive ones plus `negated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    Null,
}

/// One operator, one key, its values.
#[derive(Debug, Clone)]
pub struct Condition {
    comparison: Comparison,
    negated: bool,
    if_exists: bool,
    qualifier: SetQualifier,
    key: String,
    values: Vec<String>,
    /// Parsed forms of `values` for the typed operators.
    numbers: Vec<f64>,
    dates: Vec<i128>,
    networks: Vec<ipnet::IpNet>,
    /// Whether a value holds a policy variable (`${aws:username}`).
    has_variables: bool,
}

/// The operator names IAM knows, with the comparison and whether it is negated.
const OPERATORS: &[(&str, Comparison, bool)] = &[
    ("StringEquals", Comparison::StringEquals, false),
    ("StringNotEquals", Comparison::StringEquals, true),
    ("StringEqualsIgnoreCase", Comparison::StringEqualsIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", Comparison::StringEqualsIgnoreCase, true),
    ("StringLike", Comparison::StringLike, false),
    ("StringNotLike", Comparison::StringLike, true),
    ("NumericEquals", Comparison::NumericEquals, false),
    ("NumericNotEquals", Comparison::NumericEquals, true),
    ("NumericLessThan", Comparison::NumericLessThan, false),
    ("NumericLessThanEquals", Comparison::NumericLessThanEquals, false),
    ("NumericGreaterThan", Comparison::NumericGreaterThan, false),
    ("NumericGreaterThanEquals", Comparison::NumericGreaterThanEquals, false),
    ("DateEquals", Comparison::DateEquals, false),
    ("DateNotEquals", Comparison::DateEquals, true),
    ("DateLessThan", Comparison::DateLessThan, false),
    ("DateLessThanEquals", Comparison::DateLessThanEquals, false),
    ("DateGreaterThan", Comparison::DateGreaterThan, false),
    ("DateGreaterThanEquals", Comparison::DateGreaterThanEquals, false),
    ("Bool", Comparison::Bool, false),
    ("BinaryEquals", Comparison::BinaryEquals, false),
    ("IpAddress", Comparison::IpAddress, false),
    ("NotIpAddress", Comparison::IpAddress, true),
    ("ArnEquals", Comparison::StringEquals, false),
    ("ArnNotEquals", Comparison::StringEquals, true),
    ("ArnLike", Comparison::StringLike, false),
    ("ArnNotLike", Comparison::StringLike, true),
    ("Null", Comparison::Null, false),
];

impl Condition {
    /// Parses the conditions of one operator block (`"StringLike": {"s3:prefix": ["a/*"]}`).
    pub(crate) fn parse_block(operator: &str, block: &serde_json::Value) -> Result<Vec<Self>, PolicyError> {
        let invalid = || PolicyError::new(format!("Invalid Condition type : {operator}"));
        let (qualifier, rest) = if let Some(rest) = operator.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, rest)
        } else if let Some(rest) = operator.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, rest)
        } else {
            (SetQualifier::None, operator)
        };
        let (name, if_exists) = match rest.strip_suffix("IfExists") {
            Some(name) => (name, true),
            None => (rest, false),
        };
        let &(_, comparison, negated) = OPERATORS.iter().find(|(n, _, _)| *n == name).ok_or_else(invalid)?;
        if comparison == Comparison::Null && if_exists {
            return Err(invalid());
        }
        let entries = block
            .as_object()
            .ok_or_else(|| PolicyError::new(format!("Condition {operator} must map condition keys to values")))?;
        let mut out = Vec::with_capacity(entries.len());
        for (key, values) in entries {
            out.push(Self::parse_one(comparison, negated, if_exists, qualifier, key, values)?);
        }
        Ok(out)
    }

    fn parse_one(
        comparison: Comparison,
        negated: bool,
        if_exists: bool,
        qualifier: SetQualifier,
        key: &str,
        values: &serde_json::Value,
    ) -> Result<Self, PolicyError> {
        let key = normalize_key(key)?;
        let values = scalar_list(values).ok_or_else(|| {
            PolicyError::new(format!(
                "Condition key {key}: values must be strings, numbers or booleans (or a list of them)"
            ))
        })?;
        if values.is_empty() {
            return Err(PolicyError::new(format!("Condition key {key} has no value")));
        }
        let bad = |v: &str, what: &str| PolicyError::new(format!("Condition key {key}: {v:?} is not {what}"));
        let mut condition = Self {
            comparison,
            negated,
            if_exists,
            qualifier,
            key: key.clone(),
            values: Vec::new(),
            numbers: Vec::new(),
            dates: Vec::new(),
            networks: Vec::new(),
            has_variables: false,
        };
        for v in &values {
            match comparison {
                Comparison::NumericEquals
                | Comparison::NumericLessThan
                | Comparison::NumericLessThanEquals
                | Comparison::NumericGreaterThan
                | Comparison::NumericGreaterThanEquals => {
                    condition.numbers.push(v.parse().map_err(|_| bad(v, "a number"))?);
                }
                Comparison::DateEquals
                | Comparison::DateLessThan
                | Comparison::DateLessThanEquals
                | Comparison::DateGreaterThan
                | Comparison::DateGreaterThanEquals => {
                    condition
                        .dates
                        .push(parse_date(v).ok_or_else(|| bad(v, "an ISO 8601 date or epoch seconds"))?);
                }
                Comparison::Bool | Comparison::Null if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") => {
                    return Err(bad(v, "true or false"));
                }
                Comparison::IpAddress => condition
                    .networks
                    .push(parse_network(v).ok_or_else(|| bad(v, "an IP address or CIDR block"))?),
                _ => {}
            }
            condition.has_variables |= v.contains("${");
        }
        condition.values = values;
        Ok(condition)
    }

    /// The condition key this condition reads.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether the condition holds for a request.
    pub fn holds(&self, ctx: &dyn Context) -> bool {
        let present = ctx.values(&self.key).filter(|v| !v.is_empty());
        if self.comparison == Comparison::Null {
            // "Null": true means the key must be absent.
            let want_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            return want_absent == present.is_none();
        }
        let Some(actual) = present else {
            return match self.qualifier {
                SetQualifier::ForAllValues => true,
                SetQualifier::ForAnyValue => self.if_exists,
                SetQualifier::None => self.if_exists || self.negated,
            };
        };
        let values = self.expanded_values(ctx);
        let Some(values) = values else {
            // A variable the request cannot fill: nothing matches.
            return self.negated;
        };
        let matches_one = |actual: &str| {
            let any = values
                .iter()
                .enumerate()
                .any(|(i, expected)| self.compare(actual, expected, i));
            any != self.negated
        };
        match self.qualifier {
            SetQualifier::ForAllValues => actual.iter().all(|a| matches_one(a)),
            SetQualifier::ForAnyValue => actual.iter().any(|a| matches_one(a)),
            SetQualifier::None if self.negated => actual.iter().all(|a| matches_one(a)),
            SetQualifier::None => actual.iter().any(|a| matches_one(a)),
        }
    }

    /// The condition's values with policy variables filled in (`None` if one cannot be).
    fn expanded_values<'a>(&'a self, ctx: &dyn Context) -> Option<Vec<Cow<'a, str>>> {
        if !self.has_variables
            || !matches!(
                self.comparison,
                Comparison::StringEquals | Comparison::StringEqualsIgnoreCase | Comparison::StringLike
            )
        {
            return Some(self.values.iter().map(|v| Cow::Borrowed(v.as_str())).collect());
        }
        self.values.iter().map(|v| variables::expand(v, ctx)).collect()
    }

    /// The positive comparison of one request value with the `index`th condition value.
    fn compare(&self, actual: &str, expected: &str, index: usize) -> bool {
        use Comparison as C;
        match self.comparison {
            C::StringEquals | C::BinaryEquals => actual == expected,
            C::StringEqualsIgnoreCase => actual.to_lowercase() == expected.to_lowercase(),
            C::StringLike => crate::wildcard::matches(expected, actual),
            C::NumericEquals
            | C::NumericLessThan
            | C::NumericLessThanEquals
            | C::NumericGreaterThan
            | C::NumericGreaterThanEquals => {
                let (Ok(a), Some(&e)) = (actual.parse::<f64>(), self.numbers.get(index)) else {
                    return false;
                };
                match self.comparison {
                    C::NumericEquals => a == e,
                    C::NumericLessThan => a < e,
                    C::NumericLessThanEquals => a <= e,
                    C::NumericGreaterThan => a > e,
                    _ => a >= e,
                }
            }
            C::DateEquals | C::DateLessThan | C::DateLessThanEquals | C::DateGreaterThan | C::DateGreaterThanEquals => {
                let (Some(a), Some(&e)) = (parse_date(actual), self.dates.get(index)) else {
                    return false;
                };
                match self.comparison {
                    C::DateEquals => a == e,
                    C::DateLessThan => a < e,
                    C::DateLessThanEquals => a <= e,
                    C::DateGreaterThan => a > e,
                    _ => a >= e,
                }
            }
            C::Bool => actual.eq_ignore_ascii_case(expected),
            C::IpAddress => match (actual.parse::<std::net::IpAddr>(), self.networks.get(index)) {
                (Ok(ip), Some(net)) => net.contains(&ip),
                _ => false,
            },
            C::Null => false,
        }
    }

    /// Whether this condition narrows who the statement applies to, so that a statement
    /// granting `*` under it is not public (AWS's list: a fixed source address, account,
    /// organization, principal or user id).
    pub(crate) fn restricts_principal(&self) -> bool {
        const NARROWING: &[&str] = &[
            "aws:sourceip",
            "aws:sourcevpc",
            "aws:sourcevpce",
            "aws:sourcearn",
            "aws:sourceaccount",
            "aws:sourceowner",
            "aws:principalaccount",
            "aws:principalarn",
            "aws:principalorgid",
            "aws:userid",
            "aws:username",
        ];
        // Set qualifiers hold vacuously when the key is missing (ForAllValues): no narrowing.
        if self.negated || self.if_exists || self.qualifier != SetQualifier::None || !NARROWING.contains(&self.key.as_str()) {
            return false;
        }
        match self.comparison {
            Comparison::IpAddress => self.networks.iter().all(|n| n.prefix_len() > 0),
            Comparison::StringEquals | Comparison::StringEqualsIgnoreCase => true,
            Comparison::StringLike => self.values.iter().all(|v| !v.contains('*') && !v.contains('?')),
            _ => false,
        }
    }
}

/// Condition keys are case-insensitive; the part after a `/` (a tag key) is not.
fn normalize_key(key: &str) -> Result<String, PolicyError> {
    let (name, rest) = match key.split_once('/') {
        Some((name, rest)) => (name, Some(rest)),
        None => (key, None),
    };
    let lower = name.to_ascii_lowercase();
    let valid = lower.split_once(':').is_some_and(|(service, n)| {
        !service.is_empty() && !n.is_empty() && service.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !valid {
        return Err(PolicyError::new(format!("Policy has an invalid condition key: {key}")));
    }
    Ok(match rest {
        Some(rest) => format!("{lower}/{rest}"),
        None => lower,
    })
}

/// A JSON scalar or list of scalars as strings.
fn scalar_list(v: &serde_json::Value) -> Option<Vec<String>> {
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match v {
        serde_json::Value::Array(items) => items.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

/// ISO 8601 (RFC 3339, or a bare date) or epoch seconds → Unix nanoseconds.
fn parse_date(s: &str) -> Option<i128> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp_nanos());
    }
    if let Ok(d) = time::Date::parse(s, &time::macros::format_description!("[year]-[month]-[day]")) {
        return Some(d.midnight().assume_utc().unix_timestamp_nanos());
    }
    s.parse::<i64>().ok().map(|secs| i128::from(secs) * 1_000_000_000)
}

/// An address (a one-address network) or CIDR block.
fn parse_network(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Values(HashMap<&'static str, Vec<&'static str>>);

    impl Context for Values {
        fn values(&self, key: &str) -> Option<Vec<Cow<'_, str>>> {
            self.0.get(key).map(|v| v.iter().map(|s| Cow::Borrowed(*s)).collect())
        }
    }

    fn ctx(pairs: &[(&'static str, &[&'static str])]) -> Values {
        Values(pairs.iter().map(|(k, v)| (*k, v.to_vec())).collect())
    }

    fn cond(op: &str, key: &str, values: serde_json::Value) -> Condition {
        let block = serde_json::json!({ key: values });
        Condition::parse_block(op, &block).unwrap().remove(0)
    }

    #[test]
    fn string_operators_and_missing_keys() {
        let c = ctx(&[("s3:prefix", &["home/alice/x"])]);
        assert!(cond("StringLike", "s3:prefix", "home/alice/*".into()).holds(&c));
        assert!(!cond("StringLike", "s3:prefix", "home/bob/*".into()).holds(&c));
        assert!(cond("StringNotLike", "s3:prefix", "home/bob/*".into()).holds(&c));
        assert!(cond("StringEquals", "S3:Prefix", serde_json::json!(["a", "home/alice/x"])).holds(&c));
        assert!(!cond("StringEquals", "s3:delimiter", "/".into()).holds(&c));
        assert!(cond("StringEqualsIfExists", "s3:delimiter", "/".into()).holds(&c));
        assert!(cond("StringNotEquals", "s3:delimiter", "/".into()).holds(&c));
        assert!(cond("Null", "s3:delimiter", "true".into()).holds(&c));
        assert!(!cond("Null", "s3:prefix", "true".into()).holds(&c));
        assert!(cond("StringEqualsIgnoreCase", "s3:prefix", "HOME/ALICE/X".into()).holds(&c));
    }

    #[test]
    fn typed_operators() {
        let c = ctx(&[
            ("aws:sourceip", &["10.1.2.3"]),
            ("aws:securetransport", &["false"]),
            ("s3:max-keys", &["50"]),
            ("aws:currenttime", &["2026-12-02T10:00:00Z"]),
        ]);
        assert!(cond("IpAddress", "aws:SourceIp", "10.0.0.0/8".into()).holds(&c));
        assert!(!cond("IpAddress", "aws:SourceIp", serde_json::json!(["192.168.0.0/16", "::1"])).holds(&c));
        assert!(cond("NotIpAddress", "aws:SourceIp", "192.168.0.0/16".into()).holds(&c));
        assert!(cond("Bool", "aws:SecureTransport", false.into()).holds(&c));
        assert!(!cond("Bool", "aws:SecureTransport", "true".into()).holds(&c));
        assert!(cond("NumericLessThanEquals", "s3:max-keys", 50.into()).holds(&c));
        assert!(!cond("NumericLessThan", "s3:max-keys", "50".into()).holds(&c));
        assert!(cond("DateGreaterThan", "aws:CurrentTime", "2026-01-01T00:00:00Z".into()).holds(&c));
        assert!(cond("DateLessThan", "aws:CurrentTime", "2027-01-01".into()).holds(&c));
    }

    #[test]
    fn set_qualifiers() {
        let c = ctx(&[("s3:requestobjecttagkeys", &["a", "b"])]);
        assert!(
            cond(
                "ForAllValues:StringEquals",
                "s3:RequestObjectTagKeys",
                serde_json::json!(["a", "b", "c"])
            )
            .holds(&c)
        );
        assert!(
            !cond(
                "ForAllValues:StringEquals",
                "s3:RequestObjectTagKeys",
                serde_json::json!(["a"])
            )
            .holds(&c)
        );
        assert!(
            cond(
                "ForAnyValue:StringEquals",
                "s3:RequestObjectTagKeys",
                serde_json::json!(["a"])
            )
            .holds(&c)
        );
        assert!(cond("ForAllValues:StringEquals", "s3:other", serde_json::json!(["a"])).holds(&c));
        assert!(!cond("ForAnyValue:StringEquals", "s3:other", serde_json::json!(["a"])).holds(&c));
    }

    #[test]
    fn invalid_conditions_are_refused_when_stored() {
        let refuse =
            |op: &str, key: &str, v: serde_json::Value| Condition::parse_block(op, &serde_json::json!({ key: v })).is_err();
        assert!(refuse("StringSortOf", "s3:prefix", "a".into()));
        assert!(refuse("IpAddress", "aws:SourceIp", "not-an-ip".into()));
        assert!(refuse("NumericEquals", "s3:max-keys", "ten".into()));
        assert!(refuse("Bool", "aws:SecureTransport", "yes".into()));
        assert!(refuse("StringEquals", "prefix", "a".into()));
        assert!(refuse("NullIfExists", "s3:prefix", "true".into()));
        assert!(refuse("StringEquals", "s3:prefix", serde_json::json!({"a": 1})));
    }
}
