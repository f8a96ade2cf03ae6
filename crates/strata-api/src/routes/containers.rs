//! `/containers`: create, start, attach, wait, logs, stop, kill, restart, remove, list,
//! inspect, prune, rename, resize, pause, changes — Docker's wire shapes over the container
//! service.
//!
//! Streams follow Docker exactly, because the CLI depends on the details: `attach` answers a
//! bare `101 UPGRADED` and then speaks raw bytes (TTY) or 8-byte-header frames; `wait` sends its
//! headers at once and the status line only when the condition is met; `logs` frames the same
//! way as attach.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_TYPE, UPGRADE};
use http::{HeaderValue, Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use strata_container::record::Container;
use strata_container::state::{Status, rfc3339_nanos};
use strata_container::{AttachWait, Class, ContainerError, Containers, RemoveOptions, WaitCondition};
use strata_runtime::logs::{LogOptions, LogReader, format_timestamp, parse_unix_timestamp};
use strata_runtime::{OutputChunk, Stream};
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, ApiResult};
use crate::http::{ApiRequest, Body, json, status, streaming};
use crate::router::{BareResponse, Ctx};
use crate::version::ApiVersion;

/// From this version on, a non-TTY stream is announced as multiplexed.
const MULTIPLEXED_CONTENT_TYPE: ApiVersion = ApiVersion::new(1, 42);

impl From<ContainerError> for ApiError {
    fn from(e: ContainerError) -> ApiError {
        match e.class() {
            Class::BadRequest => ApiError::bad_request(e.to_string()),
            Class::NotFound => ApiError::not_found(e.to_string()),
            Class::Conflict => ApiError::conflict(e.to_string()),
            Class::NotModified => ApiError::new(StatusCode::NOT_MODIFIED, ""),
            Class::Internal => ApiError::internal(e.to_string()),
            Class::Volume => match e {
                ContainerError::Volume(v) => ApiError::from(v),
                other => ApiError::internal(other.to_string()),
            },
        }
    }
}

/// Routes under `/containers`.
pub async fn route(
    ctx: &Ctx,
    method: &Method,
    rest: &[&str],
    req: &mut ApiRequest,
) -> Option<ApiResult<Response<Body>>> {
    if let [id, what @ ("archive" | "export")] = rest {
        return super::archive::route(ctx, method, id, what, req).await;
    }
    let result = match (method, rest) {
        (&Method::POST, ["create"]) => create(ctx, req).await,
        (&Method::GET, ["json"]) => list(ctx).await,
        (&Method::POST, ["prune"]) => prune(ctx).await,
        (&Method::GET, [id, "json"]) => inspect(ctx, id).await,
        (&Method::POST, [id, "start"]) => start(ctx, id).await,
        (&Method::POST, [id, "stop"]) => stop(ctx, id, false).await,
        (&Method::POST, [id, "restart"]) => stop(ctx, id, true).await,
        (&Method::POST, [id, "kill"]) => kill(ctx, id).await,
        (&Method::POST, [id, "wait"]) => wait(ctx, id).await,
        (&Method::POST, [id, "attach"]) => attach(ctx, id, req).await,
        (&Method::GET, [id, "logs"]) => logs(ctx, id).await,
        (&Method::POST, [id, "resize"]) => resize(ctx, id),
        (&Method::POST, [id, "rename"]) => rename(ctx, id),
        (&Method::POST, [id, "pause"]) => pause(ctx, id, true).await,
        (&Method::POST, [id, "unpause"]) => pause(ctx, id, false).await,
        (&Method::GET, [id, "changes"]) => changes(ctx, id).await,
        (&Method::POST, [id, "exec"]) => super::exec::create(ctx, id, req).await,
        (&Method::DELETE, [id]) => remove(ctx, id).await,
        _ => return None,
    };
    // 304 has no body.
    Some(match result {
        Err(e) if e.status == StatusCode::NOT_MODIFIED => Ok(status(StatusCode::NOT_MODIFIED)),
        other => other,
    })
}

pub(crate) fn service(ctx: &Ctx) -> Arc<Containers> {
    Arc::clone(ctx.engine.containers())
}

/// Runs blocking container work off the async threads.
async fn blocking<T: Send + 'static>(
    ctx: &Ctx,
    f: impl FnOnce(&Containers) -> Result<T, ContainerError> + Send + 'static,
) -> ApiResult<T> {
    let c = service(ctx);
    match tokio::task::spawn_blocking(move || f(&c)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(format!("container operation failed: {e}"))),
    }
}

fn mount_api(v: ApiVersion) -> strata_mount::ApiVersion {
    strata_mount::ApiVersion::new(v.major, v.minor)
}

// ---- create, start, stop ----------------------------------------------------------------------

async fn create(ctx: &Ctx, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let body: strata_container::spec::CreateBody = req.json().await?;
    if body.config.image.is_empty() {
        return Err(ApiError::bad_request("config cannot be empty in order to create a container"));
    }
    let name = ctx.query.get("name").map(str::to_owned);
    let api = mount_api(ctx.version);
    let network = super::networks::network_for_create(ctx, &body).await?;
    let mut created = blocking(ctx, move |c| c.create(name.as_deref(), body, api)).await?;
    if let Some((net, aliases)) = network {
        super::networks::attach_created(ctx, &created.id, &net, aliases).await?;
        created.warnings.push(super::networks::NO_BRIDGE_WARNING.to_owned());
    }
    Ok(json(StatusCode::CREATED, &json!({ "Id": created.id, "Warnings": created.warnings })))
}

async fn start(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    super::networks::check_for_start(ctx, id).await?;
    service(ctx).start(id).await?;
    Ok(status(StatusCode::NO_CONTENT))
}

fn signal_param(ctx: &Ctx) -> ApiResult<Option<i32>> {
    match ctx.query.get("signal").filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => strata_container::service::parse_signal(s)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid signal: {s}"))),
    }
}

async fn stop(ctx: &Ctx, id: &str, restart: bool) -> ApiResult<Response<Body>> {
    let signal = signal_param(ctx)?;
    let timeout = ctx.query.int("t")?;
    let svc = service(ctx);
    if restart {
        svc.restart(id, signal, timeout).await?;
    } else {
        svc.stop(id, signal, timeout).await?;
    }
    Ok(status(StatusCode::NO_CONTENT))
}

async fn kill(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let signal = signal_param(ctx)?.unwrap_or(rustix::process::Signal::KILL.as_raw());
    service(ctx).kill(id, signal).await?;
    Ok(status(StatusCode::NO_CONTENT))
}

async fn pause(ctx: &Ctx, id: &str, pause: bool) -> ApiResult<Response<Body>> {
    service(ctx).pause(id, pause).await?;
    Ok(status(StatusCode::NO_CONTENT))
}

async fn remove(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let options = RemoveOptions { force: ctx.query.bool("force"), volumes: ctx.query.bool("v") };
    service(ctx).remove(id, options).await?;
    Ok(status(StatusCode::NO_CONTENT))
}

fn rename(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let name = ctx.query.get("name").unwrap_or_default();
    service(ctx).rename(id, name)?;
    Ok(status(StatusCode::NO_CONTENT))
}

fn resize(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let h = ctx.query.int("h")?.unwrap_or(0);
    let w = ctx.query.int("w")?.unwrap_or(0);
    if !(0..=u16::MAX as i64).contains(&h) || !(0..=u16::MAX as i64).contains(&w) {
        return Err(ApiError::bad_request("invalid terminal size"));
    }
    service(ctx).resize(id, h as u16, w as u16)?;
    Ok(status(StatusCode::OK))
}

// ---- wait ------------------------------------------------------------------------------------

async fn wait(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let raw = ctx.query.get("condition").unwrap_or_default();
    let condition =
        WaitCondition::parse(raw).ok_or_else(|| ApiError::bad_request(format!("invalid condition: \"{raw}\"")))?;
    let svc = service(ctx);
    let (_, rx, c) = svc.watch(id)?;
    let was_running = c.state.is_running();
    let with_null_error = ctx.version < ApiVersion::new(1, 45);
    let body = futures_util::stream::once(async move {
        let code = svc.wait(rx, condition, was_running).await.unwrap_or(-1);
        let line =
            if with_null_error { json!({"Error": null, "StatusCode": code}) } else { json!({"StatusCode": code}) };
        Ok::<_, std::io::Error>(Bytes::from(format!("{line}\n")))
    });
    let mut resp = Response::new(streaming(body));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

// ---- attach and logs ---------------------------------------------------------------------------

/// One piece of output as the client reads it: raw for a TTY, else an 8-byte header (stream,
/// 0, 0, 0, big-endian length) and the payload.
pub(crate) fn frame(tty: bool, stream: Stream, payload: &[u8]) -> Bytes {
    if tty {
        return Bytes::copy_from_slice(payload);
    }
    let mut b = BytesMut::with_capacity(8 + payload.len());
    b.put_u8(stream as u8);
    b.put_slice(&[0, 0, 0]);
    b.put_u32(payload.len() as u32);
    b.put_slice(payload);
    b.freeze()
}

fn stream_content_type(ctx: &Ctx, tty: bool) -> HeaderValue {
    if !tty && ctx.version >= MULTIPLEXED_CONTENT_TYPE {
        HeaderValue::from_static("application/vnd.docker.multiplexed-stream")
    } else {
        HeaderValue::from_static("application/vnd.docker.raw-stream")
    }
}

/// Which output a hijacked client wants, and whether its end of input closes the process's stdin.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wanted {
    pub stdout: bool,
    pub stderr: bool,
    pub close_stdin: bool,
}

/// Serves a hijacked connection: the client's input to the process's stdin (until the client
/// half-closes), the process's output to the client (until the process's output ends, also after
/// the client half-closed), then closes.
pub(crate) async fn pump<R, W>(
    mut reader: R,
    mut writer: W,
    mut output: strata_runtime::OutputSubscription,
    stdin: Option<strata_runtime::StdinWriter>,
    tty: bool,
    want: Wanted,
    before_close: impl std::future::Future<Output = ()>,
) where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin,
{
    if let Some(mut stdin) = stdin {
        tokio::spawn(async move {
            let _ = stdin.copy_from(&mut reader).await;
            if want.close_stdin {
                stdin.close();
            }
        });
    }
    while let Some(chunk) = output.next().await {
        let Ok(OutputChunk { stream, bytes }) = chunk else { continue };
        let wanted = match stream {
            Stream::Stdout => want.stdout,
            Stream::Stderr => want.stderr,
            Stream::Stdin => false,
        };
        if wanted && writer.write_all(&frame(tty, stream, &bytes)).await.is_err() {
            break;
        }
    }
    let _ = writer.flush().await;
    before_close.await;
    let _ = writer.shutdown().await;
}

/// The headers of a hijacked stream's `101`.
pub(crate) fn upgraded_response(ctx: &Ctx, tty: bool) -> Response<Body> {
    let mut resp = Response::new(crate::http::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, stream_content_type(ctx, tty));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("tcp"));
    resp
}

async fn attach(ctx: &Ctx, id: &str, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let q = Arc::clone(&ctx.query);
    let (want_stdin, want_stdout, want_stderr) = (q.bool("stdin"), q.bool("stdout"), q.bool("stderr"));
    let svc = service(ctx);
    let (container, waiting) = svc.attach(id)?;
    let Some(on_upgrade) = req.upgrade() else {
        return Err(ApiError::bad_request("attach needs a connection upgrade (Upgrade: tcp)"));
    };
    let tty = container.config.tty;
    let stdin_once = container.config.stdin_once;
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "attach upgrade failed");
                return;
            }
        };
        let (reader, mut writer) = tokio::io::split(TokioIo::new(upgraded));
        let attachment = match waiting {
            AttachWait::Now(a) => a,
            AttachWait::Later(rx) => match rx.await {
                Ok(a) => a,
                Err(_) => {
                    let _ = writer.shutdown().await;
                    return;
                }
            },
        };
        let stdin = if want_stdin { attachment.io.take_stdin().ok() } else { None };
        let want = Wanted { stdout: want_stdout, stderr: want_stderr, close_stdin: stdin_once };
        pump(reader, writer, attachment.output, stdin, tty, want, std::future::ready(())).await;
    });
    let mut resp = upgraded_response(ctx, tty);
    resp.extensions_mut().insert(BareResponse);
    Ok(resp)
}

async fn logs(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let q = Arc::clone(&ctx.query);
    let (stdout, stderr) = (q.bool("stdout"), q.bool("stderr"));
    if !stdout && !stderr {
        return Err(ApiError::bad_request("You must choose at least one stream"));
    }
    let svc = service(ctx);
    let c = svc.get(id)?;
    let Some(path) = svc.log_file(&c) else {
        return Err(ApiError::new(StatusCode::NOT_IMPLEMENTED, "configured logging driver does not support reading"));
    };
    let tail = match q.get("tail") {
        None | Some("") | Some("all") => None,
        Some(n) => Some(n.parse::<i64>().map(|n| n.max(0) as usize).unwrap_or(usize::MAX)),
    };
    let time = |key: &str| -> ApiResult<Option<SystemTime>> {
        match q.get(key).filter(|s| !s.is_empty() && *s != "0") {
            None => Ok(None),
            Some(s) => parse_unix_timestamp(s)
                .map(Some)
                .ok_or_else(|| ApiError::bad_request(format!("invalid value for \"{key}\": {s}"))),
        }
    };
    let follow = q.bool("follow");
    let options = LogOptions { stdout, stderr, follow, tail, since: time("since")?, until: time("until")? };
    let live = if follow { svc.log_follow(&c.id) } else { None };
    let timestamps = q.bool("timestamps");
    let tty = c.config.tty;
    let reader = if path.exists() {
        Some(LogReader::open(&path, options, live).map_err(|e| ApiError::internal(format!("cannot read logs: {e}")))?)
    } else {
        None
    };
    let body = futures_util::stream::unfold(reader, move |reader| async move {
        let mut reader = reader?;
        match reader.next().await {
            Ok(Some(entry)) => {
                let mut payload = Vec::with_capacity(entry.bytes.len() + 32);
                if timestamps {
                    payload.extend_from_slice(format_timestamp(entry.time).as_bytes());
                    payload.push(b' ');
                }
                payload.extend_from_slice(&entry.bytes);
                Some((Ok::<_, std::io::Error>(frame(tty, entry.stream, &payload)), Some(reader)))
            }
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
        }
    });
    let mut resp = Response::new(streaming(body));
    resp.headers_mut().insert(CONTENT_TYPE, stream_content_type(ctx, tty));
    Ok(resp)
}

// ---- views -----------------------------------------------------------------------------------

fn state_json(ctx: &Ctx, c: &Container) -> Value {
    let s = &c.state;
    let mut v = json!({
        "Status": s.status.as_str(),
        "Running": s.is_running(),
        "Paused": s.status == Status::Paused,
        "Restarting": s.status == Status::Restarting,
        "OOMKilled": s.oom_killed,
        "Dead": s.status == Status::Dead,
        "Pid": s.pid,
        "ExitCode": s.exit_code,
        "Error": s.error,
        "StartedAt": rfc3339_nanos(s.started_at),
        "FinishedAt": rfc3339_nanos(s.finished_at),
    });
    if let Some(h) = ctx.engine.containers().health().get(&c.id) {
        v["Health"] = json!(h);
    }
    v
}

/// `docker ps`'s status words, with the health of a running container that has a healthcheck.
fn status_text(ctx: &Ctx, c: &Container, now: SystemTime) -> String {
    let text = c.state.describe(now);
    match ctx.engine.containers().health().get(&c.id) {
        Some(h) if c.state.is_running() => match h.status {
            strata_container::health::HealthStatus::Starting => format!("{text} (health: starting)"),
            other => format!("{text} ({})", other.as_str()),
        },
        _ => text,
    }
}

fn created_text(c: &Container) -> String {
    rfc3339_nanos(Some(c.created))
}

/// `Command` of a listing: the path, then the arguments, those with spaces in single quotes
/// (Docker's rendering; the CLI shows it verbatim).
fn command_text(c: &Container) -> String {
    let args = strata_container::imageconfig::args_of(&c.config);
    let mut out = args.first().cloned().unwrap_or_default();
    for a in args.iter().skip(1) {
        out.push(' ');
        if a.contains(' ') {
            out.push('\'');
            out.push_str(a);
            out.push('\'');
        } else {
            out.push_str(a);
        }
    }
    out
}

fn inspect_json(ctx: &Ctx, c: &Container, size: bool) -> Value {
    let svc = ctx.engine.containers();
    let args = strata_container::imageconfig::args_of(&c.config);
    let dir = ctx.engine.data_root().join(strata_container::service::CONTAINERS_DIR).join(&c.id);
    let graph: BTreeMap<String, String> = svc.layers().rw_data(&c.id).unwrap_or_default().into_iter().collect();
    let mut v = json!({
        "Id": c.id,
        "Created": created_text(c),
        "Path": args.first().cloned().unwrap_or_default(),
        "Args": args.get(1..).unwrap_or_default(),
        "State": state_json(ctx, c),
        "Image": c.image_id,
        "ResolvConfPath": dir.join("resolv.conf"),
        "HostnamePath": dir.join("hostname"),
        "HostsPath": dir.join("hosts"),
        "LogPath": svc.log_file(c).map(|p| p.display().to_string()).unwrap_or_default(),
        "Name": format!("/{}", c.name),
        "RestartCount": c.restart_count,
        "Driver": svc.storage_driver(),
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": Value::Null,
        "HostConfig": c.host_config,
        "GraphDriver": {"Data": graph, "Name": svc.storage_driver()},
        "Mounts": c.mounts.inspect_mounts(),
        "Config": c.config,
        "NetworkSettings": network_settings(ctx, c),
    });
    if size {
        let rw = svc.size_rw(&c.id);
        v["SizeRw"] = json!(rw);
        v["SizeRootFs"] = json!(rw + image_size(ctx, c));
    }
    v
}

fn image_size(ctx: &Ctx, c: &Container) -> u64 {
    ctx.engine.images().resolve(&c.image_id).map(|i| i.size).unwrap_or(0)
}

fn network_settings(ctx: &Ctx, c: &Container) -> Value {
    json!({
        "Bridge": "", "SandboxID": "", "HairpinMode": false, "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0, "Ports": {}, "SandboxKey": "", "SecondaryIPAddresses": null,
        "SecondaryIPv6Addresses": null, "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
        "Networks": super::networks::container_networks(ctx, c),
    })
}

async fn inspect(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let c = service(ctx).get(id)?;
    let size = ctx.query.bool("size");
    Ok(json(StatusCode::OK, &inspect_json(ctx, &c, size)))
}

/// What a listing of many containers looks up once per request rather than once per
/// container: the image each `Config.Image` names now, the size of each image, the networks and
/// endpoints. Containers mostly share a few images, so a listing resolves each distinct one once.
pub(crate) struct ListLookups<'a> {
    ctx: &'a Ctx,
    /// `Config.Image` as typed → the id it resolves to now (`None`: it names nothing).
    named: HashMap<String, Option<String>>,
    /// Image id → `Size` (0 when the image is gone).
    sizes: HashMap<String, u64>,
    networks: super::networks::NetworkIndex,
}

impl<'a> ListLookups<'a> {
    pub(crate) fn new(ctx: &'a Ctx) -> ListLookups<'a> {
        ListLookups {
            ctx,
            named: HashMap::new(),
            sizes: HashMap::new(),
            networks: super::networks::NetworkIndex::load(ctx),
        }
    }

    /// Image sizes already known (`system df` has every image's).
    pub(crate) fn with_image_sizes(mut self, sizes: HashMap<String, u64>) -> Self {
        self.sizes.extend(sizes);
        self
    }

    /// `Image` in listings: what the user typed if it still names the same image, else the id.
    fn image_name(&mut self, c: &Container) -> String {
        let images = self.ctx.engine.images();
        let now = self
            .named
            .entry(c.config.image.clone())
            .or_insert_with(|| images.resolve(&c.config.image).ok().map(|i| i.id.to_string()));
        if now.as_deref() == Some(c.image_id.as_str()) { c.config.image.clone() } else { c.image_id.clone() }
    }

    pub(crate) fn image_size(&mut self, image_id: &str) -> u64 {
        if let Some(s) = self.sizes.get(image_id) {
            return *s;
        }
        let size = self.ctx.engine.images().resolve(image_id).map(|i| i.size).unwrap_or(0);
        self.sizes.insert(image_id.to_owned(), size);
        size
    }
}

/// One container as `GET /containers/json` (and `/system/df`) shows it; with `size`, `SizeRw`
/// (left out when 0, as Docker does) and `SizeRootFs`.
pub(crate) fn list_entry(look: &mut ListLookups<'_>, c: &Container, size: bool, now: SystemTime) -> Value {
    let ctx = look.ctx;
    let svc = ctx.engine.containers();
    let mode = c.host_config.network_mode.clone();
    let mut v = json!({
        "Id": c.id,
        "Names": [format!("/{}", c.name)],
        "Image": look.image_name(c),
        "ImageID": c.image_id,
        "Command": command_text(c),
        "Created": c.created.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "Ports": [],
        "Labels": c.config.labels.clone().unwrap_or_default(),
        "State": c.state.status.as_str(),
        "Status": status_text(ctx, c, now),
        "HostConfig": {"NetworkMode": mode},
        "NetworkSettings": {"Networks": look.networks.container_networks(c)},
        "Mounts": c.mounts.inspect_mounts(),
    });
    if size {
        let rw = svc.size_rw(&c.id);
        if rw > 0 {
            v["SizeRw"] = json!(rw);
        }
        v["SizeRootFs"] = json!(rw + look.image_size(&c.image_id));
    }
    v
}

/// The filters `GET /containers/json` accepts.
const LIST_FILTERS: &[&str] = &[
    "ancestor",
    "before",
    "exited",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "expose",
    "since",
    "status",
    "volume",
];

const STATUSES: &[&str] = &["created", "restarting", "running", "removing", "paused", "exited", "dead"];

fn matches_filters(
    ctx: &Ctx,
    f: &strata_engine::filters::Filters,
    c: &Container,
    ancestors: &[String],
) -> ApiResult<bool> {
    if f.contains("status") && !f.get("status").any(|s| s == c.state.status.as_str()) {
        return Ok(false);
    }
    if f.contains("health") {
        let health = ctx.engine.containers().health().get(&c.id).map(|h| h.status.as_str()).unwrap_or("none");
        if !f.get("health").any(|h| h == health) {
            return Ok(false);
        }
    }
    if f.contains("name") && !f.get("name").any(|n| c.name.contains(n.trim_start_matches('/'))) {
        return Ok(false);
    }
    if f.contains("id") && !f.get("id").any(|p| c.id.starts_with(p)) {
        return Ok(false);
    }
    if f.contains("exited") {
        let exited = c.state.status == Status::Exited;
        if !exited || !f.get("exited").any(|e| e.parse::<i32>().ok() == Some(c.state.exit_code)) {
            return Ok(false);
        }
    }
    let labels = c.config.labels.clone().unwrap_or_default();
    if f.contains("label") && !f.match_labels("label", |k| labels.get(k).map(String::as_str)) {
        return Ok(false);
    }
    if f.contains("volume") {
        let hit = f
            .get("volume")
            .any(|v| c.mounts.inspect_mounts().iter().any(|m| m.name == v || m.destination == v || m.source == v));
        if !hit {
            return Ok(false);
        }
    }
    if f.contains("ancestor") && !ancestors.iter().any(|a| a == &c.image_id) {
        return Ok(false);
    }
    if f.contains("network") {
        let attached = ctx.engine.networks().of_container(&c.id).unwrap_or_default();
        let on = |n: &str| n == c.host_config.network_mode || attached.iter().any(|(a, _)| a.name == n || a.id == n);
        if !f.get("network").any(on) {
            return Ok(false);
        }
    }
    // `before`/`since`: created before / after the named container.
    for (key, want_before) in [("before", true), ("since", false)] {
        for reference in f.get(key) {
            let other = ctx.engine.containers().get(reference)?;
            let ok = if want_before { c.created < other.created } else { c.created > other.created };
            if !ok {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

async fn list(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let f = ctx.query.filters()?;
    f.validate(LIST_FILTERS)?;
    for s in f.get("status") {
        if !STATUSES.contains(&s) {
            return Err(ApiError::bad_request(format!("Invalid filter 'status={s}': Invalid filter: 'status'='{s}'")));
        }
    }
    for h in f.get("health") {
        if !["starting", "healthy", "unhealthy", "none"].contains(&h) {
            return Err(ApiError::bad_request(format!("Unrecognised filter value for health: {h}")));
        }
    }
    for e in f.get("exited") {
        if e.parse::<i32>().is_err() {
            return Err(ApiError::bad_request(format!("invalid filter 'exited={e}'")));
        }
    }
    let all = ctx.query.bool("all") || f.contains("status") || f.contains("exited");
    let size = ctx.query.bool("size");
    let limit = ctx.query.int("limit")?.filter(|n| *n > 0).map(|n| n as usize);
    let ancestors: Vec<String> =
        f.get("ancestor").filter_map(|a| ctx.engine.images().resolve(a).ok()).map(|i| i.id.to_string()).collect();
    let svc = service(ctx);
    let containers =
        tokio::task::spawn_blocking(move || svc.list()).await.map_err(|e| ApiError::internal(e.to_string()))??;
    let now = SystemTime::now();
    let mut look = ListLookups::new(ctx);
    let mut out = Vec::new();
    for c in &containers {
        if !all && !c.state.is_running() {
            continue;
        }
        if !matches_filters(ctx, &f, c, &ancestors)? {
            continue;
        }
        out.push(list_entry(&mut look, c, size, now));
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    Ok(json(StatusCode::OK, &out))
}

async fn prune(ctx: &Ctx) -> ApiResult<Response<Body>> {
    crate::routes::prune::containers(ctx).await
}

async fn changes(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let c = service(ctx).get(id)?;
    let svc = service(ctx);
    let changes = tokio::task::spawn_blocking(move || svc.layers().rw_changes(&c.id))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if changes.is_empty() {
        return Ok(json(StatusCode::OK, &Value::Null));
    }
    let out: Vec<Value> = changes
        .iter()
        .map(|ch| {
            let kind = match ch.kind {
                strata_layer::driver::ChangeKind::Modified => 0,
                strata_layer::driver::ChangeKind::Added => 1,
                strata_layer::driver::ChangeKind::Deleted => 2,
            };
            json!({"Path": ch.path, "Kind": kind})
        })
        .collect();
    Ok(json(StatusCode::OK, &out))
}
