//! `mc admin user add | enable | disable | remove | ls | info`: users the admin API adds,
//! stored in the store. Root and the users file's users are listed but not changed here.

use std::collections::BTreeMap;

use s3s::{Body, S3Response, S3Result};
use serde::{Deserialize, Serialize};

use super::{AdminRoute, Call, empty, invalid_argument, json, no_such_user, now, rfc3339, sealed_json};
use crate::errors::custom;
use crate::identity::{Directory, Origin, StoredUser, User};

/// madmin's `AddOrUpdateUserReq`.
#[derive(Deserialize)]
struct AddOrUpdateUser {
    #[serde(rename = "secretKey", default)]
    secret_key: String,
    #[serde(default)]
    status: String,
}

/// madmin's `UserInfo`.
#[derive(Serialize)]
struct UserInfo {
    #[serde(rename = "policyName", skip_serializing_if = "String::is_empty")]
    policy_name: String,
    status: &'static str,
    #[serde(rename = "updatedAt", skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

impl UserInfo {
    fn of(user: &User) -> Self {
        Self {
            policy_name: user.policy_names.as_deref().unwrap_or_default().join(","),
            status: if user.enabled { "enabled" } else { "disabled" },
            updated_at: user.updated_at.and_then(rfc3339),
        }
    }
}

/// `PUT add-user?accessKey=`: creates a user, or changes an admin user's secret key (key
/// rotation) and status. The body is sealed with the signer's secret.
pub(super) async fn add(route: &AdminRoute, mut call: Call) -> S3Result<S3Response<Body>> {
    call.authorize(&route.identities.current(), "admin:CreateUser")?;
    let access_key = call.param("accessKey").to_owned();
    let body = call.sealed_body().await?;
    let request: AddOrUpdateUser = serde_json::from_slice(&body).map_err(|e| {
        custom(
            "XMinioAdminConfigBadJSON",
            http::StatusCode::BAD_REQUEST,
            format!("The user request is not madmin's AddOrUpdateUserReq: {e}"),
        )
    })?;
    check_access_key(&access_key)?;
    if access_key == call.access_key {
        return Err(invalid_argument("A user cannot change its own credentials through add-user"));
    }
    let enabled = match request.status.as_str() {
        "" | "enabled" => true,
        "disabled" => false,
        other => return Err(invalid_argument(format!("Unknown account status {other:?}"))),
    };
    route
        .identities
        .change(&route.store, |state, current| {
            refuse_fixed(current, &access_key)?;
            match state.users.get_mut(&access_key) {
                Some(user) => {
                    if !request.secret_key.is_empty() {
                        check_secret_key(&request.secret_key)?;
                        user.secret_key = request.secret_key;
                    }
                    user.enabled = enabled;
                    user.updated_at = now();
                }
                None => {
                    check_secret_key(&request.secret_key)?;
                    state.users.insert(
                        access_key.clone(),
                        StoredUser {
                            secret_key: request.secret_key,
                            enabled,
                            policies: Vec::new(),
                            updated_at: now(),
                        },
                    );
                }
            }
            Ok(())
        })
        .await?;
    Ok(empty(http::StatusCode::OK))
}

/// `PUT set-user-status?accessKey=&status=enabled|disabled`: a disabled user's requests are
/// refused as from an unknown access key, until it is enabled again.
pub(super) async fn set_status(route: &AdminRoute, call: Call) -> S3Result<S3Response<Body>> {
    let (action, enabled) = match call.param("status") {
        "enabled" => ("admin:EnableUser", true),
        "disabled" => ("admin:DisableUser", false),
        other => {
            return Err(invalid_argument(format!(
                "Unknown account status {other:?}: use enabled or disabled"
            )));
        }
    };
    call.authorize(&route.identities.current(), action)?;
    let access_key = call.param("accessKey").to_owned();
    route
        .identities
        .change(&route.store, |state, current| {
            refuse_fixed(current, &access_key)?;
            let user = state.users.get_mut(&access_key).ok_or_else(|| no_such_user(&access_key))?;
            user.enabled = enabled;
            user.updated_at = now();
            Ok(())
        })
        .await?;
    Ok(empty(http::StatusCode::OK))
}

/// `DELETE remove-user?accessKey=`: the user and its policy attachments go; buckets it owns
/// stay (root can still reach them).
pub(super) async fn remove(route: &AdminRoute, call: Call) -> S3Result<S3Response<Body>> {
    call.authorize(&route.identities.current(), "admin:DeleteUser")?;
    let access_key = call.param("accessKey").to_owned();
    route
        .identities
        .change(&route.store, |state, current| {
            refuse_fixed(current, &access_key)?;
            state
                .users
                .remove(&access_key)
                .map(drop)
                .ok_or_else(|| no_such_user(&access_key))
        })
        .await?;
    Ok(empty(http::StatusCode::OK))
}

/// `GET list-users`: every user but root, sealed with the signer's secret (no secret keys).
pub(super) async fn list(route: &AdminRoute, call: Call) -> S3Result<S3Response<Body>> {
    let identities = route.identities.current();
    call.authorize(&identities, "admin:ListUsers")?;
    let users: BTreeMap<&str, UserInfo> = identities
        .users()
        .iter()
        .map(|(key, user)| (key.as_str(), UserInfo::of(user)))
        .collect();
    sealed_json(&call, &users).await
}

/// `GET user-info?accessKey=`: a user's status and policies; users may always ask about
/// themselves, as in MinIO.
pub(super) fn info(route: &AdminRoute, call: Call) -> S3Result<S3Response<Body>> {
    let identities = route.identities.current();
    let access_key = call.param("accessKey");
    if access_key != call.access_key {
        call.authorize(&identities, "admin:GetUser")?;
    }
    let user = identities.user(access_key).ok_or_else(|| no_such_user(access_key))?;
    json(&UserInfo::of(user))
}

/// Root and the users file's users are configuration, not admin state.
pub(super) fn refuse_fixed(current: &Directory, access_key: &str) -> S3Result<()> {
    if current.is_root(access_key) {
        return Err(invalid_argument(
            "The root user is set by LAGOA_ROOT_USER/LAGOA_ROOT_PASSWORD, not the admin API",
        ));
    }
    if current.user(access_key).is_some_and(|u| u.origin == Origin::UsersFile) {
        return Err(invalid_argument(format!(
            "User {access_key:?} is defined in the --users file; change it there"
        )));
    }
    Ok(())
}

/// MinIO's access-key rules: 3 to 128 characters, none of `=` `,` or whitespace.
fn check_access_key(key: &str) -> S3Result<()> {
    let ok = (3..=128).contains(&key.chars().count())
        && !key
            .chars()
            .any(|c| c == '=' || c == ',' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(custom(
            "XMinioAdminInvalidAccessKey",
            http::StatusCode::BAD_REQUEST,
            "The access key must be 3 to 128 characters, without '=', ',' or spaces",
        ))
    }
}

/// MinIO's secret-key rule: 8 to 40 characters.
fn check_secret_key(secret: &str) -> S3Result<()> {
    if (8..=40).contains(&secret.chars().count()) {
        Ok(())
    } else {
        Err(custom(
            "XMinioAdminInvalidSecretKey",
            http::StatusCode::BAD_REQUEST,
            "The secret key must be 8 to 40 characters",
        ))
    }
}
