//! Virtual-host-style addressing for `--domain`: `bucket.DOMAIN[:port]` names a bucket; any other
//! host (the bare domain, `localhost:9000`, a Kubernetes service name, an IP) stays path-style.
//! s3s's `SingleDomain` keeps the port in the comparison and treats unknown hosts as CNAME bucket
//! names, which breaks path-style clients that reach the server under another name.

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};

/// The configured base domain.
#[derive(Debug, Clone)]
pub struct DomainHost {
    domain: String,
}

impl DomainHost {
    /// `domain` is a host name without port, e.g. `s3.example.com`.
    pub fn new(domain: &str) -> Option<Self> {
        let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let valid = !d.is_empty()
            && d.split('.')
                .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        valid.then_some(Self { domain: d })
    }
}

/// `host` without a trailing `:port`.
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

impl DomainHost {
    /// The bucket a `Host` header names (`bucket.DOMAIN[:port]`), if any: what s3s's router
    /// reads, for the front door's own uses (browser POST forms, CORS).
    pub fn bucket_of(&self, host: &str) -> Option<String> {
        let lower = strip_port(host).trim_end_matches('.').to_ascii_lowercase();
        let bucket = lower.strip_suffix(self.domain.as_str())?.strip_suffix('.')?;
        (!bucket.is_empty()).then(|| bucket.to_owned())
    }
}

impl S3Host for DomainHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        match self.bucket_of(host) {
            Some(bucket) => Ok(VirtualHost::new(self.domain.as_str()).with_bucket(bucket)),
            None => Ok(VirtualHost::new(self.domain.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_from_subdomains_only() {
        let h = DomainHost::new("s3.lagoa.test").unwrap();
        let vh = h.parse_host_header("data.s3.lagoa.test:9000").unwrap();
        assert_eq!(vh.bucket(), Some("data"));
        assert_eq!(h.parse_host_header("s3.lagoa.test:9000").unwrap().bucket(), None);
        assert_eq!(h.parse_host_header("localhost:9000").unwrap().bucket(), None);
        assert_eq!(h.parse_host_header("lagoa").unwrap().bucket(), None);
        assert!(DomainHost::new("http://x").is_none());
    }
}
