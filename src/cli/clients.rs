//! `tessera admin create-client`: registering an OAuth client from the command line, with the same rules as the
//! admin API; the secret is printed once.

use anyhow::{Context, bail};

use crate::clock::Clock;
use crate::config::Config;
use crate::oidc::clients::{ClientError, ClientSpec, RegisteredClient};
use crate::state::AppState;

/// The client to register.
#[derive(Debug, clap::Args)]
pub struct CreateClient {
    /// The application (id or slug) the client belongs to; default: the default application.
    #[arg(long = "app")]
    application: Option<String>,
    #[arg(long)]
    name: String,
    /// A redirect URI (repeatable): https, or http://127.0.0.1 / http://[::1] for native apps.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// A post-logout redirect URI (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// A public client (SPA, native app): no secret, PKCE required.
    #[arg(long)]
    public: bool,
    /// A grant type (repeatable; default: authorization_code and refresh_token; also client_credentials,
    /// urn:ietf:params:oauth:grant-type:token-exchange, urn:ietf:params:oauth:grant-type:device_code).
    #[arg(long = "grant-type")]
    grant_types: Vec<String>,
    /// A scope the client may be granted (repeatable; default: the OpenID Connect scopes).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// How it authenticates: client_secret_basic (the default) or client_secret_post — either way its
    /// secret is accepted in the Authorization header or the body —, client_secret_jwt or private_key_jwt
    /// (RFC 7523 assertions), or none (a public client, as --public).
    #[arg(long = "auth-method")]
    auth_method: Option<String>,
    /// private_key_jwt: a file holding the client's public keys as a JWK Set.
    #[arg(long)]
    jwks_file: Option<std::path::PathBuf>,
    /// The algorithm of the client's ID tokens: RS256 (the default), ES256 or EdDSA.
    #[arg(long)]
    id_token_alg: Option<String>,
    /// The algorithm of the client's access tokens: RS256 (the default), ES256 or EdDSA.
    #[arg(long)]
    access_token_alg: Option<String>,
    /// A trusted first-party application: no consent page.
    #[arg(long)]
    first_party: bool,
    /// An API gateway: may introspect every token of its application (with no --grant-type, it only
    /// introspects).
    #[arg(long)]
    resource_server: bool,
    /// Where the application's access link lands to start a sign-in at this client (OpenID Connect
    /// Core §4 third-party-initiated login).
    #[arg(long)]
    initiate_login_uri: Option<String>,
    /// Take only pushed authorization requests (RFC 9126) from this client at the authorization endpoint.
    #[arg(long)]
    require_pushed_authorization_requests: bool,
    /// Where logout tokens are POSTed when a session of this client ends (Back-Channel Logout 1.0).
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// The client needs the session id (`sid`) in its logout tokens.
    #[arg(long)]
    backchannel_logout_session_required: bool,
    /// Print one JSON object with client_id and client_secret.
    #[arg(long)]
    json: bool,
}

pub(super) async fn create(config: Config, clock: Clock, args: CreateClient) -> anyhow::Result<()> {
    let jwks = match &args.jwks_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Some(serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?)
        }
        None => None,
    };
    let json = args.json;
    let spec = ClientSpec {
        public: args.public || args.auth_method.as_deref() == Some("none"),
        application: args.application,
        name: Some(args.name),
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        grant_types: (!args.grant_types.is_empty()).then_some(args.grant_types),
        scopes: (!args.scopes.is_empty()).then_some(args.scopes),
        token_endpoint_auth_method: args.auth_method,
        jwks,
        id_token_signed_response_alg: args.id_token_alg,
        access_token_signed_response_alg: args.access_token_alg,
        first_party: args.first_party,
        resource_server: args.resource_server,
        initiate_login_uri: args.initiate_login_uri,
        require_pushed_authorization_requests: args.require_pushed_authorization_requests,
        backchannel_logout_uri: args.backchannel_logout_uri,
        backchannel_logout_session_required: args.backchannel_logout_session_required,
        is_active: None,
    };
    let state = AppState::build(config, clock).await?;
    let registered = match state.oidc.clients.create(spec, state.clock.now()).await {
        Err(ClientError::Validation(problems)) => {
            let text: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
            bail!("invalid client: {}", text.join("; "));
        }
        other => other?,
    };
    print_client(&registered, json)?;
    Ok(())
}

#[derive(serde::Serialize)]
struct CreatedClient<'a> {
    client_id: &'a str,
    client_secret: Option<&'a str>,
}

fn print_client(registered: &RegisteredClient, json: bool) -> anyhow::Result<()> {
    let created = CreatedClient {
        client_id: &registered.client.id,
        client_secret: registered.secret.as_deref(),
    };
    if json {
        println!("{}", serde_json::to_string(&created)?);
    } else {
        println!("client_id:     {}", created.client_id);
        match created.client_secret {
            Some(secret) => println!("client_secret: {secret}\n(the secret is shown only this once)"),
            None => println!("public client: no secret; it must use PKCE (S256)"),
        }
    }
    Ok(())
}
