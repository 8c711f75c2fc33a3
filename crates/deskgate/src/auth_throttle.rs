//! Throttling failed authentication per client address: wrong API tokens (the management API,
//! the console sign-in, MCP servers that require an API token) and unknown MCP URLs.
//!
//! Each address has a bucket of [`BURST`] failures that refills by one every [`REFILL`]. A
//! request that succeeds never touches it. Once it is empty:
//! - an API token from that address is refused with 429 and `Retry-After` *before* it is looked
//!   up, so guessing stops (a correct token from that address waits too: letting it through
//!   would tell a guesser which guess was right);
//! - an unknown MCP URL gets 429 instead of 404. A known MCP URL is still served: MCP tokens
//!   carry 256 bits (nothing to guess), and clients such as ChatGPT share egress addresses, so a
//!   block must never let one party lock others out of their servers.
//!
//! The client address is the socket's peer. Behind a proxy every request would come from the
//! proxy, so `--trusted-proxies` names the proxies whose `X-Forwarded-For` is believed: the
//! client is the right-most address in it that is not a trusted proxy. IPv6 clients are counted
//! by /64, since one host commonly holds a whole /64.
//!
//! Counts are per replica (in memory): behind a balancer with N replicas a guesser gets N
//! buckets, which still bounds guessing to a few per minute per replica.
//!
//! A bucket that can be asked "are you empty?" without spending a token is what the API path
//! needs (refuse before the lookup, spend only on failure); `governor`'s keyed limiters only
//! offer check-and-spend, hence this small map.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Failures an address may make at once.
pub const BURST: f64 = 20.0;
/// One more failure allowed every this long.
pub const REFILL: Duration = Duration::from_secs(6);
/// Addresses remembered at most; past this, full buckets are forgotten first, then all.
const MAX_ADDRESSES: usize = 100_000;

pub struct AuthThrottle {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    burst: f64,
    refill: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Failures still allowed, as of `updated`.
    left: f64,
    updated: Instant,
}

impl Bucket {
    fn left_at(&self, now: Instant, burst: f64, refill: Duration) -> f64 {
        let refilled =
            now.saturating_duration_since(self.updated).as_secs_f64() / refill.as_secs_f64();
        (self.left + refilled).min(burst)
    }
}

impl Default for AuthThrottle {
    fn default() -> Self {
        Self::new(BURST, REFILL)
    }
}

impl AuthThrottle {
    pub fn new(burst: f64, refill: Duration) -> Self {
        Self {
            buckets: Mutex::default(),
            burst,
            refill,
        }
    }

    /// `Some(seconds to wait)` when the address has no failure left.
    pub fn blocked(&self, client: IpAddr) -> Option<u64> {
        self.blocked_at(client, Instant::now())
    }

    fn blocked_at(&self, client: IpAddr, now: Instant) -> Option<u64> {
        let buckets = self.buckets.lock().expect("auth throttle poisoned");
        let left = buckets
            .get(&key(client))?
            .left_at(now, self.burst, self.refill);
        (left < 1.0).then(|| ((1.0 - left) * self.refill.as_secs_f64()).ceil().max(1.0) as u64)
    }

    /// Counts a failed authentication from `client`.
    pub fn failed(&self, client: IpAddr) {
        self.failed_at(client, Instant::now());
    }

    fn failed_at(&self, client: IpAddr, now: Instant) {
        let mut buckets = self.buckets.lock().expect("auth throttle poisoned");
        if buckets.len() >= MAX_ADDRESSES {
            let (burst, refill) = (self.burst, self.refill);
            buckets.retain(|_, b| b.left_at(now, burst, refill) < burst);
            if buckets.len() >= MAX_ADDRESSES {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key(client)).or_insert(Bucket {
            left: self.burst,
            updated: now,
        });
        bucket.left = (bucket.left_at(now, self.burst, self.refill) - 1.0).max(0.0);
        bucket.updated = now;
    }

    /// Forgets addresses whose buckets are full again (background upkeep).
    pub fn forget_recovered(&self) {
        let now = Instant::now();
        let (burst, refill) = (self.burst, self.refill);
        self.buckets
            .lock()
            .expect("auth throttle poisoned")
            .retain(|_, b| b.left_at(now, burst, refill) < burst);
    }
}

/// An IPv6 client is counted by its /64.
fn key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
    }
}

/// The address a request comes from: the socket's peer, or, when the peer is a trusted proxy,
/// the right-most address of `X-Forwarded-For` that is not one.
pub fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>, trusted: &[IpNet]) -> IpAddr {
    let Some(peer) = peer.map(|p| p.ip()) else {
        // Served without a socket (in-process calls): all such requests share one bucket.
        return IpAddr::from([0, 0, 0, 0]);
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .map_while(|a| a.parse::<IpAddr>().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// Parses `--trusted-proxies`: addresses or CIDR networks.
pub fn parse_trusted_proxy(value: &str) -> Result<IpNet, String> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{value:?} is not an IP address or a CIDR network such as 10.0.0.0/8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_its_burst_and_recovers_by_refill() {
        let throttle = AuthThrottle::new(3.0, Duration::from_secs(10));
        let a: IpAddr = "203.0.113.5".parse().unwrap();
        let b: IpAddr = "203.0.113.6".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.blocked_at(a, t0), None);
            throttle.failed_at(a, t0);
        }
        assert_eq!(throttle.blocked_at(a, t0), Some(10));
        assert_eq!(
            throttle.blocked_at(b, t0),
            None,
            "another address is not affected"
        );
        assert_eq!(throttle.blocked_at(a, t0 + Duration::from_secs(4)), Some(6));
        assert_eq!(throttle.blocked_at(a, t0 + Duration::from_secs(10)), None);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let throttle = AuthThrottle::new(1.0, Duration::from_secs(60));
        throttle.failed("2001:db8:1:2::1".parse().unwrap());
        assert!(
            throttle
                .blocked("2001:db8:1:2::ffff".parse().unwrap())
                .is_some()
        );
        assert!(
            throttle
                .blocked("2001:db8:1:3::1".parse().unwrap())
                .is_none()
        );
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.7, 203.0.113.9, 10.0.0.2".parse().unwrap(),
        );
        let proxy: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        let trusted = [parse_trusted_proxy("10.0.0.0/8").unwrap()];
        // The right-most untrusted hop: anything left of it could be made up by the client.
        assert_eq!(
            client_address(&headers, Some(proxy), &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // Not from a trusted proxy: the header is the client's own say, and ignored.
        assert_eq!(
            client_address(&headers, Some(proxy), &[]),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert!(parse_trusted_proxy("not an address").is_err());
        assert_eq!(
            parse_trusted_proxy("127.0.0.1").unwrap().to_string(),
            "127.0.0.1/32"
        );
    }
}
