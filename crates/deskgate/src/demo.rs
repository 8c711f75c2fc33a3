//! `deskgate serve --demo`: everything a first look needs, in one command. Starts the Gorgias
//! sandbox in-process, connects a demo account to it, mints an MCP server and an API token, and
//! prints the URL with ready-to-paste client configs.

use secrecy::SecretString;

use crate::app::App;
use crate::connect::{ApiKeyCredentials, ConnectApiKey};
use crate::mcp_servers::{McpServerConfig, NewMcpServer};

/// The name demo accounts carry; a restart replaces the previous one (its sandbox is gone).
const DEMO_ACCOUNT_NAME: &str = "Demo helpdesk (sandbox)";
const DEMO_TOKEN_NAME: &str = "demo console";

/// Keeps the in-process sandbox alive for as long as the server runs.
pub struct Demo {
    _sandbox: gorgias_sandbox::Sandbox,
}

pub async fn start(app: &App) -> anyhow::Result<Demo> {
    let sandbox =
        gorgias_sandbox::Sandbox::start(gorgias_sandbox::SandboxConfig::default()).await?;
    let config = sandbox.config();

    for stored in app.store.list_accounts(None, 1000).await? {
        if stored.account.name == DEMO_ACCOUNT_NAME && stored.account.context.api_base_url.is_some()
        {
            app.delete_account(&stored.account.id).await?;
        }
    }
    let account = app
        .connect_with_api_key(ConnectApiKey {
            integration: app.integration.name().to_owned(),
            name: Some(DEMO_ACCOUNT_NAME.to_owned()),
            credentials: ApiKeyCredentials {
                subdomain: config.subdomain.clone(),
                email: config.email.clone(),
                api_key: SecretString::from(config.api_key.clone()),
            },
            api_base_url: Some(sandbox.base_url()),
        })
        .await
        .map_err(|e| anyhow::anyhow!("could not connect the demo account: {e}"))?;
    let (_, url) = app
        .mint_mcp_server(
            &account.id,
            NewMcpServer {
                name: "Demo: everything".to_owned(),
                config: McpServerConfig::default(),
                require_api_token_auth: false,
                expires_at: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("could not mint the demo MCP server: {e}"))?;

    for token in app.store.list_api_tokens().await? {
        if token.name == DEMO_TOKEN_NAME {
            app.store.delete_api_token(&token.id).await?;
        }
    }
    let (_, api_token) = app
        .mint_api_token(crate::api::tokens::CreateApiToken {
            name: DEMO_TOKEN_NAME.to_owned(),
            scope: None,
            mcp_server_ids: None,
            integrated_account_ids: None,
        })
        .await
        .map_err(|e| anyhow::anyhow!("could not mint the demo API token: {e}"))?;

    println!("{}", banner(app, &sandbox, &account.id, &url, &api_token));
    Ok(Demo { _sandbox: sandbox })
}

/// The name the printed client configs give the server: short, because clients prefix every
/// tool name with it within 60 (Cursor) or 64 (Claude Code) characters, and tool names are at
/// most 45 (see integrations/README.md, "Tool names").
const CLIENT_SERVER_NAME: &str = "gorgias";

fn banner(
    app: &App,
    sandbox: &gorgias_sandbox::Sandbox,
    account_id: &str,
    url: &str,
    api_token: &str,
) -> String {
    let base = &app.public_url;
    let name = CLIENT_SERVER_NAME;
    let claude = serde_json::json!({"mcpServers": {name: {"command": "deskgate", "args": ["connect", url]}}});
    let cursor = serde_json::json!({"mcpServers": {name: {"url": url}}});
    format!(
        r#"
deskgate demo is ready.

  Sandbox (a local Gorgias emulator): {sandbox_url}
  Demo account id:                    {account_id}
  Console:                            {base}/ui   (sign in with the API token below)
  API token (shown once):             {api_token}

MCP server URL (its token is the whole credential; keep it secret):

  {url}

Try it:
  npx @modelcontextprotocol/inspector --cli {url} --transport http --method tools/list

Claude Code:
  claude mcp add --transport http {name} {url}

Claude Desktop (claude_desktop_config.json):
  {claude}

Cursor (.cursor/mcp.json):
  {cursor}

claude.ai and ChatGPT call from their own servers, so they need a public HTTPS URL: run deskgate
  behind your HTTPS proxy or tunnel and start it with --public-url https://your.host. Then paste
  the URL into claude.ai (Settings -> Connectors -> Add custom connector) or ChatGPT (Settings ->
  Apps -> Advanced settings -> Developer mode -> Create app, authentication "No authentication").
  ChatGPT's deep research and connectors in chat need a server minted with "chatgpt": true.
"#,
        sandbox_url = sandbox.base_url(),
    )
}
