//! `lagoa k8s render`: Lagoa's Kubernetes manifests (the `statefulset` crate) as YAML on stdout,
//! or as the files of `statefulset/manifests/` with `--out`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use lagoa_statefulset::{RenderOptions, ServiceType};

/// `lagoa k8s …`
#[derive(Subcommand)]
pub enum K8sCommand {
    /// Print the manifests (multi-document YAML): Lagoa's StatefulSet with its compute sidecar,
    /// Services, Secret, disruption budget, and the Spark wiring.
    Render(RenderArgs),
}

/// How the client Service is exposed.
#[derive(Clone, Copy, ValueEnum)]
pub enum ServiceTypeArg {
    /// Inside the cluster only.
    #[value(name = "ClusterIP")]
    ClusterIp,
    /// An external address from MetalLB.
    #[value(name = "LoadBalancer")]
    LoadBalancer,
}

/// Options of `lagoa k8s render`; the defaults render `statefulset/manifests/`.
#[derive(Args)]
pub struct RenderArgs {
    /// Namespace of Lagoa and of the Spark jobs using it.
    #[arg(long, default_value = "ml-data-engg")]
    namespace: String,
    /// Pods: 1, or 0 to stop Lagoa and keep its volume (one store per volume, not a cluster).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    replicas: i32,
    /// Storage class of the data volume.
    #[arg(long, default_value = "microk8s-hostpath")]
    storage_class: String,
    /// Size of the data volume (a Kubernetes quantity).
    #[arg(long, default_value = "50Gi")]
    storage: String,
    /// The Lagoa image (statefulset/Containerfile); default: microk8s's registry add-on.
    #[arg(long)]
    image: Option<String>,
    /// Type of the client Service (LoadBalancer for MetalLB).
    #[arg(long, value_enum, default_value = "ClusterIP")]
    service_type: ServiceTypeArg,
    /// Also render an Ingress for S3 on this host name.
    #[arg(long)]
    ingress_host: Option<String>,
    /// IngressClass of that Ingress (`public` is microk8s's ingress add-on).
    #[arg(long, default_value = "public")]
    ingress_class: String,
    /// Memory limit of the compute container; its query pool is this minus 512Mi.
    #[arg(long, default_value = "2Gi")]
    compute_memory: String,
    /// Write the files of the manifests folder (and its kustomization.yaml) here instead.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `lagoa k8s …`.
pub fn run(command: K8sCommand) -> anyhow::Result<()> {
    let K8sCommand::Render(args) = command;
    let defaults = RenderOptions::default();
    let options = RenderOptions {
        namespace: args.namespace,
        replicas: args.replicas,
        storage_class: args.storage_class,
        storage: args.storage,
        image: args.image.unwrap_or(defaults.image),
        service_type: match args.service_type {
            ServiceTypeArg::ClusterIp => ServiceType::ClusterIp,
            ServiceTypeArg::LoadBalancer => ServiceType::LoadBalancer,
        },
        ingress_host: args.ingress_host,
        ingress_class: args.ingress_class,
        compute_memory: args.compute_memory,
    };
    let manifests = lagoa_statefulset::render(&options)?;
    match args.out {
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(manifests.multi_document().as_bytes())
                .context("writing the manifests to stdout")?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for (name, text) in manifests.folder() {
                let path = dir.join(name);
                std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            }
        }
    }
    Ok(())
}
