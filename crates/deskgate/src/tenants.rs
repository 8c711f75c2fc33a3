//! Resolving an MCP token to its tenant (server, account, filter) before any JSON-RPC, with a
//! small cache in front of the store.
//!
//! How a change (a deleted, expired or re-filtered server, a re-authorized or disconnected
//! account) reaches every replica within a second:
//! - Expiry needs no message: every hit checks `expires_at` against the clock.
//! - Changes made on this replica bump a generation counter that invalidates every entry at
//!   once, so the next request here reads the store.
//! - On PostgreSQL, the database announces every committed change to servers and accounts
//!   (triggers + NOTIFY, see `store::postgres`) and each replica invalidates on hearing it:
//!   other replicas typically see a change within milliseconds.
//! - Entries also age out after `tenant_cache_ttl` (1 s), counted from *before* the store read
//!   that filled them. That is the guarantee when notices are lost (the listening connection
//!   dropped): an entry can never be served more than the TTL after the change it missed.
//!   Polling alone would meet the 1 s promise too, but only just; the notices make it robust.
//!
//! API tokens and console sessions are not cached at all: they are looked up on every request,
//! so revoking one works at once on every replica.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::accounts::IntegratedAccount;
use crate::app::App;
use crate::mcp_servers::{AuthMode, McpServer};
use crate::store::StoreError;
use crate::timestamp::Timestamp;
use crate::tokens::{TokenHash, TokenKind};

/// An MCP server as a request sees it.
pub struct Tenant {
    pub server: McpServer,
    pub account: IntegratedAccount,
    /// The account's credentials as stored (sealed); opened only for the call that needs them.
    pub sealed_credentials: Vec<u8>,
    /// The server's filters and policies, compiled.
    pub filter: crate::policy::ServerFilter,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("server", &self.server.id)
            .field("account", &self.account.id)
            .finish_non_exhaustive()
    }
}

impl App {
    /// The tenant an MCP token names, if it names a live server. Unknown, expired and deleted
    /// all give `None`, so callers cannot tell them apart.
    pub async fn resolve_tenant(&self, token: &str) -> Result<Option<Arc<Tenant>>, StoreError> {
        if !crate::tokens::looks_like(TokenKind::Mcp, token) {
            return Ok(None);
        }
        let hash = TokenHash::of(token);
        let now = Timestamp::now();
        if let Some(tenant) = self.tenants.get(&hash) {
            crate::telemetry::tenant_lookup(true);
            return Ok((!tenant.server.is_expired(now)).then_some(tenant));
        }
        crate::telemetry::tenant_lookup(false);
        let ticket = self.tenants.ticket();
        let Some(server) = self.store.find_mcp_server_by_token(&hash).await? else {
            return Ok(None);
        };
        // An `oauth` server is reached by its id with an access token, never by a URL token.
        if server.auth != AuthMode::UrlToken {
            return Ok(None);
        }
        let Some(tenant) = self.tenant_of(server, now).await? else {
            return Ok(None);
        };
        self.tenants.put(hash, tenant.clone(), ticket);
        Ok(Some(tenant))
    }

    /// The tenant of an `oauth` server, by its id (the caller checks the access token). Cached
    /// like URL tokens, under a key no URL token can hash to (`oauth:` + id is never a token).
    pub async fn resolve_oauth_tenant(
        &self,
        server_id: &str,
    ) -> Result<Option<Arc<Tenant>>, StoreError> {
        let key = TokenHash::of(&format!("oauth:{server_id}"));
        let now = Timestamp::now();
        if let Some(tenant) = self.tenants.get(&key) {
            crate::telemetry::tenant_lookup(true);
            return Ok((!tenant.server.is_expired(now)).then_some(tenant));
        }
        crate::telemetry::tenant_lookup(false);
        let ticket = self.tenants.ticket();
        let Some(server) = self.store.find_mcp_server(server_id).await? else {
            return Ok(None);
        };
        if server.auth != AuthMode::Oauth {
            return Ok(None);
        }
        let Some(tenant) = self.tenant_of(server, now).await? else {
            return Ok(None);
        };
        self.tenants.put(key, tenant.clone(), ticket);
        Ok(Some(tenant))
    }

    /// A live server with its account and compiled filter; `None` when it expired, its account
    /// went, or its config no longer fits the integration.
    pub(crate) async fn tenant_of(
        &self,
        server: McpServer,
        now: Timestamp,
    ) -> Result<Option<Arc<Tenant>>, StoreError> {
        if server.is_expired(now) {
            return Ok(None);
        }
        let Some(stored) = self
            .store
            .get_account(&server.integrated_account_id)
            .await?
        else {
            return Ok(None);
        };
        let filter = match server.config.server_filter(self.integration.catalog()) {
            // An account connected read-only has no write scope: its servers offer reads only,
            // so a client never sees a tool Gorgias would refuse.
            Ok(mut filter) if stored.account.context.is_read_only() => {
                filter.tools = filter.tools.reads_only();
                filter
            }
            Ok(filter) => filter,
            Err(e) => {
                // The definition changed under a stored config (a tag or method went away):
                // serving it with a different meaning would widen or narrow access silently.
                tracing::warn!(mcp_server.id = %server.id, error = %e, "MCP server config no longer fits the integration; refusing it");
                return Ok(None);
            }
        };
        let tenant = Arc::new(Tenant {
            server,
            account: stored.account,
            sealed_credentials: stored.sealed_credentials,
            filter,
        });
        Ok(Some(tenant))
    }
}

struct Entry {
    tenant: Arc<Tenant>,
    /// When the store read began: a change committed after it is at most `ttl` older than this.
    fetched: Instant,
    generation: u64,
}

/// Taken before a store read, and handed back with what it read to [`TenantCache::put`].
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    generation: u64,
    taken: Instant,
}

pub struct TenantCache {
    ttl: Duration,
    generation: AtomicU64,
    entries: RwLock<HashMap<TokenHash, Entry>>,
    /// When entries past their TTL were last dropped (see [`TenantCache::put`]).
    swept: std::sync::Mutex<Instant>,
}

/// Past this many entries the cache is cleared rather than grown (tokens are looked up again).
const MAX_ENTRIES: usize = 50_000;

impl TenantCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            generation: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
            swept: std::sync::Mutex::new(Instant::now()),
        }
    }

    pub fn get(&self, token: &TokenHash) -> Option<Arc<Tenant>> {
        let generation = self.generation.load(Ordering::Acquire);
        let entries = self.entries.read().expect("tenant cache lock poisoned");
        entries
            .get(token)
            .filter(|e| e.generation == generation && e.fetched.elapsed() < self.ttl)
            .map(|e| e.tenant.clone())
    }

    /// Remembers a tenant read from the store after `ticket` was taken: a change that raced the
    /// read (an invalidation since) is not cached over, and the entry ages from the read's start.
    pub fn put(&self, token: TokenHash, tenant: Arc<Tenant>, ticket: Ticket) {
        let mut entries = self.entries.write().expect("tenant cache lock poisoned");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        // An entry past its TTL is never served again, only replaced: drop them all, at most
        // once per TTL (on a miss, so an idle cache costs nothing). Without this, every token
        // resolved once stayed in memory until the cap (10,000 servers touched once held tens
        // of MiB for good; issue 18).
        let mut swept = self.swept.lock().expect("tenant cache sweep poisoned");
        if swept.elapsed() >= self.ttl {
            let generation = self.generation.load(Ordering::Acquire);
            let ttl = self.ttl;
            entries.retain(|_, e| e.generation == generation && e.fetched.elapsed() < ttl);
            entries.shrink_to_fit();
            *swept = Instant::now();
        }
        drop(swept);
        entries.insert(
            token,
            Entry {
                tenant,
                fetched: ticket.taken,
                generation: ticket.generation,
            },
        );
    }

    /// Take before reading the store.
    pub fn ticket(&self) -> Ticket {
        Ticket {
            generation: self.generation.load(Ordering::Acquire),
            taken: Instant::now(),
        }
    }

    /// Forgets everything: called after any change to a server, an account or a token.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries
            .write()
            .expect("tenant cache lock poisoned")
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{AccountContext, AccountStatus, AuthType};

    fn tenant() -> Arc<Tenant> {
        let now = Timestamp::now();
        Arc::new(Tenant {
            server: McpServer {
                id: "s1".into(),
                integrated_account_id: "a1".into(),
                name: "s".into(),
                config: Default::default(),
                require_api_token_auth: false,
                auth: Default::default(),
                expires_at: None,
                created_at: now,
                updated_at: now,
            },
            account: IntegratedAccount {
                id: "a1".into(),
                integration: "gorgias".into(),
                name: "a".into(),
                status: AccountStatus::Active,
                auth_type: AuthType::ApiKey,
                context: AccountContext {
                    subdomain: "acme".into(),
                    email: None,
                    api_base_url: None,
                    scope: None,
                },
                credentials_version: 0,
                access_token_expires_at: None,
                rate_limit_reserve: None,
                created_at: now,
                updated_at: now,
            },
            sealed_credentials: Vec::new(),
            filter: Default::default(),
        })
    }

    #[test]
    fn entries_are_served_until_invalidated() {
        let cache = TenantCache::new(Duration::from_secs(60));
        let token = TokenHash::of("dgm_x");
        cache.put(token.clone(), tenant(), cache.ticket());
        assert!(cache.get(&token).is_some());
        cache.invalidate_all();
        assert!(cache.get(&token).is_none());
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_cached() {
        let cache = TenantCache::new(Duration::from_secs(60));
        let token = TokenHash::of("dgm_x");
        let ticket = cache.ticket();
        // A change is announced while the store read is in flight: what it read may be stale.
        cache.invalidate_all();
        cache.put(token.clone(), tenant(), ticket);
        assert!(cache.get(&token).is_none());
    }

    #[test]
    fn entries_past_their_ttl_are_dropped_on_a_later_miss() {
        let ttl = Duration::from_millis(50);
        let cache = TenantCache::new(ttl);
        for i in 0..100 {
            cache.put(TokenHash::of(&format!("dgm_{i}")), tenant(), cache.ticket());
        }
        std::thread::sleep(ttl * 2);
        cache.put(TokenHash::of("dgm_new"), tenant(), cache.ticket());
        let entries = cache.entries.read().unwrap();
        assert_eq!(entries.len(), 1);
        assert!(entries.contains_key(&TokenHash::of("dgm_new")));
    }

    #[test]
    fn entries_age_from_the_start_of_the_read_that_filled_them() {
        // The TTL bounds staleness only if a slow read does not extend it: a change committed
        // just after the read began is served for at most the TTL, counted from then.
        let ttl = Duration::from_millis(200);
        let cache = TenantCache::new(ttl);
        let token = TokenHash::of("dgm_x");
        let ticket = cache.ticket();
        std::thread::sleep(ttl);
        cache.put(token.clone(), tenant(), ticket);
        assert!(cache.get(&token).is_none());
    }
}
