//! A container's filesystem as the container sees it: its root filesystem with its volumes,
//! bind mounts and tmpfs mounts at their destinations.
//!
//! This is what `docker cp` (`HEAD`/`GET`/`PUT /containers/{id}/archive`) and `docker export`
//! work on, for running and stopped containers alike. The engine describes the view
//! ([`ContainerView`]: a rootfs path and the mounts) and calls plain blocking functions with a
//! `Read` or `Write`; HTTP stays in `strata-api`, which maps [`ViewError::status_class`] to a
//! status.
//!
//! | request | call |
//! |---|---|
//! | `HEAD /archive?path=` | [`stat_path`] → [`PathStat::header_value`] |
//! | `GET /archive?path=` | [`prepare_archive`] (404 before the body) → [`PreparedArchive::stat`] for the header → [`PreparedArchive::write_to`] |
//! | `PUT /archive?path=&noOverwriteDirNonDir=&copyUIDGID=` | [`extract`] |
//! | `GET /export` | [`export`] |
//! | `GET /changes` | `strata_layer::LayerStore::rw_changes` (read natively from the overlay upper dir; matches the reference Docker 20.10 here); keep runtime mount points out of it with [`populate_init_layer`] in `create_rw`'s init callback |
//!
//! Paths are resolved inside the view ([`view`] explains how): symlinks as the container sees
//! them, never reaching the host outside the rootfs and the mount sources. Archives go through
//! `strata-archive`, whose extractor and packer are confined the same way.
//!
//! Everything blocks: call from `spawn_blocking`.
//!
//! # Wiring it into the engine
//!
//! ```rust,ignore
//! // The view. Stopped container: mount the layers for the call (unmount_rw when done).
//! let view = ContainerView::from_plan(layers.mount_rw(&id)?, &plan)?;   // volumes, binds by host source
//! // Running container, exactly as its processes see it (tmpfs included):
//! let view = ContainerView::of_running(pid, &plan);
//!
//! // HEAD /archive
//! let stat = stat_path(&view, &path)?;                      // 404: err.docker_message(&name)
//! header("X-Docker-Container-Path-Stat", stat.header_value());
//! // GET /archive: resolve (and 404) before the body starts, then stream
//! let prepared = prepare_archive(&view, &path)?;
//! header("X-Docker-Container-Path-Stat", prepared.stat().header_value());
//! spawn_blocking(move || prepared.write_to(pipe_writer));   // Content-Type: application/x-tar
//! // PUT /archive (body may be chunked; plain, gzip or zstd)
//! extract(&view, &path, body_reader, &ExtractOptions {
//!     no_overwrite_dir_non_dir, copy_uid_gid, container_user /* Config.User resolved in the container */,
//! })?;
//! // GET /export (use the merged directory, not /proc/<pid>/root)
//! export(&view, pipe_writer)?;
//! ```
//!
//! Keep the merged directory mounted until the call returns (for `GET`, until `write_to`
//! returns). The paths are only used when the view is opened: from then on everything goes
//! through file descriptors, so a (detaching) unmount in the middle of a copy cannot switch it to
//! the empty directory under the mount point.

mod archive;
mod error;
pub mod gocompat;
pub mod init_layer;
pub mod view;

pub use archive::{ExtractOptions, PathStat, PreparedArchive, export, extract, prepare_archive, stat_path};
pub use error::{StatusClass, ViewError};
pub use init_layer::populate_init_layer;
pub use view::{ContainerView, MAX_SYMLINKS, MountKind, ViewMount, resolve};
