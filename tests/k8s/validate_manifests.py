#!/usr/bin/env python3
"""Validates folders of rendered Kubernetes manifests offline (tests/k8s.rs runs this).

For each folder:
  * every document of every *.yaml except kustomization.yaml against the Kubernetes OpenAPI
    schema of each version in KUBERNETES_VERSIONS with kubernetes-validate in strict mode
    (unknown fields fail); SparkApplication documents against the spark-operator CRD schema
    (sparkapplication.py, strict as well);
  * kustomization.yaml's shape: a Kustomization of kustomize.config.k8s.io/v1beta1 with only
    known fields, resources that exist, and every manifest listed except the Namespace, the example
    Secret and the SparkApplication;
  * `kubectl kustomize` of the folder when kubectl is installed: the same objects as the files.

Usage: validate_manifests.py DIR [DIR ...]   (exit 1 on any error, each one printed)
"""
import os
import shutil
import subprocess
import sys

import kubernetes_validate
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sparkapplication  # noqa: E402

# The oldest and the newest Kubernetes the typed objects target (k8s-openapi feature v1_33)
# and kubernetes-validate ships.
KUBERNETES_VERSIONS = ["1.33.0", "1.37.0"]
KUSTOMIZATION_FIELDS = {
    "apiVersion", "kind", "resources", "namespace", "namePrefix", "nameSuffix", "labels",
    "commonLabels", "commonAnnotations", "images", "patches", "replicas", "secretGenerator",
    "configMapGenerator", "generatorOptions", "components",
}
OUTSIDE_KUSTOMIZATION = {"namespace.yaml", "root-secret.yaml", "spark-application.yaml"}


def documents(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def identity(doc):
    meta = doc.get("metadata", {})
    return (doc.get("kind"), meta.get("namespace"), meta.get("name"))


def check_folder(folder):
    errors = []
    manifests = sorted(
        f for f in os.listdir(folder) if f.endswith(".yaml") and f != "kustomization.yaml"
    )
    if not manifests:
        errors.append(f"{folder}: no manifests")
    checked = 0
    for name in manifests:
        for i, doc in enumerate(documents(os.path.join(folder, name))):
            where = f"{name} doc {i} ({doc.get('kind')} {doc.get('metadata', {}).get('name')})"
            if doc.get("kind") == "SparkApplication":
                errors += [f"{where}: {e}" for e in sparkapplication.validate_document(doc)]
                checked += 1
                continue
            for version in KUBERNETES_VERSIONS:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                    checked += 1
                except kubernetes_validate.ValidationError as e:
                    path = ".".join(str(p) for p in e.path)
                    errors.append(f"{where} on {version}: {path}: {e.message}")
                except Exception as e:  # schema not found, invalid schema
                    errors.append(f"{where} on {version}: {type(e).__name__}: {e}")

    kustomization = os.path.join(folder, "kustomization.yaml")
    [k] = documents(kustomization)
    if k.get("apiVersion") != "kustomize.config.k8s.io/v1beta1" or k.get("kind") != "Kustomization":
        errors.append(f"kustomization.yaml: apiVersion/kind {k.get('apiVersion')}/{k.get('kind')}")
    unknown = set(k) - KUSTOMIZATION_FIELDS
    if unknown:
        errors.append(f"kustomization.yaml: unknown fields {sorted(unknown)}")
    resources = k.get("resources", [])
    for r in resources:
        if not os.path.exists(os.path.join(folder, r)):
            errors.append(f"kustomization.yaml: resource {r} does not exist")
    forgotten = set(manifests) - set(resources) - OUTSIDE_KUSTOMIZATION
    if forgotten:
        errors.append(f"kustomization.yaml: does not list {sorted(forgotten)}")

    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run([kubectl, "kustomize", folder], capture_output=True, text=True)
        if out.returncode != 0:
            errors.append(f"kubectl kustomize {folder}: {out.stderr.strip()}")
        else:
            built = sorted(identity(d) for d in yaml.safe_load_all(out.stdout) if d)
            expected = sorted(
                identity(d) for r in resources for d in documents(os.path.join(folder, r))
            )
            if built != expected:
                errors.append(f"kubectl kustomize: objects {built} != files {expected}")
    else:
        print(f"{folder}: kubectl not installed; kustomize build not checked")
    print(f"{folder}: {checked} document validations, {len(errors)} errors")
    return errors


def main():
    errors = []
    for folder in sys.argv[1:]:
        errors += check_folder(folder)
    for e in errors:
        print("ERROR", e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
