//! The accept loop: HTTP/1.1 with keep-alive and upgrades (for attach/exec hijacks) on unix
//! sockets, and a graceful shutdown that lets requests in flight finish.

use std::future::Future;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::UnixListener;

/// How long shutdown waits for requests in flight (long `wait`/`logs -f`/attach streams are cut
/// after this).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The socket mode: owner and group may connect, nobody else. The API is root on the host.
pub const SOCKET_MODE: u32 = 0o660;

/// Why a socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("cannot listen on {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot listen on {path}: the socket group {group:?} does not exist")]
    NoSuchGroup { path: PathBuf, group: String },
    #[error("cannot listen on {path}: a process is already serving that socket")]
    InUse { path: PathBuf },
}

/// Creates the API socket at `path`: owned by root and `group` (when it exists), mode 0660.
///
/// A stale socket file from a crashed daemon is replaced; a live one (something answers on it)
/// is an error. The socket is created under a restrictive umask so that it is never, even
/// briefly, connectable by other users. Call before starting threads (the umask is per process).
pub fn bind_socket(
    path: &Path,
    group: &str,
    group_required: bool,
) -> Result<std::os::unix::net::UnixListener, BindError> {
    let io_err = |source| BindError::Io { path: path.to_owned(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_err)?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(BindError::InUse { path: path.to_owned() });
        }
        std::fs::remove_file(path).map_err(io_err)?;
    }
    let gid = group_id(group);
    if gid.is_none() && group_required {
        return Err(BindError::NoSuchGroup { path: path.to_owned(), group: group.to_owned() });
    }
    let old = rustix_umask(0o177);
    let bound = std::os::unix::net::UnixListener::bind(path);
    rustix_umask(old);
    let listener = bound.map_err(io_err)?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(io_err)?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE)).map_err(io_err)?;
    listener.set_nonblocking(true).map_err(io_err)?;
    Ok(listener)
}

/// Sets the process umask, returning the previous one. std has no umask; this is the only place
/// the daemon changes it.
fn rustix_umask(mode: u32) -> u32 {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(mode)).as_raw_mode()
}

/// The numeric id of a group, from `/etc/group`.
pub fn group_id(name: &str) -> Option<u32> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let n = fields.next()?;
        let _pw = fields.next()?;
        let gid = fields.next()?;
        (n == name).then(|| gid.parse().ok()).flatten()
    })
}

/// Serves the API on `listeners` until `shutdown` completes, then lets requests in flight finish
/// for up to [`SHUTDOWN_GRACE`].
pub async fn serve(
    engine: Arc<strata_engine::Engine>,
    listeners: Vec<UnixListener>,
    shutdown: impl Future<Output = ()>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<tokio::net::UnixStream>(64);
    let mut acceptors = Vec::new();
    for listener in listeners {
        let tx = tx.clone();
        acceptors.push(tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        if tx.send(stream).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }));
    }
    drop(tx);

    // Connections learn of shutdown through this channel; each then finishes its current
    // request and closes (hijacked streams are not HTTP any more and run to their own end).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true).half_close(true);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            stream = rx.recv() => {
                let Some(stream) = stream else { break };
                let engine = engine.clone();
                let service = service_fn(move |req| {
                    let engine = engine.clone();
                    async move { Ok::<_, std::convert::Infallible>(crate::router::handle(engine, req).await) }
                });
                let conn = http.serve_connection(TokioIo::new(stream), service).with_upgrades();
                let mut stop = stop_rx.clone();
                connections.spawn(async move {
                    tokio::pin!(conn);
                    let result = tokio::select! {
                        r = conn.as_mut() => r,
                        _ = async { let _ = stop.wait_for(|stopping| *stopping).await; } => {
                            conn.as_mut().graceful_shutdown();
                            conn.await
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
                // Reap finished connection tasks so the set does not grow without bound.
                while connections.try_join_next().is_some() {}
            }
            () = &mut shutdown => break,
        }
    }
    for a in acceptors {
        a.abort();
    }
    tracing::info!("API stopped accepting; finishing requests in flight");
    let _ = stop_tx.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        tracing::warn!("requests still open after {SHUTDOWN_GRACE:?}; closing them");
        connections.abort_all();
    }
}
