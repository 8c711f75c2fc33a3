//! Which MCP client is calling. Stateless serving forgets `initialize` as soon as it is
//! answered, so the client's name and version (for the audit log) are remembered here, keyed by
//! MCP server and User-Agent, and looked up on later calls. A client that is never seen
//! initializing (another replica got it) is logged by its User-Agent instead.
//!
//! Anyone holding an MCP URL, even a read-only one, can send `initialize` with any `clientInfo`
//! and a new User-Agent each time, so the directory is bounded by what it holds in bytes, not
//! only in entries: each remembered string is cut to a sane length, and past
//! [`BUDGET_BYTES`] the least recently used clients are forgotten first.

use std::sync::Mutex;

use hashlink::LruCache;

use crate::calls::ClientInfo;

/// What the directory may hold, counting its strings and a fixed overhead per entry.
pub const BUDGET_BYTES: usize = 2 * 1024 * 1024;
/// Longest client name kept (characters); real clients' names are a few words.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest client version kept (characters).
pub const MAX_VERSION_CHARS: usize = 50;
/// Longest User-Agent used in a key (characters; `Caller` cuts it to this too).
pub const MAX_USER_AGENT_CHARS: usize = 200;
/// The map's own cost per entry (hash slot, links, string headers), so that many tiny entries
/// are bounded too.
const ENTRY_OVERHEAD_BYTES: usize = 160;

/// (MCP server id, User-Agent).
pub type ClientKey = (String, String);

pub struct ClientDirectory {
    known: Mutex<Known>,
    budget: usize,
}

struct Known {
    clients: LruCache<ClientKey, ClientInfo>,
    bytes: usize,
}

impl Default for ClientDirectory {
    fn default() -> Self {
        Self::with_budget(BUDGET_BYTES)
    }
}

impl ClientDirectory {
    pub fn with_budget(budget: usize) -> Self {
        Self {
            known: Mutex::new(Known {
                clients: LruCache::new_unbounded(),
                bytes: 0,
            }),
            budget,
        }
    }

    pub fn remember(&self, key: ClientKey, client: ClientInfo) {
        let key = (key.0, truncated(key.1, MAX_USER_AGENT_CHARS));
        let client = bounded(client);
        let weight = weight_of(&key, &client);
        let mut known = self.known.lock().expect("client directory poisoned");
        if let Some(old) = known.clients.remove(&key) {
            known.bytes -= weight_of(&key, &old);
        }
        known.clients.insert(key, client);
        known.bytes += weight;
        while known.bytes > self.budget {
            match known.clients.remove_lru() {
                Some((key, old)) => known.bytes -= weight_of(&key, &old),
                None => break,
            }
        }
    }

    pub fn recall(&self, key: &ClientKey) -> Option<ClientInfo> {
        let mut known = self.known.lock().expect("client directory poisoned");
        known.clients.get(key).cloned()
    }

    /// What the directory holds now: (entries, bytes as counted against the budget).
    pub fn usage(&self) -> (usize, usize) {
        let known = self.known.lock().expect("client directory poisoned");
        (known.clients.len(), known.bytes)
    }
}

/// A client's name and version cut to the lengths kept anywhere (the directory, the log).
pub fn bounded(client: ClientInfo) -> ClientInfo {
    ClientInfo {
        name: truncated(client.name, MAX_NAME_CHARS),
        version: truncated(client.version, MAX_VERSION_CHARS),
        oauth: client.oauth,
    }
}

/// The first `max_chars` characters, in a string of their own size: `String::truncate` would
/// keep the whole original allocation (900 KB for a 100-character name).
fn truncated(s: String, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => s[..cut].to_owned(),
        None => s,
    }
}

fn weight_of(key: &ClientKey, client: &ClientInfo) -> usize {
    ENTRY_OVERHEAD_BYTES + key.0.len() + key.1.len() + client.name.len() + client.version.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str) -> ClientInfo {
        ClientInfo {
            name: name.to_owned(),
            version: "1.0".to_owned(),
            oauth: None,
        }
    }

    #[test]
    fn huge_client_infos_are_cut_before_they_are_kept() {
        let directory = ClientDirectory::default();
        let key = ("server".to_owned(), "ua".to_owned());
        directory.remember(
            key.clone(),
            ClientInfo {
                name: "é".repeat(900_000),
                version: "v".repeat(10_000),
                oauth: None,
            },
        );
        let kept = directory.recall(&key).unwrap();
        assert_eq!(kept.name.chars().count(), MAX_NAME_CHARS);
        assert!(bounded(client(&"x".repeat(900_000))).name.capacity() < 1_000);
        assert_eq!(kept.version.len(), MAX_VERSION_CHARS);
        assert!(directory.usage().1 < 1_000);
    }

    #[test]
    fn the_directory_never_holds_more_than_its_budget() {
        let directory = ClientDirectory::with_budget(64 * 1024);
        for i in 0..10_000 {
            directory.remember(
                (
                    "server".to_owned(),
                    format!("agent {i} {}", "x".repeat(150)),
                ),
                client(&"n".repeat(5_000)),
            );
            assert!(directory.usage().1 <= 64 * 1024);
        }
        // The most recent client is still known; the oldest were forgotten first.
        let newest = (
            "server".to_owned(),
            format!("agent 9999 {}", "x".repeat(150)),
        );
        assert!(directory.recall(&newest).is_some());
        let oldest = ("server".to_owned(), format!("agent 0 {}", "x".repeat(150)));
        assert!(directory.recall(&oldest).is_none());
    }

    #[test]
    fn a_client_seen_again_replaces_its_entry() {
        let directory = ClientDirectory::default();
        let key = ("server".to_owned(), "ua".to_owned());
        directory.remember(key.clone(), client("old"));
        directory.remember(key.clone(), client("new"));
        assert_eq!(directory.recall(&key).unwrap().name, "new");
        assert_eq!(directory.usage().0, 1);
    }
}
