//! `/networks`: create, list, inspect, connect, disconnect, remove, prune.
//!
//! The records and their rules are `strata_engine::networks`; strata has no bridge, so a
//! user-defined network is membership only (containers on it share the host's network
//! namespace). This module gives them Docker's wire shapes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use http::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use strata_engine::networks::{CreateNetwork, Network, NetworkError, Networks};

use crate::error::{ApiError, ApiResult};
use crate::http::{ApiRequest, Body, json, status};
use crate::router::Ctx;

/// What a new user-defined network means here, returned as the create response's `Warning`
/// (the docker CLI prints it).
pub const NO_BRIDGE_WARNING: &str = "strata has no bridge networking: containers on this network share the host's \
     network namespace; they reach each other on localhost, not by name or alias";

/// Routes under `/networks/`.
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
        (&Method::GET, [id]) => inspect(ctx, id).await,
        (&Method::DELETE, [id]) => remove(ctx, id).await,
        (&Method::POST, [id, "connect"]) => connect(ctx, id, req).await,
        (&Method::POST, [id, "disconnect"]) => disconnect(ctx, id, req).await,
        _ => return None,
    })
}

impl From<NetworkError> for ApiError {
    fn from(e: NetworkError) -> ApiError {
        let message = e.to_string();
        let code = match e {
            NetworkError::NotFound(_) | NetworkError::NoDriver(_) => StatusCode::NOT_FOUND,
            NetworkError::Ambiguous(_) | NetworkError::BadRequest(_) => StatusCode::BAD_REQUEST,
            NetworkError::Conflict(_) => StatusCode::CONFLICT,
            NetworkError::Forbidden(_) => StatusCode::FORBIDDEN,
            NetworkError::Sql(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(code, message)
    }
}

/// Runs blocking network-store work off the async threads.
async fn blocking<T: Send + 'static>(
    ctx: &Ctx,
    f: impl FnOnce(&Networks) -> Result<T, NetworkError> + Send + 'static,
) -> ApiResult<T> {
    let n = Arc::clone(ctx.engine.networks());
    match tokio::task::spawn_blocking(move || f(&n)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(format!("network operation failed: {e}"))),
    }
}

fn rfc3339(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_nanos(t).to_string()
}

/// Docker's network JSON. `with_containers` fills `Containers` (inspect; lists leave it empty
/// as Docker does).
pub fn network_json(ctx: &Ctx, n: &Network, with_containers: bool) -> Value {
    let mut containers = serde_json::Map::new();
    if with_containers {
        let svc = ctx.engine.containers();
        for e in &n.endpoints {
            let name = svc.get(&e.container_id).map(|c| c.name).unwrap_or_default();
            containers.insert(
                e.container_id.clone(),
                json!({"Name": name, "EndpointID": "", "MacAddress": "", "IPv4Address": "", "IPv6Address": ""}),
            );
        }
    }
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": rfc3339(n.created),
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": n.enable_ipv6,
        "IPAM": {"Driver": "default", "Options": null, "Config": []},
        "Internal": n.internal,
        "Attachable": n.attachable,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": n.options,
        "Labels": n.labels,
    })
}

async fn list(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let f = ctx.query.filters()?;
    f.validate(&["dangling", "driver", "id", "label", "name", "scope", "type"])?;
    let nets = blocking(ctx, move |n| n.list_filtered(&f)).await?;
    let body: Vec<Value> = nets.iter().map(|n| network_json(ctx, n, false)).collect();
    Ok(json(StatusCode::OK, &body))
}

async fn inspect(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let id = id.to_owned();
    let n = blocking(ctx, move |n| n.get(&id)).await?;
    Ok(json(StatusCode::OK, &network_json(ctx, &n, true)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    name: String,
    driver: String,
    internal: bool,
    attachable: bool,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: bool,
    options: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
}

async fn create(ctx: &Ctx, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let b: CreateBody = req.json().await?;
    let request = CreateNetwork {
        name: b.name,
        driver: b.driver,
        internal: b.internal,
        attachable: b.attachable,
        enable_ipv6: b.enable_ipv6,
        labels: b.labels.unwrap_or_default(),
        options: b.options.unwrap_or_default(),
    };
    let id = blocking(ctx, move |n| n.create(request)).await?;
    Ok(json(StatusCode::CREATED, &json!({"Id": id, "Warning": NO_BRIDGE_WARNING})))
}

async fn remove(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let id = id.to_owned();
    let containers = Arc::clone(ctx.engine.containers());
    blocking(ctx, move |n| n.remove(&id, |c| containers.is_live(c))).await?;
    Ok(status(StatusCode::NO_CONTENT))
}

async fn prune(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let f = ctx.query.filters()?;
    f.validate(&["label", "label!", "until"])?;
    let until = super::prune::until_filter(&f)?;
    let removed = blocking(ctx, move |n| n.prune(&f, until)).await?;
    let removed = if removed.is_empty() { Value::Null } else { json!(removed) };
    Ok(json(StatusCode::OK, &json!({"NetworksDeleted": removed})))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ConnectBody {
    container: String,
    endpoint_config: Option<EndpointConfig>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointConfig {
    pub aliases: Option<Vec<String>>,
}

async fn connect(ctx: &Ctx, id: &str, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let b: ConnectBody = req.json().await?;
    let container = ctx.engine.containers().get(&b.container)?;
    let aliases = b.endpoint_config.and_then(|e| e.aliases).unwrap_or_default();
    let id = id.to_owned();
    blocking(ctx, move |n| n.connect(&id, &container.id, &aliases)).await?;
    Ok(status(StatusCode::OK))
}

async fn disconnect(ctx: &Ctx, id: &str, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let b: ConnectBody = req.json().await?;
    let container = ctx.engine.containers().get(&b.container)?;
    let id = id.to_owned();
    blocking(ctx, move |n| n.disconnect(&id, &container.id)).await?;
    Ok(status(StatusCode::OK))
}

/// Whether a `NetworkMode` names a user-defined network (not a mode strata or Docker knows).
pub fn is_user_network_mode(mode: &str) -> bool {
    !matches!(mode, "" | "default" | "host" | "none" | "bridge") && !mode.contains(':')
}

/// Before a container is created on a user-defined network: the network and the aliases the
/// request gives for it (`None` for other modes, or a network that does not exist).
pub async fn network_for_create(
    ctx: &Ctx,
    body: &strata_container::spec::CreateBody,
) -> ApiResult<Option<(Network, Vec<String>)>> {
    let mode = body.host_config.as_ref().map(|h| h.network_mode.clone()).unwrap_or_default();
    if !is_user_network_mode(&mode) {
        return Ok(None);
    }
    let aliases = body
        .networking_config
        .as_ref()
        .and_then(|n| n.get("EndpointsConfig"))
        .and_then(|e| e.get(&mode))
        .and_then(|e| e.get("Aliases"))
        .and_then(|a| serde_json::from_value::<Vec<String>>(a.clone()).ok())
        .unwrap_or_default();
    let lookup = mode.clone();
    match blocking(ctx, move |n| n.get(&lookup)).await {
        Ok(net) => Ok(Some((net, aliases))),
        // Docker creates the container anyway; its start fails (see `check_for_start`).
        Err(e) if e.status == StatusCode::NOT_FOUND => Ok(None),
        Err(e) => Err(e),
    }
}

/// Before a start: a container on a user-defined network needs the network (Docker answers
/// 404 `network X not found` at start, not at create).
pub async fn check_for_start(ctx: &Ctx, reference: &str) -> ApiResult<()> {
    let Ok(c) = ctx.engine.containers().get(reference) else { return Ok(()) };
    let mode = c.host_config.network_mode;
    if !is_user_network_mode(&mode) {
        return Ok(());
    }
    blocking(ctx, move |n| n.get(&mode).map(|_| ())).await
}

/// After such a create: record the membership.
pub async fn attach_created(ctx: &Ctx, container_id: &str, net: &Network, aliases: Vec<String>) -> ApiResult<()> {
    let (cid, nid) = (container_id.to_owned(), net.id.clone());
    blocking(ctx, move |n| n.connect(&nid, &cid, &aliases).map(|_| ())).await
}

/// `NetworkSettings.Networks` of a container: its mode's entry for host/none/default, else one
/// entry per user-defined network it is attached to, with its aliases.
pub fn container_networks(ctx: &Ctx, c: &strata_container::record::Container) -> Value {
    let networks = ctx.engine.networks();
    let attached = networks.of_container(&c.id).unwrap_or_default();
    networks_json(c, |mode| networks.get(mode).map(|n| n.id).unwrap_or_default(), &attached)
}

/// The networks and endpoints of every container, read once for a listing of many containers
/// (two queries in all, where [`container_networks`] makes two per container).
pub struct NetworkIndex {
    /// Network name → id.
    ids: HashMap<String, String>,
    /// Container id → the user-defined networks it is attached to, by name, with its aliases.
    attached: HashMap<String, strata_engine::networks::Attachments>,
}

impl NetworkIndex {
    pub fn load(ctx: &Ctx) -> NetworkIndex {
        let networks = ctx.engine.networks();
        NetworkIndex {
            ids: networks.list().unwrap_or_default().into_iter().map(|n| (n.name, n.id)).collect(),
            attached: networks.attachments().unwrap_or_default(),
        }
    }

    /// [`container_networks`] from the index.
    pub fn container_networks(&self, c: &strata_container::record::Container) -> Value {
        let attached = self.attached.get(&c.id).map(Vec::as_slice).unwrap_or_default();
        networks_json(c, |mode| self.ids.get(mode).cloned().unwrap_or_default(), attached)
    }
}

fn networks_json(
    c: &strata_container::record::Container,
    mode_network_id: impl FnOnce(&str) -> String,
    attached: &[(Network, Vec<String>)],
) -> Value {
    let blank = |network_id: &str, aliases: Value| {
        json!({
            "IPAMConfig": null, "Links": null, "Aliases": aliases, "NetworkID": network_id, "EndpointID": "",
            "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "MacAddress": "", "DriverOpts": null
        })
    };
    let mut out = serde_json::Map::new();
    let mode = c.host_config.network_mode.as_str();
    if !is_user_network_mode(mode) {
        let mode = if mode == "default" { "host" } else { mode };
        out.insert(mode.to_owned(), blank(&mode_network_id(mode), Value::Null));
    }
    for (n, aliases) in attached {
        let aliases = if aliases.is_empty() { Value::Null } else { json!(aliases) };
        out.insert(n.name.clone(), blank(&n.id, aliases));
    }
    Value::Object(out)
}
