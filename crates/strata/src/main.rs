//! `strata`: docker-compatible commands, as a pure client of the strata daemon's API.
//!
//! Every command is an API call (or a few); nothing here reads the daemon's data-root. Output
//! mimics the docker CLI (tables, `--format` templates, messages, exit codes) so scripts written
//! for `docker` work with `strata`.

mod cmd;
mod output;
mod progress;
mod streams;
mod tabwriter;
mod template;
mod terminal;
mod units;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use strata_client::{Client, ClientError};

/// Exit status for command-line usage errors (as docker's).
const EXIT_USAGE: u8 = 125;

#[derive(Debug, Parser)]
#[command(name = "strata", version, about = "A container engine built around the data of containers", long_about = None)]
struct Cli {
    /// Daemon socket to connect to (default: $STRATA_HOST, else $DOCKER_HOST, else unix:///run/strata.sock)
    #[arg(short = 'H', long = "host", global = true, value_name = "ADDRESS")]
    host: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the strata version information
    Version(cmd::system::VersionArgs),
    /// Display system-wide information
    Info(cmd::system::InfoArgs),
    /// Manage volumes
    Volume {
        #[command(subcommand)]
        command: cmd::volume::VolumeCommand,
    },
    /// Manage images
    #[command(subcommand)]
    Image(cmd::image::ImageCommand),
    /// List images
    Images(cmd::image::LsArgs),
    /// Remove one or more images
    Rmi(cmd::image::RmArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(cmd::image::TagArgs),
    /// Show the history of an image
    History(cmd::image::HistoryArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(cmd::image::ImportArgs),
    /// Load an image from a tar archive or STDIN
    Load(cmd::image::LoadArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(cmd::image::SaveArgs),
    /// Manage strata: disk usage, prune
    #[command(subcommand)]
    System(cmd::system_df::SystemCommand),
    /// Manage containers
    #[command(subcommand)]
    Container(cmd::container::ContainerCommand),
    /// The container commands at the top level: run, create, start, ps, logs, exec, cp, …
    #[command(flatten)]
    Containers(cmd::container::TopLevel),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if let Some(code) = cmd::container::usage_failure(&e) {
                return code;
            }
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strata: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => report(&e),
    }
}

/// Prints an error as docker does and picks the exit status. A closed stdout (`strata … | head`)
/// is not an error.
fn report(e: &anyhow::Error) -> ExitCode {
    if let Some(io) = e.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return ExitCode::SUCCESS;
    }
    eprintln!("{e:#}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let host = strata_client::resolve_host(cli.host.as_deref());
    let mut client = Client::new(&host)?;
    match cli.command {
        Command::Version(args) => cmd::system::version(&mut client, args).await,
        Command::Info(args) => {
            connect(&mut client).await?;
            cmd::system::info(&client, args).await
        }
        Command::Volume { command } => {
            connect(&mut client).await?;
            cmd::volume::run(&client, command).await
        }
        Command::System(command) => {
            connect(&mut client).await?;
            cmd::system_df::run(&client, command).await
        }
        Command::Container(command) => {
            connect(&mut client).await?;
            cmd::container::run(&client, command).await
        }
        Command::Containers(command) => {
            connect(&mut client).await?;
            command.run(&client).await
        }
        other => {
            connect(&mut client).await?;
            use cmd::image::ImageCommand as I;
            let image_cmd = match other {
                Command::Image(c) => c,
                Command::Images(a) => I::Ls(a),
                Command::Rmi(a) => I::Rm(a),
                Command::Tag(a) => I::Tag(a),
                Command::History(a) => I::History(a),
                Command::Import(a) => I::Import(a),
                Command::Load(a) => I::Load(a),
                Command::Save(a) => I::Save(a),
                Command::Version(_)
                | Command::Info(_)
                | Command::Volume { .. }
                | Command::System(_)
                | Command::Container(_)
                | Command::Containers(_) => unreachable!("handled above"),
            };
            cmd::image::run(&client, image_cmd).await
        }
    }
}

/// Negotiates the API version before the first real request.
pub async fn connect(client: &mut Client) -> Result<(), ClientError> {
    client.negotiate().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    #[test]
    fn container_argument_errors_exit_as_dockers() {
        use clap::Parser;
        use std::process::ExitCode;
        let usage = |args: &[&str]| {
            let e = super::Cli::try_parse_from(args).expect_err("must not parse");
            crate::cmd::container::usage_failure(&e)
        };
        assert_eq!(usage(&["strata", "stop"]), Some(ExitCode::FAILURE));
        assert_eq!(usage(&["strata", "container", "rename", "a"]), Some(ExitCode::FAILURE));
        assert_eq!(usage(&["strata", "exec", "c"]), Some(ExitCode::FAILURE));
        assert_eq!(usage(&["strata", "stop", "--bogus", "c"]), Some(ExitCode::from(125)));
        // Other commands keep clap's report.
        assert_eq!(usage(&["strata", "volume", "bogus"]), None);
    }
}
