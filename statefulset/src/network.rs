//! How clients reach Lagoa: the headless Service the StatefulSet needs, the client Service on
//! 9000 (S3) and 9100 (SQL), the optional S3 Ingress, and the disruption budget.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::{RenderOptions, S3_PORT, SQL_PORT, lagoa_labels, meta};

/// Name of the client Service: clients use `lagoa.<namespace>.svc.cluster.local`.
pub const CLIENT_SERVICE: &str = "lagoa";
/// Name of the headless Service: pod `lagoa-0` is `lagoa-0.lagoa-headless.<namespace>.svc`.
pub const HEADLESS_SERVICE: &str = "lagoa-headless";
/// Container port names the Services target.
pub const S3_PORT_NAME: &str = "s3";
/// See [`S3_PORT_NAME`].
pub const SQL_PORT_NAME: &str = "sql";

fn ports() -> Vec<ServicePort> {
    [(S3_PORT_NAME, S3_PORT), (SQL_PORT_NAME, SQL_PORT)]
        .into_iter()
        .map(|(name, port)| ServicePort {
            name: Some(name.into()),
            port,
            target_port: Some(IntOrString::String(name.into())),
            protocol: Some("TCP".into()),
            app_protocol: Some("http".into()),
            ..Default::default()
        })
        .collect()
}

/// The StatefulSet's governing Service: stable DNS names per pod.
pub fn headless_service(options: &RenderOptions) -> Service {
    Service {
        metadata: meta(options, HEADLESS_SERVICE),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            selector: Some(lagoa_labels()),
            ports: Some(ports()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What clients (Spark, `mc`, SDKs) use: S3 on 9000, SQL on 9100. A LoadBalancer keeps the
/// client's address (`externalTrafficPolicy: Local`) for access logs and future IP conditions.
pub fn client_service(options: &RenderOptions) -> Service {
    let load_balancer = options.service_type == crate::ServiceType::LoadBalancer;
    Service {
        metadata: meta(options, CLIENT_SERVICE),
        spec: Some(ServiceSpec {
            type_: Some(options.service_type.as_str().into()),
            selector: Some(lagoa_labels()),
            ports: Some(ports()),
            external_traffic_policy: load_balancer.then(|| "Local".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// No voluntary eviction of a Lagoa pod: its volume is a hostPath on one node, so an evicted
/// pod cannot start anywhere else — a `kubectl drain` would silently take the store offline
/// until the node returns. With this budget the drain stops and says why; the operator then
/// deletes the pod on purpose (or drains with `--disable-eviction`).
pub fn disruption_budget(options: &RenderOptions) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: meta(options, "lagoa"),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(0)),
            selector: Some(LabelSelector {
                match_labels: Some(lagoa_labels()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The S3 port behind an ingress-nginx host (microk8s's `ingress` add-on), when asked for. S3
/// needs unlimited bodies streamed both ways (no buffering, no size cap) and long reads; the
/// Host header passes through unchanged, so SigV4 signatures still verify.
pub fn ingress(options: &RenderOptions) -> Option<Ingress> {
    let host = options.ingress_host.clone()?;
    let mut metadata = meta(options, "lagoa-s3");
    metadata.annotations = Some(BTreeMap::from(
        [
            ("nginx.ingress.kubernetes.io/proxy-body-size", "0"),
            ("nginx.ingress.kubernetes.io/proxy-buffering", "off"),
            ("nginx.ingress.kubernetes.io/proxy-request-buffering", "off"),
            ("nginx.ingress.kubernetes.io/proxy-read-timeout", "600"),
            ("nginx.ingress.kubernetes.io/proxy-send-timeout", "600"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    ));
    Some(Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: Some(options.ingress_class.clone()),
            rules: Some(vec![IngressRule {
                host: Some(host),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: CLIENT_SERVICE.into(),
                                port: Some(ServiceBackendPort {
                                    name: Some(S3_PORT_NAME.into()),
                                    ..Default::default()
                                }),
                            }),
                            ..Default::default()
                        },
                    }],
                }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}
