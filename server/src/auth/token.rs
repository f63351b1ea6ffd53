//! JWT (HS256) tokens: issue and verify, with the algorithm pinned.

use crate::error::StartError;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use shared::ErrorCode;
use std::path::Path;

/// What a token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// The version of the user's tokens it was issued at: once the user
    /// logs out (the version moves on) it is refused. Tokens made before
    /// versions existed have none, version 0.
    #[serde(default)]
    pub ver: i64,
}

/// The signing keys and how long tokens live: a cheap handle (extractors
/// take it from the state on every request).
#[derive(Clone)]
pub struct TokenKeys {
    encoding: std::sync::Arc<EncodingKey>,
    decoding: std::sync::Arc<DecodingKey>,
    ttl_secs: i64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        Self {
            encoding: std::sync::Arc::new(EncodingKey::from_secret(secret)),
            decoding: std::sync::Arc::new(DecodingKey::from_secret(secret)),
            ttl_secs,
        }
    }

    /// The secret from `JWT_SECRET`, else the one kept in
    /// `<data_dir>/jwt_secret` (made once, mode 0600).
    pub fn load(secret: Option<&str>, data_dir: &Path, ttl_secs: i64) -> Result<Self, StartError> {
        if let Some(s) = secret.filter(|s| !s.is_empty()) {
            return Ok(Self::new(s.as_bytes(), ttl_secs));
        }
        let file = data_dir.join("jwt_secret");
        if let Ok(existing) = std::fs::read_to_string(&file) {
            let existing = existing.trim();
            if existing.len() >= 32 {
                return Ok(Self::new(existing.as_bytes(), ttl_secs));
            }
        }
        std::fs::create_dir_all(data_dir)?;
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        write_private(&file, &secret)?;
        tracing::info!(file = %file.display(), "generated a JWT secret");
        Ok(Self::new(secret.as_bytes(), ttl_secs))
    }

    /// A token for `user_id` at the version of their tokens `ver`, valid
    /// for the configured time from now.
    pub fn issue(&self, user_id: &str, ver: i64) -> String {
        let iat = crate::store::now_secs();
        self.sign(Claims {
            sub: user_id.to_owned(),
            iat,
            exp: iat + self.ttl_secs,
            ver,
        })
    }

    /// A token with explicit times, at version 0 (tests use this for
    /// expired tokens).
    pub fn issue_at(&self, user_id: &str, iat: i64, exp: i64) -> String {
        self.sign(Claims {
            sub: user_id.to_owned(),
            iat,
            exp,
            ver: 0,
        })
    }

    fn sign(&self, claims: Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding cannot fail")
    }

    /// The claims of a valid token, or `INVALID_TOKEN` / `TOKEN_EXPIRED`.
    pub fn verify(&self, token: &str) -> Result<Claims, ErrorCode> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        validation.leeway = 0;
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => {
                Err(ErrorCode::TokenExpired)
            }
            Err(_) => Err(ErrorCode::InvalidToken),
        }
    }
}

#[cfg(unix)]
fn write_private(file: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(file: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(file, contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn tokens_verify_and_expire() {
        let keys = TokenKeys::new(b"a-secret-of-enough-length-0123456789", 3600);
        let t = keys.issue("user-1", 3);
        assert_eq!(keys.verify(&t).unwrap().ver, 3);
        assert_eq!(keys.verify(&t).unwrap().sub, "user-1");
        let old = keys.issue_at("user-1", 1000, 2000);
        assert_eq!(keys.verify(&old).unwrap_err(), ErrorCode::TokenExpired);
    }

    #[test]
    fn other_keys_and_alg_none_are_refused() {
        let keys = TokenKeys::new(b"a-secret-of-enough-length-0123456789", 3600);
        let other = TokenKeys::new(b"another-secret-of-enough-length-012", 3600);
        assert_eq!(
            keys.verify(&other.issue("u", 0)).unwrap_err(),
            ErrorCode::InvalidToken
        );
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let now = crate::store::now_secs();
        let claims = b64.encode(format!(r#"{{"sub":"u","iat":{now},"exp":{}}}"#, now + 100));
        let unsigned = format!("{header}.{claims}.");
        assert_eq!(keys.verify(&unsigned).unwrap_err(), ErrorCode::InvalidToken);
        assert_eq!(keys.verify("garbage").unwrap_err(), ErrorCode::InvalidToken);
    }

    #[test]
    fn the_generated_secret_is_kept_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("chorus-jwt-{}", uuid::Uuid::new_v4()));
        let a = TokenKeys::load(None, &dir, 60).unwrap();
        let b = TokenKeys::load(None, &dir, 60).unwrap();
        assert_eq!(b.verify(&a.issue("u", 0)).unwrap().sub, "u");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("jwt_secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
