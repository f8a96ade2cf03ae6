//! `/exec` and `POST /containers/{id}/exec`: extra processes in running containers.
//!
//! `start` hijacks the connection like attach (its 101 carries the common headers, as Docker's
//! does); without an upgrade (`docker exec -d`) it starts the process and answers 200.

use http::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;
use strata_container::exec::ExecConfig;
use strata_runtime::WinSize;

use super::containers::{Wanted, pump, service, upgraded_response};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiRequest, Body, json, status};
use crate::router::Ctx;

/// Routes under `/exec`.
pub async fn route(
    ctx: &Ctx,
    method: &Method,
    rest: &[&str],
    req: &mut ApiRequest,
) -> Option<ApiResult<Response<Body>>> {
    Some(match (method, rest) {
        (&Method::POST, [id, "start"]) => start(ctx, id, req).await,
        (&Method::POST, [id, "resize"]) => resize(ctx, id),
        (&Method::GET, [id, "json"]) => inspect(ctx, id),
        _ => return None,
    })
}

/// `POST /containers/{id}/exec`.
pub async fn create(ctx: &Ctx, container: &str, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let config: ExecConfig = req.json().await?;
    let id = service(ctx).exec_create(container, config)?;
    Ok(json(StatusCode::CREATED, &json!({ "Id": id })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct StartBody {
    detach: bool,
    tty: bool,
    console_size: Option<Vec<u32>>,
}

async fn start(ctx: &Ctx, id: &str, req: &mut ApiRequest) -> ApiResult<Response<Body>> {
    let body: StartBody = req.json_opt().await?.unwrap_or_default();
    let svc = service(ctx);
    let exec = svc.exec_get(id)?;
    let size = body
        .console_size
        .as_ref()
        .or(exec.config.console_size.as_ref())
        .filter(|s| s.len() == 2 && s[0] > 0 && s[1] > 0)
        .map(|s| WinSize { rows: s[0] as u16, cols: s[1] as u16 });
    let upgrade = if body.detach { None } else { req.upgrade() };
    let stream = match svc.exec_start(id, body.tty, size).await {
        Ok(s) => s,
        // Docker reports a process that could not be run inside the upgraded stream, and the
        // client reads the exit code (126/127) from the exec's inspect.
        Err(e @ strata_container::ContainerError::Start(_)) if upgrade.is_some() => {
            let on_upgrade = upgrade.expect("checked");
            let tty = body.tty || exec.config.tty;
            // Docker writes it as ordinary output (a stdout frame without a TTY).
            let text = super::containers::frame(tty, strata_runtime::Stream::Stdout, format!("{e}\r\n").as_bytes());
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let Ok(upgraded) = on_upgrade.await else { return };
                let mut io = TokioIo::new(upgraded);
                let _ = io.write_all(&text).await;
                let _ = io.shutdown().await;
            });
            return Ok(upgraded_response(ctx, tty));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(on_upgrade) = upgrade else {
        // Detached: nobody reads the output; the subscription is dropped.
        return Ok(status(StatusCode::OK));
    };
    let tty = stream.tty;
    let want = Wanted { stdout: exec.config.attach_stdout, stderr: exec.config.attach_stderr, close_stdin: true };
    let stdin = if exec.config.attach_stdin { stream.io.take_stdin().ok() } else { None };
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else { return };
        let (reader, writer) = tokio::io::split(TokioIo::new(upgraded));
        // The client asks for the exit code as soon as the stream closes: record it first.
        let exited = async {
            for _ in 0..400 {
                if !exec.state().running {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        };
        pump(reader, writer, stream.output, stdin, tty, want, exited).await;
    });
    Ok(upgraded_response(ctx, tty))
}

fn resize(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let h = ctx.query.int("h")?.unwrap_or(0);
    let w = ctx.query.int("w")?.unwrap_or(0);
    if !(0..=u16::MAX as i64).contains(&h) || !(0..=u16::MAX as i64).contains(&w) {
        return Err(ApiError::bad_request("invalid terminal size"));
    }
    service(ctx).exec_get(id)?.resize(h as u16, w as u16)?;
    Ok(status(StatusCode::OK))
}

fn inspect(ctx: &Ctx, id: &str) -> ApiResult<Response<Body>> {
    let exec = service(ctx).exec_get(id)?;
    let st = exec.state();
    let args = exec.config.cmd.clone().unwrap_or_default();
    Ok(json(
        StatusCode::OK,
        &json!({
            "ID": exec.id,
            "Running": st.running,
            "ExitCode": st.exit_code,
            "ProcessConfig": {
                "tty": exec.config.tty,
                "entrypoint": args.first().cloned().unwrap_or_default(),
                "arguments": args.get(1..).unwrap_or_default(),
                "privileged": exec.config.privileged,
                "user": exec.config.user,
            },
            "OpenStdin": exec.config.attach_stdin,
            "OpenStderr": exec.config.attach_stderr,
            "OpenStdout": exec.config.attach_stdout,
            "CanRemove": false,
            "ContainerID": exec.container_id,
            "DetachKeys": "",
            "Pid": st.pid,
        }),
    ))
}
