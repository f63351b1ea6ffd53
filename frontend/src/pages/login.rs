//! `/login`: sign in or create an account. `?next=` is where to go after;
//! `?expired=1` explains why the user is here.

use crate::api::{self, Auth};
use crate::components::page::PageHeader;
use crate::components::toggle::ToggleButton;
use crate::hooks::session::{safe_next, use_session};
use crate::router::{use_navigate, use_query_map};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::ApiError;
use shared::ErrorCode;
use shared::auth::{AuthResponse, Credentials, password_problem, username_problem};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    SignIn,
    Register,
}

/// What to tell the person when the server says no.
pub fn error_text(e: &ApiError) -> String {
    match e.code {
        ErrorCode::UsernameTaken => "That username is taken. Pick another, or sign in.".into(),
        ErrorCode::InvalidCredentials => "Wrong username or password.".into(),
        ErrorCode::ValidationError => capitalise(&e.error),
        _ => capitalise(&e.error),
    }
}

/// The server's sentence with a capital and a full stop (its sentences
/// start with an ASCII letter; ASCII case keeps Unicode's tables out).
fn capitalise(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut out = s.to_owned();
    if let Some(f) = out.get_mut(..1) {
        f.make_ascii_uppercase();
    }
    if !s.ends_with('.') {
        out.push('.');
    }
    out
}

#[component]
pub fn Login() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let navigate = use_navigate();
    let mode = RwSignal::new(Mode::SignIn);
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let expired = move || query.read().get("expired").is_some();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let m = mode.get_untracked();
        let creds = Credentials {
            username: username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        };
        if m == Mode::Register
            && let Some(p) = username_problem(&creds.username).or(password_problem(&creds.password))
        {
            error.set(Some(capitalise(p)));
            return;
        }
        let next = safe_next(query.read_untracked().get("next").as_deref());

        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let path = match m {
                Mode::SignIn => "/api/auth/login",
                Mode::Register => "/api/auth/register",
            };
            // The visitor's id goes along: their chats, books and persona
            // answers from this browser move into the account.
            let visitor = Auth::Anon(session.anon_id());
            match api::post::<_, AuthResponse>(path, &creds, &visitor).await {
                Ok(res) => {
                    crate::pages::books::adopt_visitor_book();
                    session.sign_in(res);
                    navigate(&next);
                }
                Err(e) => error.set(Some(error_text(&e))),
            }
            busy.set(false);
        });
    };

    let tab = move |m: Mode, label: &'static str| {
        view! {
            <ToggleButton
                pressed=Signal::derive(move || mode.get() == m)
                on_click=Callback::new(move |()| {
                    mode.set(m);
                    error.set(None);
                })
            >
                {label}
            </ToggleButton>
        }
    };

    view! {
        <PageHeader title="Sign in" lead="Sign in to spend credits; create an account to get 2,000." />
        <div class="auth">
            {move || {
                expired()
                    .then(|| {
                        view! {
                            <div class="banner banner--warn" role="status">
                                <p>"Your session has expired. Sign in again to pick up where you were."</p>
                            </div>
                        }
                    })
            }}
            <form class="card stack" on:submit=submit novalidate>
                <div class="auth__tabs" role="group" aria-label="Sign in or create an account">
                    {tab(Mode::SignIn, "Sign in")}
                    {tab(Mode::Register, "Create account")}
                </div>
                <div class="field">
                    <label class="field__label" for="username">"Username"</label>
                    <input
                        class="input"
                        id="username"
                        name="username"
                        autocomplete="username"
                        required
                        bind:value=username
                    />
                    <span class="field__hint">"3 to 32 letters, digits, '_', '.' or '-'"</span>
                </div>
                <div class="field">
                    <label class="field__label" for="password">"Password"</label>
                    <input
                        class="input"
                        id="password"
                        name="password"
                        type="password"
                        required
                        autocomplete=move || match mode.get() {
                            Mode::SignIn => "current-password",
                            Mode::Register => "new-password",
                        }
                        bind:value=password
                    />
                    <span class="field__hint">"At least 8 characters"</span>
                </div>
                {move || {
                    error
                        .get()
                        .map(|e| {
                            view! {
                                <div class="banner banner--danger" role="alert">
                                    <p>{e}</p>
                                </div>
                            }
                        })
                }}
                <button class="btn btn--primary" type="submit" disabled=move || busy.get()>
                    {move || match mode.get() {
                        Mode::SignIn => "Sign in",
                        Mode::Register => "Create account",
                    }}
                </button>
            </form>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_refusals_read_as_sentences() {
        let e = ApiError::new(
            ErrorCode::ValidationError,
            "a password has at least 8 characters",
        );
        assert_eq!(error_text(&e), "A password has at least 8 characters.");
        let e = ApiError::new(ErrorCode::InvalidCredentials, "wrong username or password");
        assert_eq!(error_text(&e), "Wrong username or password.");
    }
}
