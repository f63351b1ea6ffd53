//! What the store tests share: a fresh PostgreSQL database.

/// A fresh, empty PostgreSQL database beside `TEST_POSTGRES_URL`'s, when it
/// is set. (`scripts/postgres.sh` drops old ones before a test run.)
pub async fn fresh_postgres() -> Option<String> {
    use sqlx::Connection;
    let admin = std::env::var("TEST_POSTGRES_URL").ok()?;
    let name = format!("chorus_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("TEST_POSTGRES_URL must reach a PostgreSQL server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap();
    Some(format!("{base}/{name}"))
}
