//! Route handlers, one module per API area. Each area's `route` function matches the method and
//! the path segments after the area name and returns `None` for a route it does not have (the
//! router then answers Docker's `404 page not found`).

pub mod archive;
pub mod containers;
pub mod events;
pub mod exec;
pub mod images;
pub mod networks;
pub mod plugins;
pub mod prune;
pub mod system;
pub mod volumes;

use http::{Method, Response};

use crate::error::ApiResult;
use crate::http::{ApiRequest, Body};
use crate::router::Ctx;

/// Dispatches to the area named by the first path segment.
pub async fn route_area(
    ctx: &Ctx,
    area: &str,
    method: &Method,
    rest: &[&str],
    req: &mut ApiRequest,
) -> Option<ApiResult<Response<Body>>> {
    match area {
        "system" => system::route(ctx, method, rest, req).await,
        "containers" => containers::route(ctx, method, rest, req).await,
        "exec" => exec::route(ctx, method, rest, req).await,
        "events" if rest.is_empty() && method == Method::GET => Some(events::events(ctx).await),
        "commit" if rest.is_empty() && method == Method::POST => Some(archive::commit(ctx).await),
        "images" => images::route(ctx, method, rest, req).await,
        "volumes" => volumes::route(ctx, method, rest, req).await,
        "networks" => networks::route(ctx, method, rest, req).await,
        "plugins" => plugins::route(ctx, method, rest),
        "build" if rest == ["prune"] && method == Method::POST => Some(prune::build_cache(ctx)),
        // Objects strata does not have yet must answer 404 JSON so that `docker inspect`'s type
        // probing moves on to the next kind.
        "services" | "nodes" | "secrets" | "configs" | "tasks" | "swarm" => {
            system::absent_object_kind(area, method, rest)
        }
        _ => None,
    }
}
