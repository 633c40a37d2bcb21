//! IAM's wildcards: `*` matches any run of characters (also none), `?` exactly one character.
//! Patterns are classified once when a policy is loaded, so the common shapes (`*`, an exact
//! name, `prefix*`) cost one comparison per request instead of a backtracking match.

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// `*`: everything.
    Any,
    /// No wildcard.
    Exact(String),
    /// One trailing `*` and no other wildcard.
    Prefix(String),
    /// Anything else.
    Glob(String),
}

impl Pattern {
    /// Compiles `pattern`; with `fold_case` it matches ASCII case-insensitively (action names).
    pub fn new(pattern: &str, fold_case: bool) -> Self {
        let pattern = if fold_case {
            pattern.to_ascii_lowercase()
        } else {
            pattern.to_owned()
        };
        if pattern == "*" {
            return Self::Any;
        }
        let wild = |c: char| c == '*' || c == '?';
        match pattern.find(wild) {
            None => Self::Exact(pattern),
            Some(i) if i == pattern.len() - 1 && pattern.ends_with('*') => Self::Prefix(pattern[..i].to_owned()),
            Some(_) => Self::Glob(pattern),
        }
    }

    /// Whether `text` matches. With a case-folding pattern, `text` must already be lowercase
    /// or be compared through [`Pattern::matches_folded`].
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(p) => p == text,
            Self::Prefix(p) => text.starts_with(p.as_str()),
            Self::Glob(p) => glob(p.as_bytes(), text.as_bytes(), false),
        }
    }

    /// Whether `text` matches, ignoring ASCII case in `text` (the pattern is lowercase).
    pub fn matches_folded(&self, text: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(p) => p.eq_ignore_ascii_case(text),
            Self::Prefix(p) => text.len() >= p.len() && text.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes()),
            Self::Glob(p) => glob(p.as_bytes(), text.as_bytes(), true),
        }
    }
}

/// Whether `text` matches the wildcard `pattern` (a one-off match, nothing compiled).
pub fn matches(pattern: &str, text: &str) -> bool {
    glob(pattern.as_bytes(), text.as_bytes(), false)
}

/// Whether `text` matches `pattern` ignoring ASCII case.
pub fn matches_ignoring_case(pattern: &str, text: &str) -> bool {
    glob(pattern.as_bytes(), text.as_bytes(), true)
}

/// The length of the UTF-8 character that starts with `first`.
fn char_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Greedy matching with one backtrack point (the last `*`): linear in practice, at worst
/// pattern × text, with no allocation. `?` consumes one UTF-8 character, not one byte.
fn glob(p: &[u8], t: &[u8], fold: bool) -> bool {
    let eq = |a: u8, b: u8| if fold { a.eq_ignore_ascii_case(&b) } else { a == b };
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == b'?' {
            pi += 1;
            ti += char_len(t[ti]);
        } else if pi < p.len() && eq(p[pi], t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            let next = st + char_len(t[st]);
            star = Some((sp, next));
            pi = sp + 1;
            ti = next;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len() && ti == t.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wildcards_match_as_iam_documents_them() {
        assert!(matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b.txt"));
        assert!(matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/"));
        assert!(!matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket"));
        assert!(matches("arn:aws:s3:::b?cket", "arn:aws:s3:::bücket"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*a*b*", "xxaxxbxx"));
        assert!(!matches("*a*b*", "xxbxxaxx"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
        assert!(matches_ignoring_case("s3:get*", "s3:GetObject"));
        assert!(Pattern::new("s3:Get*", true).matches_folded("S3:GETOBJECT"));
        assert!(!Pattern::new("s3:Get*", true).matches_folded("s3:PutObject"));
        assert_eq!(Pattern::new("s3:*", false), Pattern::Prefix("s3:".into()));
        assert_eq!(Pattern::new("a*b", false), Pattern::Glob("a*b".into()));
    }

    /// The reference: a regular expression built from the pattern.
    fn reference(pattern: &str, text: &str) -> bool {
        fn rec(p: &[char], t: &[char]) -> bool {
            match p.first() {
                None => t.is_empty(),
                Some('*') => (0..=t.len()).any(|i| rec(&p[1..], &t[i..])),
                Some('?') => !t.is_empty() && rec(&p[1..], &t[1..]),
                Some(c) => t.first() == Some(c) && rec(&p[1..], &t[1..]),
            }
        }
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        rec(&p, &t)
    }

    proptest! {
        #[test]
        fn compiled_and_plain_matching_agree_with_a_naive_matcher(pattern in "[ab*?é/]{0,8}", text in "[abé/]{0,10}") {
            let expected = reference(&pattern, &text);
            prop_assert_eq!(matches(&pattern, &text), expected);
            prop_assert_eq!(Pattern::new(&pattern, false).matches(&text), expected);
        }
    }
}
