//! `/images/…`: list, inspect, history, tag, delete, import (`create?fromSrc=-`), load, save.
//!
//! The image store does the work in blocking threads; this module turns requests into calls and
//! results into Docker's wire shapes, with the API-version gates of each shape. Uploads (import,
//! load) are read from the request body as it arrives and applied while they stream; downloads
//! (save) are written to the response as they are produced.

use std::io::Write;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Response, StatusCode};
use serde_json::{Value, json};
use strata_image::config::{empty_container_config, trim_config_for_1_50};
use strata_image::store::{DeleteItem, Image, ListFilter};
use strata_image::{ImageError, ImportOptions, LoadEvent, Reference};
use tokio::sync::mpsc;

use crate::blocking_io::{ChannelWriter, STREAM_DEPTH, body_reader, channel_body};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiRequest, Body, json, status};
use crate::router::Ctx;
use crate::version::ApiVersion;

/// Docker's zero time, for `LastTagTime` of never-tagged images.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

const V1_43: ApiVersion = ApiVersion::new(1, 43);
const V1_44: ApiVersion = ApiVersion::new(1, 44);
const V1_45: ApiVersion = ApiVersion::new(1, 45);
const V1_50: ApiVersion = ApiVersion::new(1, 50);

/// Routes under `/images/`.
pub async fn route(
    ctx: &Ctx,
    method: &Method,
    rest: &[&str],
    req: &mut ApiRequest,
) -> Option<ApiResult<Response<Body>>> {
    Some(match (method, rest) {
        (&Method::GET, ["json"]) => list(ctx).await,
        (&Method::GET, ["get"]) => save(ctx, ctx.query.get_all("names").iter().map(|s| s.to_string()).collect()).await,
        (&Method::POST, ["load"]) => load(ctx, req).await,
        (&Method::POST, ["create"]) => create(ctx, req).await,
        (&Method::POST, ["prune"]) => crate::routes::prune::images(ctx).await,
        (&Method::GET, [name @ .., "json"]) if !name.is_empty() => inspect(ctx, &name.join("/")).await,
        (&Method::GET, [name @ .., "history"]) if !name.is_empty() => history(ctx, &name.join("/")).await,
        (&Method::GET, [name @ .., "get"]) if !name.is_empty() => save(ctx, vec![name.join("/")]).await,
        (&Method::POST, [name @ .., "tag"]) if !name.is_empty() => tag(ctx, &name.join("/")).await,
        (&Method::DELETE, name) if !name.is_empty() => delete(ctx, &name.join("/")).await,
        _ => return None,
    })
}

/// Runs blocking image-store work off the async threads.
async fn blocking<T: Send + 'static>(
    ctx: &Ctx,
    f: impl FnOnce(&strata_image::ImageStore) -> Result<T, ImageError> + Send + 'static,
) -> ApiResult<T> {
    let engine = ctx.engine.clone();
    tokio::task::spawn_blocking(move || f(engine.images()))
        .await
        .map_err(|e| ApiError::internal(format!("image task failed: {e}")))?
        .map_err(ApiError::from)
}

fn repo_tags_for_list(img: &Image, v: ApiVersion) -> (Value, Value) {
    let tags = img.repo_tags();
    let digests = img.repo_digests();
    if tags.is_empty() && digests.is_empty() && v < V1_43 {
        return (json!(["<none>:<none>"]), json!(["<none>@<none>"]));
    }
    let digests = if digests.is_empty() && v < V1_43 { Value::Null } else { json!(digests) };
    (json!(tags), digests)
}

async fn list(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let filters = ctx.query.filters()?;
    filters.validate(&["dangling", "label", "before", "since", "reference"])?;
    let filter = ListFilter {
        dangling: filters.bool_value("dangling")?,
        references: filters.get("reference").map(str::to_owned).collect(),
        labels: filters.get("label").map(str::to_owned).collect(),
        before: filters.single_value("before")?.map(str::to_owned),
        since: filters.single_value("since")?.map(str::to_owned),
    };
    let v = ctx.version;
    let images = blocking(ctx, move |s| s.list(&filter)).await?;
    let body: Vec<Value> = images.iter().map(|img| summary_json(img, v)).collect();
    Ok(json(StatusCode::OK, &body))
}

/// An image as `GET /images/json` lists it (`Containers` and `SharedSize` unknown: -1).
pub(crate) fn summary_json(img: &Image, v: ApiVersion) -> Value {
    let (tags, digests) = repo_tags_for_list(img, v);
    let mut o = json!({
        "Containers": -1,
        "Created": img.created,
        "Id": img.id.to_string(),
        "Labels": img.config.config.as_ref().and_then(|c| c.get("Labels")).cloned().unwrap_or(Value::Null),
        "ParentId": img.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        "RepoDigests": digests,
        "RepoTags": tags,
        "SharedSize": -1,
        "Size": img.size,
    });
    if v < V1_44 {
        o["VirtualSize"] = json!(img.size);
    }
    o
}

async fn inspect(ctx: &Ctx, name: &str) -> ApiResult<Response<Body>> {
    let name = name.to_owned();
    let (img, data) = blocking(ctx, move |s| {
        let img = s.resolve(&name)?;
        let data = s.graph_data(&img)?;
        Ok((img, data))
    })
    .await?;
    let v = ctx.version;
    let c = &img.config;
    let mut config = c.config.clone().unwrap_or(Value::Null);
    if v >= V1_50 {
        trim_config_for_1_50(&mut config);
    }
    let mut o = json!({
        "Id": img.id.to_string(),
        "RepoTags": img.repo_tags(),
        "RepoDigests": img.repo_digests(),
        "Parent": img.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        "Comment": c.comment,
        "Created": c.created.clone().unwrap_or_default(),
        "DockerVersion": c.docker_version,
        "Author": c.author,
        "Config": config,
        "Architecture": c.architecture,
        "Os": c.os,
        "Size": img.size,
        "GraphDriver": {
            "Data": if data.is_empty() { Value::Null } else { json!(data) },
            "Name": ctx.engine.storage().driver.as_str(),
        },
        "RootFS": {"Type": "layers", "Layers": c.rootfs.diff_ids},
        "Metadata": {"LastTagTime": img.last_tag_time.clone().unwrap_or_else(|| ZERO_TIME.to_owned())},
    });
    if let Some(variant) = c.rest.get("variant") {
        o["Variant"] = variant.clone();
    }
    if v < V1_44 {
        o["VirtualSize"] = json!(img.size);
    }
    if v < V1_45 {
        o["Container"] = json!(c.container);
        o["ContainerConfig"] = c.container_config.clone().unwrap_or_else(|| Value::Object(empty_container_config()));
    }
    Ok(json(StatusCode::OK, &o))
}

async fn history(ctx: &Ctx, name: &str) -> ApiResult<Response<Body>> {
    let name = name.to_owned();
    let items = blocking(ctx, move |s| s.history(&name)).await?;
    let body: Vec<Value> = items
        .iter()
        .map(|h| {
            json!({
                "Comment": h.comment,
                "Created": h.created,
                "CreatedBy": h.created_by,
                "Id": h.id,
                "Size": h.size,
                "Tags": if h.tags.is_empty() { Value::Null } else { json!(h.tags) },
            })
        })
        .collect();
    Ok(json(StatusCode::OK, &body))
}

async fn tag(ctx: &Ctx, name: &str) -> ApiResult<Response<Body>> {
    let repo = ctx.query.get("repo").unwrap_or("");
    let tag = ctx.query.get("tag").unwrap_or("");
    let mut target = Reference::parse_normalized(repo).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !tag.is_empty() {
        let with_tag = format!("{}:{tag}", target.name());
        target = Reference::parse_normalized(&with_tag).map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    let name = name.to_owned();
    blocking(ctx, move |s| s.tag(&name, &target)).await?;
    Ok(status(StatusCode::CREATED))
}

async fn delete(ctx: &Ctx, name: &str) -> ApiResult<Response<Body>> {
    let force = ctx.query.bool("force");
    let prune = !ctx.query.bool("noprune");
    let name = name.to_owned();
    let items = blocking(ctx, move |s| s.delete(&name, force, prune)).await?;
    let body: Vec<Value> = items
        .iter()
        .map(|i| match i {
            DeleteItem::Untagged(t) => json!({"Untagged": t}),
            DeleteItem::Deleted(d) => json!({"Deleted": d}),
        })
        .collect();
    Ok(json(StatusCode::OK, &body))
}

fn json_stream_response(body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn json_line(v: &Value) -> Bytes {
    let mut line = v.to_string().into_bytes();
    line.push(b'\n');
    Bytes::from(line)
}

/// `GET /images/get?names=…` and `GET /images/{name}/get`: a `docker save` archive.
async fn save(ctx: &Ctx, names: Vec<String>) -> ApiResult<Response<Body>> {
    let plan = blocking(ctx, move |s| s.plan_save(&names)).await?;
    let (tx, rx) = mpsc::channel(STREAM_DEPTH);
    let engine = ctx.engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter::new(tx.clone());
        let result = engine.images().save(&plan, &mut w).and_then(|()| w.flush().map_err(ImageError::from));
        if let Err(e) = result {
            tracing::warn!(error = %e, "image save failed mid-stream");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let mut resp = Response::new(channel_body(rx));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    Ok(resp)
}

/// `POST /images/load`: a JSON stream; errors arrive inside it, after the 200.
async fn load(ctx: &Ctx, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let quiet = ctx.query.bool("quiet");
    let reader = body_reader(req);
    let (tx, rx) = mpsc::channel(STREAM_DEPTH);
    let engine = ctx.engine.clone();
    tokio::task::spawn_blocking(move || {
        let send = |v: Value| {
            let _ = tx.blocking_send(Ok(json_line(&v)));
        };
        let mut events = |e: LoadEvent| match e {
            LoadEvent::Layer { id, bytes } if !quiet => send(json!({
                "status": "Loading layer",
                "progressDetail": {"current": bytes, "total": bytes},
                "progress": format!("[==================================================>] {bytes}B/{bytes}B"),
                "id": id,
            })),
            LoadEvent::Layer { .. } => {}
            LoadEvent::Loaded(tag) => send(json!({"stream": format!("Loaded image: {tag}\n")})),
            LoadEvent::LoadedId(id) => send(json!({"stream": format!("Loaded image ID: {id}\n")})),
        };
        if let Err(e) = engine.images().load(reader, &mut events) {
            let m = e.to_string();
            send(json!({"errorDetail": {"message": m}, "error": m}));
        }
    });
    Ok(json_stream_response(channel_body(rx)))
}

/// `POST /images/create`: `fromSrc=-` imports the body; `fromImage` (pull) is not available.
async fn create(ctx: &Ctx, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let q = &ctx.query;
    if let Some(image) = q.get("fromImage").filter(|s| !s.is_empty()) {
        let tag = q.get("tag").filter(|t| !t.is_empty()).unwrap_or("latest");
        return Err(ApiError::not_found(format!(
            "strata does not pull images: {image}:{tag} is not here; bring it with docker load or docker import"
        )));
    }
    let src = q.get("fromSrc").unwrap_or("");
    if src != "-" {
        return Err(ApiError::internal(format!(
            "importing from {src:?} is not supported: send the tar in the request body (fromSrc=-)"
        )));
    }
    let repo = q.get("repo").unwrap_or("");
    let tag = q.get("tag").unwrap_or("");
    let reference = if repo.is_empty() {
        None
    } else {
        let mut r = Reference::parse_normalized(repo).map_err(|e| ApiError::bad_request(e.to_string()))?;
        if !tag.is_empty() {
            r = Reference::parse_normalized(&format!("{}:{tag}", r.name()))
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
        }
        Some(r)
    };
    let opts = ImportOptions {
        tag: reference,
        changes: q.get_all("changes").iter().map(|s| s.to_string()).collect(),
        message: q.get("message").unwrap_or("").to_owned(),
        source: "-".to_owned(),
    };
    let reader = body_reader(req);
    let img = blocking(ctx, move |s| s.import(reader, &opts)).await.map_err(|e| {
        if e.status == StatusCode::BAD_REQUEST
            && !e.message.contains("change command")
            && !e.message.contains("reference")
        {
            // Docker reports a tar it cannot apply as a server error.
            ApiError::internal(format!("Error processing tar file: {}", e.message))
        } else {
            e
        }
    })?;
    let body = json_line(&json!({"status": img.id.to_string()}));
    Ok(json_stream_response(crate::http::full(body)))
}
