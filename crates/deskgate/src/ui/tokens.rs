//! The Tokens page: every API token (never its value), minting one (`admin`, or `mcp` limited
//! to some servers or accounts) with its value shown once, and revoking one after a
//! confirmation page. Revoking the token this session was opened with signs it out.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{UiError, form_failure};
use super::form::CheckedForm;
use super::page::{console, csrf_field, form_error, notice, when};
use super::servers::copy_button;
use super::session::Operator;
use crate::api::tokens::CreateApiToken;
use crate::app::App;
use crate::store::ApiToken;
use crate::tokens::TokenScope;

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /ui/tokens`.
pub async fn list(
    State(app): State<Arc<App>>,
    operator: Operator,
    Query(query): Query<NoticeQuery>,
) -> Result<Markup, UiError> {
    tokens_page(&app, &operator, query.notice.as_deref(), None).await
}

async fn tokens_page(
    app: &App,
    operator: &Operator,
    notice_code: Option<&str>,
    error: Option<&str>,
) -> Result<Markup, UiError> {
    let tokens = app.store.list_api_tokens().await?;
    let accounts = app.store.list_accounts(None, 100).await?;
    Ok(console(
        "API tokens",
        operator,
        html! {
            h1 { "API tokens" }
            (notice(notice_code))
            p.muted {
                "An " strong { "admin" } " token opens the management API and this console. "
                "An " strong { "mcp" } " token only authenticates MCP requests to servers created with "
                "“Require an API token”, optionally only some servers or accounts: paste it into an MCP "
                "client's config instead of an admin token. Tokens are stored as hashes and shown once."
            }
            table.data #tokens {
                caption { "API tokens of this server" }
                thead { tr {
                    th scope="col" { "Name" }
                    th scope="col" { "Scope" }
                    th scope="col" { "Limited to" }
                    th scope="col" { "Created" }
                    th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @for t in &tokens {
                        tr {
                            th scope="row" data-label="Name" {
                                (t.name)
                                @if t.api_token_is(operator) { " " span.badge.muted { "this session" } }
                                @if t.bootstrap { " " span.badge.muted { "DESKGATE_ADMIN_TOKEN" } }
                            }
                            td data-label="Scope" { code { (t.scope.as_str()) } }
                            td data-label="Limited to" { (limits(t)) }
                            td data-label="Created" { (when(t.created_at)) }
                            td data-label="Actions" {
                                a.button.danger href={ "/ui/tokens/" (t.id) "/revoke" } { "Revoke…" }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="new-token-heading" {
                h2 #new-token-heading { "Create a token" }
                (form_error(error))
                form method="post" action="/ui/tokens" #create-token {
                    (csrf_field(operator))
                    div.field {
                        label for="token-name" { "Name" }
                        input #token-name name="name" required maxlength="100" placeholder="e.g. cursor on my laptop";
                    }
                    fieldset.field {
                        legend { "Scope" }
                        label { input type="radio" name="scope" value="mcp" checked; " mcp: only MCP requests" }
                        label { input type="radio" name="scope" value="admin"; " admin: the API and this console" }
                    }
                    @if !accounts.is_empty() {
                        fieldset.field {
                            legend { "Only the servers of these accounts " span.muted { "(mcp tokens; none checked: any)" } }
                            @for stored in &accounts {
                                label {
                                    input type="checkbox" name="account" value=(stored.account.id);
                                    " " (stored.account.name)
                                }
                            }
                        }
                    }
                    div.field {
                        label for="token-servers" { "Only these MCP server ids " span.muted { "(mcp tokens; comma-separated, optional)" } }
                        input #token-servers name="servers" spellcheck="false" autocomplete="off";
                    }
                    button.button.primary type="submit" { "Create token" }
                }
            }
        },
    ))
}

impl ApiToken {
    fn api_token_is(&self, operator: &Operator) -> bool {
        self.id == operator.id
    }
}

fn limits(token: &ApiToken) -> Markup {
    let servers = token.mcp_server_ids.as_deref().unwrap_or_default();
    let accounts = token.integrated_account_ids.as_deref().unwrap_or_default();
    html! {
        @if token.scope == TokenScope::Admin {
            span.muted { "—" }
        } @else if servers.is_empty() && accounts.is_empty() {
            "every server that requires a token"
        } @else {
            @for id in servers { "server " code { (id) } br; }
            @for id in accounts { "account " code { (id) } br; }
        }
    }
}

/// `POST /ui/tokens`: mints a token and shows it once.
pub async fn create(State(app): State<Arc<App>>, form: CheckedForm) -> Response {
    let f = &form.fields;
    let scope = TokenScope::parse(f.get("scope").unwrap_or("mcp"));
    let servers: Vec<String> = f
        .text("servers")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let accounts = f.all("account");
    let result = match scope {
        None => Err(crate::error::ApiError::BadRequest(
            "scope must be admin or mcp".into(),
        )),
        Some(scope) => {
            app.mint_api_token(CreateApiToken {
                name: f.text("name").unwrap_or_default(),
                scope: Some(scope),
                mcp_server_ids: (!servers.is_empty()).then_some(servers),
                integrated_account_ids: (!accounts.is_empty()).then_some(accounts),
            })
            .await
        }
    };
    match result {
        Ok((token, secret)) => created_page(&form.operator, &token, &secret).into_response(),
        Err(e) => {
            let (status, message) = form_failure(e);
            match tokens_page(&app, &form.operator, None, Some(&message)).await {
                Ok(page) => (status, page).into_response(),
                Err(e) => e.into_response(),
            }
        }
    }
}

fn created_page(operator: &Operator, token: &ApiToken, secret: &str) -> Markup {
    console(
        "API token created",
        operator,
        html! {
            nav.breadcrumbs aria-label="Breadcrumbs" { a href="/ui/tokens" { "Tokens" } " / " span { (token.name) } }
            section.card.created aria-labelledby="created-heading" {
                h1 #created-heading { "“" (token.name) "” is ready" }
                div.alert.warn role="note" {
                    strong { "Copy the token now: it is shown only this once. " }
                    "Only its hash is kept. Lost it? Revoke it and create a new one."
                }
                div.field {
                    label for="api-token" { "API token (scope " code { (token.scope.as_str()) } ")" }
                    div.url-row {
                        textarea #api-token.url readonly rows="2" spellcheck="false" autocomplete="off" { (secret) }
                        (copy_button("api-token", "Copy token"))
                    }
                }
                p { a.button href="/ui/tokens" { "Done" } }
            }
        },
    )
}

/// `GET /ui/tokens/{id}/revoke`.
pub async fn confirm_revoke(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Markup, UiError> {
    let token = app
        .store
        .list_api_tokens()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(crate::error::ApiError::NotFound("API token"))?;
    Ok(console(
        "Revoke token",
        &operator,
        html! {
            nav.breadcrumbs aria-label="Breadcrumbs" { a href="/ui/tokens" { "Tokens" } " / " span { "Revoke" } }
            section.card.narrow role="alertdialog" aria-labelledby="confirm-heading" aria-describedby="confirm-text" {
                h1 #confirm-heading { "Revoke “" (token.name) "”?" }
                p #confirm-text {
                    "It stops working at once, on every replica, with the console sessions it opened."
                    @if token.api_token_is(&operator) { " This session was opened with it: you will be signed out." }
                    @if token.bootstrap { " It comes from DESKGATE_ADMIN_TOKEN: it comes back at the next start unless the variable is changed or removed." }
                }
                form method="post" action={ "/ui/tokens/" (token.id) "/revoke" } {
                    (csrf_field(&operator))
                    div.actions {
                        button.button.danger type="submit" { "Revoke token" }
                        a.button href="/ui/tokens" { "Cancel" }
                    }
                }
            }
        },
    ))
}

/// `POST /ui/tokens/{id}/revoke`.
pub async fn revoke(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    _form: CheckedForm,
) -> Result<Response, UiError> {
    if !app.store.delete_api_token(&id).await? {
        return Err(crate::error::ApiError::NotFound("API token").into());
    }
    tracing::info!(api_token.id = %id, "API token revoked in the console");
    Ok(Redirect::to("/ui/tokens?notice=token-revoked").into_response())
}
