//! `GET /events`: container events as they happen, one JSON object per line, until the client
//! goes away or `until` passes. Live only: `since` has no history to replay here.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use serde_json::json;
use strata_container::events::ContainerEvent;
use strata_engine::filters::Filters;
use tokio::sync::broadcast::error::RecvError;

use crate::error::{ApiError, ApiResult};
use crate::http::{Body, streaming};
use crate::router::Ctx;

const FILTERS: &[&str] = &["container", "event", "image", "label", "type", "scope"];

/// A Docker timestamp parameter: seconds since the epoch, with an optional fraction.
fn parse_time(name: &str, raw: &str) -> ApiResult<SystemTime> {
    let secs: f64 = raw.parse().map_err(|_| ApiError::bad_request(format!("invalid value for {name}: {raw}")))?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0)))
}

fn wanted(f: &Filters, e: &ContainerEvent) -> bool {
    (!f.contains("type") || f.get("type").any(|t| t == "container"))
        && (!f.contains("scope") || f.get("scope").any(|s| s == "local"))
        && (!f.contains("container") || f.get("container").any(|c| c == e.name || e.id.starts_with(c)))
        && (!f.contains("event") || f.get("event").any(|v| v == e.action || e.action.split(':').next() == Some(v)))
        && (!f.contains("image") || f.get("image").any(|i| i == e.image))
        && f.match_labels("label", |k| e.attributes.get(k).map(String::as_str))
}

fn event_json(e: &ContainerEvent) -> Bytes {
    let nanos = e.time.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let line = json!({
        "status": e.action,
        "id": e.id,
        "from": e.image,
        "Type": "container",
        "Action": e.action,
        "Actor": {"ID": e.id, "Attributes": e.attributes},
        "scope": "local",
        "time": (nanos / 1_000_000_000) as u64,
        "timeNano": nanos as u64,
    });
    Bytes::from(format!("{line}\n"))
}

/// `GET /events`.
pub async fn events(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let f = ctx.query.filters()?;
    f.validate(FILTERS)?;
    if let Some(since) = ctx.query.get("since").filter(|s| !s.is_empty()) {
        parse_time("since", since)?;
    }
    let until = match ctx.query.get("until").filter(|s| !s.is_empty()) {
        Some(u) => Some(parse_time("until", u)?),
        None => None,
    };
    let deadline = until.map(|u| {
        let left = u.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
        tokio::time::Instant::now() + left
    });
    let rx = ctx.engine.containers().subscribe_events();
    let body = futures_util::stream::unfold((rx, f, deadline), |(mut rx, f, deadline)| async move {
        loop {
            let next = async {
                loop {
                    match rx.recv().await {
                        Ok(e) => return Some(e),
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            };
            let event = match deadline {
                Some(d) => tokio::select! {
                    e = next => e,
                    _ = tokio::time::sleep_until(d) => None,
                },
                None => next.await,
            }?;
            if wanted(&f, &event) {
                return Some((Ok::<_, std::io::Error>(event_json(&event)), (rx, f, deadline)));
            }
        }
    });
    let mut resp = Response::new(streaming(body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}
