//! Request dispatch: version prefix, common headers, routing by path segments, errors.
//!
//! Routing is a `match` on the method and the decoded path segments, one function per API area
//! (`routes::system`, `routes::volumes`, …). It is small enough not to need a framework, and it
//! keeps every response — including the errors a framework would generate — under our control,
//! which Docker clients need (exact status codes, `application/json` error bodies).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::error::{ApiError, ApiResult};
use crate::http::{ApiRequest, Body, Query, error_response};
use crate::routes;
use crate::version::{ApiVersion, MAX_API_VERSION, MIN_API_VERSION, split_version_prefix};

/// What every handler gets: the engine and the facts of this request.
#[derive(Clone)]
pub struct Ctx {
    pub engine: Arc<strata_engine::Engine>,
    /// The API version of the request (the prefix, or the maximum when unprefixed).
    pub version: ApiVersion,
    /// The decoded query string.
    pub query: Arc<Query>,
}

/// A marker a handler puts in a response's extensions when the common headers must not be added
/// (the raw 101 of `attach`, which Docker sends bare).
#[derive(Debug, Clone, Copy)]
pub struct BareResponse;

/// Handles one request. Never fails and never panics outward: a panic inside a handler becomes
/// a 500 so that no client input can take the daemon down.
pub async fn handle(engine: Arc<strata_engine::Engine>, req: Request<Incoming>) -> Response<Body> {
    let t0 = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = match AssertUnwindSafe(dispatch(engine, req)).catch_unwind().await {
        Ok(resp) => resp,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!(%method, %path, panic = %what, "handler panicked");
            with_common_headers(error_response(&ApiError::internal(format!("internal error: {what}"))))
        }
    };
    tracing::debug!(%method, %path, status = resp.status().as_u16(), elapsed_us = t0.elapsed().as_micros() as u64, "request");
    resp
}

async fn dispatch(engine: Arc<strata_engine::Engine>, req: Request<Incoming>) -> Response<Body> {
    let (version, rest) = split_version_prefix(req.uri().path());
    let version = match version {
        None => MAX_API_VERSION,
        Some(v) if v > MAX_API_VERSION => {
            return with_common_headers(error_response(&ApiError::bad_request(format!(
                "client version {v} is too new. Maximum supported API version is {MAX_API_VERSION}"
            ))));
        }
        Some(v) if v < MIN_API_VERSION => {
            return with_common_headers(error_response(&ApiError::bad_request(format!(
                "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, \
                 please upgrade your client to a newer version"
            ))));
        }
        Some(v) => v,
    };
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let ctx = Ctx { engine, version, query: Arc::new(Query::parse(req.uri().query())) };
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = req.method().clone();
    let mut req = ApiRequest::new(req);

    let routed: Option<ApiResult<Response<Body>>> = match segs.first().copied() {
        Some("_ping") if segs.len() == 1 => Some(routes::system::ping(&ctx, &method)),
        Some("version") if segs.len() == 1 && method == Method::GET => Some(routes::system::version(&ctx)),
        Some("info") if segs.len() == 1 && method == Method::GET => Some(routes::system::info(&ctx).await),
        Some(area) => routes::route_area(&ctx, area, &method, &segs[1..], &mut req).await,
        None => None,
    };
    req.drain().await;

    match routed {
        None => page_not_found(),
        Some(Ok(resp)) if resp.extensions().get::<BareResponse>().is_some() => resp,
        Some(Ok(resp)) => with_common_headers(resp),
        Some(Err(err)) => with_common_headers(error_response(&err)),
    }
}

/// The router's own 404, as Docker's mux answers unknown routes and methods.
fn page_not_found() -> Response<Body> {
    error_response(&ApiError::new(StatusCode::NOT_FOUND, "page not found"))
}

/// `Api-Version`, `Ostype`, `Server`, `Docker-Experimental`: Docker's headers on every routed
/// response. `Api-Version` is always the maximum, which is what the CLI's negotiation reads.
pub fn with_common_headers(mut resp: Response<Body>) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(MAX_API_VERSION_STR));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert("Server", HeaderValue::from_static(SERVER_HEADER));
    resp
}

/// `MAX_API_VERSION` as header text (checked against the constant in a test).
pub const MAX_API_VERSION_STR: &str = "1.50";
const SERVER_HEADER: &str = concat!("Strata/", env!("CARGO_PKG_VERSION"), " (linux)");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_version_matches_the_constant() {
        assert_eq!(MAX_API_VERSION_STR, MAX_API_VERSION.to_string());
    }
}
