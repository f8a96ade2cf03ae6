//! `strata exec`: run a command in a running container, as the docker CLI does on the wire —
//! check the container, `POST /containers/{id}/exec`, `POST /exec/{id}/start` upgraded to a raw
//! stream (or a plain request with `-d`), resize with `-t`, then the exit code from
//! `GET /exec/{id}/json`.

use std::io::IsTerminal;
use std::process::ExitCode;

use http::Method;
use serde::Serialize;
use serde_json::Value;
use strata_client::{Client, encode};

use super::container::exit_code;
use crate::streams::pump;
use crate::terminal::{self, RawMode};

/// The API version from which exec takes `ConsoleSize`.
const CONSOLE_SIZE_API: &str = "1.42";

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    detach: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Give extended privileges to the command
    #[arg(long)]
    privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    /// CONTAINER COMMAND [ARG...]
    #[arg(value_name = "CONTAINER COMMAND [ARG...]", required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// `POST /containers/{id}/exec`, in the docker CLI's field order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecBody {
    user: String,
    privileged: bool,
    tty: bool,
    attach_stdin: bool,
    attach_stderr: bool,
    attach_stdout: bool,
    detach: bool,
    detach_keys: String,
    env: Option<Vec<String>>,
    working_dir: String,
    cmd: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    console_size: Option<[u16; 2]>,
}

/// `POST /exec/{id}/start`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct StartBody {
    detach: bool,
    tty: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    console_size: Option<[u16; 2]>,
}

impl ExecArgs {
    /// The exec body for these flags; `console` is the local terminal size when it applies.
    pub fn body(&self, console: Option<(u16, u16)>, api_version: &str) -> ExecBody {
        let attach = !self.detach;
        let console_size = if self.tty && !strata_client::version_lt(api_version, CONSOLE_SIZE_API) {
            Some(console.map(|(h, w)| [h, w]).unwrap_or([0, 0]))
        } else {
            None
        };
        let env: Vec<String> = self
            .env
            .iter()
            .map(|e| match (e.contains('='), std::env::var(e)) {
                (false, Ok(v)) => format!("{e}={v}"),
                _ => e.clone(),
            })
            .collect();
        ExecBody {
            user: self.user.clone().unwrap_or_default(),
            privileged: self.privileged,
            tty: self.tty,
            attach_stdin: attach && self.interactive,
            attach_stderr: attach,
            attach_stdout: attach,
            detach: self.detach,
            detach_keys: String::new(),
            env: if env.is_empty() { None } else { Some(env) },
            working_dir: self.workdir.clone().unwrap_or_default(),
            cmd: self.args[1..].to_vec(),
            console_size,
        }
    }
}

pub async fn exec(client: &Client, a: ExecArgs) -> anyhow::Result<ExitCode> {
    let container = a.args[0].clone();
    if container.starts_with('-') {
        return Ok(super::container::unknown_flag("exec", &container));
    }
    if a.interactive && a.tty && !std::io::stdin().is_terminal() {
        eprintln!("the input device is not a TTY");
        return Ok(ExitCode::FAILURE);
    }
    if let Err(e) = client.get_json::<Value>(&format!("/containers/{}/json", encode(&container))).await {
        eprintln!("{e}");
        return Ok(ExitCode::FAILURE);
    }
    let console = if a.tty { terminal::size() } else { None };
    let body = a.body(console, client.api_version());
    let created: Value =
        match client.send_json(Method::POST, &format!("/containers/{}/exec", encode(&container)), &body).await {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{e}");
                return Ok(ExitCode::FAILURE);
            }
        };
    let id = created["Id"].as_str().unwrap_or("").to_owned();
    let start = StartBody { detach: a.detach, tty: a.tty, console_size: body.console_size };
    let start_path = format!("/exec/{}/start", encode(&id));
    if a.detach {
        return Ok(match client.send_json::<_, serde_json::Value>(Method::POST, &start_path, &start).await {
            Ok(_) => ExitCode::SUCCESS,
            // An empty 200 body is not JSON: success all the same.
            Err(strata_client::ClientError::Decode(_)) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        });
    }
    let bytes = bytes::Bytes::from(serde_json::to_vec(&start)?);
    let stream = match client.hijack(Method::POST, &start_path, "application/json", Some(bytes)).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let raw = if a.tty && a.interactive { RawMode::enable()? } else { None };
    let resize = a.tty.then(|| {
        let client = client.clone();
        let path = format!("/exec/{}/resize", encode(&id));
        tokio::spawn(async move {
            if let Some((h, w)) = terminal::size() {
                let _ = client.send_empty(Method::POST, &format!("{path}?h={h}&w={w}")).await;
            }
        })
    });
    let copied = pump(stream, a.tty, a.interactive).await;
    drop(raw);
    if let Some(r) = resize {
        r.abort();
    }
    match copied {
        Ok(crate::streams::Ended::Detached) => return Ok(ExitCode::SUCCESS),
        Ok(crate::streams::Ended::Closed) => {}
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    }
    match client.get_json::<Value>(&format!("/exec/{}/json", encode(&id))).await {
        Ok(v) => Ok(exit_code(v["ExitCode"].as_i64().unwrap_or(0))),
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        a: ExecArgs,
    }

    fn body(args: &[&str], api: &str) -> String {
        let mut argv = vec!["exec"];
        argv.extend_from_slice(args);
        let a = Wrapper::try_parse_from(argv).expect("parses").a;
        serde_json::to_string(&a.body(Some((40, 100)), api)).expect("json")
    }

    #[test]
    fn bodies_are_the_docker_clis() {
        // Captured from docker CLI 28.2.2 at API 1.41.
        assert_eq!(
            body(&["-i", "-e", "X=1", "-u", "0", "-w", "/tmp", "p1", "sh", "-c", "cat; exit 4"], "1.41"),
            r#"{"User":"0","Privileged":false,"Tty":false,"AttachStdin":true,"AttachStderr":true,"AttachStdout":true,"Detach":false,"DetachKeys":"","Env":["X=1"],"WorkingDir":"/tmp","Cmd":["sh","-c","cat; exit 4"]}"#
        );
        assert_eq!(
            body(&["-d", "p1", "sleep", "1"], "1.41"),
            r#"{"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":false,"AttachStdout":false,"Detach":true,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["sleep","1"]}"#
        );
        assert!(body(&["-t", "p1", "sh"], "1.47").ends_with(r#""Cmd":["sh"],"ConsoleSize":[40,100]}"#));
    }

    #[test]
    fn the_command_keeps_its_own_flags() {
        let a = Wrapper::try_parse_from(["exec", "-i", "c", "ls", "-l", "-i"]).expect("parses").a;
        assert_eq!(a.args, ["c", "ls", "-l", "-i"]);
        assert!(Wrapper::try_parse_from(["exec", "c"]).is_err());
    }
}
