//! The MCP Servers tab: the account's servers, creating one with a live preview of the tools
//! its config exposes, the page that shows a new server's URL (once) with ready-to-paste client
//! configs, editing a server's access (name, methods, tags, picked tools, exposure, policies,
//! budget, expiry; the same fieldsets and preview as creating, and the same validation as the
//! API's PATCH), and deleting it after a confirmation page. One server's own page is in
//! `server_page`.
//!
//! The preview is one renderer used two ways: the create page renders it for the config in its
//! query string (so it works without JavaScript, via the "Update preview" button), and
//! `console.js` fetches the same fragment as the form changes.
//!
//! Creating follows post/redirect/get: the POST mints the server, parks its URL in
//! `CreatedViews` (memory, for this operator, a few minutes) and answers 303 to the "created"
//! page, which takes the URL out as it shows it. A reload finds nothing to show and mints
//! nothing; the token never travels in a URL of the console.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::error::{UiError, form_failure};
use super::form::{CheckedForm, FormFields};
use super::page::{Tab, account_page, csrf_field, form_error, notice, when};
use super::session::Operator;
use crate::accounts::StoredAccount;
use crate::app::App;
use crate::mcp_servers::{
    AuthMode, McpServer, McpServerChanges, McpServerConfig, NewMcpServer, ToolExposure,
};
use crate::timestamp::Timestamp;

/// Lifetimes offered for a server, in seconds.
const EXPIRY_CHOICES: [(i64, &str); 5] = [
    (3600, "1 hour"),
    (86_400, "1 day"),
    (7 * 86_400, "7 days"),
    (30 * 86_400, "30 days"),
    (90 * 86_400, "90 days"),
];

/// The method groups a server can allow, as `McpServerConfig::methods` names them.
const METHOD_GROUPS: [(&str, &str, &str); 3] = [
    (
        "read",
        "Read",
        "get and list: look things up, change nothing",
    ),
    ("write", "Write", "create, update and delete"),
    (
        "custom",
        "Custom",
        "every other action: merge, search, bulk jobs, …",
    ),
];

/// Why a config with no method ticked (and "All methods" not chosen) is refused: an untouched
/// or emptied form never means every tool.
const NO_METHOD: &str =
    "Tick at least one method, or choose “All methods, including deletes” to allow every tool.";

/// How long a new server's URL waits for its one showing.
const CREATED_VIEW_TTL: Duration = Duration::from_secs(10 * 60);

/// New servers' URLs, each waiting to be shown once to the operator who minted it, keyed by a
/// random view id. In memory: a URL that is never shown dies with its entry (or the process),
/// and the operator mints another.
#[derive(Default)]
pub struct CreatedViews {
    views: Mutex<HashMap<String, CreatedView>>,
}

struct CreatedView {
    api_token_id: String,
    server_id: String,
    url: String,
    until: Instant,
}

impl std::fmt::Debug for CreatedViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URLs: they are credentials.
        f.debug_struct("CreatedViews").finish_non_exhaustive()
    }
}

impl CreatedViews {
    /// Parks a URL for its one showing; returns the view id to put in the redirect.
    pub fn put(&self, operator: &Operator, server_id: &str, url: String) -> String {
        let id = crate::tokens::random_urlsafe(16);
        let now = Instant::now();
        let mut views = self.views.lock().expect("created views lock");
        views.retain(|_, v| v.until > now);
        views.insert(
            id.clone(),
            CreatedView {
                api_token_id: operator.id.clone(),
                server_id: server_id.to_owned(),
                url,
                until: now + CREATED_VIEW_TTL,
            },
        );
        id
    }

    /// The URL parked under `view` for this operator and server, taken out: a second call
    /// finds nothing. Another operator's request leaves it in place.
    pub fn take(&self, operator: &Operator, server_id: &str, view: &str) -> Option<String> {
        let mut views = self.views.lock().expect("created views lock");
        let entry = views.get(view)?;
        if entry.api_token_id != operator.id || entry.server_id != server_id {
            return None;
        }
        let entry = views.remove(view)?;
        (entry.until > Instant::now()).then_some(entry.url)
    }
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /ui/accounts/{id}/servers`: the account's servers.
pub async fn list(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Markup, UiError> {
    let stored = app.account(&id).await?;
    let now = Timestamp::now();
    let servers: Vec<McpServer> = app
        .store
        .list_mcp_servers(&id)
        .await?
        .into_iter()
        .filter(|s| !s.is_expired(now))
        .collect();
    let calls: HashMap<String, i64> = app
        .store
        .tool_call_counts_since(&id, now.plus_secs(-86_400))
        .await?
        .into_iter()
        .collect();
    let account = &stored.account;
    let base = format!("/ui/accounts/{}/servers", account.id);
    Ok(account_page(
        "MCP Servers",
        &operator,
        account,
        Tab::Servers,
        html! {
            div.page-head {
                h2 { "MCP servers" }
                a.button.primary href={ (base) "/new" } { "Create MCP server" }
            }
            (notice(query.notice.as_deref()))
            @if servers.is_empty() {
                section.card.empty {
                    p { "This account has no MCP servers yet. Create one with the access you want, then paste its URL into ChatGPT, Claude or Cursor." }
                }
            } @else {
                table.data #servers {
                    caption { "MCP servers of " (account.name) }
                    thead { tr {
                        th scope="col" { "Name" }
                        th scope="col" { "Methods" }
                        th scope="col" { "Tags" }
                        th scope="col" { "Exposure" }
                        th scope="col" { "Auth" }
                        th scope="col" { "Expires" }
                        th scope="col" { "Created" }
                        th scope="col" { abbr title="Tool calls in the last 24 hours" { "Calls (24 h)" } }
                        th scope="col" { span.visually-hidden { "Actions" } }
                    } }
                    tbody {
                        @for s in &servers {
                            tr data-server-id=(s.id) {
                                th scope="row" data-label="Name" { a href={ (base) "/" (s.id) } { (s.name) } }
                                td data-label="Methods" { (methods_text(&s.config.methods)) }
                                td data-label="Tags" { (filter_text(&s.config.tags)) }
                                td data-label="Exposure" { (exposure_label(s.config.tool_exposure)) }
                                td data-label="Auth" { (auth_label(s)) }
                                td data-label="Expires" {
                                    @match s.expires_at { Some(at) => (when(at)), None => span.muted { "Never" } }
                                }
                                td data-label="Created" { (when(s.created_at)) }
                                td data-label="Calls (24 h)" .calls { (calls.get(&s.id).copied().unwrap_or(0)) }
                                td data-label="Actions" .actions {
                                    div.row-actions {
                                        a href={ (base) "/" (s.id) "/edit" } aria-label={ "Edit " (s.name) } { "Edit" }
                                        a href={ "/ui/accounts/" (account.id) "/logs?server=" (s.id) } aria-label={ "Logs of " (s.name) } { "Logs" }
                                        a href={ (base) "/" (s.id) "/webhook" } aria-label={ "Webhook of " (s.name) } { "Webhook" }
                                        a.danger-link href={ (base) "/" (s.id) "/delete" } aria-label={ "Delete " (s.name) } { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
                p.muted.small { "A secret URL is shown only once, when its server is created. Lost it? Delete the server and create a new one." }
            }
        },
    ))
}

/// A snake_case name that may wrap after its underscores (`satisfaction_surveys`).
fn breakable(name: &str) -> Markup {
    html! {
        @for (i, part) in name.split('_').enumerate() {
            @if i > 0 { "_" wbr; }
            (part)
        }
    }
}

/// `all` for an absent filter, else its items.
pub(super) fn filter_text(list: &Option<Vec<String>>) -> String {
    match list {
        None => "all".to_owned(),
        Some(items) => items.join(", "),
    }
}

/// How a server's clients authenticate, in a word or three.
pub(super) fn auth_label(server: &McpServer) -> &'static str {
    match (server.auth, server.require_api_token_auth) {
        (AuthMode::Oauth, _) => "OAuth",
        (AuthMode::UrlToken, true) => "Secret URL + API token",
        (AuthMode::UrlToken, false) => "Secret URL",
    }
}

/// A server's methods; no filter is said in full, deletes included.
pub(super) fn methods_text(methods: &Option<Vec<String>>) -> String {
    match methods {
        None => "all, including deletes".to_owned(),
        Some(_) => filter_text(methods),
    }
}

pub(super) fn exposure_label(exposure: ToolExposure) -> &'static str {
    match exposure {
        ToolExposure::All => "All tools",
        ToolExposure::Discovery => "Discovery",
    }
}

/// The config a create form (or its query string, for the preview) describes. Methods: the
/// ticked ones, unless the operator chose "All methods" (`method_scope=all`); none ticked is
/// `Some([])`, which the preview and `create` refuse with `NO_METHOD`. Tags and tools:
/// nothing ticked means no filter.
pub fn config_from(fields: &FormFields) -> McpServerConfig {
    let methods = fields.all("methods");
    let tags = fields.all("tags");
    let tools = fields.all("tools");
    McpServerConfig {
        methods: (fields.get("method_scope") != Some("all")).then_some(methods),
        tags: (!tags.is_empty()).then_some(tags),
        tools: (!tools.is_empty()).then_some(tools),
        chatgpt: fields.get("chatgpt") == Some("on"),
        admin_tools: fields.get("admin_tools") == Some("on"),
        tool_exposure: match fields.get("tool_exposure") {
            Some("discovery") => ToolExposure::Discovery,
            _ => ToolExposure::All,
        },
        // Policies that do not parse are reported by `create`; the preview goes without them.
        policies: policies_from(fields).unwrap_or_default(),
        budget: budget_from(fields),
    }
}

/// The form's budget: two optional whole numbers (blank: no limit). Something that is not a
/// whole number is kept as 0, which `create` refuses with the rule's message.
fn budget_from(fields: &FormFields) -> Option<crate::mcp_servers::Budget> {
    let number = |name: &str| {
        fields
            .text(name)
            .map(|t| t.trim().parse::<u32>().unwrap_or(0))
    };
    let budget = crate::mcp_servers::Budget {
        calls_per_minute: number("calls_per_minute"),
        writes_per_day: number("writes_per_day"),
    };
    (budget != crate::mcp_servers::Budget::default()).then_some(budget)
}

/// The form's policies: the JSON array `config.policies` takes in the API (empty: none).
fn policies_from(fields: &FormFields) -> Result<Vec<crate::policy::PolicyRule>, String> {
    match fields.text("policies") {
        None => Ok(Vec::new()),
        Some(raw) => serde_json::from_str(&raw).map_err(|e| {
            format!("Policies: not a JSON array of rules as the API takes them ({e})")
        }),
    }
}

/// A lifetime in seconds from a form's select, as an expiry instant.
fn expiry_from(raw: Option<&str>, now: Timestamp) -> Result<Option<Timestamp>, String> {
    match raw.map(str::trim) {
        None | Some("" | "never") => Ok(None),
        Some(secs) => match secs.parse::<i64>() {
            Ok(secs @ 1..=315_360_000) => Ok(Some(now.plus_secs(secs))),
            _ => Err(format!("{secs:?} is not a lifetime this form offers")),
        },
    }
}

/// What the tools preview shows for one config.
pub(super) struct Preview {
    pub(super) tools: Vec<PreviewTool>,
    tools_list_bytes: usize,
    tokens: usize,
    exposure: ToolExposure,
}

pub(super) struct PreviewTool {
    pub(super) name: String,
    pub(super) title: String,
    pub(super) read_only: bool,
    destructive: bool,
}

impl App {
    /// The tools a config exposes for an account (its catalog with custom fields), or why it
    /// exposes none.
    pub(super) async fn preview(
        &self,
        stored: &StoredAccount,
        config: &McpServerConfig,
    ) -> Result<Preview, String> {
        if config.methods.as_ref().is_some_and(Vec::is_empty) {
            return Err(NO_METHOD.to_owned());
        }
        let mut filter = config
            .server_filter(self.integration.catalog())
            .map_err(|e| e.to_string())?;
        // As its servers will offer them: reads only on an account connected read-only.
        if stored.account.context.is_read_only() {
            filter.tools = filter.tools.reads_only();
        }
        let catalog = self
            .account_catalog(&stored.account, &stored.sealed_credentials)
            .await;
        let list: Vec<serde_json::Value> = catalog
            .catalog
            .tools()
            .iter()
            .filter(|t| filter.matches(t))
            .map(|t| {
                let mut entry = t.to_json();
                entry["inputSchema"] =
                    serde_json::Value::Object((*filter.policy.schema(t)).clone());
                entry
            })
            .collect();
        let json = json!({ "tools": list }).to_string();
        let tools = catalog
            .catalog
            .tools()
            .iter()
            .filter(|t| filter.matches(t))
            .map(|t| PreviewTool {
                name: t.name.clone(),
                title: t.title.clone(),
                read_only: t.annotations.read_only,
                destructive: t.annotations.destructive,
            })
            .collect();
        Ok(Preview {
            tools,
            tools_list_bytes: json.len(),
            tokens: integration_spec::tokens::count(&json),
            exposure: config.tool_exposure,
        })
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The one-line summary of a preview.
fn render_preview_count(preview: &Result<Preview, String>) -> Markup {
    html! {
        @match preview {
            Err(_) => p { "This config exposes no tools." }
            Ok(p) => p {
                strong { (p.tools.len()) " tool" @if p.tools.len() != 1 { "s" } }
                " · " (thousands(p.tokens)) " tokens"
            }
        }
    }
}

pub(super) fn render_preview(preview: &Result<Preview, String>) -> Markup {
    html! {
        @match preview {
            Err(why) => div.alert #preview-error { (why) }
            Ok(p) => {
                p.preview-count {
                    strong #preview-count data-count=(p.tools.len()) {
                        (p.tools.len()) " tool" @if p.tools.len() != 1 { "s" }
                    }
                    " · " strong #preview-tokens { (thousands(p.tokens)) " tokens" }
                    " for the tool list (" (thousands(p.tools_list_bytes.div_ceil(1024))) " KB)"
                }
                @if p.exposure == ToolExposure::Discovery {
                    p.muted.small {
                        "Discovery mode: clients list three tools (search_tools, get_tool_schema, call_tool) "
                        "and reach these through them, so the model does not load the whole list up front."
                    }
                }
                ul.tool-list #preview-tools {
                    @for t in &p.tools {
                        li {
                            code { (t.name) }
                            @if t.read_only { span.badge.ok { "read" } }
                            @else if t.destructive { span.badge.warn { "deletes" } }
                            @else { span.badge.info { "writes" } }
                            " " span.tool-title.muted { (t.title) }
                        }
                    }
                }
            }
        }
    }
}

/// What the create form shows: the fields as last submitted.
struct CreateValues {
    name: String,
    config: McpServerConfig,
    /// The policies as typed, so a refused form keeps them.
    policies: String,
    require_api_token_auth: bool,
    expires_in: String,
    auth: AuthMode,
    /// Optional: told when a call waits for approval (see `ui::webhook`).
    webhook_url: String,
}

impl CreateValues {
    fn from_fields(fields: &FormFields) -> Self {
        CreateValues {
            name: fields.text("name").unwrap_or_default(),
            config: config_from(fields),
            policies: fields.text("policies").unwrap_or_default(),
            require_api_token_auth: fields.checked("require_api_token_auth"),
            expires_in: fields.text("expires_in").unwrap_or_default(),
            auth: fields
                .get("auth")
                .and_then(AuthMode::parse)
                .unwrap_or_default(),
            webhook_url: fields.text("webhook_url").unwrap_or_default(),
        }
    }

    /// A new form: read-only, least privilege. Everything else is the operator's choice.
    fn fresh() -> Self {
        Self::from_fields(&FormFields::parse(b"methods=read"))
    }
}

/// Whether a filter list names an item (an absent filter names nothing).
fn listed(list: &Option<Vec<String>>, item: &str) -> bool {
    list.as_ref().is_some_and(|l| l.iter().any(|x| x == item))
}

/// The per-tool picker: every tool, grouped by the resource it acts on, with what it does.
/// Ticked tools feed `config.tools`; like every filter it must pass together with the methods
/// and tags, so a ticked write tool needs the Write method too (the preview shows the result).
fn tool_picker(
    by_resource: &BTreeMap<&str, Vec<&integration_spec::Tool>>,
    config: &McpServerConfig,
) -> Markup {
    let picked = config.tools.as_ref().map_or(0, Vec::len);
    html! {
        fieldset.tool-picker #tool-picker {
            legend { "Tools (optional)" }
            p.hint #tool-picker-hint {
                "Tick tools to expose only those; tick nothing to expose every tool the methods and tags allow. "
                "A ticked tool must also pass the methods and tags: to offer one write tool, tick Write and that tool."
            }
            details open[picked > 0] {
                summary { "Pick tools" }
                @for (resource, tools) in by_resource {
                    @let ticked = tools.iter().filter(|t| listed(&config.tools, &t.name)).count();
                    details.tool-group open[ticked > 0] data-resource=(resource) {
                        summary { (breakable(resource)) " " span.muted { "(" (tools.len()) ")" } }
                        ul.picker-list {
                            @for t in tools {
                                li.check {
                                    input type="checkbox" name="tools" value=(t.name) id={ "tool-" (t.name) }
                                        checked[listed(&config.tools, &t.name)] aria-describedby="tool-picker-hint";
                                    label for={ "tool-" (t.name) } title=(t.title) {
                                        code { (breakable(&t.name)) }
                                        " " (access_badge(t))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What a tool does, in one badge: the same words everywhere in the console.
pub(super) fn access_badge(t: &integration_spec::Tool) -> Markup {
    html! {
        @if t.annotations.read_only { span.badge.ok { "read" } }
        @else if t.annotations.destructive { span.badge.warn { "deletes" } }
        @else { span.badge.info { "writes" } }
        @if t.admin {
            " " span.badge.muted title="Changes the helpdesk's set-up: offered only with admin tools, or when ticked by name" { "admin" }
        }
    }
}

/// `GET /ui/accounts/{id}/servers/new`: the create form; its query string (from the no-script
/// "Update preview" button) pre-fills it.
pub async fn new_form(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Markup, UiError> {
    let stored = app.account(&id).await?;
    let values = match query.filter(|q| !q.is_empty()) {
        None => CreateValues::fresh(),
        Some(query) => CreateValues::from_fields(&FormFields::parse(query.as_bytes())),
    };
    Ok(create_page(&app, &operator, &stored, &values, None).await)
}

/// `GET /ui/accounts/{id}/servers/preview`: the preview fragment for a config.
pub async fn preview(
    State(app): State<Arc<App>>,
    _operator: Operator,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, UiError> {
    let stored = app.account(&id).await?;
    let fields = FormFields::parse(query.unwrap_or_default().as_bytes());
    let preview = app.preview(&stored, &config_from(&fields)).await;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        render_preview(&preview),
    )
        .into_response())
}

async fn create_page(
    app: &App,
    operator: &Operator,
    stored: &StoredAccount,
    values: &CreateValues,
    error: Option<&str>,
) -> Markup {
    let account = &stored.account;
    let base = format!("/ui/accounts/{}/servers", account.id);
    let catalog = app.integration.catalog();
    let preview = app.preview(stored, &values.config).await;
    account_page(
        "Create MCP server",
        operator,
        account,
        Tab::Servers,
        html! {
            h2 { "Create an MCP server" }
            p.muted { "An MCP server is a URL that gives an AI client the tools you choose here, and nothing else." }
            (form_error(error))
            div.create-grid {
                form method="post" action=(base) #create-server
                    data-preview-url={ (base) "/preview" } data-preview-target="preview-body"
                    data-preview-mini="preview-mini" {
                    (csrf_field(operator))
                    div.field {
                        label for="name" { "Name" }
                        input #name name="name" required maxlength="100" value=(values.name)
                            placeholder="e.g. Support agent (read-only)" aria-describedby="name-hint";
                        p.hint #name-hint { "For you: it is shown in this list and in the logs." }
                    }
                    (filter_fieldsets(catalog, &values.config, &values.policies))
                    (super::webhook::create_field(&values.webhook_url))
                    fieldset {
                        legend { "Authentication" }
                        div.check {
                            input type="radio" name="auth" value="url_token" id="auth-url_token"
                                checked[values.auth == AuthMode::UrlToken] aria-describedby="auth-url_token-hint";
                            label for="auth-url_token" { "Secret URL" }
                            span.hint #auth-url_token-hint { "The URL holds a token and is the whole credential; it is shown once." }
                        }
                        div.check {
                            input type="radio" name="auth" value="oauth" id="auth-oauth"
                                checked[values.auth == AuthMode::Oauth] aria-describedby="auth-oauth-hint";
                            label for="auth-oauth" { "OAuth" }
                            span.hint #auth-oauth-hint { "The URL holds no secret: each client signs in with OAuth and an operator approves it in this console." }
                        }
                    }
                    div.field.check {
                        input type="checkbox" name="require_api_token_auth" id="require_api_token_auth"
                            checked[values.require_api_token_auth] aria-describedby="token-auth-hint";
                        label for="require_api_token_auth" { "Require an API token" }
                        p.hint #token-auth-hint {
                            "Clients must also send " code { "Authorization: Bearer <API token>" }
                            ". ChatGPT connectors cannot; leave this off for ChatGPT."
                        }
                    }
                    div.field {
                        label for="expires_in" { "Expires" }
                        select #expires_in name="expires_in" aria-describedby="expires-hint" {
                            option value="" selected[values.expires_in.is_empty()] { "Never" }
                            @for (secs, label) in EXPIRY_CHOICES {
                                option value=(secs) selected[values.expires_in == secs.to_string()] { "In " (label) }
                            }
                        }
                        p.hint #expires-hint { "An expired server is deleted and its URL stops working; its call log is kept for the audit retention period." }
                    }
                    div.preview-mini #preview-mini aria-hidden="true" {
                        (render_preview_count(&preview))
                    }
                    div.actions {
                        button.button.primary type="submit" { "Create MCP server" }
                        button.button.no-js-only type="submit" formmethod="get" formaction={ (base) "/new" } formnovalidate {
                            "Update preview"
                        }
                        a.button href=(base) { "Cancel" }
                    }
                }
                aside.card.preview aria-labelledby="preview-heading" {
                    h3 #preview-heading { "Tools this server exposes" }
                    div #preview-body aria-live="polite" aria-busy="false" {
                        (render_preview(&preview))
                    }
                }
            }
        },
    )
}

/// The fieldsets that choose a server's tools and what they may do, shared by the create and
/// edit forms: methods, a per-tool picker, tags, how tools are shown, policies and budget.
fn filter_fieldsets(
    catalog: &integration_spec::Catalog,
    config: &McpServerConfig,
    policies: &str,
) -> Markup {
    let mut tag_counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut method_counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_resource: BTreeMap<&str, Vec<&integration_spec::Tool>> = BTreeMap::new();
    for t in catalog.tools() {
        for tag in &t.tags {
            *tag_counts.entry(tag.as_str()).or_default() += 1;
        }
        *method_counts.entry(t.method.as_str()).or_default() += 1;
        by_resource.entry(t.resource.as_str()).or_default().push(t);
    }
    let single_methods_open = config.methods.as_ref().is_some_and(|ms| {
        ms.iter()
            .any(|m| !METHOD_GROUPS.iter().any(|(g, _, _)| g == m))
    });
    let all_methods = config.methods.is_none();
    let has_method = |m: &str| listed(&config.methods, m);
    let has_tag = |t: &str| listed(&config.tags, t);
    html! {
        fieldset {
            legend { "Methods" }
            div.check {
                input type="radio" name="method_scope" value="chosen" id="method-scope-chosen"
                    checked[!all_methods] aria-describedby="methods-hint";
                label for="method-scope-chosen" { "Only the methods ticked here" }
                span.hint #methods-hint { "Read alone: the server can look things up and change nothing." }
            }
            @for (value, label, hint) in METHOD_GROUPS {
                div.check.method {
                    input type="checkbox" name="methods" value=(value) id={ "method-" (value) }
                        data-selects="method-scope-chosen"
                        checked[has_method(value)] aria-describedby={ "method-" (value) "-hint" };
                    label for={ "method-" (value) } { (label) }
                    span.hint id={ "method-" (value) "-hint" } { (hint) }
                }
            }
            details.single-methods open[single_methods_open] {
                summary { "Single methods" }
                div.check-grid {
                    @for (method, count) in &method_counts {
                        div.check {
                            input type="checkbox" name="methods" value=(method) id={ "single-" (method) }
                                data-selects="method-scope-chosen"
                                checked[has_method(method)];
                            label for={ "single-" (method) } { (method) " " span.muted { "(" (count) ")" } }
                        }
                    }
                }
            }
            div.check.all-methods {
                input type="radio" name="method_scope" value="all" id="method-scope-all"
                    checked[all_methods] aria-describedby="method-scope-all-hint";
                label for="method-scope-all" { "All methods, including deletes" }
                span.hint #method-scope-all-hint { "Every tool, also those that delete tickets, customers and more (admin tools only with the box below); the ticks above are ignored." }
            }
            div.check.admin-tools {
                input type="checkbox" name="admin_tools" id="admin-tools"
                    checked[config.admin_tools] aria-describedby="admin-tools-hint";
                label for="admin-tools" { "Admin tools: change the helpdesk's set-up" }
                span.hint #admin-tools-hint { "Also the writes to macros, rules, teams, users, views, widgets, integrations, custom field definitions, account settings and satisfaction surveys, and bulk jobs. Without this, write methods cover tickets, messages, customers and tags only (tools ticked by name below are offered anyway)." }
            }
        }
        fieldset {
            legend { "Tags" }
            p.hint { "Tick nothing to allow every tag. A tool passes when it has any ticked tag." }
            div.check-grid {
                @for (tag, count) in &tag_counts {
                    div.check {
                        input type="checkbox" name="tags" value=(tag) id={ "tag-" (tag) }
                            checked[has_tag(tag)];
                        label for={ "tag-" (tag) } title=(tag) { (super::page::tag_label(tag)) " " span.muted { "(" (count) ")" } }
                    }
                }
            }
        }
        fieldset {
            legend { "How tools are shown" }
            div.check {
                input type="radio" name="tool_exposure" value="all" id="exposure-all"
                    checked[config.tool_exposure == ToolExposure::All];
                label for="exposure-all" { "Every tool in the tool list" }
            }
            div.check {
                input type="radio" name="tool_exposure" value="discovery" id="exposure-discovery"
                    checked[config.tool_exposure == ToolExposure::Discovery]
                    aria-describedby="exposure-discovery-hint";
                label for="exposure-discovery" { "Discovery" }
                span.hint #exposure-discovery-hint { "Three tools that search, describe and call the others; for clients with small context windows." }
            }
            div.check {
                input type="checkbox" name="chatgpt" id="chatgpt"
                    checked[config.chatgpt] aria-describedby="chatgpt-hint";
                label for="chatgpt" { "ChatGPT-ready: add search and fetch" }
                span.hint #chatgpt-hint { "The two read-only tools ChatGPT needs outside developer mode (deep research, connectors in chat)." }
            }
        }
        div.field {
            label for="policies" { "Policies (optional)" }
            textarea #policies name="policies" rows="5" spellcheck="false"
                aria-describedby="policies-hint"
                placeholder=r#"[{"class": "write", "mode": "deny"}, {"tool": "add_gorgias_internal_note"}]"# {
                (policies)
            }
            p.hint #policies-hint {
                "What the tools may do, as a JSON array of rules: deny tools or a class (read, write), or allow them with pinned, narrowed or forbidden arguments. See “Safe writes” in the README."
            }
        }
        fieldset.budget {
            legend { "Budget (optional)" }
            div.field {
                label for="calls_per_minute" { "Calls per minute" }
                input #calls_per_minute type="number" name="calls_per_minute" min="1" inputmode="numeric"
                    value=[config.budget.and_then(|b| b.calls_per_minute)];
            }
            div.field {
                label for="writes_per_day" { "Writes per day" }
                input #writes_per_day type="number" name="writes_per_day" min="1" inputmode="numeric"
                    value=[config.budget.and_then(|b| b.writes_per_day)];
            }
            p.hint { "A call past either is refused before anything is sent, like a rate limit, with when to retry. Blank: no limit." }
        }
        (tool_picker(&by_resource, config))
    }
}

/// `POST /ui/accounts/{id}/servers`: mints the server, parks its URL for one showing, and
/// redirects (303) to the page that shows it, so a reload there cannot mint again.
pub async fn create(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Result<Response, UiError> {
    let stored = app.account(&id).await?;
    let values = CreateValues::from_fields(&form.fields);
    let refused = async |why: String| {
        (
            StatusCode::BAD_REQUEST,
            create_page(&app, &form.operator, &stored, &values, Some(&why)).await,
        )
            .into_response()
    };
    if let Err(why) = policies_from(&form.fields) {
        return Ok(refused(why).await);
    }
    if values.config.methods.as_ref().is_some_and(Vec::is_empty) {
        return Ok(refused(NO_METHOD.to_owned()).await);
    }
    let expires_at = match expiry_from(form.fields.get("expires_in"), Timestamp::now()) {
        Ok(at) => at,
        Err(why) => return Ok(refused(why).await),
    };
    if !values.webhook_url.is_empty()
        && let Err(e) = crate::webhooks::parse_url(&values.webhook_url)
    {
        return Ok(refused(e.to_string()).await);
    }
    let minted = app
        .mint_mcp_server_in(
            &id,
            NewMcpServer {
                name: values.name.clone(),
                config: values.config.clone(),
                require_api_token_auth: values.require_api_token_auth,
                expires_at,
            },
            values.auth,
        )
        .await;
    match minted {
        Ok((server, url)) => {
            let mut to = format!("/ui/accounts/{id}/servers/{}/created", server.id);
            if server.auth == AuthMode::UrlToken {
                let view = app.created_views.put(&form.operator, &server.id, url);
                to.push_str("?view=");
                to.push_str(&view);
            }
            if let Some(webhook) = super::webhook::set_on_create(
                &app,
                &form.operator,
                &id,
                &server.id,
                &values.webhook_url,
            )
            .await
            {
                to.push(if to.contains('?') { '&' } else { '?' });
                to.push_str("webhook=");
                to.push_str(&webhook);
            }
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => {
            let (status, message) = form_failure(e);
            let mut response = refused(message).await;
            *response.status_mut() = status;
            Ok(response)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CreatedQuery {
    view: Option<String>,
    /// A new webhook's secret, parked for its one showing on the webhook page.
    webhook: Option<String>,
}

/// `GET /ui/accounts/{id}/servers/{server_id}/created?view=…`: a new server's URL, shown once.
/// The view is taken as it is shown: a reload (or a second tab) gets the "shown once" page. An
/// `oauth` server's URL holds no secret, so its page can be shown any number of times.
pub async fn created(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path((id, server_id)): Path<(String, String)>,
    Query(query): Query<CreatedQuery>,
) -> Result<Response, UiError> {
    let stored = app.account(&id).await?;
    let server = app.mcp_server(&id, &server_id).await?;
    let url = match server.auth {
        AuthMode::Oauth => Some(app.oauth_server_url(&server.id)),
        AuthMode::UrlToken => query
            .view
            .as_deref()
            .and_then(|view| app.created_views.take(&operator, &server.id, view)),
    };
    let page = match url {
        Some(url) => {
            let preview = app.preview(&stored, &server.config).await;
            created_page(
                &app,
                &operator,
                &stored,
                &server,
                &url,
                &preview,
                query.webhook.as_deref(),
            )
        }
        None => shown_once_page(&operator, &stored, &server),
    };
    let mut response = page.into_response();
    // The URL's token is the whole credential: no cache may keep this page.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// What the created page says once its URL has been shown.
fn shown_once_page(operator: &Operator, stored: &StoredAccount, server: &McpServer) -> Markup {
    let account = &stored.account;
    let base = format!("/ui/accounts/{}/servers", account.id);
    account_page(
        "MCP server created",
        operator,
        account,
        Tab::Servers,
        html! {
            section.card.narrow.shown-once aria-labelledby="shown-once-heading" {
                h2 #shown-once-heading { "“" (server.name) "” was created" }
                div.alert.warn role="note" #shown-once {
                    "This URL was shown once; mint a new server if you lost it. "
                    "Delete this one if nobody uses it."
                }
                div.actions {
                    a.button.primary href={ (base) "/new" } { "Create MCP server" }
                    a.button href=(base) { "Back to MCP servers" }
                }
            }
        },
    )
}

/// A name usable as a key in client config files: `Tickets (read)` → `tickets-read`.
fn config_key(name: &str) -> String {
    let mut key = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.ends_with('-') && !key.is_empty() {
            key.push('-');
        }
    }
    let key = key.trim_end_matches('-');
    if key.is_empty() {
        "deskgate".to_owned()
    } else {
        key.to_owned()
    }
}

/// The Claude Desktop and Cursor config snippets for a URL.
fn client_configs(name: &str, url: &str, token_auth: bool) -> (String, String) {
    let key = config_key(name);
    let mut args = vec![json!("connect"), json!(url)];
    if token_auth {
        args.push(json!("--header"));
        args.push(json!("Authorization: Bearer <YOUR_API_TOKEN>"));
    }
    let claude = json!({"mcpServers": {&key: {"command": "deskgate", "args": args}}});
    let mut cursor_entry = json!({"url": url});
    if token_auth {
        cursor_entry["headers"] = json!({"Authorization": "Bearer <YOUR_API_TOKEN>"});
    }
    let cursor = json!({"mcpServers": {&key: cursor_entry}});
    (
        serde_json::to_string_pretty(&claude).expect("JSON serializes"),
        serde_json::to_string_pretty(&cursor).expect("JSON serializes"),
    )
}

pub(super) fn copy_button(target: &str, label: &str) -> Markup {
    html! {
        span.copy-group.js-only {
            button.button.copy type="button" data-copy=(target) { (label) }
            span.copy-status role="status" aria-live="polite" {}
        }
    }
}

fn created_page(
    app: &App,
    operator: &Operator,
    stored: &StoredAccount,
    server: &McpServer,
    url: &str,
    preview: &Result<Preview, String>,
    webhook_view: Option<&str>,
) -> Markup {
    let account = &stored.account;
    // Clients prefix every tool name with this key (`mcp__gorgias__...`) within a budget of 60
    // to 64 characters, so it is the integration's short name, never the server's own name.
    let (claude, cursor) =
        client_configs(app.integration.name(), url, server.require_api_token_auth);
    let https = app.public_url.starts_with("https://");
    let oauth = server.auth == AuthMode::Oauth;
    account_page(
        "MCP server created",
        operator,
        account,
        Tab::Servers,
        html! {
            section.card.created aria-labelledby="created-heading" {
                h2 #created-heading { "“" (server.name) "” is ready" }
                @if let Some(view) = webhook_view {
                    (super::webhook::created_link(&account.id, &server.id, view))
                }
                @if oauth {
                    div.notice role="note" #oauth-note {
                        strong { "This URL holds no secret: clients connect with OAuth. " }
                        "A client that adds it is sent to deskgate to sign in; an operator signed in to this console "
                        "approves it on a consent page, and the client then gets its own access token for this server. "
                        "Until then it reaches no tool."
                    }
                } @else {
                    div.alert.warn role="note" {
                        strong { "Copy the URL now: it is shown only this once. " }
                        "Its token is the whole credential — anyone who has it can use these tools. "
                        "Lost it? Delete the server and create a new one."
                    }
                }
                div.field {
                    label for="mcp-url" { "MCP server URL" }
                    div.url-row {
                        // A textarea so a phone shows the whole URL, wrapped.
                        textarea #mcp-url.url readonly rows="2" spellcheck="false" autocomplete="off" { (url) }
                        (copy_button("mcp-url", "Copy URL"))
                    }
                }
                (render_preview(preview))
                p {
                    a.button href={ "/ui/accounts/" (account.id) "/servers" } { "Done" }
                }
            }
            h3 { "Connect a client" }
            div.client-grid {
                section.card aria-labelledby="chatgpt-heading" {
                    h4 #chatgpt-heading { "ChatGPT" }
                    @if server.require_api_token_auth {
                        p.alert { "This server requires an API token, which ChatGPT connectors cannot send. Create one without it for ChatGPT." }
                    }
                    ol.steps {
                        li { "In ChatGPT, open " strong { "Settings → Apps & Connectors → Advanced settings" } " and turn on " strong { "Developer mode" } "." }
                        li { "Back in " strong { "Apps & Connectors" } ", choose " strong { "Create" } "." }
                        li {
                            "Name it (e.g. " q { (server.name) } "), paste the URL above as " strong { "MCP Server URL" } ", and set " strong { "Authentication" } " to "
                            @if oauth { strong { "OAuth" } ", then approve ChatGPT on deskgate's consent page" } @else { strong { "No authentication" } } "."
                        }
                        li { "Tick “I trust this application” and create it. Its tools are then available in new chats (choose it under the + menu → Developer mode)." }
                    }
                    @if !https {
                        p.muted.small {
                            "ChatGPT only reaches public HTTPS URLs. Run deskgate behind your HTTPS proxy or tunnel and start it with "
                            code { "--public-url https://your.host" } "."
                        }
                    }
                }
                section.card aria-labelledby="claude-heading" {
                    h4 #claude-heading { @if oauth { "Claude" } @else { "Claude Desktop" } }
                    @if oauth {
                        p { "In Claude, open " strong { "Settings → Connectors" } ", choose " strong { "Add custom connector" } ", paste the URL above, and connect: Claude opens deskgate's consent page for an operator to approve." }
                    } @else {
                        p { "Add to " code { "claude_desktop_config.json" } " (Settings → Developer → Edit Config), then restart Claude. " code { "deskgate connect" } " bridges Claude's stdio to the URL." }
                        pre.config #claude-config { code { (claude) } }
                        (copy_button("claude-config", "Copy JSON"))
                    }
                }
                section.card aria-labelledby="cursor-heading" {
                    h4 #cursor-heading { "Cursor" }
                    p {
                        "Add to " code { ".cursor/mcp.json" } " in your project (or " code { "~/.cursor/mcp.json" } ")."
                        @if oauth { " Cursor starts the OAuth sign-in when it first connects." }
                    }
                    pre.config #cursor-config { code { (cursor) } }
                    (copy_button("cursor-config", "Copy JSON"))
                }
                (super::snippets::cards(&super::snippets::snippets(app.integration.name(), url, server.require_api_token_auth, oauth), oauth))
            }
        },
    )
}

/// What the edit form shows: the server's values, or the fields as last submitted.
struct EditValues {
    name: String,
    expiry: String,
    config: McpServerConfig,
    /// The policies as typed (as JSON), so a refused form keeps them.
    policies: String,
}

impl EditValues {
    fn of(server: &McpServer) -> Self {
        EditValues {
            name: server.name.clone(),
            expiry: "keep".to_owned(),
            config: server.config.clone(),
            policies: if server.config.policies.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&server.config.policies).expect("JSON serializes")
            },
        }
    }

    fn from_fields(fields: &FormFields) -> Self {
        EditValues {
            name: fields.text("name").unwrap_or_default(),
            expiry: fields.text("expiry").unwrap_or_else(|| "keep".to_owned()),
            config: config_from(fields),
            policies: fields.text("policies").unwrap_or_default(),
        }
    }
}

/// `GET /ui/accounts/{id}/servers/{server_id}/edit`: the edit form; its query string (from the
/// no-script "Update preview" button) pre-fills it.
pub async fn edit_form(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path((id, server_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Markup, UiError> {
    let stored = app.account(&id).await?;
    let server = app.mcp_server(&id, &server_id).await?;
    let values = match query.filter(|q| !q.is_empty()) {
        None => EditValues::of(&server),
        Some(query) => EditValues::from_fields(&FormFields::parse(query.as_bytes())),
    };
    Ok(edit_page(&app, &operator, &stored, &server, &values, None).await)
}

async fn edit_page(
    app: &App,
    operator: &Operator,
    stored: &StoredAccount,
    server: &McpServer,
    values: &EditValues,
    error: Option<&str>,
) -> Markup {
    let account = &stored.account;
    let base = format!("/ui/accounts/{}/servers", account.id);
    let action = format!("{base}/{}/edit", server.id);
    let preview = app.preview(stored, &values.config).await;
    account_page(
        "Edit MCP server",
        operator,
        account,
        Tab::Servers,
        html! {
            nav.breadcrumbs aria-label="MCP server" {
                a href=(base) { "MCP servers" } " / "
                a href={ (base) "/" (server.id) } { (server.name) } " / " span { "Edit" }
            }
            h2 { "Edit “" (server.name) "”" }
            p.muted {
                "Changes apply to the next call of every client, on every replica; the URL and its clients stay. "
                "Authentication (" (auth_label(server)) ") is fixed when a server is created."
            }
            (form_error(error))
            div.create-grid {
                form method="post" action=(action) #edit-server
                    data-preview-url={ (base) "/preview" } data-preview-target="preview-body"
                    data-preview-mini="preview-mini" {
                    (csrf_field(operator))
                    div.field {
                        label for="name" { "Name" }
                        input #name name="name" required maxlength="100" value=(values.name);
                    }
                    (filter_fieldsets(app.integration.catalog(), &values.config, &values.policies))
                    div.field {
                        label for="expiry" { "Expiry" }
                        select #expiry name="expiry" {
                            option value="keep" selected[values.expiry == "keep"] {
                                "Keep as it is ("
                                @match server.expires_at { Some(at) => (super::page::human_utc(at)), None => "never" }
                                ")"
                            }
                            option value="never" selected[values.expiry == "never"] { "Never expires" }
                            @for (secs, label) in EXPIRY_CHOICES {
                                option value=(secs) selected[values.expiry == secs.to_string()] { "In " (label) " from now" }
                            }
                        }
                    }
                    div.preview-mini #preview-mini aria-hidden="true" {
                        (render_preview_count(&preview))
                    }
                    div.actions {
                        button.button.primary type="submit" { "Save" }
                        button.button.no-js-only type="submit" formmethod="get" formaction=(action) formnovalidate {
                            "Update preview"
                        }
                        a.button href={ (base) "/" (server.id) } { "Cancel" }
                    }
                }
                aside.card.preview aria-labelledby="preview-heading" {
                    h3 #preview-heading { "Tools this server will expose" }
                    div #preview-body aria-live="polite" aria-busy="false" {
                        (render_preview(&preview))
                    }
                }
            }
        },
    )
}

/// `POST /ui/accounts/{id}/servers/{server_id}/edit`: name, filters, policies, budget and
/// expiry, validated exactly as creating is (the same `update_mcp_server` the API's PATCH
/// runs); a refused form keeps what was typed and changes nothing.
pub async fn edit(
    State(app): State<Arc<App>>,
    Path((id, server_id)): Path<(String, String)>,
    form: CheckedForm,
) -> Result<Response, UiError> {
    let stored = app.account(&id).await?;
    let server = app.mcp_server(&id, &server_id).await?;
    let values = EditValues::from_fields(&form.fields);
    let expires_at = match values.expiry.as_str() {
        "keep" => Ok(None),
        "never" => Ok(Some(None)),
        secs => expiry_from(Some(secs), Timestamp::now()).map(Some),
    };
    let checked = policies_from(&form.fields).and_then(|_| {
        if values.config.methods.as_ref().is_some_and(Vec::is_empty) {
            Err(NO_METHOD.to_owned())
        } else {
            expires_at
        }
    });
    let result = match checked {
        Err(why) => Err(why),
        Ok(expires_at) => app
            .update_mcp_server(
                &id,
                &server_id,
                McpServerChanges {
                    name: Some(values.name.clone()),
                    config: Some(values.config.clone()),
                    expires_at,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| form_failure(e).1),
    };
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("/ui/accounts/{id}/servers?notice=server-updated"))
                .into_response(),
        ),
        Err(why) => Ok((
            StatusCode::BAD_REQUEST,
            edit_page(&app, &form.operator, &stored, &server, &values, Some(&why)).await,
        )
            .into_response()),
    }
}

/// `GET /ui/accounts/{id}/servers/{server_id}/delete`.
pub async fn confirm_delete(
    State(app): State<Arc<App>>,
    operator: Operator,
    Path((id, server_id)): Path<(String, String)>,
) -> Result<Markup, UiError> {
    let stored = app.account(&id).await?;
    let server = app.mcp_server(&id, &server_id).await?;
    let base = format!("/ui/accounts/{id}/servers");
    Ok(account_page(
        "Delete MCP server",
        &operator,
        &stored.account,
        Tab::Servers,
        html! {
            section.card.narrow role="alertdialog" aria-labelledby="confirm-heading" aria-describedby="confirm-text" {
                h2 #confirm-heading { "Delete “" (server.name) "”?" }
                p #confirm-text {
                    "Its URL stops working at once: clients using it lose these tools. Its call log is kept for the audit retention period. This cannot be undone."
                }
                form method="post" action={ (base) "/" (server.id) "/delete" } {
                    (csrf_field(&operator))
                    div.actions {
                        button.button.danger type="submit" { "Delete MCP server" }
                        a.button href=(base) { "Cancel" }
                    }
                }
            }
        },
    ))
}

/// `POST /ui/accounts/{id}/servers/{server_id}/delete`.
pub async fn delete(
    State(app): State<Arc<App>>,
    Path((id, server_id)): Path<(String, String)>,
    _form: CheckedForm,
) -> Result<Response, UiError> {
    app.delete_mcp_server(&id, &server_id).await?;
    Ok(Redirect::to(&format!("/ui/accounts/{id}/servers?notice=server-deleted")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edit_form_round_trips_a_servers_whole_config() {
        // What the edit form shows for a server is what saving it unchanged stores: filters,
        // picked tools, exposure, ChatGPT tools, admin tools, policies and budget.
        let config: McpServerConfig = serde_json::from_value(json!({
            "methods": ["read", "write"],
            "tags": ["tickets"],
            "tools": ["list_all_gorgias_tickets", "add_gorgias_internal_note"],
            "chatgpt": true,
            "admin_tools": true,
            "tool_exposure": "discovery",
            "policies": [
                {"class": "write", "mode": "deny"},
                {"tool": "add_gorgias_internal_note", "pin": {"channel": "internal-note"}, "max_limit": 5}
            ],
            "budget": {"calls_per_minute": 30, "writes_per_day": 10}
        }))
        .unwrap();
        let server = McpServer {
            id: "s".into(),
            integrated_account_id: "a".into(),
            name: "n".into(),
            config: config.clone(),
            require_api_token_auth: false,
            auth: AuthMode::UrlToken,
            expires_at: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        };
        let shown = EditValues::of(&server);
        let integration =
            crate::integration::Integration::gorgias(std::time::Duration::from_secs(60)).unwrap();
        let html =
            filter_fieldsets(integration.catalog(), &shown.config, &shown.policies).into_string();
        for ticked in [
            r#"id="method-write" data-selects="method-scope-chosen" checked"#,
            r#"value="tickets" id="tag-tickets" checked"#,
            r#"id="tool-add_gorgias_internal_note" checked"#,
            r#"id="exposure-discovery" checked"#,
            r#"id="chatgpt" checked"#,
            r#"id="admin-tools" checked"#,
            r#"value="30""#,
        ] {
            assert!(html.contains(ticked), "{ticked} is not shown");
        }
        assert!(!html.contains(r#"id="method-custom" data-selects="method-scope-chosen" checked"#));
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("name", &shown.name);
        form.append_pair("method_scope", "chosen");
        for m in config.methods.iter().flatten() {
            form.append_pair("methods", m);
        }
        for t in config.tags.iter().flatten() {
            form.append_pair("tags", t);
        }
        for t in config.tools.iter().flatten() {
            form.append_pair("tools", t);
        }
        form.append_pair("chatgpt", "on");
        form.append_pair("admin_tools", "on");
        form.append_pair("tool_exposure", "discovery");
        form.append_pair("policies", &shown.policies);
        form.append_pair("calls_per_minute", "30");
        form.append_pair("writes_per_day", "10");
        let posted = EditValues::from_fields(&FormFields::parse(form.finish().as_bytes()));
        assert_eq!(posted.config, config);
        assert_eq!(posted.expiry, "keep");
    }

    #[test]
    fn policies_come_from_the_form_as_the_api_takes_them() {
        let ok = FormFields::parse(
            b"name=x&policies=%5B%7B%22class%22%3A%22write%22%2C%22mode%22%3A%22deny%22%7D%5D",
        );
        assert_eq!(
            config_from(&ok).policies[0].class,
            Some(crate::policy::MethodClass::Write)
        );
        let bad = FormFields::parse(b"name=x&policies=%5Bnope");
        assert!(policies_from(&bad).unwrap_err().starts_with("Policies: "));
        assert!(config_from(&bad).policies.is_empty());
        assert!(
            policies_from(&FormFields::parse(b"policies=+"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn every_method_is_an_explicit_choice() {
        // Nothing ticked is not "everything": it is refused (see `NO_METHOD`).
        let c = config_from(&FormFields::parse(b"name=x&tool_exposure=all"));
        assert_eq!(c.methods, Some(vec![]));
        let c = config_from(&FormFields::parse(b"method_scope=chosen&methods=write"));
        assert_eq!(c.methods, Some(vec!["write".to_owned()]));
        // "All methods" ignores the ticks.
        let c = config_from(&FormFields::parse(
            b"name=x&method_scope=all&methods=read&tool_exposure=all",
        ));
        assert_eq!(c, McpServerConfig::default());
        // A new form starts read-only, with secret-URL auth.
        let fresh = CreateValues::fresh();
        assert_eq!(fresh.config.methods, Some(vec!["read".to_owned()]));
        assert!(fresh.config.methods.is_some(), "not every method");
        assert_eq!(fresh.auth, AuthMode::UrlToken);
    }

    #[test]
    fn an_empty_tag_group_is_no_filter() {
        let c = config_from(&FormFields::parse(
            b"methods=read&tags=tickets&tags=messages&tool_exposure=discovery",
        ));
        assert_eq!(c.methods, Some(vec!["read".to_owned()]));
        assert_eq!(
            c.tags,
            Some(vec!["tickets".to_owned(), "messages".to_owned()])
        );
        assert_eq!(c.tool_exposure, ToolExposure::Discovery);
    }

    #[test]
    fn a_created_view_is_shown_once_to_its_operator() {
        let views = CreatedViews::default();
        let me = Operator {
            id: "tok-1".into(),
            person: None,
            csrf_token: None,
        };
        let other = Operator {
            id: "tok-2".into(),
            person: None,
            csrf_token: None,
        };
        let view = views.put(&me, "srv-1", "https://dg/mcp/dgm_x".into());
        assert_eq!(
            views.take(&other, "srv-1", &view),
            None,
            "not another operator's"
        );
        assert_eq!(
            views.take(&me, "srv-2", &view),
            None,
            "not another server's"
        );
        assert_eq!(
            views.take(&me, "srv-1", &view).as_deref(),
            Some("https://dg/mcp/dgm_x")
        );
        assert_eq!(views.take(&me, "srv-1", &view), None, "only once");
        assert_eq!(views.take(&me, "srv-1", "guess"), None);
        assert!(!format!("{views:?}").contains("dgm_"));
    }

    #[test]
    fn expiries_come_from_offered_lifetimes() {
        let now = Timestamp(1_000_000);
        assert_eq!(expiry_from(None, now), Ok(None));
        assert_eq!(expiry_from(Some(""), now), Ok(None));
        assert_eq!(
            expiry_from(Some("3600"), now),
            Ok(Some(Timestamp(1_000_000 + 3_600_000)))
        );
        assert!(expiry_from(Some("-5"), now).is_err());
        assert!(expiry_from(Some("soon"), now).is_err());
    }

    #[test]
    fn config_keys_are_slugs() {
        assert_eq!(config_key("Tickets (read-only)"), "tickets-read-only");
        assert_eq!(config_key("  ☃ "), "deskgate");
    }

    #[test]
    fn client_configs_never_hold_a_real_api_token() {
        let url = "https://dg.example/mcp/dgm_abc";
        let (claude, cursor) = client_configs("gorgias", url, false);
        let claude: serde_json::Value = serde_json::from_str(&claude).unwrap();
        assert_eq!(
            claude["mcpServers"]["gorgias"]["args"],
            json!(["connect", url])
        );
        let cursor: serde_json::Value = serde_json::from_str(&cursor).unwrap();
        assert_eq!(cursor["mcpServers"]["gorgias"]["url"], url);
        let (claude, cursor) = client_configs("gorgias", url, true);
        assert!(claude.contains("--header") && claude.contains("<YOUR_API_TOKEN>"));
        assert!(cursor.contains("Bearer <YOUR_API_TOKEN>"));
    }

    #[test]
    fn big_numbers_get_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(29_489), "29,489");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
