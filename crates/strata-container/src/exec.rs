//! `docker exec`: extra processes in a running container.
//!
//! An exec instance lives in memory only (as in Docker): created by `POST /containers/{id}/exec`,
//! run once by `POST /exec/{id}/start`, inspected by `GET /exec/{id}/json` until its container is
//! removed. It runs through the runtime's exec with the container's own spec as the base, so it
//! gets the container's environment, user and capabilities unless the request overrides them.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use strata_runtime::{Bundle, ContainerIo, ExecSpec, IoOptions, OutputSubscription, WinSize};

use crate::error::{ContainerError, Result};
use crate::service::{Containers, random_id};

/// The body of `POST /containers/{id}/exec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    pub user: String,
    pub privileged: bool,
    pub tty: bool,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub detach_keys: String,
    pub env: Option<Vec<String>>,
    pub working_dir: String,
    pub cmd: Option<Vec<String>>,
    pub console_size: Option<Vec<u32>>,
}

/// An exec's state, as `GET /exec/{id}/json` shows it.
#[derive(Debug, Clone, Default)]
pub struct ExecState {
    pub running: bool,
    pub started: bool,
    pub exit_code: Option<i32>,
    pub pid: u32,
}

/// One exec instance.
#[derive(Debug)]
pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub config: ExecConfig,
    state: Mutex<ExecState>,
    io: Mutex<Option<ContainerIo>>,
}

impl Exec {
    pub fn state(&self) -> ExecState {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Resizes the exec's terminal.
    pub fn resize(&self, rows: u16, cols: u16) -> Result<()> {
        let io = self.io.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let io = io.ok_or_else(|| ContainerError::Conflict(format!("exec {} is not running", self.id)))?;
        io.resize(WinSize { rows, cols }).map_err(|e| ContainerError::internal("resize", e))
    }
}

/// A started exec's stdio, for the client that started it.
#[derive(Debug)]
pub struct ExecStream {
    pub io: ContainerIo,
    pub output: OutputSubscription,
    pub tty: bool,
}

impl Containers {
    /// `POST /containers/{id}/exec`.
    pub fn exec_create(&self, reference: &str, config: ExecConfig) -> Result<String> {
        let c = self.get(reference)?;
        if !self.is_live(&c.id) {
            return Err(ContainerError::NotRunning(c.id));
        }
        if c.state.status == crate::state::Status::Paused {
            return Err(ContainerError::Conflict(format!(
                "Container {} is paused, unpause the container before exec",
                c.id
            )));
        }
        if config.cmd.as_ref().is_none_or(Vec::is_empty) {
            return Err(ContainerError::BadRequest("No exec command specified".into()));
        }
        let id = random_id();
        let exec = Arc::new(Exec {
            id: id.clone(),
            container_id: c.id,
            config,
            state: Mutex::new(ExecState::default()),
            io: Mutex::new(None),
        });
        self.execs().insert(id.clone(), exec);
        Ok(id)
    }

    /// The exec instance `id`.
    pub fn exec_get(&self, id: &str) -> Result<Arc<Exec>> {
        self.execs().get(id).cloned().ok_or_else(|| ContainerError::ExecNotFound(id.to_owned()))
    }

    /// Exec ids of a container (inspect's `ExecIDs`).
    pub fn exec_ids(&self, container_id: &str) -> Vec<String> {
        self.execs().values().filter(|e| e.container_id == container_id).map(|e| e.id.clone()).collect()
    }

    /// Forgets the execs of a removed container.
    pub(crate) fn forget_execs(&self, container_id: &str) {
        self.execs().retain(|_, e| e.container_id != container_id);
    }

    /// `POST /exec/{id}/start`: runs the process; the returned stream is its stdio.
    pub async fn exec_start(
        self: &Arc<Self>,
        id: &str,
        tty: bool,
        console_size: Option<WinSize>,
    ) -> Result<ExecStream> {
        let exec = self.exec_get(id)?;
        {
            let mut st = exec.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if st.started {
                return Err(ContainerError::Conflict(format!("Error: Exec command {id} has already run")));
            }
            st.started = true;
        }
        let c = self.get(&exec.container_id)?;
        if !self.is_live(&c.id) {
            return Err(ContainerError::NotRunning(c.id));
        }
        let runtime = self.runtime_handle()?;
        let reaper = strata_runtime::reaper::installed()
            .ok_or_else(|| ContainerError::Internal("the child reaper is not installed".into()))?;
        let bundle = Bundle::at(Bundle::dir_for(self.exec_root(), &c.id));
        let base = bundle.load_spec().map_err(|e| ContainerError::internal("container spec", e))?;
        let tty = tty || exec.config.tty;
        let user = if exec.config.user.is_empty() {
            None
        } else {
            let root = PathBuf::from(format!("/proc/{}/root", c.state.pid));
            Some(
                strata_runtime::user::resolve_user(&root, &exec.config.user, &[])
                    .map_err(|e| ContainerError::Start(e.to_string()))?,
            )
        };
        let spec = ExecSpec {
            args: exec.config.cmd.clone().unwrap_or_default(),
            env: exec.config.env.clone().unwrap_or_default(),
            cwd: (!exec.config.working_dir.is_empty()).then(|| exec.config.working_dir.clone()),
            user,
            tty,
            console_size,
            privileged: exec.config.privileged,
        };
        let process =
            strata_runtime::build_exec_process(&base, &spec).map_err(|e| ContainerError::Start(e.to_string()))?;
        let options = IoOptions { tty, open_stdin: exec.config.attach_stdin, stdin_once: true, console_size };
        let running = match strata_runtime::exec_process(runtime.as_ref(), reaper, &c.id, &process, options).await {
            Ok(r) => r,
            Err(e) => {
                let text = format!("OCI runtime exec failed: {e}");
                let mut st = exec.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                // Docker (observed on 20.10) reports 126 for any exec that could not be started.
                st.exit_code = Some(126);
                return Err(ContainerError::Start(text));
            }
        };
        {
            let mut st = exec.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            st.running = true;
            st.pid = running.pid;
        }
        *exec.io.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(running.io.clone());
        let waiter = Arc::clone(&exec);
        let exit = running.exit.clone();
        let io = running.io.clone();
        tokio::spawn(async move {
            let status = exit.wait().await;
            io.wait_closed().await;
            let mut st = waiter.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            st.running = false;
            st.exit_code = Some(status.exit_code());
            st.pid = 0;
            waiter.io.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        });
        Ok(ExecStream { io: running.io, output: running.output, tty })
    }
}
