//! `strata container …` and the top-level forms (`run`, `ps`, `logs`, `rm`, …): the docker
//! CLI's container commands, with its requests, output, messages and exit codes.
//!
//! `run`, `start -a` and `attach` follow the docker CLI's order on the wire, because a daemon
//! can only stream what was asked for before the container started: create → attach (101) →
//! wait (headers back before start) → start → resize → copy the streams → exit with the wait's
//! status code.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use strata_client::{Client, ClientError, encode};

use super::create::{ContainerOptions, CreateRequest, Environment, OptionError};
use crate::output::{Listing, print_inspect_raw};
use crate::streams::{BlockingWriter, Ended, pump};
use crate::template::Method as RowMethod;
use crate::terminal::{self, RawMode};
use crate::units::{human_duration, human_size};
// `docker ps` quotes a command with Go's `strconv.Quote`.
use strata_mount::gocompat::quote as go_quote;

/// docker's exit status when the daemon or the command line failed before the container ran.
pub const EXIT_DAEMON: u8 = 125;
/// The command exists but could not be invoked (permission denied, a directory).
pub const EXIT_CANNOT_INVOKE: u8 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;
/// How often `run -t` retries the first resize (the TTY may not exist yet right after start).
const RESIZE_ATTEMPTS: u32 = 10;
/// Pause between resize attempts.
const RESIZE_RETRY: Duration = Duration::from_millis(100);
/// The API version from which `stop` and `restart` take `signal`.
const STOP_SIGNAL_API: &str = "1.42";
/// `ps` truncates the command to this many characters.
const COMMAND_WIDTH: usize = 20;
/// `ps` truncates mount names to this many characters.
const MOUNT_WIDTH: usize = 15;

#[derive(Debug, clap::Subcommand)]
pub enum ContainerCommand {
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(CreateArgs),
    /// Create and run a new container from an image
    #[command(disable_help_flag = true)]
    Run(RunArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(NamesArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Kill one or more running containers
    Kill(KillArgs),
    /// Restart one or more containers
    Restart(StopArgs),
    /// Remove one or more containers
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// List containers
    #[command(name = "ls", aliases = ["ps", "list"])]
    Ls(PsArgs),
    /// Display detailed information on one or more containers
    Inspect(InspectArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Remove all stopped containers
    Prune(crate::cmd::system_df::ContainerPruneArgs),
    /// Execute a command in a running container
    Exec(super::exec::ExecArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(super::cp::CpArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(OneArgs),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
    /// Create a new image from a container's changes
    Commit(CommitArgs),
}

/// The container commands that also exist at the top level (`strata run`, `strata ps`, …).
#[derive(Debug, clap::Subcommand)]
pub enum TopLevel {
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(CreateArgs),
    /// Create and run a new container from an image
    #[command(disable_help_flag = true)]
    Run(RunArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(NamesArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Kill one or more running containers
    Kill(KillArgs),
    /// Restart one or more containers
    Restart(StopArgs),
    /// Remove one or more containers
    Rm(RmArgs),
    /// List containers
    Ps(PsArgs),
    /// Return low-level information on containers, images or volumes
    Inspect(ObjectInspectArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Execute a command in a running container
    Exec(super::exec::ExecArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(super::cp::CpArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(OneArgs),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
    /// Create a new image from a container's changes
    Commit(CommitArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    opts: ContainerOptions,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    detach: bool,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    sig_proxy: bool,
    #[command(flatten)]
    opts: ContainerOptions,
}

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    interactive: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    sig_proxy: bool,
    container: String,
}

#[derive(Debug, clap::Args)]
pub struct NamesArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct OneArgs {
    container: String,
}

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long)]
    details: bool,
    /// Follow log output
    #[arg(short = 'f', long)]
    follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    until: Option<String>,
    container: String,
}

#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long)]
    signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "timeout", alias = "time")]
    timeout: Option<i64>,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long)]
    signal: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    volumes: bool,
    /// Remove the specified link
    #[arg(short = 'l', long)]
    link: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", default_value_t = -1, allow_negative_numbers = true)]
    last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    latest: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Display total file sizes
    #[arg(short = 's', long)]
    size: bool,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    format: Option<String>,
    /// Display total file sizes
    #[arg(short = 's', long)]
    size: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ObjectInspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    format: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long)]
    size: bool,
    /// Return JSON for specified type
    #[arg(long = "type")]
    kind: Option<String>,
    #[arg(required = true, value_name = "NAME|ID")]
    names: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct RenameArgs {
    container: String,
    new_name: String,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    output: Option<String>,
    container: String,
}

#[derive(Debug, clap::Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short = 'a', long)]
    author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change")]
    change: Vec<String>,
    /// Commit message
    #[arg(short = 'm', long)]
    message: Option<String>,
    /// Pause container during commit
    #[arg(short = 'p', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pause: bool,
    container: String,
    /// REPOSITORY[:TAG]
    reference: Option<String>,
}

impl TopLevel {
    /// The same command in its `container …` form (top-level `inspect` is the exception: it
    /// looks through every object type).
    pub async fn run(self, client: &Client) -> anyhow::Result<ExitCode> {
        let c = match self {
            TopLevel::Create(a) => ContainerCommand::Create(a),
            TopLevel::Run(a) => ContainerCommand::Run(a),
            TopLevel::Start(a) => ContainerCommand::Start(a),
            TopLevel::Attach(a) => ContainerCommand::Attach(a),
            TopLevel::Wait(a) => ContainerCommand::Wait(a),
            TopLevel::Logs(a) => ContainerCommand::Logs(a),
            TopLevel::Stop(a) => ContainerCommand::Stop(a),
            TopLevel::Kill(a) => ContainerCommand::Kill(a),
            TopLevel::Restart(a) => ContainerCommand::Restart(a),
            TopLevel::Rm(a) => ContainerCommand::Rm(a),
            TopLevel::Ps(a) => ContainerCommand::Ls(a),
            TopLevel::Inspect(a) => return inspect_objects(client, a).await,
            TopLevel::Rename(a) => ContainerCommand::Rename(a),
            TopLevel::Exec(a) => ContainerCommand::Exec(a),
            TopLevel::Cp(a) => ContainerCommand::Cp(a),
            TopLevel::Diff(a) => ContainerCommand::Diff(a),
            TopLevel::Export(a) => ContainerCommand::Export(a),
            TopLevel::Commit(a) => ContainerCommand::Commit(a),
        };
        run(client, c).await
    }
}

/// Runs a container command.
pub async fn run(client: &Client, command: ContainerCommand) -> anyhow::Result<ExitCode> {
    match command {
        ContainerCommand::Create(a) => create(client, a).await,
        ContainerCommand::Run(a) => run_container(client, a).await,
        ContainerCommand::Start(a) => start(client, a).await,
        ContainerCommand::Attach(a) => attach(client, a).await,
        ContainerCommand::Wait(a) => wait(client, a).await,
        ContainerCommand::Logs(a) => logs(client, a).await,
        ContainerCommand::Stop(a) => stop_or_restart(client, a, "stop").await,
        ContainerCommand::Restart(a) => stop_or_restart(client, a, "restart").await,
        ContainerCommand::Kill(a) => kill(client, a).await,
        ContainerCommand::Rm(a) => rm(client, a).await,
        ContainerCommand::Ls(a) => ps(client, a).await,
        ContainerCommand::Inspect(a) => inspect(client, a).await,
        ContainerCommand::Rename(a) => rename(client, a).await,
        ContainerCommand::Prune(a) => crate::cmd::system_df::container_prune(client, a).await,
        ContainerCommand::Exec(a) => super::exec::exec(client, a).await,
        ContainerCommand::Cp(a) => super::cp::cp(client, a).await,
        ContainerCommand::Diff(a) => diff(client, a).await,
        ContainerCommand::Export(a) => export(client, a).await,
        ContainerCommand::Commit(a) => commit(client, a).await,
    }
}

/// The docker CLI's usage line and argument-count rule of each container command.
const USAGES: &[(&str, &str, &str)] = &[
    ("create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "at least 1 argument"),
    ("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "at least 1 argument"),
    ("start", "[OPTIONS] CONTAINER [CONTAINER...]", "at least 1 argument"),
    ("attach", "[OPTIONS] CONTAINER", "1 argument"),
    ("wait", "CONTAINER [CONTAINER...]", "at least 1 argument"),
    ("logs", "[OPTIONS] CONTAINER", "1 argument"),
    ("stop", "[OPTIONS] CONTAINER [CONTAINER...]", "at least 1 argument"),
    ("kill", "[OPTIONS] CONTAINER [CONTAINER...]", "at least 1 argument"),
    ("restart", "[OPTIONS] CONTAINER [CONTAINER...]", "at least 1 argument"),
    ("rm", "[OPTIONS] CONTAINER [CONTAINER...]", "at least 1 argument"),
    ("inspect", "[OPTIONS] NAME|ID [NAME|ID...]", "at least 1 argument"),
    ("container inspect", "[OPTIONS] CONTAINER [CONTAINER...]", "at least 1 argument"),
    ("rename", "CONTAINER NEW_NAME", "2 arguments"),
    ("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "at least 2 arguments"),
    (
        "cp",
        "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tstrata cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
        "2 arguments",
    ),
    ("diff", "CONTAINER", "1 argument"),
    ("export", "[OPTIONS] CONTAINER", "1 argument"),
    ("commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "at least 1 and at most 2 arguments"),
];

/// docker's message and exit status for a container command given too few or too many
/// arguments (exit 1) or an unknown flag (exit 125), instead of clap's. `None` for other
/// errors and other commands, which keep clap's report.
pub fn usage_failure(e: &clap::Error) -> Option<ExitCode> {
    use clap::error::{ContextKind, ErrorKind};
    let usage = e.get(ContextKind::Usage)?.to_string();
    let words: Vec<&str> = usage
        .split_whitespace()
        .skip_while(|w| *w != "strata")
        .skip(1)
        .take_while(|w| !w.starts_with(['[', '<']))
        .collect();
    // `container ls` and friends keep their own names; the short forms are the table's keys.
    let path = words.join(" ");
    let key = match path.as_str() {
        "container inspect" => "container inspect",
        p => p.strip_prefix("container ").unwrap_or(p),
    };
    let (_, usage_line, rule) = USAGES.iter().find(|(name, _, _)| *name == key)?;
    let offending = e.get(ContextKind::InvalidArg).map(|a| a.to_string()).unwrap_or_default();
    match e.kind() {
        ErrorKind::MissingRequiredArgument | ErrorKind::WrongNumberOfValues | ErrorKind::TooFewValues => {}
        ErrorKind::UnknownArgument if !offending.starts_with('-') => {}
        ErrorKind::UnknownArgument => {
            let flag = offending.split('=').next().unwrap_or(&offending);
            let what = match flag.strip_prefix("--") {
                Some(_) => format!("unknown flag: {flag}"),
                None => format!(
                    "unknown shorthand flag: '{}' in {flag}",
                    flag.trim_start_matches('-').chars().next().unwrap_or('-')
                ),
            };
            eprintln!(
                "{what}\n\nUsage:  strata {path} {usage_line}\n\nRun 'strata {path} --help' for more information"
            );
            return Some(ExitCode::from(EXIT_DAEMON));
        }
        _ => return None,
    }
    let hint = if rule.starts_with("at least") && !rule.contains("at most") { "See" } else { "Run" };
    eprintln!(
        "strata: 'strata {path}' requires {rule}\n\nUsage:  strata {path} {usage_line}\n\n{hint} 'strata {path} --help' for more information"
    );
    Some(ExitCode::FAILURE)
}

/// A flag clap took for the image (positionals allow hyphens so the command keeps its own
/// flags): docker reports it as an unknown flag.
pub fn unknown_flag(path: &str, arg: &str) -> ExitCode {
    let usage = USAGES.iter().find(|(n, _, _)| *n == path).map(|(_, u, _)| *u).unwrap_or("[OPTIONS]");
    let what = match arg.strip_prefix("--") {
        Some(_) => format!("unknown flag: {}", arg.split('=').next().unwrap_or(arg)),
        None => {
            format!("unknown shorthand flag: '{}' in {arg}", arg.trim_start_matches('-').chars().next().unwrap_or('-'))
        }
    };
    eprintln!("{what}\n\nUsage:  strata {path} {usage}\n\nRun 'strata {path} --help' for more information");
    ExitCode::from(EXIT_DAEMON)
}

/// Prints `strata: <message>` and the help hint of `cmd`, as docker does for `run` failures.
fn fail(cmd: &str, message: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("strata: {message}\n\nRun 'strata {cmd} --help' for more information");
    ExitCode::from(code)
}

/// A flag docker refuses before sending anything: `invalid argument …` errors come with the
/// usage line, others are printed like daemon errors of the command.
fn option_failure(cmd: &str, e: &OptionError) -> ExitCode {
    match e {
        OptionError::InvalidArgument { .. } => {
            eprintln!(
                "{e}\n\nUsage:  strata {cmd} [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'strata {cmd} --help' for more information"
            );
            ExitCode::from(EXIT_DAEMON)
        }
        OptionError::Other(m) => fail(cmd, m, EXIT_DAEMON),
    }
}

/// The exit status docker gives a failed start: 127 when the command is missing, 126 when it
/// cannot be executed, 125 otherwise (read from the runtime's message, as the docker CLI does).
pub fn start_failure_code(message: &str) -> u8 {
    if message.contains("executable file not found") || message.contains("no such file or directory") {
        EXIT_NOT_FOUND
    } else if message.contains("permission denied") || message.contains("cannot execute binary file") {
        EXIT_CANNOT_INVOKE
    } else {
        EXIT_DAEMON
    }
}

/// The exit status of a process that exited with `status` (the low 8 bits, as the kernel keeps).
pub fn exit_code(status: i64) -> ExitCode {
    ExitCode::from(status.rem_euclid(256) as u8)
}

/// `name` with `:latest` when it has neither tag nor digest (docker's message form).
fn with_default_tag(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.contains(':') { image.to_owned() } else { format!("{image}:latest") }
}

/// The query of a pull for `image`.
fn pull_query(image: &str) -> String {
    if let Some((repo, digest)) = image.split_once('@') {
        return format!("fromImage={}&tag={}", encode(repo), encode(digest));
    }
    let last_slash = image.rfind('/').map(|i| i + 1).unwrap_or(0);
    match image[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            format!("fromImage={}&tag={}", encode(&image[..at]), encode(&image[at + 1..]))
        }
        None => format!("fromImage={}&tag=latest", encode(image)),
    }
}

/// Asks the daemon to pull `image` (strata answers that it has no registry; Docker tries one)
/// and reports progress lines' errors.
async fn pull(client: &Client, image: &str) -> Result<(), String> {
    let path = format!("/images/create?{}", pull_query(image));
    let resp = client.request(Method::POST, &path, None, None).await.map_err(|e| e.to_string())?;
    let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        if let Ok(v) = serde_json::from_slice::<Value>(line)
            && let Some(e) = v["error"].as_str()
        {
            return Err(e.to_owned());
        }
    }
    Ok(())
}

/// `POST /containers/create`; a missing image (404) is pulled once and the create retried,
/// as the docker CLI does. Warnings go to stderr. Returns the container id.
async fn create_container(client: &Client, req: &CreateRequest) -> Result<String, String> {
    let path = req.path();
    let resp: Value = match client.send_json(Method::POST, &path, &req.body).await {
        Ok(v) => v,
        Err(e) if e.status() == Some(http::StatusCode::NOT_FOUND) => {
            eprintln!("Unable to find image '{}' locally", with_default_tag(&req.image));
            pull(client, &req.image).await.map_err(|m| {
                if m.starts_with("Error response from daemon") { m } else { format!("Error response from daemon: {m}") }
            })?;
            client.send_json(Method::POST, &path, &req.body).await.map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    if let Some(ws) = resp["Warnings"].as_array() {
        for w in ws.iter().filter_map(Value::as_str) {
            eprintln!("WARNING: {w}");
        }
    }
    Ok(resp["Id"].as_str().unwrap_or("").to_owned())
}

fn environment<'a>(client: &'a Client, cwd: &'a std::path::Path, tty: bool) -> Environment<'a> {
    static LOOKUP: fn(&str) -> Option<String> = |k| std::env::var(k).ok();
    Environment {
        cwd,
        lookup: &LOOKUP,
        console: if tty { terminal::size() } else { None },
        api_version: client.api_version(),
    }
}

async fn create(client: &Client, a: CreateArgs) -> anyhow::Result<ExitCode> {
    if a.opts.image().starts_with('-') {
        return Ok(unknown_flag("create", a.opts.image()));
    }
    let cwd = std::env::current_dir()?;
    let req = match a.opts.to_request(false, &environment(client, &cwd, a.opts.tty)) {
        Ok(r) => r,
        Err(e) => return Ok(option_failure("create", &e)),
    };
    match create_container(client, &req).await {
        Ok(id) => {
            println!("{id}");
            Ok(ExitCode::SUCCESS)
        }
        Err(m) => {
            eprintln!("{m}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The outcome of `POST /containers/{id}/wait`: the status code, or the daemon's error.
async fn read_wait(resp: http::Response<hyper::body::Incoming>) -> Result<i64, String> {
    let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if let Some(m) = v["Error"]["Message"].as_str()
        && !m.is_empty()
    {
        return Err(m.to_owned());
    }
    Ok(v["StatusCode"].as_i64().unwrap_or(-1))
}

/// Sends a wait request and returns once the daemon answered with headers, so the caller can
/// start the container knowing the exit cannot be missed; the status is read by a task.
async fn wait_in_background(
    client: &Client,
    id: &str,
    condition: &str,
) -> Result<tokio::task::JoinHandle<Result<i64, String>>, ClientError> {
    let resp = client
        .request(Method::POST, &format!("/containers/{}/wait?condition={condition}", encode(id)), None, None)
        .await?;
    Ok(tokio::spawn(read_wait(resp)))
}

/// Tells the daemon the local terminal's size (retried while the TTY is being set up), then
/// again on every SIGWINCH for as long as the returned task lives.
fn follow_terminal_size(client: &Client, resize_path: String) -> tokio::task::JoinHandle<()> {
    let client = client.clone();
    tokio::spawn(async move {
        let send = |(h, w): (u16, u16)| {
            let client = client.clone();
            let path = format!("{resize_path}?h={h}&w={w}");
            async move { client.send_empty(Method::POST, &path).await.is_ok() }
        };
        if let Some(size) = terminal::size() {
            for _ in 0..RESIZE_ATTEMPTS {
                if send(size).await {
                    break;
                }
                tokio::time::sleep(RESIZE_RETRY).await;
            }
        }
        let Ok(mut winch) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()) else {
            return;
        };
        while winch.recv().await.is_some() {
            if let Some(size) = terminal::size() {
                send(size).await;
            }
        }
    })
}

/// Forwards SIGINT and SIGTERM to the container (docker's `--sig-proxy`), for as long as the
/// returned task lives.
fn proxy_signals(client: &Client, id: &str) -> tokio::task::JoinHandle<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let client = client.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
            return;
        };
        loop {
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            let _ = client.send_empty(Method::POST, &format!("/containers/{}/kill?signal={name}", encode(&id))).await;
        }
    })
}

/// What an attached session needs to know about the container.
struct Session {
    tty: bool,
    stdin: bool,
    sig_proxy: bool,
}

/// Copies the streams of an attached container until its output ends, with raw mode, resizes
/// and signal forwarding as the session asks. `started` runs after the attach and returns an
/// error text to stop early.
async fn attached<F>(
    client: &Client,
    id: &str,
    session: Session,
    stream: strata_client::Hijacked,
    start: F,
) -> Result<Ended, (String, u8)>
where
    F: std::future::Future<Output = Result<(), (String, u8)>>,
{
    let raw =
        if session.tty && session.stdin { RawMode::enable().map_err(|e| (e.to_string(), EXIT_DAEMON))? } else { None };
    let copy = tokio::spawn(pump(stream, session.tty, session.stdin));
    if let Err(e) = start.await {
        copy.abort();
        drop(raw);
        return Err(e);
    }
    let resize = session.tty.then(|| follow_terminal_size(client, format!("/containers/{}/resize", encode(id))));
    let signals = (!session.tty && session.sig_proxy).then(|| proxy_signals(client, id));
    let copied = copy.await;
    drop(raw);
    for task in [resize, signals].into_iter().flatten() {
        task.abort();
    }
    match copied {
        Ok(Ok(ended)) => Ok(ended),
        Ok(Err(e)) => Err((e.to_string(), 1)),
        Err(e) => Err((e.to_string(), 1)),
    }
}

async fn start_container(client: &Client, id: &str) -> Result<(), ClientError> {
    client.send_empty(Method::POST, &format!("/containers/{}/start", encode(id))).await.map(|_| ())
}

async fn run_container(client: &Client, a: RunArgs) -> anyhow::Result<ExitCode> {
    let opts = &a.opts;
    if opts.image().starts_with('-') {
        return Ok(unknown_flag("run", opts.image()));
    }
    if opts.interactive && opts.tty && !std::io::stdin().is_terminal() {
        eprintln!("the input device is not a TTY");
        return Ok(ExitCode::FAILURE);
    }
    let cwd = std::env::current_dir()?;
    let req = match opts.to_request(a.detach, &environment(client, &cwd, opts.tty)) {
        Ok(r) => r,
        Err(e) => return Ok(option_failure("run", &e)),
    };
    let id = match create_container(client, &req).await {
        Ok(id) => id,
        Err(m) => return Ok(fail("run", m, EXIT_DAEMON)),
    };
    if a.detach {
        // As the docker CLI: the wait is asked for before start and then dropped.
        let waiter = match wait_in_background(client, &id, "next-exit").await {
            Ok(w) => w,
            Err(e) => return Ok(fail("run", e, EXIT_DAEMON)),
        };
        if let Err(e) = start_container(client, &id).await {
            let code = start_failure_code(&e.to_string());
            return Ok(fail("run", e, code));
        }
        waiter.abort();
        println!("{id}");
        return Ok(ExitCode::SUCCESS);
    }
    let query = if opts.interactive { "stderr=1&stdin=1&stdout=1&stream=1" } else { "stderr=1&stdout=1&stream=1" };
    let stream = match client
        .hijack(Method::POST, &format!("/containers/{}/attach?{query}", encode(&id)), "text/plain", None)
        .await
    {
        Ok(s) => s,
        Err(e) => return Ok(fail("run", e, EXIT_DAEMON)),
    };
    let condition = if opts.rm { "removed" } else { "next-exit" };
    let waiter = match wait_in_background(client, &id, condition).await {
        Ok(w) => w,
        Err(e) => return Ok(fail("run", e, EXIT_DAEMON)),
    };
    let session = Session { tty: opts.tty, stdin: opts.interactive, sig_proxy: a.sig_proxy };
    let start = async {
        start_container(client, &id).await.map_err(|e| {
            let m = e.to_string();
            let code = start_failure_code(&m);
            (m, code)
        })
    };
    match attached(client, &id, session, stream, start).await {
        Ok(Ended::Detached) => return Ok(ExitCode::SUCCESS),
        Ok(Ended::Closed) => {}
        Err((m, 1)) => eprintln!("{m}"),
        Err((m, code)) => return Ok(fail("run", m, code)),
    }
    match waiter.await {
        Ok(Ok(status)) => Ok(exit_code(status)),
        Ok(Err(m)) => Ok(fail("run", format!("Error response from daemon: {m}"), EXIT_DAEMON)),
        Err(e) => Ok(fail("run", e, EXIT_DAEMON)),
    }
}

async fn start(client: &Client, a: StartArgs) -> anyhow::Result<ExitCode> {
    if a.attach || a.interactive {
        if a.containers.len() > 1 {
            eprintln!("you cannot start and attach multiple containers at once");
            return Ok(ExitCode::FAILURE);
        }
        return start_attached(client, &a.containers[0], a.interactive).await;
    }
    let mut failed = Vec::new();
    for c in &a.containers {
        match start_container(client, c).await {
            Ok(()) => println!("{c}"),
            Err(e) => {
                eprintln!("{e}");
                failed.push(c.as_str());
            }
        }
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("Error: failed to start containers: {}", failed.join(", "));
        Ok(ExitCode::FAILURE)
    }
}

async fn inspect_container(client: &Client, name: &str) -> Result<Value, ClientError> {
    client.get_json(&format!("/containers/{}/json", encode(name))).await
}

async fn start_attached(client: &Client, name: &str, interactive: bool) -> anyhow::Result<ExitCode> {
    let c = match inspect_container(client, name).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let id = c["Id"].as_str().unwrap_or(name).to_owned();
    let tty = c["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = interactive && c["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    let query = if stdin { "stderr=1&stdin=1&stdout=1&stream=1" } else { "stderr=1&stdout=1&stream=1" };
    let stream = match client
        .hijack(Method::POST, &format!("/containers/{}/attach?{query}", encode(&id)), "text/plain", None)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let condition = if c["HostConfig"]["AutoRemove"].as_bool().unwrap_or(false) { "removed" } else { "next-exit" };
    let waiter = match wait_in_background(client, &id, condition).await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let start = async { start_container(client, &id).await.map_err(|e| (e.to_string(), 1)) };
    match attached(client, &id, Session { tty, stdin, sig_proxy: true }, stream, start).await {
        Ok(Ended::Detached) => return Ok(ExitCode::SUCCESS),
        Ok(Ended::Closed) => {}
        Err((m, _)) => {
            eprintln!("{m}");
            return Ok(ExitCode::FAILURE);
        }
    }
    match waiter.await {
        Ok(Ok(status)) => Ok(exit_code(status)),
        Ok(Err(m)) => {
            eprintln!("Error response from daemon: {m}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn attach(client: &Client, a: AttachArgs) -> anyhow::Result<ExitCode> {
    let c = match inspect_container(client, &a.container).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if !c["State"]["Running"].as_bool().unwrap_or(false) {
        eprintln!("You cannot attach to a stopped container, start it first");
        return Ok(ExitCode::FAILURE);
    }
    if c["State"]["Paused"].as_bool().unwrap_or(false) {
        eprintln!("You cannot attach to a paused container, unpause it first");
        return Ok(ExitCode::FAILURE);
    }
    let id = c["Id"].as_str().unwrap_or(&a.container).to_owned();
    let tty = c["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = !a.no_stdin && c["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    if stdin && tty && !std::io::stdin().is_terminal() {
        eprintln!("the input device is not a TTY");
        return Ok(ExitCode::FAILURE);
    }
    let query = if stdin { "stderr=1&stdin=1&stdout=1&stream=1" } else { "stderr=1&stdout=1&stream=1" };
    let stream = match client
        .hijack(Method::POST, &format!("/containers/{}/attach?{query}", encode(&id)), "text/plain", None)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Err((m, _)) =
        attached(client, &id, Session { tty, stdin, sig_proxy: a.sig_proxy }, stream, async { Ok(()) }).await
    {
        eprintln!("{m}");
        return Ok(ExitCode::FAILURE);
    }
    // The stream ended: report the container's exit status, as docker does.
    match client.request(Method::POST, &format!("/containers/{}/wait", encode(&id)), None, None).await {
        Ok(resp) => match read_wait(resp).await {
            Ok(status) => Ok(exit_code(status)),
            Err(_) => Ok(ExitCode::SUCCESS),
        },
        Err(_) => Ok(ExitCode::SUCCESS),
    }
}

async fn wait(client: &Client, a: NamesArgs) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for c in &a.containers {
        let status = match client.request(Method::POST, &format!("/containers/{}/wait", encode(c)), None, None).await {
            Ok(resp) => read_wait(resp).await.map_err(|m| format!("Error response from daemon: {m}")),
            Err(e) => Err(e.to_string()),
        };
        match status {
            Ok(s) => println!("{s}"),
            Err(m) => {
                eprintln!("{m}");
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `--since`/`--until` as the API wants them: seconds since the epoch with nanoseconds
/// (`1700000000.000000000`). Accepts what docker accepts: a duration before `now` (`10m`,
/// `1h30m`, `1.5s`), a unix timestamp (`1700000000`, `1700000000.5`), or an RFC 3339 date or
/// date-time (`2023-11-14`, `2023-11-14T22:13:20Z`, with offset or fraction).
pub fn api_timestamp(value: &str, now: SystemTime) -> Result<String, String> {
    let format = |t: SystemTime| -> Result<String, String> {
        let d = t.duration_since(UNIX_EPOCH).map_err(|_| format!("invalid timestamp {value:?}"))?;
        Ok(format!("{}.{:09}", d.as_secs(), d.subsec_nanos()))
    };
    if value.is_empty() {
        return Ok(String::new());
    }
    if let Some(d) = parse_go_duration(value) {
        return format(now.checked_sub(d).unwrap_or(UNIX_EPOCH));
    }
    if value.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
        let secs: u64 = secs.parse().map_err(|_| format!("invalid timestamp {value:?}"))?;
        let mut nanos = frac.to_owned();
        nanos.truncate(9);
        while nanos.len() < 9 {
            nanos.push('0');
        }
        return Ok(format!("{secs}.{nanos}"));
    }
    let full = if value.len() == 10 { format!("{value}T00:00:00Z") } else { value.to_owned() };
    let t = humantime::parse_rfc3339_weak(&full)
        .or_else(|_| parse_with_offset(&full).ok_or(()))
        .map_err(|_| format!("invalid value for \"since\": {value:?} is not a valid timestamp or duration"))?;
    format(t)
}

/// An RFC 3339 time with a numeric offset (`2023-11-14T23:13:20+01:00`).
fn parse_with_offset(s: &str) -> Option<SystemTime> {
    let (base, sign, off) = match s.rfind(['+', '-']) {
        Some(i) if i > 10 => (&s[..i], if &s[i..=i] == "+" { 1 } else { -1 }, &s[i + 1..]),
        _ => return None,
    };
    let (h, m) = off.split_once(':')?;
    let offset = Duration::from_secs(h.parse::<u64>().ok()? * 3600 + m.parse::<u64>().ok()? * 60);
    let local = humantime::parse_rfc3339_weak(base).ok()?;
    if sign > 0 { local.checked_sub(offset) } else { local.checked_add(offset) }
}

/// Go's `time.ParseDuration` for the units logs use (`ns us µs ms s m h`, combined, fractions).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        let after = &rest[num_end..];
        let unit_end = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let scale = match &after[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * scale;
        rest = &after[unit_end..];
    }
    Some(Duration::from_secs_f64(total))
}

async fn logs(client: &Client, a: LogsArgs) -> anyhow::Result<ExitCode> {
    let c = match inspect_container(client, &a.container).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let id = c["Id"].as_str().unwrap_or(&a.container).to_owned();
    let mut q = vec!["stderr=1".to_owned(), "stdout=1".to_owned()];
    let now = SystemTime::now();
    if let Some(s) = &a.since {
        match api_timestamp(s, now) {
            Ok(t) => q.push(format!("since={t}")),
            Err(m) => {
                eprintln!("{m}");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    if let Some(u) = &a.until {
        match api_timestamp(u, now) {
            Ok(t) => q.push(format!("until={t}")),
            Err(m) => {
                eprintln!("{}", m.replace("\"since\"", "\"until\""));
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    q.push(format!("tail={}", encode(&a.tail)));
    if a.follow {
        q.push("follow=1".to_owned());
    }
    if a.timestamps {
        q.push("timestamps=1".to_owned());
    }
    if a.details {
        q.push("details=1".to_owned());
    }
    q.sort();
    let resp = match client
        .request(Method::GET, &format!("/containers/{}/logs?{}", encode(&id), q.join("&")), None, None)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let reader = tokio_util_reader(resp);
    let mut out = BlockingWriter(std::io::stdout());
    let result = if c["Config"]["Tty"].as_bool().unwrap_or(false) {
        strata_client::stream::copy_raw(reader, &mut out).await
    } else {
        let mut err = BlockingWriter(std::io::stderr());
        strata_client::stream::demux(reader, &mut out, &mut err).await
    };
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A response body as an `AsyncRead`.
fn tokio_util_reader(resp: http::Response<hyper::body::Incoming>) -> impl tokio::io::AsyncRead + Unpin {
    use futures_util::TryStreamExt;
    let stream = http_body_util::BodyStream::new(resp.into_body())
        .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) })
        .map_err(std::io::Error::other);
    crate::streams::StreamReader::new(Box::pin(stream))
}

async fn stop_or_restart(client: &Client, a: StopArgs, verb: &str) -> anyhow::Result<ExitCode> {
    let mut q = Vec::new();
    // Older daemons do not take a stop signal; docker leaves it out for them.
    if let Some(s) = &a.signal
        && !strata_client::version_lt(client.api_version(), STOP_SIGNAL_API)
    {
        q.push(format!("signal={}", encode(s)));
    }
    if let Some(t) = a.timeout {
        q.push(format!("t={t}"));
    }
    let query = if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) };
    let mut failed = false;
    for c in &a.containers {
        match client.send_empty(Method::POST, &format!("/containers/{}/{verb}{query}", encode(c))).await {
            Ok(_) => println!("{c}"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn kill(client: &Client, a: KillArgs) -> anyhow::Result<ExitCode> {
    let query = a.signal.as_ref().map(|s| format!("?signal={}", encode(s))).unwrap_or_default();
    let mut failed = false;
    for c in &a.containers {
        match client.send_empty(Method::POST, &format!("/containers/{}/kill{query}", encode(c))).await {
            Ok(_) => println!("{c}"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn rm(client: &Client, a: RmArgs) -> anyhow::Result<ExitCode> {
    let mut q = Vec::new();
    if a.volumes {
        q.push("v=1");
    }
    if a.link {
        q.push("link=1");
    }
    if a.force {
        q.push("force=1");
    }
    let query = if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) };
    let mut failed = false;
    for c in &a.containers {
        let name = c.trim_start_matches('/');
        match client.send_empty(Method::DELETE, &format!("/containers/{}{query}", encode(name))).await {
            Ok(_) => println!("{c}"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `--filter k=v` pairs → the API's filters JSON (`{"k":{"v":true}}`).
fn filters_json(pairs: &[String]) -> Result<String, String> {
    let mut map: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| "bad format of filter (expected name=value)".to_owned())?;
        map.entry(k.trim().to_lowercase()).or_default().insert(v.to_owned(), true);
    }
    serde_json::to_string(&map).map_err(|e| e.to_string())
}

/// docker's `Ellipsis`: at most `width` characters, the last one `…` when cut.
fn ellipsis(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Go's `time.Time.String()` for a unix time in UTC (`2026-11-26 23:40:07 +0000 UTC`).
fn go_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000 UTC", secs / 3600, secs % 3600 / 60, secs % 60)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// One `ps` row: the docker CLI's container formatting context.
fn ps_row(c: &Value, trunc: bool, now: i64) -> Value {
    let id = text(&c["Id"]);
    let mut image = text(&c["Image"]).to_owned();
    if trunc {
        if image.starts_with("sha256:") {
            image = short_id(&image);
        } else if let Some((name, _)) = image.split_once('@') {
            image = name.to_owned();
        }
    }
    let command = text(&c["Command"]);
    let command = go_quote(&if trunc { ellipsis(command, COMMAND_WIDTH) } else { command.to_owned() });
    let names: Vec<String> =
        c["Names"].as_array().map(|a| a.iter().map(|n| text(n).to_owned()).collect()).unwrap_or_default();
    let names = if trunc {
        names.iter().find(|n| n.matches('/').count() == 1).map(|n| n[1..].to_owned()).unwrap_or_default()
    } else {
        names.iter().map(|n| n.trim_start_matches('/').to_owned()).collect::<Vec<_>>().join(",")
    };
    let created = c["Created"].as_i64().unwrap_or(0);
    let mut labels: Vec<String> = c["Labels"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", text(v))).collect())
        .unwrap_or_default();
    labels.sort();
    let mounts = c["Mounts"].as_array().cloned().unwrap_or_default();
    let mount_names: Vec<String> = mounts
        .iter()
        .map(|m| {
            let name = if text(&m["Name"]).is_empty() { text(&m["Source"]) } else { text(&m["Name"]) };
            if trunc { ellipsis(name, MOUNT_WIDTH) } else { name.to_owned() }
        })
        .collect();
    let local_volumes = mounts.iter().filter(|m| text(&m["Driver"]) == "local").count();
    let mut networks: Vec<&String> =
        c["NetworkSettings"]["Networks"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
    networks.sort();
    let size_rw = c["SizeRw"].as_f64().unwrap_or(0.0);
    let size_root = c["SizeRootFs"].as_f64().unwrap_or(0.0);
    let size = if size_root > 0.0 {
        format!("{} (virtual {})", human_size(size_rw), human_size(size_root))
    } else {
        human_size(size_rw)
    };
    json!({
        "Command": command,
        "CreatedAt": go_time(created),
        "ID": if trunc { short_id(id) } else { id.to_owned() },
        "Image": image,
        "Labels": labels.join(","),
        "LocalVolumes": local_volumes.to_string(),
        "Mounts": mount_names.join(","),
        "Names": names,
        "Networks": networks.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
        "Platform": null,
        "Ports": "",
        "RunningFor": format!("{} ago", human_duration(Duration::from_secs((now - created).max(0) as u64))),
        "Size": size,
        "State": text(&c["State"]),
        "Status": text(&c["Status"]),
    })
}

fn ps_listing(default_format: &str) -> Listing<'_> {
    /// `.Label "k"`: read back from the `Labels` text (`k=v,k2=v2`) the row carries.
    fn label(row: &Value, args: &[String]) -> Value {
        let Some(key) = args.first() else { return Value::String(String::new()) };
        let found = text(&row["Labels"])
            .split(',')
            .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.to_owned());
        Value::String(found.unwrap_or_default())
    }
    Listing {
        default_format,
        headers: BTreeMap::from([
            ("ID", "CONTAINER ID"),
            ("Image", "IMAGE"),
            ("Command", "COMMAND"),
            ("CreatedAt", "CREATED AT"),
            ("RunningFor", "CREATED"),
            ("Ports", "PORTS"),
            ("State", "STATE"),
            ("Status", "STATUS"),
            ("Size", "SIZE"),
            ("Names", "NAMES"),
            ("Labels", "LABELS"),
            ("Label", "LABEL"),
            ("Mounts", "MOUNTS"),
            ("Networks", "NETWORKS"),
            ("LocalVolumes", "LOCAL VOLUMES"),
        ]),
        methods: BTreeMap::from([("Label", label as RowMethod)]),
    }
}

/// The `ps` table without and with `-s`.
const PS_TABLE: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const PS_TABLE_SIZE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}";

/// The query of `GET /containers/json` for the `ps` flags.
fn ps_query(a: &PsArgs) -> Result<String, String> {
    let mut q = Vec::new();
    if a.all {
        q.push("all=1".to_owned());
    }
    if !a.filter.is_empty() {
        q.push(format!("filters={}", encode(&filters_json(&a.filter)?)));
    }
    let limit = if a.latest { 1 } else { a.last };
    if limit > 0 {
        q.push(format!("limit={limit}"));
    }
    // docker asks for sizes when the template uses `.Size`, which `{{json .}}` does (`json` alone does not).
    let wants_size = a.size || a.format.as_deref().is_some_and(|f| f.contains(".Size") || f.contains("json ."));
    if wants_size && !a.quiet {
        q.push("size=1".to_owned());
    }
    Ok(if q.is_empty() { "/containers/json".to_owned() } else { format!("/containers/json?{}", q.join("&")) })
}

async fn ps(client: &Client, a: PsArgs) -> anyhow::Result<ExitCode> {
    let path = match ps_query(&a) {
        Ok(p) => p,
        Err(m) => {
            let bad = a.filter.iter().find(|f| !f.contains('=')).map(String::as_str).unwrap_or("");
            eprintln!(
                "invalid argument \"{bad}\" for \"-f, --filter\" flag: {m}\n\nUsage:  strata ps [OPTIONS]\n\nRun 'strata ps --help' for more information"
            );
            return Ok(ExitCode::from(EXIT_DAEMON));
        }
    };
    let list: Vec<Value> = match client.get_json(&path).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let rows: Vec<Value> = list.iter().map(|c| ps_row(c, !a.no_trunc, now)).collect();
    let format = match a.format.as_deref() {
        None | Some("") | Some("table") if a.quiet => "{{.ID}}",
        None | Some("") => {
            if a.size {
                PS_TABLE_SIZE
            } else {
                PS_TABLE
            }
        }
        Some("table") => PS_TABLE,
        Some(f) => f,
    };
    ps_listing(format).print(&rows, Some(format))?;
    Ok(ExitCode::SUCCESS)
}

/// Fetches one object's raw JSON, so `inspect` prints the daemon's own field order.
async fn get_raw(client: &Client, path: &str) -> Result<bytes::Bytes, ClientError> {
    let resp = client.request(Method::GET, path, None, None).await?;
    Ok(resp.into_body().collect().await.map_err(|e| ClientError::Protocol(e.to_string()))?.to_bytes())
}

async fn inspect(client: &Client, a: InspectArgs) -> anyhow::Result<ExitCode> {
    let size = if a.size { "?size=1" } else { "" };
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for c in &a.containers {
        match get_raw(client, &format!("/containers/{}/json{size}", encode(c))).await {
            Ok(raw) => found.push(raw),
            Err(e) => errors.push(e.to_string()),
        }
    }
    print_inspect_raw(&found, a.format.as_deref())?;
    for e in &errors {
        eprintln!("{e}");
    }
    Ok(if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Top-level `inspect`: each name is looked up as a container, an image, a network and a
/// volume, in docker's order, moving on only when the daemon says 404.
async fn inspect_objects(client: &Client, a: ObjectInspectArgs) -> anyhow::Result<ExitCode> {
    let size = if a.size { "?size=1" } else { "" };
    let kinds: Vec<&str> = match a.kind.as_deref() {
        None | Some("") => vec!["container", "image", "network", "volume"],
        Some(k @ ("container" | "image" | "network" | "volume")) => vec![k],
        Some(other) => {
            eprintln!("\"{other}\" is not a valid value for --type");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut found = Vec::new();
    let mut errors = Vec::new();
    'names: for name in &a.names {
        let n = encode(name);
        for kind in &kinds {
            let path = match *kind {
                "container" => format!("/containers/{n}/json{size}"),
                "image" => format!("/images/{n}/json"),
                "network" => format!("/networks/{n}"),
                _ => format!("/volumes/{n}"),
            };
            match get_raw(client, &path).await {
                Ok(raw) => {
                    found.push(raw);
                    continue 'names;
                }
                Err(e) if kinds.len() == 1 => {
                    errors.push(e.to_string());
                    continue 'names;
                }
                Err(_) => {}
            }
        }
        errors.push(format!("Error: No such object: {name}"));
    }
    print_inspect_raw(&found, a.format.as_deref())?;
    for e in &errors {
        eprintln!("{e}");
    }
    Ok(if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn rename(client: &Client, a: RenameArgs) -> anyhow::Result<ExitCode> {
    let old = a.container.trim();
    let new = a.new_name.trim();
    if old.is_empty() || new.is_empty() {
        eprintln!("Error: neither old nor new names may be empty");
        return Ok(ExitCode::FAILURE);
    }
    match client.send_empty(Method::POST, &format!("/containers/{}/rename?name={}", encode(old), encode(new))).await {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Error: failed to rename container named {old}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn diff(client: &Client, a: OneArgs) -> anyhow::Result<ExitCode> {
    let changes: Value = match client.get_json(&format!("/containers/{}/changes", encode(&a.container))).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut out = String::new();
    for ch in changes.as_array().into_iter().flatten() {
        let kind = match ch["Kind"].as_i64() {
            Some(0) => "C",
            Some(1) => "A",
            Some(2) => "D",
            _ => "?",
        };
        out.push_str(&format!("{kind} {}\n", text(&ch["Path"])));
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

async fn export(client: &Client, a: ExportArgs) -> anyhow::Result<ExitCode> {
    if a.output.is_none() && std::io::stdout().is_terminal() {
        eprintln!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        return Ok(ExitCode::FAILURE);
    }
    let resp =
        match client.request(Method::GET, &format!("/containers/{}/export", encode(&a.container)), None, None).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                return Ok(ExitCode::FAILURE);
            }
        };
    let mut out: Box<dyn Write> = match &a.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("failed to export container: {e}");
                return Ok(ExitCode::FAILURE);
            }
        },
        None => Box::new(std::io::stdout().lock()),
    };
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(data) = frame.data_ref() {
            out.write_all(data)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Go's `url.QueryEscape` (spaces as `+`), so queries read as the docker CLI's.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A reference in the full form the docker CLI sends: `rtimg` → (`docker.io/library/rtimg`,
/// `latest`); a registry host (with `.` or `:`, or `localhost`) is kept.
fn full_reference(reference: &str) -> (String, String) {
    let (name, tag) = match reference.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, t),
        _ => (reference, "latest"),
    };
    let first = name.split('/').next().unwrap_or(name);
    let full = if !name.contains('/') {
        format!("docker.io/library/{name}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        name.to_owned()
    } else {
        format!("docker.io/{name}")
    };
    (full, tag.to_owned())
}

/// The `POST /commit` query for the flags (keys sorted, as Go encodes them).
fn commit_query(a: &CommitArgs) -> String {
    let (repo, tag) = a.reference.as_deref().map(full_reference).unwrap_or_default();
    let mut q = vec![format!("author={}", query_escape(a.author.as_deref().unwrap_or("")))];
    q.extend(a.change.iter().map(|c| format!("changes={}", query_escape(c))));
    q.push(format!("comment={}", query_escape(a.message.as_deref().unwrap_or(""))));
    q.push(format!("container={}", query_escape(&a.container)));
    if !a.pause {
        q.push("pause=0".to_owned());
    }
    q.push(format!("repo={}", query_escape(&repo)));
    q.push(format!("tag={}", query_escape(&tag)));
    format!("/commit?{}", q.join("&"))
}

async fn commit(client: &Client, a: CommitArgs) -> anyhow::Result<ExitCode> {
    match client.request(Method::POST, &commit_query(&a), None, None).await {
        Ok(resp) => {
            let v: Value = strata_client::decode(resp).await?;
            println!("{}", text(&v["Id"]));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_queries_are_the_docker_clis() {
        let args =
            |author: Option<&str>, change: &[&str], message: Option<&str>, pause, reference: Option<&str>| CommitArgs {
                author: author.map(str::to_owned),
                change: change.iter().map(|c| (*c).to_owned()).collect(),
                message: message.map(str::to_owned),
                pause,
                container: "cm".to_owned(),
                reference: reference.map(str::to_owned),
            };
        // Captured from docker CLI 28.2.2.
        assert_eq!(
            commit_query(&args(Some("me"), &["ENV X=1", "LABEL a=b"], Some("msg"), true, Some("rtimg:c1"))),
            "/commit?author=me&changes=ENV+X%3D1&changes=LABEL+a%3Db&comment=msg&container=cm&repo=docker.io%2Flibrary%2Frtimg&tag=c1"
        );
        assert_eq!(
            commit_query(&args(None, &[], None, false, None)),
            "/commit?author=&comment=&container=cm&pause=0&repo=&tag="
        );
        assert_eq!(
            commit_query(&args(None, &[], None, true, Some("rtimg"))),
            "/commit?author=&comment=&container=cm&repo=docker.io%2Flibrary%2Frtimg&tag=latest"
        );
        assert_eq!(
            commit_query(&args(None, &[], None, true, Some("localhost:5000/a/b:t"))),
            "/commit?author=&comment=&container=cm&repo=localhost%3A5000%2Fa%2Fb&tag=t"
        );
        assert_eq!(full_reference("user/app"), ("docker.io/user/app".to_owned(), "latest".to_owned()));
    }

    #[test]
    fn since_accepts_durations_unix_times_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cases: &[(&str, &str)] = &[
            ("10m", "1699999400.000000000"),
            ("1h30m", "1699994600.000000000"),
            ("1.5s", "1699999998.500000000"),
            ("1700000000", "1700000000.000000000"),
            ("1700000000.25", "1700000000.250000000"),
            ("2023-11-14T22:13:20Z", "1700000000.000000000"),
            ("2023-11-14T23:13:20+01:00", "1700000000.000000000"),
            ("2023-11-14", "1699920000.000000000"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(api_timestamp(input, now).as_deref(), Ok(*want), "{input}");
        }
        assert!(api_timestamp("yesterday", now).is_err());
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("10"), None);
    }

    #[test]
    fn start_failures_map_to_dockers_exit_codes() {
        let not_found = "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"nosuchcmd\": executable file not found in $PATH: unknown";
        let denied = "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"/etc\": permission denied: unknown";
        assert_eq!(start_failure_code(not_found), EXIT_NOT_FOUND);
        assert_eq!(start_failure_code(denied), EXIT_CANNOT_INVOKE);
        assert_eq!(start_failure_code("No command specified"), EXIT_DAEMON);
    }

    #[test]
    fn pulls_name_the_image_as_docker_does() {
        assert_eq!(with_default_tag("busybox"), "busybox:latest");
        assert_eq!(with_default_tag("nosuch:1"), "nosuch:1");
        assert_eq!(with_default_tag("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(pull_query("localhost:5000/x:2"), "fromImage=localhost%3A5000%2Fx&tag=2");
        assert_eq!(pull_query("busybox"), "fromImage=busybox&tag=latest");
    }

    #[test]
    fn ps_rows_format_like_dockers() {
        let c = json!({
            "Id": "438b63c0640b67ef67c2f14a467aa7d234ce94171bfd06bc2f79f34d7a9ddf1b",
            "Names": ["/p1"], "Image": "busybox", "Command": "sh -c 'echo out; echo err >&2'",
            "Created": 1_795_736_407, "Labels": {"k": "v", "a": "b"}, "State": "running", "Status": "Up 2 seconds",
            "Mounts": [{"Type": "volume", "Name": "pv", "Driver": "local"}, {"Type": "bind", "Source": "/a/very/long/host/path"}],
            "NetworkSettings": {"Networks": {"bridge": {}}}, "SizeRw": 0, "SizeRootFs": 1_978_000,
        });
        let r = ps_row(&c, true, 1_795_736_408);
        assert_eq!(r["ID"], "438b63c0640b");
        assert_eq!(r["Command"], "\"sh -c 'echo out; ec…\"");
        assert_eq!(r["Names"], "p1");
        assert_eq!(r["Labels"], "a=b,k=v");
        assert_eq!(r["Mounts"], "pv,/a/very/long/h…");
        assert_eq!(r["LocalVolumes"], "1");
        assert_eq!(r["Networks"], "bridge");
        assert_eq!(r["RunningFor"], "1 second ago");
        assert_eq!(r["CreatedAt"], "2026-11-26 23:40:07 +0000 UTC");
        assert_eq!(r["Size"], "0B (virtual 1.98MB)");
        let full = ps_row(&c, false, 1_795_736_408);
        assert_eq!(full["Command"], "\"sh -c 'echo out; echo err >&2'\"");
    }

    #[test]
    fn ps_flags_become_the_query() {
        let args = |all, last, latest, size, filter: Vec<&str>| PsArgs {
            all,
            filter: filter.into_iter().map(str::to_owned).collect(),
            format: None,
            last,
            latest,
            no_trunc: false,
            quiet: false,
            size,
        };
        assert_eq!(ps_query(&args(false, -1, false, false, vec![])), Ok("/containers/json".to_owned()));
        assert_eq!(
            ps_query(&args(true, -1, false, true, vec!["status=exited"])),
            Ok("/containers/json?all=1&filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%7D&size=1".to_owned())
        );
        assert_eq!(ps_query(&args(false, 3, false, false, vec![])), Ok("/containers/json?limit=3".to_owned()));
        assert_eq!(ps_query(&args(false, -1, true, false, vec![])), Ok("/containers/json?limit=1".to_owned()));
        assert!(ps_query(&args(false, -1, false, false, vec!["bad"])).is_err());
    }

    #[test]
    fn go_quoting_and_ellipsis() {
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(ellipsis("abcdef", 4), "abc…");
        assert_eq!(ellipsis("abc", 4), "abc");
        assert_eq!(exit_code(-1), ExitCode::from(255));
    }
}
