//! People in the console (see `crate::people`).
//!
//! - `/ui/people` (admins): everyone who can sign in, and adding a person.
//! - `/ui/people/{id}` (admins): a person's role, resetting their password, deleting them,
//!   sharing `oauth` servers with them, and the OAuth grants they approved (revocable).
//! - `/ui/accounts/{id}/servers/{server_id}/access` (admins): one server's people and the
//!   applications let in, per server.
//! - `/ui/me` (everyone signed in, agents included): the servers shared with me, and the
//!   grants I approved, which I may revoke.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::error::{UiError, form_failure};
use super::form::{CheckedForm, MemberForm};
use super::page::{console, csrf_field, form_error, when};
use super::session::{Member, Operator};
use crate::app::App;
use crate::error::ApiError;
use crate::mcp_servers::{AuthMode, McpServer};
use crate::people::{NewPerson, Person, Role};
use crate::store::oauth_grants::OAuthGrant;

#[derive(Debug, serde::Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

fn notice(code: Option<&str>) -> Markup {
    let text = match code {
        Some("added") => {
            "The person was added. Give them their email and password; they sign in at /ui/sign-in."
        }
        Some("password-reset") => "The password was reset; the person was signed out everywhere.",
        Some("deleted") => "The person was deleted; the grants they approved were revoked.",
        Some("shared") => "The server is shared with this person.",
        Some("unshared") => {
            "The server is no longer shared; the grants this person approved on it were revoked."
        }
        Some("grant-revoked") => "The grant was revoked; its tokens stopped working.",
        _ => return html! {},
    };
    html! { p.notice role="status" { (text) } }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "Admin",
        Role::Agent => "Agent",
    }
}

/// `GET /ui/people`.
pub async fn list(
    State(app): State<Arc<App>>,
    operator: Operator,
    Query(query): Query<NoticeQuery>,
) -> Result<Markup, UiError> {
    people_page(
        &app,
        &operator,
        query.notice.as_deref(),
        None,
        &Values::default(),
    )
    .await
}

#[derive(Default)]
struct Values {
    email: String,
    name: String,
    role: Option<Role>,
}

async fn people_page(
    app: &App,
    operator: &Operator,
    notice_code: Option<&str>,
    error: Option<&str>,
    values: &Values,
) -> Result<Markup, UiError> {
    let people = app.store.list_people().await?;
    Ok(console(
        "People",
        operator,
        html! {
            h1 { "People" }
            (notice(notice_code))
            p.muted {
                "People sign in to this console with their email and password. An "
                strong { "admin" } " can do everything; an " strong { "agent" }
                " only sees the OAuth MCP servers an admin shares with them, lets applications into those, and revokes their own grants. "
                "API tokens stay for automation."
            }
            @if people.is_empty() {
                p #people-empty { "No one yet." }
            } @else {
                table.data #people {
                    caption { "People who can sign in" }
                    thead { tr {
                        th scope="col" { "Email" }
                        th scope="col" { "Name" }
                        th scope="col" { "Role" }
                        th scope="col" { "Added" }
                    } }
                    tbody {
                        @for p in &people {
                            tr {
                                td { a href=(format!("/ui/people/{}", p.id)) { (p.email) } }
                                td { (p.name) }
                                td { (role_label(p.role)) }
                                td { (when(p.created_at)) }
                            }
                        }
                    }
                }
            }
            section.card #add-person {
                h2 { "Add a person" }
                (form_error(error))
                form method="post" action="/ui/people" {
                    (csrf_field(operator))
                    div.field {
                        label for="person-email" { "Email" }
                        input #person-email type="email" name="email" required value=(values.email) autocomplete="off";
                    }
                    div.field {
                        label for="person-name" { "Name (optional)" }
                        input #person-name type="text" name="name" value=(values.name) maxlength="200";
                    }
                    div.field {
                        label for="person-role" { "Role" }
                        select #person-role name="role" {
                            option value="agent" selected[values.role != Some(Role::Admin)] { "Agent: only the servers shared with them" }
                            option value="admin" selected[values.role == Some(Role::Admin)] { "Admin: everything" }
                        }
                    }
                    div.field {
                        label for="person-password" { "Password" }
                        input #person-password type="password" name="password" required minlength="12" autocomplete="new-password";
                        p.hint { "At least 12 characters. It is stored as an argon2id hash only; tell the person yourself." }
                    }
                    button.button.primary #add-person-submit type="submit" { "Add person" }
                }
            }
        },
    ))
}

/// `POST /ui/people`.
pub async fn create(State(app): State<Arc<App>>, form: CheckedForm) -> Response {
    let values = Values {
        email: form.fields.text("email").unwrap_or_default(),
        name: form.fields.text("name").unwrap_or_default(),
        role: form.fields.get("role").and_then(Role::parse),
    };
    let Some(role) = values.role else {
        return page_error(
            &app,
            &form.operator,
            &values,
            ApiError::BadRequest("choose a role: admin or agent".into()),
        )
        .await;
    };
    let created = app
        .create_person(NewPerson {
            email: &values.email,
            name: Some(&values.name),
            role,
            password: form.fields.get("password").unwrap_or_default(),
        })
        .await;
    match created {
        Ok(person) => {
            Redirect::to(&format!("/ui/people/{}?notice=added", person.id)).into_response()
        }
        Err(e) => page_error(&app, &form.operator, &values, e).await,
    }
}

async fn page_error(app: &App, operator: &Operator, values: &Values, e: ApiError) -> Response {
    let (status, message) = form_failure(e);
    match people_page(app, operator, None, Some(&message), values).await {
        Ok(page) => (status, page).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Every `oauth` server, with its account's name, for the share list.
async fn oauth_servers(app: &App) -> Result<Vec<(String, McpServer)>, UiError> {
    let mut servers = Vec::new();
    for stored in app.store.list_accounts(None, 100).await? {
        for server in app.store.list_mcp_servers(&stored.account.id).await? {
            if server.auth == AuthMode::Oauth {
                servers.push((stored.account.name.clone(), server));
            }
        }
    }
    Ok(servers)
}

async fn person_of(app: &App, id: &str) -> Result<Person, UiError> {
    Ok(app
        .store
        .get_person(id)
        .await?
        .ok_or(ApiError::NotFound("person"))?)
}

fn grants_table(operator: &Operator, grants: &[OAuthGrant], revoke_base: &str) -> Markup {
    html! {
        @if grants.is_empty() {
            p #grants-empty { "No application was let in yet." }
        } @else {
            table.data #grants {
                caption { "Applications let in (OAuth grants)" }
                thead { tr {
                    th scope="col" { "Application" }
                    th scope="col" { "MCP server" }
                    th scope="col" { "Sends back to" }
                    th scope="col" { "Approved" }
                    th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @for g in grants {
                        tr {
                            td { (g.client_name) }
                            td { code { (g.mcp_server_id) } }
                            td { code { (url::Url::parse(&g.redirect_uri).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default()) } }
                            td { (when(g.created_at)) }
                            td {
                                form method="post" action=(format!("{revoke_base}/{}/revoke", g.id)) {
                                    (csrf_field(operator))
                                    button.button.danger type="submit" { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /ui/people/{id}`.
pub async fn detail(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Markup, UiError> {
    person_page(&app, &operator, &id, query.notice.as_deref(), None).await
}

async fn person_page(
    app: &App,
    operator: &Operator,
    id: &str,
    notice_code: Option<&str>,
    error: Option<&str>,
) -> Result<Markup, UiError> {
    let person = person_of(app, id).await?;
    let shared = app.store.shared_server_ids(&person.id).await?;
    let servers = oauth_servers(app).await?;
    let grants = app.store.list_person_grants(&person.id).await?;
    let base = format!("/ui/people/{}", person.id);
    Ok(console(
        &person.email,
        operator,
        html! {
            nav.breadcrumbs aria-label="Breadcrumbs" { a href="/ui/people" { "People" } " / " span { (person.email) } }
            h1 #person-email-heading { (person.email) }
            (notice(notice_code))
            (form_error(error))
            dl.facts {
                dt { "Name" } dd { (person.name) }
                dt { "Role" } dd #person-role-value { (role_label(person.role)) }
                dt { "Added" } dd { (when(person.created_at)) }
            }
            section.card #shares {
                h2 { "Servers shared with " (person.email) }
                @if person.role == Role::Admin {
                    p.muted { "An admin sees every server; sharing matters for agents." }
                }
                @if servers.is_empty() {
                    p { "No server uses OAuth yet. Create one with Authentication → OAuth." }
                } @else {
                    table.data {
                        thead { tr {
                            th scope="col" { "MCP server" }
                            th scope="col" { "Account" }
                            th scope="col" { "Shared" }
                        } }
                        tbody {
                            @for (account, server) in &servers {
                                @let is_shared = shared.contains(&server.id);
                                tr {
                                    td { (server.name) }
                                    td { (account) }
                                    td {
                                        form method="post" action=(format!("{base}/shares")) {
                                            (csrf_field(operator))
                                            input type="hidden" name="server_id" value=(server.id);
                                            @if is_shared {
                                                input type="hidden" name="action" value="unshare";
                                                span { "Yes " }
                                                button.button type="submit" data-server=(server.id) { "Stop sharing" }
                                            } @else {
                                                input type="hidden" name="action" value="share";
                                                button.button type="submit" data-server=(server.id) { "Share" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card #person-grants {
                h2 { "Applications " (person.email) " let in" }
                (grants_table(operator, &grants, &format!("{base}/grants")))
            }
            section.card #reset-password {
                h2 { "Reset the password" }
                form method="post" action=(format!("{base}/password")) {
                    (csrf_field(operator))
                    div.field {
                        label for="new-password" { "New password" }
                        input #new-password type="password" name="password" required minlength="12" autocomplete="new-password";
                        p.hint { "At least 12 characters. The person is signed out everywhere." }
                    }
                    button.button type="submit" { "Reset password" }
                }
            }
            section.card #delete-person {
                h2 { "Delete" }
                p { "Deleting " (person.email) " signs them out and revokes every grant they approved." }
                form method="post" action=(format!("{base}/delete")) {
                    (csrf_field(operator))
                    button.button.danger type="submit" { "Delete person" }
                }
            }
        },
    ))
}

/// `POST /ui/people/{id}/password`.
pub async fn reset_password(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Response {
    match app
        .reset_password(&id, form.fields.get("password").unwrap_or_default())
        .await
    {
        Ok(()) => Redirect::to(&format!("/ui/people/{id}?notice=password-reset")).into_response(),
        Err(e) => person_error(&app, &form.operator, &id, e).await,
    }
}

async fn person_error(app: &App, operator: &Operator, id: &str, e: ApiError) -> Response {
    let (status, message) = form_failure(e);
    match person_page(app, operator, id, None, Some(&message)).await {
        Ok(page) => (status, page).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /ui/people/{id}/delete`.
pub async fn delete(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    _form: CheckedForm,
) -> Result<Response, UiError> {
    app.delete_person(&id).await?;
    Ok(Redirect::to("/ui/people?notice=deleted").into_response())
}

/// `POST /ui/people/{id}/shares`: `server_id` and `action` (`share` or `unshare`).
pub async fn set_share(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Result<Response, UiError> {
    let server_id = form.fields.text("server_id").unwrap_or_default();
    let server = app
        .store
        .find_mcp_server(&server_id)
        .await?
        .filter(|s| s.auth == AuthMode::Oauth)
        .ok_or(ApiError::NotFound("OAuth MCP server"))?;
    let notice = match form.fields.get("action") {
        Some("share") => {
            app.share_server(&server.id, &id).await?;
            "shared"
        }
        Some("unshare") => {
            app.store.unshare_server(&server.id, &id).await?;
            tracing::info!(mcp_server.id = %server.id, person.id = %id, "server no longer shared; the person's grants on it were revoked");
            "unshared"
        }
        _ => {
            return Err(ApiError::BadRequest("action must be share or unshare".into()).into());
        }
    };
    Ok(Redirect::to(&format!("/ui/people/{id}?notice={notice}")).into_response())
}

/// `POST /ui/people/{id}/grants/{grant_id}/revoke` (admins).
pub async fn revoke_grant(
    State(app): State<Arc<App>>,
    Path((id, grant_id)): Path<(String, String)>,
    form: CheckedForm,
) -> Result<Response, UiError> {
    revoke_own(&app, &form.operator, &id, &grant_id).await?;
    Ok(Redirect::to(&format!("/ui/people/{id}?notice=grant-revoked")).into_response())
}

/// Revokes a grant `person_id` approved.
async fn revoke_own(
    app: &App,
    operator: &Operator,
    person_id: &str,
    grant_id: &str,
) -> Result<(), UiError> {
    app.revoke_grant_of(
        grant_id,
        |g| g.approved_by_person.as_deref() == Some(person_id),
        &format!("revoked in the console by {}", operator.describe()),
    )
    .await?;
    Ok(())
}

/// `GET /ui/me`: my servers and the applications I let in.
pub async fn me(
    State(app): State<Arc<App>>,
    Member(operator): Member,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, UiError> {
    let Some(person) = operator.person.clone() else {
        // An API token's session has no servers of its own: it sees everything.
        return Ok(Redirect::to("/ui").into_response());
    };
    let servers = app.shared_servers(&person.id).await?;
    let grants = app.store.list_person_grants(&person.id).await?;
    Ok(console(
        "My servers",
        &operator,
        html! {
            h1 { "My servers" }
            (notice(query.notice.as_deref()))
            p.muted {
                "Signed in as " strong { (person.email) } " (" (role_label(person.role)) "). "
                "Give an application (claude.ai, ChatGPT, Claude Code, VS Code) a server's URL: it sends you to a consent page here, where you allow or deny it."
            }
            @if person.role == Role::Admin {
                p { a href="/ui" { "Open the console" } " to see every account and server." }
            }
            @if servers.is_empty() {
                p #my-servers-empty { "No server is shared with you yet. Ask an admin to share one." }
            } @else {
                table.data #my-servers {
                    caption { "Servers shared with you" }
                    thead { tr { th scope="col" { "MCP server" } th scope="col" { "URL" } } }
                    tbody {
                        @for s in &servers {
                            tr {
                                td { (s.name) }
                                td { @if let Some(url) = &s.url { code { (url) } } @else { "(secret URL: not shown)" } }
                            }
                        }
                    }
                }
            }
            section.card #my-grants {
                h2 { "Applications I let in" }
                (grants_table(&operator, &grants, "/ui/me/grants"))
            }
        },
    )
    .into_response())
}

/// `POST /ui/me/grants/{grant_id}/revoke`: agents revoke their own grants.
pub async fn revoke_my_grant(
    State(app): State<Arc<App>>,
    Path(grant_id): Path<String>,
    form: MemberForm,
) -> Result<Response, UiError> {
    let Some(person) = form.operator.person.clone() else {
        return Err(ApiError::NotFound("OAuth grant").into());
    };
    revoke_own(&app, &form.operator, &person.id, &grant_id).await?;
    Ok((
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, "/ui/me?notice=grant-revoked")],
    )
        .into_response())
}

/// `GET /ui/accounts/{id}/servers/{server_id}/access`: who an `oauth` server is shared with,
/// and the applications let in (per server), revocable.
pub async fn server_access(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path((account_id, server_id)): Path<(String, String)>,
    Query(query): Query<NoticeQuery>,
) -> Result<Markup, UiError> {
    let server = app.mcp_server(&account_id, &server_id).await?;
    let shared = app.store.server_shares(&server.id).await?;
    let people = app.store.list_people().await?;
    let grants = app.store.list_oauth_grants(&server.id).await?;
    let here = format!("/ui/accounts/{account_id}/servers/{}", server.id);
    Ok(console(
        &format!("Access · {}", server.name),
        &operator,
        html! {
            nav.breadcrumbs aria-label="Breadcrumbs" {
                a href=(here) { (server.name) } " / " span { "People and applications" }
            }
            h1 { "People and applications: " (server.name) }
            (notice(query.notice.as_deref()))
            @if server.auth != AuthMode::Oauth {
                p { "This server's URL holds its secret: people and OAuth grants apply to servers minted with Authentication → OAuth." }
            }
            section.card #server-shares {
                h2 { "Shared with" }
                @if shared.is_empty() {
                    p #server-shares-empty { "No agent. Admins can always approve applications." }
                } @else {
                    ul {
                        @for p in &shared {
                            li { a href=(format!("/ui/people/{}", p.id)) { (p.email) } " (" (role_label(p.role)) ")" }
                        }
                    }
                }
                @let others: Vec<&Person> = people.iter().filter(|p| !shared.iter().any(|s| s.id == p.id)).collect();
                @if !others.is_empty() && server.auth == AuthMode::Oauth {
                    form method="post" action=(format!("{here}/access")) {
                        (csrf_field(&operator))
                        div.field {
                            label for="share-person" { "Share with" }
                            select #share-person name="person_id" {
                                @for p in &others { option value=(p.id) { (p.email) } }
                            }
                        }
                        button.button type="submit" { "Share" }
                    }
                }
            }
            section.card #server-grants {
                h2 { "Applications let in" }
                (grants_table(&operator, &grants, &format!("{here}/grants")))
            }
        },
    ))
}

/// `POST /ui/accounts/{id}/servers/{server_id}/access`: shares the server with `person_id`.
pub async fn share_from_server(
    State(app): State<Arc<App>>,
    Path((account_id, server_id)): Path<(String, String)>,
    form: CheckedForm,
) -> Result<Response, UiError> {
    let server = app.mcp_server(&account_id, &server_id).await?;
    if server.auth != AuthMode::Oauth {
        return Err(
            ApiError::BadRequest("only OAuth servers are shared with people".into()).into(),
        );
    }
    let person_id = form.fields.text("person_id").unwrap_or_default();
    app.share_server(&server.id, &person_id).await?;
    Ok(Redirect::to(&format!(
        "/ui/accounts/{account_id}/servers/{}/access?notice=shared",
        server.id
    ))
    .into_response())
}

/// `POST /ui/accounts/{id}/servers/{server_id}/grants/{grant_id}/revoke` (admins).
pub async fn revoke_server_grant(
    State(app): State<Arc<App>>,
    Path((account_id, server_id, grant_id)): Path<(String, String, String)>,
    form: CheckedForm,
) -> Result<Response, UiError> {
    let server = app.mcp_server(&account_id, &server_id).await?;
    app.revoke_grant_of(
        &grant_id,
        |g| g.mcp_server_id == server.id,
        &format!("revoked in the console by {}", form.operator.describe()),
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/ui/accounts/{account_id}/servers/{}/access?notice=grant-revoked",
        server.id
    ))
    .into_response())
}
