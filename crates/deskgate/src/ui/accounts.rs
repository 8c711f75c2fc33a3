//! Integrated accounts in the console: the list (with each account's last known health),
//! connecting Gorgias (an API key checked before it is saved, or the OAuth flow when an OAuth
//! app is configured), the Overview tab with "Test connection" (see `crate::health`) and the
//! account's 7-day usage chart (`usage`), and
//! deleting an account after a confirmation page.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

use super::error::{UiError, form_failure};
use super::form::CheckedForm;
use super::page::{
    Tab, account_page, auth_label, console, csrf_field, form_error, notice, status_badge, when,
};
use super::session::Operator;
use super::usage;
use crate::accounts::{AccountStatus, AuthType, StoredAccount};
use crate::app::App;
use crate::connect::{ApiKeyCredentials, ConnectApiKey};
use crate::health::{self, Health, HealthState, Source};
use crate::timestamp::Timestamp;
use crate::upstream;

const PAGE_SIZE: u32 = 50;

/// How far back an account's latest call still says something about its health.
const HEALTH_WINDOW_SECS: i64 = 24 * 3600;

/// An account's state as the list and the Overview show it: a status that needs a person
/// first, else what the latest test or call says, so a dead upstream never reads "Active".
fn health_badge(status: AccountStatus, health: Option<&Health>) -> Markup {
    if status != AccountStatus::Active {
        return status_badge(status);
    }
    match health {
        None => html! { span.badge.ok title="Not tested yet, and no recent call" { "Active" } },
        Some(h) => {
            let class = match h.state {
                HealthState::Ok => "badge ok health",
                HealthState::RateLimited => "badge warn health",
                _ => "badge bad health",
            };
            html! { span class=(class) data-health=(h.state.as_str()) title=(h.detail) { (h.state.label()) } }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    notice: Option<String>,
    /// Page on: accounts older than this id.
    before: Option<String>,
}

/// `GET /ui`: every integrated account.
pub async fn list(
    State(app): State<Arc<App>>,
    operator: Operator,
    Query(query): Query<ListQuery>,
) -> Result<Markup, UiError> {
    let mut rows = app
        .store
        .list_accounts(query.before.as_deref(), PAGE_SIZE + 1)
        .await?;
    let more = rows.len() > PAGE_SIZE as usize;
    rows.truncate(PAGE_SIZE as usize);
    let counts: HashMap<String, i64> = app.store.mcp_server_counts().await?.into_iter().collect();
    let tests = app.store.account_healths().await?;
    let last_calls = app
        .store
        .last_upstream_calls(Timestamp::now().plus_secs(-HEALTH_WINDOW_SECS))
        .await?;
    let next = more
        .then(|| rows.last().map(|r| r.account.id.clone()))
        .flatten();
    Ok(console(
        "Integrated accounts",
        &operator,
        html! {
            div.page-head {
                h1 { "Integrated accounts" }
                a.button.primary href="/ui/accounts/new" { "Connect Gorgias" }
            }
            (notice(query.notice.as_deref()))
            @if rows.is_empty() && query.before.is_none() {
                section.card.empty {
                    h2 { "No account is connected yet" }
                    p { "Connect a Gorgias helpdesk, then create MCP servers that give AI agents the access you choose." }
                    p { a.button.primary href="/ui/accounts/new" { "Connect Gorgias" } }
                }
            } @else {
                table.data #accounts {
                    caption { "Connected helpdesk accounts" }
                    thead {
                        tr {
                            th scope="col" { "Name" }
                            th scope="col" { "Integration" }
                            th scope="col" { "Status" }
                            th scope="col" { "Created" }
                            th scope="col" { "MCP servers" }
                        }
                    }
                    tbody {
                        @for stored in &rows {
                            @let a = &stored.account;
                            tr {
                                th scope="row" data-label="Name" {
                                    a href={ "/ui/accounts/" (a.id) } { (a.name) }
                                }
                                td data-label="Integration" {
                                    (app.integration.title()) " · " span.muted { (a.context.subdomain) }
                                }
                                td data-label="Status" {
                                    (health_badge(a.status, health::combine(a.status, tests.get(&a.id), last_calls.get(&a.id)).as_ref()))
                                }
                                td data-label="Created" { (when(a.created_at)) }
                                td data-label="MCP servers" { (counts.get(&a.id).copied().unwrap_or(0)) }
                            }
                        }
                    }
                }
                @if let Some(next) = next {
                    nav.pager aria-label="More accounts" {
                        a href={ "/ui?before=" (next) } { "Older accounts →" }
                    }
                }
            }
        },
    ))
}

/// What the connect form shows again after a failed attempt (never the API key).
#[derive(Debug, Default)]
struct ConnectValues {
    name: String,
    subdomain: String,
    email: String,
    api_base_url: String,
}

/// `GET /ui/accounts/new`: the connect page.
pub async fn connect_form(
    State(app): State<Arc<App>>,
    operator: Operator,
) -> Result<Markup, UiError> {
    Ok(connect_page(&app, &operator, &ConnectValues::default(), None).await)
}

async fn connect_page(
    app: &App,
    operator: &Operator,
    values: &ConnectValues,
    error: Option<&str>,
) -> Markup {
    let oauth = match app.oauth_app().await {
        Ok(oauth) => oauth.is_some(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the OAuth app settings");
            false
        }
    };
    let custom_upstream = app.config.allow_custom_upstream;
    console(
        "Connect Gorgias",
        operator,
        html! {
            nav.breadcrumbs aria-label="Breadcrumbs" { a href="/ui" { "Accounts" } " / " span { "Connect Gorgias" } }
            h1 { "Connect Gorgias" }
            div.columns {
                section.card aria-labelledby="api-key-heading" {
                    h2 #api-key-heading { "With an API key" }
                    p.muted { "The key is checked against Gorgias before anything is saved, and stored encrypted. It is never shown again." }
                    (form_error(error))
                    form method="post" action="/ui/accounts" #connect-api-key {
                        (csrf_field(operator))
                        div.field {
                            label for="subdomain" { "Subdomain" }
                            div.input-affix {
                                input #subdomain name="subdomain" required value=(values.subdomain)
                                    autocomplete="off" spellcheck="false" aria-describedby="subdomain-hint";
                                span aria-hidden="true" { ".gorgias.com" }
                            }
                            p.hint #subdomain-hint { "The part before .gorgias.com in your helpdesk's address, e.g. " code { "acme" } "." }
                        }
                        div.field {
                            label for="email" { "Email" }
                            input #email type="email" name="email" required value=(values.email)
                                autocomplete="off" aria-describedby="email-hint";
                            p.hint #email-hint { "The Gorgias user the API key belongs to." }
                        }
                        div.field {
                            label for="api_key" { "API key" }
                            input #api_key type="password" name="api_key" required
                                autocomplete="off" spellcheck="false" aria-describedby="api_key-hint";
                            p.hint #api_key-hint { "In Gorgias: Settings → REST API." }
                        }
                        div.field {
                            label for="name" { "Name " span.muted { "(optional)" } }
                            input #name name="name" value=(values.name) maxlength="100"
                                aria-describedby="name-hint";
                            p.hint #name-hint { "How this account is listed here; defaults to the subdomain." }
                        }
                        @if custom_upstream {
                            div.field {
                                label for="api_base_url" { "API base URL " span.muted { "(optional)" } }
                                input #api_base_url type="url" name="api_base_url" value=(values.api_base_url)
                                    placeholder="http://127.0.0.1:8081" aria-describedby="api_base_url-hint";
                                p.hint #api_base_url-hint {
                                    "Replaces https://<subdomain>.gorgias.com, for the sandbox and tests. "
                                    "Shown because this server runs with --allow-custom-upstream."
                                }
                            }
                        }
                        button.button.primary type="submit" { "Check and connect" }
                    }
                }
                section.card aria-labelledby="oauth-heading" {
                    h2 #oauth-heading { "With OAuth" }
                    @if oauth {
                        p.muted { "You sign in to Gorgias and approve access; deskgate never sees your password." }
                        form method="post" action="/ui/accounts/oauth" #connect-oauth {
                            (csrf_field(operator))
                            div.field {
                                label for="oauth-subdomain" { "Subdomain" }
                                input #oauth-subdomain name="subdomain" required autocomplete="off" spellcheck="false";
                            }
                            @if custom_upstream {
                                div.field {
                                    label for="oauth-api_base_url" { "API base URL " span.muted { "(optional)" } }
                                    input #oauth-api_base_url type="url" name="api_base_url";
                                }
                            }
                            fieldset #oauth-access {
                                legend { "Access to ask Gorgias for" }
                                div.check {
                                    input type="radio" name="access" value="full" id="access-full" checked
                                        aria-describedby="access-full-hint";
                                    label for="access-full" { "Read and write" }
                                    span.hint #access-full-hint { "Every scope the tools need; each server's filters still decide what it offers." }
                                }
                                div.check {
                                    input type="radio" name="access" value="read_only" id="access-read_only"
                                        aria-describedby="access-read_only-hint";
                                    label for="access-read_only" { "Read-only" }
                                    span.hint #access-read_only-hint { "Only the read scopes: Gorgias will refuse any change, and this account's servers offer only tools that read." }
                                }
                            }
                            button.button.primary type="submit" { "Connect with OAuth" }
                        }
                    } @else {
                        p { "OAuth is not set up on this server yet." }
                        p.muted { "An administrator can register the Gorgias OAuth app, either when starting deskgate:" }
                        ul.muted.small {
                            li { code { "--gorgias-oauth-client-id" } }
                            li { code { "DESKGATE_GORGIAS_OAUTH_CLIENT_SECRET" } }
                        }
                        p.muted { "or at any time with " code { "PUT /oauth-app/gorgias" } " in the management API." }
                    }
                }
            }
        },
    )
}

/// `POST /ui/accounts`: connect with an API key.
pub async fn connect(State(app): State<Arc<App>>, form: CheckedForm) -> Response {
    let f = &form.fields;
    let values = ConnectValues {
        name: f.text("name").unwrap_or_default(),
        subdomain: f.text("subdomain").unwrap_or_default(),
        email: f.text("email").unwrap_or_default(),
        api_base_url: f.text("api_base_url").unwrap_or_default(),
    };
    let result = app
        .connect_with_api_key(ConnectApiKey {
            integration: app.integration.name().to_owned(),
            name: f.text("name"),
            credentials: ApiKeyCredentials {
                subdomain: values.subdomain.clone(),
                email: values.email.clone(),
                api_key: SecretString::from(f.get("api_key").unwrap_or_default().to_owned()),
            },
            api_base_url: f.text("api_base_url"),
        })
        .await;
    match result {
        Ok(account) => {
            Redirect::to(&format!("/ui/accounts/{}?notice=connected", account.id)).into_response()
        }
        Err(e) => {
            let (status, message) = form_failure(e);
            (
                status,
                connect_page(&app, &form.operator, &values, Some(&message)).await,
            )
                .into_response()
        }
    }
}

/// `POST /ui/accounts/oauth`: starts the OAuth flow with the fields that were filled in
/// (the form's CSRF token was checked and goes no further: never into an address bar).
pub async fn start_oauth(State(app): State<Arc<App>>, form: CheckedForm) -> Response {
    let f = &form.fields;
    // The connect form always says (a checkbox); a Reconnect button does not, and keeps the
    // account's mode.
    let read_only = match f.text("access").as_deref() {
        Some("read_only") => Some(true),
        Some(_) => Some(false),
        None => None,
    };
    super::connect::start(
        &app,
        crate::oauth::BeginOAuth {
            subdomain: f.text("subdomain").unwrap_or_default(),
            api_base_url: f.text("api_base_url"),
            account_id: f.text("account_id"),
            read_only,
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
    /// The usage chart's span.
    #[serde(default)]
    range: usage::Range,
}

/// `GET /ui/accounts/{id}`: the Overview tab.
pub async fn overview(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Markup, UiError> {
    let stored = app.account(&id).await?;
    let now = Timestamp::now();
    let range = query.range;
    let servers = app
        .store
        .list_mcp_servers(&id)
        .await?
        .into_iter()
        .filter(|s| !s.is_expired(now))
        .count();
    let fields = app.custom_field_definitions(&stored).await;
    let waiting = super::approvals::waiting_count(&app, &id).await?;
    let a = &stored.account;
    let c = &a.context;
    let test = app.store.account_healths().await?.remove(&a.id);
    let last_call = app
        .store
        .last_upstream_calls(now.plus_secs(-HEALTH_WINDOW_SECS))
        .await?
        .remove(&a.id);
    let health = health::combine(a.status, test.as_ref(), last_call.as_ref());
    app.audit_log.flush().await;
    let records = app
        .store
        .list_tool_calls(
            &a.id,
            &crate::audit::ToolCallQuery {
                since: Some(range.start(now)),
                limit: usage::LIMIT,
                ..Default::default()
            },
        )
        .await?;
    let week = usage::usage(records.iter().map(usage::call_of), now, range);
    Ok(account_page(
        "Overview",
        &operator,
        a,
        Tab::Overview,
        html! {
            (notice(query.notice.as_deref()))
            @if waiting > 0 {
                p.alert role="status" #approvals-waiting {
                    strong { (waiting) @if waiting == 1 { " action waits" } @else { " actions wait" } " for approval. " }
                    a href={ "/ui/accounts/" (a.id) "/approvals" } { "Review in Approvals" }
                }
            }
            @if a.status == crate::accounts::AccountStatus::NeedsReauth {
                div.alert role="alert" {
                    p { strong { "This account must be reconnected." } " Gorgias no longer accepts its OAuth grant, so its MCP servers' tool calls fail until it is reconnected." }
                    form method="post" action="/ui/accounts/oauth" {
                        (csrf_field(&operator))
                        input type="hidden" name="subdomain" value=(c.subdomain);
                        input type="hidden" name="account_id" value=(a.id);
                        @if let Some(base) = &c.api_base_url {
                            input type="hidden" name="api_base_url" value=(base);
                        }
                        button.button.primary type="submit" { "Reconnect with OAuth" }
                    }
                }
            }
            @if a.status == crate::accounts::AccountStatus::NeedsCredentials {
                (credentials_form(&operator, a, None))
            }
            (health_card(&operator, a, health.as_ref()))
            @if servers == 0 && a.status == AccountStatus::Active {
                section.card.next-step #next-step aria-labelledby="next-step-heading" {
                    h2 #next-step-heading { "Next: create an MCP server" }
                    p { "An MCP server is a URL that gives an AI client (ChatGPT, Claude, Cursor) the tools you choose from this account, read-only to start with." }
                    a.button.primary href={ "/ui/accounts/" (a.id) "/servers/new" } { "Create MCP server" }
                }
            }
            (usage::section(
                "account-usage",
                "h2",
                &format!("/ui/accounts/{}", a.id),
                &week,
                records.len() as u32 >= usage::LIMIT
            ))
            div.columns {
                section.card aria-labelledby="connection-heading" {
                    h2 #connection-heading { "Connection" }
                    dl.details {
                        dt { "Status" } dd #account-health { (health_badge(a.status, health.as_ref())) }
                        dt { "Integration" } dd { (app.integration.title()) }
                        dt { "Connected with" } dd { (auth_label(a.auth_type)) }
                        dt { "Subdomain" } dd { code { (c.subdomain) } }
                        dt { "API address" } dd { code { (app.integration.base_url(c)) } }
                        @if let Some(email) = &c.email {
                            dt { "API user" } dd { (email) }
                        }
                        @if let Some(scope) = &c.scope {
                            dt { "Granted scopes" } dd.scopes { (scope) }
                        }
                        @if c.is_read_only() {
                            dt { "Access" }
                            dd #read-only-access { "Read-only: Gorgias granted no write scope, so every server of this account offers only tools that read." }
                        }
                        @if a.auth_type == AuthType::Oauth2 {
                            @if let Some(at) = a.access_token_expires_at {
                                dt { "Access token renews" } dd { "before " (when(at)) }
                            }
                        }
                        dt { "Connected" } dd { (when(a.created_at)) }
                        dt { "Last changed" } dd { (when(a.updated_at)) }
                        dt { "MCP servers" } dd { a href={ "/ui/accounts/" (a.id) "/servers" } { (servers) } }
                    }
                }
                section.card aria-labelledby="fields-heading" {
                    h2 #fields-heading { "Custom fields" }
                    p.muted { "The account's own ticket and customer fields. Tool schemas list them, so agents can set them by name." }
                    @match &fields {
                        Err(why) => p.alert role="alert" { "Could not read the custom fields from Gorgias: " (why) }
                        Ok(fields) if fields.is_empty() => p { "This account has no active custom fields." }
                        Ok(fields) => table.data.compact #custom-fields {
                            caption.visually-hidden { "Custom fields" }
                            thead { tr {
                                th scope="col" { "Field" }
                                th scope="col" { "On" }
                                th scope="col" { "Type" }
                                th scope="col" { "ID" }
                            } }
                            tbody {
                                @for field in fields {
                                    tr {
                                        th scope="row" data-label="Field" {
                                            (field.label)
                                            @if field.required { " " span.badge.muted { "required" } }
                                        }
                                        td data-label="On" { (field.object) }
                                        td data-label="Type" { (field.kind) }
                                        td data-label="ID" { code { (field.id) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card.danger-zone aria-labelledby="danger-heading" {
                h2 #danger-heading { "Delete this account" }
                p { "Deleting the account removes its stored credentials, its MCP servers (their URLs stop working at once) and their logs. Nothing changes in Gorgias." }
                a.button.danger href={ "/ui/accounts/" (a.id) "/delete" } { "Delete account…" }
            }
        },
    ))
}

/// The Overview's health: what the latest test or call said, and the "Test connection" button.
fn health_card(
    operator: &Operator,
    a: &crate::accounts::IntegratedAccount,
    health: Option<&Health>,
) -> Markup {
    let bad = health.is_some_and(|h| h.state != HealthState::Ok);
    html! {
        section.card.health #health aria-labelledby="health-heading" {
            div.page-head {
                h2 #health-heading { "Connection health" }
                form method="post" action={ "/ui/accounts/" (a.id) "/test" } #test-connection {
                    (csrf_field(operator))
                    button.button type="submit" { "Test connection" }
                }
            }
            @match health {
                None => p.muted #health-detail { "Not tested yet, and no call in the last 24 hours. “Test connection” makes one cheap request to Gorgias with the stored credentials." }
                Some(h) => {
                    @if bad {
                        div.alert role="alert" #health-detail {
                            strong { (h.state.label()) ". " } (h.detail)
                        }
                    } @else {
                        p #health-detail { (h.detail) }
                    }
                    p.muted.small #health-when {
                        @match h.source {
                            Source::Test => "Tested ",
                            Source::LastCall => "Seen on the latest call, ",
                        }
                        (when(h.at))
                    }
                }
            }
        }
    }
}

/// `POST /ui/accounts/{id}/test`: one real request to Gorgias with the stored credentials; the
/// result is saved as the account's health and shown on the Overview (post/redirect/get).
pub async fn test_connection(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    _form: CheckedForm,
) -> Result<Response, UiError> {
    let stored = app.account(&id).await?;
    app.test_connection(&stored).await?;
    Ok(Redirect::to(&format!("/ui/accounts/{id}#health")).into_response())
}

/// What an account whose credentials cannot be opened shows: why, and a form to enter an API
/// key again (checked with Gorgias before it replaces the unreadable one). An OAuth account can
/// also be reconnected through OAuth.
fn credentials_form(
    operator: &Operator,
    a: &crate::accounts::IntegratedAccount,
    error: Option<&str>,
) -> Markup {
    let c = &a.context;
    html! {
        div.alert role="alert" #needs-credentials {
            p {
                strong { "This account's credentials must be entered again." }
                " They were sealed with a vault key this server does not hold (the key was lost or changed), "
                "so its MCP servers' tool calls fail until new credentials are saved."
            }
            (form_error(error))
            form method="post" action={ "/ui/accounts/" (a.id) "/credentials" } #reenter-credentials {
                (csrf_field(operator))
                div.field {
                    label for="reenter-email" { "Email" }
                    input #reenter-email type="email" name="email" required value=(c.email.clone().unwrap_or_default()) autocomplete="off";
                }
                div.field {
                    label for="reenter-api_key" { "API key" }
                    input #reenter-api_key type="password" name="api_key" required autocomplete="off" spellcheck="false";
                    p.hint { "In Gorgias (" code { (c.subdomain) } "): Settings → REST API." }
                }
                button.button.primary type="submit" { "Check and save" }
            }
            @if a.auth_type == AuthType::Oauth2 {
                form method="post" action="/ui/accounts/oauth" {
                    (csrf_field(operator))
                    input type="hidden" name="subdomain" value=(c.subdomain);
                    input type="hidden" name="account_id" value=(a.id);
                    @if let Some(base) = &c.api_base_url {
                        input type="hidden" name="api_base_url" value=(base);
                    }
                    button.button type="submit" { "Or reconnect with OAuth" }
                }
            }
        }
    }
}

/// `POST /ui/accounts/{id}/credentials`: new API-key credentials for an account, checked with
/// Gorgias first (the account's subdomain and API address stay).
pub async fn update_credentials(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Result<Response, UiError> {
    let stored = app.account(&id).await?;
    let f = &form.fields;
    let result = app
        .update_account(
            &id,
            None,
            Some(ApiKeyCredentials {
                subdomain: stored.account.context.subdomain.clone(),
                email: f.text("email").unwrap_or_default(),
                api_key: SecretString::from(f.get("api_key").unwrap_or_default().to_owned()),
            }),
        )
        .await;
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("/ui/accounts/{id}?notice=credentials-updated")).into_response(),
        ),
        Err(e) => {
            let (status, message) = form_failure(e);
            let page = account_page(
                "Enter credentials",
                &form.operator,
                &stored.account,
                Tab::Overview,
                credentials_form(&form.operator, &stored.account, Some(&message)),
            );
            Ok((status, page).into_response())
        }
    }
}

/// `GET /ui/accounts/{id}/delete`: what deleting takes with it, and the button.
pub async fn confirm_delete(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Markup, UiError> {
    let stored = app.account(&id).await?;
    let servers = app.store.list_mcp_servers(&id).await?.len();
    let a = &stored.account;
    Ok(console(
        "Delete account",
        &operator,
        html! {
            nav.breadcrumbs aria-label="Breadcrumbs" {
                a href="/ui" { "Accounts" } " / " a href={ "/ui/accounts/" (a.id) } { (a.name) } " / " span { "Delete" }
            }
            section.card.narrow role="alertdialog" aria-labelledby="confirm-heading" aria-describedby="confirm-text" {
                h1 #confirm-heading { "Delete " (a.name) "?" }
                p #confirm-text {
                    "This deletes the account's stored credentials and its "
                    strong { (servers) " MCP server" @if servers != 1 { "s" } }
                    " with their logs. Their URLs stop working at once. Nothing changes in Gorgias."
                }
                form method="post" action={ "/ui/accounts/" (a.id) "/delete" } {
                    (csrf_field(&operator))
                    div.actions {
                        button.button.danger type="submit" { "Delete account" }
                        a.button href={ "/ui/accounts/" (a.id) } { "Cancel" }
                    }
                }
            }
        },
    ))
}

/// `POST /ui/accounts/{id}/delete`.
pub async fn delete(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    _form: CheckedForm,
) -> Result<Response, UiError> {
    app.delete_account(&id).await?;
    Ok(Redirect::to("/ui?notice=account-deleted").into_response())
}

/// One custom-field definition as the Overview tab lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomFieldView {
    pub id: i64,
    /// `Ticket` or `Customer`.
    pub object: String,
    pub label: String,
    /// `text`, `number`, `dropdown: A, B` …
    pub kind: String,
    pub required: bool,
}

impl App {
    /// The account's active custom-field definitions, read from Gorgias (one page of up to 100
    /// per source the definition names), for display. The catalog keeps its own cached copy for
    /// tool schemas; this one is fresh.
    pub async fn custom_field_definitions(
        &self,
        stored: &StoredAccount,
    ) -> Result<Vec<CustomFieldView>, String> {
        let connection = self.integration.connection();
        if connection.custom_fields.is_empty() {
            return Ok(Vec::new());
        }
        let authorization = self
            .authorization(&stored.account, &stored.sealed_credentials)
            .await
            .map_err(|e| e.to_string())?;
        let base_url = self.integration.base_url(&stored.account.context);
        let target = upstream::Target {
            base_url: &base_url,
            authorization: &authorization,
        };
        let mut fields = Vec::new();
        for source in &connection.custom_fields {
            let mut query = source.query.clone();
            query.push((connection.pagination.limit_param.clone(), "100".to_owned()));
            let response = self
                .upstream
                .send(
                    &target,
                    &upstream::Request {
                        method: http::Method::GET,
                        path: source.path.clone(),
                        query,
                        body: None,
                        encoding: Default::default(),
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            if !response.status.is_success() {
                return Err(format!(
                    "Gorgias answered HTTP {}",
                    response.status.as_u16()
                ));
            }
            let page: Value = serde_json::from_slice(&response.body)
                .map_err(|_| "Gorgias answered with something that is not JSON".to_owned())?;
            fields.extend(custom_fields_of(&page));
        }
        Ok(fields)
    }
}

/// The active fields of one list page.
fn custom_fields_of(page: &Value) -> Vec<CustomFieldView> {
    let items = page.get("data").and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter(|f| f.get("deactivated_datetime").is_none_or(Value::is_null))
        .filter_map(|f| {
            let definition = f.get("definition");
            let data_type = definition
                .and_then(|d| d.get("data_type"))
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            let settings = definition.and_then(|d| d.get("input_settings"));
            let choices: Vec<String> = settings
                .and_then(|s| s.get("choices"))
                .and_then(Value::as_array)
                .map(|c| {
                    c.iter()
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let kind = if choices.is_empty() || data_type == "boolean" {
                data_type.to_owned()
            } else {
                format!("{data_type}, one of: {}", choices.join(", "))
            };
            Some(CustomFieldView {
                id: f.get("id")?.as_i64()?,
                object: f
                    .get("object_type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                label: f
                    .get("label")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                kind,
                required: f.get("required").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn custom_fields_list_active_fields_with_their_choices() {
        let page = json!({"data": [
            {"id": 1, "object_type": "Ticket", "label": "Contact reason", "required": true,
             "definition": {"data_type": "text", "input_settings": {"input_type": "dropdown", "choices": ["Refund", "Other"]}}},
            {"id": 2, "object_type": "Ticket", "label": "Old", "deactivated_datetime": "2024-01-01T00:00:00Z",
             "definition": {"data_type": "text"}},
            {"id": 3, "object_type": "Ticket", "label": "Escalated",
             "definition": {"data_type": "boolean", "input_settings": {"choices": [true, false]}}},
            {"object_type": "Ticket", "label": "no id"}
        ]});
        let fields = custom_fields_of(&page);
        assert_eq!(
            fields,
            vec![
                CustomFieldView {
                    id: 1,
                    object: "Ticket".into(),
                    label: "Contact reason".into(),
                    kind: "text, one of: Refund, Other".into(),
                    required: true
                },
                CustomFieldView {
                    id: 3,
                    object: "Ticket".into(),
                    label: "Escalated".into(),
                    kind: "boolean".into(),
                    required: false
                },
            ]
        );
    }
}
