//! `mc admin policy create | rm | ls | info | attach | detach`: named identity policies
//! (MinIO's canned ones, the users file's, and those created here, stored in the store) and
//! which users they are attached to. Groups do not exist in Lagoa: calls naming one are 501.

use std::collections::BTreeMap;

use lagoa_access::{Policy, PolicyKind};
use s3s::{Body, S3Response, S3Result, s3_error};
use serde::{Deserialize, Serialize};

use super::users::refuse_fixed;
use super::{AdminRoute, Call, empty, invalid_argument, json, no_such_policy, no_such_user, now, rfc3339, sealed_json};
use crate::errors::custom;
use crate::identity::{Directory, IamState, Origin, StoredPolicy};

/// `PUT add-canned-policy?name=`: creates or replaces a policy (IAM JSON in the body); users
/// it is attached to get the new text at once. Canned and users-file policies are fixed.
pub(super) async fn add(route: &AdminRoute, mut call: Call) -> S3Result<S3Response<Body>> {
    call.authorize(&route.identities.current(), "admin:CreatePolicy")?;
    let name = call.param("name").to_owned();
    check_name(&name)?;
    let body = call.body().await?;
    let document = String::from_utf8(body.to_vec()).map_err(|_| malformed("The policy is not UTF-8"))?;
    Policy::parse(&document, PolicyKind::Identity).map_err(|e| malformed(e.message()))?;
    route
        .identities
        .change(&route.store, |state, current| {
            refuse_fixed_policy(current, &name)?;
            let at = now();
            let created_at = state.policies.get(&name).map_or(at, |p| p.created_at);
            state.policies.insert(
                name.clone(),
                StoredPolicy {
                    document,
                    created_at,
                    updated_at: at,
                },
            );
            Ok(())
        })
        .await?;
    Ok(empty(http::StatusCode::OK))
}

/// `DELETE remove-canned-policy?name=`: refused while a user has it attached (MinIO's
/// `XMinioAdminPolicyInUse`), so no user silently loses access.
pub(super) async fn remove(route: &AdminRoute, call: Call) -> S3Result<S3Response<Body>> {
    call.authorize(&route.identities.current(), "admin:DeletePolicy")?;
    let name = call.param("name").to_owned();
    route
        .identities
        .change(&route.store, |state, current| {
            refuse_fixed_policy(current, &name)?;
            if !state.policies.contains_key(&name) {
                return Err(no_such_policy(&name));
            }
            let users = users_with(current, &name);
            if !users.is_empty() {
                return Err(custom(
                    "XMinioAdminPolicyInUse",
                    http::StatusCode::BAD_REQUEST,
                    format!("The policy is attached to {}; detach it first", users.join(", ")),
                ));
            }
            state.policies.remove(&name);
            Ok(())
        })
        .await?;
    Ok(empty(http::StatusCode::OK))
}

/// `GET list-canned-policies`: every named policy, name → document.
pub(super) fn list(route: &AdminRoute, call: Call) -> S3Result<S3Response<Body>> {
    let identities = route.identities.current();
    call.authorize(&identities, "admin:ListUserPolicies")?;
    let mut policies = BTreeMap::new();
    for (name, policy) in identities.policies() {
        policies.insert(name.as_str(), raw_json(&policy.document)?);
    }
    json(&policies)
}

/// madmin's `PolicyInfo` (`info-canned-policy?v=2`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyInfo<'a> {
    policy_name: &'a str,
    policy: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_date: Option<String>,
}

/// `GET info-canned-policy?name=[&v=2]`: the document (v1), or it with its name and dates.
pub(super) fn info(route: &AdminRoute, call: Call) -> S3Result<S3Response<Body>> {
    let identities = route.identities.current();
    call.authorize(&identities, "admin:GetPolicy")?;
    let name = call.param("name");
    let policy = identities.policies().get(name).ok_or_else(|| no_such_policy(name))?;
    if call.param("v") != "2" {
        let mut res = S3Response::new(Body::from(policy.document.clone()));
        res.headers
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        return Ok(res);
    }
    json(&PolicyInfo {
        policy_name: name,
        policy: raw_json(&policy.document)?,
        create_date: policy.created_at.and_then(rfc3339),
        update_date: policy.updated_at.and_then(rfc3339),
    })
}

/// `PUT set-user-or-group-policy?policyName=a,b&userOrGroup=&isGroup=false`: replaces a
/// user's policies (the older `mc admin policy set`).
pub(super) async fn set(route: &AdminRoute, call: Call) -> S3Result<S3Response<Body>> {
    call.authorize(&route.identities.current(), "admin:AttachUserOrGroupPolicy")?;
    if call.param("isGroup") == "true" {
        return Err(no_groups());
    }
    let user = call.param("userOrGroup").to_owned();
    let names: Vec<String> = call
        .param("policyName")
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    route
        .identities
        .change(&route.store, |state, current| {
            let attached = attached_mut(state, current, &user)?;
            for name in &names {
                current.policies().get(name).ok_or_else(|| no_such_policy(name))?;
            }
            *attached = names;
            Ok(())
        })
        .await?;
    Ok(empty(http::StatusCode::OK))
}

/// madmin's `PolicyAssociationReq`.
#[derive(Deserialize)]
struct Association {
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    user: String,
    #[serde(default)]
    group: String,
}

/// madmin's `PolicyAssociationResp`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AssociationResult {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    policies_attached: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    policies_detached: Vec<String>,
    updated_at: Option<String>,
}

/// `POST idp/builtin/policy/attach|detach` (`mc admin policy attach … --user`): adds or
/// removes policies of a user; a call that changes nothing is MinIO's
/// `XMinioAdminPolicyChangeAlreadyApplied`.
pub(super) async fn attach(route: &AdminRoute, mut call: Call, attach: bool) -> S3Result<S3Response<Body>> {
    let action = if attach {
        "admin:AttachUserOrGroupPolicy"
    } else {
        "admin:DetachUserOrGroupPolicy"
    };
    call.authorize(&route.identities.current(), action)?;
    let body = call.sealed_body().await?;
    let request: Association = serde_json::from_slice(&body).map_err(|e| {
        custom(
            "XMinioAdminConfigBadJSON",
            http::StatusCode::BAD_REQUEST,
            format!("Not madmin's PolicyAssociationReq: {e}"),
        )
    })?;
    if !request.group.is_empty() {
        return Err(no_groups());
    }
    if request.user.is_empty() || request.policies.is_empty() || request.policies.iter().any(String::is_empty) {
        return Err(invalid_argument("Name a user and at least one policy"));
    }
    let changed = route
        .identities
        .change(&route.store, |state, current| {
            let attached = attached_mut(state, current, &request.user)?;
            let mut changed = Vec::new();
            for name in &request.policies {
                current.policies().get(name).ok_or_else(|| no_such_policy(name))?;
                let position = attached.iter().position(|n| n == name);
                match (attach, position) {
                    (true, None) => attached.push(name.clone()),
                    (false, Some(i)) => drop(attached.remove(i)),
                    _ => continue,
                }
                changed.push(name.clone());
            }
            if changed.is_empty() {
                return Err(custom(
                    "XMinioAdminPolicyChangeAlreadyApplied",
                    http::StatusCode::BAD_REQUEST,
                    "The specified policy change is already in effect.",
                ));
            }
            Ok(changed)
        })
        .await?;
    if call.is_legacy_madmin() {
        let status = if attach {
            http::StatusCode::CREATED
        } else {
            http::StatusCode::NO_CONTENT
        };
        return Ok(empty(status));
    }
    let (policies_attached, policies_detached) = if attach {
        (changed, Vec::new())
    } else {
        (Vec::new(), changed)
    };
    sealed_json(
        &call,
        &AssociationResult {
            policies_attached,
            policies_detached,
            updated_at: rfc3339(now()),
        },
    )
    .await
}

/// The attached-policy list of an admin user, to change.
fn attached_mut<'s>(state: &'s mut IamState, current: &Directory, user: &str) -> S3Result<&'s mut Vec<String>> {
    refuse_fixed(current, user)?;
    let entry = state.users.get_mut(user).ok_or_else(|| no_such_user(user))?;
    entry.updated_at = now();
    Ok(&mut entry.policies)
}

/// Users (of any origin) that have `name` attached.
fn users_with(current: &Directory, name: &str) -> Vec<String> {
    current
        .users()
        .iter()
        .filter(|(_, u)| u.policy_names.iter().flatten().any(|n| n == name))
        .map(|(k, _)| k.clone())
        .collect()
}

fn refuse_fixed_policy(current: &Directory, name: &str) -> S3Result<()> {
    match current.policies().get(name).map(|p| p.origin) {
        Some(Origin::Canned) => Err(invalid_argument(format!("{name:?} is a canned policy and cannot be changed"))),
        Some(Origin::UsersFile) => Err(invalid_argument(format!(
            "Policy {name:?} is defined in the --users file; change it there"
        ))),
        _ => Ok(()),
    }
}

/// Policy names are listed comma-separated, so they hold no comma (nor spaces).
fn check_name(name: &str) -> S3Result<()> {
    if name.is_empty() || name.len() > 128 || name.chars().any(|c| c == ',' || c.is_whitespace() || c.is_control()) {
        return Err(invalid_argument("A policy name is 1 to 128 characters without ',' or spaces"));
    }
    Ok(())
}

fn malformed(message: &str) -> s3s::S3Error {
    custom("MalformedPolicy", http::StatusCode::BAD_REQUEST, message.to_owned())
}

fn no_groups() -> s3s::S3Error {
    s3_error!(NotImplemented, "Lagoa has no groups: attach policies to users")
}

/// A policy document as JSON (not as a string) inside an answer.
fn raw_json(document: &str) -> S3Result<serde_json::Value> {
    serde_json::from_str(document).map_err(|e| s3_error!(InternalError, "a stored policy is not JSON: {e}"))
}
