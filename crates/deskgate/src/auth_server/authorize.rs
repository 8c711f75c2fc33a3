//! The authorization endpoint and its consent page.
//!
//! `GET /oauth/authorize` checks the request, then needs a signed-in console operator (the
//! console's own session: sign-in comes back here through `next`) who may use the server (an
//! admin, or an agent an admin shared the server with; anyone else is told so and nothing is
//! granted), and shows who asks for what:
//! the client's name (self-declared at registration, so the redirect host is shown beside it),
//! the server, its tool count and whether it can write. `POST /oauth/authorize` carries the
//! decision with the session's CSRF token (`CheckedForm`), checks the whole request again (the
//! hidden fields are the client's, not ours), and redirects back with a code or
//! `access_denied`. The grant records the person who approved it (when a person did).
//!
//! Errors follow RFC 6749 §4.1.2.1: an unknown client or a redirect URI that is not registered
//! is shown here and never redirected to; everything else goes back to the client's redirect
//! URI as `error=…` with its `state`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::client_metadata::DocumentError;
use super::{CODE_SECS, ClientLookupError, SCOPE, is_s256_challenge, redirect_matches};
use crate::app::App;
use crate::mcp_servers::McpServer;
use crate::store::oauth_grants::{NewGrant, OAuthClient};
use crate::timestamp::Timestamp;
use crate::tokens::TokenKind;
use crate::ui::form::{FormFields, MemberForm};
use crate::ui::page::{console, csrf_field, error_page};
use crate::ui::session::{Operator, SessionError};

/// An authorization request that passed every check.
struct Authorization {
    client: OAuthClient,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    resource: String,
    server: McpServer,
}

enum Refusal {
    /// Shown to the person: the client cannot be told safely.
    Page(String),
    /// Sent back to the client's redirect URI.
    Redirect(url::Url),
    /// Too many metadata documents fetched for this address (429, `Retry-After`).
    Throttled(u64),
    Unavailable,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Page(why) => (
                StatusCode::BAD_REQUEST,
                error_page("This authorization request is not valid", &why),
            )
                .into_response(),
            Refusal::Redirect(url) => Redirect::to(url.as_str()).into_response(),
            Refusal::Throttled(wait) => {
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    error_page(
                        "Too many requests",
                        &format!("Too many applications were looked up from your address. Try again in {wait} s."),
                    ),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, wait.into());
                response
            }
            Refusal::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                error_page("Something went wrong", "Try again in a moment."),
            )
                .into_response(),
        }
    }
}

/// `url` with the response parameters of RFC 6749 §4.1.2 added, and the issuer as `iss`
/// (RFC 9207, recommended by MCP 2026-07-28 / SEP-2468) on every response, success or error, so
/// a client talking to several authorization servers can tell which one answered.
fn with_params(app: &App, redirect_uri: &str, params: &[(&str, &str)]) -> Option<url::Url> {
    let mut url = url::Url::parse(redirect_uri).ok()?;
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in params {
            pairs.append_pair(k, v);
        }
        pairs.append_pair("iss", &app.issuer());
    }
    Some(url)
}

async fn check(
    app: &App,
    fields: &FormFields,
    caller: std::net::IpAddr,
) -> Result<Authorization, Refusal> {
    const SINGLE: [&str; 8] = [
        "client_id",
        "redirect_uri",
        "response_type",
        "state",
        "code_challenge",
        "code_challenge_method",
        "resource",
        "scope",
    ];
    let repeated = SINGLE.iter().find(|name| fields.all(name).len() > 1);
    let client_id = fields.get("client_id").unwrap_or_default();
    // A registration's id, or a metadata document's URL (fetched, checked and cached; its
    // failures are shown to the person, since its redirect URIs are not known good).
    let client = app
        .oauth_client(client_id, caller)
        .await
        .map_err(|e| match e {
            ClientLookupError::Document(DocumentError::Throttled(wait)) => {
                Refusal::Throttled(wait)
            }
            ClientLookupError::Document(e) => {
                tracing::info!(oauth.client_id = %client_id, error = %e, "OAuth client metadata document refused");
                Refusal::Page(format!("The application that sent you here cannot be used: {e}."))
            }
            ClientLookupError::Store(e) => {
                tracing::error!(error = %e, "could not read an OAuth client");
                Refusal::Unavailable
            }
        })?
        .ok_or_else(|| {
            Refusal::Page(
                "The application that sent you here is not registered with this deskgate (unknown client_id). Go back to it and connect again.".into(),
            )
        })?;
    let redirect_uri = match fields.get("redirect_uri") {
        Some(presented)
            if client
                .redirect_uris
                .iter()
                .any(|r| redirect_matches(r, presented)) =>
        {
            presented.to_owned()
        }
        Some(_) => {
            return Err(Refusal::Page(
                "The redirect URI in this request is not one the application registered, so deskgate will not send anything there.".into(),
            ));
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return Err(Refusal::Page(
                "This request names no redirect URI and the application registered several.".into(),
            ));
        }
    };
    let state = fields.get("state").map(str::to_owned);
    let refuse = |error: &str, description: &str| {
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(state) = &state {
            params.push(("state", state));
        }
        match with_params(app, &redirect_uri, &params) {
            Some(url) => Refusal::Redirect(url),
            None => Refusal::Page(description.to_owned()),
        }
    };
    if let Some(name) = repeated {
        return Err(refuse(
            "invalid_request",
            &format!("{name} is given more than once"),
        ));
    }
    if fields.get("response_type") != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    if fields.get("code_challenge_method") != Some("S256") {
        return Err(refuse(
            "invalid_request",
            "PKCE is required with code_challenge_method=S256",
        ));
    }
    let code_challenge = fields.get("code_challenge").unwrap_or_default();
    if !is_s256_challenge(code_challenge) {
        return Err(refuse(
            "invalid_request",
            "code_challenge must be 43 base64url characters (S256)",
        ));
    }
    let Some(resource) = fields.get("resource") else {
        return Err(refuse(
            "invalid_request",
            "resource is required (RFC 8707): the MCP server URL the token is for",
        ));
    };
    let server = match app.resource_server(resource).await {
        Ok(Some(server)) => server,
        Ok(None) => {
            return Err(refuse(
                "invalid_target",
                "resource is not an OAuth MCP server of this deskgate",
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "could not read an MCP server");
            return Err(Refusal::Unavailable);
        }
    };
    Ok(Authorization {
        client,
        redirect_uri,
        state,
        code_challenge: code_challenge.to_owned(),
        resource: resource.to_owned(),
        server,
    })
}

/// `GET /oauth/authorize`.
pub async fn page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    extensions: Extensions,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let client = app.client_address(&headers, &extensions);
    let request = match check(&app, &FormFields::parse(query.as_bytes()), client).await {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let operator = match app.operator(&headers, client).await {
        Ok(operator) => operator,
        Err(SessionError::SignedOut) => {
            let next = format!("/oauth/authorize?{query}");
            let to: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", &next)
                .finish();
            return Redirect::to(&format!("/ui/sign-in?{to}")).into_response();
        }
        Err(e) => return e.into_response(),
    };
    if let Err(refusal) = may_approve(&app, &operator, &request.server).await {
        return refusal;
    }
    consent(&app, &operator, &request).await.into_response()
}

/// Refuses an operator who may not let clients into `server` (an agent it is not shared
/// with): a page for the person, since the client could do nothing with the answer.
async fn may_approve(app: &App, operator: &Operator, server: &McpServer) -> Result<(), Response> {
    match app.may_use_server(operator, &server.id).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            tracing::info!(mcp_server.id = %server.id, operator = %operator.describe(), "OAuth consent refused: the server is not shared with this agent");
            Err((
                StatusCode::FORBIDDEN,
                error_page(
                    "This server is not shared with you",
                    "An application asks for access to an MCP server that no admin has shared with you, so you cannot let it in. Ask an admin to share the server with you, or to approve the application.",
                ),
            )
                .into_response())
        }
        Err(e) => {
            tracing::error!(error = %e, "could not read the server's shares");
            Err(Refusal::Unavailable.into_response())
        }
    }
}

/// What the consent page says about a server's tools.
struct ToolSummary {
    total: usize,
    writes: usize,
}

fn tool_summary(app: &App, server: &McpServer, read_only: bool) -> Option<ToolSummary> {
    let catalog = app.integration.catalog();
    let mut filter = server.config.server_filter(catalog).ok()?;
    // As the server offers them: reads only on an account connected read-only.
    if read_only {
        filter.tools = filter.tools.reads_only();
    }
    let offered: Vec<_> = catalog
        .tools()
        .iter()
        .filter(|t| filter.matches(t))
        .collect();
    Some(ToolSummary {
        total: offered.len(),
        writes: offered.iter().filter(|t| !t.annotations.read_only).count(),
    })
}

async fn consent(app: &App, operator: &Operator, request: &Authorization) -> Response {
    let account = match app
        .store
        .get_account(&request.server.integrated_account_id)
        .await
    {
        Ok(account) => account.map(|a| (a.account.name, a.account.context.is_read_only())),
        Err(e) => {
            tracing::error!(error = %e, "could not read an account");
            return Refusal::Unavailable.into_response();
        }
    };
    let redirect_host = super::redirect_shown(&request.redirect_uri);
    let read_only = account.as_ref().is_some_and(|(_, read_only)| *read_only);
    let account = account.map(|(name, _)| name);
    let tools = tool_summary(app, &request.server, read_only);
    let client = &request.client;
    let body = html! {
        section.card.narrow #consent {
            h1 { "Allow " strong { (client.name) } " to use " strong { (request.server.name) } "?" }
            dl.facts {
                dt { "Application" }
                dd #consent-client { (client.name) " " span.hint { "(the name it gave itself; check where it sends you back)" } }
                dt { "Sends you back to" }
                dd #consent-redirect-host { code { (redirect_host) } }
                dt { "MCP server" }
                dd #consent-server {
                    (request.server.name)
                    @if let Some(account) = &account { " · account " (account) }
                }
                dt { "Tools" }
                dd #consent-tools {
                    @match &tools {
                        Some(t) if t.writes == 0 => { (t.total) " tools, read-only" }
                        Some(t) => { (t.total) " tools, " strong { (t.writes) " of them can write" } " (create, update or delete in Gorgias)" }
                        None => { "unknown" }
                    }
                }
                dt { "Access" }
                dd { "Until revoked: tokens last an hour and are renewed for up to 30 days of inactivity. Revoke it from the server's grants." }
            }
            form method="post" action="/oauth/authorize" {
                (csrf_field(operator))
                input type="hidden" name="response_type" value="code";
                input type="hidden" name="client_id" value=(client.id);
                input type="hidden" name="redirect_uri" value=(request.redirect_uri);
                @if let Some(state) = &request.state {
                    input type="hidden" name="state" value=(state);
                }
                input type="hidden" name="code_challenge" value=(request.code_challenge);
                input type="hidden" name="code_challenge_method" value="S256";
                input type="hidden" name="resource" value=(request.resource);
                input type="hidden" name="scope" value=(SCOPE);
                div.actions {
                    button.button.primary #consent-approve type="submit" name="decision" value="approve" { "Allow" }
                    " "
                    button.button #consent-deny type="submit" name="decision" value="deny" { "Deny" }
                }
            }
        }
    };
    console("Authorize an application", operator, body).into_response()
}

/// `POST /oauth/authorize`: the operator's decision.
pub async fn decide(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    extensions: Extensions,
    form: MemberForm,
) -> Response {
    let caller = app.client_address(&headers, &extensions);
    let request = match check(&app, &form.fields, caller).await {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    if let Err(refusal) = may_approve(&app, &form.operator, &request.server).await {
        return refusal;
    }
    let state = request.state.as_deref();
    if form.fields.get("decision") != Some("approve") {
        tracing::info!(oauth.client_id = %request.client.id, mcp_server.id = %request.server.id, "OAuth authorization denied");
        let mut params = vec![
            ("error", "access_denied"),
            ("error_description", "the operator denied access"),
        ];
        if let Some(state) = state {
            params.push(("state", state));
        }
        return match with_params(&app, &request.redirect_uri, &params) {
            Some(url) => Redirect::to(url.as_str()).into_response(),
            None => Refusal::Page("denied".into()).into_response(),
        };
    }
    let code = crate::tokens::mint(TokenKind::OAuthCode);
    let now = Timestamp::now();
    let grant_id = uuid::Uuid::now_v7().to_string();
    let stored = app
        .store
        .insert_oauth_grant(&NewGrant {
            id: &grant_id,
            mcp_server_id: &request.server.id,
            client_id: &request.client.id,
            approved_by: &form.operator.id,
            approved_by_person: form.operator.person.as_ref().map(|p| p.id.as_str()),
            scope: SCOPE,
            redirect_uri: &request.redirect_uri,
            code_hash: &code.hash.0,
            code_challenge: &request.code_challenge,
            code_expires_at: now.plus_secs(CODE_SECS),
            now,
        })
        .await;
    if let Err(e) = stored {
        tracing::error!(error = %e, "could not store an OAuth grant");
        return Refusal::Unavailable.into_response();
    }
    tracing::info!(oauth.grant_id = %grant_id, oauth.client_id = %request.client.id, mcp_server.id = %request.server.id, approved_by = %form.operator.describe(), "OAuth authorization approved");
    let mut params = vec![("code", crate::tokens::reveal(&code.secret))];
    if let Some(state) = state {
        params.push(("state", state));
    }
    match with_params(&app, &request.redirect_uri, &params) {
        Some(url) => Redirect::to(url.as_str()).into_response(),
        None => Refusal::Page("the redirect URI is not valid".into()).into_response(),
    }
}
