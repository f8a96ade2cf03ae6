//! Files in and out of containers: `HEAD`/`GET`/`PUT /containers/{id}/archive` (`docker cp`),
//! `GET /containers/{id}/export`, and `POST /commit`.
//!
//! Paths are resolved by [`strata_fsview`] inside the container's own view (its symlinks, its
//! mounts), never the host's. A running container is seen through `/proc/<pid>/root`, so its
//! tmpfs mounts are visible; a stopped one has its root filesystem mounted for the duration of
//! the call. The filesystem work is blocking: it runs on a blocking thread that streams through
//! a bounded channel, so a slow client slows the walk instead of filling memory.

use std::io::Write;
use std::sync::Arc;

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Response, StatusCode};
use serde_json::json;
use strata_container::Containers;
use strata_container::record::Container;
use strata_fsview::{ContainerView, ExtractOptions, StatusClass, ViewError};
use tokio::sync::{mpsc, oneshot};

use super::containers::service;
use crate::blocking_io::{ChannelWriter, STREAM_DEPTH, body_reader, channel_body};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiRequest, Body, json, status};
use crate::router::Ctx;

/// The header carrying a path's stat, base64 JSON.
const PATH_STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// `/containers/{id}/archive` and `/containers/{id}/export`.
pub async fn route(
    ctx: &Ctx,
    method: &Method,
    id: &str,
    what: &str,
    req: &mut ApiRequest,
) -> Option<ApiResult<Response<Body>>> {
    Some(match (method, what) {
        (&Method::HEAD, "archive") => head(ctx, id).await,
        (&Method::GET, "archive") => get(ctx, id).await,
        (&Method::PUT, "archive") => put(ctx, id, req).await,
        (&Method::GET, "export") => export(ctx, id).await,
        _ => return None,
    })
}

fn view_error(c: &Container, e: ViewError) -> ApiError {
    let message = e.docker_message(&c.name);
    match e.status_class() {
        StatusClass::NotFound => ApiError::not_found(message),
        StatusClass::BadRequest => ApiError::bad_request(message),
        StatusClass::Internal => ApiError::internal(message),
    }
}

/// Runs `f` on the container's view, with the root filesystem mounted while it runs.
fn with_view<T>(
    svc: &Containers,
    c: &Container,
    f: impl FnOnce(&ContainerView) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    if svc.is_live(&c.id) && c.state.pid > 0 {
        return f(&ContainerView::of_running(c.state.pid, &c.mounts));
    }
    let rootfs = svc.layers().mount_rw(&c.id).map_err(|e| ApiError::internal(e.to_string()))?;
    let result = ContainerView::from_plan(rootfs, &c.mounts).map_err(|e| view_error(c, e)).and_then(|v| f(&v));
    if let Err(e) = svc.layers().unmount_rw(&c.id) {
        tracing::warn!(id = %c.id, error = %e, "cannot unmount a container's root filesystem");
    }
    result
}

fn query_path(ctx: &Ctx) -> ApiResult<String> {
    match ctx.query.get("path") {
        Some(p) if !p.is_empty() => Ok(p.to_owned()),
        _ => Err(ApiError::bad_request("path is required")),
    }
}

async fn head(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let path = query_path(ctx)?;
    let svc = service(ctx);
    let c = svc.get(id)?;
    let stat = tokio::task::spawn_blocking(move || {
        with_view(&svc, &c, |v| strata_fsview::stat_path(v, &path).map_err(|e| view_error(&c, e)))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;
    match stat {
        Ok(stat) => {
            let mut resp = status(StatusCode::OK);
            resp.headers_mut().insert(PATH_STAT_HEADER, header(&stat.header_value())?);
            Ok(resp)
        }
        // HEAD has no body: the status says it all.
        Err(e) => Ok(status(e.status)),
    }
}

fn header(v: &str) -> ApiResult<HeaderValue> {
    HeaderValue::from_str(v).map_err(|e| ApiError::internal(e.to_string()))
}

async fn get(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let path = query_path(ctx)?;
    let svc = service(ctx);
    let c = svc.get(id)?;
    let (tx, rx) = mpsc::channel(STREAM_DEPTH);
    let (stat_tx, stat_rx) = oneshot::channel();
    tokio::task::spawn_blocking(move || {
        let mut stat_tx = Some(stat_tx);
        let result = with_view(&svc, &c, |v| {
            let prepared = strata_fsview::prepare_archive(v, &path).map_err(|e| view_error(&c, e))?;
            if let Some(t) = stat_tx.take() {
                let _ = t.send(Ok(prepared.stat().header_value()));
            }
            let mut w = ChannelWriter::new(tx.clone());
            let written = prepared
                .write_to(&mut w)
                .and_then(|_| w.flush().map_err(|e| ViewError::Io { op: "send", path: path.clone(), source: e }));
            if let Err(e) = written {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
            Ok(())
        });
        if let (Err(e), Some(t)) = (result, stat_tx) {
            let _ = t.send(Err(e));
        }
    });
    let stat = stat_rx.await.map_err(|_| ApiError::internal("archive preparation failed"))??;
    let mut resp = Response::new(channel_body(rx));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    resp.headers_mut().insert(PATH_STAT_HEADER, header(&stat)?);
    Ok(resp)
}

async fn put(ctx: &Ctx, id: &str, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let path = query_path(ctx)?;
    let svc = service(ctx);
    let c = svc.get(id)?;
    // The copy may write into the container's volumes: their remembered sizes are dropped
    // before and after it (a walk that overlapped the copy is not kept).
    let volumes: Vec<String> =
        c.mounts.inspect_mounts().into_iter().map(|m| m.name).filter(|n| !n.is_empty()).collect();
    let note_written = |names: &[String]| names.iter().for_each(|n| ctx.engine.volumes().note_written(n));
    note_written(&volumes);
    let options = ExtractOptions {
        no_overwrite_dir_non_dir: ctx.query.bool("noOverwriteDirNonDir"),
        copy_uid_gid: ctx.query.bool("copyUIDGID"),
        container_user: None,
    };
    let reader = body_reader(req);
    let result = tokio::task::spawn_blocking(move || {
        with_view(&svc, &c, |v| strata_fsview::extract(v, &path, reader, &options).map_err(|e| view_error(&c, e)))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;
    note_written(&volumes);
    result?;
    Ok(status(StatusCode::OK))
}

async fn export(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let svc = service(ctx);
    let c = svc.get(id)?;
    let (tx, rx) = mpsc::channel(STREAM_DEPTH);
    tokio::task::spawn_blocking(move || {
        // Always the merged directory (never /proc/<pid>/root): /proc, /sys and /dev of a
        // running container are not part of its filesystem.
        let rootfs = match svc.layers().mount_rw(&c.id) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let result = ContainerView::from_plan(rootfs, &c.mounts).and_then(|v| {
            let mut w = ChannelWriter::new(tx.clone());
            strata_fsview::export(&v, &mut w)?;
            w.flush().map_err(|e| ViewError::Io { op: "send", path: "/".into(), source: e })
        });
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
        let _ = svc.layers().unmount_rw(&c.id);
    });
    let mut resp = Response::new(channel_body(rx));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    Ok(resp)
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&changes=&pause=`: the container's
/// writable layer becomes a new image layer on top of its image.
pub async fn commit(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let q = Arc::clone(&ctx.query);
    let reference = q.get("container").unwrap_or_default().to_owned();
    let svc = service(ctx);
    let c = svc.get(&reference)?;
    let repo = q.get("repo").unwrap_or_default();
    let tag = match repo {
        "" => None,
        r => {
            let t = q.get("tag").filter(|t| !t.is_empty()).unwrap_or("latest");
            Some(
                strata_image::Reference::parse_normalized(&format!("{r}:{t}"))
                    .map_err(|e| ApiError::bad_request(e.to_string()))?,
            )
        }
    };
    let options = strata_image::CommitOptions {
        container_id: c.id.clone(),
        container_config: serde_json::to_value(&c.config).unwrap_or_default(),
        changes: q.get_all("changes").into_iter().map(str::to_owned).collect(),
        author: q.get("author").unwrap_or_default().to_owned(),
        comment: q.get("comment").unwrap_or_default().to_owned(),
        tag,
    };
    let engine = Arc::clone(&ctx.engine);
    let pause = q.get("pause").is_none_or(|p| p != "0" && p != "false") && svc.is_live(&c.id);
    if pause {
        let _ = svc.pause(&c.id, true).await;
    }
    let result = tokio::task::spawn_blocking(move || -> ApiResult<String> {
        let images = engine.images();
        let parent = images.resolve(&c.image_id)?;
        let scratch = engine.data_root().join(strata_engine::IMAGE_TMP_DIR);
        std::fs::create_dir_all(&scratch).map_err(|e| ApiError::internal(e.to_string()))?;
        let mut diff = tempfile::tempfile_in(&scratch).map_err(|e| ApiError::internal(e.to_string()))?;
        images.layers().rw_diff_tar(&c.id, &mut diff).map_err(|e| ApiError::internal(e.to_string()))?;
        std::io::Seek::rewind(&mut diff).map_err(|e| ApiError::internal(e.to_string()))?;
        let image = images.commit(&parent, std::io::BufReader::new(diff), &options)?;
        Ok(image.id.to_string())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()));
    if pause {
        let _ = svc.pause(&reference, false).await;
    }
    let id = result??;
    Ok(json(StatusCode::CREATED, &json!({ "Id": id })))
}
