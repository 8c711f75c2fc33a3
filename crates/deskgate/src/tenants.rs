//! Resolving an MCP token to its tenant (server, account, filter) before any JSON-RPC, with a
//! small cache in front of the store.
//!
//! Changes made on this replica bump a generation counter that invalidates every entry at once,
//! so a deleted or changed server is refused on its next request. Entries also age out after a
//! short TTL, which bounds how late a change made on another replica is seen.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::accounts::IntegratedAccount;
use crate::app::App;
use crate::mcp_servers::McpServer;
use crate::store::StoreError;
use crate::timestamp::Timestamp;
use crate::tokens::{TokenHash, TokenKind};

/// An MCP server as a request sees it.
pub struct Tenant {
    pub server: McpServer,
    pub account: IntegratedAccount,
    /// The account's credentials as stored (sealed); opened only for the call that needs them.
    pub sealed_credentials: Vec<u8>,
    pub filter: integration_spec::ToolFilter,
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
            return Ok((!tenant.server.is_expired(now)).then_some(tenant));
        }
        let generation = self.tenants.generation();
        let Some(server) = self.store.find_mcp_server_by_token(&hash).await? else {
            return Ok(None);
        };
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
        let filter = match server.config.tool_filter(self.integration.catalog()) {
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
        self.tenants.put(hash, tenant.clone(), generation);
        Ok(Some(tenant))
    }
}

struct Entry {
    tenant: Arc<Tenant>,
    fetched: Instant,
    generation: u64,
}

pub struct TenantCache {
    ttl: Duration,
    generation: AtomicU64,
    entries: RwLock<HashMap<TokenHash, Entry>>,
}

/// Past this many entries the cache is cleared rather than grown (tokens are looked up again).
const MAX_ENTRIES: usize = 50_000;

impl TenantCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            generation: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
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

    /// Remembers a tenant read from the store at `generation` (taken before the read, so a
    /// change that raced the read is not cached over).
    pub fn put(&self, token: TokenHash, tenant: Arc<Tenant>, generation: u64) {
        let mut entries = self.entries.write().expect("tenant cache lock poisoned");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            token,
            Entry {
                tenant,
                fetched: Instant::now(),
                generation,
            },
        );
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
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
