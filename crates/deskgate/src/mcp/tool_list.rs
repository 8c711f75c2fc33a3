//! `tools/list` from a pre-serialized answer: each server's tool array is serialized once and
//! kept as bytes, so a plain `tools/list` (see `fast_path`) costs about what sending the same
//! bytes from memory costs, not a conversion and serialization of the whole catalog.
//!
//! What a server lists depends on its config (filters, policies, tool exposure: the compiled
//! filter is made from it and the integration, which never changes in a process) and on its
//! account's catalog (the custom fields complete the schemas). So an entry is keyed by the
//! server's id and is valid only while both still match, checked on every request:
//! - the config, compared by value with the one in the request's tenant. An edit (filters,
//!   policies, exposure) reaches the tenant the way it reaches calls: at once on the replica
//!   that made it, within `tenant_cache_ttl` on the others (see `tenants`). The list never
//!   lags the calls;
//! - the account catalog, compared by identity: a custom-field refresh makes a new
//!   `AccountCatalog`. The entry holds only a `Weak` to it, which keeps its allocation, so a
//!   new catalog can never reuse the old one's address.
//!
//! Memory is bounded: past [`MAX_BYTES`] of lists, the cache is emptied rather than grown
//! (lists are serialized again on demand), as the tenant cache does with its entries.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};

use axum::body::Bytes;
use rmcp::model::Tool;

use crate::integration::AccountCatalog;
use crate::mcp_servers::McpServerConfig;
use crate::tenants::Tenant;

/// Past this many bytes of serialized lists the cache starts over (the full catalog with
/// custom fields is about 120 KB, so this holds a few hundred distinct servers).
const MAX_BYTES: usize = 48 * 1024 * 1024;

#[derive(Default)]
pub struct ToolLists {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    by_server: HashMap<String, Entry>,
    bytes: usize,
}

struct Entry {
    config: McpServerConfig,
    catalog: Weak<AccountCatalog>,
    /// The JSON array of the listed tools, exactly as rmcp would serialize them.
    tools: Bytes,
}

impl Entry {
    fn fits(&self, tenant: &Tenant, catalog: &Arc<AccountCatalog>) -> bool {
        std::ptr::eq(self.catalog.as_ptr(), Arc::as_ptr(catalog))
            && self.config == tenant.server.config
    }
}

impl ToolLists {
    /// The serialized tool array of `tenant`'s server over `catalog`, from the cache while its
    /// config and catalog are the ones it was made from, else made with `list` and remembered.
    pub fn tools_json(
        &self,
        tenant: &Tenant,
        catalog: &Arc<AccountCatalog>,
        list: impl FnOnce() -> Vec<Tool>,
    ) -> Bytes {
        {
            let inner = self.inner.read().expect("tool list cache poisoned");
            if let Some(entry) = inner.by_server.get(&tenant.server.id)
                && entry.fits(tenant, catalog)
            {
                return entry.tools.clone();
            }
        }
        let tools = Bytes::from(serde_json::to_vec(&list()).expect("tools always serialize"));
        let mut inner = self.inner.write().expect("tool list cache poisoned");
        if inner.bytes + tools.len() > MAX_BYTES {
            inner.by_server.clear();
            inner.bytes = 0;
        }
        inner.bytes += tools.len();
        let replaced = inner.by_server.insert(
            tenant.server.id.clone(),
            Entry {
                config: tenant.server.config.clone(),
                catalog: Arc::downgrade(catalog),
                tools: tools.clone(),
            },
        );
        if let Some(old) = replaced {
            inner.bytes -= old.tools.len();
        }
        tools
    }
}
