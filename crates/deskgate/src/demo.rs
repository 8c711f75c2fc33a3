//! `deskgate serve --demo`: everything a first look needs, in one command. Starts the Gorgias
//! sandbox in-process, connects a demo account to it, mints an MCP server and an API token, and
//! prints the URL with ready-to-paste client configs.
//!
//! A second run picks up where the first left off, so URLs pasted into clients keep working:
//! the sandbox takes the same port when it is free (else the demo account, and any account
//! connected by hand to the old sandbox address, is pointed at the new one), the demo account
//! and every server minted for it are kept, and the demo MCP URL and console token are shown
//! again. Tokens are stored only as hashes, so the demo keeps their values in a state file
//! beside the vault key file (`deskgate.demo`), sealed with the vault like any credential.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::accounts::StoredAccount;
use crate::app::App;
use crate::connect::{ApiKeyCredentials, ConnectApiKey};
use crate::mcp_servers::{McpServerConfig, NewMcpServer};
use crate::store::CredentialsUpdate;
use crate::timestamp::Timestamp;
use crate::tokens::TokenHash;

/// The name demo accounts carry; a restart reuses the newest one.
const DEMO_ACCOUNT_NAME: &str = "Demo helpdesk (sandbox)";
const DEMO_TOKEN_NAME: &str = "demo console";
const DEMO_SERVER_NAME: &str = "Demo: everything";
/// The vault owner the state file is sealed for.
const STATE_OWNER: &str = "demo-state";

/// Keeps the in-process sandbox alive for as long as the server runs.
pub struct Demo {
    _sandbox: gorgias_sandbox::Sandbox,
}

/// What a run leaves for the next one: the secrets it showed (sealed on disk).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct DemoState {
    mcp_token: Option<String>,
    api_token: Option<String>,
}

/// What this run reused from an earlier one, for the banner.
#[derive(Debug, Default)]
struct Reused {
    port: bool,
    account: bool,
    server: bool,
    api_token: bool,
    repointed: usize,
    other_servers: usize,
}

pub async fn start(app: &App) -> anyhow::Result<Demo> {
    let previous = previous_account(app).await?;
    let previous_base = previous
        .as_ref()
        .and_then(|a| a.account.context.api_base_url.clone());
    let previous_port = previous_base
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.port());
    let mut reused = Reused::default();

    let listener = match previous_port {
        Some(port) => tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .ok(),
        None => None,
    };
    reused.port = listener.is_some();
    let listener = match listener {
        Some(l) => l,
        None => tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?,
    };
    let sandbox =
        gorgias_sandbox::Sandbox::start_on(gorgias_sandbox::SandboxConfig::default(), listener)
            .await?;
    let config = sandbox.config();
    let base_url = sandbox.base_url();

    let account_id = match previous {
        Some(stored) => {
            reused.account = true;
            if let Some(old) = previous_base.filter(|old| *old != base_url) {
                reused.repointed = repoint_accounts(app, &old, &base_url).await?;
            }
            stored.account.id
        }
        None => {
            app.connect_with_api_key(ConnectApiKey {
                integration: app.integration.name().to_owned(),
                name: Some(DEMO_ACCOUNT_NAME.to_owned()),
                credentials: ApiKeyCredentials {
                    subdomain: config.subdomain.clone(),
                    email: config.email.clone(),
                    api_key: SecretString::from(config.api_key.clone()),
                },
                api_base_url: Some(base_url.clone()),
            })
            .await
            .map_err(|e| anyhow::anyhow!("could not connect the demo account: {e}"))?
            .id
        }
    };

    let state_path = state_path(&app.config.vault_key_file);
    let mut state = read_state(app, &state_path);
    let kept_server = match &state.mcp_token {
        Some(token) => app
            .store
            .find_mcp_server_by_token(&TokenHash::of(token))
            .await?
            .filter(|s| s.integrated_account_id == account_id && !s.is_expired(Timestamp::now())),
        None => None,
    };
    let mcp_token = match kept_server {
        Some(_) => {
            reused.server = true;
            state.mcp_token.clone().unwrap_or_default()
        }
        None => {
            let (_, url) = app
                .mint_mcp_server(
                    &account_id,
                    NewMcpServer {
                        name: DEMO_SERVER_NAME.to_owned(),
                        config: McpServerConfig::default(),
                        require_api_token_auth: false,
                        expires_at: None,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("could not mint the demo MCP server: {e}"))?;
            url.rsplit('/').next().unwrap_or_default().to_owned()
        }
    };
    let servers = app.store.list_mcp_servers(&account_id).await?;
    reused.other_servers = servers.len().saturating_sub(1);
    let url = format!("{}/mcp/{mcp_token}", app.public_url);

    let kept_token = match &state.api_token {
        Some(token) => app
            .store
            .find_api_token(&TokenHash::of(token))
            .await?
            .is_some(),
        None => false,
    };
    let api_token = if kept_token {
        reused.api_token = true;
        state.api_token.clone().unwrap_or_default()
    } else {
        app.mint_api_token(crate::api::tokens::CreateApiToken {
            name: DEMO_TOKEN_NAME.to_owned(),
            scope: None,
            mcp_server_ids: None,
            integrated_account_ids: None,
        })
        .await
        .map_err(|e| anyhow::anyhow!("could not mint the demo API token: {e}"))?
        .1
    };

    state.mcp_token = Some(mcp_token);
    state.api_token = Some(api_token.clone());
    if let Err(e) = write_state(app, &state_path, &state) {
        tracing::warn!(path = %state_path.display(), error = %e, "could not save the demo state; the next run mints a new MCP URL and token");
    }

    crate::commands::print_out(&format!(
        "{}\n",
        banner(app, &sandbox, &account_id, &url, &api_token, &reused)
    ))?;
    Ok(Demo { _sandbox: sandbox })
}

/// The newest account an earlier demo run connected to its sandbox.
async fn previous_account(app: &App) -> anyhow::Result<Option<StoredAccount>> {
    Ok(app
        .store
        .list_accounts(None, 1000)
        .await?
        .into_iter()
        .find(|stored| {
            stored.account.name == DEMO_ACCOUNT_NAME
                && stored.account.context.api_base_url.is_some()
        }))
}

/// Points every account that used the earlier sandbox's address (the demo account, and any
/// connected to it by hand) at the new one: the old address is dead. Returns how many moved.
async fn repoint_accounts(app: &App, old: &str, new: &str) -> anyhow::Result<usize> {
    let mut moved = 0;
    for stored in app.store.list_accounts(None, 1000).await? {
        let account = &stored.account;
        if account.context.api_base_url.as_deref() != Some(old) {
            continue;
        }
        let mut context = account.context.clone();
        context.api_base_url = Some(new.to_owned());
        let won = app
            .store
            .replace_credentials(&CredentialsUpdate {
                account_id: &account.id,
                expected_version: account.credentials_version,
                sealed_credentials: &stored.sealed_credentials,
                auth_type: account.auth_type,
                context: &context,
                status: account.status,
                access_token_expires_at: account.access_token_expires_at,
                now: Timestamp::now(),
            })
            .await?;
        if won {
            moved += 1;
        }
    }
    Ok(moved)
}

/// `deskgate.key` -> `deskgate.demo`, in the same directory.
fn state_path(vault_key_file: &Path) -> PathBuf {
    vault_key_file.with_extension("demo")
}

/// The state an earlier run left, or an empty one (no file, or one this vault cannot open).
fn read_state(app: &App, path: &Path) -> DemoState {
    let Ok(sealed) = std::fs::read(path) else {
        return DemoState::default();
    };
    app.vault
        .open(STATE_OWNER, &sealed)
        .ok()
        .and_then(|json| serde_json::from_str(json.expose_secret()).ok())
        .unwrap_or_default()
}

fn write_state(app: &App, path: &Path, state: &DemoState) -> std::io::Result<()> {
    use std::io::Write;
    let sealed = app
        .vault
        .seal(STATE_OWNER, serde_json::to_string(state)?.as_bytes());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(&sealed)?;
    file.sync_all()
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
    reused: &Reused,
) -> String {
    let base = &app.public_url;
    let sandbox_config = sandbox.config();
    let binary = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "deskgate".to_owned());
    let mut kept = Vec::new();
    if reused.account {
        kept.push("the demo account".to_owned());
    }
    if reused.port {
        kept.push("the sandbox's port".to_owned());
    } else if reused.repointed > 0 {
        kept.push(format!(
            "accounts on the old sandbox address ({}, now pointed at the new one)",
            reused.repointed
        ));
    }
    if reused.server {
        kept.push("the demo MCP server and its URL".to_owned());
    }
    if reused.other_servers > 0 {
        kept.push(format!(
            "{} other MCP server(s) of the demo account",
            reused.other_servers
        ));
    }
    if reused.api_token {
        kept.push("the console token".to_owned());
    }
    let reuse_line = if kept.is_empty() {
        "First run: a new demo account, MCP server and console token (kept for the next run).\n"
            .to_owned()
    } else {
        format!(
            "Reusing from the last run: {}. The sandbox's data is seeded afresh.\n",
            kept.join(", ")
        )
    };
    let token_note = if reused.api_token {
        "(kept from the last run)"
    } else {
        "(new; shown again on the next run)"
    };
    let name = CLIENT_SERVER_NAME;
    let claude =
        serde_json::json!({"mcpServers": {name: {"command": binary, "args": ["connect", url]}}});
    let cursor = serde_json::json!({"mcpServers": {name: {"url": url}}});
    format!(
        r#"
deskgate demo is ready. {reuse_line}
  Sandbox (a local Gorgias emulator): {sandbox_url}
    its login (HTTP Basic):           {sandbox_email} / {sandbox_key}
  Demo account id:                    {account_id}
  Console:                            {base}/ui   (sign in with the API token below)
  API token:                          {api_token}   {token_note}

MCP server URL (its token is the whole credential; keep it secret):

  {url}

Try it (the Inspector needs Node 22.19 or newer):
  npx @modelcontextprotocol/inspector --cli {url} --transport http --method tools/list

Claude Code:
  claude mcp add --transport http {name} {url}

Claude Desktop (claude_desktop_config.json; `cargo install --path crates/deskgate` puts
  `deskgate` on your PATH, otherwise keep this binary's absolute path):
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
        sandbox_email = sandbox_config.email,
        sandbox_key = sandbox_config.api_key,
    )
}
