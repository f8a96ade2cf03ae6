//! `/volumes`: list, create, inspect, remove, prune — Docker's wire shapes over the volume
//! service.
//!
//! The handlers only translate: query and body in, [`strata_volume`] calls on a blocking thread
//! (they touch the disk and the database), Docker's JSON out. Status codes come from the one
//! mapping in `error.rs`.

use std::collections::BTreeMap;

use http::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};
use strata_volume::{CreateRequest, LOCAL_SCOPE, Volume, VolumeError, VolumeUsage};

use crate::error::{ApiError, ApiResult};
use crate::http::{ApiRequest, Body, json, status};
use crate::router::Ctx;
use crate::version::ApiVersion;

/// From this API version on, prune removes only anonymous volumes unless `all=true`, and
/// volume update exists (for cluster volumes).
pub const PRUNE_ANONYMOUS_ONLY: ApiVersion = ApiVersion::new(1, 42);

/// Routes under `/volumes`.
pub async fn route(
    ctx: &Ctx,
    method: &Method,
    rest: &[&str],
    req: &mut ApiRequest,
) -> Option<ApiResult<Response<Body>>> {
    Some(match (method, rest) {
        (&Method::GET, []) => list(ctx).await,
        (&Method::POST, ["create"]) => create(ctx, req).await,
        (&Method::POST, ["prune"]) => prune(ctx).await,
        (&Method::GET, [name]) => inspect(ctx, name).await,
        (&Method::DELETE, [name]) => remove(ctx, name).await,
        (&Method::PUT, [_]) if ctx.version >= PRUNE_ANONYMOUS_ONLY => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "volume update only valid for cluster volumes, but swarm is unavailable",
        )),
        _ => return None,
    })
}

/// Runs blocking volume work off the async threads.
async fn blocking<T: Send + 'static>(
    ctx: &Ctx,
    f: impl FnOnce(&strata_volume::Volumes) -> Result<T, VolumeError> + Send + 'static,
) -> ApiResult<T> {
    let engine = ctx.engine.clone();
    match tokio::task::spawn_blocking(move || f(engine.volumes())).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(format!("volume operation failed: {e}"))),
    }
}

/// A volume as Docker's API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeBody {
    created_at: String,
    driver: String,
    /// `null` when empty (Docker's encoding of a nil map).
    labels: Option<BTreeMap<String, String>>,
    mountpoint: String,
    name: String,
    options: Option<BTreeMap<String, String>>,
    scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_data: Option<UsageData>,
}

/// `UsageData` of `/system/df`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsageData {
    ref_count: u64,
    size: i64,
}

impl VolumeBody {
    pub fn new(v: Volume) -> VolumeBody {
        let created = std::time::SystemTime::UNIX_EPOCH
            + std::time::Duration::from_secs(u64::try_from(v.created_at).unwrap_or(0));
        VolumeBody {
            created_at: humantime::format_rfc3339_seconds(created).to_string(),
            driver: v.driver,
            labels: Some(v.labels).filter(|m| !m.is_empty()),
            mountpoint: v.mountpoint.display().to_string(),
            name: v.name,
            options: Some(v.options).filter(|m| !m.is_empty()),
            scope: LOCAL_SCOPE,
            usage_data: None,
        }
    }

    /// With `UsageData`, as `/system/df` reports volumes.
    pub fn with_usage(u: VolumeUsage) -> VolumeBody {
        let mut body = VolumeBody::new(u.volume);
        body.usage_data = Some(UsageData { ref_count: u.ref_count, size: u.size });
        body
    }
}

/// `GET /volumes`: written straight from the database rows (the labels and options are stored
/// as JSON already), because listing thousands of volumes through typed values spent most of its
/// time allocating.
async fn list(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let filters = ctx.query.filters()?;
    let filter = strata_engine::volumes::list_filter(&filters)?;
    let body = blocking(ctx, move |v| {
        let mut root = String::new();
        push_json_str(&mut root, &format!("{}/", v.root().display()));
        // `"/…/volumes/` without its closing quote: each mountpoint continues it.
        root.pop();
        let mut out = String::with_capacity(LIST_BYTES_GUESS);
        out.push_str("{\"Volumes\":[");
        let mut first = true;
        v.visit(&filter, |r| {
            if !first {
                out.push(',');
            }
            first = false;
            write_volume(&mut out, &root, r);
        })?;
        out.push_str("],\"Warnings\":null}\n");
        Ok(out)
    })
    .await?;
    let mut resp = Response::new(crate::http::full(body));
    resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    Ok(resp)
}

/// A first allocation for a list response (grows as needed).
const LIST_BYTES_GUESS: usize = 64 * 1024;

/// One volume of a listing, in the field order and encoding of [`VolumeBody`].
fn write_volume(out: &mut String, root_prefix: &str, r: &strata_volume::VolumeRecord<'_>) {
    out.push_str("{\"CreatedAt\":\"");
    push_rfc3339(out, r.created_at);
    out.push_str("\",\"Driver\":");
    push_json_str(out, r.driver);
    out.push_str(",\"Labels\":");
    push_map_or_null(out, r.labels_json);
    out.push_str(",\"Mountpoint\":");
    out.push_str(root_prefix);
    let mut name = String::with_capacity(r.name.len() + 2);
    push_json_str(&mut name, r.name);
    out.push_str(&name[1..name.len() - 1]);
    out.push_str("/_data\",\"Name\":");
    out.push_str(&name);
    out.push_str(",\"Options\":");
    push_map_or_null(out, r.options_json);
    out.push_str(",\"Scope\":\"");
    out.push_str(LOCAL_SCOPE);
    out.push_str("\"}");
}

/// A stored JSON object, or `null` when it is empty (Docker's nil map).
fn push_map_or_null(out: &mut String, json: &str) {
    let t = json.trim();
    if t.is_empty() || t == "{}" { out.push_str("null") } else { out.push_str(t) }
}

/// `s` as a JSON string (quotes included), escaped as serde_json escapes it.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f) {
        out.push_str(s);
    } else {
        let quoted = serde_json::to_string(s).unwrap_or_default();
        out.push_str(quoted.trim_matches('"'));
    }
    out.push('"');
}

/// RFC 3339 with seconds in UTC (`2026-11-26T15:32:51Z`) of a Unix time, without allocating.
fn push_rfc3339(out: &mut String, secs: i64) {
    use std::fmt::Write;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (the proleptic Gregorian algorithm of H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(out, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60);
}

/// The body of `POST /volumes/create` (unknown fields, such as `ClusterVolumeSpec`, are
/// ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateBody {
    name: Option<String>,
    driver: Option<String>,
    driver_opts: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
}

/// `POST /volumes/create` → 201.
async fn create(ctx: &Ctx, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let body: CreateBody = req.json_opt().await?.unwrap_or_default();
    let request = CreateRequest {
        name: body.name,
        driver: body.driver,
        options: body.driver_opts.unwrap_or_default(),
        labels: body.labels.unwrap_or_default(),
    };
    // A plain create is a few local syscalls: done on this thread unless it could wait (a
    // handoff to a blocking thread cost as much as the create itself).
    let volume = match ctx.engine.volumes().create_now(&request) {
        Some(result) => result?,
        None => blocking(ctx, move |v| v.create(request)).await?,
    };
    Ok(json(StatusCode::CREATED, &VolumeBody::new(volume)))
}

/// `GET /volumes/{name}`.
async fn inspect(ctx: &Ctx, name: &str) -> ApiResult<Response<Body>> {
    let name = name.to_owned();
    let volume = blocking(ctx, move |v| v.inspect(&name)).await?;
    Ok(json(StatusCode::OK, &VolumeBody::new(volume)))
}

/// `DELETE /volumes/{name}[?force=1]` → 204.
async fn remove(ctx: &Ctx, name: &str) -> ApiResult<Response<Body>> {
    let name = name.to_owned();
    let force = ctx.query.bool("force");
    blocking(ctx, move |v| v.remove(&name, force)).await?;
    Ok(status(StatusCode::NO_CONTENT))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PruneBody {
    volumes_deleted: Vec<String>,
    space_reclaimed: u64,
    /// strata's extension: candidates left alone and why (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<serde_json::Value>,
}

/// `POST /volumes/prune`.
async fn prune(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let filters = ctx.query.filters()?;
    let filter = strata_engine::volumes::prune_filter(&filters, ctx.version < PRUNE_ANONYMOUS_ONLY)?;
    let dry_run = ctx.query.bool(crate::routes::prune::DRY_RUN_PARAM);
    let report = blocking(ctx, move |v| v.prune_with(&filter, dry_run)).await?;
    let skipped = report.skipped.iter().map(|(id, why)| serde_json::json!({"Id": id, "Reason": why})).collect();
    Ok(json(
        StatusCode::OK,
        &PruneBody { volumes_deleted: report.deleted, space_reclaimed: report.space_reclaimed, skipped },
    ))
}

/// The volumes part of `/system/df`: local volumes without options, with `UsageData`.
pub async fn disk_usage(ctx: &Ctx) -> ApiResult<Vec<VolumeBody>> {
    let usage = blocking(ctx, |v| v.usage()).await?;
    Ok(usage.into_iter().map(VolumeBody::with_usage).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_listing_writes_what_serde_writes() {
        for (secs, labels, options, name) in [
            (1_795_716_732i64, "{}", "{}", "pgdata"),
            (0, r#"{"a":"b\"c"}"#, r#"{"type":"tmpfs"}"#, "x_1.y-z"),
            (951_782_400, "{}", "{}", "leap"),   // 2000-02-29
            (4_102_444_799, "{}", "{}", "late"), // 2099-12-31T23:59:59Z
        ] {
            let v = Volume {
                name: name.into(),
                driver: "local".into(),
                labels: serde_json::from_str(labels).expect("labels"),
                options: serde_json::from_str(options).expect("options"),
                created_at: secs,
                mountpoint: format!("/var/lib/strata/volumes/{name}/_data").into(),
                quota: None,
            };
            let want = serde_json::to_string(&VolumeBody::new(v)).expect("json");
            let mut got = String::new();
            let rec = strata_volume::VolumeRecord {
                name,
                driver: "local",
                labels_json: labels,
                options_json: options,
                created_at: secs,
                ref_count: 0,
            };
            write_volume(&mut got, "\"/var/lib/strata/volumes/", &rec);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn volume_json_has_dockers_shape() {
        let v = Volume {
            name: "pgdata".into(),
            driver: "local".into(),
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            created_at: 1_795_716_732,
            mountpoint: "/var/lib/strata/volumes/pgdata/_data".into(),
            quota: None,
        };
        let text = serde_json::to_string(&VolumeBody::new(v.clone())).expect("json");
        assert_eq!(
            text,
            r#"{"CreatedAt":"2026-11-26T18:12:12Z","Driver":"local","Labels":null,"Mountpoint":"/var/lib/strata/volumes/pgdata/_data","Name":"pgdata","Options":null,"Scope":"local"}"#
        );
        let mut labelled = v;
        labelled.labels.insert("env".into(), "prod".into());
        let usage = VolumeUsage { volume: labelled, size: -1, ref_count: 2 };
        let text = serde_json::to_string(&VolumeBody::with_usage(usage)).expect("json");
        assert!(text.contains(r#""Labels":{"env":"prod"}"#), "{text}");
        assert!(text.ends_with(r#""Scope":"local","UsageData":{"RefCount":2,"Size":-1}}"#), "{text}");
    }
}
