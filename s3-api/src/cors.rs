//! Cross-origin resource sharing as S3 does it: a bucket's CORS rules (Put/GetBucketCors, stored
//! as a bucket config document) answer browsers' preflight `OPTIONS` requests — which carry no
//! credentials, so the front door answers them before s3s — and add `Access-Control-*` headers
//! to actual requests that name an `Origin`.

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use lagoa_store::Store;
use s3s::dto::{CORSConfiguration, CORSRule};
use s3s::{S3Error, S3Result, s3_error};
use serde::{Deserialize, Serialize};

use crate::errors::custom;

/// The bucket config document holding a bucket's [`CorsRules`].
pub const CORS_DOC: &str = "cors";

/// Methods a CORS rule may allow (S3's list).
const METHODS: [&str; 5] = ["GET", "PUT", "HEAD", "POST", "DELETE"];

/// One stored rule, as PutBucketCors gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    #[serde(default)]
    pub expose_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<i32>,
}

/// A bucket's rules, in order: the first that matches a request answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRules {
    pub rules: Vec<CorsRule>,
}

/// Matches `value` against a pattern with at most one `*` (S3's AllowedOrigin/AllowedHeader).
fn wildcard_match(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((prefix, suffix)) => {
            value.len() >= prefix.len() + suffix.len() && value.starts_with(prefix) && value.ends_with(suffix)
        }
    }
}

fn invalid(message: String) -> S3Error {
    s3_error!(InvalidRequest, "{message}")
}

impl CorsRules {
    /// Validates a PutBucketCors configuration as S3 does.
    pub fn from_request(config: CORSConfiguration) -> S3Result<Self> {
        if config.cors_rules.is_empty() || config.cors_rules.len() > 100 {
            return Err(s3_error!(
                MalformedXML,
                "A CORS configuration holds 1 to 100 CORSRule elements"
            ));
        }
        let rules = config
            .cors_rules
            .into_iter()
            .map(|r: CORSRule| {
                if r.allowed_methods.is_empty() || r.allowed_origins.is_empty() {
                    return Err(s3_error!(MalformedXML, "Each CORSRule needs AllowedMethod and AllowedOrigin"));
                }
                if let Some(m) = r.allowed_methods.iter().find(|m| !METHODS.contains(&m.as_str())) {
                    return Err(invalid(format!(
                        "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
                    )));
                }
                if let Some(o) = r.allowed_origins.iter().find(|o| o.matches('*').count() > 1) {
                    return Err(invalid(format!("AllowedOrigin \"{o}\" can not have more than one wildcard.")));
                }
                let headers = r.allowed_headers.unwrap_or_default();
                if let Some(h) = headers.iter().find(|h| h.matches('*').count() > 1) {
                    return Err(invalid(format!("AllowedHeader \"{h}\" can not have more than one wildcard.")));
                }
                Ok(CorsRule {
                    id: r.id,
                    allowed_methods: r.allowed_methods,
                    allowed_origins: r.allowed_origins,
                    allowed_headers: headers,
                    expose_headers: r.expose_headers.unwrap_or_default(),
                    max_age_seconds: r.max_age_seconds,
                })
            })
            .collect::<S3Result<Vec<_>>>()?;
        Ok(Self { rules })
    }

    /// The configuration as GetBucketCors answers it.
    pub fn to_response(&self) -> Vec<CORSRule> {
        self.rules
            .iter()
            .map(|r| CORSRule {
                id: r.id.clone(),
                allowed_methods: r.allowed_methods.clone(),
                allowed_origins: r.allowed_origins.clone(),
                allowed_headers: (!r.allowed_headers.is_empty()).then(|| r.allowed_headers.clone()),
                expose_headers: (!r.expose_headers.is_empty()).then(|| r.expose_headers.clone()),
                max_age_seconds: r.max_age_seconds,
            })
            .collect()
    }

    /// The first rule that allows `origin` to use `method` with the `headers` it asks for.
    pub fn matching(&self, origin: &str, method: &str, headers: &[&str]) -> Option<&CorsRule> {
        self.rules.iter().find(|r| {
            r.allowed_origins.iter().any(|o| wildcard_match(o, origin))
                && r.allowed_methods.iter().any(|m| m == method)
                && headers.iter().all(|h| {
                    let h = h.to_ascii_lowercase();
                    r.allowed_headers.iter().any(|a| wildcard_match(&a.to_ascii_lowercase(), &h))
                })
        })
    }
}

impl CorsRule {
    /// The `Access-Control-*` headers this rule grants `origin`.
    fn grant(&self, origin: &str, headers: &mut HeaderMap) {
        let any_origin = self.allowed_origins.iter().any(|o| o == "*");
        let mut put = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        };
        put(
            "access-control-allow-origin",
            if any_origin { "*".into() } else { origin.to_owned() },
        );
        put("access-control-allow-methods", self.allowed_methods.join(", "));
        if !any_origin {
            put("access-control-allow-credentials", "true".into());
        }
        if !self.expose_headers.is_empty() {
            put("access-control-expose-headers", self.expose_headers.join(", "));
        }
        if let Some(age) = self.max_age_seconds {
            put("access-control-max-age", age.to_string());
        }
    }
}

/// A bucket's rules, if it has any (a missing bucket has none).
async fn rules_of(store: &Store, bucket: &str) -> Option<CorsRules> {
    let doc = store.bucket_config(bucket, CORS_DOC).await.ok()??;
    serde_json::from_slice(&doc).ok()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn forbidden(message: &'static str) -> S3Error {
    custom("AccessForbidden", StatusCode::FORBIDDEN, message)
}

/// Answers a preflight request (`OPTIONS` to a bucket or object) from the bucket's rules.
pub async fn preflight(store: &Store, bucket: &str, headers: &HeaderMap) -> Result<http::Response<s3s::Body>, S3Error> {
    let origin = header(headers, "origin").ok_or_else(|| {
        custom(
            "BadRequest",
            StatusCode::BAD_REQUEST,
            "Insufficient information. Origin request header needed.",
        )
    })?;
    let method = header(headers, "access-control-request-method").ok_or_else(|| {
        custom(
            "BadRequest",
            StatusCode::BAD_REQUEST,
            "Invalid Access-Control-Request-Method: null",
        )
    })?;
    let requested: Vec<&str> = header(headers, "access-control-request-headers")
        .map(|h| h.split(',').map(str::trim).filter(|h| !h.is_empty()).collect())
        .unwrap_or_default();
    let rules = rules_of(store, bucket)
        .await
        .ok_or_else(|| forbidden("CORSResponse: CORS is not enabled for this bucket."))?;
    let rule = rules.matching(origin, method, &requested).ok_or_else(|| {
        forbidden(
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
        )
    })?;
    let mut res = http::Response::new(s3s::Body::empty());
    let out = res.headers_mut();
    rule.grant(origin, out);
    if !requested.is_empty()
        && let Ok(v) = HeaderValue::from_str(&requested.join(", "))
    {
        out.insert("access-control-allow-headers", v);
    }
    out.insert(
        http::header::VARY,
        HeaderValue::from_static("Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
    );
    Ok(res)
}

/// Adds the `Access-Control-*` headers of the first matching rule to the answer of an actual
/// request from `origin` (nothing when no rule matches: the browser then withholds the answer).
pub async fn decorate(store: &Store, bucket: &str, origin: &str, method: &Method, res: &mut http::Response<s3s::Body>) {
    let Some(rules) = rules_of(store, bucket).await else {
        return;
    };
    if let Some(rule) = rules.matching(origin, method.as_str(), &[]) {
        rule.grant(origin, res.headers_mut());
    }
    // Whether or not a rule matched: a shared cache must not serve one origin's answer to another.
    res.headers_mut()
        .append(http::header::VARY, HeaderValue::from_static("Origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        CorsRule {
            id: None,
            allowed_methods: methods.iter().map(|s| s.to_string()).collect(),
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            allowed_headers: headers.iter().map(|s| s.to_string()).collect(),
            expose_headers: vec![],
            max_age_seconds: None,
        }
    }

    #[test]
    fn origins_methods_and_headers_match_with_one_wildcard() {
        let rules = CorsRules {
            rules: vec![
                rule(&["https://*.example.org"], &["PUT", "POST"], &["content-*", "x-amz-*"]),
                rule(&["*"], &["GET"], &[]),
            ],
        };
        let first = Some(&rules.rules[0]);
        assert_eq!(rules.matching("https://app.example.org", "PUT", &["Content-Type"]), first);
        assert_eq!(
            rules.matching("https://app.example.org", "PUT", &["x-amz-date", "authorization"]),
            None
        );
        assert_eq!(rules.matching("https://example.org", "PUT", &[]), None, "the * needs its dot");
        assert_eq!(rules.matching("http://app.example.org", "POST", &[]), None);
        assert_eq!(rules.matching("http://anyone", "GET", &[]), Some(&rules.rules[1]));
        assert_eq!(rules.matching("http://anyone", "GET", &["x-custom"]), None);
        assert_eq!(rules.matching("http://anyone", "DELETE", &[]), None);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let config = |r: CORSRule| CORSConfiguration { cors_rules: vec![r] };
        let base = || CORSRule {
            allowed_methods: vec!["GET".into()],
            allowed_origins: vec!["*".into()],
            ..Default::default()
        };
        assert!(CorsRules::from_request(config(base())).is_ok());
        let mut r = base();
        r.allowed_methods = vec!["PATCH".into()];
        assert_eq!(
            CorsRules::from_request(config(r)).unwrap_err().code().as_str(),
            "InvalidRequest"
        );
        let mut r = base();
        r.allowed_origins = vec!["https://*.*.org".into()];
        assert_eq!(
            CorsRules::from_request(config(r)).unwrap_err().code().as_str(),
            "InvalidRequest"
        );
        let mut r = base();
        r.allowed_methods = vec![];
        assert_eq!(
            CorsRules::from_request(config(r)).unwrap_err().code().as_str(),
            "MalformedXML"
        );
        assert!(CorsRules::from_request(CORSConfiguration { cors_rules: vec![] }).is_err());
    }
}
