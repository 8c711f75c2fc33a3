//! The Logs tab: the account's audit log of tool calls, newest first, filtered by server, tool
//! and outcome, paged with the id of the last record shown (ids are time-ordered).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::UiError;
use super::page::{Tab, account_page, when};
use super::session::Operator;
use crate::app::App;
use crate::audit::{Outcome, ToolCallQuery};
use crate::policy::PolicyOutcome;
use crate::timestamp::Timestamp;

const PAGE_SIZE: u32 = 50;

const OUTCOMES: [Outcome; 9] = [
    Outcome::Ok,
    Outcome::InvalidArguments,
    Outcome::RateLimited,
    Outcome::UpstreamClientError,
    Outcome::UpstreamFailure,
    Outcome::NeedsReauth,
    Outcome::Refused,
    Outcome::Pending,
    Outcome::Held,
];

/// The policy decisions the filter offers, as the audit log stores them.
const POLICY_DECISIONS: [(&str, &str); 4] = [
    ("allowed", "Allowed"),
    ("held", "Held for approval"),
    ("approved", "Approved by a person"),
    ("denied", "Denied by a rule"),
];

fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "OK",
        Outcome::InvalidArguments => "Invalid arguments",
        Outcome::RateLimited => "Rate limited",
        Outcome::UpstreamClientError => "Refused by Gorgias",
        Outcome::UpstreamFailure => "Gorgias failed",
        Outcome::NeedsReauth => "Needs reconnecting",
        Outcome::Refused => "Tool not allowed",
        Outcome::Pending => "Sent, outcome unknown",
        Outcome::Held => "Held for approval",
    }
}

pub(super) fn outcome_badge(o: Outcome) -> Markup {
    let class = match o {
        Outcome::Ok => "badge ok",
        Outcome::InvalidArguments
        | Outcome::UpstreamClientError
        | Outcome::Refused
        | Outcome::Pending
        | Outcome::Held => "badge warn",
        Outcome::RateLimited | Outcome::UpstreamFailure | Outcome::NeedsReauth => "badge bad",
    };
    html! { span class=(class) { (outcome_label(o)) } }
}

#[derive(Debug, Default, Deserialize)]
pub struct LogsQuery {
    server: Option<String>,
    /// Part of a tool name.
    tool: Option<String>,
    outcome: Option<String>,
    /// What the server's policy decided: `allowed`, `denied`, `held` or `approved`.
    policy_decision: Option<String>,
    /// Only calls by OAuth clients this person approved (their id).
    person: Option<String>,
    /// First and last day shown (`YYYY-MM-DD`, UTC, both included).
    since: Option<String>,
    until: Option<String>,
    before: Option<String>,
    /// `csv` or `jsonl`, for the export.
    format: Option<String>,
}

/// Most records one export holds (newest first); narrow the filters for more.
const EXPORT_LIMIT: u32 = 10_000;

/// A `YYYY-MM-DD` day's start, UTC.
fn day_start(day: &str) -> Option<Timestamp> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(day.trim(), &format).ok()?;
    let at = date.midnight().assume_utc().unix_timestamp();
    Some(Timestamp(at * 1000))
}

/// The filters a query asks for, or what is wrong with them: an unknown outcome or a day that
/// is not a date is refused, never quietly widened to "everything".
fn filters_of(query: &LogsQuery) -> Result<ToolCallQuery, String> {
    let outcome = match blank_to_none(&query.outcome) {
        None => None,
        Some(o) => Some(Outcome::parse(&o).ok_or_else(|| format!("“{o}” is not an outcome"))?),
    };
    let policy_decision = match blank_to_none(&query.policy_decision) {
        None => None,
        Some(d) => Some(
            PolicyOutcome::parse(&d).ok_or_else(|| format!("“{d}” is not a policy decision"))?,
        ),
    };
    let day = |v: &Option<String>, what: &str| match blank_to_none(v) {
        None => Ok(None),
        Some(d) => day_start(&d)
            .map(Some)
            .ok_or_else(|| format!("{what} “{d}” is not a date (YYYY-MM-DD)")),
    };
    Ok(ToolCallQuery {
        mcp_server_id: blank_to_none(&query.server),
        tool_contains: blank_to_none(&query.tool),
        outcome,
        policy_decision,
        person_id: blank_to_none(&query.person),
        since: day(&query.since, "From")?,
        // The last day is included: up to the next day's start.
        until: day(&query.until, "To")?.map(|t| t.plus_secs(86_400)),
        before_id: blank_to_none(&query.before),
        ..Default::default()
    })
}

/// `GET /ui/accounts/{id}/logs/export?format=csv|jsonl&…filters`: the filtered tool calls as a
/// file, newest first, at most [`EXPORT_LIMIT`] of them.
pub async fn export(
    State(app): State<Arc<App>>,
    _operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<LogsQuery>,
) -> Result<axum::response::Response, UiError> {
    use axum::response::IntoResponse;
    app.account(&id).await?;
    app.audit_log.flush().await;
    let bad = |message: String| Ok((axum::http::StatusCode::BAD_REQUEST, message).into_response());
    let mut filters = match filters_of(&query) {
        Ok(f) => f,
        Err(why) => return bad(why),
    };
    filters.limit = EXPORT_LIMIT;
    let rows = app.store.list_tool_calls(&id, &filters).await?;
    let (body, content_type, extension) = match query.format.as_deref() {
        Some("jsonl") => {
            let mut out = Vec::new();
            for r in &rows {
                serde_json::to_writer(&mut out, r).expect("a record serializes");
                out.push(b'\n');
            }
            (out, "application/x-ndjson", "jsonl")
        }
        Some("csv") | None => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([
                "id",
                "at",
                "mcp_server_id",
                "tool",
                "outcome",
                "upstream_method",
                "upstream_path",
                "upstream_status",
                "duration_ms",
                "client_name",
                "client_version",
                "error",
                "policy_decision",
                "policy_rule",
                "person_email",
                "oauth_client_id",
            ])
            .expect("writing to memory");
            for r in &rows {
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                w.write_record([
                    r.id.clone(),
                    r.at.to_rfc3339(),
                    r.mcp_server_id.clone(),
                    r.tool.clone(),
                    r.outcome.as_str().to_owned(),
                    opt(&r.upstream_method),
                    opt(&r.upstream_path),
                    r.upstream_status.map(|s| s.to_string()).unwrap_or_default(),
                    r.duration_ms.to_string(),
                    opt(&r.client_name),
                    opt(&r.client_version),
                    opt(&r.error),
                    r.policy_decision
                        .map(|d| d.as_str().to_owned())
                        .unwrap_or_default(),
                    opt(&r.policy_rule),
                    opt(&r.person_email),
                    opt(&r.oauth_client_id),
                ])
                .expect("writing to memory");
            }
            (
                w.into_inner().expect("writing to memory"),
                "text/csv; charset=utf-8",
                "csv",
            )
        }
        Some(other) => {
            return bad(format!(
                "“{other}” is not an export format: use csv or jsonl"
            ));
        }
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"deskgate-tool-calls-{id}.{extension}\""),
            ),
        ],
        body,
    )
        .into_response())
}

fn blank_to_none(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `GET /ui/accounts/{id}/logs`.
pub async fn page(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<LogsQuery>,
) -> Result<Markup, UiError> {
    let stored = app.account(&id).await?;
    app.audit_log.flush().await;
    let server = blank_to_none(&query.server);
    let tool = blank_to_none(&query.tool);
    let outcome_raw = blank_to_none(&query.outcome);
    let decision_raw = blank_to_none(&query.policy_decision);
    let person = blank_to_none(&query.person);
    let people = app.store.list_people().await?;
    let since = blank_to_none(&query.since);
    let until = blank_to_none(&query.until);
    let (mut rows, refused) = match filters_of(&query) {
        Ok(mut filters) => {
            filters.limit = PAGE_SIZE + 1;
            (app.store.list_tool_calls(&id, &filters).await?, None)
        }
        Err(why) => (Vec::new(), Some(why)),
    };
    let outcome = outcome_raw.as_deref().and_then(Outcome::parse);
    let more = rows.len() > PAGE_SIZE as usize;
    rows.truncate(PAGE_SIZE as usize);
    let servers = app.store.list_mcp_servers(&id).await?;
    let names: HashMap<&str, &str> = servers
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let base = format!("/ui/accounts/{id}/logs");
    let filters = {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("server", &server),
            ("tool", &tool),
            ("outcome", &outcome_raw),
            ("policy_decision", &decision_raw),
            ("person", &person),
            ("since", &since),
            ("until", &until),
        ] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        q.finish()
    };
    let older = more.then(|| rows.last().map(|r| r.id.clone())).flatten();
    let filtered = server.is_some()
        || tool.is_some()
        || outcome_raw.is_some()
        || decision_raw.is_some()
        || person.is_some()
        || since.is_some()
        || until.is_some();
    Ok(account_page(
        "Logs",
        &operator,
        &stored.account,
        Tab::Logs,
        html! {
            h2 { "Tool calls" }
            p.muted { "Every tool call through this account's MCP servers. Arguments are never recorded." }
            form.filters method="get" action=(base) role="search" aria-label="Filter the tool calls" {
                div.field {
                    label for="filter-server" { "Server" }
                    select #filter-server name="server" {
                        option value="" { "All servers" }
                        @for s in &servers {
                            option value=(s.id) selected[server.as_deref() == Some(s.id.as_str())] { (s.name) }
                        }
                    }
                }
                div.field {
                    label for="filter-tool" { "Tool" }
                    input #filter-tool name="tool" list="tool-names" value=[tool.as_deref()]
                        placeholder="Any tool, or part of a name" autocomplete="off" spellcheck="false";
                    datalist #tool-names {
                        @for t in app.integration.catalog().tools() { option value=(t.name) {} }
                    }
                }
                div.field {
                    label for="filter-outcome" { "Outcome" }
                    select #filter-outcome name="outcome" {
                        option value="" { "Any outcome" }
                        @for o in OUTCOMES {
                            option value=(o.as_str()) selected[outcome == Some(o)] { (outcome_label(o)) }
                        }
                    }
                }
                div.field {
                    label for="filter-decision" { "Policy decision" }
                    select #filter-decision name="policy_decision" {
                        option value="" { "Any decision" }
                        @for (value, label) in POLICY_DECISIONS {
                            option value=(value) selected[decision_raw.as_deref() == Some(value)] { (label) }
                        }
                    }
                }
                @if !people.is_empty() {
                    div.field {
                        label for="filter-person" { "Approved by" }
                        select #filter-person name="person" {
                            option value="" { "Anyone" }
                            @for p in &people {
                                option value=(p.id) selected[person.as_deref() == Some(p.id.as_str())] { (p.email) }
                            }
                        }
                    }
                }
                div.field {
                    label for="filter-since" { "From (UTC)" }
                    input #filter-since type="date" name="since" value=[since.as_deref()];
                }
                div.field {
                    label for="filter-until" { "To (UTC)" }
                    input #filter-until type="date" name="until" value=[until.as_deref()];
                }
                div.actions {
                    button.button.primary type="submit" { "Filter" }
                    @if filtered { a.button href=(base) { "Clear" } }
                }
            }
            p.export {
                "Export these tool calls (up to 10,000, newest first): "
                a #export-csv href={ (base) "/export?format=csv" @if !filters.is_empty() { "&" (filters) } } download { "CSV" }
                " · "
                a #export-jsonl href={ (base) "/export?format=jsonl" @if !filters.is_empty() { "&" (filters) } } download { "JSON Lines" }
            }
            @if let Some(why) = &refused {
                p.alert role="alert" { (why) ". Nothing is shown until the filter is fixed." }
            }
            @if rows.is_empty() {
                section.card.empty {
                    p {
                        @if filtered { "No tool call matches these filters." }
                        @else { "No tool calls yet. They appear here as soon as a client calls a tool." }
                    }
                }
            } @else {
                table.data #logs {
                    caption { "Tool calls, newest first" }
                    thead { tr {
                        th scope="col" { "Time" }
                        th scope="col" { "Server" }
                        th scope="col" { "Tool" }
                        th scope="col" { "Outcome" }
                        th scope="col" { "Gorgias request" }
                        th scope="col" { "Duration" }
                        th scope="col" { "Client" }
                    } }
                    tbody {
                        @for r in &rows {
                            tr data-outcome=(r.outcome.as_str()) {
                                td data-label="Time" { (when(r.at)) }
                                td data-label="Server" {
                                    @match names.get(r.mcp_server_id.as_str()) {
                                        Some(name) => (name),
                                        None => span.muted { "(deleted)" },
                                    }
                                }
                                th scope="row" data-label="Tool" { code { (r.tool) } }
                                td data-label="Outcome" {
                                    (outcome_badge(r.outcome))
                                    @if let Some(error) = &r.error { div.small.muted { (error) } }
                                    @if let Some(decision) = r.policy_decision {
                                        div.small.muted.policy-decision {
                                            "policy: " (decision.as_str())
                                            @if let Some(rule) = &r.policy_rule { " (" (rule) ")" }
                                        }
                                    }
                                }
                                td data-label="Gorgias request" {
                                    @match (&r.upstream_method, &r.upstream_path) {
                                        (Some(m), Some(p)) => {
                                            code { (m) " " (p) }
                                            @if let Some(status) = r.upstream_status { " → " (status) }
                                        }
                                        _ => span.muted { "none" },
                                    }
                                }
                                td data-label="Duration" { (r.duration_ms) " ms" }
                                td data-label="Client" {
                                    @match &r.client_name {
                                        Some(name) => { (name) @if let Some(v) = &r.client_version { " " span.muted { (v) } } }
                                        None => span.muted { "unknown" },
                                    }
                                    @if let Some(email) = &r.person_email {
                                        br; span.muted.approved-by { "approved by " (email) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label="Pages of tool calls" {
                @if query.before.is_some() {
                    a href={ (base) "?" (filters) } { "← Newest" }
                }
                @if let Some(older) = older {
                    a href={ (base) "?" (filters) @if !filters.is_empty() { "&" } "before=" (older) } { "Older →" }
                }
            }
        },
    ))
}
