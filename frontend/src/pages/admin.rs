//! `/admin`: for admins (made from the shell with `chorus users promote
//! NAME`): safety escalations per day and level, what is open now, and the
//! credits granted. Everyone else is told the page is not theirs.
//!
//! The figures are drawn by the `<admin-overview>` element
//! (`frontend/elements/admin-overview.js`, copied to `dist/elements/`),
//! loaded on the page's first visit like `/docs`'s renderer: few people
//! ever open this page, so its code stays out of the app's first load.
//! The element asks `GET /api/admin/access`, then for admins
//! `GET /api/admin/overview`, with the token this page gives it.

use crate::components::module_script::load_module;
use crate::components::page::PageHeader;
use crate::components::require_account::RequireAccount;
use crate::hooks::session::use_session;
use leptos::prelude::*;

/// The element's script, served from `dist/`.
const ELEMENT: &str = "/elements/admin-overview.js";

#[component]
pub fn Admin() -> impl IntoView {
    let session = use_session();
    Effect::new(move |_| load_module("admin-overview-script", ELEMENT));
    view! {
        <PageHeader title="Admin" lead="Escalations, live connections and credits granted." />
        <RequireAccount
            title="Sign in as an admin"
            reason="This page is for the people who run this server."
            next="/admin"
        >
            <admin-overview
                class="admin-overview"
                prop:token=move || session.token.get().unwrap_or_default()
            ></admin-overview>
        </RequireAccount>
    }
}
