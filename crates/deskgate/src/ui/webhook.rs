//! A server's webhook page (issue 15): set or change the URL told when a call waits for
//! approval, rotate its signing secret, remove it. A new secret is shown once, in the answer to
//! the form that made it (like a new API token), and never again. The work is `crate::webhooks`,
//! the same functions as the API's.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::{UiError, form_failure};
use super::form::CheckedForm;
use super::page::{Tab, account_page, csrf_field, form_error, when};
use super::servers::copy_button;
use super::session::Operator;
use crate::app::App;
use crate::mcp_servers::McpServer;
use crate::webhooks::WebhookView;

#[derive(Debug, Default, Deserialize)]
pub struct WebhookQuery {
    notice: Option<String>,
    /// A secret parked when the server was created with a webhook, shown once.
    view: Option<String>,
}

/// The create form's optional webhook field.
pub fn create_field(value: &str) -> Markup {
    html! {
        div.field {
            label for="webhook_url" { "Webhook URL " span.muted { "(optional)" } }
            input #webhook_url name="webhook_url" type="url" maxlength="2048" spellcheck="false"
                autocomplete="off" value=(value) placeholder="https://hooks.example.com/deskgate"
                aria-describedby="webhook_url-hint";
            p.hint #webhook_url-hint {
                "Told with a signed POST when this server holds a call for approval. "
                "Its signing secret is shown once, after the server is created."
            }
        }
    }
}

/// Sets a new server's webhook from the create form (its URL was checked before minting) and
/// parks the secret for one showing; returns the view id for the redirect. A failure here
/// leaves the server without a webhook and is logged: the server exists, and its webhook page
/// can set one.
pub async fn set_on_create(
    app: &App,
    operator: &Operator,
    account_id: &str,
    server_id: &str,
    url: &str,
) -> Option<String> {
    if url.is_empty() {
        return None;
    }
    match app.set_webhook(account_id, server_id, url).await {
        Ok(Some(secret)) => Some(app.created_views.put(
            operator,
            server_id,
            secret.expose_secret().to_owned(),
        )),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(mcp_server.id = %server_id, error = %e, "could not set the new server's webhook");
            None
        }
    }
}

/// On the "created" page: where the new webhook's secret is shown, once.
pub fn created_link(account_id: &str, server_id: &str, view: &str) -> Markup {
    html! {
        p.notice role="note" #webhook-created {
            strong { "A webhook was set. " }
            a href={ "/ui/accounts/" (account_id) "/servers/" (server_id) "/webhook?view=" (view) } {
                "Show its signing secret (once)"
            }
        }
    }
}

/// `GET /ui/accounts/{id}/servers/{server_id}/webhook`.
pub async fn page(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path((account_id, server_id)): Path<(String, String)>,
    Query(query): Query<WebhookQuery>,
) -> Result<Markup, UiError> {
    // The secret parked at creation, taken as it is shown.
    let secret = query
        .view
        .as_deref()
        .and_then(|view| app.created_views.take(&operator, &server_id, view))
        .map(SecretString::from);
    render(
        &app,
        &operator,
        &account_id,
        &server_id,
        query.notice.as_deref(),
        None,
        secret.as_ref(),
    )
    .await
}

async fn render(
    app: &App,
    operator: &Operator,
    account_id: &str,
    server_id: &str,
    notice: Option<&str>,
    error: Option<&str>,
    secret: Option<&SecretString>,
) -> Result<Markup, UiError> {
    let stored = app.account(account_id).await?;
    let server = app.mcp_server(account_id, server_id).await?;
    let webhook = app.webhook(server_id).await?;
    Ok(account_page(
        "Webhook",
        operator,
        &stored.account,
        Tab::Servers,
        body(
            operator,
            account_id,
            &server,
            webhook.as_ref(),
            notice,
            error,
            secret,
        ),
    ))
}

fn body(
    operator: &Operator,
    account_id: &str,
    server: &McpServer,
    webhook: Option<&WebhookView>,
    notice: Option<&str>,
    error: Option<&str>,
    secret: Option<&SecretString>,
) -> Markup {
    let servers = format!("/ui/accounts/{account_id}/servers");
    let action = format!("{servers}/{}/webhook", server.id);
    let notice = match notice {
        Some("removed") => Some("The webhook was removed: nothing more is sent."),
        Some("updated") => Some("The webhook's URL was changed; its secret is the same."),
        _ => None,
    };
    html! {
        nav.breadcrumbs aria-label="MCP server" {
            a href=(servers) { "MCP servers" } " / "
            a href={ (servers) "/" (server.id) } { (server.name) } " / " span { "Webhook" }
        }
        h2 { "Webhook of “" (server.name) "”" }
        @if let Some(text) = notice { p.notice role="status" #webhook-notice { (text) } }
        p.muted {
            "When this server holds a call for approval, deskgate POSTs a JSON notice to this URL "
            "(which action, on which ticket, in plain words, and a link to Approvals; never the text it would send), "
            "signed with HMAC-SHA256 in " code { "X-Deskgate-Signature" } ". docs/approvals.md says how to check it."
        }
        @if let Some(secret) = secret {
            section.card.created aria-labelledby="secret-heading" {
                h3 #secret-heading { "Signing secret" }
                div.alert.warn role="note" {
                    strong { "Copy the secret now: it is shown only this once. " }
                    "It is kept sealed; lost it? Rotate it."
                }
                div.url-row {
                    textarea #webhook-secret.url readonly rows="2" spellcheck="false" autocomplete="off"
                        aria-label="Webhook signing secret" { (secret.expose_secret()) }
                    (copy_button("webhook-secret", "Copy secret"))
                }
            }
        }
        (form_error(error))
        section.card aria-labelledby="webhook-url-heading" {
            h3 #webhook-url-heading { @if webhook.is_some() { "URL" } @else { "Set a webhook" } }
            @if let Some(w) = webhook {
                dl.details #webhook-details {
                    dt { "Set" } dd { (when(w.created_at)) }
                    dt { "Secret since" } dd { (when(w.secret_rotated_at)) }
                    dt { "Last delivery" } dd #webhook-last {
                        @match (w.last_delivery_at, &w.last_delivery_result) {
                            (Some(at), Some(result)) => { (when(at)) ": " (result) }
                            _ => span.muted { "none yet" },
                        }
                    }
                }
            }
            form method="post" action=(action) #webhook-form {
                (csrf_field(operator))
                input type="hidden" name="do" value="set";
                div.field {
                    label for="webhook-url" { "Webhook URL (http or https)" }
                    input #webhook-url name="url" type="url" required maxlength="2048" spellcheck="false"
                        autocomplete="off" value=[webhook.map(|w| w.url.as_str())]
                        placeholder="https://hooks.example.com/deskgate";
                }
                div.actions { button.button.primary type="submit" { @if webhook.is_some() { "Change URL" } @else { "Set webhook" } } }
            }
        }
        @if webhook.is_some() {
            section.card aria-labelledby="webhook-secret-heading" {
                h3 #webhook-secret-heading { "Secret" }
                p.muted { "Rotating makes a new secret at once; the old one no longer signs. Update your receiver." }
                form method="post" action=(action) #webhook-rotate {
                    (csrf_field(operator))
                    input type="hidden" name="do" value="rotate";
                    button.button type="submit" { "Rotate secret" }
                }
                form method="post" action=(action) #webhook-remove {
                    (csrf_field(operator))
                    input type="hidden" name="do" value="remove";
                    button.button.danger type="submit" { "Remove webhook" }
                }
            }
        }
    }
}

/// `POST /ui/accounts/{id}/servers/{server_id}/webhook`: `do` = `set`, `rotate` or `remove`.
pub async fn submit(
    State(app): State<Arc<App>>,
    Path((account_id, server_id)): Path<(String, String)>,
    form: CheckedForm,
) -> Response {
    let here = format!("/ui/accounts/{account_id}/servers/{server_id}/webhook");
    let result = match form.fields.get("do") {
        Some("set") => {
            let url = form.fields.text("url").unwrap_or_default();
            app.set_webhook(&account_id, &server_id, &url).await
        }
        Some("rotate") => app
            .rotate_webhook_secret(&account_id, &server_id)
            .await
            .map(Some),
        Some("remove") => match app.remove_webhook(&account_id, &server_id).await {
            Ok(_) => return Redirect::to(&format!("{here}?notice=removed")).into_response(),
            Err(e) => Err(e),
        },
        _ => Err(crate::error::ApiError::BadRequest(
            "unknown webhook action".into(),
        )),
    };
    let (status, page) = match result {
        // A new secret: shown in this answer, once (a redirect would have to carry it).
        Ok(Some(secret)) => (
            axum::http::StatusCode::OK,
            render(
                &app,
                &form.operator,
                &account_id,
                &server_id,
                None,
                None,
                Some(&secret),
            )
            .await,
        ),
        Ok(None) => return Redirect::to(&format!("{here}?notice=updated")).into_response(),
        Err(e) => {
            let (status, message) = form_failure(e);
            (
                status,
                render(
                    &app,
                    &form.operator,
                    &account_id,
                    &server_id,
                    None,
                    Some(&message),
                    None,
                )
                .await,
            )
        }
    };
    match page {
        Ok(page) => (status, page).into_response(),
        Err(e) => e.into_response(),
    }
}
