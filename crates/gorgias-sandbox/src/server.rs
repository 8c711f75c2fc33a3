//! Serving the router on a socket. A small hyper accept loop instead of `axum::serve` so a
//! "drop connection" fault can close the TCP connection without writing any response: the
//! per-connection service returns an error, and hyper then closes the connection.

use std::io;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::app::{App, build_router};
use crate::config::SandboxConfig;
use crate::faults::DropConnection;
use crate::state::SandboxState;

#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct DroppedByFault;

/// A running sandbox. Dropping it (or `shutdown().await`) stops the server.
pub struct Sandbox {
    app: App,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Starts on `127.0.0.1` with a free port.
    pub async fn start(config: SandboxConfig) -> io::Result<Sandbox> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        Self::start_on(config, listener).await
    }

    /// Starts on an already bound listener.
    pub async fn start_on(config: SandboxConfig, listener: TcpListener) -> io::Result<Sandbox> {
        let addr = listener.local_addr()?;
        let app = App::new(config);
        let router = build_router(app.clone());
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router, rx));
        Ok(Sandbox {
            app,
            addr,
            shutdown: tx,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash; the API is at `{base_url}/api/...`.
    pub fn base_url(&self) -> String {
        let ip = if self.addr.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            self.addr.ip().to_string()
        };
        if self.addr.is_ipv6() && !self.addr.ip().is_unspecified() {
            format!("http://[{ip}]:{}", self.addr.port())
        } else {
            format!("http://{ip}:{}", self.addr.port())
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> &SandboxConfig {
        self.app.config()
    }

    pub fn state(&self) -> SandboxState {
        SandboxState::new(self.app.clone())
    }

    /// Stops accepting, closes open connections, and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, router: Router, shutdown: watch::Receiver<bool>) {
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                };
                let router = router.clone();
                let mut conn_shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                        let router = router.clone();
                        async move {
                            let response = match router.oneshot(req.map(Body::new)).await {
                                Ok(r) => r,
                                Err(never) => match never {},
                            };
                            if response.extensions().get::<DropConnection>().is_some() {
                                Err(DroppedByFault)
                            } else {
                                Ok::<_, DroppedByFault>(response)
                            }
                        }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = conn => {}
                        () = stopped(&mut conn_shutdown) => {}
                    }
                });
            }
            () = stopped(&mut stop) => break,
        }
    }
}

/// Resolves once shutdown is signalled (or the sandbox is gone). The watch guard is dropped
/// here, inside, so the futures that await this stay `Send`.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
