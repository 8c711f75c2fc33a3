//! `App`: everything a request needs, built once and shared as `Arc<App>`. Each field is a
//! cheap handle.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;
use crate::integration::Integration;
use crate::store::{ApiToken, Store};
use crate::tenants::TenantCache;
use crate::timestamp::Timestamp;
use crate::tokens::TokenHash;
use crate::upstream::Upstream;
use crate::vault::{KeySource, Vault};

pub struct App {
    pub config: Config,
    pub store: Store,
    /// Where tool calls are recorded (group commit onto `store`).
    pub audit_log: crate::audit::AuditLog,
    /// How many tool calls run at once, per server and in total.
    pub admission: crate::calls::Admission,
    /// The helpdesk's rate-limit bucket per account, as last seen (for accounts' reserves).
    pub buckets: crate::calls::Buckets,
    pub vault: Vault,
    pub integration: Integration,
    pub upstream: Upstream,
    pub tenants: TenantCache,
    pub refresh_locks: crate::oauth::RefreshLocks,
    /// Failed authentications per client address.
    pub auth_throttle: crate::auth_throttle::AuthThrottle,
    /// The OAuth authorization server's limits and metadata document cache.
    pub auth_server: crate::auth_server::AuthServerState,
    /// The legacy SSE streams this process holds (and, on PostgreSQL, the way to reach the
    /// streams other replicas hold).
    pub sse: crate::mcp::SseSessions,
    /// This process's name among replicas sharing a database: random, new at every start.
    pub replica_id: String,
    /// The base of the URLs handed out.
    pub public_url: String,
    /// New MCP server URLs waiting to be shown once by the console's "server created" page.
    pub created_views: crate::ui::servers::CreatedViews,
}

impl App {
    /// Ends the legacy SSE streams held here whose server is gone (after a change made here; on
    /// PostgreSQL the change notice does the same on every replica).
    pub async fn end_orphaned_sse_streams(&self) {
        if let Err(e) = self.sse.end_orphaned(&self.store).await {
            tracing::warn!(error = %e, "could not check the SSE streams of changed MCP servers; they end at the next change or sweep");
        }
    }

    /// Connects and migrates the store, opens the vault and loads the integration definition.
    pub async fn build(config: Config) -> anyhow::Result<Arc<App>> {
        let store = Store::connect(&config.database_url).await?;
        // A new key file is generated only for a database that holds nothing sealed: a new key
        // would open none of what is there.
        let nothing_sealed = store.sealed_row_count().await? == 0;
        let (vault, key_source) = Vault::open_or_create(
            config.vault_key.as_ref().map(|k| k.expose_secret()),
            &config.vault_key_file,
            nothing_sealed,
        )?;
        match &key_source {
            KeySource::Environment => tracing::info!("vault key taken from DESKGATE_VAULT_KEY"),
            KeySource::ExistingFile(path) => {
                tracing::info!(path, "vault key read from its key file")
            }
            KeySource::GeneratedFile(path) => tracing::warn!(
                path,
                "generated a new vault key file (0600); keep it safe and back it up: credentials stored \
                 with it cannot be read without it. Set DESKGATE_VAULT_KEY to manage the key yourself"
            ),
        }
        if store.shared().is_some() && !matches!(key_source, KeySource::Environment) {
            // Replicas each reading their own key file cannot open each other's credentials.
            tracing::warn!(
                "on PostgreSQL every replica must hold the same vault key: set DESKGATE_VAULT_KEY \
                 to the same value on all of them rather than relying on a key file"
            );
        }
        sync_bootstrap_token(&store, config.admin_token.as_ref()).await?;
        let integration = Integration::gorgias(config.custom_fields_ttl)?;
        crate::telemetry::install(
            integration
                .catalog()
                .tools()
                .iter()
                .map(|tool| tool.name.as_str()),
        );
        crate::vault_check::check(
            &store,
            &vault,
            integration.name(),
            config.allow_unreadable_credentials,
        )
        .await?;
        let public_url = config
            .public_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{}", config.listen));
        // Hex, so it also fits the NOTIFY channel name the replica listens on.
        let replica_id = uuid::Uuid::new_v4().simple().to_string();
        let app = Arc::new(App {
            upstream: Upstream::new(config.upstream_timeout),
            tenants: TenantCache::new(config.tenant_cache_ttl),
            refresh_locks: Default::default(),
            auth_throttle: Default::default(),
            auth_server: crate::auth_server::AuthServerState::new(
                config.oauth_client_metadata_allow_private,
            ),
            created_views: Default::default(),
            sse: crate::mcp::SseSessions::new(
                &store,
                replica_id.clone(),
                crate::mcp::SseCaps {
                    per_server: config.sse_max_streams_per_server,
                    total: config.sse_max_streams,
                },
            ),
            audit_log: crate::audit::AuditLog::new(store.clone()),
            buckets: Default::default(),
            admission: crate::calls::Admission::new(
                config.max_calls_per_server,
                config.max_calls_in_flight,
                config.call_admission_wait,
            ),
            replica_id,
            integration,
            store,
            vault,
            public_url,
            config,
        });
        if let Some(oauth) = &app.config.oauth_app {
            app.set_oauth_app(
                &oauth.client_id,
                &oauth.client_secret,
                oauth.redirect_url.as_deref(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("the OAuth app settings are not usable: {e}"))?;
            tracing::info!("OAuth app settings stored (secret sealed)");
        }
        Ok(app)
    }
}

/// `DESKGATE_ADMIN_TOKEN` is a bootstrap that follows the variable: the token registered from
/// its current value is the only bootstrap token; one registered from an earlier value (the
/// variable was rotated or removed) is deleted, with the console sessions it opened. Several
/// replicas must therefore carry the same value: the last one to start decides.
async fn sync_bootstrap_token(store: &Store, admin: Option<&SecretString>) -> anyhow::Result<()> {
    let bootstrap = match admin {
        Some(admin) => {
            crate::tokens::admin_token_strength(admin.expose_secret())
                .map_err(anyhow::Error::msg)?;
            Some((
                ApiToken {
                    id: uuid::Uuid::now_v7().to_string(),
                    name: BOOTSTRAP_TOKEN_NAME.into(),
                    scope: crate::tokens::TokenScope::Admin,
                    mcp_server_ids: None,
                    integrated_account_ids: None,
                    bootstrap: true,
                    created_at: Timestamp::now(),
                },
                TokenHash::of(admin.expose_secret()),
            ))
        }
        None => None,
    };
    let (created, retired) = store
        .sync_bootstrap_token(bootstrap.as_ref().map(|(token, hash)| (token, hash)))
        .await?;
    if created {
        tracing::info!("DESKGATE_ADMIN_TOKEN registered as an API token (stored hashed)");
    }
    if retired > 0 {
        tracing::info!(
            count = retired,
            "retired the bootstrap token of an earlier DESKGATE_ADMIN_TOKEN value: it no longer works"
        );
    }
    Ok(())
}

pub const BOOTSTRAP_TOKEN_NAME: &str = "bootstrap admin (DESKGATE_ADMIN_TOKEN)";
