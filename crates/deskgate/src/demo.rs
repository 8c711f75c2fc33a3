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

fn banner(
    app: &App,
    sandbox: &gorgias_sandbox::Sandbox,
    account_id: &str,
    url: &str,
    api_token: &str,
) -> String {
    let base = &app.public_url;
    let claude = serde_json::json!({"mcpServers": {"deskgate-demo": {"command": "deskgate", "args": ["connect", url]}}});
    let cursor = serde_json::json!({"mcpServers": {"deskgate-demo": {"url": url}}});
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

ChatGPT (Settings -> Apps -> Advanced -> Developer mode -> Create app): paste the URL as the MCP
  server URL, authentication "No authentication". ChatGPT needs a public HTTPS URL: run deskgate
  behind your HTTPS proxy or tunnel and start it with --public-url https://your.host.

Claude Desktop (claude_desktop_config.json):
  {claude}

Cursor (.cursor/mcp.json):
  {cursor}
"#,
        sandbox_url = sandbox.base_url(),
    )
}
