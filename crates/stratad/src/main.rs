//! `stratad`: reads its configuration, brings the engine up, serves the Docker API until SIGTERM.
//!
//! The binary only wires things together (flags → config → engine → sockets → server); the
//! behaviour lives in `strata-engine` and `strata-api`. Start-up order matters and is commented
//! where it does.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use strata_engine::config::{ConfigFile, DEFAULT_CONFIG_FILE, DaemonConfig, RuntimeEntry};

/// The strata daemon. Flags are named as dockerd names them and override the configuration file.
#[derive(Debug, Parser)]
#[command(name = "stratad", version, about, long_about = None)]
struct Flags {
    /// Daemon configuration file (JSON, in the shape of Docker's daemon.json)
    #[arg(long = "config-file", value_name = "PATH")]
    config_file: Option<PathBuf>,
    /// Root directory of persistent state [default: /var/lib/strata]
    #[arg(long = "data-root", value_name = "PATH")]
    data_root: Option<PathBuf>,
    /// Root directory of execution state [default: /run/strata]
    #[arg(long = "exec-root", value_name = "PATH")]
    exec_root: Option<PathBuf>,
    /// Socket to listen on, unix:///path (repeatable) [default: unix:///run/strata.sock]
    #[arg(short = 'H', long = "host", value_name = "ADDRESS")]
    hosts: Vec<String>,
    /// Storage driver: overlay2 or vfs [default: overlay2 when the data-root supports it]
    #[arg(long = "storage-driver", short = 's', value_name = "NAME")]
    storage_driver: Option<String>,
    /// Default OCI runtime for containers [default: runc]
    #[arg(long = "default-runtime", value_name = "NAME")]
    default_runtime: Option<String>,
    /// Register an OCI runtime: NAME=PATH (repeatable)
    #[arg(long = "add-runtime", value_name = "NAME=PATH")]
    add_runtime: Vec<String>,
    /// Default logging driver for containers: json-file or none [default: json-file]
    #[arg(long = "log-driver", value_name = "NAME")]
    log_driver: Option<String>,
    /// Default option of the logging driver: KEY=VALUE, e.g. max-size=10m (repeatable)
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    log_opt: Vec<String>,
    /// Logging level: debug, info, warn, error, fatal [default: info]
    #[arg(long = "log-level", short = 'l', value_name = "LEVEL")]
    log_level: Option<String>,
    /// Enable debug logging
    #[arg(long = "debug", short = 'D')]
    debug: bool,
    /// Path of the pid file [default: /run/strata.pid]
    #[arg(long = "pidfile", short = 'p', value_name = "PATH")]
    pidfile: Option<PathBuf>,
    /// Group that may use the API socket [default: docker, when it exists]
    #[arg(long = "group", short = 'G', value_name = "GROUP")]
    group: Option<String>,
    /// Check the configuration and exit
    #[arg(long = "validate")]
    validate: bool,
}

impl Flags {
    /// The flags as a configuration overlay: only what was given on the command line.
    fn as_config(&self) -> Result<ConfigFile, String> {
        let runtimes = if self.add_runtime.is_empty() {
            None
        } else {
            let mut map = std::collections::BTreeMap::new();
            for spec in &self.add_runtime {
                let (name, path) = spec
                    .split_once('=')
                    .ok_or_else(|| format!("invalid --add-runtime {spec:?}: expected NAME=PATH"))?;
                map.insert(name.to_owned(), RuntimeEntry { path: path.to_owned(), runtime_args: vec![] });
            }
            Some(map)
        };
        let log_opts = if self.log_opt.is_empty() {
            None
        } else {
            let mut map = std::collections::BTreeMap::new();
            for spec in &self.log_opt {
                let (key, value) =
                    spec.split_once('=').ok_or_else(|| format!("invalid --log-opt {spec:?}: expected KEY=VALUE"))?;
                map.insert(key.to_owned(), value.to_owned());
            }
            Some(map)
        };
        Ok(ConfigFile {
            data_root: self.data_root.clone(),
            exec_root: self.exec_root.clone(),
            hosts: (!self.hosts.is_empty()).then(|| self.hosts.clone()),
            storage_driver: self.storage_driver.clone(),
            default_runtime: self.default_runtime.clone(),
            runtimes,
            log_level: self.log_level.clone(),
            debug: self.debug.then_some(true),
            pidfile: self.pidfile.clone(),
            group: self.group.clone(),
            log_driver: self.log_driver.clone(),
            log_opts,
        })
    }
}

fn main() -> ExitCode {
    // Before any thread starts: large transfers must not leave the daemon's memory inflated.
    strata_sys::allocator::keep_small();
    let flags = Flags::parse();
    let config = match load_config(&flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("stratad: {e}");
            return ExitCode::FAILURE;
        }
    };
    if flags.validate {
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    init_logging(&config);
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("stratad: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(flags: &Flags) -> Result<DaemonConfig, String> {
    let (path, explicit) = match &flags.config_file {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
    };
    let file = ConfigFile::load(&path, explicit).map_err(|e| e.to_string())?;
    file.overridden_by(flags.as_config()?).validate().map_err(|e| e.to_string())
}

fn init_logging(config: &DaemonConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRATA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(config.log_level.as_filter()));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// How long running containers get to stop when the daemon stops (Docker's default is 10 s per
/// container; they are stopped in parallel).
const SHUTDOWN_STOP_TIMEOUT_SECS: i64 = 10;

fn run(config: DaemonConfig) -> anyhow::Result<()> {
    // 1. The engine first: it takes the data-root lock, so a second daemon stops here before
    //    touching the socket or the pid file of the one already running.
    let engine = Arc::new(strata_engine::Engine::start(config.clone())?);

    // 2. Sockets, while the process is still single-threaded (bind_socket changes the umask).
    let mut std_listeners = Vec::new();
    for path in &config.sockets {
        std_listeners.push(strata_api::bind_socket(path, &config.group.name, config.group.explicit)?);
    }

    // 3. Reaping: containers' init processes are re-parented to us when the runtime exits.
    strata_sys::process::become_child_subreaper()?;
    // From here on one reaper collects every child's exit (waitpid(-1)): nothing in the daemon
    // may wait for a child any other way (see the strata-runtime crate docs).
    strata_runtime::reaper::install(strata_runtime::ReapMode::AllChildren)?;
    write_pidfile(&config.pidfile)?;

    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("stratad").enable_all().build()?;
    let result = runtime.block_on(async {
        let mut listeners = Vec::new();
        for l in std_listeners {
            listeners.push(tokio::net::UnixListener::from_std(l)?);
        }
        for path in &config.sockets {
            tracing::info!(socket = %path.display(), "API listening");
        }
        // Containers whose restart policy asks for it start again with the daemon.
        let containers = engine.containers().clone();
        tokio::spawn(async move { containers.restore().await });
        strata_api::serve(engine.clone(), listeners, shutdown_signal()).await;
        // As Docker without live-restore: running containers stop with the daemon (their stop
        // signal, then SIGKILL), so none is left orphaned with its mounts held.
        engine.containers().shutdown(SHUTDOWN_STOP_TIMEOUT_SECS).await;
        anyhow::Ok(())
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));

    for path in &config.sockets {
        let _ = std::fs::remove_file(path);
    }
    let _ = std::fs::remove_file(&config.pidfile);
    tracing::info!("stratad stopped");
    result
}

fn write_pidfile(path: &std::path::Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("pid.tmp");
    std::fs::write(&tmp, format!("{}\n", std::process::id()))?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install signal handlers; stop the daemon with SIGKILL");
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
        _ = int.recv() => tracing::info!("SIGINT received, shutting down"),
    }
}
