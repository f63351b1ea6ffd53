//! `use_server_status`: polls `GET /api/health` and reports whether the
//! server answers, backing off while it does not. Feeds the header's status.

use crate::hooks::connection::{Backoff, ConnState};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::health::Health;

/// How often a healthy server is checked again, in seconds.
const HEALTHY_EVERY_SECS: u32 = 30;

/// What the hook gives a component.
pub struct UseServerStatusReturn {
    /// Whether the server is answering.
    pub state: Signal<ConnState>,
    /// The server's version, once known.
    pub version: Signal<Option<String>>,
}

/// Starts polling; stops by itself when the owning component is gone (its
/// signals are disposed, so setting them fails).
pub fn use_server_status() -> UseServerStatusReturn {
    let (state, set_state) = signal(ConnState::Connecting);
    let (version, set_version) = signal(None::<String>);
    spawn_local(async move {
        let mut backoff = Backoff::new(30);
        loop {
            let (next, wait) = match fetch_health().await {
                Some(h) => {
                    backoff.succeed();
                    if set_version.try_set(Some(h.version)).is_some() {
                        return;
                    }
                    (ConnState::Open, HEALTHY_EVERY_SECS)
                }
                None => {
                    let wait = backoff.fail();
                    (ConnState::Reconnecting { in_secs: wait }, wait)
                }
            };
            // `try_set` hands the value back when the signal is disposed.
            if set_state.try_set(next).is_some() {
                return;
            }
            gloo_timers::future::sleep(std::time::Duration::from_secs(u64::from(wait))).await;
        }
    });
    UseServerStatusReturn {
        state: state.into(),
        version: version.into(),
    }
}

async fn fetch_health() -> Option<Health> {
    let res = gloo_net::http::Request::get("/api/health")
        .send()
        .await
        .ok()?;
    if !res.ok() {
        return None;
    }
    crate::api::parse_json::<Health>(&res.text().await.ok()?).ok()
}
