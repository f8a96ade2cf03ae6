//! strata's extensions under `/volumes` that move data: export, import, clone, backup, restore.
//!
//! | route | body in | answer |
//! |---|---|---|
//! | `GET /volumes/{name}/export` | — | `application/x-tar`: the contents, plain tar |
//! | `POST /volumes/{name}/import[?force=1]` | tar, gzip or zstd | `{"Entries","Size"}` |
//! | `POST /volumes/{name}/clone?to=DST` | — | 201, the new volume |
//! | `POST /volumes/{name}/backup[?pause=0]` | — | `application/vnd.strata.volume-backup`: zstd tar, then the manifest frame |
//! | `POST /volumes/restore[?name=NEW][&force=1]` | manifest frame, then the zstd tar | `{"Volume","Manifest","Entries","Size"}` |
//!
//! The volume work runs on blocking threads; request bodies reach it through a bounded channel
//! ([`crate::blocking_io`]) and streamed answers leave through one, so memory stays
//! bounded by [`STREAM_DEPTH`] chunks whatever the size of the volume. An error after a stream
//! has started aborts the response (the client sees a cut stream, never a short success).

use std::io::Write;

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;
use tokio::sync::mpsc;

use super::{VolumeBody, blocking};
use crate::blocking_io::{ChannelWriter, STREAM_DEPTH, body_reader, channel_body};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiRequest, Body, json};
use crate::router::Ctx;

/// The media type of a backup stream.
pub const BACKUP_MEDIA_TYPE: &str = "application/vnd.strata.volume-backup";

/// A streamed response whose body a blocking worker writes with `work`; an error from it
/// aborts the body.
fn stream_response(
    ctx: &Ctx,
    content_type: &'static str,
    work: impl FnOnce(&strata_volume::Volumes, &mut ChannelWriter) -> Result<(), String> + Send + 'static,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel(STREAM_DEPTH);
    let engine = ctx.engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter::new(tx.clone());
        let result = work(engine.volumes(), &mut w).and_then(|()| w.flush().map_err(|e| e.to_string()));
        if let Err(e) = result {
            tracing::warn!(error = %e, "volume stream failed");
            let _ = tx.blocking_send(Err(std::io::Error::other(e)));
        }
    });
    let mut resp = Response::new(channel_body(rx));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// `GET /volumes/{name}/export`.
pub async fn export(ctx: &Ctx, name: &str) -> ApiResult<Response<Body>> {
    let checked = name.to_owned();
    // A missing volume is a 404 before the stream starts.
    blocking(ctx, move |v| v.inspect(&checked)).await?;
    let name = name.to_owned();
    Ok(stream_response(ctx, "application/x-tar", move |v, w| v.export(&name, w).map(|_| ()).map_err(|e| e.to_string())))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImportBody {
    entries: u64,
    size: u64,
}

/// `POST /volumes/{name}/import[?force=1]`.
pub async fn import(ctx: &Ctx, name: &str, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let force = ctx.query.bool("force");
    let checked = name.to_owned();
    // Refused before the body is read: the client sees the answer, not a reset connection.
    blocking(ctx, move |v| v.check_fillable(false, &checked, force)).await?;
    let reader = body_reader(req);
    let name = name.to_owned();
    let report = blocking(ctx, move |v| v.import(&name, reader, force, None, None)).await?;
    Ok(json(StatusCode::OK, &ImportBody { entries: report.entries, size: report.bytes }))
}

/// `POST /volumes/{name}/clone?to=DST` → 201 with the new volume.
pub async fn clone(ctx: &Ctx, name: &str) -> ApiResult<Response<Body>> {
    let Some(to) = ctx.query.get("to").filter(|t| !t.is_empty()).map(str::to_owned) else {
        return Err(ApiError::bad_request("clone: the name of the new volume is missing (query parameter \"to\")"));
    };
    let name = name.to_owned();
    let volume = blocking(ctx, move |v| v.clone_volume(&name, &to, None)).await?;
    Ok(json(StatusCode::CREATED, &VolumeBody::new(volume)))
}

/// `POST /volumes/{name}/backup[?pause=0]`: the zstd stream, then the manifest frame.
pub async fn backup(ctx: &Ctx, name: &str) -> ApiResult<Response<Body>> {
    let pause = ctx.query.get("pause").is_none() || ctx.query.bool("pause");
    let checked = name.to_owned();
    blocking(ctx, move |v| v.inspect(&checked)).await?;
    let name = name.to_owned();
    Ok(stream_response(ctx, BACKUP_MEDIA_TYPE, move |v, w| {
        let manifest = v.backup(&name, pause, &mut *w).map_err(|e| e.to_string())?;
        w.write_all(&strata_backup::frame::encode(&manifest)).map_err(|e| e.to_string())
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RestoreBody {
    volume: VolumeBody,
    manifest: strata_backup::Manifest,
    entries: u64,
    size: u64,
}

/// `POST /volumes/restore[?name=NEW][&force=1]`: answers once the data is applied, its checksum
/// verified and the volume shows it.
pub async fn restore(ctx: &Ctx, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let force = ctx.query.bool("force");
    let name = ctx.query.get("name").filter(|n| !n.is_empty()).map(str::to_owned);
    if let Some(checked) = name.clone() {
        blocking(ctx, move |v| v.check_fillable(true, &checked, force)).await?;
    }
    let reader = body_reader(req);
    let (volume, manifest, report) = blocking(ctx, move |v| v.restore(reader, name.as_deref(), force, None)).await?;
    Ok(json(
        StatusCode::OK,
        &RestoreBody { volume: VolumeBody::new(volume), manifest, entries: report.entries, size: report.bytes },
    ))
}
