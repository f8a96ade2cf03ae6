//! `/plugins`: strata has no managed plugins (no plugin store and no registry client), so it
//! answers as a Docker engine with none installed — `docker plugin ls` prints an empty table,
//! `inspect`, `rm`, `enable`, `disable`, `set`, `push` and `upgrade` of a name say the plugin
//! is not found — and refuses installing or creating one with a clear 501 instead of a
//! misleading "not found".

use http::{Method, Response, StatusCode};

use crate::error::{ApiError, ApiResult};
use crate::http::{Body, json};
use crate::router::Ctx;

/// The filters `GET /plugins` accepts (Docker's).
const LIST_FILTERS: &[&str] = &["enabled", "capability"];

/// Why installing a plugin fails here.
fn cannot_install(remote: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!(
            "error resolving plugin reference: strata does not install managed plugins (no plugin store or registry \
             client); cannot install {remote:?}"
        ),
    )
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("plugin \"{name}\" not found"))
}

pub fn route(ctx: &Ctx, method: &Method, rest: &[&str]) -> Option<ApiResult<Response<Body>>> {
    let remote = || ctx.query.get("remote").unwrap_or_default().to_owned();
    Some(match (method, rest) {
        (&Method::GET, []) => list(ctx),
        (&Method::GET, ["privileges"]) | (&Method::POST, ["pull"]) => Err(cannot_install(&remote())),
        (&Method::POST, ["create"]) => Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "strata does not create managed plugins (no plugin store)".to_owned(),
        )),
        (&Method::GET, [name, "json"]) | (&Method::DELETE, [name]) => Err(not_found(name)),
        (&Method::POST, [name, "enable" | "disable" | "set" | "push"]) => Err(not_found(name)),
        // Docker names the plugin with its tag here.
        (&Method::POST, [name, "upgrade"]) => {
            Err(not_found(&if name.contains(':') { (*name).to_owned() } else { format!("{name}:latest") }))
        }
        _ => return None,
    })
}

/// `GET /plugins`: none, once the filters are valid.
fn list(ctx: &Ctx) -> ApiResult<Response<Body>> {
    let filters = ctx.query.filters()?;
    filters.validate(LIST_FILTERS)?;
    filters.bool_value("enabled")?;
    Ok(json(StatusCode::OK, &[] as &[serde_json::Value]))
}
