#!/usr/bin/env python3
"""Strict offline validation of Kubeflow spark-operator SparkApplication manifests.

Validates every ``kind: SparkApplication`` document in a (multi-document) YAML file
against the ``v1beta2`` openAPIV3Schema taken from the real CRD
(kubeflow/spark-operator config/crd/bases/sparkoperator.k8s.io_sparkapplications.yaml),
using the ``jsonschema`` library (Draft 7 semantics).

Strict mode (always on):
  * every object schema that has ``properties`` but no ``additionalProperties`` and is not
    ``x-kubernetes-preserve-unknown-fields: true`` gets ``additionalProperties: false``,
    so misspelled / unknown fields fail (like ``kubectl apply --validate=strict``);
  * duplicate mapping keys in the YAML are an error (PyYAML would silently keep the last);
  * ``metadata`` (only ``type: object`` in the CRD) is checked against a strict ObjectMeta
    field list (disable with ``--loose-metadata``).

Kubernetes OpenAPI extensions handled:
  * ``x-kubernetes-int-or-string: true``  -> integer or string (quantity ``pattern`` applies to strings only);
  * ``nullable: true``                    -> ``null`` accepted;
  * ``format: int32 / int64``             -> range checked; ``format: date-time`` -> RFC 3339 checked;
  * ``x-kubernetes-list-type: set``       -> items must be unique;
  * ``x-kubernetes-list-type: map``       -> items unique by ``x-kubernetes-list-map-keys`` (defaults applied).
NOT evaluated: ``x-kubernetes-validations`` (CEL rules, e.g. the ``spec.managedBy`` value list /
immutability rules), and anything the operator's webhooks check at admission time.

Usage:
    python validate.py FILE.yaml [FILE2.yaml ...] [--schema PATH] [--loose-metadata] [-q]

Exit status: 0 = all SparkApplication documents valid; 1 = validation errors (or no
SparkApplication document found); 2 = usage / file / YAML syntax error.

Python API (for tests):
    from validate import validate_file, validate_document
    errors = validate_file("app.yaml")        # list[str]; empty means valid
"""
from __future__ import annotations

import argparse
import copy
import datetime as _dt
import difflib
import json
import os
import re
import sys
from functools import lru_cache

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("validate.py: PyYAML is required (pip install pyyaml)")
try:
    import jsonschema
    from jsonschema import Draft7Validator, FormatChecker, validators
    from jsonschema.exceptions import ValidationError
except ImportError:  # pragma: no cover
    sys.exit("validate.py: jsonschema is required (pip install jsonschema)")

HERE = os.path.dirname(os.path.abspath(__file__))
# openAPIV3Schema of v1beta2 from kubeflow/spark-operator config/crd/bases/
# sparkoperator.k8s.io_sparkapplications.yaml at commit 0348439fa8699790c0bf7a83e01a093a514b0d0c
# (operator v2 main after v2.4.0), JSON with sorted keys, gzipped.
DEFAULT_SCHEMA = os.path.join(HERE, "sparkapplication-v1beta2.schema.json.gz")
API_VERSION = "sparkoperator.k8s.io/v1beta2"
KIND = "SparkApplication"

# Fields of metav1.ObjectMeta (k8s.io/apimachinery). The CRD only says `metadata: {type: object}`;
# the API server validates ObjectMeta itself, so we mirror its field set here.
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
OBJECT_META_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "selfLink": {"type": "string"},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer", "format": "int64"},
        "creationTimestamp": {"type": ["string", "null"]},
        "deletionTimestamp": {"type": ["string", "null"]},
        "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
        "labels": _STR_MAP,
        "annotations": _STR_MAP,
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "managedFields": {"type": "array", "items": {"type": "object"}},
    },
}

_INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


# --------------------------------------------------------------------------- schema prep
def make_strict(node):
    """Recursively rewrite a CRD structural schema (in place) into strict JSON Schema."""
    if not isinstance(node, dict):
        return node
    if node.get("x-kubernetes-int-or-string") is True:
        node.pop("type", None)
        node.setdefault("anyOf", copy.deepcopy(_INT_OR_STRING))
    if node.get("nullable") is True and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    if node.get("x-kubernetes-list-type") == "set":
        node["uniqueItems"] = True
    if ("properties" in node and "additionalProperties" not in node
            and node.get("x-kubernetes-preserve-unknown-fields") is not True):
        node["additionalProperties"] = False
    for child in (node.get("properties") or {}).values():
        make_strict(child)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(node.get(key), dict):
            make_strict(node[key])
    for key in ("anyOf", "allOf", "oneOf"):
        for child in node.get(key) or []:
            make_strict(child)
    return node


def build_schema(raw, strict_metadata=True):
    schema = make_strict(copy.deepcopy(raw))
    if strict_metadata:
        schema.setdefault("properties", {})["metadata"] = copy.deepcopy(OBJECT_META_SCHEMA)
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return schema


# --------------------------------------------------------------------------- custom checks
def _list_map_keys(validator, keys, instance, schema):
    if not validator.is_type(instance, "array"):
        return
    item_props = (schema.get("items") or {}).get("properties") or {}
    seen = {}
    for i, item in enumerate(instance):
        if not isinstance(item, dict):
            continue
        ident = tuple(json.dumps(item.get(k, item_props.get(k, {}).get("default")), sort_keys=True)
                      for k in keys)
        if ident in seen:
            shown = ", ".join(f"{k}={item.get(k, item_props.get(k, {}).get('default'))!r}" for k in keys)
            yield ValidationError(f"duplicate entry for list-map key ({shown}) at indexes {seen[ident]} and {i}")
        else:
            seen[ident] = i


_FORMAT_CHECKER = FormatChecker(formats=())


@_FORMAT_CHECKER.checks("int32")
def _int32(value):
    return not isinstance(value, int) or isinstance(value, bool) or -2**31 <= value < 2**31


@_FORMAT_CHECKER.checks("int64")
def _int64(value):
    return not isinstance(value, int) or isinstance(value, bool) or -2**63 <= value < 2**63


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@_FORMAT_CHECKER.checks("date-time")
def _date_time(value):
    if isinstance(value, (_dt.datetime, _dt.date)):  # PyYAML turns unquoted timestamps into datetimes
        return True
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    try:
        _dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00").replace("t", "T"))
    except ValueError:
        return False
    return True


def _is_string(checker, instance):  # accept PyYAML-parsed timestamps where the schema says string
    return isinstance(instance, (str, _dt.datetime, _dt.date))


_TYPE_CHECKER = Draft7Validator.TYPE_CHECKER.redefine("string", _is_string)
StrictK8sValidator = validators.extend(
    Draft7Validator,
    validators={"x-kubernetes-list-map-keys": _list_map_keys},
    type_checker=_TYPE_CHECKER,
)


@lru_cache(maxsize=8)
def get_validator(schema_path=DEFAULT_SCHEMA, strict_metadata=True):
    import gzip
    opener = gzip.open if schema_path.endswith(".gz") else open
    with opener(schema_path, "rb") as fh:
        raw = json.load(fh)
    schema = build_schema(raw, strict_metadata)
    StrictK8sValidator.check_schema(schema)
    return StrictK8sValidator(schema, format_checker=_FORMAT_CHECKER)


# --------------------------------------------------------------------------- YAML loading
class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys."""


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    mapping = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --------------------------------------------------------------------------- reporting
def _path(err):
    out = ""
    for p in err.absolute_path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<root>"



def _format_error(err):
    msg = err.message
    if err.validator == "additionalProperties" and err.validator_value is False:
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        parts = []
        for name in extra:
            hint = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.6)
            parts.append(f"unknown field {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        msg = "; ".join(parts) or msg
    elif err.validator == "anyOf" and err.schema.get("x-kubernetes-int-or-string"):
        msg = f"{err.instance!r} must be an integer or a string (int-or-string)"
    elif err.validator == "pattern":
        msg = f"{err.instance!r} does not match pattern {err.validator_value!r}"
    elif err.validator == "format":
        msg = f"{err.instance!r} is not a valid {err.validator_value}"
    return f"{_path(err)}: {msg}"


def validate_document(doc, *, schema_path=DEFAULT_SCHEMA, strict_metadata=True):
    """Validate one parsed SparkApplication object. Returns a list of error strings."""
    if not isinstance(doc, dict):
        return [f"<root>: document must be a mapping, got {type(doc).__name__}"]
    errors = []
    if doc.get("apiVersion") != API_VERSION:
        errors.append(f"apiVersion: expected {API_VERSION!r}, got {doc.get('apiVersion')!r}")
    validator = get_validator(schema_path, strict_metadata)
    errs = sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    errors.extend(_format_error(e) for e in errs)
    return errors


def validate_file(path, *, schema_path=DEFAULT_SCHEMA, strict_metadata=True, report=None):
    """Validate all SparkApplication docs in a YAML file. Returns list of error strings.

    Raises OSError / yaml.YAMLError for unreadable or syntactically invalid files.
    """
    with open(path, "r", encoding="utf-8") as fh:
        docs = list(yaml.load_all(fh, Loader=_StrictLoader))
    errors, found = [], 0
    for idx, doc in enumerate(docs):
        if doc is None:
            continue
        kind = doc.get("kind") if isinstance(doc, dict) else None
        name = ((doc.get("metadata") or {}).get("name") if isinstance(doc, dict)
                and isinstance(doc.get("metadata"), dict) else None)
        label = f"{path} doc#{idx} ({kind or '?'} {name or '<unnamed>'})"
        if kind != KIND:
            if report:
                report(f"SKIP {label}: kind is not {KIND}")
            continue
        found += 1
        doc_errors = validate_document(doc, schema_path=schema_path, strict_metadata=strict_metadata)
        errors.extend(f"{label}: {e}" for e in doc_errors)
        if report:
            report(f"{'OK  ' if not doc_errors else 'FAIL'} {label}"
                   + (f" ({len(doc_errors)} error(s))" if doc_errors else ""))
    if not found:
        errors.append(f"{path}: no {KIND} document found")
    return errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", metavar="FILE.yaml")
    ap.add_argument("--schema", default=DEFAULT_SCHEMA,
                    help="openAPIV3Schema JSON (default: %(default)s)")
    ap.add_argument("--loose-metadata", action="store_true",
                    help="do not check metadata against the ObjectMeta field list")
    ap.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    args = ap.parse_args(argv)

    report = None if args.quiet else (lambda m: print(m))
    all_errors = []
    for path in args.files:
        try:
            all_errors += validate_file(path, schema_path=args.schema,
                                        strict_metadata=not args.loose_metadata, report=report)
        except (OSError, yaml.YAMLError) as exc:
            print(f"ERROR {path}: {exc}", file=sys.stderr)
            return 2
    for e in all_errors:
        print(f"ERROR {e}", file=sys.stderr)
    return 1 if all_errors else 0


if __name__ == "__main__":
    sys.exit(main())
