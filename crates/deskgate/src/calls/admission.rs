//! Admission control: how many tool calls run at once, per server and in total.
//!
//! Every call in flight holds its upstream answer and, at times, its shaped reply; with no
//! bound, a burst of a thousand calls held ~200 MiB (issue 18). A call first takes a slot of
//! its server (so one busy server cannot take every slot), then one of the gateway. When none
//! frees up within the configured wait, the call is answered at once with a tool error saying
//! the gateway is busy and when to retry: never a dropped connection, never an unbounded queue
//! (waiters are bounded by the connection cap).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The slots a call holds while it runs; released when dropped.
pub(crate) struct Admitted {
    _server: OwnedSemaphorePermit,
    _total: OwnedSemaphorePermit,
}

/// Why a call was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Busy {
    /// The server's own slots are all taken.
    Server(usize),
    /// The gateway's slots are all taken.
    Gateway(usize),
}

pub struct Admission {
    per_server: usize,
    total: Arc<Semaphore>,
    total_slots: usize,
    wait: Duration,
    servers: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Admission {
    pub fn new(per_server: usize, total: usize, wait: Duration) -> Self {
        Admission {
            per_server: per_server.max(1),
            total: Arc::new(Semaphore::new(total.max(1))),
            total_slots: total.max(1),
            wait,
            servers: Mutex::new(HashMap::new()),
        }
    }

    /// How long a refused call should wait before trying again.
    pub(crate) fn retry_after(&self) -> Duration {
        self.wait.max(Duration::from_secs(1))
    }

    pub(crate) async fn admit(&self, server_id: &str) -> Result<Admitted, Busy> {
        let server = self.server(server_id);
        let server = tokio::time::timeout(self.wait, server.acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or(Busy::Server(self.per_server))?;
        let total = tokio::time::timeout(self.wait, self.total.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or(Busy::Gateway(self.total_slots))?;
        Ok(Admitted {
            _server: server,
            _total: total,
        })
    }

    fn server(&self, server_id: &str) -> Arc<Semaphore> {
        let mut servers = self.servers.lock().expect("admission map poisoned");
        if let Some(s) = servers.get(server_id) {
            return s.clone();
        }
        // Servers come and go: forget the idle ones before the map grows past a bound.
        if servers.len() >= 10_000 {
            let per_server = self.per_server;
            servers.retain(|_, s| s.available_permits() < per_server);
        }
        let s = Arc::new(Semaphore::new(self.per_server));
        servers.insert(server_id.to_owned(), s.clone());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_busy_server_is_refused_after_the_wait_and_others_still_run() {
        let admission = Admission::new(2, 3, Duration::from_millis(20));
        let a1 = admission.admit("a").await.unwrap();
        let _a2 = admission.admit("a").await.unwrap();
        assert_eq!(admission.admit("a").await.err(), Some(Busy::Server(2)));
        let _b1 = admission.admit("b").await.unwrap();
        // Three slots in all: the gateway is full now.
        assert_eq!(admission.admit("c").await.err(), Some(Busy::Gateway(3)));
        drop(a1);
        assert!(admission.admit("c").await.is_ok());
    }

    #[tokio::test]
    async fn a_waiting_call_gets_the_slot_a_finished_call_frees() {
        let admission = Arc::new(Admission::new(1, 10, Duration::from_secs(5)));
        let first = admission.admit("a").await.unwrap();
        let waiting = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.admit("a").await.is_ok() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        assert!(waiting.await.unwrap());
    }
}
