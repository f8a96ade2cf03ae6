//! `POST /images/prune`, `POST /containers/prune` and `POST /build/prune` (strata builds
//! nothing, so there is never a build cache to prune), with two strata extensions Docker clients
//! never see unless they ask:
//!
//! - `dryrun=1`: the answer lists what would be removed and the space it would free, and
//!   nothing is removed;
//! - objects labelled `strata.protect=true` are never pruned; the answer's extra `Skipped` list
//!   (`[{"Id","Reason"}]`) names them and every other candidate left alone, with the reason.

use std::collections::HashMap;

use http::{Response, StatusCode};
use serde_json::{Value, json};
use strata_container::RemoveOptions;
use strata_image::store::DeleteItem;
use strata_image::usage::{ImagePruneFilter, Skipped, is_protected};

use crate::error::{ApiError, ApiResult};
use crate::http::{Body, json};
use crate::router::Ctx;

/// The query parameter of a dry run (strata's extension).
pub const DRY_RUN_PARAM: &str = "dryrun";

fn skipped_json(skipped: &[Skipped]) -> Value {
    json!(skipped.iter().map(|s| json!({"Id": s.id, "Reason": s.reason})).collect::<Vec<_>>())
}

/// `until` of prune filters: a unix timestamp, an RFC 3339 time, or a Go duration before now.
fn parse_until(s: &str) -> Option<std::time::SystemTime> {
    if let Some(t) = strata_runtime::logs::parse_unix_timestamp(s) {
        return Some(t);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s.trim_end_matches('Z')) {
        return Some(t);
    }
    humantime::parse_duration(s).ok().and_then(|d| std::time::SystemTime::now().checked_sub(d))
}

pub(crate) fn until_filter(f: &strata_engine::filters::Filters) -> ApiResult<Option<std::time::SystemTime>> {
    // Docker answers both mistakes with a 500 and these words.
    let values: Vec<&str> = f.get("until").collect();
    match values.as_slice() {
        [] => Ok(None),
        [u] => parse_until(u)
            .map(Some)
            .ok_or_else(|| ApiError::internal(format!("failed to parse value as time or duration: {u:?}"))),
        _ => Err(ApiError::internal("more than one until filter specified")),
    }
}

/// `POST /images/prune`: `dangling` (default true), `until`, `label`, `label!`.
pub async fn images(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let f = ctx.query.filters()?;
    f.validate(&["dangling", "until", "label", "label!"])?;
    let until =
        until_filter(&f)?.map(|t| t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0));
    let filter = ImagePruneFilter {
        dangling_only: f.bool_value("dangling")?.unwrap_or(true),
        until,
        labels: f.get("label").map(str::to_owned).collect(),
        not_labels: f.get("label!").map(str::to_owned).collect(),
    };
    let dry_run = ctx.query.bool(DRY_RUN_PARAM);
    let engine = ctx.engine.clone();
    let report = tokio::task::spawn_blocking(move || {
        let containers = engine.containers().list().unwrap_or_default();
        let mut in_use: HashMap<String, String> = HashMap::new();
        for c in &containers {
            in_use.entry(c.image_id.clone()).or_insert_with(|| c.id.clone());
        }
        let held = engine.layers().all_rw().unwrap_or_default().into_iter().filter_map(|r| r.parent).collect();
        engine.images().prune(&filter, &in_use, &held, dry_run)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    let deleted: Vec<Value> = report
        .deleted
        .iter()
        .map(|i| match i {
            DeleteItem::Untagged(t) => json!({"Untagged": t}),
            DeleteItem::Deleted(d) => json!({"Deleted": d}),
        })
        .collect();
    let mut body = json!({
        "ImagesDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
        "SpaceReclaimed": report.space_reclaimed,
    });
    if !report.skipped.is_empty() {
        body["Skipped"] = skipped_json(&report.skipped);
    }
    Ok(json(StatusCode::OK, &body))
}

/// `POST /containers/prune`: every stopped container `until`/`label`/`label!` select, except
/// protected ones. `SpaceReclaimed` is the sum of their `SizeRw`.
pub async fn containers(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let f = ctx.query.filters()?;
    f.validate(&["until", "label", "label!"])?;
    let until = until_filter(&f)?;
    let dry_run = ctx.query.bool(DRY_RUN_PARAM);
    let svc = std::sync::Arc::clone(ctx.engine.containers());
    let list = {
        let svc = std::sync::Arc::clone(&svc);
        tokio::task::spawn_blocking(move || svc.list()).await.map_err(|e| ApiError::internal(e.to_string()))??
    };
    let mut deleted = Vec::new();
    let mut skipped = Vec::new();
    let mut reclaimed = 0u64;
    for c in list {
        let labels = c.config.labels.clone().unwrap_or_default();
        if f.contains("label") && !f.match_labels("label", |k| labels.get(k).map(String::as_str)) {
            continue;
        }
        if f.contains("label!") && f.match_labels("label!", |k| labels.get(k).map(String::as_str)) {
            continue;
        }
        if until.is_some_and(|t| c.created >= t) {
            continue;
        }
        if c.state.is_running() || svc.is_live(&c.id) {
            continue;
        }
        if is_protected(|k| labels.get(k).map(String::as_str)) {
            skipped.push(Skipped { id: c.id.clone(), reason: "protected by label strata.protect=true".into() });
            continue;
        }
        let size = {
            let (svc, id) = (std::sync::Arc::clone(&svc), c.id.clone());
            tokio::task::spawn_blocking(move || svc.size_rw(&id)).await.unwrap_or(0)
        };
        if dry_run {
            reclaimed += size;
            deleted.push(c.id);
            continue;
        }
        match svc.remove(&c.id, RemoveOptions::default()).await {
            Ok(()) => {
                reclaimed += size;
                deleted.push(c.id);
            }
            Err(e) => skipped.push(Skipped { id: c.id, reason: e.to_string() }),
        }
    }
    let mut body = json!({
        "ContainersDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
        "SpaceReclaimed": reclaimed,
    });
    if !skipped.is_empty() {
        body["Skipped"] = skipped_json(&skipped);
    }
    Ok(json(StatusCode::OK, &body))
}

/// The filters Docker's build-cache prune accepts.
const BUILD_CACHE_FILTERS: &[&str] = &[
    "until",
    "unused-for",
    "id",
    "parent",
    "type",
    "description",
    "inuse",
    "shared",
    "private",
    "mutable",
    "immutable",
];

/// `POST /build/prune`: strata has no builder, hence no build cache; the answer is Docker's for
/// an empty cache (what `docker system prune` and `docker builder prune` expect), and an unknown
/// filter is refused as Docker refuses it.
pub fn build_cache(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let f = ctx.query.filters()?;
    f.validate(BUILD_CACHE_FILTERS).map_err(|e| ApiError::bad_request(format!("failed to prune build cache: {e}")))?;
    Ok(json(StatusCode::OK, &json!({"CachesDeleted": null, "SpaceReclaimed": 0})))
}
