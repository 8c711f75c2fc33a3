//! The MCP protocol handler. Tools are dynamic (one catalog per account, filtered per server),
//! so `list_tools` and `call_tool` are implemented by hand rather than with rmcp's macros.
//!
//! The handler is made per HTTP request (stateless serving); what it needs about the caller
//! comes from the request's extensions, put there by `tenant_layer`.

use std::borrow::Cow;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, DiscoverResult, Implementation,
    InitializeRequestParams, InitializeResult, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

use super::RateLimitSlot;
use super::clients::ClientDirectory;
use crate::app::App;
use crate::calls::{CallResult, ClientInfo, ToolCall};
use crate::integration::AccountCatalog;
use crate::mcp_servers::ToolExposure;
use crate::tenants::Tenant;

pub struct Gateway {
    app: Arc<App>,
    clients: Arc<ClientDirectory>,
}

impl Gateway {
    pub fn new(app: Arc<App>, clients: Arc<ClientDirectory>) -> Self {
        Self { app, clients }
    }
}

/// What a handler method knows about its HTTP request.
pub(super) struct Caller {
    pub(super) tenant: Arc<Tenant>,
    pub(super) slot: RateLimitSlot,
    /// (server id, User-Agent): the key of [`ClientDirectory`].
    client_key: (String, String),
}

impl Caller {
    /// The caller of a request that went through `tenant_layer`.
    pub(super) fn of(parts: &http::request::Parts) -> Option<Self> {
        let tenant = parts.extensions.get::<Arc<Tenant>>().cloned()?;
        let slot = parts
            .extensions
            .get::<RateLimitSlot>()
            .cloned()
            .unwrap_or_default();
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        Some(Caller {
            client_key: (tenant.server.id.clone(), user_agent),
            tenant,
            slot,
        })
    }

    /// The client as remembered from its `initialize`, or else as its User-Agent names it.
    pub(super) fn known_client(&self, clients: &ClientDirectory) -> Option<ClientInfo> {
        clients.recall(&self.client_key).or_else(|| {
            (!self.client_key.1.is_empty()).then(|| ClientInfo {
                name: self.client_key.1.clone(),
                version: String::new(),
            })
        })
    }
}

fn caller(context: &RequestContext<RoleServer>) -> Result<Caller, ErrorData> {
    let parts = context
        .extensions
        .get::<http::request::Parts>()
        .ok_or_else(|| ErrorData::internal_error("request parts are missing", None))?;
    Caller::of(parts).ok_or_else(|| ErrorData::internal_error("tenant is missing", None))
}

fn capabilities() -> ServerCapabilities {
    // No `listChanged`: stateless serving cannot push notifications; clients re-list on refresh.
    ServerCapabilities::builder().enable_tools().build()
}

fn server_info() -> Implementation {
    let mut info = Implementation::new("deskgate", env!("CARGO_PKG_VERSION"));
    info.title = Some("deskgate".to_owned());
    info
}

impl Gateway {
    fn config_for(&self, tenant: &Tenant, catalog: &AccountCatalog) -> ServerConfig {
        ServerConfig::new(capabilities())
            .with_server_info(server_info())
            .with_instructions(instructions(&self.app, tenant, catalog))
    }

    async fn catalog(&self, tenant: &Tenant) -> Arc<AccountCatalog> {
        self.app
            .account_catalog(&tenant.account, &tenant.sealed_credentials)
            .await
    }

    /// The tools this server shows: every allowed tool, or the three discovery tools.
    fn listed_tools(&self, tenant: &Tenant, catalog: &AccountCatalog) -> Vec<Tool> {
        match tenant.server.config.tool_exposure {
            ToolExposure::All => catalog
                .catalog
                .tools()
                .iter()
                .filter(|t| tenant.filter.matches(t))
                .map(|t| to_mcp_tool(t, tenant.filter.policy.schema(t)))
                .collect(),
            ToolExposure::Discovery => discovery_tools(
                self.app.integration.title(),
                read_only_scope(tenant, catalog),
            ),
        }
    }

    async fn run_call(
        &self,
        caller: &Caller,
        name: &str,
        arguments: Map<String, Value>,
        client: Option<ClientInfo>,
    ) -> Result<CallToolResult, ErrorData> {
        let result = self
            .app
            .call_tool(
                &caller.tenant,
                ToolCall {
                    name: name.to_owned(),
                    arguments,
                    client,
                },
            )
            .await
            .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?;
        if let Some(limit) = result.rate_limit {
            caller.slot.set(limit);
        }
        Ok(to_mcp_result(result))
    }

    fn client_of(
        &self,
        caller: &Caller,
        context: &RequestContext<RoleServer>,
    ) -> Option<ClientInfo> {
        // Only the request's own `_meta` counts here: in stateless mode rmcp's peer info is a
        // placeholder, not the client.
        context
            .meta
            .client_info()
            .map(|i| ClientInfo {
                name: i.name,
                version: i.version,
            })
            .or_else(|| caller.known_client(&self.clients))
    }
}

impl ServerHandler for Gateway {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(capabilities()).with_server_info(server_info())
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        let caller = caller(&context)?;
        self.clients.remember(
            caller.client_key.clone(),
            ClientInfo {
                name: request.client_info.name.clone(),
                version: request.client_info.version.clone(),
            },
        );
        context.peer.set_peer_info(request.clone());
        let catalog = self.catalog(&caller.tenant).await;
        let mut info = self.negotiate_initialize(&request)?;
        info.instructions = Some(instructions(&self.app, &caller.tenant, &catalog));
        Ok(info)
    }

    async fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        let caller = caller(&context)?;
        let catalog = self.catalog(&caller.tenant).await;
        Ok(DiscoverResult::from_server_info(
            ProtocolVersion::KNOWN_VERSIONS.to_vec(),
            self.config_for(&caller.tenant, &catalog),
        ))
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let caller = caller(&context)?;
        // Every tool fits one page; a cursor can only come from somewhere else.
        if request.and_then(|r| r.cursor).is_some() {
            return Err(ErrorData::invalid_params(
                "invalid cursor: this server lists every tool in one page",
                None,
            ));
        }
        let catalog = self.catalog(&caller.tenant).await;
        Ok(ListToolsResult::with_all_items(
            self.listed_tools(&caller.tenant, &catalog),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        let caller = caller(&context)?;
        let client = self.client_of(&caller, &context);
        let arguments = request.arguments.unwrap_or_default();
        let result = match caller.tenant.server.config.tool_exposure {
            ToolExposure::All => {
                self.run_call(&caller, &request.name, arguments, client)
                    .await?
            }
            ToolExposure::Discovery => {
                self.run_discovery_call(&caller, &request.name, arguments, client)
                    .await?
            }
        };
        Ok(result.into())
    }
}

// --- discovery mode ---

const SEARCH_TOOLS: &str = "search_tools";
const GET_TOOL_SCHEMA: &str = "get_tool_schema";
const CALL_TOOL: &str = "call_tool";

/// Whether every allowed tool only reads, so the discovery `call_tool` can say so.
fn read_only_scope(tenant: &Tenant, catalog: &AccountCatalog) -> bool {
    catalog
        .catalog
        .tools()
        .iter()
        .filter(|t| tenant.filter.matches(t))
        .all(|t| t.annotations.read_only)
}

fn discovery_tools(title: &str, read_only: bool) -> Vec<Tool> {
    let schema = |value: Value| match value {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!("literal schemas are objects"),
    };
    let annotations = |title: &str, read_only: bool| {
        let mut a = ToolAnnotations::with_title(title);
        a.read_only_hint = Some(read_only);
        a.destructive_hint = Some(!read_only);
        a.open_world_hint = Some(true);
        a
    };
    vec![
        Tool::new(
            SEARCH_TOOLS,
            format!(
                "Find {title} tools by keywords (e.g. \"ticket message\", \"customer\", \"tag\"). Returns names and \
                 one-line descriptions; then call get_tool_schema for the arguments and call_tool to run one."
            ),
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Keywords matched against tool names, descriptions and tags."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50, "description": "Most results to return (default 10)."}
                },
                "required": ["query"],
                "additionalProperties": false
            })),
        )
        .with_annotations(annotations("Search tools", true)),
        Tool::new(
            GET_TOOL_SCHEMA,
            "Get one tool's full description and JSON Schema for its arguments, before calling it with call_tool.",
            schema(json!({
                "type": "object",
                "properties": {"name": {"type": "string", "description": "A tool name from search_tools."}},
                "required": ["name"],
                "additionalProperties": false
            })),
        )
        .with_annotations(annotations("Get tool schema", true)),
        Tool::new(
            CALL_TOOL,
            format!("Run one {title} tool by name with arguments that follow its schema (see get_tool_schema)."),
            schema(json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "The tool to run."},
                    "arguments": {"type": "object", "description": "The tool's arguments, as its schema describes them."}
                },
                "required": ["name"],
                "additionalProperties": false
            })),
        )
        .with_annotations(annotations("Call a tool", read_only)),
    ]
}

impl Gateway {
    async fn run_discovery_call(
        &self,
        caller: &Caller,
        name: &str,
        mut arguments: Map<String, Value>,
        client: Option<ClientInfo>,
    ) -> Result<CallToolResult, ErrorData> {
        let catalog = self.catalog(&caller.tenant).await;
        let allowed = || {
            catalog
                .catalog
                .tools()
                .iter()
                .filter(|t| caller.tenant.filter.matches(t))
        };
        match name {
            SEARCH_TOOLS => {
                let Some(query) = arguments.get("query").and_then(Value::as_str) else {
                    return Ok(argument_error("query", "a string of keywords is required"));
                };
                let limit = match arguments.get("limit") {
                    None => 10,
                    Some(v) => match v.as_u64().filter(|n| (1..=50).contains(n)) {
                        Some(n) => n as usize,
                        None => {
                            return Ok(argument_error("limit", "must be an integer from 1 to 50"));
                        }
                    },
                };
                let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
                let mut scored: Vec<(usize, &integration_spec::Tool)> = allowed()
                    .map(|t| (search_score(t, &words), t))
                    .filter(|(score, _)| *score > 0)
                    .collect();
                scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
                let results: Vec<Value> = scored
                    .into_iter()
                    .take(limit)
                    .map(|(_, t)| {
                        json!({"name": t.name, "title": t.title, "description": first_sentence(&t.description),
                               "read_only": t.annotations.read_only, "tags": t.tags})
                    })
                    .collect();
                Ok(structured(json!({"tools": results})))
            }
            GET_TOOL_SCHEMA => {
                let Some(tool_name) = arguments.get("name").and_then(Value::as_str) else {
                    return Ok(argument_error(
                        "name",
                        "a tool name from search_tools is required",
                    ));
                };
                match allowed().find(|t| t.name == tool_name) {
                    Some(t) => Ok(structured(json!({
                        "name": t.name, "title": t.title, "description": t.description,
                        "inputSchema": Value::Object((*caller.tenant.filter.policy.schema(t)).clone()),
                        "annotations": t.annotations.to_json(),
                    }))),
                    None => Ok(argument_error(
                        "name",
                        &format!("no tool named {tool_name:?} is available here; use search_tools"),
                    )),
                }
            }
            CALL_TOOL => {
                let Some(Value::String(tool_name)) = arguments.remove("name") else {
                    return Ok(argument_error(
                        "name",
                        "the name of the tool to run is required",
                    ));
                };
                let inner = match arguments.remove("arguments") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(map)) => map,
                    Some(_) => return Ok(argument_error("arguments", "must be an object")),
                };
                match self.run_call(caller, &tool_name, inner, client).await {
                    Ok(result) => Ok(result),
                    // Inside call_tool, an unknown tool is the model's mistake to fix, not a
                    // protocol fault.
                    Err(_) => Ok(argument_error(
                        "name",
                        &format!("no tool named {tool_name:?} is available here; use search_tools"),
                    )),
                }
            }
            other => Err(ErrorData::invalid_params(
                format!("unknown tool: {other}"),
                None,
            )),
        }
    }
}

fn search_score(tool: &integration_spec::Tool, words: &[String]) -> usize {
    let name = tool.name.to_lowercase();
    let description = tool.description.to_lowercase();
    words
        .iter()
        .map(|w| {
            let singular = w.trim_end_matches('s');
            let in_name = name.contains(singular) as usize * 3;
            let in_tags = tool.tags.iter().any(|t| t.contains(singular)) as usize * 2;
            let in_description = description.contains(singular) as usize;
            in_name + in_tags + in_description
        })
        .sum()
}

fn first_sentence(text: &str) -> &str {
    match text.find(". ") {
        Some(i) => &text[..=i],
        None => text,
    }
}

fn argument_error(field: &str, message: &str) -> CallToolResult {
    let text = format!("Invalid argument `{field}`: {message}.");
    let mut result = CallToolResult::error(vec![ContentBlock::text(text.clone())]);
    result.structured_content =
        Some(json!({"error": {"kind": "invalid_arguments", "field": field, "message": text}}));
    result
}

fn structured(value: Value) -> CallToolResult {
    CallToolResult::structured(value)
}

// --- mapping the catalog and call results onto MCP ---

/// A tool as `tools/list` shows it, with the input schema the server's policy leaves.
fn to_mcp_tool(
    tool: &integration_spec::Tool,
    input_schema: Arc<serde_json::Map<String, Value>>,
) -> Tool {
    let mut annotations = ToolAnnotations::with_title(tool.title.clone());
    annotations.read_only_hint = Some(tool.annotations.read_only);
    annotations.destructive_hint = Some(tool.annotations.destructive);
    annotations.idempotent_hint = Some(tool.annotations.idempotent);
    annotations.open_world_hint = Some(tool.annotations.open_world);
    let mut mcp = Tool::new(
        Cow::Owned(tool.name.clone()),
        Cow::Owned(tool.description.clone()),
        input_schema,
    )
    .with_annotations(annotations);
    mcp.title = Some(tool.title.clone());
    mcp
}

fn to_mcp_result(result: CallResult) -> CallToolResult {
    let structured = result.structured.into_value(&result.text);
    let mut mcp = if result.is_error {
        CallToolResult::error(vec![ContentBlock::text(result.text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(result.text)])
    };
    mcp.structured_content = Some(structured);
    mcp
}

/// What `initialize` tells the model. ChatGPT weighs the first 512 characters most, so the
/// account, the scope and the two rules that matter most (notes vs replies, paging) come first.
fn instructions(app: &App, tenant: &Tenant, catalog: &AccountCatalog) -> String {
    let title = app.integration.title();
    let allowed: Vec<&integration_spec::Tool> = catalog
        .catalog
        .tools()
        .iter()
        .filter(|t| tenant.filter.matches(t))
        .collect();
    let read_only = allowed.iter().all(|t| t.annotations.read_only);
    let mut tags: Vec<&str> = allowed
        .iter()
        .flat_map(|t| t.tags.iter().map(String::as_str))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    let access = if read_only {
        "read-only"
    } else {
        "read and write"
    };
    let discovery = match tenant.server.config.tool_exposure {
        ToolExposure::All => String::new(),
        ToolExposure::Discovery => format!(
            " Tools are reached through search_tools -> get_tool_schema -> call_tool ({} tools behind them).",
            allowed.len()
        ),
    };
    format!(
        "{title} helpdesk account \"{account}\" ({subdomain}), {access} access: {count} tools over {tags}.{discovery} \
         Messages: to leave a note for agents use channel internal-note with public=false; only use channel email \
         with public=true when you mean to email the customer. Paging: list tools return meta.next_cursor; pass it \
         back unchanged as next_cursor for the next page (null means the last page). \
         Rate limits: {title} allows a burst of requests then throttles; a rate-limited call returns an error with \
         ratelimit-reset (seconds to wait). deskgate never retries for you. \
         Errors come back as tool results that say what to fix. Ids are integers from list or get results; never invent them.{custom}",
        account = tenant.account.name,
        subdomain = tenant.account.context.subdomain,
        count = allowed.len(),
        tags = tags.join(", "),
        custom = if catalog.custom_fields > 0 {
            format!(
                " This account has {} custom fields; their ids, labels and allowed values are in the ticket and customer tool schemas.",
                catalog.custom_fields
            )
        } else {
            String::new()
        },
    )
}
