//! A policy document: parsed from IAM's JSON once (when stored or loaded), validated as S3
//! validates bucket policies, and evaluated per request without touching JSON again.

use crate::actions::{self, ResourceKind};
use crate::condition::{Condition, Context};
use crate::wildcard::Pattern;
use crate::{PolicyError, variables};

/// What a policy is attached to, which decides what it must and must not say.
#[derive(Debug, Clone, Copy)]
pub enum PolicyKind<'a> {
    /// A bucket policy of the named bucket: statements name principals and only this bucket's
    /// resources.
    Bucket(&'a str),
    /// A user's (identity) policy: no principals; any bucket.
    Identity,
}

/// Who sends a request, as policies see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester<'a> {
    /// No signature.
    Anonymous,
    /// A signed request by this access key.
    User(&'a str),
}

/// One request to decide: an action on a resource, by someone, with condition values.
pub struct Request<'a> {
    pub requester: Requester<'a>,
    /// An S3 action in its documented spelling (`s3:GetObject`).
    pub action: &'a str,
    /// `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key` (or `*` for service actions).
    pub resource: &'a str,
    pub context: &'a dyn Context,
}

/// What one policy says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A matching statement denies it: nothing else can allow it.
    Denied,
    /// A matching statement allows it (and none denies).
    Allowed,
    /// No statement matches.
    NotApplicable,
}

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// Principal or NotPrincipal.
#[derive(Debug, Clone)]
struct Principals {
    negated: bool,
    /// `*` (everyone, anonymous included).
    everyone: bool,
    /// Access keys, `arn:aws:iam::…:user/<key>` ARNs and canonical ids.
    ids: Vec<String>,
}

/// Action or NotAction.
#[derive(Debug, Clone)]
struct Actions {
    negated: bool,
    patterns: Vec<Pattern>,
}

/// Resource or NotResource.
#[derive(Debug, Clone)]
struct Resources {
    negated: bool,
    /// Patterns without variables, compiled.
    patterns: Vec<Pattern>,
    /// Patterns with `${…}` variables, expanded per request.
    templates: Vec<String>,
}

#[derive(Debug, Clone)]
struct Statement {
    effect: Effect,
    principals: Option<Principals>,
    actions: Actions,
    resources: Resources,
    conditions: Vec<Condition>,
}

/// The statement fields IAM defines.
const STATEMENT_FIELDS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// The ARN prefix of S3 resources.
const S3_ARN: &str = "arn:aws:s3:::";

impl Policy {
    /// Parses and validates `json` as a policy of `kind`. The error message is what S3 puts in
    /// its `MalformedPolicy` answer.
    pub fn parse(json: &str, kind: PolicyKind<'_>) -> Result<Self, PolicyError> {
        let doc: serde_json::Value = serde_json::from_str(json)
            .map_err(|_| PolicyError::new("Policies must be valid JSON and the first byte must be '{'"))?;
        let doc = doc
            .as_object()
            .ok_or_else(|| PolicyError::new("Policies must be valid JSON and the first byte must be '{'"))?;
        for field in doc.keys() {
            if !matches!(field.as_str(), "Version" | "Id" | "Statement") {
                return Err(PolicyError::new(format!("Unknown field {field}")));
            }
        }
        match doc.get("Version") {
            None => {}
            Some(serde_json::Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
            Some(_) => return Err(PolicyError::new("The policy must contain a valid version string")),
        }
        let statements = match doc.get("Statement") {
            Some(serde_json::Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(one @ serde_json::Value::Object(_)) => vec![one],
            _ => return Err(PolicyError::new("Missing required field Statement")),
        };
        if statements.is_empty() {
            return Err(PolicyError::new("Could not parse the policy: Statement is empty!"));
        }
        let mut sids = std::collections::HashSet::new();
        let mut parsed = Vec::with_capacity(statements.len());
        for statement in statements {
            let obj = statement
                .as_object()
                .ok_or_else(|| PolicyError::new("Each Statement must be a JSON object"))?;
            if let Some(sid) = obj.get("Sid") {
                let sid = sid.as_str().ok_or_else(|| PolicyError::new("Sid must be a string"))?;
                if !sid.is_empty() && !sids.insert(sid.to_owned()) {
                    return Err(PolicyError::new("Statement IDs (SID) in a single policy must be unique"));
                }
            }
            parsed.push(Statement::parse(obj, kind)?);
        }
        Ok(Self { statements: parsed })
    }

    /// What this policy says about `request`: explicit denials first, as IAM evaluates.
    pub fn evaluate(&self, request: &Request<'_>) -> Outcome {
        let mut allowed = false;
        for statement in &self.statements {
            if statement.effect == Effect::Allow && allowed {
                continue;
            }
            if statement.applies(request) {
                match statement.effect {
                    Effect::Deny => return Outcome::Denied,
                    Effect::Allow => allowed = true,
                }
            }
        }
        if allowed { Outcome::Allowed } else { Outcome::NotApplicable }
    }

    /// Whether a statement allows everyone (anonymous requests included) without a condition
    /// that narrows who — S3's definition of a public bucket policy.
    pub fn is_public(&self) -> bool {
        self.statements.iter().any(|s| {
            s.effect == Effect::Allow
                && s.principals.as_ref().is_some_and(|p| p.everyone != p.negated)
                && !s.conditions.iter().any(Condition::restricts_principal)
        })
    }

    /// Whether evaluating needs the object's current tags (`s3:ExistingObjectTag/…`).
    pub fn reads_object_tags(&self) -> bool {
        self.statements
            .iter()
            .flat_map(|s| &s.conditions)
            .any(|c| c.key().starts_with("s3:existingobjecttag/"))
    }

    /// The number of statements.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether the policy has no statement (never true for a parsed policy).
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

impl Statement {
    fn parse(obj: &serde_json::Map<String, serde_json::Value>, kind: PolicyKind<'_>) -> Result<Self, PolicyError> {
        for field in obj.keys() {
            if !STATEMENT_FIELDS.contains(&field.as_str()) {
                return Err(PolicyError::new(format!("Unknown field {field}")));
            }
        }
        let effect = match obj.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            Some(other) => return Err(PolicyError::new(format!("Invalid effect: {other}"))),
            None => return Err(PolicyError::new("Missing required field Effect")),
        };
        let principals = match (obj.get("Principal"), obj.get("NotPrincipal")) {
            (Some(_), Some(_)) => return Err(PolicyError::new("A statement cannot have both Principal and NotPrincipal")),
            (Some(p), None) => Some(Principals::parse(p, false)?),
            (None, Some(p)) => Some(Principals::parse(p, true)?),
            (None, None) => None,
        };
        match (kind, &principals) {
            (PolicyKind::Bucket(_), None) => return Err(PolicyError::new("Missing required field Principal")),
            (PolicyKind::Identity, Some(_)) => {
                return Err(PolicyError::new("Policy document should not specify a principal"));
            }
            _ => {}
        }
        let actions = match (obj.get("Action"), obj.get("NotAction")) {
            (Some(_), Some(_)) => return Err(PolicyError::new("A statement cannot have both Action and NotAction")),
            (Some(a), None) => Actions::parse(a, false, kind)?,
            (None, Some(a)) => Actions::parse(a, true, kind)?,
            (None, None) => return Err(PolicyError::new("Missing required field Action")),
        };
        let (resource_values, negated) = match (obj.get("Resource"), obj.get("NotResource")) {
            (Some(_), Some(_)) => return Err(PolicyError::new("A statement cannot have both Resource and NotResource")),
            (Some(r), None) => (strings(r, "Resource")?, false),
            (None, Some(r)) => (strings(r, "NotResource")?, true),
            // MinIO's identity policies grant `admin:*` and `kms:*` without a resource.
            (None, None) if matches!(kind, PolicyKind::Identity) => (vec!["*".to_owned()], false),
            (None, None) => return Err(PolicyError::new("Missing required field Resource")),
        };
        for resource in &resource_values {
            check_resource(resource, kind)?;
        }
        // S3's bucket-policy check; IAM does not make it for identity policies.
        if matches!(kind, PolicyKind::Bucket(_)) && !negated && !actions.negated {
            check_actions_apply(obj.get("Action"), &resource_values)?;
        }
        let mut resources = Resources {
            negated,
            patterns: Vec::new(),
            templates: Vec::new(),
        };
        for r in resource_values {
            if r.contains("${") {
                resources.templates.push(r);
            } else {
                resources.patterns.push(Pattern::new(&r, false));
            }
        }
        let mut conditions = Vec::new();
        if let Some(block) = obj.get("Condition") {
            let block = block
                .as_object()
                .ok_or_else(|| PolicyError::new("Condition must be a JSON object"))?;
            for (operator, keys) in block {
                conditions.extend(Condition::parse_block(operator, keys)?);
            }
        }
        Ok(Self {
            effect,
            principals,
            actions,
            resources,
            conditions,
        })
    }

    /// Whether the statement speaks about `request` (principal, action, resource, conditions).
    fn applies(&self, request: &Request<'_>) -> bool {
        if let Some(principals) = &self.principals
            && !principals.matches(request.requester)
        {
            return false;
        }
        let action = self.actions.patterns.iter().any(|p| p.matches_folded(request.action));
        if action == self.actions.negated {
            return false;
        }
        let resource = self.resources.patterns.iter().any(|p| p.matches(request.resource))
            || self.resources.templates.iter().any(|t| {
                variables::expand(t, request.context)
                    .is_some_and(|expanded| crate::wildcard::matches(&expanded, request.resource))
            });
        if resource == self.resources.negated {
            return false;
        }
        self.conditions.iter().all(|c| c.holds(request.context))
    }
}

impl Principals {
    fn parse(value: &serde_json::Value, negated: bool) -> Result<Self, PolicyError> {
        let invalid = || PolicyError::new("Invalid principal in policy");
        let mut principals = Self {
            negated,
            everyone: false,
            ids: Vec::new(),
        };
        match value {
            serde_json::Value::String(s) if s == "*" => principals.everyone = true,
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (kind, ids) in map {
                    let ids = strings(ids, "Principal").map_err(|_| invalid())?;
                    match kind.as_str() {
                        "AWS" => {
                            for id in ids {
                                if id == "*" {
                                    principals.everyone = true;
                                } else if id.is_empty() {
                                    return Err(invalid());
                                } else {
                                    principals.ids.push(id);
                                }
                            }
                        }
                        "CanonicalUser" => principals.ids.extend(ids),
                        // Services and identity providers are never Lagoa callers: such a
                        // principal is valid and matches nobody.
                        "Service" | "Federated" => {}
                        _ => return Err(invalid()),
                    }
                }
            }
            _ => return Err(invalid()),
        }
        Ok(principals)
    }

    fn matches(&self, requester: Requester<'_>) -> bool {
        let named = match requester {
            Requester::Anonymous => self.everyone,
            Requester::User(key) => self.everyone || self.ids.iter().any(|id| principal_names(id, key)),
        };
        named != self.negated
    }
}

/// Whether a principal id names the user with access key `key`: the key itself (Lagoa's
/// canonical user id) or an IAM user ARN of any account ending in `user/<key>`.
fn principal_names(id: &str, key: &str) -> bool {
    id == key || (id.starts_with("arn:aws:iam::") && id.strip_suffix(key).is_some_and(|head| head.ends_with(":user/")))
}

impl Actions {
    fn parse(value: &serde_json::Value, negated: bool, kind: PolicyKind<'_>) -> Result<Self, PolicyError> {
        let names = strings(value, "Action")?;
        let mut patterns = Vec::with_capacity(names.len());
        for name in names {
            let lower = name.to_ascii_lowercase();
            let known = if name == "*" {
                true
            } else if let Some(rest) = lower.strip_prefix("s3:") {
                if rest.contains('*') || rest.contains('?') {
                    let pattern = Pattern::new(&lower, true);
                    actions::S3_ACTIONS.iter().any(|(a, _)| pattern.matches_folded(a))
                } else {
                    actions::kind_of(&name).is_some()
                }
            } else {
                matches!(kind, PolicyKind::Identity) && actions::OTHER_SERVICES.iter().any(|s| lower.starts_with(s))
            };
            if !known {
                return Err(PolicyError::new("Policy has invalid action"));
            }
            patterns.push(Pattern::new(&name, true));
        }
        Ok(Self { negated, patterns })
    }
}

/// A string or list of strings.
fn strings(value: &serde_json::Value, field: &str) -> Result<Vec<String>, PolicyError> {
    let bad = || PolicyError::new(format!("{field} must be a string or a list of strings"));
    match value {
        serde_json::Value::String(s) => Ok(vec![s.clone()]),
        serde_json::Value::Array(items) if !items.is_empty() => {
            items.iter().map(|v| v.as_str().map(str::to_owned).ok_or_else(bad)).collect()
        }
        _ => Err(bad()),
    }
}

/// A resource must be an S3 ARN (or `*`); a bucket policy's must be in its bucket.
fn check_resource(resource: &str, kind: PolicyKind<'_>) -> Result<(), PolicyError> {
    if resource == "*" {
        return Ok(());
    }
    let Some(path) = resource.strip_prefix(S3_ARN) else {
        return Err(PolicyError::new("Policy has invalid resource"));
    };
    if path.is_empty() {
        return Err(PolicyError::new("Policy has invalid resource"));
    }
    if let PolicyKind::Bucket(bucket) = kind {
        let bucket_part = path.split('/').next().unwrap_or(path);
        // `arn:aws:s3:::*` and `arn:aws:s3:::bu*/…` name this bucket among others: allowed.
        if !crate::wildcard::matches(bucket_part, bucket) {
            return Err(PolicyError::new("Policy has invalid resource"));
        }
    }
    Ok(())
}

/// Which kinds of resource a resource pattern can name.
fn resource_kinds(resource: &str) -> (bool, bool) {
    if resource == "*" {
        return (true, true);
    }
    let path = resource.strip_prefix(S3_ARN).unwrap_or(resource);
    match path.find('/') {
        Some(_) => (false, true),
        None if path.contains('*') => (true, true),
        None => (true, false),
    }
}

/// S3 refuses a statement whose (literal) action no listed resource can be: `s3:GetObject`
/// with only a bucket ARN, `s3:ListBucket` with only object ARNs.
fn check_actions_apply(actions: Option<&serde_json::Value>, resources: &[String]) -> Result<(), PolicyError> {
    let Some(actions) = actions else { return Ok(()) };
    let names = strings(actions, "Action")?;
    let bucket = resources.iter().any(|r| resource_kinds(r).0);
    let object = resources.iter().any(|r| resource_kinds(r).1);
    let service = resources.iter().any(|r| r == "*");
    for name in names {
        let applies = |kind: ResourceKind| match kind {
            ResourceKind::Bucket => bucket,
            ResourceKind::Object => object,
            ResourceKind::Service => service,
        };
        let ok = if name.contains('*') || name.contains('?') {
            let pattern = Pattern::new(&name, true);
            let mut matched = actions::S3_ACTIONS
                .iter()
                .filter(|(a, _)| pattern.matches_folded(a))
                .peekable();
            matched.peek().is_none() || matched.any(|&(_, kind)| applies(kind))
        } else {
            actions::kind_of(&name).is_none_or(applies)
        };
        if !ok {
            return Err(PolicyError::new("Action does not apply to any resource(s) in statement"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    struct User(&'static str);

    impl Context for User {
        fn values(&self, key: &str) -> Option<Vec<Cow<'_, str>>> {
            (key == "aws:username").then(|| vec![Cow::Borrowed(self.0)])
        }
    }

    fn bucket_policy(json: &str) -> Result<Policy, String> {
        Policy::parse(json, PolicyKind::Bucket("data")).map_err(|e| e.message().to_owned())
    }

    fn wrap(statement: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
    }

    #[test]
    fn malformed_bucket_policies_get_s3s_messages() {
        let cases = [
            ("not json", "Policies must be valid JSON and the first byte must be '{'"),
            ("[]", "Policies must be valid JSON and the first byte must be '{'"),
            (r#"{"Version":"2012-10-17"}"#, "Missing required field Statement"),
            (
                r#"{"Version":"2013-01-01","Statement":[]}"#,
                "The policy must contain a valid version string",
            ),
            (
                &wrap(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}"#),
                "Missing required field Principal",
            ),
            (
                &wrap(r#"{"Effect":"Permit","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}"#),
                "Invalid effect: Permit",
            ),
            (
                &wrap(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetEverything","Resource":"arn:aws:s3:::data/*"}"#),
                "Policy has invalid action",
            ),
            (
                &wrap(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}"#),
                "Policy has invalid resource",
            ),
            (
                &wrap(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::data"}"#),
                "Action does not apply to any resource(s) in statement",
            ),
            (
                &wrap(r#"{"Effect":"Allow","Principal":"*","Action":["s3:ListBucket"],"Resource":"arn:aws:s3:::data/*"}"#),
                "Action does not apply to any resource(s) in statement",
            ),
            (
                &wrap(
                    r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*","Condition":{"StringFuzzy":{"s3:prefix":"a"}}}"#,
                ),
                "Invalid Condition type : StringFuzzy",
            ),
            (
                &wrap(
                    r#"{"Effect":"Allow","Principal":{"Nobody":"x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}"#,
                ),
                "Invalid principal in policy",
            ),
            (
                &wrap(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*","Extra":1}"#),
                "Unknown field Extra",
            ),
            (
                &wrap(
                    r#"{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"},{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}"#,
                ),
                "Statement IDs (SID) in a single policy must be unique",
            ),
        ];
        for (json, message) in cases {
            assert_eq!(bucket_policy(json).err().as_deref(), Some(message), "{json}");
        }
    }

    #[test]
    fn minio_anonymous_download_policy_is_accepted_and_public() {
        // What `mc anonymous set download` sends.
        let policy = bucket_policy(&wrap(
            r#"{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":["arn:aws:s3:::data"]},
               {"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::data/*"]}"#,
        ))
        .unwrap();
        assert!(policy.is_public());
        let narrowed = bucket_policy(&wrap(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
        ))
        .unwrap();
        assert!(!narrowed.is_public());
        let named = bucket_policy(&wrap(
            r#"{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}"#,
        ))
        .unwrap();
        let vacuous = bucket_policy(&wrap(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*","Condition":{"ForAllValues:StringEquals":{"aws:username":"x"}}}"#,
        ))
        .unwrap();
        assert!(
            vacuous.is_public(),
            "ForAllValues holds for anonymous callers: it narrows nothing"
        );
        assert!(!named.is_public());
    }

    #[test]
    fn negations_wildcards_and_variables() {
        let policy = Policy::parse(
            &wrap(
                r#"{"Effect":"Allow","NotAction":["s3:Delete*"],"Resource":"arn:aws:s3:::home/${aws:username}/*"},
                   {"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::home/*"]}"#,
            ),
            PolicyKind::Identity,
        )
        .unwrap();
        let ask = |action, resource| {
            policy.evaluate(&Request {
                requester: Requester::User("alice"),
                action,
                resource,
                context: &User("alice"),
            })
        };
        assert_eq!(ask("s3:GetObject", "arn:aws:s3:::home/alice/x"), Outcome::Allowed);
        assert_eq!(ask("s3:getobject", "arn:aws:s3:::home/alice/x"), Outcome::Allowed);
        assert_eq!(ask("s3:GetObject", "arn:aws:s3:::home/bob/x"), Outcome::NotApplicable);
        assert_eq!(ask("s3:DeleteObject", "arn:aws:s3:::home/alice/x"), Outcome::NotApplicable);
        assert_eq!(ask("s3:GetObject", "arn:aws:s3:::other/x"), Outcome::Denied);
    }

    #[test]
    fn identity_policies_are_not_held_to_the_bucket_policy_resource_check() {
        let doc =
            wrap(r#"{"Effect":"Allow","Action":["s3:ListAllMyBuckets","s3:GetBucketLocation"],"Resource":"arn:aws:s3:::*"}"#);
        Policy::parse(&doc, PolicyKind::Identity).unwrap();
    }

    #[test]
    fn principals_name_users_by_key_or_arn() {
        let policy = bucket_policy(&wrap(
            r#"{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/alice","bob"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}"#,
        ))
        .unwrap();
        let ask = |requester| {
            policy.evaluate(&Request {
                requester,
                action: "s3:GetObject",
                resource: "arn:aws:s3:::data/k",
                context: &User("x"),
            })
        };
        assert_eq!(ask(Requester::User("alice")), Outcome::Allowed);
        assert_eq!(ask(Requester::User("bob")), Outcome::Allowed);
        assert_eq!(ask(Requester::User("malice")), Outcome::NotApplicable);
        assert_eq!(ask(Requester::Anonymous), Outcome::NotApplicable);
    }
}
