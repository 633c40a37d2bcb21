//! Policy variables: `${aws:username}` and friends in resources and condition values, filled
//! in from the request (so one statement can give every user a home prefix), plus the escapes
//! `${*}`, `${?}` and `${$}` for literal wildcard characters.

use std::borrow::Cow;

use crate::condition::Context;

/// `text` with every `${key}` replaced by the request's single value of `key`; `None` when the
/// request has no (single) value for one of them — the element then matches nothing, as IAM does.
/// The escapes stand for the literal characters, which then count as wildcards where the text
/// is a pattern (IAM's own documented quirk).
pub fn expand<'a>(text: &'a str, ctx: &dyn Context) -> Option<Cow<'a, str>> {
    if !text.contains("${") {
        return Some(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Some(Cow::Owned(out));
        };
        let name = &after[..end];
        match name {
            "*" | "?" | "$" => out.push_str(name),
            _ => {
                let values = ctx.values(&name.to_ascii_lowercase())?;
                let [value] = values.as_slice() else {
                    return None;
                };
                out.push_str(value);
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct User;

    impl Context for User {
        fn values(&self, key: &str) -> Option<Vec<Cow<'_, str>>> {
            (key == "aws:username").then(|| vec![Cow::Borrowed("alice")])
        }
    }

    #[test]
    fn variables_are_filled_from_the_request() {
        assert_eq!(expand("home/${aws:username}/*", &User).unwrap(), "home/alice/*");
        assert_eq!(expand("a${*}b", &User).unwrap(), "a*b");
        assert_eq!(expand("plain", &User).unwrap(), "plain");
        assert!(expand("${aws:userid}", &User).is_none());
        assert_eq!(expand("x${unterminated", &User).unwrap(), "x${unterminated");
    }
}
