//! Changes every instance must hear of at once: on PostgreSQL a change to an application, its API keys, a
//! client or the signing keys is announced with `NOTIFY` on one channel, and each instance listens on a connection of its own and
//! drops its cached copy within moments. The caches' TTL stays the fallback when a notification is lost (a
//! listener reconnecting, say). A SQLite file has one process, which invalidates its own cache directly.

use std::time::Duration;

use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, RunQueryDsl};

use super::{Database, DbConnection, StoreResult};

const CHANNEL: &str = "tessera_changes";

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The application with this id (its settings, or it was deleted).
    Application(String),
    /// The API key with this hash (created or revoked).
    ApiKey(String),
    /// Every API key (an application and its keys were deleted).
    ApiKeys,
    /// The client with this id.
    Client(String),
    /// The signing keys (one was added: published now, or signing now).
    SigningKeys,
}

impl Change {
    fn payload(&self) -> String {
        match self {
            Self::Application(id) => format!("application:{id}"),
            Self::ApiKey(hash) => format!("api_key:{hash}"),
            Self::ApiKeys => "api_keys".into(),
            Self::Client(id) => format!("client:{id}"),
            Self::SigningKeys => "signing_keys".into(),
        }
    }

    fn parse(payload: &str) -> Option<Self> {
        match payload.split_once(':') {
            Some(("application", id)) => Some(Self::Application(id.to_owned())),
            Some(("client", id)) => Some(Self::Client(id.to_owned())),
            Some(("api_key", hash)) => Some(Self::ApiKey(hash.to_owned())),
            None if payload == "api_keys" => Some(Self::ApiKeys),
            None if payload == "signing_keys" => Some(Self::SigningKeys),
            _ => None,
        }
    }
}

/// Tells the other instances of `change` (nothing on SQLite).
pub async fn announce(db: &Database, change: Change) -> StoreResult<()> {
    if !db.is_postgres() {
        return Ok(());
    }
    let payload = change.payload();
    db.run(move |conn| {
        if let DbConnection::Postgres(pg) = conn {
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<Text, _>(CHANNEL)
                .bind::<Text, _>(payload)
                .execute(pg)?;
        }
        Ok(())
    })
    .await
}

/// Listens for changes on a PostgreSQL connection of its own, on a thread, handing each to `heard`, until
/// `heard` (or, between notifications, `alive`) says to stop. A lost connection is opened again after a second.
#[expect(
    clippy::disallowed_methods,
    reason = "the listener thread waits on the network in real time, not on Tessera's clock"
)]
pub fn listen(
    url: String,
    heard: impl Fn(Change) -> bool + Send + 'static,
    alive: impl Fn() -> bool + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("tessera-listen".into())
        .spawn(move || {
            while alive() {
                match PgConnection::establish(&url) {
                    Ok(mut conn) => {
                        if let Err(e) = diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn) {
                            tracing::warn!(error = %e, "listening for changes failed; trying again");
                        } else if !poll(&mut conn, &heard, &alive) {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "the change listener cannot connect; trying again"),
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })?;
    Ok(())
}

/// Hands over notifications until the connection fails (`true`: listen again) or it is time to stop (`false`).
#[expect(
    clippy::disallowed_methods,
    reason = "the listener thread waits on the network in real time, not on Tessera's clock"
)]
fn poll(conn: &mut PgConnection, heard: &impl Fn(Change) -> bool, alive: &impl Fn() -> bool) -> bool {
    loop {
        for notification in conn.notifications_iter() {
            match notification {
                Ok(notification) => {
                    if let Some(change) = Change::parse(&notification.payload)
                        && !heard(change)
                    {
                        return false;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the change listener lost its connection");
                    return true;
                }
            }
        }
        if !alive() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back() {
        for change in [
            Change::Application("a-1".into()),
            Change::ApiKey("abc".into()),
            Change::ApiKeys,
            Change::SigningKeys,
            Change::Client("c:2".into()),
        ] {
            assert_eq!(Change::parse(&change.payload()), Some(change));
        }
        assert_eq!(Change::parse("nonsense"), None);
    }
}
