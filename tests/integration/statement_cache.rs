//! Prepared statements through the two-backend connection: a query Tessera runs on every sign-in (the account by
//! username) and on every refresh (a refresh token with its family) is prepared once per connection and reused,
//! on SQLite as on PostgreSQL — the `DbConnection` enum passes diesel's statement cache through.

use std::sync::{Arc, Mutex};

use diesel::connection::InstrumentationEvent;
use diesel::prelude::*;
use tessera::store::DbConnection;
use tessera::store::schema::{refresh_tokens, sessions, users};
use tessera::store::users::User;

use crate::support::TestApp;

#[tokio::test]
async fn hot_queries_are_prepared_once_per_connection() {
    let app = TestApp::spawn().await;
    let url = app.state.config.database.url.clone();
    let url = url.strip_prefix("sqlite://").unwrap_or(&url).to_owned();
    let mut conn = DbConnection::establish(&url).unwrap();
    let prepared: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = prepared.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::CacheQuery { sql, .. } = event {
            sink.lock().unwrap().push(sql.to_owned());
        }
    });
    for _ in 0..3 {
        let _: Option<User> = users::table
            .filter(users::username.eq("nobody"))
            .select(User::as_select())
            .first(&mut conn)
            .optional()
            .unwrap();
        let _: Vec<String> = refresh_tokens::table
            .inner_join(sessions::table)
            .filter(refresh_tokens::token_hash.eq("no such hash"))
            .select(refresh_tokens::id)
            .load(&mut conn)
            .unwrap();
    }
    let prepared = prepared.lock().unwrap();
    assert_eq!(
        prepared.len(),
        2,
        "each query prepared once, then reused: {prepared:#?}"
    );
}
