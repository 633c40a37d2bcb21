//! What `lagoa k8s render` can change, with the defaults of the checked-in manifests, and the
//! checks that keep a bad value from reaching `kubectl apply`.

/// How the client Service is exposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceType {
    /// Inside the cluster only (`lagoa.<namespace>.svc.cluster.local`).
    ClusterIp,
    /// An external address from MetalLB (or a cloud load balancer).
    LoadBalancer,
}

impl ServiceType {
    /// The Service `type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIp => "ClusterIP",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

/// Everything a rendering depends on.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Namespace of every object (Lagoa and the Spark jobs that use it).
    pub namespace: String,
    /// Pods of the StatefulSet: 1, or 0 to stop Lagoa and keep its volume.
    pub replicas: i32,
    /// Storage class of the data volume claim.
    pub storage_class: String,
    /// Size of the data volume claim (a Kubernetes quantity, e.g. `50Gi`).
    pub storage: String,
    /// The Lagoa image (built from `statefulset/Containerfile`).
    pub image: String,
    /// How the client Service is exposed.
    pub service_type: ServiceType,
    /// Host name of an Ingress for S3; no Ingress when `None`.
    pub ingress_host: Option<String>,
    /// IngressClass of that Ingress (`public` is microk8s's ingress add-on).
    pub ingress_class: String,
    /// Memory limit of the compute container; its query memory pool (`--memory-limit`) is this
    /// minus [`COMPUTE_HEADROOM`].
    pub compute_memory: String,
}

/// Memory of the compute container outside DataFusion's pool: decoders, scan buffers, the
/// RocksDB secondary, allocator slack. Measured at up to +199 MiB over the pool (full sort of a
/// 1 GiB CSV under a 256 MiB pool, README Benchmarks); 512 MiB keeps the container clear of an
/// OOM kill.
pub const COMPUTE_HEADROOM: u128 = 512 << 20;

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            namespace: "ml-data-engg".into(),
            replicas: 1,
            storage_class: "microk8s-hostpath".into(),
            storage: "50Gi".into(),
            image: format!("localhost:32000/lagoa:{}", env!("CARGO_PKG_VERSION")),
            service_type: ServiceType::ClusterIp,
            ingress_host: None,
            ingress_class: "public".into(),
            compute_memory: "2Gi".into(),
        }
    }
}

/// A value `lagoa k8s render` refuses, saying which and why.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// An option's value is not usable.
    #[error("--{option} {value:?}: {reason}")]
    Invalid {
        option: &'static str,
        value: String,
        reason: String,
    },
    /// A document could not be serialised (a bug: the objects are typed).
    #[error("serialising {kind} to YAML: {source}")]
    Yaml {
        kind: String,
        source: serde_saphyr::SerializeError,
    },
}

impl RenderOptions {
    /// Checks every value; the first bad one is the error.
    pub fn validate(&self) -> Result<(), RenderError> {
        let invalid = |option, value: &str, reason: &str| RenderError::Invalid {
            option,
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        if !is_dns_label(&self.namespace) {
            return Err(invalid(
                "namespace",
                &self.namespace,
                "not a DNS-1123 label (lower-case letters, digits and '-', at most 63)",
            ));
        }
        if !(0..=1).contains(&self.replicas) {
            return Err(invalid(
                "replicas",
                &self.replicas.to_string(),
                "Lagoa is one store per volume, not a cluster: more than one pod would put several independent stores behind one Service. Use 1 (or 0 to stop it and keep the volume)",
            ));
        }
        if !is_dns_subdomain(&self.storage_class) {
            return Err(invalid("storage-class", &self.storage_class, "not a DNS-1123 subdomain"));
        }
        match parse_quantity(&self.storage) {
            Some(bytes) if bytes >= 1 << 30 => {}
            _ => return Err(invalid("storage", &self.storage, "not a size of 1Gi or more (e.g. 50Gi)")),
        }
        if self.image.is_empty() || self.image.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("image", &self.image, "not an image reference"));
        }
        match parse_quantity(&self.compute_memory) {
            Some(bytes) if bytes >= COMPUTE_HEADROOM * 2 => {}
            _ => {
                return Err(invalid(
                    "compute-memory",
                    &self.compute_memory,
                    "not a size of 1Gi or more (512Mi of it stays outside the query pool)",
                ));
            }
        }
        if let Some(host) = &self.ingress_host
            && !is_dns_subdomain(host)
        {
            return Err(invalid("ingress-host", host, "not a DNS host name"));
        }
        if !is_dns_subdomain(&self.ingress_class) {
            return Err(invalid("ingress-class", &self.ingress_class, "not a DNS-1123 subdomain"));
        }
        Ok(())
    }

    /// The compute container's query memory pool in MiB (its `--memory-limit`).
    pub(crate) fn compute_pool_mib(&self) -> u128 {
        parse_quantity(&self.compute_memory).map_or(0, |bytes| (bytes - COMPUTE_HEADROOM) >> 20)
    }
}

/// Bytes of a Kubernetes quantity written as an integer with an optional binary (`Ki`…`Ei`) or
/// decimal (`k`…`E`) suffix; `None` for anything else (fractions and exponents included).
pub fn parse_quantity(text: &str) -> Option<u128> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits);
    let number: u128 = number.parse().ok()?;
    let factor: u128 = match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        "Ei" => 1 << 60,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "P" => 1_000_000_000_000_000,
        "E" => 1_000_000_000_000_000_000,
        _ => return None,
    };
    number.checked_mul(factor)
}

/// A DNS-1123 label: what namespaces and most names must be.
fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("50Gi"), Some(50 << 30));
        assert_eq!(parse_quantity("2G"), Some(2_000_000_000));
        assert_eq!(parse_quantity("1024"), Some(1024));
        for bad in ["", "Gi", "1.5Gi", "1e9", "-1Gi", "5 Gi", "5gi"] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
    }

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        RenderOptions::default().validate().unwrap();
        type Change = fn(&mut RenderOptions);
        let cases: [(&str, Change); 8] = [
            ("namespace", |o| o.namespace = "ML_data".into()),
            ("replicas", |o| o.replicas = 3),
            ("replicas", |o| o.replicas = -1),
            ("storage", |o| o.storage = "lots".into()),
            ("storage", |o| o.storage = "100Mi".into()),
            ("image", |o| o.image = "two words".into()),
            ("compute-memory", |o| o.compute_memory = "768Mi".into()),
            ("ingress-host", |o| o.ingress_host = Some("s3..example".into())),
        ];
        for (option, change) in cases {
            let mut o = RenderOptions::default();
            change(&mut o);
            let err = o.validate().unwrap_err().to_string();
            assert!(err.starts_with(&format!("--{option} ")), "{err}");
        }
        let zero = RenderOptions {
            replicas: 0,
            ..Default::default()
        };
        zero.validate().unwrap();
    }

    #[test]
    fn compute_pool_leaves_the_headroom() {
        assert_eq!(RenderOptions::default().compute_pool_mib(), 1536);
    }
}
