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
use crate::mcp_servers::McpServer;
use crate::tokens::TokenHash;

/// An MCP server as a request sees it.
#[derive(Debug)]
pub struct Tenant {
    pub server: McpServer,
    pub account: IntegratedAccount,
    pub filter: integration_spec::ToolFilter,
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
        self.entries.write().expect("tenant cache lock poisoned").clear();
    }
}
