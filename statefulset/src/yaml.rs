//! Objects to YAML documents, documents to the files of `statefulset/manifests/` and to the
//! one multi-document stream `lagoa k8s render` prints.

use crate::RenderError;

/// One object as a YAML document (no `---`; the file adds it).
pub(crate) fn document<T: serde::Serialize>(object: &T) -> Result<String, RenderError> {
    serde_saphyr::to_string(object).map_err(|source| RenderError::Yaml {
        kind: std::any::type_name::<T>().rsplit("::").next().unwrap_or("object").to_owned(),
        source,
    })
}

/// The kustomization of `statefulset/manifests/`: Lagoa and the Spark wiring. Left out: the
/// Namespace (`kubectl delete -k` would delete it, its claims with it, and microk8s-hostpath
/// deletes a released volume's files), the example Secret (re-applying the kustomization must never put placeholders over the real
/// credentials, which `kubectl create secret` makes) and the SparkApplication (its kind exists
/// only where the spark-operator is installed; it is applied on its own).
pub const KUSTOMIZATION: &str = "\
# kubectl apply -k statefulset/manifests — Lagoa and the Spark wiring (rendered by `lagoa k8s render`).
# Not listed: namespace.yaml (create the namespace first; `kubectl delete -k` must never delete it
# and, with it, the data volume), root-secret.yaml (an example; create the Secret with
# `kubectl create secret`, README) and spark-application.yaml (applied on its own once the
# spark-operator is installed).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- lagoa.yaml
- spark.yaml
";

/// One file of manifests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestFile {
    /// File name inside `statefulset/manifests/`.
    pub name: &'static str,
    /// One line on what the file holds (its header comment).
    pub about: &'static str,
    /// The YAML documents, in apply order.
    pub documents: Vec<String>,
}

impl ManifestFile {
    pub(crate) fn new(name: &'static str, about: &'static str, documents: Vec<String>) -> Self {
        ManifestFile { name, about, documents }
    }

    /// The file's text: a header comment, then each document after `---`.
    pub fn contents(&self) -> String {
        let mut out = format!(
            "# {}\n# Rendered by `lagoa k8s render` from typed objects in statefulset/src: change the code, not this file.\n",
            self.about
        );
        for doc in &self.documents {
            out.push_str("---\n");
            out.push_str(doc);
            if !doc.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }
}

/// Everything one rendering produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifests {
    /// The manifest files, in apply order.
    pub files: Vec<ManifestFile>,
}

impl Manifests {
    /// All documents of all files as one stream: what `lagoa k8s render` prints.
    pub fn multi_document(&self) -> String {
        self.files.iter().map(ManifestFile::contents).collect()
    }

    /// Every file of the manifests folder with its text, the kustomization last.
    pub fn folder(&self) -> Vec<(&'static str, String)> {
        self.files
            .iter()
            .map(|f| (f.name, f.contents()))
            .chain([("kustomization.yaml", KUSTOMIZATION.to_owned())])
            .collect()
    }
}
