//! `/_ping`, `/version`, `/info`: what every client asks first.

use std::collections::{BTreeMap, HashMap};

use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::{HeaderValue, Method, Response, StatusCode};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::http::{ApiRequest, Body, full, json, status};
use crate::router::Ctx;
use crate::version::{MAX_API_VERSION, MIN_API_VERSION};

/// Routes under `/system/`.
pub async fn route(
    ctx: &Ctx,
    method: &Method,
    rest: &[&str],
    _req: &mut ApiRequest,
) -> Option<ApiResult<Response<Body>>> {
    match (method, rest) {
        (&Method::GET, ["df"]) => Some(disk_usage(ctx).await),
        _ => None,
    }
}

/// The object types `/system/df?type=` accepts (API ≥ 1.42).
const DF_TYPES: [&str; 4] = ["container", "image", "volume", "build-cache"];
/// From this API version on, `/system/df` honours `type` and drops `BuilderSize`.
const DF_TYPES_VERSION: crate::version::ApiVersion = crate::version::ApiVersion::new(1, 42);

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DiskUsageBody {
    layers_size: u64,
    images: Option<Vec<serde_json::Value>>,
    containers: Option<Vec<serde_json::Value>>,
    volumes: Option<Vec<crate::routes::volumes::VolumeBody>>,
    build_cache: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    builder_size: Option<i64>,
}

/// `GET /system/df`: images (with their container counts and shared sizes), containers (with
/// `SizeRw` and `SizeRootFs`), volumes (with `UsageData`), each part only when asked for
/// (`type`, API ≥ 1.42). Image and layer figures are sums of sizes recorded when layers were
/// applied; container and volume sizes come from the services' size caches (see
/// ARCHITECTURE.md, "Disk usage").
async fn disk_usage(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let typed = ctx.version >= DF_TYPES_VERSION;
    let types = if typed { ctx.query.get_all("type") } else { Vec::new() };
    if let Some(bad) = types.iter().find(|t| !DF_TYPES.contains(t)) {
        return Err(ApiError::bad_request(format!("unknown object type: {bad}")));
    }
    let wants = |t: &str| types.is_empty() || types.contains(&t);
    let (want_images, want_containers) = (wants("image"), wants("container"));
    let volumes = if wants("volume") { Some(crate::routes::volumes::disk_usage(ctx).await?) } else { None };
    let svc = std::sync::Arc::clone(ctx.engine.containers());
    let listed = if want_images || want_containers {
        let svc = std::sync::Arc::clone(&svc);
        tokio::task::spawn_blocking(move || {
            let list = svc.list()?;
            let ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
            let sizes = if want_containers { svc.layers().rw_sizes(&ids) } else { Vec::new() };
            Ok::<_, strata_container::ContainerError>((list, sizes))
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??
    } else {
        (Vec::new(), Vec::new())
    };
    let (list, sizes) = listed;
    let mut counts: HashMap<String, u64> = HashMap::new();
    for c in &list {
        *counts.entry(c.image_id.clone()).or_default() += 1;
    }
    let (layers_size, images) = if want_images {
        let engine = ctx.engine.clone();
        let usage = tokio::task::spawn_blocking(move || engine.images().disk_usage(&counts))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))??;
        let v = ctx.version;
        let images = usage
            .images
            .iter()
            .map(|u| {
                let mut o = crate::routes::images::summary_json(&u.image, v);
                o["Containers"] = serde_json::json!(u.containers);
                o["SharedSize"] = serde_json::json!(u.shared_size);
                o
            })
            .collect();
        (usage.layers_size, Some::<Vec<serde_json::Value>>(images))
    } else {
        (0, None)
    };
    let containers = want_containers.then(|| {
        let now = std::time::SystemTime::now();
        let image_sizes: HashMap<String, u64> =
            images.iter().flatten().filter_map(|i| Some((i["Id"].as_str()?.to_owned(), i["Size"].as_u64()?))).collect();
        let mut look = crate::routes::containers::ListLookups::new(ctx).with_image_sizes(image_sizes);
        list.iter()
            .zip(&sizes)
            .map(|(c, rw)| {
                let mut o = crate::routes::containers::list_entry(&mut look, c, false, now);
                if *rw > 0 {
                    o["SizeRw"] = serde_json::json!(rw);
                }
                o["SizeRootFs"] = serde_json::json!(rw + look.image_size(&c.image_id));
                o
            })
            .collect()
    });
    let body = DiskUsageBody {
        layers_size,
        images,
        containers,
        volumes,
        build_cache: wants("build-cache").then(Vec::new),
        builder_size: (!typed).then_some(0),
    };
    Ok(json(StatusCode::OK, &body))
}

/// `HEAD|GET /_ping`. The `Api-Version` header (added by the router) is what the CLI's version
/// negotiation reads; without it the CLI falls back to API 1.24.
pub fn ping(_ctx: &Ctx, method: &Method) -> ApiResult<Response<Body>> {
    let mut resp = match *method {
        Method::HEAD => {
            let mut r = status(StatusCode::OK);
            r.headers_mut().insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            r
        }
        Method::GET => Response::new(full("OK")),
        _ => return Err(ApiError::not_found("page not found")),
    };
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, must-revalidate"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("Swarm", HeaderValue::from_static("inactive"));
    Ok(resp)
}

/// What Docker answers for swarm objects (secrets, configs, services, …) on a node that is not
/// a swarm manager: 503.
pub const NOT_SWARM_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" \
     to connect this node to swarm and try again.";

/// What `docker swarm init` and `join` get: strata has no swarm mode.
pub const NO_SWARM_MODE: &str = "strata does not implement swarm mode (no swarm init or join); for secrets on a \
     single host, use compose file secrets";

/// Object kinds strata does not manage (swarm objects): a lookup is a 404 JSON, so
/// `docker inspect NAME` probes on; creating or listing a swarm object (`docker secret create`,
/// `docker secret ls`) gets Docker's 503 for a node outside a swarm.
pub fn absent_object_kind(area: &str, method: &Method, rest: &[&str]) -> Option<ApiResult<Response<Body>>> {
    match (area, method, rest) {
        // `docker swarm init` / `join` would succeed on Docker; say plainly that strata has no
        // swarm mode rather than "page not found".
        ("swarm", &Method::POST, ["init" | "join"]) => {
            Some(Err(ApiError::new(StatusCode::NOT_IMPLEMENTED, NO_SWARM_MODE)))
        }
        ("swarm", &Method::POST, ["leave"]) => {
            Some(Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "This node is not part of a swarm")))
        }
        ("swarm", &Method::POST, ["update" | "unlock"]) | ("swarm", &Method::GET, ["unlockkey"]) => {
            Some(Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, NOT_SWARM_MANAGER)))
        }
        (_, &Method::POST, ["create"]) | (_, &Method::GET, []) => {
            Some(Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, NOT_SWARM_MANAGER)))
        }
        (_, &Method::GET, [name, ..]) => {
            Some(Err(ApiError::not_found(format!("This node is not a swarm manager. {name} cannot be inspected"))))
        }
        _ => None,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VersionBody {
    platform: Platform,
    components: Vec<Component>,
    version: String,
    api_version: String,
    #[serde(rename = "MinAPIVersion")]
    min_api_version: String,
    git_commit: String,
    go_version: String,
    os: String,
    arch: String,
    kernel_version: String,
    build_time: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Platform {
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Component {
    name: String,
    version: String,
    details: BTreeMap<String, String>,
}

/// The toolchain strata was built with, shown where Docker shows its Go version.
const TOOLCHAIN: &str = "rust";

/// `GET /version`.
pub fn version(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let e = &ctx.engine;
    let host = e.host();
    let build_time = humantime::format_rfc3339_nanos(strata_engine::build_time()).to_string();
    let mut engine_details = BTreeMap::new();
    for (k, v) in [
        ("ApiVersion", MAX_API_VERSION.to_string()),
        ("Arch", host.go_arch().to_owned()),
        ("BuildTime", build_time.clone()),
        ("Experimental", "false".to_owned()),
        ("GitCommit", strata_engine::GIT_COMMIT.to_owned()),
        ("GoVersion", TOOLCHAIN.to_owned()),
        ("KernelVersion", host.kernel_version.clone()),
        ("MinAPIVersion", MIN_API_VERSION.to_string()),
        ("Os", "linux".to_owned()),
    ] {
        engine_details.insert(k.to_owned(), v);
    }
    let mut components =
        vec![Component { name: "Engine".into(), version: strata_engine::VERSION.into(), details: engine_details }];
    for rt in e.runtimes().iter().filter(|r| r.resolved.is_some()) {
        components.push(Component {
            name: rt.name.clone(),
            version: rt.version.clone(),
            details: BTreeMap::from([("GitCommit".to_owned(), rt.commit.clone())]),
        });
    }
    let body = VersionBody {
        platform: Platform { name: "strata".into() },
        components,
        version: strata_engine::VERSION.into(),
        api_version: MAX_API_VERSION.to_string(),
        min_api_version: MIN_API_VERSION.to_string(),
        git_commit: strata_engine::GIT_COMMIT.into(),
        go_version: TOOLCHAIN.into(),
        os: "linux".into(),
        arch: host.go_arch().into(),
        kernel_version: host.kernel_version.clone(),
        build_time,
    };
    Ok(json(StatusCode::OK, &body))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InfoBody {
    #[serde(rename = "ID")]
    id: String,
    containers: u64,
    containers_running: u64,
    containers_paused: u64,
    containers_stopped: u64,
    images: u64,
    driver: String,
    driver_status: Vec<[String; 2]>,
    plugins: Plugins,
    memory_limit: bool,
    swap_limit: bool,
    cpu_cfs_period: bool,
    cpu_cfs_quota: bool,
    #[serde(rename = "CPUShares")]
    cpu_shares: bool,
    #[serde(rename = "CPUSet")]
    cpu_set: bool,
    pids_limit: bool,
    #[serde(rename = "IPv4Forwarding")]
    ipv4_forwarding: bool,
    debug: bool,
    #[serde(rename = "NFd")]
    nfd: u64,
    oom_kill_disable: bool,
    n_goroutines: u64,
    system_time: String,
    logging_driver: String,
    cgroup_driver: String,
    cgroup_version: String,
    n_events_listener: u64,
    kernel_version: String,
    operating_system: String,
    #[serde(rename = "OSVersion")]
    os_version: String,
    #[serde(rename = "OSType")]
    os_type: String,
    architecture: String,
    index_server_address: String,
    registry_config: RegistryConfig,
    #[serde(rename = "NCPU")]
    ncpu: u64,
    mem_total: u64,
    generic_resources: Option<()>,
    docker_root_dir: String,
    http_proxy: String,
    https_proxy: String,
    no_proxy: String,
    name: String,
    labels: Vec<String>,
    experimental_build: bool,
    server_version: String,
    runtimes: BTreeMap<String, RuntimePath>,
    default_runtime: String,
    swarm: Swarm,
    live_restore_enabled: bool,
    isolation: String,
    init_binary: String,
    containerd_commit: Commit,
    runc_commit: Commit,
    init_commit: Commit,
    security_options: Vec<String>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Plugins {
    volume: Vec<String>,
    network: Vec<String>,
    authorization: Option<Vec<String>>,
    log: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RegistryConfig {
    #[serde(rename = "InsecureRegistryCIDRs")]
    insecure_registry_cidrs: Vec<String>,
    index_configs: BTreeMap<String, serde_json::Value>,
    mirrors: Vec<String>,
}

#[derive(Serialize)]
struct RuntimePath {
    path: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Swarm {
    #[serde(rename = "NodeID")]
    node_id: String,
    node_addr: String,
    local_node_state: String,
    control_available: bool,
    error: String,
    remote_managers: Option<()>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Commit {
    #[serde(rename = "ID")]
    id: String,
}

/// `GET /info`: every field `docker info` prints, read from the engine and the machine.
pub async fn info(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let e = &ctx.engine;
    let host = e.host();
    let storage = e.storage();
    let default_runtime = e.runtimes().iter().find(|r| r.name == e.config().default_runtime);
    let mut warnings = Vec::new();
    if let Some(rt) = default_runtime.filter(|r| r.resolved.is_none()) {
        warnings.push(format!(
            "WARNING: the default runtime {:?} ({}) is not installed; containers cannot start",
            rt.name, rt.configured_path
        ));
    }
    let body = InfoBody {
        id: e.id().to_owned(),
        containers: 0,
        containers_running: 0,
        containers_paused: 0,
        containers_stopped: 0,
        images: e.images().count().unwrap_or(0),
        driver: storage.driver.as_str().to_owned(),
        driver_status: storage.status.iter().map(|(k, v)| [k.clone(), v.clone()]).collect(),
        plugins: Plugins {
            volume: vec!["local".into()],
            network: vec!["host".into(), "null".into()],
            authorization: None,
            log: vec!["json-file".into()],
        },
        memory_limit: false,
        swap_limit: false,
        cpu_cfs_period: false,
        cpu_cfs_quota: false,
        cpu_shares: false,
        cpu_set: false,
        pids_limit: false,
        ipv4_forwarding: false,
        debug: e.config().log_level == strata_engine::config::LogLevel::Debug,
        nfd: count_open_fds(),
        oom_kill_disable: false,
        n_goroutines: 0,
        system_time: humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string(),
        logging_driver: "json-file".into(),
        cgroup_driver: "cgroupfs".into(),
        cgroup_version: host.cgroup_version.clone(),
        n_events_listener: 0,
        kernel_version: host.kernel_version.clone(),
        operating_system: host.operating_system.clone(),
        os_version: host.os_version.clone(),
        os_type: "linux".into(),
        architecture: host.architecture.clone(),
        index_server_address: "https://index.docker.io/v1/".into(),
        registry_config: RegistryConfig {
            insecure_registry_cidrs: vec!["127.0.0.0/8".into()],
            index_configs: BTreeMap::new(),
            mirrors: vec![],
        },
        ncpu: host.ncpu,
        mem_total: host.mem_total,
        generic_resources: None,
        docker_root_dir: e.data_root().display().to_string(),
        http_proxy: String::new(),
        https_proxy: String::new(),
        no_proxy: String::new(),
        name: host.hostname.clone(),
        labels: vec![],
        experimental_build: false,
        server_version: strata_engine::VERSION.into(),
        runtimes: e
            .runtimes()
            .iter()
            .map(|r| (r.name.clone(), RuntimePath { path: r.configured_path.clone() }))
            .collect(),
        default_runtime: e.config().default_runtime.clone(),
        swarm: Swarm {
            node_id: String::new(),
            node_addr: String::new(),
            local_node_state: "inactive".into(),
            control_available: false,
            error: String::new(),
            remote_managers: None,
        },
        live_restore_enabled: false,
        isolation: String::new(),
        init_binary: String::new(),
        containerd_commit: Commit { id: String::new() },
        runc_commit: Commit { id: default_runtime.map(|r| r.commit.clone()).unwrap_or_default() },
        init_commit: Commit { id: String::new() },
        security_options: vec![],
        warnings,
    };
    Ok(json(StatusCode::OK, &body))
}

/// Open file descriptors of the daemon (Docker's `NFd`).
fn count_open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64).unwrap_or(0)
}
