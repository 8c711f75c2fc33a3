//! The Approvals tab (issue 15): an account's calls held for a person's approval. For each, what
//! the agent wants to do in plain words, the ticket's context read from Gorgias with the
//! account's credentials, the exact text it would send (editable) and its other arguments;
//! Approve sends exactly what the form shows, Reject records a reason. The decisions go through
//! `crate::approvals` (the same functions as the API); the forms post, then redirect.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use futures::StreamExt;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{UiError, form_failure};
use super::form::CheckedForm;
use super::page::{Tab, account_page, csrf_field, when};
use super::session::Operator;
use crate::app::App;
use crate::approvals::{PendingAction, summary, ticket_id};
use crate::error::ApiError;
use crate::timestamp::Timestamp;

/// The arguments shown as editable text, in this order: what a person reads before it goes out.
const TEXT_FIELDS: [&str; 3] = ["subject", "body_text", "body_html"];
/// How many of a ticket's messages the context shows (the latest).
const CONTEXT_MESSAGES: usize = 3;
/// How much of a message the context shows.
const CONTEXT_CHARS: usize = 600;
/// How many tickets' contexts one page load reads, and how many at once.
const CONTEXT_TICKETS: usize = 20;
const CONTEXT_CONCURRENCY: usize = 4;
/// How many decided actions the page lists under the waiting ones.
const DECIDED_SHOWN: usize = 20;

#[derive(Debug, Default, Deserialize)]
pub struct ApprovalsQuery {
    notice: Option<String>,
    action: Option<String>,
}

/// A ticket as the approver needs to see it: compact, read from the full ticket Gorgias returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketContext {
    pub subject: Option<String>,
    pub status: Option<String>,
    pub channel: Option<String>,
    pub customer: Option<String>,
    /// The latest messages, oldest first.
    pub messages: Vec<ContextMessage>,
    pub messages_total: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextMessage {
    pub author: String,
    pub internal: bool,
    pub from_agent: bool,
    pub at: Option<String>,
    pub text: String,
}

fn party(v: Option<&Value>) -> Option<String> {
    let v = v?;
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let email = v
        .get("email")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    match (name, email) {
        (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
        (Some(n), None) => Some(n.to_owned()),
        (None, Some(e)) => Some(e.to_owned()),
        (None, None) => None,
    }
}

impl TicketContext {
    /// Reads a full ticket (`GET /api/tickets/{id}`); pure, so it is tested without Gorgias.
    pub fn from_ticket(ticket: &Value) -> Self {
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        let all: Vec<&Value> = ticket
            .get("messages")
            .and_then(Value::as_array)
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        let skip = all.len().saturating_sub(CONTEXT_MESSAGES);
        let messages = all[skip..]
            .iter()
            .map(|m| {
                let body = text(m, "stripped_text")
                    .filter(|s| !s.trim().is_empty())
                    .or_else(|| text(m, "body_text"))
                    .unwrap_or_default();
                let mut short: String = body.trim().chars().take(CONTEXT_CHARS).collect();
                if body.trim().chars().count() > CONTEXT_CHARS {
                    short.push('…');
                }
                ContextMessage {
                    author: party(m.get("sender")).unwrap_or_else(|| "unknown sender".into()),
                    internal: m.get("public").and_then(Value::as_bool) == Some(false)
                        || text(m, "channel").as_deref() == Some("internal-note"),
                    from_agent: m.get("from_agent").and_then(Value::as_bool) == Some(true),
                    at: text(m, "created_datetime"),
                    text: short,
                }
            })
            .collect();
        TicketContext {
            subject: text(ticket, "subject"),
            status: text(ticket, "status"),
            channel: text(ticket, "channel"),
            customer: party(ticket.get("customer")),
            messages,
            messages_total: all.len(),
        }
    }
}

/// The ticket's context, or why it cannot be shown.
async fn ticket_context(app: &App, account_id: &str, ticket: i64) -> Result<TicketContext, String> {
    app.ticket_for_review(account_id, ticket)
        .await
        .map(|t| TicketContext::from_ticket(&t))
}

/// `GET /ui/accounts/{id}/approvals`.
pub async fn page(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<ApprovalsQuery>,
) -> Result<Markup, UiError> {
    render(&app, &operator, &id, &query, None).await
}

async fn render(
    app: &App,
    operator: &Operator,
    account_id: &str,
    query: &ApprovalsQuery,
    error: Option<(&str, &str)>,
) -> Result<Markup, UiError> {
    let stored = app.account(account_id).await?;
    let actions = app.pending_actions(account_id).await?;
    let servers: HashMap<String, String> = app
        .store
        .list_mcp_servers(account_id)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let (waiting, decided): (Vec<&PendingAction>, Vec<&PendingAction>) =
        actions.iter().partition(|a| a.status == "pending");
    // The tickets' contexts, in the page's order, one request per distinct ticket.
    let mut tickets: Vec<i64> = Vec::new();
    for t in waiting
        .iter()
        .filter_map(|a| ticket_id(&a.tool, &a.arguments))
    {
        if !tickets.contains(&t) {
            tickets.push(t);
        }
    }
    // Bounded: a long queue must not spend the helpdesk's rate limit in one page load.
    tickets.truncate(CONTEXT_TICKETS);
    let contexts: HashMap<i64, Result<TicketContext, String>> = futures::stream::iter(tickets)
        .map(|t| async move { (t, ticket_context(app, account_id, t).await) })
        .buffer_unordered(CONTEXT_CONCURRENCY)
        .collect()
        .await;
    let decided_now = query
        .action
        .as_deref()
        .and_then(|id| actions.iter().find(|a| a.id == id));
    let server_name = |id: &str| {
        servers
            .get(id)
            .cloned()
            .unwrap_or_else(|| "(deleted server)".into())
    };
    Ok(account_page(
        "Approvals",
        operator,
        &stored.account,
        Tab::Approvals,
        html! {
            h2 #waiting-heading { "Waiting for approval " span.badge.warn #waiting-count { (waiting.len()) } }
            p.muted {
                "Calls a server's policy holds (mode " code { "approve" } ") wait here. Nothing was sent. "
                "Approve sends exactly the text shown below, edited or not; reject tells the agent why. "
                "An action not decided within 24 hours expires."
            }
            @if let Some(action) = decided_now {
                (decision_notice(query.notice.as_deref(), action))
            }
            @if let Some((action_id, message)) = error {
                div.alert role="alert" #decision-error data-action=(action_id) {
                    strong { "Nothing was done. " } (message)
                }
            }
            @if waiting.is_empty() {
                section.card.empty { p { "Nothing waits for approval." } }
            }
            @for a in &waiting {
                (waiting_action(operator, account_id, a, &server_name(&a.mcp_server_id),
                    ticket_id(&a.tool, &a.arguments).and_then(|t| contexts.get(&t))))
            }
            @if !decided.is_empty() {
                h2 #decided-heading { "Decided" }
                table.data #decided {
                    caption { "The latest decisions, newest first" }
                    thead { tr {
                        th scope="col" { "Held" }
                        th scope="col" { "Server" }
                        th scope="col" { "What" }
                        th scope="col" { "Decision" }
                        th scope="col" { "Result" }
                    } }
                    tbody {
                        @for a in decided.iter().take(DECIDED_SHOWN) {
                            tr #{ "decided-" (a.id) } data-status=(a.status) {
                                td data-label="Held" { (when(a.created_at)) }
                                td data-label="Server" { (server_name(&a.mcp_server_id)) }
                                th scope="row" data-label="What" {
                                    (summary(&a.tool, app.tool_title(&a.tool), &a.arguments))
                                    div.small.muted { code { (a.tool) } }
                                }
                                td data-label="Decision" {
                                    (status_badge(&a.status))
                                    @if let Some(by) = &a.decided_by { div.small.muted { "by " (by) } }
                                    @if let Some(reason) = &a.reason { div.small { "Reason: " (reason) } }
                                }
                                td data-label="Result" {
                                    @match (&a.result_outcome, &a.result_text) {
                                        (Some(outcome), text) => {
                                            code { (outcome) }
                                            @if let Some(text) = text { div.small.muted.result-text { (clip(text, 300)) } }
                                        }
                                        _ => span.muted { "nothing sent" },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

fn clip(text: &str, chars: usize) -> String {
    let mut short: String = text.chars().take(chars).collect();
    if text.chars().count() > chars {
        short.push('…');
    }
    short
}

fn status_badge(status: &str) -> Markup {
    match status {
        "approved" => html! { span.badge.ok { "Approved" } },
        "rejected" => html! { span.badge.bad { "Rejected" } },
        "expired" => html! { span.badge.muted { "Expired" } },
        _ => html! { span.badge.warn { "Waiting" } },
    }
}

/// What the page says after a decision: fixed texts chosen by code, and the action as stored.
fn decision_notice(code: Option<&str>, action: &PendingAction) -> Markup {
    match code {
        Some("approved") => html! {
            div.notice role="status" #decision-notice data-action=(action.id) {
                p {
                    strong { "Approved and sent. " }
                    @match action.result_outcome.as_deref() {
                        Some("ok") => "Gorgias accepted it.",
                        Some(other) => { "Gorgias did not accept it (" code { (other) } ")." }
                        None => "No answer was recorded.",
                    }
                }
                @if let Some(text) = &action.result_text {
                    pre.small.result-text { (clip(text, 2000)) }
                }
            }
        },
        Some("rejected") => html! {
            p.notice role="status" #decision-notice data-action=(action.id) {
                strong { "Rejected. " } "Nothing was sent; the agent can read the reason with get_pending_action_status."
            }
        },
        _ => html! {},
    }
}

fn waiting_action(
    operator: &Operator,
    account_id: &str,
    a: &PendingAction,
    server_name: &str,
    context: Option<&Result<TicketContext, String>>,
) -> Markup {
    let base = format!("/ui/accounts/{account_id}/approvals/{}", a.id);
    let empty = Map::new();
    let args = a.arguments.as_object().unwrap_or(&empty);
    let texts: Vec<(&str, &str)> = TEXT_FIELDS
        .iter()
        .filter_map(|k| args.get(*k).and_then(Value::as_str).map(|v| (*k, v)))
        .collect();
    let others: Vec<(&String, &Value)> = args
        .iter()
        .filter(|(k, v)| !(TEXT_FIELDS.contains(&k.as_str()) && v.is_string()))
        .collect();
    let ticket = ticket_id(&a.tool, &a.arguments);
    html! {
        article.card.pending-action #{ "action-" (a.id) } data-action=(a.id) aria-labelledby={ "summary-" (a.id) } {
            h3 #{ "summary-" (a.id) } { (summary(&a.tool, None, &a.arguments)) }
            dl.details {
                dt { "Server" } dd { (server_name) }
                dt { "Tool" } dd { code { (a.tool) } }
                dt { "Held" } dd { (when(a.created_at)) }
                dt { "Expires" } dd { (when(a.expires_at)) }
                dt { "Rule" } dd { code { (a.policy_rule) } }
            }
            @if let Some(t) = ticket {
                section.ticket-context aria-label={ "Ticket " (t) } {
                    h4 { "Ticket #" (t) }
                    @match context {
                        Some(Ok(c)) => (context_view(c)),
                        Some(Err(why)) => p.alert role="note" { "The ticket could not be read from Gorgias: " (why) },
                        None => p.muted { "Not read: a page reads the context of " (CONTEXT_TICKETS) " tickets at most; decide those first." },
                    }
                }
            }
            form.approve method="post" action={ (base) "/approve" } {
                (csrf_field(operator))
                @for (key, value) in &texts {
                    div.field {
                        label for={ (key) "-" (a.id) } { (text_label(key)) }
                        // The line break after the tag is dropped by the HTML parser; without it a
                        // text that starts with one would lose it.
                        textarea #{ (key) "-" (a.id) } name={ "text." (key) } rows=(rows(value)) spellcheck="true" { "\n" (value) }
                    }
                }
                @if !others.is_empty() {
                    div.field {
                        span { "Other arguments (sent as shown)" }
                        dl.details.arguments {
                            @for (key, value) in &others {
                                dt { code { (key) } }
                                dd { code { (serde_json::to_string(value).unwrap_or_default()) } }
                            }
                        }
                    }
                }
                div.actions {
                    button.button.primary type="submit" { "Approve and send" }
                }
            }
            form.reject method="post" action={ (base) "/reject" } {
                (csrf_field(operator))
                div.field {
                    label for={ "reason-" (a.id) } { "Reason for rejecting" }
                    input #{ "reason-" (a.id) } name="reason" required maxlength="500" placeholder="e.g. wrong order number";
                }
                div.actions { button.button.danger type="submit" { "Reject" } }
            }
        }
    }
}

fn text_label(key: &str) -> &'static str {
    match key {
        "subject" => "Subject",
        "body_text" => "Text that will be sent",
        _ => "HTML that will be sent",
    }
}

fn rows(text: &str) -> usize {
    (text.lines().count() + 1).clamp(3, 20)
}

fn context_view(c: &TicketContext) -> Markup {
    html! {
        dl.details {
            dt { "Subject" } dd { (c.subject.as_deref().unwrap_or("(none)")) }
            dt { "Customer" } dd { (c.customer.as_deref().unwrap_or("(unknown)")) }
            dt { "Status" } dd { (c.status.as_deref().unwrap_or("(unknown)")) }
            @if let Some(channel) = &c.channel { dt { "Channel" } dd { (channel) } }
        }
        @if c.messages.is_empty() {
            p.muted { "No messages yet." }
        } @else {
            p.small.muted {
                @if c.messages_total > c.messages.len() {
                    "The last " (c.messages.len()) " of " (c.messages_total) " messages, oldest first. "
                } @else {
                    "Its messages, oldest first. "
                }
                "Customer-written text is shown as data."
            }
            ol.context-messages {
                @for m in &c.messages {
                    li {
                        div.small {
                            strong { (m.author) }
                            @if m.internal { " " span.badge.muted { "internal note" } }
                            @else if m.from_agent { " " span.badge.muted { "agent" } }
                            @else { " " span.badge.muted { "customer" } }
                            @if let Some(at) = &m.at {
                                " "
                                @match Timestamp::parse_rfc3339(at) {
                                    Ok(t) => span.muted { (when(t)) },
                                    Err(_) => span.muted { (at) },
                                }
                            }
                        }
                        blockquote { (m.text) }
                    }
                }
            }
        }
    }
}

/// The arguments to send: the held ones with the form's texts in place of the shown ones. A
/// textarea posts CRLF line breaks; the text shown had LF, so LF is what is sent.
fn edited_arguments(held: &Value, fields: &super::form::FormFields) -> Map<String, Value> {
    let mut args = held.as_object().cloned().unwrap_or_default();
    for key in TEXT_FIELDS {
        if args.get(key).is_some_and(Value::is_string)
            && let Some(value) = fields.get(&format!("text.{key}"))
        {
            args.insert(key.to_owned(), Value::String(value.replace("\r\n", "\n")));
        }
    }
    args
}

/// Why an action cannot be decided any more, in words, or `None` while it waits.
fn undecidable(a: &PendingAction) -> Option<String> {
    match a.status.as_str() {
        "pending" => None,
        "expired" => Some(format!(
            "This action expired at {} without a decision; nothing was sent. The agent must make the call again.",
            super::page::human_utc(a.expires_at)
        )),
        status => Some(format!(
            "This action was already {status}{}; it cannot be decided again.",
            a.decided_by
                .as_deref()
                .map(|by| format!(" by {by}"))
                .unwrap_or_default()
        )),
    }
}

/// A failed decision: the page again, with the message and the status that fits.
async fn failed(
    app: &App,
    operator: &Operator,
    account_id: &str,
    action_id: &str,
    status: StatusCode,
    message: &str,
) -> Response {
    match render(
        app,
        operator,
        account_id,
        &ApprovalsQuery::default(),
        Some((action_id, message)),
    )
    .await
    {
        Ok(page) => (status, page).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The action a decision is about, if it still waits; else the page saying why it cannot be
/// decided (unknown, expired, already decided).
async fn still_waiting(
    app: &App,
    operator: &Operator,
    account_id: &str,
    action_id: &str,
) -> Result<PendingAction, Response> {
    let action = app
        .pending_action_view(account_id, action_id)
        .await
        .map_err(|e| UiError::from(e).into_response())?;
    match undecidable(&action) {
        None => Ok(action),
        Some(why) => Err(failed(
            app,
            operator,
            account_id,
            action_id,
            StatusCode::CONFLICT,
            &why,
        )
        .await),
    }
}

fn decided(account_id: &str, action_id: &str, code: &str) -> Response {
    Redirect::to(&format!(
        "/ui/accounts/{account_id}/approvals?notice={code}&action={action_id}#decision-notice"
    ))
    .into_response()
}

/// `POST /ui/accounts/{id}/approvals/{action_id}/approve`: sends the texts the form shows.
pub async fn approve(
    State(app): State<Arc<App>>,
    Path((account_id, action_id)): Path<(String, String)>,
    form: CheckedForm,
) -> Response {
    let action = match still_waiting(&app, &form.operator, &account_id, &action_id).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let arguments = edited_arguments(&action.arguments, &form.fields);
    let who = form.operator.describe();
    match app
        .approve_action(&account_id, &action_id, Some(arguments), &who)
        .await
    {
        Ok(_) => {
            tracing::info!(action.id = %action_id, by = %who, "held action approved in the console");
            decided(&account_id, &action_id, "approved")
        }
        Err(e) => {
            let (status, message) = form_failure(e);
            failed(
                &app,
                &form.operator,
                &account_id,
                &action_id,
                status,
                &message,
            )
            .await
        }
    }
}

/// `POST /ui/accounts/{id}/approvals/{action_id}/reject`.
pub async fn reject(
    State(app): State<Arc<App>>,
    Path((account_id, action_id)): Path<(String, String)>,
    form: CheckedForm,
) -> Response {
    if let Err(page) = still_waiting(&app, &form.operator, &account_id, &action_id).await {
        return page;
    }
    let reason = form.fields.text("reason").unwrap_or_default();
    if reason.chars().count() > 500 || reason.is_empty() {
        let message = "Give a reason of 1 to 500 characters: the agent is told it.";
        return failed(
            &app,
            &form.operator,
            &account_id,
            &action_id,
            StatusCode::BAD_REQUEST,
            message,
        )
        .await;
    }
    let who = form.operator.describe();
    match app
        .reject_action(&account_id, &action_id, &reason, &who)
        .await
    {
        Ok(_) => {
            tracing::info!(action.id = %action_id, by = %who, "held action rejected in the console");
            decided(&account_id, &action_id, "rejected")
        }
        Err(e) => {
            let (status, message) = form_failure(e);
            failed(
                &app,
                &form.operator,
                &account_id,
                &action_id,
                status,
                &message,
            )
            .await
        }
    }
}

/// How many actions of an account wait, for the account's pages.
pub async fn waiting_count(app: &App, account_id: &str) -> Result<i64, ApiError> {
    Ok(app
        .store
        .count_pending_actions(account_id, Timestamp::now())
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_context_keeps_the_last_messages_compact() {
        let long = "x".repeat(CONTEXT_CHARS + 10);
        let ticket = json!({
            "subject": "Where is my order?", "status": "open", "channel": "email",
            "customer": {"name": "Ada", "email": "ada@example.com"},
            "messages": [
                {"sender": {"email": "ada@example.com"}, "from_agent": false, "public": true, "body_text": "first"},
                {"sender": {"name": "Bo"}, "from_agent": true, "public": false, "channel": "internal-note", "body_text": "note"},
                {"sender": {"name": "Ada"}, "from_agent": false, "public": true, "stripped_text": "", "body_text": long},
                {"sender": null, "from_agent": true, "public": true, "stripped_text": "thanks", "body_text": "thanks\n> quoted"}
            ]
        });
        let c = TicketContext::from_ticket(&ticket);
        assert_eq!(c.subject.as_deref(), Some("Where is my order?"));
        assert_eq!(c.customer.as_deref(), Some("Ada <ada@example.com>"));
        assert_eq!(c.messages_total, 4);
        assert_eq!(c.messages.len(), CONTEXT_MESSAGES);
        assert_eq!(c.messages[0].text, "note");
        assert!(c.messages[0].internal);
        assert_eq!(c.messages[1].text.chars().count(), CONTEXT_CHARS + 1);
        assert!(c.messages[1].text.ends_with('…'));
        assert_eq!(c.messages[2].text, "thanks");
        assert_eq!(c.messages[2].author, "unknown sender");
    }

    #[test]
    fn only_shown_texts_are_replaced_and_line_breaks_are_lf() {
        let held = json!({"ticket_id": 5, "body_text": "old", "channel": "email"});
        let fields = super::super::form::FormFields::parse(
            b"csrf=x&text.body_text=new%0D%0Aline&text.body_html=%3Cb%3Eadded%3C%2Fb%3E&ticket_id=9",
        );
        let args = edited_arguments(&held, &fields);
        assert_eq!(args["body_text"], "new\nline");
        // Not held, so not shown, so not sent; nor can the form change other arguments.
        assert!(!args.contains_key("body_html"));
        assert_eq!(args["ticket_id"], 5);
        assert_eq!(args["channel"], "email");
    }
}
