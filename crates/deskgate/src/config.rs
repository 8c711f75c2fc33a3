//! The service's configuration, built from the command line and `DESKGATE_*` variables by
//! `cli`, or directly by tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
pub const DEFAULT_SSE_MAX_STREAMS_PER_SERVER: usize = 100;
pub const DEFAULT_SSE_MAX_STREAMS: usize = 2000;
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_BODY_READ_TIMEOUT_SECS: u64 = 30;
/// Above the 60 s upstream keep-alive of common balancers (nginx, AWS ALB), so a balancer's
/// pooled connection is never closed by deskgate just as the balancer reuses it.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 75;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    /// The base of the URLs handed out (`<public_url>/mcp/<token>`); defaults to
    /// `http://<listen address>`.
    pub public_url: Option<url::Url>,
    /// Accept a top-level `api_base_url` replacing `https://<subdomain>.gorgias.com` (sandbox and
    /// tests only: it lets an API user point deskgate at any host).
    pub allow_custom_upstream: bool,
    /// Hosts the MCP endpoint answers for (DNS-rebinding protection). Loopback names and the
    /// public URL's host are always allowed.
    pub allowed_hosts: Vec<String>,
    /// Origins allowed to call the MCP endpoint from a browser; a request with any other
    /// `Origin` gets 403. Requests without `Origin` (server-to-server clients) pass.
    pub allowed_origins: Vec<String>,
    /// Let the hosted clients' origins (claude.ai, chatgpt.com, see
    /// `mcp::HOSTED_CLIENT_ORIGINS`) through as well, when `public_url` is not loopback.
    pub hosted_client_origins: bool,
    /// `DESKGATE_VAULT_KEY`: `BASE64` or `ID:BASE64[,ID:BASE64…]`; when absent a key file is used.
    pub vault_key: Option<SecretString>,
    pub vault_key_file: PathBuf,
    /// `DESKGATE_ADMIN_TOKEN`: accepted as an API token (stored hashed) to bootstrap.
    pub admin_token: Option<SecretString>,
    /// How often expired MCP servers are swept.
    pub sweep_interval: Duration,
    /// How long audit records are kept (`None`: forever).
    pub audit_retention: Option<Duration>,
    /// How long a held call waits for a person's decision before it expires.
    pub approval_expiry: Duration,
    /// Timeout for one upstream (Gorgias) request.
    pub upstream_timeout: Duration,
    /// How long the account-specific catalog (custom fields) is cached.
    pub custom_fields_ttl: Duration,
    /// How long a resolved MCP token is trusted before the store is asked again (changes made
    /// on this replica take effect at once; this bounds how late other replicas see them).
    pub tenant_cache_ttl: Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Most connections open at once; at the cap the longest-idle one is closed for a new one.
    pub max_connections: usize,
    /// Most tool calls running at once for one MCP server, and in all.
    pub max_calls_per_server: usize,
    pub max_calls_in_flight: usize,
    /// How long a call waits for a slot before it is answered "busy".
    pub call_admission_wait: Duration,
    /// How long a client may take to send a request's head once it started sending it.
    pub header_read_timeout: Duration,
    /// How long a request's body may take to arrive.
    pub body_read_timeout: Duration,
    /// How long a connection may stay open with no request in flight.
    pub idle_timeout: Duration,
    /// Most legacy SSE streams this process holds for one MCP server.
    pub sse_max_streams_per_server: usize,
    /// Most legacy SSE streams this process holds in all.
    pub sse_max_streams: usize,
    /// Proxies whose `X-Forwarded-For` names the client (for throttling failed authentication).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Start even when stored credentials cannot be opened with the vault's keys (those
    /// accounts are marked `needs_credentials`).
    pub allow_unreadable_credentials: bool,
    /// The OAuth app to register at start-up (client id, secret, optional redirect URL).
    pub oauth_app: Option<OAuthAppConfig>,
    /// Serve `GET /metrics` without an admin API token (a scraper on a private network).
    pub public_metrics: bool,
    /// Fetch OAuth Client ID Metadata Documents from private and loopback addresses, and over
    /// plain http (tests only; see docs/security.md).
    pub oauth_client_metadata_allow_private: bool,
}

/// OAuth app settings given on the command line or in the environment.
#[derive(Debug, Clone)]
pub struct OAuthAppConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub redirect_url: Option<String>,
}

impl Config {
    /// Defaults for everything but the listen address and database, as a test would want.
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> Self {
        Self {
            listen,
            database_url: database_url.into(),
            public_url: None,
            allow_custom_upstream: false,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            hosted_client_origins: true,
            vault_key: None,
            vault_key_file: PathBuf::from("deskgate.key"),
            admin_token: None,
            sweep_interval: Duration::from_secs(30),
            audit_retention: Some(Duration::from_secs(90 * 86_400)),
            approval_expiry: Duration::from_secs(crate::approvals::DEFAULT_EXPIRY_SECS),
            upstream_timeout: Duration::from_secs(30),
            custom_fields_ttl: Duration::from_secs(60),
            tenant_cache_ttl: Duration::from_secs(1),
            max_body_bytes: 1024 * 1024,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_calls_per_server: 64,
            max_calls_in_flight: 256,
            call_admission_wait: Duration::from_secs(2),
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            body_read_timeout: Duration::from_secs(DEFAULT_BODY_READ_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS),
            sse_max_streams_per_server: DEFAULT_SSE_MAX_STREAMS_PER_SERVER,
            sse_max_streams: DEFAULT_SSE_MAX_STREAMS,
            trusted_proxies: Vec::new(),
            allow_unreadable_credentials: false,
            oauth_app: None,
            public_metrics: false,
            oauth_client_metadata_allow_private: false,
        }
    }
}
