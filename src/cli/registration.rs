//! `tessera admin create-registration-token`: an initial access token for dynamic client registration
//! (RFC 7591 §3), printed once.

use anyhow::bail;
use serde::Serialize;

use crate::clock::{Clock, rfc3339};
use crate::config::Config;
use crate::oidc::clients::ClientError;
use crate::oidc::dynamic_clients::NewRegistrationToken;
use crate::state::AppState;

#[derive(Serialize)]
struct PrintedToken<'a> {
    id: &'a str,
    token: &'a str,
    application_id: &'a str,
    expires_at: String,
    uses_left: Option<i64>,
}

pub(super) async fn create_token(
    config: Config,
    clock: Clock,
    new: NewRegistrationToken,
    json: bool,
) -> anyhow::Result<()> {
    let enabled = config.oauth.dynamic_registration;
    let state = AppState::build(config, clock).await?;
    let issued = match state
        .oidc
        .dynamic_clients
        .issue_registration_token(new, state.clock.now())
        .await
    {
        Err(ClientError::Validation(problems)) => {
            let text: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
            bail!("invalid registration token: {}", text.join("; "));
        }
        other => other?,
    };
    let printed = PrintedToken {
        id: &issued.info.id,
        token: &issued.token,
        application_id: &issued.info.application_id,
        expires_at: rfc3339(issued.info.expires_at),
        uses_left: issued.info.uses_left,
    };
    if json {
        println!("{}", serde_json::to_string(&printed)?);
    } else {
        println!("token:       {}\n(the token is shown only this once)", printed.token);
        println!("application: {}", printed.application_id);
        println!("expires:     {}", printed.expires_at);
        match printed.uses_left {
            Some(uses) => println!("uses:        {uses}"),
            None => println!("uses:        any number until it expires"),
        }
    }
    if !enabled {
        eprintln!("note: oauth.dynamic_registration is off; /oauth2/register answers 404 until it is on");
    }
    Ok(())
}
