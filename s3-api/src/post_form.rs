//! Browser POST uploads: fixes to s3s 0.14's answers so they match Amazon S3 and MinIO.
//!
//! s3s validates the POST policy before any Lagoa code runs and answers a failed `eq` /
//! `starts-with` condition with `400 InvalidPolicyDocument`. S3 (and MinIO, and the browser code
//! written against them) expect `403 AccessDenied` "Invalid according to Policy: …" — the policy
//! document itself was valid, the request just did not satisfy it.

use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt;

type Response = http::Response<s3s::Body>;

/// Error bodies from s3s are a few hundred bytes; anything larger is left alone.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// Whether `req` is a browser-form POST (multipart/form-data), the only request whose policy
/// answers need rewriting.
pub(crate) fn is_form_post<B>(req: &http::Request<B>) -> bool {
    req.method() == http::Method::POST
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Turns s3s's `400 InvalidPolicyDocument` for an unmet policy condition into S3's
/// `403 AccessDenied`; every other response passes through unchanged.
pub(crate) async fn policy_condition_as_access_denied(res: Response) -> Response {
    if res.status() != StatusCode::BAD_REQUEST {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match http_body_util::Limited::new(body, MAX_ERROR_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read an error body to rewrite");
            return http::Response::from_parts(parts, s3s::Body::empty());
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let message = between(&text, "<Message>", "</Message>").unwrap_or_default();
    if between(&text, "<Code>", "</Code>") != Some("InvalidPolicyDocument") || !message.starts_with("Policy condition") {
        return http::Response::from_parts(parts, s3s::Body::from(bytes));
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy: {message}</Message></Error>"
    );
    parts.status = StatusCode::FORBIDDEN;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    http::Response::from_parts(parts, s3s::Body::from(xml))
}

/// The text between the first `open` and the following `close` (already XML-escaped).
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: StatusCode, code: &str, message: &str) -> Response {
        let mut res = http::Response::new(s3s::Body::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        )));
        *res.status_mut() = status;
        res
    }

    async fn body_text(res: Response) -> String {
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn unmet_condition_becomes_access_denied() {
        let res = policy_condition_as_access_denied(error(
            StatusCode::BAD_REQUEST,
            "InvalidPolicyDocument",
            "Policy condition &apos;eq&apos; for field &apos;key&apos; failed",
        ))
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let text = body_text(res).await;
        assert!(text.contains("<Code>AccessDenied</Code>"), "{text}");
        assert!(
            text.contains("Invalid according to Policy: Policy condition &apos;eq&apos;"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn other_errors_pass_through() {
        for (status, code, message) in [
            (
                StatusCode::BAD_REQUEST,
                "InvalidPolicyDocument",
                "failed to parse POST policy",
            ),
            (StatusCode::BAD_REQUEST, "EntityTooLarge", "Policy condition lookalike"),
            (StatusCode::FORBIDDEN, "AccessDenied", "Request has expired"),
        ] {
            let res = policy_condition_as_access_denied(error(status, code, message)).await;
            assert_eq!(res.status(), status);
            let text = body_text(res).await;
            assert!(
                text.contains(&format!("<Code>{code}</Code><Message>{message}</Message>")),
                "{text}"
            );
        }
    }
}
