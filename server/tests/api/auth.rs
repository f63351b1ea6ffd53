//! Accounts, tokens and identities, on SQLite and (when configured) PostgreSQL.

use crate::helpers::{json, spawn_app, spawn_app_on, test_databases};
use serde_json::json;
use shared::auth::{AuthResponse, Me, Usage, UsageKind};
use shared::{ApiError, ErrorCode};

async fn code_of(res: reqwest::Response) -> (u16, ErrorCode) {
    let status = res.status().as_u16();
    let err: ApiError = json(res).await;
    (status, err.code)
}

#[tokio::test]
async fn register_login_and_me_work_on_every_database() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        let creds = json!({"username": "ada", "password": "correct horse"});
        let res = app.post_json("/api/auth/register", &creds).await;
        assert_eq!(res.status(), 201, "{db}");
        let reg: AuthResponse = json(res).await;
        assert_eq!(reg.user.username, "ada");

        let res = app.post_json("/api/auth/login", &creds).await;
        assert_eq!(res.status(), 200, "{db}");
        let login: AuthResponse = json(res).await;
        assert_eq!(login.user, reg.user);

        let me: Me = json(app.get_with_token("/api/auth/me", &login.token).await).await;
        assert_eq!(
            me,
            Me {
                id: reg.user.id.clone(),
                username: "ada".into(),
                credits: 2000
            }
        );
        // ?token= works where headers cannot be set (EventSource, WebSocket).
        let res = app
            .get(&format!("/api/auth/me?token={}", login.token))
            .await;
        assert_eq!(res.status(), 200, "{db}");
    }
}

#[tokio::test]
async fn a_taken_username_is_409_whatever_its_case() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        app.register("grace").await;
        for name in ["grace", "GRACE"] {
            let res = app
                .post_json(
                    "/api/auth/register",
                    &json!({"username": name, "password": "another pass"}),
                )
                .await;
            assert_eq!(
                code_of(res).await,
                (409, ErrorCode::UsernameTaken),
                "{db} {name}"
            );
        }
    }
}

#[tokio::test]
async fn bad_usernames_and_passwords_are_422_and_write_nothing() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        for (username, password) in [
            ("ab", "long enough"),
            ("a".repeat(33).as_str(), "long enough"),
            ("robert'); DROP TABLE users;--", "long enough"),
            ("has space", "long enough"),
            ("fine_name", "short"),
        ] {
            let res = app
                .post_json(
                    "/api/auth/register",
                    &json!({"username": username, "password": password}),
                )
                .await;
            assert_eq!(
                code_of(res).await,
                (422, ErrorCode::ValidationError),
                "{db} {username}"
            );
        }
        assert!(
            app.state
                .store
                .user_by_name("fine_name")
                .await
                .unwrap()
                .is_none()
        );
        // The table survived the metacharacters.
        app.register("after_all").await;
    }
}

#[tokio::test]
async fn malformed_bodies_get_their_4xx_and_write_nothing() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        let url = app.url("/api/auth/register");
        let c = &app.client;
        let cases: Vec<(reqwest::RequestBuilder, u16, ErrorCode)> = vec![
            (
                c.post(&url)
                    .header("content-type", "application/json")
                    .body("{not json"),
                400,
                ErrorCode::BadRequest,
            ),
            (
                c.post(&url).json(&json!({"username": "someone"})),
                422,
                ErrorCode::ValidationError,
            ),
            (
                c.post(&url)
                    .json(&json!({"username": 42, "password": "long enough"})),
                422,
                ErrorCode::ValidationError,
            ),
            (
                c.post(&url)
                    .body(r#"{"username":"someone","password":"long enough"}"#),
                415,
                ErrorCode::UnsupportedMediaType,
            ),
            (
                c.post(&url)
                    .json(&json!({"username": "someone", "password": "x".repeat(70 * 1024)})),
                413,
                ErrorCode::PayloadTooLarge,
            ),
        ];
        for (req, status, code) in cases {
            let res = req.send().await.unwrap();
            assert_eq!(code_of(res).await, (status, code), "{db}");
        }
        assert!(
            app.state
                .store
                .user_by_name("someone")
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        app.register("alan").await;
        for body in [
            json!({"username": "alan", "password": "wrong horse"}),
            json!({"username": "nobody", "password": "correct horse"}),
            json!({"username": "x", "password": "correct horse"}),
        ] {
            let res = app.post_json("/api/auth/login", &body).await;
            let status = res.status().as_u16();
            let err: ApiError = json(res).await;
            assert_eq!(
                (status, err.code),
                (401, ErrorCode::InvalidCredentials),
                "{db}"
            );
            assert_eq!(err.error, "wrong username or password");
        }
    }
}

#[tokio::test]
async fn bad_tokens_are_401_and_never_anonymous() {
    let app = spawn_app().await;
    let token = app.register("linus").await;
    let me = app
        .state
        .store
        .user_by_name("linus")
        .await
        .unwrap()
        .unwrap();
    let other_key =
        chorus_server::auth::token::TokenKeys::new(b"some-other-secret-0123456789abcdef", 60);
    let now = chorus_server::store::now_secs();
    let expired = app.state.tokens.issue_at(&me.id, now - 7200, now - 3600);
    let alg_none = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(format!(
                r#"{{"sub":"{}","iat":{now},"exp":{}}}"#,
                me.id,
                now + 600
            ))
        )
    };
    let tampered = format!("{}x", &token[..token.len() - 1]);
    for (t, code) in [
        (other_key.issue(&me.id, 0), ErrorCode::InvalidToken),
        (alg_none, ErrorCode::InvalidToken),
        (tampered, ErrorCode::InvalidToken),
        ("not-a-jwt".to_owned(), ErrorCode::InvalidToken),
        (expired, ErrorCode::TokenExpired),
    ] {
        let res = app
            .client
            .get(app.url("/api/usage"))
            .bearer_auth(&t)
            .header("x-anon-id", "fallback-anon-1")
            .send()
            .await
            .unwrap();
        assert_eq!(code_of(res).await, (401, code));
    }
    let res = app
        .client
        .get(app.url("/api/auth/me"))
        .header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(res).await, (401, ErrorCode::InvalidToken));
    assert_eq!(
        code_of(app.get("/api/auth/me").await).await,
        (401, ErrorCode::Unauthorized)
    );
}

#[tokio::test]
async fn usage_counts_anonymous_visitors_and_users() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        let res = app
            .client
            .get(app.url("/api/usage"))
            .header("x-anon-id", "visitor-0001")
            .send()
            .await
            .unwrap();
        let u: Usage = json(res).await;
        assert_eq!(
            u,
            Usage {
                used: 0,
                limit: 10,
                remaining: 10,
                kind: UsageKind::Anonymous
            }
        );
        let token = app.register("user_one").await;
        let u: Usage = json(app.get_with_token("/api/usage", &token).await).await;
        assert_eq!(
            u,
            Usage {
                used: 0,
                limit: 2000,
                remaining: 2000,
                kind: UsageKind::User
            }
        );
        let u: Usage = json(app.get("/api/usage?anon_id=visitor-0002").await).await;
        assert_eq!(u.kind, UsageKind::Anonymous);
    }
}

#[tokio::test]
async fn bad_anon_ids_are_400_and_missing_identity_is_401() {
    let app = spawn_app().await;
    for bad in [
        "short",
        "has space in it",
        "semi;colon'quote",
        &"a".repeat(65),
    ] {
        let res = app
            .client
            .get(app.url("/api/usage"))
            .header("x-anon-id", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(code_of(res).await, (400, ErrorCode::InvalidAnonId), "{bad}");
    }
    assert_eq!(
        code_of(app.get("/api/usage").await).await,
        (401, ErrorCode::Unauthorized)
    );
}

#[tokio::test]
async fn logout_revokes_every_token_of_the_user_at_once() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        let first = app.register("ada_lovelace").await;
        let creds = json!({"username": "ada_lovelace", "password": "correct horse"});
        let second: AuthResponse = json(app.post_json("/api/auth/login", &creds).await).await;
        let bob = app.register("bob_builder").await;
        for t in [&first, &second.token, &bob] {
            assert_eq!(app.get_with_token("/api/auth/me", t).await.status(), 200);
        }

        let res = app
            .client
            .post(app.url("/api/auth/logout"))
            .bearer_auth(&first)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{db}");

        // Every token ada held is refused at once, everywhere a token is read.
        for t in [&first, &second.token] {
            let res = app.get_with_token("/api/auth/me", t).await;
            assert_eq!(code_of(res).await, (401, ErrorCode::InvalidToken), "{db}");
            let res = app.get(&format!("/api/usage?token={t}")).await;
            assert_eq!(code_of(res).await, (401, ErrorCode::InvalidToken), "{db}");
        }
        let ws = tokio_tungstenite::connect_async(app.ws_url(&format!("/ws?token={first}"))).await;
        match ws {
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status(), 401, "{db}")
            }
            other => panic!("a revoked token opened a socket: {:?}", other.is_ok()),
        }
        // Someone else's tokens are untouched, and signing in again works.
        assert_eq!(app.get_with_token("/api/auth/me", &bob).await.status(), 200);
        let again: AuthResponse = json(app.post_json("/api/auth/login", &creds).await).await;
        assert_eq!(
            app.get_with_token("/api/auth/me", &again.token)
                .await
                .status(),
            200,
            "{db}"
        );
        // Logging out needs a signed-in user.
        let res = app
            .client
            .post(app.url("/api/auth/logout"))
            .send()
            .await
            .unwrap();
        assert_eq!(code_of(res).await, (401, ErrorCode::Unauthorized));
    }
}

#[tokio::test]
async fn logout_closes_every_socket_the_user_has_open() {
    use crate::helpers::{SocketIo, WsClient};
    let app = spawn_app().await;
    let ada = app.register("ada_lovelace").await;
    let bob = app.register("bob_builder").await;
    // One of each socket endpoint, opened with the token that is revoked.
    let mut sockets = vec![
        WsClient::connect(&app, &format!("/ws?token={ada}")).await,
        WsClient::open(&app, &format!("/api/v1/chats/ws?token={ada}")).await,
        WsClient::open(&app, &format!("/ws/bk_logout_test?token={ada}")).await,
    ];
    let mut io = SocketIo::connect_with(&app, json!({"token": ada})).await;
    let mut bobs = WsClient::connect(&app, &format!("/ws?token={bob}")).await;
    // The sockets are attached and answering before the logout.
    sockets[2].send_json(json!({"type": "ping"})).await;
    assert_eq!(sockets[2].next_json().await["type"], "pong");

    let res = app
        .client
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    for socket in &mut sockets {
        let (code, reason) = socket.closed().await;
        assert_eq!(code, 1008, "policy violation: the token is no longer valid");
        assert!(reason.contains("signed out"), "{reason}");
    }
    // socket.io: a typed error, then the namespace's disconnect.
    let (name, data) = io.event().await;
    assert_eq!(
        (name.as_str(), data["code"].as_str()),
        ("error", Some("INVALID_TOKEN"))
    );
    assert_eq!(io.frame().await, "41/chats,");
    // Someone else's socket stays open.
    bobs.send_json(json!({"type": "ping"})).await;
    assert_eq!(bobs.next_json().await["type"], "pong");
}
