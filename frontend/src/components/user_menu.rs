//! The header's account corner: for a signed-in user their name, balance
//! and "Sign out"; for a visitor the free-replies meter and "Sign in".

use crate::hooks::session::{usage_label, use_session};
use crate::router::use_location;
use leptos::prelude::*;
use shared::auth::UsageKind;

#[component]
pub fn UserMenu() -> impl IntoView {
    let session = use_session();
    let location = use_location();
    let meter = move || {
        session
            .usage
            .get()
            .map(|u| usage_label(&u))
            .unwrap_or_default()
    };
    let used_up = move || {
        session
            .usage
            .get()
            .is_some_and(|u| u.kind == UsageKind::Anonymous && u.remaining <= 0)
    };
    let login_href = move || {
        let here = location.pathname.get();
        if here.starts_with("/login") {
            "/login".to_owned()
        } else {
            format!("/login?next={}", js_sys::encode_uri_component(&here))
        }
    };
    view! {
        <div class="user-menu">
            {move || match session.user.get() {
                Some(me) => {
                    view! {
                        <span class="user-menu__name" data-testid="user-name">{me.username}</span>
                        <span class="chip" data-testid="usage-meter">{meter}</span>
                        <button
                            type="button"
                            class="btn btn--sm btn--ghost"
                            on:click=move |_| session.sign_out()
                        >
                            "Sign out"
                        </button>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <span
                            class="chip"
                            class:chip--warn=used_up
                            data-testid="usage-meter"
                            aria-live="polite"
                        >
                            {meter}
                        </span>
                        <a href=login_href class="btn btn--sm btn--primary">
                            "Sign in"
                        </a>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}
