//! Who Lagoa is in the cluster: its namespace, the Secret with the root credentials and the
//! ServiceAccount its pods run as.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::{ROOT_PASSWORD_KEY, ROOT_SECRET, ROOT_USER_KEY, RenderOptions, lagoa_labels, meta};

/// The placeholders of the checked-in Secret: obvious, so nobody mistakes them for real keys.
/// The README's `kubectl create secret` replaces them.
pub const PLACEHOLDER_USER: &str = "CHANGE-ME-lagoa-root";
/// See [`PLACEHOLDER_USER`].
pub const PLACEHOLDER_PASSWORD: &str = "CHANGE-ME-to-a-long-random-secret";

/// The namespace everything lives in.
pub fn namespace(options: &RenderOptions) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(options.namespace.clone()),
            labels: Some(lagoa_labels()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The root credentials both containers read (`LAGOA_ROOT_USER` / `LAGOA_ROOT_PASSWORD`) and
/// Spark's pods use as their AWS keys. Rendered as an example only (`root-secret.yaml`, outside
/// the kustomization): the real one is made with `kubectl create secret`.
pub fn root_secret(options: &RenderOptions) -> Secret {
    Secret {
        metadata: meta(options, ROOT_SECRET),
        type_: Some("Opaque".into()),
        string_data: Some(BTreeMap::from([
            (ROOT_USER_KEY.to_owned(), PLACEHOLDER_USER.to_owned()),
            (ROOT_PASSWORD_KEY.to_owned(), PLACEHOLDER_PASSWORD.to_owned()),
        ])),
        ..Default::default()
    }
}

/// Lagoa's own ServiceAccount: it calls no Kubernetes API, so no token is mounted.
pub fn lagoa_service_account(options: &RenderOptions) -> ServiceAccount {
    ServiceAccount {
        metadata: meta(options, "lagoa"),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}
