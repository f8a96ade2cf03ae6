//! A Docker Engine API client over a unix socket — what the `strata` CLI is built on.
//!
//! The CLI is a pure client of the API (it never reads the data-root), so everything it can do
//! any Docker client can do too. This crate does what the docker CLI's client does on the wire:
//! pick the daemon address (`-H`, `STRATA_HOST`, `DOCKER_HOST`), negotiate the API version with
//! `HEAD /_ping`, prefix every path with `/v<version>`, and turn error responses into the
//! daemon's `message`. `attach` and `exec start` take the connection over (`101 UPGRADED`):
//! [`Client::hijack`] returns the raw bidirectional stream, and [`stream`] reads the daemon's
//! multiplexed (no TTY) or raw (TTY) output from it, or from a `logs` body.

pub mod stream;

use std::path::PathBuf;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The daemon address used when none is given.
pub const DEFAULT_HOST: &str = "unix:///run/strata.sock";
/// The newest API version this client speaks.
pub const CLIENT_API_VERSION: &str = "1.50";

/// A request body.
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// A connection the daemon took over after `101 UPGRADED`: raw bytes both ways.
pub type Hijacked = TokioIo<hyper::upgrade::Upgraded>;

/// What can go wrong talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("Cannot connect to the strata daemon at {host}. Is the daemon running?")]
    Connect { host: String, io: std::io::Error },
    #[error("unsupported daemon address {0:?}: only unix:// sockets are supported")]
    BadHost(String),
    /// The daemon answered with an error status; `message` is its `{"message": …}`.
    #[error("Error response from daemon: {message}")]
    Daemon { status: StatusCode, message: String },
    #[error("error talking to the daemon: {0}")]
    Protocol(String),
    #[error("cannot decode the daemon's answer: {0}")]
    Decode(#[from] serde_json::Error),
}

impl ClientError {
    /// The HTTP status of a daemon error.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Daemon { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Where the daemon is: the `-H` flag, else `STRATA_HOST`, else `DOCKER_HOST`, else the default.
pub fn resolve_host(flag: Option<&str>) -> String {
    flag.map(str::to_owned)
        .or_else(|| std::env::var("STRATA_HOST").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| DEFAULT_HOST.to_owned())
}

/// A client of one daemon.
#[derive(Debug, Clone)]
pub struct Client {
    host: String,
    socket: PathBuf,
    version: String,
}

impl Client {
    /// A client for `host` (`unix:///path`). Nothing is sent yet.
    pub fn new(host: &str) -> Result<Client, ClientError> {
        let path = host.strip_prefix("unix://").ok_or_else(|| ClientError::BadHost(host.to_owned()))?;
        Ok(Client { host: host.to_owned(), socket: PathBuf::from(path), version: CLIENT_API_VERSION.to_owned() })
    }

    /// Pings the daemon and settles on `min(ours, theirs)` as the API version, as the docker
    /// CLI does.
    pub async fn negotiate(&mut self) -> Result<(), ClientError> {
        let resp = self.send(Method::HEAD, "/_ping", None, None).await?;
        if let Some(theirs) = resp.headers().get("Api-Version").and_then(|v| v.to_str().ok())
            && version_lt(theirs, &self.version)
        {
            self.version = theirs.to_owned();
        }
        Ok(())
    }

    /// The negotiated API version.
    pub fn api_version(&self) -> &str {
        &self.version
    }

    /// The daemon address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Sends a request to `/v<version><path_and_query>` and returns the response if its status
    /// is a success; an error status becomes [`ClientError::Daemon`].
    pub async fn request(
        &self,
        method: Method,
        path_and_query: &str,
        content_type: Option<&str>,
        body: Option<Body>,
    ) -> Result<Response<Incoming>, ClientError> {
        self.request_with(method, path_and_query, content_type, body, &[]).await
    }

    /// [`Client::request`] with extra request headers (a `Content-Length` for a streamed body
    /// of known length, say).
    pub async fn request_with(
        &self,
        method: Method,
        path_and_query: &str,
        content_type: Option<&str>,
        body: Option<Body>,
        headers: &[(http::header::HeaderName, &str)],
    ) -> Result<Response<Incoming>, ClientError> {
        let path = format!("/v{}{}", self.version, path_and_query);
        let resp = self.send_with(method, &path, content_type, body, headers).await?;
        if resp.status().is_client_error() || resp.status().is_server_error() {
            return Err(error_from(resp).await);
        }
        Ok(resp)
    }

    /// `GET` and decode JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, ClientError> {
        let resp = self.request(Method::GET, path_and_query, None, None).await?;
        decode(resp).await
    }

    /// Sends a JSON body and decodes a JSON answer.
    pub async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let bytes = serde_json::to_vec(body)?;
        let resp = self.request(method, path_and_query, Some("application/json"), Some(full(bytes))).await?;
        decode(resp).await
    }

    /// Sends a request whose answer has no body of interest.
    pub async fn send_empty(&self, method: Method, path_and_query: &str) -> Result<StatusCode, ClientError> {
        let resp = self.request(method, path_and_query, None, None).await?;
        let status = resp.status();
        let _ = resp.into_body().collect().await;
        Ok(status)
    }

    /// Sends a request that asks the daemon to take the connection over (`Connection: Upgrade`,
    /// `Upgrade: tcp`), as `attach` and `exec start` do, and returns the raw bidirectional
    /// stream once the daemon answered `101`. An error status becomes [`ClientError::Daemon`];
    /// any other success status is refused as docker refuses it, since the stream would not be
    /// the one asked for. Writing to the stream sends the container's stdin (unframed);
    /// shutting its write side down half-closes the socket, which the daemon reads as
    /// end-of-stdin while it keeps sending output.
    pub async fn hijack(
        &self,
        method: Method,
        path_and_query: &str,
        content_type: &str,
        body: Option<Bytes>,
    ) -> Result<Hijacked, ClientError> {
        let path = format!("/v{}{}", self.version, path_and_query);
        let body = body.map(full);
        let upgrade = [(http::header::CONNECTION, "Upgrade"), (http::header::UPGRADE, "tcp")];
        let resp = self.send_with(method, &path, Some(content_type), body, &upgrade).await?;
        let status = resp.status();
        if status.is_client_error() || status.is_server_error() {
            return Err(error_from(resp).await);
        }
        if status != StatusCode::SWITCHING_PROTOCOLS {
            return Err(ClientError::Protocol(format!("unable to upgrade to tcp, received {}", status.as_u16())));
        }
        let upgraded = hyper::upgrade::on(resp).await.map_err(|e| ClientError::Protocol(e.to_string()))?;
        Ok(TokioIo::new(upgraded))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Body>,
    ) -> Result<Response<Incoming>, ClientError> {
        self.send_with(method, path, content_type, body, &[]).await
    }

    async fn send_with(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Body>,
        headers: &[(http::header::HeaderName, &str)],
    ) -> Result<Response<Incoming>, ClientError> {
        let stream = tokio::net::UnixStream::connect(&self.socket)
            .await
            .map_err(|io| ClientError::Connect { host: self.host.clone(), io })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, "strata")
            .header(http::header::USER_AGENT, concat!("strata-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(ct) = content_type {
            builder = builder.header(http::header::CONTENT_TYPE, ct);
        }
        for (name, value) in headers {
            builder = builder.header(name, *value);
        }
        let body = body.unwrap_or_else(|| Empty::new().map_err(|e| match e {}).boxed_unsync());
        let req = builder.body(body).map_err(|e| ClientError::Protocol(e.to_string()))?;
        sender.send_request(req).await.map_err(|e| ClientError::Protocol(e.to_string()))
    }
}

/// A body of the given bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|e| match e {}).boxed_unsync()
}

/// Reads a JSON response body.
pub async fn decode<T: DeserializeOwned>(resp: Response<Incoming>) -> Result<T, ClientError> {
    let bytes = resp.into_body().collect().await.map_err(|e| ClientError::Protocol(e.to_string()))?.to_bytes();
    Ok(serde_json::from_slice(&bytes)?)
}

async fn error_from(resp: Response<Incoming>) -> ClientError {
    let status = resp.status();
    let bytes = match resp.into_body().collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => return ClientError::Protocol(e.to_string()),
    };
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    let message = match serde_json::from_slice::<Message>(&bytes) {
        Ok(m) => m.message,
        Err(_) if bytes.is_empty() => format!("request returned {status} with an empty body"),
        Err(_) => String::from_utf8_lossy(&bytes).trim().to_owned(),
    };
    ClientError::Daemon { status, message }
}

/// Whether API version `a` is older than `b` (`1.9` < `1.10`).
pub fn version_lt(a: &str, b: &str) -> bool {
    let parse = |s: &str| {
        let (x, y) = s.split_once('.')?;
        Some((x.parse::<u32>().ok()?, y.parse::<u32>().ok()?))
    };
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    }
}

/// Percent-encodes one path segment or query value.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(version_lt("1.9", "1.10"));
        assert!(version_lt("1.47", "1.50"));
        assert!(!version_lt("1.50", "1.50"));
        assert!(!version_lt("bad", "1.50"));
    }

    #[test]
    fn only_unix_hosts_are_accepted() {
        assert!(Client::new("unix:///run/strata.sock").is_ok());
        assert!(matches!(Client::new("tcp://1.2.3.4:2375"), Err(ClientError::BadHost(_))));
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        assert_eq!(resolve_host(Some("unix:///x.sock")), "unix:///x.sock");
    }
}
