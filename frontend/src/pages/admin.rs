//! `/admin`: for admins (made from the shell with `chorus users promote
//! NAME`): safety escalations per day and level, what is open now, and the
//! credits granted. Everyone else is told the page is not theirs.

use crate::api;
use crate::components::page::PageHeader;
use crate::components::require_account::RequireAccount;
use crate::hooks::session::use_session;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::ApiError;
use shared::admin::{AdminAccess, AdminOverview};

#[component]
pub fn Admin() -> impl IntoView {
    view! {
        <PageHeader title="Admin" lead="Escalations, live connections and credits granted." />
        <RequireAccount
            title="Sign in as an admin"
            reason="This page is for the people who run this server."
            next="/admin"
        >
            <Overview />
        </RequireAccount>
    }
}

#[component]
fn Overview() -> impl IntoView {
    let session = use_session();
    // `None` inside: not an admin (asked first, so no one meets a 403).
    let data = RwSignal::new(None::<Result<Option<AdminOverview>, ApiError>>);
    let load = move || {
        spawn_local(async move {
            let auth = session.auth();
            let got = match api::get::<AdminAccess>("/api/admin/access", &auth).await {
                Ok(AdminAccess { admin: true }) => {
                    api::get("/api/admin/overview", &auth).await.map(Some)
                }
                Ok(_) => Ok(None),
                Err(e) => Err(e),
            };
            data.set(Some(got));
        })
    };
    load();
    move || match data.get() {
        None => view! { <p class="field__hint">"Loading…"</p> }.into_any(),
        Some(Ok(None)) => view! {
            <section class="banner banner--info" role="note">
                <p>"This page is for admins. An operator can make you one with "
                    <code>"chorus users promote NAME"</code> "."</p>
            </section>
        }
        .into_any(),
        Some(Err(e)) => {
            view! { <p class="banner banner--info" role="alert">{e.error}</p> }.into_any()
        }
        Some(Ok(Some(o))) => view! {
            <button class="btn" on:click=move |_| load()>"Refresh"</button>
            <h2>"Safety escalations"</h2>
            {table(
                "Escalations per day and level",
                ["Day", "Level", "Count"],
                o.escalations
                    .iter()
                    .map(|e| [e.day.clone(), e.risk_level.as_str().to_owned(), e.count.to_string()])
                    .collect(),
            )}
            <h2>"Open now"</h2>
            <p>{format!("{} generations running.", o.running_streams)}</p>
            {table(
                "Open sockets and SSE streams",
                ["Transport", "Protocol", "Open"],
                o.live
                    .iter()
                    .map(|l| [l.transport.clone(), l.protocol.clone(), l.open.to_string()])
                    .collect(),
            )}
            <h2>"Credits granted"</h2>
            <p>{format!("{} credits in {} grants.", o.credits.total, o.credits.grants)}</p>
        }
        .into_any(),
    }
}

fn table(caption: &'static str, head: [&'static str; 3], rows: Vec<[String; 3]>) -> impl IntoView {
    let empty = rows.is_empty();
    view! {
        <div class="md-table">
            <table>
                <caption>{caption}</caption>
                <thead><tr>{head.map(|h| view! { <th scope="col">{h}</th> })}</tr></thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|r| view! { <tr>{r.map(|c| view! { <td>{c}</td> })}</tr> })
                        .collect_view()}
                </tbody>
            </table>
            {empty.then(|| view! { <p class="field__hint">"None yet."</p> })}
        </div>
    }
}
