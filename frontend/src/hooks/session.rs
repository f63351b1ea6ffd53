//! The session: who this browser is (a signed-in user with a token, or an
//! anonymous visitor with an id), their usage, and sign in / sign out.
//! Provided once by [`provide_session`]; read anywhere with [`use_session`].
//!
//! The token and the anonymous id live in localStorage. An expired or
//! revoked token sets `expired`; the shell then sends the user to
//! `/login?next=<where they were>`.

use crate::api::{self, Auth};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::auth::{AuthResponse, Me, Usage, UsageKind};

const TOKEN_KEY: &str = "chorus.token";
const ANON_KEY: &str = "chorus.anon_id";

/// Signals of the session; `Copy`, so closures can hold it freely.
#[derive(Clone, Copy)]
pub struct Session {
    /// The bearer token of the signed-in user.
    pub token: RwSignal<Option<String>>,
    /// The signed-in user, once `/api/auth/me` answered.
    pub user: RwSignal<Option<Me>>,
    /// The caller's usage (free replies, or credits).
    pub usage: RwSignal<Option<Usage>>,
    /// Set when the server refused the token: time to sign in again.
    pub expired: RwSignal<bool>,
    /// This browser's anonymous id (made once, kept in localStorage).
    anon_id: StoredValue<String>,
}

impl Session {
    /// Credentials for API calls: the token if signed in, else the anon id.
    pub fn auth(&self) -> Auth {
        match self.token.get_untracked() {
            Some(t) => Auth::Token(t),
            None => Auth::Anon(self.anon_id.get_value()),
        }
    }

    /// The anonymous id, for `?anon_id=` on streams.
    pub fn anon_id(&self) -> String {
        self.anon_id.get_value()
    }

    /// Keeps a fresh login and loads the user and their usage.
    pub fn sign_in(&self, res: AuthResponse) {
        store_set(TOKEN_KEY, Some(&res.token));
        self.token.set(Some(res.token));
        self.expired.set(false);
        self.refresh();
    }

    /// Revokes the user's tokens on the server (`POST /api/auth/logout`:
    /// a copied token stops working too) and forgets this one; the browser
    /// is anonymous again.
    pub fn sign_out(&self) {
        if let Some(token) = self.token.get_untracked() {
            spawn_local(async move {
                // Signed out here whatever the answer; an unreachable
                // server leaves the token to expire.
                let _ = api::post_empty("/api/auth/logout", &Auth::Token(token)).await;
            });
        }
        store_set(TOKEN_KEY, None);
        self.token.set(None);
        self.user.set(None);
        self.refresh();
    }

    /// Reloads the user (if signed in) and the usage figures. Features call
    /// this after a reply has been generated.
    pub fn refresh(&self) {
        let this = *self;
        spawn_local(async move {
            let auth = this.auth();
            if let Auth::Token(_) = auth {
                match api::get::<Me>("/api/auth/me", &auth).await {
                    Ok(me) => this.user.set(Some(me)),
                    Err(e) if api::is_session_error(&e) => {
                        this.expire();
                        return;
                    }
                    Err(_) => {}
                }
            }
            match api::get::<Usage>("/api/usage", &this.auth()).await {
                Ok(u) => this.usage.set(Some(u)),
                Err(e) if api::is_session_error(&e) => this.expire(),
                Err(_) => {}
            }
        });
    }

    /// The token was refused: drop it and ask for a new sign-in.
    pub fn expire(&self) {
        store_set(TOKEN_KEY, None);
        self.token.set(None);
        self.user.set(None);
        self.expired.set(true);
        self.refresh();
    }
}

/// Creates the session from localStorage and provides it as context.
pub fn provide_session() -> Session {
    let anon = store_get(ANON_KEY)
        .filter(|id| shared::auth::is_valid_anon_id(id))
        .unwrap_or_else(|| {
            let id = new_anon_id();
            store_set(ANON_KEY, Some(&id));
            id
        });
    let session = Session {
        token: RwSignal::new(store_get(TOKEN_KEY)),
        user: RwSignal::new(None),
        usage: RwSignal::new(None),
        expired: RwSignal::new(false),
        anon_id: StoredValue::new(anon),
    };
    provide_context(session);
    session.refresh();
    session
}

/// The session provided by the shell.
pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// What the header's meter says: "7 of 10 free replies left" or
/// "1,950 credits".
pub fn usage_label(u: &Usage) -> String {
    match u.kind {
        UsageKind::Anonymous => match u.remaining {
            0 => format!("All {} free replies used", u.limit),
            1 => format!("1 of {} free replies left", u.limit),
            n => format!("{n} of {} free replies left", u.limit),
        },
        UsageKind::User => match u.remaining {
            1 => "1 credit".to_owned(),
            n => format!("{} credits", group_thousands(n)),
        },
    }
}

/// 1950 → "1,950".
pub fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Where to go after signing in: `next` if it is a path of this app, else
/// home (never another site: `//evil.example` and `https://…` are refused).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".to_owned(),
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub(crate) fn store_get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?
}

pub(crate) fn store_set(key: &str, value: Option<&str>) {
    if let Some(s) = storage() {
        let _ = match value {
            Some(v) => s.set_item(key, v),
            None => s.remove_item(key),
        };
    }
}

/// A fresh anonymous id: 128 random bits as 32 hex digits, so no one can
/// guess another visitor's. `getRandomValues`, unlike `randomUUID`, works
/// on plain-HTTP origins too (a LAN address).
pub(crate) fn new_anon_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(kind: UsageKind, used: i64, limit: i64) -> Usage {
        Usage {
            used,
            limit,
            remaining: limit - used,
            kind,
        }
    }

    #[test]
    fn the_meter_counts_free_replies_and_credits() {
        assert_eq!(
            usage_label(&usage(UsageKind::Anonymous, 3, 10)),
            "7 of 10 free replies left"
        );
        assert_eq!(
            usage_label(&usage(UsageKind::Anonymous, 9, 10)),
            "1 of 10 free replies left"
        );
        assert_eq!(
            usage_label(&usage(UsageKind::Anonymous, 10, 10)),
            "All 10 free replies used"
        );
        assert_eq!(
            usage_label(&usage(UsageKind::User, 50, 2000)),
            "1,950 credits"
        );
        assert_eq!(group_thousands(1234567), "1,234,567");
        assert_eq!(group_thousands(12), "12");
    }

    #[test]
    fn next_only_leads_inside_the_app() {
        assert_eq!(safe_next(Some("/chat?x=1")), "/chat?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
