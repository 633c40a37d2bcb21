//! The condition keys a request supplies (`aws:SourceIp`, `s3:prefix`, `s3:x-amz-acl`,
//! `s3:ExistingObjectTag/<key>`, …), computed only when a policy's condition asks for them.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::net::IpAddr;

use lagoa_access::Context;

/// How the request was authenticated, for `aws:PrincipalType`, `s3:authType` and
/// `s3:signatureversion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Principal<'a> {
    Anonymous,
    Root(&'a str),
    User(&'a str),
}

/// One request's condition values.
pub(crate) struct RequestContext<'a> {
    pub principal: Principal<'a>,
    pub headers: &'a http::HeaderMap,
    pub uri: &'a http::Uri,
    pub peer: Option<IpAddr>,
    /// Whether the request came over TLS (reported by a trusted proxy: Lagoa itself speaks HTTP).
    pub secure: bool,
    /// The object's tags, when a policy reads `s3:ExistingObjectTag/…` and the object exists.
    pub object_tags: Option<Vec<(String, String)>>,
    query: OnceCell<Vec<(String, String)>>,
    request_tags: OnceCell<Vec<(String, String)>>,
}

impl<'a> RequestContext<'a> {
    pub(crate) fn new(principal: Principal<'a>, facts: &super::Facts<'a>) -> Self {
        Self {
            principal,
            headers: facts.headers,
            uri: facts.uri,
            peer: facts.peer,
            secure: facts.secure,
            object_tags: None,
            query: OnceCell::new(),
            request_tags: OnceCell::new(),
        }
    }

    fn query(&self) -> &[(String, String)] {
        self.query
            // Decoded as s3s decodes the parameters the operation acts on.
            .get_or_init(|| {
                self.uri
                    .query()
                    .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                    .unwrap_or_default()
            })
    }

    fn query_value(&self, name: &str) -> Option<Vec<Cow<'_, str>>> {
        self.query()
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| vec![Cow::Borrowed(v.as_str())])
    }

    fn header(&self, name: &str) -> Option<Vec<Cow<'_, str>>> {
        let values: Vec<Cow<'_, str>> = self
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(Cow::Borrowed)
            .collect();
        (!values.is_empty()).then_some(values)
    }

    /// The tags of `x-amz-tagging` (PUT, copy, multipart start).
    fn request_tags(&self) -> &[(String, String)] {
        self.request_tags.get_or_init(|| {
            self.headers
                .get("x-amz-tagging")
                .and_then(|v| v.to_str().ok())
                .map(crate::lagoa::form_urlencoded_pairs)
                .unwrap_or_default()
        })
    }

    fn signed_in_query(&self) -> bool {
        self.uri
            .query()
            .is_some_and(|q| q.contains("X-Amz-Signature=") || q.contains("Signature="))
    }
}

impl Context for RequestContext<'_> {
    fn values(&self, key: &str) -> Option<Vec<Cow<'_, str>>> {
        let one = |v: String| Some(vec![Cow::Owned(v)]);
        let user = match self.principal {
            Principal::Anonymous => None,
            Principal::Root(key) | Principal::User(key) => Some(key),
        };
        match key {
            "aws:sourceip" => self.peer.and_then(|ip| one(ip.to_canonical().to_string())),
            // Lagoa listens on plain HTTP; TLS ends in front of it, at a trusted proxy that says so.
            "aws:securetransport" => one(self.secure.to_string()),
            "aws:username" | "aws:userid" => user.map(|u| vec![Cow::Borrowed(u)]),
            "aws:principaltype" => one(match self.principal {
                Principal::Anonymous => "Anonymous",
                Principal::Root(_) => "Account",
                Principal::User(_) => "User",
            }
            .to_owned()),
            "aws:currenttime" => time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
                .and_then(one),
            "aws:epochtime" => one(time::OffsetDateTime::now_utc().unix_timestamp().to_string()),
            "aws:useragent" => self.header("user-agent"),
            "aws:referer" => self.header("referer"),
            "s3:prefix" => self.query_value("prefix"),
            "s3:delimiter" => self.query_value("delimiter"),
            "s3:max-keys" => self.query_value("max-keys"),
            "s3:versionid" => self.query_value("versionId"),
            "s3:signatureversion" => user.map(|_| {
                let v2 = self
                    .headers
                    .get("authorization")
                    .is_some_and(|a| a.as_bytes().starts_with(b"AWS "))
                    || self.query().iter().any(|(k, _)| k == "AWSAccessKeyId");
                vec![Cow::Borrowed(if v2 { "AWS" } else { "AWS4-HMAC-SHA256" })]
            }),
            "s3:authtype" => user.map(|_| {
                vec![Cow::Borrowed(if self.signed_in_query() {
                    "REST-QUERY-STRING"
                } else if self.headers.contains_key("authorization") {
                    "REST-HEADER"
                } else {
                    "POST"
                })]
            }),
            "s3:requestobjecttagkeys" => {
                let tags = self.request_tags();
                (!tags.is_empty()).then(|| tags.iter().map(|(k, _)| Cow::Borrowed(k.as_str())).collect())
            }
            "s3:object-lock-mode" => self.header("x-amz-object-lock-mode"),
            "s3:object-lock-retain-until-date" => self.header("x-amz-object-lock-retain-until-date"),
            "s3:object-lock-legal-hold" => self.header("x-amz-object-lock-legal-hold"),
            _ => {
                if let Some(tag) = key.strip_prefix("s3:existingobjecttag/") {
                    let tags = self.object_tags.as_ref()?;
                    tags.iter()
                        .find(|(k, _)| k == tag)
                        .map(|(_, v)| vec![Cow::Borrowed(v.as_str())])
                } else if let Some(tag) = key.strip_prefix("s3:requestobjecttag/") {
                    self.request_tags()
                        .iter()
                        .find(|(k, _)| k == tag)
                        .map(|(_, v)| vec![Cow::Borrowed(v.as_str())])
                } else if let Some(header) = key.strip_prefix("s3:").filter(|h| h.starts_with("x-amz-")) {
                    self.header(header)
                } else {
                    None
                }
            }
        }
    }
}
