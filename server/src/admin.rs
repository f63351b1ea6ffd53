//! What admins read: `GET /api/admin/access` (any user: am I an admin?),
//! `GET /api/admin/overview` (the admin page's figures:
//! escalations per day and level, open sockets and SSE streams, running
//! generations, credits granted). Admins are made from the shell
//! (`chorus users promote NAME`); see `auth::admin`.

use crate::auth::admin::AdminUser;
use crate::auth::identity::AuthUser;
use crate::error::AppResult;
use crate::metrics;
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use shared::admin::{AdminAccess, AdminOverview, CreditsGranted, LiveCount};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/overview", get(overview))
        .route("/admin/access", get(access))
}

async fn access(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<Json<AdminAccess>> {
    Ok(Json(AdminAccess {
        admin: state.store.is_admin(&user).await?,
    }))
}

async fn overview(State(state): State<AppState>, _: AdminUser) -> AppResult<Json<AdminOverview>> {
    let m = metrics::get();
    let count = |transport: &str, (protocol, open): (&str, i64)| LiveCount {
        transport: transport.into(),
        protocol: protocol.into(),
        open,
    };
    let live = (m.open_sockets().into_iter().map(|c| count("socket", c)))
        .chain(m.open_sse().into_iter().map(|c| count("sse", c)))
        .collect();
    let (total, grants) = state.store.credits_granted().await?;
    Ok(Json(AdminOverview {
        escalations: state.store.escalation_summary().await?,
        live,
        running_streams: m.streams_running.get(),
        credits: CreditsGranted { total, grants },
    }))
}
