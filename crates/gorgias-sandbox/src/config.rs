//! How a sandbox is set up: account, credentials, rate-limit buckets, OAuth clients, seed.

use std::time::{Duration, SystemTime};

/// Everything that shapes one sandbox account. `Default` gives the documented Gorgias behaviour.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The account's `domain` (`https://{subdomain}.gorgias.com`).
    pub subdomain: String,
    /// Email of the admin user that owns the API key (HTTP Basic user name).
    pub email: String,
    /// The API key (HTTP Basic password).
    pub api_key: String,
    /// Leaky bucket for HTTP Basic (API key) calls: 40 per 20 s per the docs.
    pub api_key_bucket: BucketConfig,
    /// Leaky bucket for OAuth2 bearer calls: 80 per 20 s per the docs.
    pub oauth_bucket: BucketConfig,
    /// OAuth2 apps that may use `/oauth/authorize` and `/oauth/token`.
    pub oauth_clients: Vec<OAuthClient>,
    /// Lifetime of OAuth2 access tokens (24 h per the docs).
    pub access_token_ttl: Duration,
    /// Whether a refresh hands out a new refresh token and retires the old one. Gorgias's docs
    /// show a refresh response without a new refresh token, so the default is `false`.
    pub rotate_refresh_tokens: bool,
    /// §12 #1: recorded traffic shows 200 (not the spec's 201) for creating tickets, customers
    /// and users. `true` answers 200 for those three; everything else that creates answers 201.
    pub create_status_200_for_tickets_customers_users: bool,
    /// Delay before a queued outgoing reply gets its `sent_datetime` (0 = right after the
    /// create call returns; the create response itself always shows `sent_datetime: null`).
    pub send_delay: Duration,
    /// Seed of the deterministic demo data.
    pub seed: u64,
    /// The instant seeded datetimes are placed relative to. `None` = process start truncated to
    /// the hour, so "recent" seeded tickets stay recent (see `seed`). Set it for byte-identical data.
    pub clock_anchor: Option<SystemTime>,
    /// Enforce OAuth scopes on bearer calls (403 without the needed scope). Only the scopes the
    /// reference confirms are enforced; resources whose scope is unknown accept any token.
    pub enforce_scopes: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            subdomain: "acme".to_owned(),
            email: "agent@acme.example".to_owned(),
            api_key: "sandbox-api-key".to_owned(),
            api_key_bucket: BucketConfig {
                capacity: 40,
                window: Duration::from_secs(20),
            },
            oauth_bucket: BucketConfig {
                capacity: 80,
                window: Duration::from_secs(20),
            },
            oauth_clients: vec![OAuthClient::default()],
            access_token_ttl: Duration::from_secs(24 * 3600),
            rotate_refresh_tokens: false,
            create_status_200_for_tickets_customers_users: true,
            send_delay: Duration::ZERO,
            seed: 42,
            clock_anchor: None,
            enforce_scopes: true,
        }
    }
}

/// A leaky bucket: holds `capacity` requests and drains `capacity / window` per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketConfig {
    pub capacity: u32,
    pub window: Duration,
}

impl BucketConfig {
    /// Requests drained per second.
    pub fn leak_rate(&self) -> f64 {
        let secs = self.window.as_secs_f64();
        if secs <= 0.0 {
            f64::INFINITY
        } else {
            f64::from(self.capacity) / secs
        }
    }
}

/// An app registered in the (emulated) Gorgias Developer Portal.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    /// Allowed redirect URIs; empty = any.
    pub redirect_uris: Vec<String>,
}

impl Default for OAuthClient {
    fn default() -> Self {
        OAuthClient {
            // The client id format (24 hex characters) is the docs' example.
            client_id: "606d8961c9809e208baf1835".to_owned(),
            client_secret: "sandbox-client-secret".to_owned(),
            redirect_uris: Vec::new(),
        }
    }
}
