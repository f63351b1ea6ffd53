//! Accounts, anonymous visitors and usage (the hybrid chat and support protocols).
//!
//! `POST /api/auth/register`, `POST /api/auth/login`, `GET /api/auth/me`,
//! `GET /api/usage`.

use serde::{Deserialize, Serialize};

/// Body of `POST /api/auth/register` and `POST /api/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// A registered user, as others may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct User {
    pub id: String,
    pub username: String,
}

/// Answer of register (201) and login (200): a bearer token and its user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuthResponse {
    /// JWT (HS256) for `Authorization: Bearer`, or `?token=` on streams.
    pub token: String,
    pub user: User,
}

/// Answer of `GET /api/auth/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Me {
    pub id: String,
    pub username: String,
    /// Credits left to spend on generations.
    pub credits: i64,
}

/// Who is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UsageKind {
    /// Counted in assistant replies, up to the anonymous limit.
    Anonymous,
    /// Counted in credits (output tokens).
    User,
}

/// `GET /api/usage`, and the hybrid chat protocol's `usage_info` payload. For anonymous
/// visitors: replies used of the free limit. For users: credits spent of
/// credits granted, and the balance left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Usage {
    pub used: i64,
    pub limit: i64,
    pub remaining: i64,
    pub kind: UsageKind,
}

/// Header that identifies an anonymous visitor.
pub const ANON_ID_HEADER: &str = "x-anon-id";

/// Whether `id` is a valid anonymous id: 8–64 of `[A-Za-z0-9_-]`.
pub fn is_valid_anon_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Why a username cannot be used, if it cannot: 3–32 of `[A-Za-z0-9_.-]`.
pub fn username_problem(name: &str) -> Option<&'static str> {
    if !(3..=32).contains(&name.len()) {
        return Some("a username has 3 to 32 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Some("a username uses only letters, digits, '_', '.' and '-'");
    }
    None
}

/// Fewest characters in a password.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most characters in a password (hashing is deliberately slow).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Why a password cannot be used, if it cannot.
pub fn password_problem(password: &str) -> Option<&'static str> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Some("a password has at least 8 characters");
    }
    if n > MAX_PASSWORD_CHARS {
        return Some("a password has at most 256 characters");
    }
    if password.trim().is_empty() {
        return Some("a password cannot be only spaces");
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Some("a password cannot be one character repeated");
    }
    if is_common_password(password) {
        return Some("that password is one of the most common ones: choose another");
    }
    None
}

/// The most common passwords (8 characters or more), shipped with the
/// program: one a line, `#` starts a comment.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Whether `password` is on the list of the most common ones, in any case.
/// The list is ASCII (a test says so), so an ASCII comparison ignoring case
/// finds every match; it also keeps Unicode's case tables out of the app,
/// which checks passwords before sending them.
pub fn is_common_password(password: &str) -> bool {
    COMMON_PASSWORDS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.trim().eq_ignore_ascii_case(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anon_ids_are_checked_for_length_and_characters() {
        assert!(is_valid_anon_id("abcd1234"));
        assert!(is_valid_anon_id(&"a".repeat(64)));
        assert!(is_valid_anon_id("550e8400-e29b-41d4-a716-446655440000"));
        assert!(!is_valid_anon_id("short"));
        assert!(!is_valid_anon_id(&"a".repeat(65)));
        assert!(!is_valid_anon_id("abcd1234'; DROP TABLE users;--"));
        assert!(!is_valid_anon_id("abcd 1234"));
    }

    #[test]
    fn usernames_and_passwords_follow_the_rules() {
        assert_eq!(username_problem("ada.l_ove-1"), None);
        assert!(username_problem("ab").is_some());
        assert!(username_problem(&"a".repeat(33)).is_some());
        assert!(username_problem("robert'); DROP TABLE users;--").is_some());
        assert!(username_problem("ünïcode").is_some());
        assert_eq!(password_problem("correct horse"), None);
        assert_eq!(password_problem("k3ttle-drum"), None);
        assert!(password_problem("1234567").is_some());
        // The weakest are refused: one character, blanks, the common list
        // (in any case).
        for weak in [
            "12345678",
            "aaaaaaaa",
            "        ",
            "\t\t\t\t\t\t\t\t",
            "Password1",
            "QWERTYUIOP",
        ] {
            assert!(password_problem(weak).is_some(), "{weak:?}");
        }
    }

    #[test]
    fn the_common_password_list_is_ascii_so_ascii_case_finds_every_match() {
        assert!(COMMON_PASSWORDS.is_ascii());
        assert!(is_common_password("PassWord1"));
        assert!(!is_common_password("pässword1"));
    }

    #[test]
    fn usage_has_the_seed_shape() {
        let u = Usage {
            used: 3,
            limit: 10,
            remaining: 7,
            kind: UsageKind::Anonymous,
        };
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            serde_json::json!({"used":3,"limit":10,"remaining":7,"kind":"anonymous"})
        );
    }
}
