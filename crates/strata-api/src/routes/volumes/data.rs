//! strata's extensions under `/volumes` that move data: export, import, clone, backup, restore.
//!
//! | route | body in | answer |
//! |---|---|---|
//! | `GET /volumes/{name}/export` | — | `application/x-tar`: the contents, plain tar |
//! | `POST /volumes/{name}/import[?force=1][&progress=1]` | tar, gzip or zstd | `{"Entries","Size"}` |
//! | `POST /volumes/{name}/clone?to=DST[&progress=1]` | — | 201, the new volume |
//! | `POST /volumes/{name}/backup[?pause=0]` | — | `application/vnd.strata.volume-backup`: zstd tar, then the manifest frame |
//! | `POST /volumes/restore[?name=NEW][&force=1][&progress=1]` | manifest frame, then the zstd tar | `{"Volume","Manifest","Entries","Size"}` |
//!
//! The volume work runs on blocking threads; request bodies reach it through a bounded channel
//! ([`crate::blocking_io`]) and streamed answers leave through one, so memory stays
//! bounded by [`STREAM_DEPTH`] chunks whatever the size of the volume. An error after a stream
//! has started aborts the response (the client sees a cut stream, never a short success).
//!
//! Import, restore and clone take `?progress=1`: the checks that can refuse the request at once
//! (no such volume, not empty, in use, exists) still answer with their status code; then the
//! answer is 200 `application/json`, one JSON object per line as Docker's pull and load write
//! them: `{"status":"Restoring","progressDetail":{"current":N,"total":M},"id":NAME}` while the
//! work runs (at most five a second; `total` absent when unknown), `{"status":"Syncing",…}`
//! before the final flush, and last either `{"status":"Restored","id":NAME,"aux":ANSWER}`, where
//! `ANSWER` is the body the request answers without `progress`, or
//! `{"errorDetail":{"code":STATUS,"message":M},"error":M}`. Import's total is the request's
//! `Content-Length` when it has one.

use std::io::Write;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use strata_volume::{Progress, ProgressFn, VolumeError, Volumes};
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

/// One line of a progress stream.
fn json_line(v: &Value) -> Bytes {
    let mut line = v.to_string().into_bytes();
    line.push(b'\n');
    Bytes::from(line)
}

/// A progress report as Docker's JSON messages write one.
fn progress_line(id: &str, p: Progress) -> Value {
    let detail = match (p.stage, p.total) {
        (strata_volume::Stage::Syncing, _) => json!({}),
        (_, Some(total)) => json!({"current": p.current, "total": total}),
        (_, None) => json!({"current": p.current}),
    };
    json!({"status": p.stage.as_str(), "progressDetail": detail, "id": id})
}

/// The answer of `?progress=1` (see the module docs): `work` runs on a blocking thread with a
/// callback whose reports become JSON lines; its result ends the stream as `{"status": done,
/// "aux": …}` or as an error line. Reports the client does not read fast enough are dropped,
/// never waited for.
fn progress_response<T: Serialize + Send + 'static>(
    ctx: &Ctx,
    id: String,
    done: &'static str,
    work: impl FnOnce(&Volumes, ProgressFn<'_>) -> Result<T, VolumeError> + Send + 'static,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel(STREAM_DEPTH);
    let engine = ctx.engine.clone();
    tokio::task::spawn_blocking(move || {
        let report = |p: Progress| {
            let _ = tx.try_send(Ok(json_line(&progress_line(&id, p))));
        };
        let last = match work(engine.volumes(), &report) {
            Ok(answer) => json!({"status": done, "id": id, "aux": answer}),
            Err(e) => {
                let e = ApiError::from(e);
                tracing::warn!(volume = %id, error = %e.message, "volume transfer failed");
                json!({"errorDetail": {"code": e.status.as_u16(), "message": e.message}, "error": e.message})
            }
        };
        let _ = tx.blocking_send(Ok(json_line(&last)));
    });
    let mut resp = Response::new(channel_body(rx));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
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

/// `POST /volumes/{name}/import[?force=1][&progress=1]`.
pub async fn import(ctx: &Ctx, name: &str, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let force = ctx.query.bool("force");
    let checked = name.to_owned();
    // Refused before the body is read: the client sees the answer, not a reset connection.
    blocking(ctx, move |v| v.check_fillable(false, &checked, force)).await?;
    let input_len =
        req.parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let reader = body_reader(req);
    let name = name.to_owned();
    if ctx.query.bool("progress") {
        return Ok(progress_response(ctx, name.clone(), "Imported", move |v, progress| {
            let r = v.import(&name, reader, force, input_len, Some(progress))?;
            Ok(ImportBody { entries: r.entries, size: r.bytes })
        }));
    }
    let report = blocking(ctx, move |v| v.import(&name, reader, force, input_len, None)).await?;
    Ok(json(StatusCode::OK, &ImportBody { entries: report.entries, size: report.bytes }))
}

/// `POST /volumes/{name}/clone?to=DST[&progress=1]` → 201 with the new volume (200 and a
/// progress stream with `progress`).
pub async fn clone(ctx: &Ctx, name: &str) -> ApiResult<Response<Body>> {
    let Some(to) = ctx.query.get("to").filter(|t| !t.is_empty()).map(str::to_owned) else {
        return Err(ApiError::bad_request("clone: the name of the new volume is missing (query parameter \"to\")"));
    };
    let name = name.to_owned();
    if ctx.query.bool("progress") {
        let (src, dst) = (name.clone(), to.clone());
        blocking(ctx, move |v| v.check_clonable(&src, &dst)).await?;
        return Ok(progress_response(ctx, to.clone(), "Cloned", move |v, progress| {
            v.clone_volume(&name, &to, Some(progress)).map(VolumeBody::new)
        }));
    }
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

/// `POST /volumes/restore[?name=NEW][&force=1][&progress=1]`: answers once the data is applied,
/// its checksum verified and the volume shows it.
pub async fn restore(ctx: &Ctx, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let force = ctx.query.bool("force");
    let name = ctx.query.get("name").filter(|n| !n.is_empty()).map(str::to_owned);
    if let Some(checked) = name.clone() {
        blocking(ctx, move |v| v.check_fillable(true, &checked, force)).await?;
    }
    let reader = body_reader(req);
    let answer =
        |(volume, manifest, report): (strata_volume::Volume, strata_backup::Manifest, strata_volume::ImportReport)| {
            RestoreBody { volume: VolumeBody::new(volume), manifest, entries: report.entries, size: report.bytes }
        };
    if ctx.query.bool("progress") {
        let id = name.clone().unwrap_or_default();
        return Ok(progress_response(ctx, id, "Restored", move |v, progress| {
            v.restore(reader, name.as_deref(), force, Some(progress)).map(answer)
        }));
    }
    let restored = blocking(ctx, move |v| v.restore(reader, name.as_deref(), force, None)).await?;
    Ok(json(StatusCode::OK, &answer(restored)))
}
