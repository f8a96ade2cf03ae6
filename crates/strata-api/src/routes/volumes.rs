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

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListBody {
    volumes: Vec<VolumeBody>,
    warnings: Option<Vec<String>>,
}

/// `GET /volumes`.
async fn list(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let filters = ctx.query.filters()?;
    let filter = strata_engine::volumes::list_filter(&filters)?;
    let volumes = blocking(ctx, move |v| v.list(&filter)).await?;
    let body = ListBody { volumes: volumes.into_iter().map(VolumeBody::new).collect(), warnings: None };
    Ok(json(StatusCode::OK, &body))
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
    let volume = blocking(ctx, move |v| v.create(request)).await?;
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
}

/// `POST /volumes/prune`.
async fn prune(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let filters = ctx.query.filters()?;
    let filter = strata_engine::volumes::prune_filter(&filters, ctx.version < PRUNE_ANONYMOUS_ONLY)?;
    let report = blocking(ctx, move |v| v.prune(&filter)).await?;
    Ok(json(StatusCode::OK, &PruneBody { volumes_deleted: report.deleted, space_reclaimed: report.space_reclaimed }))
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
