//! `deskgate sandbox`: run the emulator on its own and print how to reach it.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::{BucketConfig, OAuthClient, SandboxConfig};
use crate::server::Sandbox;

/// Options of `deskgate sandbox`.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Email of the admin user that owns the API key (HTTP Basic user name).
    #[arg(long, default_value = "agent@acme.example")]
    pub email: String,
    /// The API key (HTTP Basic password).
    #[arg(long, default_value = "sandbox-api-key")]
    pub api_key: String,
    /// The account's subdomain (`{subdomain}.gorgias.com`).
    #[arg(long, default_value = "acme")]
    pub subdomain: String,
    /// API-key bucket size (requests).
    #[arg(long, default_value_t = 40)]
    pub rate_limit_capacity: u32,
    /// API-key bucket window in seconds (drains capacity/window per second).
    #[arg(long, default_value_t = 20.0)]
    pub rate_limit_window_secs: f64,
    /// OAuth bucket size (requests).
    #[arg(long, default_value_t = 80)]
    pub oauth_rate_limit_capacity: u32,
    /// OAuth bucket window in seconds.
    #[arg(long, default_value_t = 20.0)]
    pub oauth_rate_limit_window_secs: f64,
    /// Seed of the demo data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// OAuth client id.
    #[arg(long, default_value = "606d8961c9809e208baf1835")]
    pub oauth_client_id: String,
    /// OAuth client secret.
    #[arg(long, default_value = "sandbox-client-secret")]
    pub oauth_client_secret: String,
    /// Allowed OAuth redirect URI (repeat for several; none = any).
    #[arg(long = "oauth-redirect-uri")]
    pub oauth_redirect_uris: Vec<String>,
    /// Access-token lifetime in seconds (Gorgias: 24 h).
    #[arg(long, default_value_t = 86_400)]
    pub access_token_ttl_secs: u64,
    /// Hand out a new refresh token on every refresh and retire the old one.
    #[arg(long)]
    pub rotate_refresh_tokens: bool,
    /// Answer 201 (the spec) instead of 200 (observed) when creating tickets, customers, users.
    #[arg(long)]
    pub create_status_201: bool,
    /// Delay in milliseconds before a queued reply is "sent".
    #[arg(long, default_value_t = 0)]
    pub send_delay_ms: u64,
}

impl SandboxArgs {
    pub fn config(&self) -> SandboxConfig {
        SandboxConfig {
            subdomain: self.subdomain.clone(),
            email: self.email.clone(),
            api_key: self.api_key.clone(),
            api_key_bucket: BucketConfig {
                capacity: self.rate_limit_capacity,
                window: Duration::from_secs_f64(self.rate_limit_window_secs.max(0.0)),
            },
            oauth_bucket: BucketConfig {
                capacity: self.oauth_rate_limit_capacity,
                window: Duration::from_secs_f64(self.oauth_rate_limit_window_secs.max(0.0)),
            },
            oauth_clients: vec![OAuthClient {
                client_id: self.oauth_client_id.clone(),
                client_secret: self.oauth_client_secret.clone(),
                redirect_uris: self.oauth_redirect_uris.clone(),
            }],
            access_token_ttl: Duration::from_secs(self.access_token_ttl_secs),
            rotate_refresh_tokens: self.rotate_refresh_tokens,
            create_status_200_for_tickets_customers_users: !self.create_status_201,
            send_delay: Duration::from_millis(self.send_delay_ms),
            seed: self.seed,
            ..SandboxConfig::default()
        }
    }
}

/// What `run` prints on start: where the sandbox is and the credentials that work against it.
pub fn banner(base_url: &str, config: &SandboxConfig) -> String {
    let client = config.oauth_clients.first().cloned().unwrap_or_default();
    format!(
        "Gorgias sandbox for account \"{sub}\" is running.\n\
         \n\
         Base URL:   {base_url}   (API at {base_url}/api/...)\n\
         Basic auth: email {email}\n\
         \u{20}           API key {key}\n\
         OAuth2:     client_id {cid}\n\
         \u{20}           client_secret {secret}\n\
         \u{20}           authorize {base_url}/oauth/authorize   token {base_url}/oauth/token   revoke {base_url}/oauth/revoke\n\
         Rate limit: API key {kc} per {kw}s, OAuth {oc} per {ow}s\n\
         Control:    {base_url}/_sandbox (faults, state, stats, reset)\n\
         \n\
         Try:\n\
         \u{20} curl -u '{email}:{key}' '{base_url}/api/tickets?limit=5'\n",
        sub = config.subdomain,
        email = config.email,
        key = config.api_key,
        cid = client.client_id,
        secret = client.client_secret,
        kc = config.api_key_bucket.capacity,
        kw = config.api_key_bucket.window.as_secs_f64(),
        oc = config.oauth_bucket.capacity,
        ow = config.oauth_bucket.window.as_secs_f64(),
    )
}

/// Starts the sandbox, prints the banner to stdout, and serves until Ctrl-C.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let config = args.config();
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let sandbox = Sandbox::start_on(config, listener)
        .await
        .context("cannot start the sandbox")?;
    println!("{}", banner(&sandbox.base_url(), sandbox.config()));
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    sandbox.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn defaults_match_the_documented_config() {
        let cli = Cli::parse_from(["sandbox"]);
        let config = cli.args.config();
        let default = SandboxConfig::default();
        assert_eq!(config.email, default.email);
        assert_eq!(config.api_key, default.api_key);
        assert_eq!(config.api_key_bucket, default.api_key_bucket);
        assert_eq!(config.oauth_bucket, default.oauth_bucket);
        assert_eq!(config.oauth_clients, default.oauth_clients);
        assert_eq!(cli.args.listen.to_string(), "127.0.0.1:8081");
    }

    #[test]
    fn banner_names_the_credentials() {
        let cli = Cli::parse_from([
            "sandbox",
            "--email",
            "me@x.example",
            "--api-key",
            "k1",
            "--rate-limit-capacity",
            "5",
        ]);
        let text = banner("http://127.0.0.1:9", &cli.args.config());
        assert!(text.contains("http://127.0.0.1:9/api"));
        assert!(text.contains("me@x.example"));
        assert!(text.contains("k1"));
        assert!(text.contains("API key 5 per 20s"));
        assert!(text.contains("curl -u 'me@x.example:k1'"));
    }
}
