//! Who is asking: a registered user (JWT) or an anonymous visitor
//! (`x-anon-id`). One extractor for every handler and socket.
//!
//! Sources, in order: `Authorization: Bearer`, `?token=` (EventSource and
//! WebSocket cannot set headers), then `x-anon-id` or `?anon_id=`. A bad
//! token is a 401, never silently anonymous. [`Caller`] is the same for
//! sockets and the seeds' clients, which may send no identity at all: then
//! the caller is an anonymous visitor keyed by their IP address, in a
//! namespace no client can name (`ip:…`: a client's `x-anon-id` cannot hold
//! a `:`). [`ClientIp`] is that address (see [`crate::client_ip`] for
//! `--trusted-proxy`).

use crate::auth::revocation::TokenVersions;
use crate::auth::token::TokenKeys;
use crate::client_ip::TrustedProxies;
use crate::connections::{AtLimit, ConnectionCounter, ConnectionSlot, Holder};
use crate::error::AppError;
use crate::quota::AnonAddresses;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use shared::ErrorCode;
use shared::auth::{ANON_ID_HEADER, is_valid_anon_id};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A registered user, by id.
    User(String),
    /// An anonymous visitor, by their `x-anon-id`.
    Anonymous(String),
}

impl Identity {
    /// A stable key for ownership checks ("user:…" or "anon:…").
    pub fn owner_key(&self) -> String {
        match self {
            Self::User(id) => format!("user:{id}"),
            Self::Anonymous(id) => format!("anon:{id}"),
        }
    }
}

/// A registered user: 401 for anyone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser(pub String);

/// The caller if they said who they are; `None` if they sent nothing at all.
/// Bad credentials are still an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeIdentity(pub Option<Identity>);

/// The bearer token of a request (`Authorization: Bearer` or `?token=`),
/// unchecked. `Err` for an Authorization header of another scheme.
pub fn bearer_token(parts: &Parts) -> Result<Option<String>, AppError> {
    let query = parts.uri.query().unwrap_or("");
    Ok(match parts.headers.get(AUTHORIZATION) {
        Some(value) => {
            let value = value.to_str().unwrap_or("");
            match value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
            {
                Some(t) => Some(t.trim().to_owned()),
                None => {
                    return Err(AppError::client(
                        ErrorCode::InvalidToken,
                        "Authorization must be \"Bearer <token>\"",
                    ));
                }
            }
        }
        None => query_value(query, "token"),
    })
}

/// Reads the identity from the request, if any is given.
pub fn identify(parts: &Parts, tokens: &TokenKeys) -> Result<Option<Identity>, AppError> {
    let query = parts.uri.query().unwrap_or("");
    if let Some(token) = bearer_token(parts)? {
        let claims = tokens.verify(&token).map_err(|code| {
            let msg = if code == ErrorCode::TokenExpired {
                "your session has expired: sign in again"
            } else {
                "the token is not valid: sign in again"
            };
            AppError::client(code, msg)
        })?;
        return Ok(Some(Identity::User(claims.sub)));
    }
    let anon = match parts.headers.get(ANON_ID_HEADER) {
        Some(v) => Some(v.to_str().unwrap_or("").to_owned()),
        None => query_value(query, "anon_id"),
    };
    match anon {
        Some(id) if is_valid_anon_id(&id) => Ok(Some(Identity::Anonymous(id))),
        Some(_) => Err(AppError::client(
            ErrorCode::InvalidAnonId,
            "x-anon-id must be 8 to 64 characters of A-Z, a-z, 0-9, '_' and '-'",
        )),
        None => Ok(None),
    }
}

/// The value of `key` in a query string (percent-decoding not needed: JWTs
/// and anon ids are URL-safe).
fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}

/// `FromRequestParts` for any state that holds the [`TokenKeys`], the
/// [`TokenVersions`], the [`TrustedProxies`] and the [`AnonAddresses`]: a
/// revoked token is refused, the extractor is
/// `$read(parts, tokens, client address)`, and the address an anonymous
/// visitor asks from is noted.
macro_rules! from_identity {
    ($extractor:ty, $read:path) => {
        impl<S> FromRequestParts<S> for $extractor
        where
            S: Send + Sync,
            TokenKeys: FromRef<S>,
            TokenVersions: FromRef<S>,
            TrustedProxies: FromRef<S>,
            AnonAddresses: FromRef<S>,
        {
            type Rejection = AppError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
                let ip = client_ip(parts, &TrustedProxies::from_ref(state));
                let tokens = TokenKeys::from_ref(state);
                not_revoked(parts, &tokens, &TokenVersions::from_ref(state)).await?;
                let read = $read(parts, &tokens, ip)?;
                note_address(state, read.identity(), ip);
                Ok(read)
            }
        }
    };
}

from_identity!(MaybeIdentity, maybe_identity);
from_identity!(Identity, identity);
from_identity!(AuthUser, auth_user);
from_identity!(Caller, caller);

/// 401 `INVALID_TOKEN` when the request's token was revoked (a bad or
/// expired token is the extractor's to refuse).
async fn not_revoked(
    parts: &Parts,
    tokens: &TokenKeys,
    versions: &TokenVersions,
) -> Result<(), AppError> {
    if let Ok(Some(token)) = bearer_token(parts)
        && let Ok(claims) = tokens.verify(&token)
    {
        versions.check(&claims).await?;
    }
    Ok(())
}

/// An extractor's identity, if it holds one.
trait Identified {
    fn identity(&self) -> Option<&Identity>;
}

impl Identified for MaybeIdentity {
    fn identity(&self) -> Option<&Identity> {
        self.0.as_ref()
    }
}

impl Identified for Identity {
    fn identity(&self) -> Option<&Identity> {
        Some(self)
    }
}

impl Identified for Caller {
    fn identity(&self) -> Option<&Identity> {
        Some(&self.who)
    }
}

impl Identified for AuthUser {
    fn identity(&self) -> Option<&Identity> {
        None
    }
}

/// Notes the address an anonymous visitor asks from, for the per-address
/// budget of free replies (`quota::AnonAddresses`).
fn note_address<S>(state: &S, who: Option<&Identity>, ip: IpAddr)
where
    AnonAddresses: FromRef<S>,
{
    if let Some(Identity::Anonymous(id)) = who {
        AnonAddresses::from_ref(state).seen(id, ip);
    }
}

/// The address a request comes from: the peer, or what a trusted proxy
/// says (`--trusted-proxy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    TrustedProxies: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        Ok(Self(client_ip(parts, &TrustedProxies::from_ref(state))))
    }
}

/// The address of the request in `parts` (see [`ClientIp`]).
pub(crate) fn client_ip(parts: &Parts, proxies: &TrustedProxies) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    proxies.client_ip(peer, &parts.headers)
}

fn maybe_identity(parts: &Parts, tokens: &TokenKeys, _: IpAddr) -> Result<MaybeIdentity, AppError> {
    identify(parts, tokens).map(MaybeIdentity)
}

fn identity(parts: &Parts, tokens: &TokenKeys, _: IpAddr) -> Result<Identity, AppError> {
    identify(parts, tokens)?.ok_or_else(|| {
        AppError::client(
            ErrorCode::Unauthorized,
            "sign in, or identify this browser with an x-anon-id header",
        )
    })
}

fn auth_user(parts: &Parts, tokens: &TokenKeys, _: IpAddr) -> Result<AuthUser, AppError> {
    match identify(parts, tokens)? {
        Some(Identity::User(id)) => Ok(AuthUser(id)),
        _ => Err(AppError::client(ErrorCode::Unauthorized, "sign in first")),
    }
}

/// Who is on the other end: their identity, or, when they gave none (the
/// specifications' own clients send none), an anonymous visitor keyed by their IP
/// address; and when their token expires, if they have one. A bad token is
/// still a 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub who: Identity,
    /// Their address (see [`ClientIp`]).
    pub ip: IpAddr,
    /// When the caller's token expires (Unix seconds): support sessions
    /// refuse messages after it.
    pub token_expires_at: Option<i64>,
}

fn caller(parts: &Parts, tokens: &TokenKeys, ip: IpAddr) -> Result<Caller, AppError> {
    let who = match identify(parts, tokens)? {
        Some(who) => who,
        None => Identity::Anonymous(ip_visitor(ip)),
    };
    let token_expires_at = bearer_token(parts)?
        .and_then(|t| tokens.verify(&t).ok())
        .map(|c| c.exp);
    Ok(Caller {
        who,
        ip,
        token_expires_at,
    })
}

impl Caller {
    /// The caller's place among the open sockets (see [`socket_slot`]).
    pub async fn connection_slot(
        &self,
        counter: &ConnectionCounter,
    ) -> Result<Option<ConnectionSlot>, AppError> {
        socket_slot(counter, &self.who, self.ip).await
    }
}

/// A place among the open sockets for `who` at `ip`: a user counts against
/// their own cap, an anonymous visitor against their address's (ids are
/// free to make up; addresses are not). `None` under `--no-limits`; 429
/// `CONNECTION_LIMIT` at a cap, 503 `UNAVAILABLE` when the server holds
/// all the sockets it keeps open.
pub async fn socket_slot(
    counter: &ConnectionCounter,
    who: &Identity,
    ip: IpAddr,
) -> Result<Option<ConnectionSlot>, AppError> {
    let holder = match who {
        Identity::User(id) => Holder::User(id.clone()),
        Identity::Anonymous(_) => Holder::Address(ip.to_string()),
    };
    counter.acquire(&holder).await.map_err(|at| match at {
        AtLimit::Holder(n) => AppError::client(
            ErrorCode::ConnectionLimit,
            format!("you already have {n} connections open; close one first"),
        ),
        AtLimit::Server(_) => AppError::client(
            ErrorCode::Unavailable,
            "the server is at its connection limit; try again shortly",
        ),
    })
}

/// The anonymous id of a visitor that gave none: `ip:127.0.0.1`. The `:`
/// keeps it out of reach: no `x-anon-id` a client sends can contain one
/// (`shared::auth::is_valid_anon_id`), so no client can take this identity.
pub fn ip_visitor(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    format!("ip:{ip}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_found_by_exact_key() {
        assert_eq!(
            super::query_value("a=1&token=xyz", "token").as_deref(),
            Some("xyz")
        );
        assert_eq!(super::query_value("tokenx=1", "token"), None);
    }

    #[test]
    fn server_made_ids_are_never_valid_client_ids() {
        for ip in ["127.0.0.2", "::1", "::ffff:10.1.2.3", "2001:db8::7"] {
            let id = super::ip_visitor(ip.parse().unwrap());
            assert!(id.starts_with("ip:"), "{id}");
            assert!(!shared::auth::is_valid_anon_id(&id), "{id}");
        }
    }
}
