//! The command line: `deskgate serve`, `sandbox`, `token`, `person`, `integrations`, `connect`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;

use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "deskgate",
    version,
    about = "Give AI agents safe, scoped access to a Gorgias helpdesk over MCP"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format.
    #[arg(
        long,
        global = true,
        env = "DESKGATE_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway: management API, MCP endpoint and web console.
    #[command(after_help = SERVE_AFTER_HELP)]
    Serve(ServeArgs),
    /// Run the Gorgias sandbox (a local emulator of the Gorgias API) on its own.
    Sandbox(gorgias_sandbox::cli::SandboxArgs),
    /// Manage API tokens for the management API.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the people who sign in to the console (email and password).
    #[command(subcommand)]
    Person(PersonCommand),
    /// Inspect the integration definitions tools are generated from.
    #[command(subcommand)]
    Integrations(IntegrationsCommand),
    /// Bridge stdio to an MCP URL, for clients that only speak stdio (Claude Desktop).
    Connect(crate::bridge::ConnectArgs),
}

const SERVE_AFTER_HELP: &str = "\
Signing in:
  The console and the management API take an admin API token. Set DESKGATE_ADMIN_TOKEN (at
  least 128 bits, e.g. `export DESKGATE_ADMIN_TOKEN=$(openssl rand -hex 24)`) to register it
  at start-up, or mint one with `deskgate token create` in the same directory. People sign in
  with an email and a password: add the first admin with `deskgate person add --admin`.

Secrets come only from the environment:
  DESKGATE_ADMIN_TOKEN                  the bootstrap admin API token (stored hashed)
  DESKGATE_VAULT_KEY                    the key sealing credentials (else --vault-key-file)
  DESKGATE_GORGIAS_OAUTH_CLIENT_SECRET  the Gorgias OAuth app's secret

A first look: `deskgate serve --demo` starts a local Gorgias emulator, connects it and prints
an MCP URL and a console token.";

/// The database used when neither --database-url nor DESKGATE_DATABASE_URL is given.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:deskgate.db";

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// `sqlite:<file>` (created by `serve` when missing) or `postgres://…`.
    #[arg(long, env = "DESKGATE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on: `127.0.0.1:8080`, `localhost:8080`, `0.0.0.0:8080`, or a port
    /// alone (on loopback). Loopback by default; put a TLS proxy in front for public use.
    #[arg(long, env = "DESKGATE_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Base of the MCP URLs handed out, e.g. `https://deskgate.example.com` (default: http://<listen>).
    #[arg(long, env = "DESKGATE_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// Accept `api_base_url` on accounts, pointing them at any host (sandbox and tests only).
    #[arg(long, env = "DESKGATE_ALLOW_CUSTOM_UPSTREAM")]
    pub allow_custom_upstream: bool,
    /// Extra Host names the MCP endpoint answers for (comma-separated).
    #[arg(long, env = "DESKGATE_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call the MCP endpoint (comma-separated).
    #[arg(long, env = "DESKGATE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Do not let the hosted clients' origins (https://claude.ai, https://claude.com,
    /// https://chatgpt.com) through by default; they are only let through with a non-loopback
    /// --public-url anyway.
    #[arg(long, env = "DESKGATE_NO_HOSTED_CLIENT_ORIGINS")]
    pub no_hosted_client_origins: bool,
    /// Key file used when DESKGATE_VAULT_KEY is not set (generated, 0600, on first run).
    #[arg(long, env = "DESKGATE_VAULT_KEY_FILE", default_value = "deskgate.key")]
    pub vault_key_file: PathBuf,
    /// Export each tool call's spans (pipeline stages) with OTLP over HTTP (protobuf) to this
    /// collector, e.g. `http://127.0.0.1:4318` (`/v1/traces` is added). Off when unset.
    // A checked string, not a `Url`: the `Serve` variant stays small enough for its enum.
    #[arg(long, env = "DESKGATE_OTLP_ENDPOINT", value_parser = parse_otlp_endpoint)]
    pub otlp_endpoint: Option<String>,
    /// Seconds between sweeps of expired MCP servers.
    #[arg(long, env = "DESKGATE_SWEEP_INTERVAL_SECS", default_value_t = 30)]
    pub sweep_interval_secs: u64,
    /// Days the audit log keeps a call's record, whatever happens to its server or account
    /// (0 keeps records forever). Old records are swept once across replicas.
    #[arg(long, env = "DESKGATE_AUDIT_RETENTION_DAYS", default_value_t = 90)]
    pub audit_retention_days: u64,
    /// Seconds a call held for approval waits for a person's decision; then it expires and
    /// nothing is sent (the model reads `expired` from get_pending_action_status).
    #[arg(long, env = "DESKGATE_APPROVAL_EXPIRY_SECS", default_value_t = crate::approvals::DEFAULT_EXPIRY_SECS)]
    pub approval_expiry_secs: u64,
    /// Seconds before an upstream request times out.
    #[arg(long, env = "DESKGATE_UPSTREAM_TIMEOUT_SECS", default_value_t = 30)]
    pub upstream_timeout_secs: u64,
    /// Most client connections open at once. At the cap, the connection idle the longest is
    /// closed to make room; only when every connection is busy is a new one refused (503).
    #[arg(long, env = "DESKGATE_MAX_CONNECTIONS", default_value_t = crate::config::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Most tool calls running at once for one MCP server; more wait (see
    /// --call-admission-wait-ms) and are then answered "busy", like a 429.
    #[arg(long, env = "DESKGATE_MAX_CALLS_PER_SERVER", default_value_t = 64)]
    pub max_calls_per_server: usize,
    /// Most tool calls running at once in all (bounds memory under a burst).
    #[arg(long, env = "DESKGATE_MAX_CALLS_IN_FLIGHT", default_value_t = 256)]
    pub max_calls_in_flight: usize,
    /// Milliseconds a call waits for a free slot before it is answered "busy".
    #[arg(long, env = "DESKGATE_CALL_ADMISSION_WAIT_MS", default_value_t = 2000)]
    pub call_admission_wait_ms: u64,
    /// Seconds a client may take to send a request's head, from its first byte (slowloris).
    #[arg(long, env = "DESKGATE_HEADER_READ_TIMEOUT_SECS", default_value_t = crate::config::DEFAULT_HEADER_READ_TIMEOUT_SECS)]
    pub header_read_timeout_secs: u64,
    /// Seconds a client may take to send a request's body.
    #[arg(long, env = "DESKGATE_BODY_READ_TIMEOUT_SECS", default_value_t = crate::config::DEFAULT_BODY_READ_TIMEOUT_SECS)]
    pub body_read_timeout_secs: u64,
    /// Seconds a keep-alive connection may stay open with no request in flight.
    #[arg(long, env = "DESKGATE_IDLE_TIMEOUT_SECS", default_value_t = crate::config::DEFAULT_IDLE_TIMEOUT_SECS)]
    pub idle_timeout_secs: u64,
    /// Most legacy SSE streams one replica holds for one MCP server; more get 429.
    #[arg(long, env = "DESKGATE_SSE_MAX_STREAMS_PER_SERVER", default_value_t = crate::config::DEFAULT_SSE_MAX_STREAMS_PER_SERVER)]
    pub sse_max_streams_per_server: usize,
    /// Most legacy SSE streams one replica holds in all; more get 503.
    #[arg(long, env = "DESKGATE_SSE_MAX_STREAMS", default_value_t = crate::config::DEFAULT_SSE_MAX_STREAMS)]
    pub sse_max_streams: usize,
    /// Proxies (addresses or CIDR networks, comma-separated) whose `X-Forwarded-For` header names
    /// the client, for throttling failed authentication per client. Without it, the socket's
    /// peer is the client.
    #[arg(long, env = "DESKGATE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::auth_throttle::parse_trusted_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Start even when stored credentials cannot be opened with any configured vault key (the
    /// key was lost or changed): those accounts are marked `needs_credentials` until their
    /// credentials are entered again. Without it, deskgate refuses to start.
    #[arg(long, env = "DESKGATE_ALLOW_UNREADABLE_CREDENTIALS")]
    pub allow_unreadable_credentials: bool,
    /// Start the Gorgias sandbox in-process, connect a demo account to it and mint an MCP server.
    #[arg(long)]
    pub demo: bool,
    /// Serve the Prometheus metrics at /metrics without an admin API token (for a scraper on a
    /// private network; the metrics name servers and accounts by id).
    #[arg(long, env = "DESKGATE_PUBLIC_METRICS")]
    pub public_metrics: bool,
    /// Tests only: fetch OAuth Client ID Metadata Documents from private and loopback
    /// addresses and over plain http (normally https to public addresses only).
    #[arg(long, env = "DESKGATE_OAUTH_CLIENT_METADATA_ALLOW_PRIVATE")]
    pub oauth_client_metadata_allow_private: bool,
    /// The Gorgias OAuth app's client id (its secret comes from DESKGATE_GORGIAS_OAUTH_CLIENT_SECRET).
    #[arg(long, env = "DESKGATE_GORGIAS_OAUTH_CLIENT_ID")]
    pub gorgias_oauth_client_id: Option<String>,
    /// Where Gorgias sends the browser back (default: <public URL>/connect/gorgias/callback).
    #[arg(long, env = "DESKGATE_GORGIAS_OAUTH_REDIRECT_URL")]
    pub gorgias_oauth_redirect_url: Option<String>,
}

impl Command {
    /// Where `serve` exports traces, if anywhere (read before logging starts).
    pub fn otlp_endpoint(&self) -> Option<&str> {
        match self {
            Command::Serve(args) => args.otlp_endpoint.as_deref(),
            _ => None,
        }
    }
}

impl ServeArgs {
    /// The configuration these arguments and the environment describe.
    pub fn config(&self) -> Config {
        let env_secret = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .map(SecretString::from)
        };
        Config {
            public_url: self.public_url.clone(),
            allow_custom_upstream: self.allow_custom_upstream || self.demo,
            allowed_hosts: self.allowed_hosts.clone(),
            allowed_origins: self.allowed_origins.clone(),
            hosted_client_origins: !self.no_hosted_client_origins,
            vault_key: env_secret("DESKGATE_VAULT_KEY"),
            vault_key_file: self.vault_key_file.clone(),
            admin_token: env_secret("DESKGATE_ADMIN_TOKEN"),
            sweep_interval: Duration::from_secs(self.sweep_interval_secs.max(1)),
            audit_retention: (self.audit_retention_days > 0)
                .then(|| Duration::from_secs(self.audit_retention_days.saturating_mul(86_400))),
            approval_expiry: Duration::from_secs(self.approval_expiry_secs.max(1)),
            upstream_timeout: Duration::from_secs(self.upstream_timeout_secs.max(1)),
            max_connections: self.max_connections.max(1),
            max_calls_per_server: self.max_calls_per_server.max(1),
            max_calls_in_flight: self.max_calls_in_flight.max(1),
            call_admission_wait: Duration::from_millis(self.call_admission_wait_ms),
            trusted_proxies: self.trusted_proxies.clone(),
            sse_max_streams_per_server: self.sse_max_streams_per_server,
            sse_max_streams: self.sse_max_streams,
            allow_unreadable_credentials: self.allow_unreadable_credentials,
            public_metrics: self.public_metrics,
            oauth_client_metadata_allow_private: self.oauth_client_metadata_allow_private,
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs.max(1)),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
            oauth_app: match (
                &self.gorgias_oauth_client_id,
                env_secret("DESKGATE_GORGIAS_OAUTH_CLIENT_SECRET"),
            ) {
                (Some(client_id), Some(client_secret)) => Some(crate::config::OAuthAppConfig {
                    client_id: client_id.clone(),
                    client_secret,
                    redirect_url: self.gorgias_oauth_redirect_url.clone(),
                }),
                _ => None,
            },
            ..Config::new(self.listen, self.database.database_url.clone())
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint an API token and print it (once).
    Create {
        #[arg(long, default_value = "cli")]
        name: String,
        /// `admin`: the management API and the console. `mcp`: only MCP requests to servers
        /// minted with `require_api_token_auth`.
        #[arg(long, default_value = "admin", value_parser = parse_scope)]
        scope: crate::tokens::TokenScope,
        /// Limit an `mcp` token to this MCP server (repeatable).
        #[arg(long = "server", value_name = "MCP_SERVER_ID")]
        servers: Vec<String>,
        /// Limit an `mcp` token to the servers of this integrated account (repeatable).
        #[arg(long = "account", value_name = "ACCOUNT_ID")]
        accounts: Vec<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List API tokens (never their values).
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke an API token by id; it stops working at once.
    Revoke {
        id: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    /// Add a person who signs in to the console with an email and a password. The password is
    /// read from standard input with --password-stdin (never from the command line, where
    /// other users could see it); without it a random one is generated and printed once.
    Add {
        /// Their email address (their sign-in).
        email: String,
        /// How the console shows them.
        #[arg(long)]
        name: Option<String>,
        /// Make them an admin (everything). Without it they are an agent: only the servers an
        /// admin shares with them.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List people (never their passwords).
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// A listen address as people write it: `host:port` with an IP or a name (`localhost`), or a
/// port alone, which listens on loopback (the safe default).
/// An OTLP/HTTP collector: an absolute `http` or `https` URL.
fn parse_otlp_endpoint(value: &str) -> Result<String, String> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(value.to_owned())
        }
        _ => Err(format!(
            "{value:?} is not an http(s) URL of an OTLP collector, e.g. http://127.0.0.1:4318"
        )),
    }
}

pub fn parse_listen(value: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = value.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let Some((host, port)) = value.rsplit_once(':') else {
        return Err(format!(
            "{value:?} is not an address: use host:port (127.0.0.1:8080, localhost:8080) or a port"
        ));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{port:?} is not a port number (0-65535)"))?;
    if host.eq_ignore_ascii_case("localhost") {
        // Always IPv4 loopback: what `localhost` resolves to first varies between machines.
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map_err(|e| format!("cannot resolve {host:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host:?} resolves to no address"))
}

fn parse_scope(value: &str) -> Result<crate::tokens::TokenScope, String> {
    crate::tokens::TokenScope::parse(value)
        .ok_or_else(|| format!("{value:?} is not a scope: use admin or mcp"))
}

#[derive(Debug, Subcommand)]
pub enum IntegrationsCommand {
    /// Load and validate the definitions; print tools, tags and schema sizes.
    Check,
    /// Print an integration's definition as an OpenAPI 3.1 document.
    ExportOpenapi {
        /// The integration, e.g. `gorgias`.
        integration: String,
    },
    /// Count the o200k_base tokens of standard input (what a model reads of a result or a
    /// tool list); with --lines, of each line of a JSON Lines input.
    Tokens {
        #[arg(long)]
        lines: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::parse_listen;

    #[test]
    fn listen_addresses_as_people_write_them() {
        assert_eq!(parse_listen("8080").unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(
            parse_listen("localhost:8080").unwrap().to_string(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            parse_listen("0.0.0.0:9000").unwrap().to_string(),
            "0.0.0.0:9000"
        );
        assert_eq!(
            parse_listen("[::1]:8080").unwrap().to_string(),
            "[::1]:8080"
        );
        assert!(parse_listen("localhost:http").unwrap_err().contains("port"));
        assert!(parse_listen("nonsense").unwrap_err().contains("host:port"));
    }
}
