//! MCP servers: a scoped view of one integrated account's tools, reachable at a URL whose
//! token is the whole credential, or (`oauth` mode) at `/mcp/<server id>` with an OAuth access
//! token deskgate issued for that server (see `auth_server`).

use serde::{Deserialize, Serialize};

use crate::timestamp::Timestamp;

/// How the tools are shown to a client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolExposure {
    /// Every allowed tool in `tools/list`.
    #[default]
    All,
    /// Only `search_tools`, `get_tool_schema` and `call_tool`, over the same allowed tools, for
    /// clients that cannot afford the full list.
    Discovery,
}

/// Which tools a server exposes, and what they may do. Every filter given must pass (an absent
/// filter passes everything); then `policies` may deny tools or narrow their arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct McpServerConfig {
    /// `read` (get + list), `write` (create + update + delete), `custom` (every other method),
    /// or exact method names such as `list` or `merge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// A tool passes when any of its tags is listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// A tool passes when it is listed by name (with methods and tags, all must pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Also offer `search` and `fetch`, the two read-only tools ChatGPT's connectors (deep
    /// research, connectors in chat outside developer mode) require. They obey the filters
    /// like every other tool.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chatgpt: bool,
    /// Also offer the admin tools that pass the filters: the writes that change the helpdesk's
    /// own set-up (account settings, custom field definitions, integrations, macros, rules,
    /// satisfaction surveys, teams, users, views, widgets) and bulk jobs. Without it, only
    /// those listed by name in `tools` are offered; their reads always are.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin_tools: bool,
    #[serde(default)]
    pub tool_exposure: ToolExposure,
    /// What the offered tools may do: per tool or per method class, `allow` or `deny`, with
    /// argument rules (`pin`, `narrow`, `forbid`, `only`, `max_limit`). A tool follows the rule
    /// that names it, else its class's rule; clients see the narrowed schemas, and every call
    /// is checked against the same rules before anything is sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<crate::policy::PolicyRule>,
    /// How much the server may do: calls per minute, writes per day. A call past either is
    /// refused before anything is sent, with `ratelimit-*` values and when to retry, like a
    /// 429. Counted in the database, so replicas share them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
}

/// A server's budget (issue 15). Windows are fixed (the clock minute, the UTC day).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Tool calls per clock minute, all tools counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub calls_per_minute: Option<u32>,
    /// Calls to tools that are not read-only per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub writes_per_day: Option<u32>,
}

/// How MCP requests to a server authenticate. Chosen when it is minted, never changed: a
/// change would silently open or close URLs that clients already hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// The URL is `/mcp/<token>`: the token in it is the whole credential.
    #[default]
    UrlToken,
    /// The URL is `/mcp/<server id>` and carries no secret; every request needs
    /// `Authorization: Bearer <access token>` issued by deskgate's authorization server for
    /// this server, after an operator approved the client in the console.
    Oauth,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::UrlToken => "url_token",
            AuthMode::Oauth => "oauth",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "url_token" => Some(AuthMode::UrlToken),
            "oauth" => Some(AuthMode::Oauth),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpServer {
    pub id: String,
    pub integrated_account_id: String,
    pub name: String,
    pub config: McpServerConfig,
    pub require_api_token_auth: bool,
    pub auth: AuthMode,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl McpServer {
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// What minting a server takes.
#[derive(Debug)]
pub struct NewMcpServer {
    pub name: String,
    pub config: McpServerConfig,
    pub require_api_token_auth: bool,
    pub expires_at: Option<Timestamp>,
}

/// A partial change; `expires_at: Some(None)` clears the expiry.
#[derive(Debug, Default)]
pub struct McpServerChanges {
    pub name: Option<String>,
    pub config: Option<McpServerConfig>,
    pub require_api_token_auth: Option<bool>,
    pub expires_at: Option<Option<Timestamp>>,
}

/// An expiry must leave a client time to connect.
pub const MIN_LIFETIME_SECS: i64 = 60;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ServerConfigError {
    #[error("name must be 1 to 100 characters")]
    Name,
    #[error("expires_at must be at least {MIN_LIFETIME_SECS} seconds in the future")]
    ExpiryTooSoon,
    #[error("{0}")]
    Filter(String),
    #[error(
        "this config exposes no tools: no tool matches methods {methods}, tags {tags} and tools {tools} together; widen one of the filters"
    )]
    NoTools {
        methods: String,
        tags: String,
        tools: String,
    },
    #[error(
        "this config exposes no tools: the only tools matching methods {methods}, tags {tags} and tools {tools} are admin tools (they change the helpdesk's set-up: {examples}); set admin_tools: true, or list them in tools"
    )]
    OnlyAdminTools {
        methods: String,
        tags: String,
        tools: String,
        examples: String,
    },
    #[error("{0}")]
    Policy(#[from] crate::policy::PolicyConfigError),
    #[error(
        "chatgpt: true needs `search` and `fetch`, which read tickets and customers; the filters leave them out (allow read methods and the tickets or customers tag, or list them in tools)"
    )]
    ChatgptFiltered,
    #[error("budget.{0} must be at least 1 (leave it out for no limit)")]
    Budget(&'static str),
}

pub fn validate_name(name: &str) -> Result<String, ServerConfigError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServerConfigError::Name);
    }
    Ok(name.to_owned())
}

pub fn validate_expiry(
    expires_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), ServerConfigError> {
    match expires_at {
        Some(at) if at < now.plus_secs(MIN_LIFETIME_SECS) => Err(ServerConfigError::ExpiryTooSoon),
        _ => Ok(()),
    }
}

fn describe(list: &Option<Vec<String>>) -> String {
    match list {
        None => "(any)".to_owned(),
        Some(items) => format!("[{}]", items.join(", ")),
    }
}

impl McpServerConfig {
    /// The tool filter this config describes, checked against a catalog: unknown method
    /// selectors or tags are refused, and so is a config that leaves no tool.
    pub fn tool_filter(
        &self,
        catalog: &integration_spec::Catalog,
    ) -> Result<integration_spec::ToolFilter, ServerConfigError> {
        let filter = integration_spec::ToolFilter::parse(
            self.methods.as_deref().unwrap_or_default(),
            self.tags.as_deref().unwrap_or_default(),
            catalog,
        )
        .and_then(|f| f.with_tools(self.tools.as_deref().unwrap_or_default(), catalog))
        .map_err(|e| ServerConfigError::Filter(e.to_string()))?
        .with_groups(if self.chatgpt { &["chatgpt"] } else { &[] })
        .with_admin(self.admin_tools);
        if !catalog.tools().iter().any(|t| filter.matches(t)) {
            let admin: Vec<&str> = catalog
                .tools()
                .iter()
                .filter(|t| filter.leaves_out_as_admin(t))
                .map(|t| t.name.as_str())
                .collect();
            if !admin.is_empty() {
                let mut examples = admin[..admin.len().min(3)].join(", ");
                if admin.len() > 3 {
                    examples.push_str(&format!(" and {} more", admin.len() - 3));
                }
                return Err(ServerConfigError::OnlyAdminTools {
                    methods: describe(&self.methods),
                    tags: describe(&self.tags),
                    tools: describe(&self.tools),
                    examples,
                });
            }
            return Err(ServerConfigError::NoTools {
                methods: describe(&self.methods),
                tags: describe(&self.tags),
                tools: describe(&self.tools),
            });
        }
        if self.chatgpt
            && !catalog
                .tools()
                .iter()
                .any(|t| t.offered_with.as_deref() == Some("chatgpt") && filter.matches(t))
        {
            return Err(ServerConfigError::ChatgptFiltered);
        }
        Ok(filter)
    }

    /// The tool filter and the policies together, checked against a catalog: what a server
    /// offers, and what each call is checked against.
    pub fn server_filter(
        &self,
        catalog: &integration_spec::Catalog,
    ) -> Result<crate::policy::ServerFilter, ServerConfigError> {
        if let Some(budget) = &self.budget {
            if budget.calls_per_minute == Some(0) {
                return Err(ServerConfigError::Budget("calls_per_minute"));
            }
            if budget.writes_per_day == Some(0) {
                return Err(ServerConfigError::Budget("writes_per_day"));
            }
        }
        let tools = self.tool_filter(catalog)?;
        let policy = crate::policy::Policy::compile(&self.policies, catalog, &tools)?;
        Ok(crate::policy::ServerFilter { tools, policy })
    }
}

impl From<ServerConfigError> for crate::error::ApiError {
    fn from(e: ServerConfigError) -> Self {
        crate::error::ApiError::BadRequest(e.to_string())
    }
}

impl crate::app::App {
    pub async fn mcp_server(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<McpServer, crate::error::ApiError> {
        self.store
            .get_mcp_server(account_id, id)
            .await?
            .filter(|s| !s.is_expired(Timestamp::now()))
            .ok_or(crate::error::ApiError::NotFound("MCP server"))
    }

    /// Mints a server and its URL. The URL's token is returned here once; only its hash is kept.
    pub async fn mint_mcp_server(
        &self,
        account_id: &str,
        new: NewMcpServer,
    ) -> Result<(McpServer, String), crate::error::ApiError> {
        self.mint_mcp_server_in(account_id, new, AuthMode::UrlToken)
            .await
    }

    /// Mints a server in the given auth mode. An `oauth` server's URL holds its id, not a
    /// secret; it still gets a random token hash (the column is unique and required), which
    /// is never shown, and `resolve_tenant` refuses it anyway.
    pub async fn mint_mcp_server_in(
        &self,
        account_id: &str,
        new: NewMcpServer,
        auth: AuthMode,
    ) -> Result<(McpServer, String), crate::error::ApiError> {
        if auth == AuthMode::Oauth && new.require_api_token_auth {
            return Err(crate::error::ApiError::BadRequest(
                "require_api_token_auth does not apply to an oauth server: its requests carry OAuth access tokens".into(),
            ));
        }
        self.account(account_id).await?;
        let now = Timestamp::now();
        let name = validate_name(&new.name)?;
        validate_expiry(new.expires_at, now)?;
        new.config.server_filter(self.integration.catalog())?;
        let minted = crate::tokens::mint(crate::tokens::TokenKind::Mcp);
        let server = McpServer {
            id: uuid::Uuid::now_v7().to_string(),
            integrated_account_id: account_id.to_owned(),
            name,
            config: new.config,
            require_api_token_auth: new.require_api_token_auth,
            auth,
            expires_at: new.expires_at,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_mcp_server(&server, &minted.hash).await?;
        tracing::info!(mcp_server.id = %server.id, integrated_account.id = %account_id, auth = auth.as_str(), "MCP server minted");
        let url = match auth {
            AuthMode::UrlToken => format!(
                "{}/mcp/{}",
                self.public_url,
                crate::tokens::reveal(&minted.secret)
            ),
            AuthMode::Oauth => self.oauth_server_url(&server.id),
        };
        Ok((server, url))
    }

    pub async fn update_mcp_server(
        &self,
        account_id: &str,
        id: &str,
        changes: McpServerChanges,
    ) -> Result<McpServer, crate::error::ApiError> {
        let mut server = self.mcp_server(account_id, id).await?;
        let now = Timestamp::now();
        if let Some(name) = changes.name {
            server.name = validate_name(&name)?;
        }
        if let Some(config) = changes.config {
            config.server_filter(self.integration.catalog())?;
            server.config = config;
        }
        if let Some(require) = changes.require_api_token_auth {
            if require && server.auth == AuthMode::Oauth {
                return Err(crate::error::ApiError::BadRequest(
                    "require_api_token_auth does not apply to an oauth server: its requests carry OAuth access tokens".into(),
                ));
            }
            server.require_api_token_auth = require;
        }
        if let Some(expires_at) = changes.expires_at {
            validate_expiry(expires_at, now)?;
            server.expires_at = expires_at;
        }
        server.updated_at = now;
        if !self.store.update_mcp_server(&server).await? {
            return Err(crate::error::ApiError::NotFound("MCP server"));
        }
        self.tenants.invalidate_all();
        self.end_orphaned_sse_streams().await;
        Ok(server)
    }

    pub async fn delete_mcp_server(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<(), crate::error::ApiError> {
        if !self.store.delete_mcp_server(account_id, id).await? {
            return Err(crate::error::ApiError::NotFound("MCP server"));
        }
        self.tenants.invalidate_all();
        self.end_orphaned_sse_streams().await;
        tracing::info!(mcp_server.id = %id, "MCP server deleted");
        Ok(())
    }

    /// Deletes expired servers with their records; returns how many went.
    pub async fn sweep_expired(&self) -> Result<usize, crate::store::StoreError> {
        let gone = self
            .store
            .delete_expired_mcp_servers(Timestamp::now())
            .await?;
        if !gone.is_empty() {
            self.tenants.invalidate_all();
            self.end_orphaned_sse_streams().await;
            tracing::info!(count = gone.len(), ids = ?gone, "expired MCP servers deleted");
        }
        Ok(gone.len())
    }
}
